"""The demo's findings and learning actions, loaded on the demo's own audit (a copy of
the demo partnership: tests/conftest.py ``demo_database``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.actions.demo import load_demo_actions
from app.actions.lifecycle import Rag, assess
from app.actions.models import ActionStatus, ActionStatusChange
from app.config import Settings
from app.findings.models import Finding
from app.models import Audit
from tests.helpers.factories import make_audit
from tests.helpers.sessions import engine_on

TODAY = date(2027, 3, 1)
N = Settings().escalate_to_executive_after_days


@pytest.fixture
def demo(demo_database) -> Iterator[Session]:
    """A session on a copy of the demo partnership."""
    with engine_on(demo_database()) as engine, Session(engine) as session:
        yield session


def test_the_demo_has_actions_in_every_part_of_the_lifecycle(demo):
    # The demo's open audit, which has no findings yet.
    audit = demo.scalars(select(Audit).where(Audit.title.startswith("Identification"))).one()
    actions = load_demo_actions(demo, audit, TODAY)
    found = demo.scalars(select(Finding).where(Finding.audit_id == audit.id)).all()
    assert 4 <= len(found) <= 6
    assert {f.kind.value for f in found} == {"good_practice", "area_for_improvement"}
    assert 5 <= len(actions) <= 8
    standings = [assess(a, TODAY, N) for a in actions]
    assert any(s.overdue_days > N for s in standings), "one action overdue past the Executive"
    assert any(s.rag == Rag.AMBER for s in standings), "one action due soon"
    completed = [a for a in actions if a.status == ActionStatus.COMPLETED]
    assert completed and all(a.evidence_of_completion for a in completed)
    refused = [a for a in actions if a.status == ActionStatus.NOT_ACCEPTED]
    assert refused and all(a.not_accepted_reason for a in refused)
    agencies = {a.id for a in audit.agencies}
    assert all(a.owning_agency_id in agencies for a in actions)
    # Each action's history was written by the people who would make the changes.
    who = set(demo.scalars(select(ActionStatusChange.changed_by_label)))
    assert who == {"moderator@example.org", "lead.socialcare@example.org"}


def test_the_demo_actions_load_without_the_demo_accounts(db):
    audit = make_audit(db, agencies_count=3)
    actions = load_demo_actions(db, audit, TODAY)
    assert len(actions) == 7
