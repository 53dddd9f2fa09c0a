"""The moderation tests' shared fixtures: an audit with every return submitted, and a
moderator signed in for real in the browser's terms."""

from __future__ import annotations

import pytest

from app.access import service as access
from app.access.models import Role
from app.audits.models import Audit
from tests.helpers.access import browse_as
from tests.helpers.factories import make_audit
from tests.moderation.test_moderation import complete


@pytest.fixture
def submitted_audit(client, db, monkeypatch):
    """An audit with every return submitted (through the API as the system)."""
    audit = make_audit(db, children=2, agencies_count=2)
    template = client.get(f"/api/v1/template-versions/{audit.template_version_id}").json()
    for r in client.get(f"/api/v1/audits/{audit.id}/returns").json()["items"]:
        client.put(f"/api/v1/returns/{r['id']}/draft", json=complete(template, 1))
        client.post(f"/api/v1/returns/{r['id']}/submit", json={"version": 2})
    monkeypatch.undo()
    db.commit()
    return db.get(Audit, audit.id)


@pytest.fixture
def moderator(anonymous_client, db):
    user = access.create_user(db, email="m@example.org", display_name="M", roles={Role.MODERATOR})
    browse_as(anonymous_client, db, user)
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    db.commit()
    return anonymous_client
