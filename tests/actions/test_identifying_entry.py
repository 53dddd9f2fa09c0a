"""The identification guard where learning actions are written (app/identify/entry.py):
an action's title, description and success measure, and the note, evidence and reason
of each step or progress note, are screened as findings are (422 naming each field and
confirm_identifying until confirmed; the confirmation logged as ``identify.confirmed``).
The owner is a person's name on purpose, and is never screened. The texts are invented
(tests/helpers/identify_entry.py)."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from app.access.policy import SYSTEM
from app.actions import service as actions
from app.actions.models import ActionStatus, ActionStatusChange, LearningAction
from app.audits import service as audits
from app.identify import entry
from tests.helpers.actions import (
    API,
    TODAY,
    action_body,
    create_action,
    fields,
    moved,
    summary_links,
    token,
)
from tests.helpers.identify_entry import (
    CHECKBOX,
    CLEAN,
    DATE_OF_BIRTH,
    NAME,
    NAME_MESSAGE,
    NHS_NUMBER,
    between,
    confirmations,
    messages,
)


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def date_fields(name: str, day) -> dict:
    return {f"{name}-day": day.day, f"{name}-month": day.month, f"{name}-year": day.year}


@pytest.fixture
def in_progress(db, audit, first) -> int:
    """An action of ``audit`` owned by ``first``, in progress (committed)."""
    full = audits.get_audit(db, audit_id=audit.id, actor=SYSTEM)
    action = actions.create_action(
        db,
        actor=SYSTEM,
        audit=full,
        title="Add the child's voice to strategy minutes",
        owning_agency_id=first.id,
        owner_name="Jayden Smith, Head of Safeguarding",
        due_on=TODAY + timedelta(days=30),
        success_measure="9 of 10 minutes record the child's words",
    )
    actions.change_status(db, actor=SYSTEM, action=action, to=ActionStatus.AGREED)
    actions.change_status(db, actor=SYSTEM, action=action, to=ActionStatus.IN_PROGRESS)
    db.commit()
    return action.id


class TestAnActionInTheApi:
    def test_identifying_text_is_refused_without_the_confirmation(self, api, db, audit, first):
        body = action_body(audit, first.id, description=DATE_OF_BIRTH)
        r = api.post(f"{API}/actions", json=body)
        assert r.status_code == 422, r.text
        assert fields(r) == {"description", entry.CONFIRM_FIELD}
        assert "looks like a date of birth" in messages(r)["description"]
        assert count(db, LearningAction) == 0

    def test_confirmed_each_field_and_kind_is_logged(self, api, db, audit, first):
        action = create_action(
            api,
            audit,
            first.id,
            description=DATE_OF_BIRTH,
            success_measure=NHS_NUMBER,
            confirm_identifying=True,
        )
        assert confirmations(db, "learning_action", action["id"]) == [
            [
                {"field": "description", "kind": "date_of_birth"},
                {"field": "success_measure", "kind": "nhs_number"},
            ]
        ]

    def test_a_name_is_refused_without_the_confirmation(self, api, db, audit, first):
        r = api.post(f"{API}/actions", json=action_body(audit, first.id, description=NAME))
        assert r.status_code == 422
        assert messages(r)["description"] == NAME_MESSAGE
        assert count(db, LearningAction) == 0

    def test_a_clean_action_with_a_named_owner_needs_no_confirmation(self, api, db, audit, first):
        action = create_action(
            api, audit, first.id, owner_name="Jayden Smith, Head of Safeguarding"
        )
        assert action["owner_name"] == "Jayden Smith, Head of Safeguarding"
        assert confirmations(db, "learning_action", action["id"]) == []
        r = api.patch(f"{API}/actions/{action['id']}", json={"owner_name": "Jane Smith"})
        assert r.status_code == 200, r.text

    def test_the_owner_is_never_screened(self, api, db, audit, first, monkeypatch):
        screened: list[set[str]] = []
        real = entry.flags

        def spy(session, fields):
            screened.append(set(fields))
            return real(session, fields)

        monkeypatch.setattr(entry, "flags", spy)
        action = create_action(api, audit, first.id, description=CLEAN)
        assert screened == [{"title", "description", "success_measure"}]
        r = api.patch(
            f"{API}/actions/{action['id']}",
            json={"owner_name": "Jayden Smith", "title": "Reissue the consent guidance"},
        )
        assert r.status_code == 200, r.text
        assert screened[1:] == [{"title"}]  # what changed, never the owner

    def test_changed_text_is_screened(self, api, db, audit, first):
        action = create_action(api, audit, first.id)
        db.commit()
        path = f"{API}/actions/{action['id']}"
        r = api.patch(path, json={"success_measure": NHS_NUMBER})
        assert r.status_code == 422 and fields(r) == {"success_measure", entry.CONFIRM_FIELD}
        assert db.get(LearningAction, action["id"]).version == 1
        r = api.patch(path, json={"success_measure": NHS_NUMBER, "confirm_identifying": True})
        assert r.status_code == 200 and r.json()["version"] == 2
        assert confirmations(db, "learning_action", action["id"]) == [
            [{"field": "success_measure", "kind": "nhs_number"}]
        ]

    def test_evidence_of_completion_is_screened(self, api, db, in_progress):
        history = count(db, ActionStatusChange)
        r = api.post(
            f"{API}/actions/{in_progress}/status",
            json={"status": "completed", "evidence": DATE_OF_BIRTH, "note": CLEAN},
        )
        assert r.status_code == 422 and fields(r) == {"evidence", entry.CONFIRM_FIELD}
        assert db.get(LearningAction, in_progress).status == ActionStatus.IN_PROGRESS
        assert count(db, ActionStatusChange) == history
        done = moved(
            api, in_progress, "completed", evidence=DATE_OF_BIRTH, confirm_identifying=True
        )
        assert done["evidence_of_completion"] == DATE_OF_BIRTH
        assert confirmations(db, "learning_action", in_progress) == [
            [{"field": "evidence", "kind": "date_of_birth"}]
        ]

    def test_evidence_of_impact_and_notes_on_a_step_are_screened(self, api, db, in_progress):
        moved(api, in_progress, "completed", evidence="Training delivered to 40 staff.")
        r = api.post(
            f"{API}/actions/{in_progress}/status",
            json={"status": "impact_evidenced", "evidence": CLEAN, "note": NHS_NUMBER},
        )
        assert r.status_code == 422 and fields(r) == {"note", entry.CONFIRM_FIELD}
        assert confirmations(db, "learning_action", in_progress) == []

    def test_a_reason_for_not_accepting_is_screened(self, api, db, audit, first):
        action = create_action(api, audit, first.id)
        db.commit()
        r = api.post(
            f"{API}/actions/{action['id']}/status",
            json={"status": "not_accepted", "reason": NHS_NUMBER},
        )
        assert r.status_code == 422 and fields(r) == {"reason", entry.CONFIRM_FIELD}
        assert db.get(LearningAction, action["id"]).status == ActionStatus.PROPOSED

    def test_a_progress_note_is_screened(self, api, db, in_progress):
        history = count(db, ActionStatusChange)
        path = f"{API}/actions/{in_progress}/notes"
        r = api.post(path, json={"note": DATE_OF_BIRTH})
        assert r.status_code == 422 and fields(r) == {"note", entry.CONFIRM_FIELD}
        assert count(db, ActionStatusChange) == history
        r = api.post(path, json={"note": DATE_OF_BIRTH, "confirm_identifying": True})
        assert r.status_code == 200, r.text
        assert r.json()["history"][-1]["note"] == DATE_OF_BIRTH
        assert confirmations(db, "learning_action", in_progress) == [
            [{"field": "note", "kind": "date_of_birth"}]
        ]
        assert api.post(path, json={"note": CLEAN}).status_code == 200


class TestTheActionPages:
    def test_proposing_warned_kept_then_confirmed(self, moderator, db, audit, first):
        page = f"/audits/{audit.id}/actions/new"
        data = {
            "csrf_token": token(moderator, page),
            "title": "Reissue the consent guidance",
            "owning_agency_id": first.id,
            "owner_name": "Jayden Smith, Principal Social Worker",
            "success_measure": DATE_OF_BIRTH,
            **date_fields("due_on", TODAY + timedelta(days=20)),
        }
        r = moderator.post(page, data=data)
        assert r.status_code == 422
        assert summary_links(r.text) == ["#success_measure", f"#{entry.CONFIRM_FIELD}"]
        assert 'value="Jayden Smith, Principal Social Worker"' in r.text  # kept, not flagged
        assert between(r.text, 'id="success_measure"', CHECKBOX, "Propose the action")
        assert count(db, LearningAction) == 0

        r = moderator.post(page, data=data | {"confirm_identifying": "yes"}, follow_redirects=False)
        assert r.status_code == 303, r.text
        action = db.scalar(select(LearningAction))
        assert action.success_measure == DATE_OF_BIRTH
        assert confirmations(db, "learning_action", action.id) == [
            [{"field": "success_measure", "kind": "date_of_birth"}]
        ]

    def test_completing_with_identifying_evidence(self, moderator, db, in_progress):
        page = f"/actions/{in_progress}"
        data = {
            "csrf_token": token(moderator, page),
            "status": "completed",
            "evidence": NHS_NUMBER,
            "note": "Checked by the lead",
            "version": db.get(LearningAction, in_progress).version,
        }
        r = moderator.post(f"{page}/status", data=data)
        assert r.status_code == 422
        assert summary_links(r.text) == ["#completed-evidence", f"#{entry.CONFIRM_FIELD}"]
        assert f">{NHS_NUMBER}</textarea>" in unescape(r.text)
        # The box is in the form that was posted, and only there.
        assert r.text.count(CHECKBOX) == 1
        assert between(r.text, 'id="completed-evidence"', CHECKBOX, "Mark as completed")
        assert db.get(LearningAction, in_progress).status == ActionStatus.IN_PROGRESS

        r = moderator.post(
            f"{page}/status", data=data | {"confirm_identifying": "yes"}, follow_redirects=False
        )
        assert r.status_code == 303, r.text
        db.expire_all()
        assert db.get(LearningAction, in_progress).status == ActionStatus.COMPLETED
        assert confirmations(db, "learning_action", in_progress) == [
            [{"field": "evidence", "kind": "nhs_number"}]
        ]

    def test_a_progress_note(self, moderator, db, in_progress):
        page = f"/actions/{in_progress}"
        data = {"csrf_token": token(moderator, page), "note": DATE_OF_BIRTH}
        r = moderator.post(f"{page}/notes", data=data)
        assert r.status_code == 422
        assert summary_links(r.text) == ["#progress-note", f"#{entry.CONFIRM_FIELD}"]
        assert r.text.count(CHECKBOX) == 1
        assert between(r.text, 'id="progress-note"', CHECKBOX, "Add note")
        r = moderator.post(
            f"{page}/notes", data=data | {"confirm_identifying": "yes"}, follow_redirects=False
        )
        assert r.status_code == 303, r.text
        assert confirmations(db, "learning_action", in_progress) == [
            [{"field": "note", "kind": "date_of_birth"}]
        ]
