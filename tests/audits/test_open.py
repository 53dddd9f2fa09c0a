"""Opening an audit over HTTP, and what may change in the cohort afterwards."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role, User
from app.auditlog.models import AuditEvent
from app.audits.models import AuditStatus
from tests.helpers.audits import (
    API,
    add_child,
    children,
    counts,
    create_audit,
    fields,
    get_audit,
    key_areas,
    open_audit,
    set_status,
)


def auditor(db, agency, name: str, *, role=Role.AUDITOR, active: bool = True):
    """A person of ``agency`` (synthetic), active or disabled."""
    email = name.lower().replace(" ", ".") + "@example.org"
    user = access.create_user(db, email=email, display_name=name, roles={role}, agency_id=agency.id)
    user.active = active
    db.flush()
    return user


class TestOpenAudit:
    def test_empty_audit_lists_everything_missing(self, client, version):
        audit = create_audit(client, version.id)
        r = client.post(f"{API}/audits/{audit['id']}/open")
        assert r.status_code == 422
        assert fields(r) == {"returns_due_on", "agency_ids", "children"}
        assert get_audit(client, audit["id"])["status"] == "planned"

    def test_missing_due_date_is_422(self, client, version, police):
        audit = create_audit(client, version.id, agency_ids=[police.id])
        add_child(client, audit["id"], "Child A", [police.id])
        r = client.post(f"{API}/audits/{audit['id']}/open")
        assert r.status_code == 422 and fields(r) == {"returns_due_on"}

    def test_no_agencies_is_422(self, client, version):
        audit = create_audit(client, version.id, returns_due_on="2030-01-01")
        add_child(client, audit["id"], "Child A")
        r = client.post(f"{API}/audits/{audit['id']}/open")
        assert r.status_code == 422
        assert "agency_ids" in fields(r)

    def test_no_children_is_422(self, client, planned):
        r = client.post(f"{API}/audits/{planned['id']}/open")
        assert r.status_code == 422 and fields(r) == {"children"}

    def test_child_without_agencies_is_422(self, client, planned, police):
        add_child(client, planned["id"], "Child A", [police.id])
        lonely = add_child(client, planned["id"], "Child B")
        r = client.post(f"{API}/audits/{planned['id']}/open")
        assert r.status_code == 422
        assert fields(r) == {f"children.{lonely['id']}"}
        assert "Child B" in r.json()["errors"][0]["message"]
        assert get_audit(client, planned["id"])["opened_at"] is None

    def test_ready_audit_opens(self, client, db, planned, police):
        # Nothing to warn about: police, asked for a return, has an auditor; the
        # meeting is dated. (The school takes part but is asked for nothing.)
        auditor(db, police, "Alex Auditor")
        meeting = str(date.today() + timedelta(days=30))
        client.patch(f"{API}/audits/{planned['id']}", json={"moderation_meeting_on": meeting})
        add_child(client, planned["id"], "Child A", [police.id])
        r = client.post(f"{API}/audits/{planned['id']}/open")
        assert r.status_code == 200, r.text
        audit = r.json()
        assert audit["status"] == "open" and audit["opened_at"]
        assert audit["returns"] == counts(expected=1, not_started=1)
        assert get_audit(client, planned["id"]) == audit

    def test_opening_twice_is_409(self, client, opened):
        r = client.post(f"{API}/audits/{opened['id']}/open")
        assert r.status_code == 409
        assert get_audit(client, opened["id"])["opened_at"] == opened["opened_at"]

    def test_returns_can_be_started_only_once_open(self, client, version, planned, police):
        child = add_child(client, planned["id"], "Child A", [police.id])
        question = key_areas(client, version.id)[0]["questions"][0]["id"]
        draft = {"version": 1, "answers": [{"question_id": question, "value": "yes"}]}
        return_id = child["involvements"][0]["return_id"]
        assert client.put(f"{API}/returns/{return_id}/draft", json=draft).status_code == 409
        open_audit(client, planned["id"])
        assert client.put(f"{API}/returns/{return_id}/draft", json=draft).status_code == 200


class TestOpeningWarnings:
    """Acceptance (issue 12): opening an audit that asks an agency with no active
    auditor shows the warning and needs a confirmation."""

    @pytest.fixture
    def ready(self, client, db, planned, police, school) -> dict:
        """Police has an active auditor, the school only a disabled one and a lead; the
        moderation meeting is dated; Child A involves both."""
        auditor(db, police, "Alex Auditor")
        auditor(db, school, "Sam Gone", active=False)
        auditor(db, school, "Lee Lead", role=Role.AGENCY_LEAD)
        meeting = str(date.today() + timedelta(days=30))
        client.patch(f"{API}/audits/{planned['id']}", json={"moderation_meeting_on": meeting})
        add_child(client, planned["id"], "Child A", [police.id, school.id])
        return planned

    def test_an_agency_without_an_active_auditor_needs_confirmation(self, client, ready, school):
        r = client.post(f"{API}/audits/{ready['id']}/open")
        assert r.status_code == 422 and r.json()["code"] == "needs_confirmation"
        assert r.json()["errors"] == [
            {
                "field": f"agencies.{school.id}",
                "message": "School has no active auditor to complete its 1 return",
            }
        ]
        assert get_audit(client, ready["id"])["status"] == "planned"
        unconfirmed = client.post(f"{API}/audits/{ready['id']}/open", json={"confirm": False})
        assert unconfirmed.status_code == 422
        confirmed = client.post(f"{API}/audits/{ready['id']}/open", json={"confirm": True})
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "open"

    def test_the_confirmed_warnings_are_logged_with_the_opening(self, client, db, ready):
        client.post(f"{API}/audits/{ready['id']}/open", json={"confirm": True})
        event = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "audit.open").order_by(AuditEvent.id)
        ).one()
        assert event.after["status"] == "open"
        assert event.after["warnings_confirmed"] == [
            "School has no active auditor to complete its 1 return"
        ]

    def test_missing_and_past_dates_are_warnings(self, client, planned, police):
        add_child(client, planned["id"], "Child A", [police.id])
        with time_machine.travel(date.today() + timedelta(days=20), tick=False):
            r = client.post(f"{API}/audits/{planned['id']}/open")
        assert r.status_code == 422
        assert fields(r) == {"returns_due_on", "moderation_meeting_on", f"agencies.{police.id}"}
        messages = [e["message"] for e in r.json()["errors"]]
        assert "The date returns are due has already passed" in messages

    def test_problems_come_before_warnings(self, client, planned, police):
        lonely = add_child(client, planned["id"], "Child A")
        r = client.post(f"{API}/audits/{planned['id']}/open", json={"confirm": True})
        assert r.status_code == 422 and r.json()["code"] == "invalid"
        assert fields(r) == {f"children.{lonely['id']}"}

    def test_confirming_the_warnings_named_opens(self, client, db, ready, school):
        named = client.post(f"{API}/audits/{ready['id']}/open").json()["errors"]
        body = {"confirm": True, "warnings": [e["field"] for e in named]}
        r = client.post(f"{API}/audits/{ready['id']}/open", json=body)
        assert r.status_code == 200 and r.json()["status"] == "open"
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "audit.open")).one()
        assert event.after["warnings_confirmed"] == [
            "School has no active auditor to complete its 1 return"
        ]

    def test_a_warning_that_appeared_since_is_409_and_nothing_opens(
        self, client, db, ready, police, school
    ):
        named = [
            e["field"] for e in client.post(f"{API}/audits/{ready['id']}/open").json()["errors"]
        ]
        assert named == [f"agencies.{school.id}"]
        # Meanwhile the police's only auditor is disabled: a new warning, not yet seen.
        alex = db.scalars(
            select(User).where(User.agency_id == police.id, User.display_name == "Alex Auditor")
        ).one()
        alex.active = False
        db.commit()
        body = {"confirm": True, "warnings": named}
        r = client.post(f"{API}/audits/{ready['id']}/open", json=body)
        assert r.status_code == 409 and r.json()["code"] == "warnings_changed"
        assert fields(r) == {f"agencies.{police.id}", f"agencies.{school.id}"}
        assert "Police has no active auditor to complete its 1 return" in r.json()["detail"]
        assert get_audit(client, ready["id"])["status"] == "planned"
        assert db.scalars(select(AuditEvent).where(AuditEvent.action == "audit.open")).all() == []
        # Confirming what there is now opens it; so does a plain confirm, as before.
        body = {"confirm": True, "warnings": sorted(fields(r))}
        assert client.post(f"{API}/audits/{ready['id']}/open", json=body).status_code == 200
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "audit.open")).one()
        assert len(event.after["warnings_confirmed"]) == 2

    def test_a_warning_gone_since_is_409_while_others_remain(self, client, db, planned, police):
        # No meeting date and no auditor at the police: two warnings; then the meeting
        # is dated, so the confirmation names one that no longer applies.
        add_child(client, planned["id"], "Child A", [police.id])
        named = [
            e["field"] for e in client.post(f"{API}/audits/{planned['id']}/open").json()["errors"]
        ]
        assert set(named) == {"moderation_meeting_on", f"agencies.{police.id}"}
        meeting = str(date.today() + timedelta(days=30))
        client.patch(f"{API}/audits/{planned['id']}", json={"moderation_meeting_on": meeting})
        body = {"confirm": True, "warnings": named}
        r = client.post(f"{API}/audits/{planned['id']}/open", json=body)
        assert r.status_code == 409 and fields(r) == {f"agencies.{police.id}"}
        assert get_audit(client, planned["id"])["status"] == "planned"

    def test_with_no_warnings_left_there_is_nothing_to_confirm(self, client, db, ready, school):
        named = [
            e["field"] for e in client.post(f"{API}/audits/{ready['id']}/open").json()["errors"]
        ]
        auditor(db, school, "Kim Auditor")  # the school's warning no longer applies
        body = {"confirm": True, "warnings": named}
        r = client.post(f"{API}/audits/{ready['id']}/open", json=body)
        assert r.status_code == 200 and r.json()["status"] == "open"
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "audit.open")).one()
        assert "warnings_confirmed" not in event.after

    @pytest.mark.parametrize("warnings", ["agencies.1", [""], ["x" * 41], [1]])
    def test_malformed_warnings_are_422(self, client, ready, warnings):
        body = {"confirm": True, "warnings": warnings}
        r = client.post(f"{API}/audits/{ready['id']}/open", json=body)
        assert r.status_code == 422 and {f.split("[")[0] for f in fields(r)} == {"warnings"}
        assert get_audit(client, ready["id"])["status"] == "planned"

    def test_a_malformed_confirmation_is_422(self, client, ready):
        r = client.post(f"{API}/audits/{ready['id']}/open", json={"confirm": "perhaps"})
        assert r.status_code == 422 and fields(r) == {"confirm"}
        assert get_audit(client, ready["id"])["status"] == "planned"


class TestCohortAfterOpening:
    def test_adding_a_child_creates_returns(self, client, opened, police, school):
        child = add_child(client, opened["id"], "Child C", [police.id, school.id])
        assert {i["return_status"] for i in child["involvements"]} == {"not_started"}
        audit = get_audit(client, opened["id"])
        assert audit["status"] == "open" and audit["children_count"] == 3
        assert audit["returns"] == counts(expected=5, not_started=5)

    def test_involvements_can_be_added_and_removed(self, client, opened, school):
        child_b = children(client, opened["id"])[1]
        r = client.post(
            f"{API}/audits/{opened['id']}/involvements",
            json={"child_id": child_b["id"], "agency_id": school.id},
        )
        assert r.status_code == 201
        assert client.delete(f"{API}/involvements/{r.json()['id']}").status_code == 204

    def test_agencies_can_be_added(self, client, opened, police, school, health):
        r = client.put(
            f"{API}/audits/{opened['id']}/agencies",
            json={"agency_ids": [police.id, school.id, health.id]},
        )
        assert r.status_code == 200 and len(r.json()["agencies"]) == 3


class TestCohortFrozen:
    @pytest.fixture(params=[AuditStatus.MODERATION, AuditStatus.LEARNING, AuditStatus.CLOSED])
    def frozen(self, request, client, db, opened) -> dict:
        set_status(db, opened["id"], request.param)
        return opened

    def test_adding_a_child_is_409(self, client, frozen, police):
        r = client.post(
            f"{API}/audits/{frozen['id']}/children",
            json={"pseudonym": "Child C", "agency_ids": [police.id]},
        )
        assert r.status_code == 409
        assert get_audit(client, frozen["id"])["children_count"] == 2

    def test_changing_a_child_is_409(self, client, frozen):
        child = children(client, frozen["id"])[0]
        r = client.patch(f"{API}/children/{child['id']}", json={"age_band": "1-4"})
        assert r.status_code == 409

    def test_removing_a_child_is_409(self, client, frozen):
        child = children(client, frozen["id"])[0]
        assert client.delete(f"{API}/children/{child['id']}").status_code == 409
        assert len(children(client, frozen["id"])) == 2

    def test_adding_an_involvement_is_409(self, client, frozen, school):
        child_b = children(client, frozen["id"])[1]
        r = client.post(
            f"{API}/audits/{frozen['id']}/involvements",
            json={"child_id": child_b["id"], "agency_id": school.id},
        )
        assert r.status_code == 409
        assert len(children(client, frozen["id"])[1]["involvements"]) == 1

    def test_removing_an_involvement_is_409(self, client, frozen):
        involvement = children(client, frozen["id"])[1]["involvements"][0]
        assert client.delete(f"{API}/involvements/{involvement['id']}").status_code == 409
        assert client.get(f"{API}/returns/{involvement['return_id']}").status_code == 200

    def test_changing_agencies_is_409(self, client, frozen, police, school, health):
        r = client.put(
            f"{API}/audits/{frozen['id']}/agencies",
            json={"agency_ids": [police.id, school.id, health.id]},
        )
        assert r.status_code == 409
        assert len(get_audit(client, frozen["id"])["agencies"]) == 2
