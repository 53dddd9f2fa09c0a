"""Learning actions over the API: creating them, the full lifecycle with its required
evidence and reason, the history of every change, refusals, and the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.access.models import Role
from app.actions.models import ActionStatusChange
from app.auditlog.models import AuditEvent
from app.audits.models import AuditStatus
from tests.helpers.actions import API, TODAY, action_body, create_action, fields, move, moved
from tests.helpers.factories import make_agency, make_audit


def history(db, action_id: int) -> list[ActionStatusChange]:
    db.expire_all()
    query = select(ActionStatusChange).where(ActionStatusChange.action_id == action_id)
    return list(db.scalars(query.order_by(ActionStatusChange.id)))


class TestCreateAnAction:
    def test_an_action_starts_proposed_with_its_finding_and_standing(self, api, audit, first):
        finding = api.post(
            f"{API}/audits/{audit.id}/findings",
            json={"kind": "area_for_improvement", "statement": "Voice not recorded."},
        ).json()
        action = create_action(api, audit, first.id, finding_ids=[finding["id"]])
        assert action["status"] == "proposed"
        assert action["findings"][0]["statement"] == "Voice not recorded."
        assert action["owning_agency"] == {"id": first.id, "name": first.name}
        assert (action["rag"], action["overdue_days"], action["escalated_to"]) == ("green", 0, [])
        assert action["allowed_next"] == ["agreed", "not_accepted"]
        assert action["version"] == 1
        [created] = action["history"]
        assert created["from_status"] is None and created["to_status"] == "proposed"
        assert created["changed_by_label"] == "system"

    def test_the_owning_agency_must_take_part(self, api, db, audit):
        outsider = make_agency(db, name="Not in this audit")
        db.commit()
        r = api.post(f"{API}/actions", json=action_body(audit, outsider.id))
        assert r.status_code == 422 and fields(r) == {"owning_agency_id"}

    def test_linked_findings_must_be_the_same_audits(self, api, db, audit, first):
        other = make_audit(db)
        db.commit()
        theirs = api.post(
            f"{API}/audits/{other.id}/findings", json={"kind": "good_practice", "statement": "x"}
        ).json()
        r = api.post(
            f"{API}/actions", json=action_body(audit, first.id, finding_ids=[theirs["id"], 99999])
        )
        assert r.status_code == 422
        assert fields(r) == {"finding_ids[0]", "finding_ids[1]"}

    def test_the_owner_account_must_be_in_the_owning_agency(
        self, api, audit, first, second, person
    ):
        theirs, _ = person(Role.AGENCY_LEAD, second.id)
        ours, _ = person(Role.AGENCY_LEAD, first.id)
        r = api.post(f"{API}/actions", json=action_body(audit, first.id, owner_user_id=theirs.id))
        assert r.status_code == 422 and fields(r) == {"owner_user_id"}
        ok = create_action(api, audit, first.id, owner_user_id=ours.id)
        assert ok["owner_user_id"] == ours.id

    def test_smart_fields_are_required(self, api, audit, first):
        body = action_body(audit, first.id)
        del body["due_on"], body["success_measure"]
        r = api.post(f"{API}/actions", json={**body, "owner_name": " "})
        assert r.status_code == 422
        assert fields(r) == {"due_on", "success_measure", "owner_name"}

    def test_not_on_a_planned_audit(self, api, db):
        planned = make_audit(db, open_=False)
        db.commit()
        r = api.post(f"{API}/actions", json=action_body(planned, planned.agencies[0].id))
        assert r.status_code == 409

    def test_an_unknown_audit_is_404(self, api, audit, first):
        r = api.post(f"{API}/actions", json={**action_body(audit, first.id), "audit_id": 99999})
        assert r.status_code == 404


class TestTheLifecycle:
    def test_from_proposed_to_closed_with_the_evidence_each_step_needs(self, api, db, audit, first):
        action = create_action(api, audit, first.id)
        aid = action["id"]
        moved(api, aid, "agreed", note="Agreed at the QAPP meeting.")
        moved(api, aid, "in_progress")

        r = move(api, aid, "completed", note="Done", evidence="   ")
        assert r.status_code == 422 and fields(r) == {"evidence"}
        done = moved(api, aid, "completed", evidence="Guidance issued 1 March; 40 staff trained.")
        assert done["evidence_of_completion"] == "Guidance issued 1 March; 40 staff trained."
        assert done["rag"] == "blue"

        r = move(api, aid, "impact_evidenced")
        assert r.status_code == 422 and fields(r) == {"evidence"}
        impact = moved(api, aid, "impact_evidenced", evidence="Re-audit: 9 of 10 minutes.")
        assert impact["evidence_of_impact"] == "Re-audit: 9 of 10 minutes."

        closed = moved(api, aid, "closed", note="Impact accepted.")
        assert closed["status"] == "closed" and closed["allowed_next"] == []
        assert [(h["from_status"], h["to_status"]) for h in closed["history"]] == [
            (None, "proposed"),
            ("proposed", "agreed"),
            ("agreed", "in_progress"),
            ("in_progress", "completed"),
            ("completed", "impact_evidenced"),
            ("impact_evidenced", "closed"),
        ]
        assert closed["version"] == 6

    def test_not_accepted_needs_a_reason(self, api, audit, first):
        aid = create_action(api, audit, first.id)["id"]
        r = move(api, aid, "not_accepted", note="No")
        assert r.status_code == 422 and fields(r) == {"reason"}
        refused = moved(api, aid, "not_accepted", reason="Already covered by action 3.")
        assert refused["not_accepted_reason"] == "Already covered by action 3."
        assert refused["rag"] == "grey" and refused["allowed_next"] == []

    @pytest.mark.parametrize(
        ("path", "illegal", "allowed"),
        [
            ([], "in_progress", ["agreed", "not_accepted"]),
            ([], "closed", ["agreed", "not_accepted"]),
            (["agreed"], "completed", ["in_progress"]),
            (["agreed"], "not_accepted", ["in_progress"]),
            (["agreed", "in_progress"], "agreed", ["completed"]),
        ],
    )
    def test_an_illegal_change_is_409_naming_the_status_and_the_way_on(
        self, api, audit, first, path, illegal, allowed
    ):
        aid = create_action(api, audit, first.id)["id"]
        for status in path:
            moved(api, aid, status)
        r = move(api, aid, illegal, evidence="x", reason="x")
        assert r.status_code == 409, r.text
        body = r.json()
        assert body["code"] == "wrong_state"
        assert body["current_status"] == (path[-1] if path else "proposed")
        assert body["allowed"] == allowed
        assert "From here it can move to" in body["detail"]

    def test_a_finished_action_cannot_move(self, api, audit, first):
        aid = create_action(api, audit, first.id)["id"]
        moved(api, aid, "not_accepted", reason="Duplicate")
        r = move(api, aid, "agreed")
        assert r.status_code == 409 and r.json()["allowed"] == []
        assert "it is final" in r.json()["detail"]

    def test_a_stale_version_is_refused(self, api, audit, first):
        aid = create_action(api, audit, first.id)["id"]
        moved(api, aid, "agreed", version=1)
        r = move(api, aid, "in_progress", version=1)
        assert r.status_code == 409 and r.json()["current_version"] == 2


class TestEveryChangeIsRecorded:
    def test_who_when_and_the_note(self, anonymous_client, db, audit, first, person):
        moderator, headers = person(Role.MODERATOR)
        lead, lead_headers = person(Role.AGENCY_LEAD, first.id)
        client = anonymous_client
        r = client.post(f"{API}/actions", json=action_body(audit, first.id), headers=headers)
        assert r.status_code == 201, r.text
        aid = r.json()["id"]
        assert move(client, aid, "agreed", note="Agreed.", headers=headers).status_code == 200
        r = client.post(
            f"{API}/actions/{aid}/status",
            json={"status": "in_progress", "note": "Training booked."},
            headers=lead_headers,
        )
        assert r.status_code == 200, r.text
        rows = history(db, aid)
        assert [(r.from_status, r.to_status) for r in rows] == [
            (None, "proposed"),
            ("proposed", "agreed"),
            ("agreed", "in_progress"),
        ]
        assert rows[1].changed_by_id == moderator.id and rows[1].note == "Agreed."
        assert rows[1].changed_by_label == moderator.email
        assert rows[2].changed_by_id == lead.id and rows[2].note == "Training booked."
        assert all(r.changed_at is not None for r in rows)
        assert rows[0].changed_at <= rows[1].changed_at <= rows[2].changed_at

    def test_a_progress_note_keeps_the_status(self, api, db, audit, first):
        aid = create_action(api, audit, first.id)["id"]
        r = api.post(f"{API}/actions/{aid}/notes", json={"note": "Draft guidance circulated."})
        assert r.status_code == 200, r.text
        last = r.json()["history"][-1]
        assert (last["from_status"], last["to_status"], last["note"]) == (
            "proposed",
            "proposed",
            "Draft guidance circulated.",
        )
        assert r.json()["version"] == 1  # a note makes nobody's open form stale
        assert api.post(f"{API}/actions/{aid}/notes", json={"note": ""}).status_code == 422

    def test_the_audit_log_has_each_change(self, api, db, audit, first):
        aid = create_action(api, audit, first.id)["id"]
        moved(api, aid, "agreed", note="Agreed.")
        api.patch(f"{API}/actions/{aid}", json={"owner_name": "Sam Smith"})
        api.post(f"{API}/actions/{aid}/notes", json={"note": "On track."})
        events = db.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "learning_action", AuditEvent.object_id == aid)
            .order_by(AuditEvent.id)
        ).all()
        assert [e.action for e in events] == [
            "learning_action.create",
            "learning_action.status",
            "learning_action.update",
            "learning_action.note",
        ]
        assert events[1].before == {"status": "proposed"}
        assert events[1].after == {"status": "agreed", "note": "Agreed."}
        assert events[2].after == {"owner_name": "Sam Smith"}


class TestEditAnAction:
    def test_change_the_due_date_and_findings(self, api, audit, first, second):
        aid = create_action(api, audit, first.id)["id"]
        finding = api.post(
            f"{API}/audits/{audit.id}/findings", json={"kind": "good_practice", "statement": "x"}
        ).json()
        due = str(TODAY - timedelta(days=2))
        r = api.patch(
            f"{API}/actions/{aid}",
            json={"due_on": due, "finding_ids": [finding["id"]], "owning_agency_id": second.id},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["due_on"] == due and body["owning_agency"]["id"] == second.id
        assert [f["id"] for f in body["findings"]] == [finding["id"]]
        assert (body["rag"], body["overdue_days"], body["escalated_to"]) == ("red", 2, ["QAPP"])
        assert body["version"] == 2

    def test_saving_nothing_new_is_no_new_version(self, api, audit, first):
        action = create_action(api, audit, first.id)
        r = api.patch(f"{API}/actions/{action['id']}", json={"title": action["title"]})
        assert r.status_code == 200 and r.json()["version"] == 1

    def test_null_is_refused(self, api, audit, first):
        aid = create_action(api, audit, first.id)["id"]
        r = api.patch(f"{API}/actions/{aid}", json={"due_on": None})
        assert r.status_code == 422 and fields(r) == {"due_on"}

    def test_a_closed_action_no_longer_changes(self, api, audit, first):
        aid = create_action(api, audit, first.id)["id"]
        moved(api, aid, "not_accepted", reason="Duplicate")
        assert api.patch(f"{API}/actions/{aid}", json={"title": "New"}).status_code == 409

    def test_a_stale_edit_is_refused(self, api, audit, first):
        aid = create_action(api, audit, first.id)["id"]
        moved(api, aid, "agreed")
        r = api.patch(f"{API}/actions/{aid}", json={"title": "New", "version": 1})
        assert r.status_code == 409


class TestEscalationOverTheApi:
    @pytest.mark.parametrize(
        ("days_late", "rag", "escalated"),
        [
            (0, "amber", []),
            (1, "red", ["QAPP"]),
            (28, "red", ["QAPP"]),
            (29, "red", ["QAPP", "Executive"]),
        ],
    )
    def test_on_the_fixed_clock(self, api, audit, first, days_late, rag, escalated):
        due = str(TODAY - timedelta(days=days_late))
        action = create_action(api, audit, first.id, due_on=due)
        assert (action["rag"], action["overdue_days"], action["escalated_to"]) == (
            rag,
            days_late,
            escalated,
        )

    def test_an_audit_without_a_lead_subgroup_says_so(self, api, db, audit, first):
        audit.lead_subgroup_id = None
        db.commit()
        action = create_action(api, audit, first.id, due_on=str(TODAY - timedelta(days=3)))
        assert action["escalated_to"] == ["Lead subgroup (none set)"]

    def test_a_closed_audits_actions_still_move(self, api, db, audit, first):
        aid = create_action(api, audit, first.id)["id"]
        audit.status = AuditStatus.CLOSED
        db.commit()
        assert move(api, aid, "agreed").status_code == 200
