"""The cohort over HTTP: children, their agency involvements and the returns those
create, and removing them again."""

from __future__ import annotations

import pytest

from tests.helpers.audits import (
    API,
    NO_RETURNS,
    add_child,
    children,
    counts,
    create_audit,
    fields,
    get_audit,
    return_ids,
    start_draft,
    submit_complete,
)


class TestListChildren:
    def test_paginated_by_pseudonym_with_total(self, client, planned):
        for name in ("Child C", "Child A", "Child B"):
            add_child(client, planned["id"], name)
        url = f"{API}/audits/{planned['id']}/children"
        first = client.get(url, params={"per_page": 2}).json()
        second = client.get(url, params={"per_page": 2, "page": 2}).json()
        assert first["total"] == second["total"] == 3
        assert [c["pseudonym"] for c in first["items"]] == ["Child A", "Child B"]
        assert [c["pseudonym"] for c in second["items"]] == ["Child C"]


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
        assert listed.json()["items"][0]["context_tags"] in ([], ["CIN"])

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
