"""A failed request leaves no log row: the row is written in the request's
transaction, so it is rolled back with the change it describes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audits import cohort
from app.audits import service as audits
from app.audits.models import Child
from app.errors import Conflict
from tests.helpers.auditlog import API
from tests.helpers.factories import make_agency, make_audit, make_template
from tests.returns.test_api import complete_body


class TestFailedRequestsLeaveNoRow:
    def test_a_refused_duplicate_is_409_and_logs_nothing(self, api, log, db):
        make_agency(db, name="Police")
        log.start()
        r = api.post(f"{API}/agencies", json={"name": "Police", "kind": "police"})
        assert r.status_code == 409
        log.nothing()

    def test_an_incomplete_publish_is_422_and_logs_nothing(self, api, log):
        draft = api.post(f"{API}/templates", json={"name": "Empty"}).json()
        log.start()
        r = api.post(f"{API}/template-versions/{draft['id']}/publish")
        assert r.status_code == 422
        log.nothing()

    def test_an_invalid_body_is_422_and_logs_nothing(self, api, log):
        r = api.post(f"{API}/agencies", json={"name": "", "kind": "police"})
        assert r.status_code == 422
        log.nothing()

    @pytest.fixture
    def opened(self, api, db):
        audit = make_audit(db, children=1, agencies_count=1)
        template = api.get(f"{API}/template-versions/{audit.template_version_id}").json()
        return_id = api.get(f"{API}/audits/{audit.id}/returns").json()["items"][0]["id"]
        return template, return_id

    def test_a_stale_save_is_409_and_logs_nothing(self, api, log, opened):
        template, return_id = opened
        assert (
            api.put(f"{API}/returns/{return_id}/draft", json=complete_body(template, 1)).status_code
            == 200
        )
        log.start()
        r = api.put(f"{API}/returns/{return_id}/draft", json=complete_body(template, 1))
        assert r.status_code == 409
        log.nothing()

    def test_an_incomplete_submit_is_422_and_logs_nothing(self, api, log, opened):
        _template, return_id = opened
        log.start()
        r = api.post(f"{API}/returns/{return_id}/submit", json={"version": 1})
        assert r.status_code == 422
        log.nothing()

    def test_a_row_already_written_goes_when_a_later_step_fails(self, api, log, db, monkeypatch):
        """Adding a child logs child.create before its involvements are added; if
        adding one then fails, neither the child nor its row survives."""
        version = make_template(db)
        police = make_agency(db)
        audit = audits.create_audit(
            db, template_version_id=version.id, title="Audit", agency_ids=[police.id]
        )
        log.start()
        written = []
        real_record = audits.auditlog.record

        def record_then_remember(session, **kwargs):
            written.append(kwargs["action"])
            return real_record(session, **kwargs)

        def refuse(*_args, **_kwargs):
            raise Conflict("Simulated failure after the child was logged.")

        monkeypatch.setattr(audits.auditlog, "record", record_then_remember)
        monkeypatch.setattr(cohort, "add_involvement", refuse)
        r = api.post(
            f"{API}/audits/{audit.id}/children",
            json={"pseudonym": "Child A", "agency_ids": [police.id]},
        )
        assert r.status_code == 409
        assert written == ["child.create"]  # it was written, inside the transaction ...
        log.nothing()  # ... and rolled back with it
        assert db.scalar(select(func.count(Child.id)).where(Child.audit_id == audit.id)) == 0
