"""Audits, cohorts, involvements, opening, listing and progress over HTTP."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.agencies import service as agencies_service
from app.audits.models import Audit, AuditStatus
from tests.factories import make_agency, make_audit, make_template

API = "/api/v1"
NO_RETURNS = {
    "expected": 0,
    "not_started": 0,
    "draft": 0,
    "submitted": 0,
    "returned_for_amendment": 0,
    "moderated": 0,
}


@pytest.fixture(autouse=True)
def fresh_reads(client, db):
    """Expire the shared session before each request.

    In production every request has a new session; here the test and every request
    share one, so without this a request could be answered from objects an earlier
    request (or a factory) left loaded instead of from the database.
    """
    client.event_hooks["request"].append(lambda _request: db.expire_all())


# ---- helpers ------------------------------------------------------------------------


def fields(response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


def counts(**nonzero: int) -> dict:
    return {**NO_RETURNS, **nonzero}


def create_audit(client, version_id: int, **body) -> dict:
    r = client.post(
        f"{API}/audits", json={"template_version_id": version_id, "title": "Audit", **body}
    )
    assert r.status_code == 201, r.text
    return r.json()


def add_child(client, audit_id: int, pseudonym: str, agency_ids=(), **body) -> dict:
    r = client.post(
        f"{API}/audits/{audit_id}/children",
        json={"pseudonym": pseudonym, "agency_ids": list(agency_ids), **body},
    )
    assert r.status_code == 201, r.text
    return r.json()


def children(client, audit_id: int) -> list[dict]:
    r = client.get(f"{API}/audits/{audit_id}/children")
    assert r.status_code == 200, r.text
    return r.json()


def get_audit(client, audit_id: int) -> dict:
    r = client.get(f"{API}/audits/{audit_id}")
    assert r.status_code == 200, r.text
    return r.json()


def open_audit(client, audit_id: int) -> dict:
    r = client.post(f"{API}/audits/{audit_id}/open")
    assert r.status_code == 200, r.text
    return r.json()


def key_areas(client, version_id: int) -> list[dict]:
    return client.get(f"{API}/template-versions/{version_id}").json()["key_areas"]


def start_draft(client, return_id: int, version_id: int) -> dict:
    """Save one answer, which turns a not-started return into a draft (version 2)."""
    first_question = key_areas(client, version_id)[0]["questions"][0]["id"]
    r = client.put(
        f"{API}/returns/{return_id}/draft",
        json={"version": 1, "answers": [{"question_id": first_question, "value": "yes"}]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "draft"
    return r.json()


def submit_complete(client, return_id: int, version_id: int) -> dict:
    """Answer every required question, grade every key area and overall, then submit."""
    answers, grades = [], []
    for area in key_areas(client, version_id):
        yes_partly_no, _free_text, meeting_date = area["questions"]
        answers += [
            {"question_id": yes_partly_no["id"], "value": "partly"},
            {"question_id": meeting_date["id"], "value": "2024-03-01"},
        ]
        grades.append({"key_area_id": area["id"], "level": "RI"})
    current = client.get(f"{API}/returns/{return_id}").json()["version"]
    r = client.put(
        f"{API}/returns/{return_id}/draft",
        json={"version": current, "answers": answers, "grades": grades, "overall_grade": "G"},
    )
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/returns/{return_id}/submit", json={"version": r.json()["version"]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "submitted"
    return r.json()


def set_status(db, audit_id: int, status: AuditStatus) -> None:
    audit = db.get(Audit, audit_id)
    audit.status = status
    db.flush()


def return_ids(child: dict) -> dict[int, int]:
    """agency id -> return id for one child."""
    return {inv["agency_id"]: inv["return_id"] for inv in child["involvements"]}


# ---- fixtures -----------------------------------------------------------------------


@pytest.fixture
def version(db):
    return make_template(db)


@pytest.fixture
def police(db):
    return make_agency(db, name="Police")


@pytest.fixture
def school(db):
    return make_agency(db, name="School")


@pytest.fixture
def health(db):
    return make_agency(db, name="Health")


@pytest.fixture
def planned(client, version, police, school) -> dict:
    """A planned audit with two agencies, due in a fortnight, and no children yet."""
    return create_audit(
        client,
        version.id,
        title="Neglect audit",
        returns_due_on=str(date.today() + timedelta(days=14)),
        agency_ids=[police.id, school.id],
    )


@pytest.fixture
def opened(client, planned, police, school) -> dict:
    """``planned`` with Child A (police, school) and Child B (police), then opened."""
    add_child(client, planned["id"], "Child A", [police.id, school.id])
    add_child(client, planned["id"], "Child B", [police.id])
    return open_audit(client, planned["id"])


# ---- planning an audit --------------------------------------------------------------


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


# ---- the cohort ---------------------------------------------------------------------


class TestAddChild:
    def test_creates_involvements_and_not_started_returns(self, client, planned, police, school):
        r = client.post(
            f"{API}/audits/{planned['id']}/children",
            json={
                "pseudonym": "Child A",
                "age_band": "5-9",
                "context_tags": ["CP plan", "SEND", "CP plan"],
                "agency_ids": [school.id, police.id],
            },
        )
        assert r.status_code == 201, r.text
        child = r.json()
        assert child["audit_id"] == planned["id"]
        assert child["pseudonym"] == "Child A" and child["age_band"] == "5-9"
        assert child["context_tags"] == ["CP plan", "SEND"]
        assert [i["agency_name"] for i in child["involvements"]] == ["Police", "School"]
        assert {i["return_status"] for i in child["involvements"]} == {"not_started"}
        assert len({i["return_id"] for i in child["involvements"]}) == 2

        assert children(client, planned["id"]) == [child]
        for agency_id, return_id in return_ids(child).items():
            detail = client.get(f"{API}/returns/{return_id}").json()
            assert detail["status"] == "not_started" and detail["version"] == 1
            assert detail["child"] == {"id": child["id"], "pseudonym": "Child A"}
            assert detail["agency"]["id"] == agency_id

        audit = get_audit(client, planned["id"])
        assert audit["children_count"] == 1
        assert audit["returns"] == counts(expected=2, not_started=2)

    def test_without_agencies_has_no_returns(self, client, planned):
        child = add_child(client, planned["id"], "Child A")
        assert child["involvements"] == [] and child["age_band"] is None
        assert get_audit(client, planned["id"])["returns"] == NO_RETURNS

    def test_children_are_listed_by_pseudonym(self, client, planned):
        for name in ["Child C", "Child A", "Child B"]:
            add_child(client, planned["id"], name)
        assert [c["pseudonym"] for c in children(client, planned["id"])] == [
            "Child A",
            "Child B",
            "Child C",
        ]

    def test_duplicate_pseudonym_is_409_whatever_the_case(self, client, planned):
        add_child(client, planned["id"], "Child A")
        r = client.post(f"{API}/audits/{planned['id']}/children", json={"pseudonym": "CHILD A"})
        assert r.status_code == 409
        assert fields(r) == {"pseudonym"}
        assert len(children(client, planned["id"])) == 1

    def test_extra_spaces_are_collapsed(self, client, planned):
        add_child(client, planned["id"], "Child A")
        r = client.post(f"{API}/audits/{planned['id']}/children", json={"pseudonym": " Child   A "})
        assert r.status_code == 409

    def test_same_pseudonym_in_another_audit_is_fine(self, client, version, planned):
        other = create_audit(client, version.id, title="Other")
        add_child(client, planned["id"], "Child A")
        assert add_child(client, other["id"], "Child A")["audit_id"] == other["id"]

    @pytest.mark.parametrize(
        "pseudonym", ["Child A", "Young person 3", "Sibling B2", "Child AB", "Baby 1"]
    )
    def test_pseudonyms_are_accepted(self, client, planned, pseudonym):
        assert add_child(client, planned["id"], pseudonym)["pseudonym"] == pseudonym

    @pytest.mark.parametrize(
        "pseudonym",
        ["Jane Smith", "Child 12345", "", "   ", "Smith", "Child A1234", "1234 A", "Jane O'Neil"],
    )
    def test_names_and_case_numbers_are_422(self, client, planned, pseudonym):
        r = client.post(f"{API}/audits/{planned['id']}/children", json={"pseudonym": pseudonym})
        assert r.status_code == 422
        assert fields(r) == {"pseudonym"}
        assert children(client, planned["id"]) == []

    def test_invalid_age_band_is_422(self, client, planned):
        r = client.post(
            f"{API}/audits/{planned['id']}/children",
            json={"pseudonym": "Child A", "age_band": "6"},
        )
        assert r.status_code == 422 and fields(r) == {"age_band"}

    def test_unknown_field_is_422(self, client, planned):
        r = client.post(
            f"{API}/audits/{planned['id']}/children",
            json={"pseudonym": "Child A", "date_of_birth": "2015-01-01"},
        )
        assert r.status_code == 422 and fields(r) == {"date_of_birth"}

    def test_non_participating_agency_is_422_and_no_child_is_added(
        self, client, planned, police, health
    ):
        r = client.post(
            f"{API}/audits/{planned['id']}/children",
            json={"pseudonym": "Child A", "agency_ids": [police.id, health.id]},
        )
        assert r.status_code == 422
        assert children(client, planned["id"]) == []
        assert get_audit(client, planned["id"])["returns"] == NO_RETURNS

    def test_non_participating_agency_is_named_by_its_index(self, client, planned, police, health):
        # The body has agency_ids, not agency_id: the error must point at the entry.
        r = client.post(
            f"{API}/audits/{planned['id']}/children",
            json={"pseudonym": "Child A", "agency_ids": [police.id, health.id]},
        )
        assert r.status_code == 422
        assert fields(r) == {"agency_ids[1]"}


class TestUpdateChild:
    def test_patch(self, client, planned, police):
        child = add_child(client, planned["id"], "Child A", [police.id])
        r = client.patch(
            f"{API}/children/{child['id']}",
            json={"pseudonym": "Child Z", "age_band": "16-17", "context_tags": ["CIN"]},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["pseudonym"], body["age_band"], body["context_tags"]) == (
            "Child Z",
            "16-17",
            ["CIN"],
        )
        assert body["involvements"] == child["involvements"]

    def test_taken_pseudonym_is_409(self, client, planned):
        add_child(client, planned["id"], "Child A")
        child = add_child(client, planned["id"], "Child B")
        r = client.patch(f"{API}/children/{child['id']}", json={"pseudonym": "child A".title()})
        assert r.status_code == 409 and fields(r) == {"pseudonym"}

    def test_null_context_tags_do_not_break_the_child(self, client, planned):
        child = add_child(client, planned["id"], "Child A", context_tags=["CIN"])
        r = client.patch(f"{API}/children/{child['id']}", json={"context_tags": None})
        assert r.status_code in (200, 422), r.text
        listed = client.get(f"{API}/audits/{planned['id']}/children")
        assert listed.status_code == 200
        assert listed.json()[0]["context_tags"] in ([], ["CIN"])

    def test_name_is_422(self, client, planned):
        child = add_child(client, planned["id"], "Child A")
        r = client.patch(f"{API}/children/{child['id']}", json={"pseudonym": "Jane Smith"})
        assert r.status_code == 422 and fields(r) == {"pseudonym"}


class TestAddInvolvement:
    def test_creates_a_not_started_return(self, client, planned, police, school):
        child = add_child(client, planned["id"], "Child A", [police.id])
        r = client.post(
            f"{API}/audits/{planned['id']}/involvements",
            json={"child_id": child["id"], "agency_id": school.id},
        )
        assert r.status_code == 201, r.text
        involvement = r.json()
        assert involvement["agency_id"] == school.id and involvement["agency_name"] == "School"
        assert involvement["return_status"] == "not_started"
        listed = children(client, planned["id"])[0]["involvements"]
        assert involvement in listed and len(listed) == 2
        assert client.get(f"{API}/returns/{involvement['return_id']}").status_code == 200

    def test_non_participating_agency_is_422(self, client, planned, health):
        child = add_child(client, planned["id"], "Child A")
        r = client.post(
            f"{API}/audits/{planned['id']}/involvements",
            json={"child_id": child["id"], "agency_id": health.id},
        )
        assert r.status_code == 422 and fields(r) == {"agency_id"}

    def test_duplicate_is_409(self, client, planned, police):
        child = add_child(client, planned["id"], "Child A", [police.id])
        r = client.post(
            f"{API}/audits/{planned['id']}/involvements",
            json={"child_id": child["id"], "agency_id": police.id},
        )
        assert r.status_code == 409 and fields(r) == {"agency_id"}
        assert len(children(client, planned["id"])[0]["involvements"]) == 1

    def test_child_of_another_audit_is_422(self, client, version, planned, police):
        other = create_audit(client, version.id, title="Other", agency_ids=[police.id])
        stranger = add_child(client, other["id"], "Child A")
        r = client.post(
            f"{API}/audits/{planned['id']}/involvements",
            json={"child_id": stranger["id"], "agency_id": police.id},
        )
        assert r.status_code == 422 and fields(r) == {"child_id"}
        assert children(client, other["id"])[0]["involvements"] == []

    def test_unknown_child_is_422_naming_child_id(self, client, planned, police):
        # An id in the body that does not fit is bad input, like an unknown agency_id.
        r = client.post(
            f"{API}/audits/{planned['id']}/involvements",
            json={"child_id": 999999, "agency_id": police.id},
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "child_id"


class TestRemoveInvolvement:
    def test_not_started_return_goes_with_it(self, client, planned, police, school):
        child = add_child(client, planned["id"], "Child A", [police.id, school.id])
        police_involvement = next(i for i in child["involvements"] if i["agency_id"] == police.id)
        r = client.delete(f"{API}/involvements/{police_involvement['id']}")
        assert r.status_code == 204 and r.content == b""
        assert client.get(f"{API}/returns/{police_involvement['return_id']}").status_code == 404
        remaining = children(client, planned["id"])[0]["involvements"]
        assert [i["agency_name"] for i in remaining] == ["School"]
        assert get_audit(client, planned["id"])["returns"] == counts(expected=1, not_started=1)
        assert client.delete(f"{API}/involvements/{police_involvement['id']}").status_code == 404

    def test_draft_return_is_409_and_nothing_changes(self, client, version, opened, police):
        child_a = children(client, opened["id"])[0]
        involvement = next(i for i in child_a["involvements"] if i["agency_id"] == police.id)
        start_draft(client, involvement["return_id"], version.id)
        r = client.delete(f"{API}/involvements/{involvement['id']}")
        assert r.status_code == 409
        assert client.get(f"{API}/returns/{involvement['return_id']}").json()["status"] == "draft"
        assert len(children(client, opened["id"])[0]["involvements"]) == 2

    def test_submitted_return_is_409(self, client, version, opened, police):
        child_b = children(client, opened["id"])[1]
        involvement = child_b["involvements"][0]
        submit_complete(client, involvement["return_id"], version.id)
        assert client.delete(f"{API}/involvements/{involvement['id']}").status_code == 409


class TestRemoveChild:
    def test_child_and_its_returns_go(self, client, planned, police, school):
        keep = add_child(client, planned["id"], "Child A", [police.id])
        gone = add_child(client, planned["id"], "Child B", [police.id, school.id])
        r = client.delete(f"{API}/children/{gone['id']}")
        assert r.status_code == 204 and r.content == b""
        assert [c["id"] for c in children(client, planned["id"])] == [keep["id"]]
        for return_id in return_ids(gone).values():
            assert client.get(f"{API}/returns/{return_id}").status_code == 404
        audit = get_audit(client, planned["id"])
        assert audit["children_count"] == 1
        assert audit["returns"] == counts(expected=1, not_started=1)
        assert client.delete(f"{API}/children/{gone['id']}").status_code == 404

    def test_pseudonym_is_free_again(self, client, planned):
        child = add_child(client, planned["id"], "Child A")
        client.delete(f"{API}/children/{child['id']}")
        add_child(client, planned["id"], "Child A")

    def test_child_with_a_draft_return_is_409_and_nothing_changes(
        self, client, version, opened, police
    ):
        child_a = children(client, opened["id"])[0]
        start_draft(client, return_ids(child_a)[police.id], version.id)
        r = client.delete(f"{API}/children/{child_a['id']}")
        assert r.status_code == 409
        after = children(client, opened["id"])
        assert [c["pseudonym"] for c in after] == ["Child A", "Child B"]
        assert len(after[0]["involvements"]) == 2
        assert get_audit(client, opened["id"])["returns"] == counts(
            expected=3, not_started=2, draft=1
        )


# ---- opening ------------------------------------------------------------------------


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

    def test_ready_audit_opens(self, client, planned, police):
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


# ---- listing ------------------------------------------------------------------------


class TestListAudits:
    @pytest.fixture
    def spread(self, client, db, version, police, school, health) -> dict:
        """Four audits that differ in every filterable way."""
        other_version = make_template(db)
        qapp = agencies_service.create_subgroup(db, name="QAPP")
        get_safe = agencies_service.create_subgroup(db, name="GET SAFE")
        voice = create_audit(
            client,
            version.id,
            title="Voice of the Child and SEND",
            theme="Voice of the child",
            lead_subgroup_id=qapp.id,
            returns_due_on="2030-01-10",
            agency_ids=[police.id, school.id],
        )
        add_child(client, voice["id"], "Child A", [police.id, school.id])
        add_child(client, voice["id"], "Child B", [school.id])
        open_audit(client, voice["id"])
        exploitation = create_audit(
            client,
            other_version.id,
            title="Exploitation deep dive",
            theme="Exploitation",
            lead_subgroup_id=get_safe.id,
            returns_due_on="2030-02-10",
            agency_ids=[health.id],
        )
        front_door = create_audit(
            client,
            version.id,
            title="Front door referrals: 100% sample",
            returns_due_on="2030-01-11",
            agency_ids=[school.id],
        )
        closed = create_audit(client, other_version.id, title="Old 1000 case audit")
        set_status(db, closed["id"], AuditStatus.CLOSED)
        return {
            "voice": voice["id"],
            "exploitation": exploitation["id"],
            "front_door": front_door["id"],
            "closed": closed["id"],
            "qapp": qapp.id,
            "get_safe": get_safe.id,
            "version": version,
            "other_version": other_version,
        }

    def ids(self, client, **params) -> set[int]:
        r = client.get(f"{API}/audits", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == len(body["items"])
        return {a["id"] for a in body["items"]}

    def test_everything_newest_first(self, client, spread):
        body = client.get(f"{API}/audits").json()
        assert body["total"] == 4
        assert [a["id"] for a in body["items"]] == [
            spread["closed"],
            spread["front_door"],
            spread["exploitation"],
            spread["voice"],
        ]

    def test_items_carry_counts(self, client, version, spread):
        item = next(
            a for a in client.get(f"{API}/audits").json()["items"] if a["id"] == spread["voice"]
        )
        assert item["status"] == "open" and item["children_count"] == 2
        assert [a["name"] for a in item["agencies"]] == ["Police", "School"]
        assert item["lead_subgroup"]["name"] == "QAPP"
        assert item["template_version"]["id"] == version.id
        assert item["returns"] == counts(expected=3, not_started=3)
        assert get_audit(client, spread["voice"]) == item
        empty = next(
            a for a in client.get(f"{API}/audits").json()["items"] if a["id"] == spread["closed"]
        )
        assert empty["children_count"] == 0 and empty["returns"] == NO_RETURNS

    def test_returns_counted_by_status(self, client, version, spread, police):
        child_a = children(client, spread["voice"])[0]
        start_draft(client, return_ids(child_a)[police.id], version.id)
        item = client.get(f"{API}/audits", params={"status": "open"}).json()["items"][0]
        assert item["returns"] == counts(expected=3, not_started=2, draft=1)

    def test_status(self, client, spread):
        assert self.ids(client, status="open") == {spread["voice"]}
        assert self.ids(client, status="closed") == {spread["closed"]}
        assert self.ids(client, status="planned") == {spread["exploitation"], spread["front_door"]}
        assert self.ids(client, status="moderation") == set()

    def test_bad_status_is_422(self, client, spread):
        r = client.get(f"{API}/audits", params={"status": "finished"})
        assert r.status_code == 422 and fields(r) == {"query.status"}

    def test_theme_ignores_case(self, client, spread):
        assert self.ids(client, theme="exploitation") == {spread["exploitation"]}
        assert self.ids(client, theme="Voice of the child") == {spread["voice"]}
        # An audit without its own theme takes the template's.
        assert self.ids(client, theme="Testing") == {spread["front_door"], spread["closed"]}

    def test_lead_subgroup(self, client, spread):
        assert self.ids(client, subgroup_id=spread["qapp"]) == {spread["voice"]}
        assert self.ids(client, subgroup_id=spread["get_safe"]) == {spread["exploitation"]}
        assert self.ids(client, subgroup_id=999999) == set()

    def test_template_family(self, client, spread):
        family = spread["version"].family_id
        other_family = spread["other_version"].family_id
        assert self.ids(client, template_id=family) == {spread["voice"], spread["front_door"]}
        assert self.ids(client, template_id=other_family) == {
            spread["exploitation"],
            spread["closed"],
        }

    def test_template_family_includes_every_version(self, client, db, spread):
        old = spread["version"]
        r = client.post(f"{API}/template-versions/{old.id}/new-version")
        assert r.status_code == 201, r.text
        new_id = r.json()["id"]
        assert client.post(f"{API}/template-versions/{new_id}/publish").status_code == 200
        newer = create_audit(client, new_id, title="On version 2")
        assert self.ids(client, template_id=old.family_id) == {
            spread["voice"],
            spread["front_door"],
            newer["id"],
        }

    def test_participating_agency(self, client, spread, police, school, health):
        assert self.ids(client, agency_id=police.id) == {spread["voice"]}
        assert self.ids(client, agency_id=school.id) == {spread["voice"], spread["front_door"]}
        assert self.ids(client, agency_id=health.id) == {spread["exploitation"]}

    def test_due_before_is_inclusive(self, client, spread):
        assert self.ids(client, due_before="2030-01-10") == {spread["voice"]}
        assert self.ids(client, due_before="2030-01-11") == {spread["voice"], spread["front_door"]}
        assert self.ids(client, due_before="2029-12-31") == set()

    def test_title_words(self, client, spread):
        assert self.ids(client, q="voice") == {spread["voice"]}
        assert self.ids(client, q="DEEP DIVE") == {spread["exploitation"]}
        assert self.ids(client, q="audit") == {spread["closed"]}
        assert self.ids(client, q="safeguarding") == set()

    def test_title_search_treats_wildcards_literally(self, client, spread):
        assert self.ids(client, q="100%") == {spread["front_door"]}
        assert self.ids(client, q="_") == set()

    def test_filters_combine(self, client, spread, school):
        assert self.ids(client, agency_id=school.id, status="planned") == {spread["front_door"]}
        assert self.ids(client, agency_id=school.id, q="voice", status="planned") == set()

    def test_pages(self, client, spread):
        first = client.get(f"{API}/audits", params={"per_page": 3}).json()
        assert first["total"] == 4 and len(first["items"]) == 3 and first["per_page"] == 3
        second = client.get(f"{API}/audits", params={"per_page": 3, "page": 2}).json()
        assert second["total"] == 4 and second["page"] == 2
        assert [a["id"] for a in second["items"]] == [spread["voice"]]
        filtered = client.get(f"{API}/audits", params={"per_page": 1, "status": "planned"}).json()
        assert filtered["total"] == 2 and len(filtered["items"]) == 1

    @pytest.mark.parametrize("params", [{"per_page": 0}, {"per_page": 201}, {"page": 0}])
    def test_bad_paging_is_422(self, client, params):
        assert client.get(f"{API}/audits", params=params).status_code == 422


# ---- progress -----------------------------------------------------------------------


class TestProgress:
    def test_counts_by_agency_and_child(self, client, version, planned, police, school, health):
        client.put(
            f"{API}/audits/{planned['id']}/agencies",
            json={"agency_ids": [police.id, school.id, health.id]},
        )
        add_child(client, planned["id"], "Child A", [police.id, school.id])
        add_child(client, planned["id"], "Child B", [police.id, school.id])
        add_child(client, planned["id"], "Child C", [police.id])
        open_audit(client, planned["id"])
        child_a, child_b, child_c = children(client, planned["id"])

        start_draft(client, return_ids(child_a)[police.id], version.id)
        start_draft(client, return_ids(child_b)[police.id], version.id)
        submit_complete(client, return_ids(child_a)[school.id], version.id)

        r = client.get(f"{API}/audits/{planned['id']}/progress")
        assert r.status_code == 200, r.text
        progress = r.json()
        assert progress["audit_id"] == planned["id"] and progress["status"] == "open"
        assert progress["returns_due_on"] == planned["returns_due_on"]
        assert progress["totals"] == counts(expected=5, not_started=2, draft=2, submitted=1)
        assert progress["by_agency"] == [
            {"agency_id": health.id, "agency_name": "Health", **NO_RETURNS},
            {
                "agency_id": police.id,
                "agency_name": "Police",
                **counts(expected=3, not_started=1, draft=2),
            },
            {
                "agency_id": school.id,
                "agency_name": "School",
                **counts(expected=2, not_started=1, submitted=1),
            },
        ]
        assert progress["by_child"] == [
            {
                "child_id": child_a["id"],
                "pseudonym": "Child A",
                **counts(expected=2, draft=1, submitted=1),
            },
            {
                "child_id": child_b["id"],
                "pseudonym": "Child B",
                **counts(expected=2, not_started=1, draft=1),
            },
            {
                "child_id": child_c["id"],
                "pseudonym": "Child C",
                **counts(expected=1, not_started=1),
            },
        ]
        assert get_audit(client, planned["id"])["returns"] == progress["totals"]

    def test_factory_audit(self, client, db):
        audit = make_audit(db, children=3, agencies_count=2)
        progress = client.get(f"{API}/audits/{audit.id}/progress").json()
        assert progress["totals"] == counts(expected=6, not_started=6)
        assert [c["expected"] for c in progress["by_child"]] == [2, 2, 2]
        assert [a["expected"] for a in progress["by_agency"]] == [3, 3]

    def test_planned_audit_without_children(self, client, planned):
        progress = client.get(f"{API}/audits/{planned['id']}/progress").json()
        assert progress["status"] == "planned"
        assert progress["totals"] == NO_RETURNS and progress["by_child"] == []
        assert [a["agency_name"] for a in progress["by_agency"]] == ["Police", "School"]

    def test_child_without_returns_still_shows(self, client, opened):
        # A child added after opening with no agencies yet is exactly the gap a
        # moderator needs to see, as agencies with nothing expected are shown.
        late = add_child(client, opened["id"], "Child C")
        progress = client.get(f"{API}/audits/{opened['id']}/progress").json()
        assert [c["pseudonym"] for c in progress["by_child"]] == ["Child A", "Child B", "Child C"]
        assert progress["by_child"][2] == {
            "child_id": late["id"],
            "pseudonym": "Child C",
            **NO_RETURNS,
        }


# ---- unknown ids --------------------------------------------------------------------


class TestUnknownIds:
    @pytest.mark.parametrize(
        "method, path, body",
        [
            ("GET", "/audits/999999", None),
            ("PATCH", "/audits/999999", {"title": "X"}),
            ("PUT", "/audits/999999/agencies", {"agency_ids": []}),
            ("POST", "/audits/999999/open", None),
            ("GET", "/audits/999999/progress", None),
            ("GET", "/audits/999999/children", None),
            ("POST", "/audits/999999/children", {"pseudonym": "Child A"}),
            ("PATCH", "/children/999999", {"age_band": "5-9"}),
            ("DELETE", "/children/999999", None),
            ("DELETE", "/involvements/999999", None),
        ],
    )
    def test_is_404(self, client, method, path, body):
        kwargs = {"json": body} if body is not None else {}
        r = client.request(method, f"{API}{path}", **kwargs)
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "not_found"

    def test_involvement_on_unknown_audit_is_404(self, client, planned, police):
        child = add_child(client, planned["id"], "Child A")
        r = client.post(
            f"{API}/audits/999999/involvements",
            json={"child_id": child["id"], "agency_id": police.id},
        )
        assert r.status_code == 404

    def test_non_numeric_id_is_422(self, client):
        assert client.get(f"{API}/audits/first").status_code == 422
