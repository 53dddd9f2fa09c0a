"""Planning an audit over HTTP: create it, change it, set its agencies."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.agencies import service as agencies_service
from app.audits.models import AuditStatus
from tests.helpers.audits import (
    API,
    NO_RETURNS,
    add_child,
    create_audit,
    fields,
    get_audit,
    set_status,
)
from tests.helpers.factories import make_template


class TestCreateAudit:
    def test_published_version_gives_a_planned_audit(self, client, db, version, police, school):
        subgroup = agencies_service.create_subgroup(db, name="QAPP")
        r = client.post(
            f"{API}/audits",
            json={
                "template_version_id": version.id,
                "title": "  Strategy discussions  ",
                "description": "Five children on CP plans.",
                "lead_subgroup_id": subgroup.id,
                "returns_due_on": "2030-01-31",
                "moderation_meeting_on": "2030-02-14",
                "agency_ids": [school.id, police.id],
            },
        )
        assert r.status_code == 201, r.text
        audit = r.json()
        assert audit["status"] == "planned"
        assert audit["title"] == "Strategy discussions"
        assert audit["theme"] == "Testing"  # the template's theme
        assert audit["description"] == "Five children on CP plans."
        assert audit["template_version"]["id"] == version.id
        assert audit["template_version"]["number"] == 1
        assert audit["lead_subgroup"] == {"id": subgroup.id, "name": "QAPP"}
        assert audit["returns_due_on"] == "2030-01-31"
        assert audit["moderation_meeting_on"] == "2030-02-14"
        assert audit["opened_at"] is None
        assert sorted(audit["agencies"], key=lambda a: a["id"]) == [
            {"id": police.id, "name": "Police", "kind": "police"},
            {"id": school.id, "name": "School", "kind": "police"},
        ]
        assert audit["children_count"] == 0
        assert audit["returns"] == NO_RETURNS
        stored = get_audit(client, audit["id"])
        assert {k: v for k, v in stored.items() if k != "agencies"} == {
            k: v for k, v in audit.items() if k != "agencies"
        }

    def test_agencies_are_listed_by_name_in_the_response(self, client, version, police, school):
        # GET lists them by name (the relationship's order); the 201 answer must agree.
        audit = create_audit(client, version.id, agency_ids=[school.id, police.id])
        assert [a["name"] for a in audit["agencies"]] == ["Police", "School"]
        assert get_audit(client, audit["id"])["agencies"] == audit["agencies"]

    def test_minimal_body(self, client, version):
        audit = create_audit(client, version.id, title="Bare")
        assert audit["agencies"] == [] and audit["lead_subgroup"] is None
        assert audit["returns_due_on"] is None and audit["moderation_meeting_on"] is None

    def test_theme_given_is_kept(self, client, version):
        assert create_audit(client, version.id, theme="Neglect")["theme"] == "Neglect"

    def test_repeated_agency_is_taken_once(self, client, version, police):
        audit = create_audit(client, version.id, agency_ids=[police.id, police.id])
        assert [a["id"] for a in audit["agencies"]] == [police.id]

    def test_draft_version_is_422(self, client, db):
        draft = make_template(db, published=False)
        r = client.post(f"{API}/audits", json={"template_version_id": draft.id, "title": "X"})
        assert r.status_code == 422
        assert fields(r) == {"template_version_id"}

    def test_retired_version_is_422(self, client, version):
        r = client.post(f"{API}/template-versions/{version.id}/retire")
        assert r.status_code == 200, r.text
        r = client.post(f"{API}/audits", json={"template_version_id": version.id, "title": "X"})
        assert r.status_code == 422
        assert fields(r) == {"template_version_id"}

    def test_missing_version_is_422(self, client):
        r = client.post(f"{API}/audits", json={"template_version_id": 999999, "title": "X"})
        assert r.status_code == 422
        assert fields(r) == {"template_version_id"}

    def test_unknown_lead_subgroup_is_422(self, client, version):
        r = client.post(
            f"{API}/audits",
            json={"template_version_id": version.id, "title": "X", "lead_subgroup_id": 999999},
        )
        assert r.status_code == 422
        assert fields(r) == {"lead_subgroup_id"}

    def test_inactive_agency_is_422_naming_its_index(self, client, version, police, school):
        client.post(f"{API}/agencies/{school.id}/deactivate")
        r = client.post(
            f"{API}/audits",
            json={
                "template_version_id": version.id,
                "title": "X",
                "agency_ids": [police.id, school.id],
            },
        )
        assert r.status_code == 422
        assert fields(r) == {"agency_ids[1]"}
        assert "School" in r.json()["errors"][0]["message"]

    def test_unknown_agency_is_422_naming_its_index(self, client, version, police):
        r = client.post(
            f"{API}/audits",
            json={
                "template_version_id": version.id,
                "title": "X",
                "agency_ids": [999999, police.id],
            },
        )
        assert r.status_code == 422
        assert fields(r) == {"agency_ids[0]"}

    def test_index_is_the_position_in_the_request(self, client, version, police, school):
        # The error must point at the entry the client sent, even after a repeated id.
        client.post(f"{API}/agencies/{school.id}/deactivate")
        r = client.post(
            f"{API}/audits",
            json={
                "template_version_id": version.id,
                "title": "X",
                "agency_ids": [police.id, police.id, school.id],
            },
        )
        assert r.status_code == 422
        assert fields(r) == {"agency_ids[2]"}

    def test_moderation_before_returns_due_is_422(self, client, version):
        r = client.post(
            f"{API}/audits",
            json={
                "template_version_id": version.id,
                "title": "X",
                "returns_due_on": "2030-02-01",
                "moderation_meeting_on": "2030-01-31",
            },
        )
        assert r.status_code == 422
        assert fields(r) == {"moderation_meeting_on"}

    def test_moderation_on_the_due_date_is_allowed(self, client, version):
        audit = create_audit(
            client, version.id, returns_due_on="2030-02-01", moderation_meeting_on="2030-02-01"
        )
        assert audit["moderation_meeting_on"] == "2030-02-01"

    @pytest.mark.parametrize(
        "body, field",
        [
            ({"title": ""}, "title"),
            ({"title": "X", "colour": "red"}, "colour"),
            ({"title": "X", "returns_due_on": "31/01/2030"}, "returns_due_on"),
            ({"title": "X", "status": "open"}, "status"),
        ],
    )
    def test_bad_body_is_422(self, client, version, body, field):
        r = client.post(f"{API}/audits", json={"template_version_id": version.id, **body})
        assert r.status_code == 422
        assert field in fields(r)

    def test_nothing_is_saved_when_refused(self, client, version):
        client.post(
            f"{API}/audits",
            json={"template_version_id": version.id, "title": "X", "agency_ids": [999999]},
        )
        assert client.get(f"{API}/audits").json()["total"] == 0


class TestUpdateAudit:
    def test_patch_changes_only_what_is_sent(self, client, db, planned):
        subgroup = agencies_service.create_subgroup(db, name="GET SAFE")
        r = client.patch(
            f"{API}/audits/{planned['id']}",
            json={
                "title": "Neglect audit (2)",
                "theme": "Neglect",
                "lead_subgroup_id": subgroup.id,
                "moderation_meeting_on": str(date.today() + timedelta(days=30)),
            },
        )
        assert r.status_code == 200, r.text
        audit = r.json()
        assert audit["title"] == "Neglect audit (2)" and audit["theme"] == "Neglect"
        assert audit["lead_subgroup"] == {"id": subgroup.id, "name": "GET SAFE"}
        assert audit["returns_due_on"] == planned["returns_due_on"]
        assert audit["agencies"] == planned["agencies"]
        assert audit["status"] == "planned"
        assert get_audit(client, planned["id"]) == audit

    def test_null_lead_subgroup_clears_it(self, client, db, version):
        subgroup = agencies_service.create_subgroup(db, name="QAPP")
        audit = create_audit(client, version.id, lead_subgroup_id=subgroup.id)
        r = client.patch(f"{API}/audits/{audit['id']}", json={"lead_subgroup_id": None})
        assert r.status_code == 200 and r.json()["lead_subgroup"] is None

    def test_unknown_lead_subgroup_is_422(self, client, planned):
        r = client.patch(f"{API}/audits/{planned['id']}", json={"lead_subgroup_id": 999999})
        assert r.status_code == 422 and fields(r) == {"lead_subgroup_id"}

    def test_moderation_before_existing_due_date_is_422(self, client, version):
        audit = create_audit(client, version.id, returns_due_on="2030-02-01")
        r = client.patch(
            f"{API}/audits/{audit['id']}", json={"moderation_meeting_on": "2030-01-01"}
        )
        assert r.status_code == 422 and fields(r) == {"moderation_meeting_on"}
        assert get_audit(client, audit["id"])["moderation_meeting_on"] is None

    def test_due_date_after_existing_moderation_is_422(self, client, version):
        audit = create_audit(
            client, version.id, returns_due_on="2030-02-01", moderation_meeting_on="2030-02-10"
        )
        r = client.patch(f"{API}/audits/{audit['id']}", json={"returns_due_on": "2030-03-01"})
        assert r.status_code == 422 and fields(r) == {"moderation_meeting_on"}
        assert get_audit(client, audit["id"])["returns_due_on"] == "2030-02-01"

    def test_both_dates_together(self, client, version):
        audit = create_audit(
            client, version.id, returns_due_on="2030-02-01", moderation_meeting_on="2030-02-10"
        )
        r = client.patch(
            f"{API}/audits/{audit['id']}",
            json={"returns_due_on": "2030-03-01", "moderation_meeting_on": "2030-03-10"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["returns_due_on"] == "2030-03-01"

    def test_template_version_cannot_change(self, client, db, planned):
        other = make_template(db)
        r = client.patch(f"{API}/audits/{planned['id']}", json={"template_version_id": other.id})
        assert r.status_code == 422 and fields(r) == {"template_version_id"}

    @pytest.mark.parametrize("field", ["title", "theme", "description"])
    def test_null_for_a_required_text_is_422(self, client, planned, field):
        # Not a 409 "saved at the same time": nobody else saved anything.
        r = client.patch(f"{API}/audits/{planned['id']}", json={field: None})
        assert r.status_code == 422
        assert fields(r) == {field}
        assert get_audit(client, planned["id"])[field] == planned[field]

    def test_open_audit_can_still_be_edited(self, client, opened):
        r = client.patch(f"{API}/audits/{opened['id']}", json={"description": "More context"})
        assert r.status_code == 200 and r.json()["status"] == "open"

    def test_closed_audit_is_409(self, client, db, planned):
        set_status(db, planned["id"], AuditStatus.CLOSED)
        r = client.patch(f"{API}/audits/{planned['id']}", json={"title": "Renamed"})
        assert r.status_code == 409
        assert get_audit(client, planned["id"])["title"] == "Neglect audit"


class TestSetAgencies:
    def test_adds_and_removes(self, client, planned, police, health):
        r = client.put(
            f"{API}/audits/{planned['id']}/agencies", json={"agency_ids": [health.id, police.id]}
        )
        assert r.status_code == 200, r.text
        assert {a["name"] for a in r.json()["agencies"]} == {"Health", "Police"}
        assert [a["name"] for a in get_audit(client, planned["id"])["agencies"]] == [
            "Health",
            "Police",
        ]

    def test_agencies_are_listed_by_name_in_the_response(self, client, planned, police, health):
        r = client.put(
            f"{API}/audits/{planned['id']}/agencies", json={"agency_ids": [police.id, health.id]}
        )
        assert [a["name"] for a in r.json()["agencies"]] == ["Health", "Police"]

    def test_empty_list_removes_all(self, client, planned):
        r = client.put(f"{API}/audits/{planned['id']}/agencies", json={"agency_ids": []})
        assert r.status_code == 200 and r.json()["agencies"] == []

    def test_removing_an_involved_agency_is_409_and_nothing_changes(
        self, client, planned, police, school, health
    ):
        add_child(client, planned["id"], "Child A", [school.id])
        r = client.put(
            f"{API}/audits/{planned['id']}/agencies", json={"agency_ids": [police.id, health.id]}
        )
        assert r.status_code == 409
        assert fields(r) == {"agency_ids"}
        assert "School" in r.json()["detail"]
        assert [a["name"] for a in get_audit(client, planned["id"])["agencies"]] == [
            "Police",
            "School",
        ]

    def test_agency_can_go_once_its_involvements_are_removed(self, client, planned, police, school):
        child = add_child(client, planned["id"], "Child A", [school.id])
        involvement = child["involvements"][0]["id"]
        assert client.delete(f"{API}/involvements/{involvement}").status_code == 204
        r = client.put(f"{API}/audits/{planned['id']}/agencies", json={"agency_ids": [police.id]})
        assert r.status_code == 200 and [a["id"] for a in r.json()["agencies"]] == [police.id]

    def test_adding_an_inactive_agency_is_422_naming_its_index(
        self, client, planned, police, school, health
    ):
        client.post(f"{API}/agencies/{health.id}/deactivate")
        r = client.put(
            f"{API}/audits/{planned['id']}/agencies",
            json={"agency_ids": [police.id, school.id, health.id]},
        )
        assert r.status_code == 422
        assert fields(r) == {"agency_ids[2]"}
        assert len(get_audit(client, planned["id"])["agencies"]) == 2

    def test_adding_an_unknown_agency_is_422(self, client, planned, police):
        r = client.put(
            f"{API}/audits/{planned['id']}/agencies", json={"agency_ids": [999999, police.id]}
        )
        assert r.status_code == 422
        assert fields(r) == {"agency_ids[0]"}

    def test_a_participant_later_deactivated_may_stay(self, client, planned, police, school):
        client.post(f"{API}/agencies/{school.id}/deactivate")
        r = client.put(
            f"{API}/audits/{planned['id']}/agencies", json={"agency_ids": [police.id, school.id]}
        )
        assert r.status_code == 200 and len(r.json()["agencies"]) == 2

    def test_missing_list_is_422(self, client, planned):
        r = client.put(f"{API}/audits/{planned['id']}/agencies", json={})
        assert r.status_code == 422 and fields(r) == {"agency_ids"}
