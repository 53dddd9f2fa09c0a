"""Agencies and subgroups over HTTP: the partnership's reference data."""

import pytest

AGENCIES = "/api/v1/agencies"
SUBGROUPS = "/api/v1/subgroups"


def fields(response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


def create_agency(client, name: str, kind: str = "police") -> dict:
    r = client.post(AGENCIES, json={"name": name, "kind": kind})
    assert r.status_code == 201, r.text
    return r.json()


def create_subgroup(client, name: str, description: str = "") -> dict:
    r = client.post(SUBGROUPS, json={"name": name, "description": description})
    assert r.status_code == 201, r.text
    return r.json()


class TestCreateAgency:
    def test_created_active_with_its_kind(self, client):
        r = client.post(AGENCIES, json={"name": "West Mercia Police", "kind": "police"})
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["name"] == "West Mercia Police"
        assert body["kind"] == "police"
        assert body["active"] is True
        assert body["id"] and body["created_at"]
        assert client.get(f"{AGENCIES}/{body['id']}").json() == body

    def test_name_is_trimmed(self, client):
        assert create_agency(client, "  Acute Trust  ", "acute_health")["name"] == "Acute Trust"

    def test_duplicate_name_is_409_on_name(self, client):
        create_agency(client, "Children's Social Care", "social_care")
        r = client.post(AGENCIES, json={"name": "Children's Social Care", "kind": "other"})
        assert r.status_code == 409
        assert r.json()["code"] == "conflict"
        assert fields(r) == {"name"}

    def test_duplicate_after_trimming_is_409(self, client):
        create_agency(client, "Probation Service", "probation")
        r = client.post(AGENCIES, json={"name": " Probation Service ", "kind": "probation"})
        assert r.status_code == 409
        assert fields(r) == {"name"}

    def test_bad_kind_is_422_naming_kind(self, client):
        r = client.post(AGENCIES, json={"name": "Somewhere", "kind": "fire_service"})
        assert r.status_code == 422
        assert fields(r) == {"kind"}

    def test_missing_and_blank_name_are_422(self, client):
        r = client.post(AGENCIES, json={"kind": "gp"})
        assert r.status_code == 422 and fields(r) == {"name"}
        r = client.post(AGENCIES, json={"name": "   ", "kind": "gp"})
        assert r.status_code == 422 and fields(r) == {"name"}

    def test_too_long_name_is_422(self, client):
        r = client.post(AGENCIES, json={"name": "x" * 201, "kind": "gp"})
        assert r.status_code == 422 and fields(r) == {"name"}

    def test_unknown_field_is_422(self, client):
        r = client.post(AGENCIES, json={"name": "GP practices", "kind": "gp", "colour": "red"})
        assert r.status_code == 422
        assert fields(r) == {"colour"}
        assert client.get(AGENCIES).json()["total"] == 0


class TestUpdateAgency:
    def test_patch_changes_only_what_is_sent(self, client):
        agency = create_agency(client, "Schools", "education")
        r = client.patch(f"{AGENCIES}/{agency['id']}", json={"name": "Schools and colleges"})
        assert r.status_code == 200, r.text
        assert r.json()["name"] == "Schools and colleges"
        assert r.json()["kind"] == "education"
        r = client.patch(f"{AGENCIES}/{agency['id']}", json={"kind": "other"})
        assert r.json()["kind"] == "other" and r.json()["name"] == "Schools and colleges"
        assert client.get(f"{AGENCIES}/{agency['id']}").json()["kind"] == "other"

    def test_renaming_to_its_own_name_is_allowed(self, client):
        agency = create_agency(client, "Youth Justice", "youth_justice")
        r = client.patch(f"{AGENCIES}/{agency['id']}", json={"name": "Youth Justice"})
        assert r.status_code == 200

    def test_renaming_to_another_agencys_name_is_409(self, client):
        create_agency(client, "District Council", "district_council")
        other = create_agency(client, "Voluntary sector", "voluntary")
        r = client.patch(f"{AGENCIES}/{other['id']}", json={"name": "District Council"})
        assert r.status_code == 409
        assert fields(r) == {"name"}
        assert client.get(f"{AGENCIES}/{other['id']}").json()["name"] == "Voluntary sector"

    def test_bad_kind_and_unknown_field_are_422(self, client):
        agency = create_agency(client, "Community Health", "community_health")
        r = client.patch(f"{AGENCIES}/{agency['id']}", json={"kind": "army"})
        assert r.status_code == 422 and fields(r) == {"kind"}
        r = client.patch(f"{AGENCIES}/{agency['id']}", json={"nickname": "CH"})
        assert r.status_code == 422 and fields(r) == {"nickname"}

    def test_can_reactivate(self, client):
        agency = create_agency(client, "ICB", "other")
        client.post(f"{AGENCIES}/{agency['id']}/deactivate")
        r = client.patch(f"{AGENCIES}/{agency['id']}", json={"active": True})
        assert r.status_code == 200 and r.json()["active"] is True


class TestDeactivateAgency:
    def test_deactivated_is_inactive_and_filtered(self, client):
        police = create_agency(client, "Police", "police")
        gp = create_agency(client, "GP", "gp")
        r = client.post(f"{AGENCIES}/{police['id']}/deactivate")
        assert r.status_code == 200, r.text
        assert r.json()["active"] is False
        assert client.get(f"{AGENCIES}/{police['id']}").json()["active"] is False

        active = client.get(AGENCIES, params={"active": "true"}).json()
        assert [a["id"] for a in active["items"]] == [gp["id"]]
        assert active["total"] == 1
        inactive = client.get(AGENCIES, params={"active": "false"}).json()
        assert [a["id"] for a in inactive["items"]] == [police["id"]]
        every = client.get(AGENCIES).json()
        assert {a["id"] for a in every["items"]} == {police["id"], gp["id"]}

    def test_deactivating_twice_is_harmless(self, client):
        agency = create_agency(client, "Hospital", "acute_health")
        client.post(f"{AGENCIES}/{agency['id']}/deactivate")
        r = client.post(f"{AGENCIES}/{agency['id']}/deactivate")
        assert r.status_code == 200 and r.json()["active"] is False


class TestListAgencies:
    def test_sorted_by_name_and_filtered_by_kind(self, client):
        create_agency(client, "Beta", "gp")
        create_agency(client, "Alpha", "police")
        create_agency(client, "Gamma", "gp")
        body = client.get(AGENCIES).json()
        assert [a["name"] for a in body["items"]] == ["Alpha", "Beta", "Gamma"]
        gps = client.get(AGENCIES, params={"kind": "gp"}).json()
        assert [a["name"] for a in gps["items"]] == ["Beta", "Gamma"] and gps["total"] == 2

    def test_bad_kind_filter_is_422(self, client):
        r = client.get(AGENCIES, params={"kind": "army"})
        assert r.status_code == 422 and fields(r) == {"query.kind"}

    def test_pages(self, client):
        for i in range(5):
            create_agency(client, f"Agency {i}")
        first = client.get(AGENCIES, params={"per_page": 2}).json()
        assert first["total"] == 5 and first["page"] == 1 and first["per_page"] == 2
        assert [a["name"] for a in first["items"]] == ["Agency 0", "Agency 1"]
        third = client.get(AGENCIES, params={"per_page": 2, "page": 3}).json()
        assert [a["name"] for a in third["items"]] == ["Agency 4"]
        assert third["total"] == 5 and third["page"] == 3
        beyond = client.get(AGENCIES, params={"per_page": 2, "page": 4}).json()
        assert beyond["items"] == [] and beyond["total"] == 5

    def test_default_page_size_is_50(self, client):
        body = client.get(AGENCIES).json()
        assert body["page"] == 1 and body["per_page"] == 50 and body["total"] == 0

    def test_largest_page_size_is_accepted(self, client):
        assert client.get(AGENCIES, params={"per_page": 200}).status_code == 200

    @pytest.mark.parametrize(
        "params, field",
        [
            ({"per_page": 0}, "query.per_page"),
            ({"per_page": 201}, "query.per_page"),
            ({"page": 0}, "query.page"),
            ({"page": "first"}, "query.page"),
        ],
    )
    def test_bad_paging_is_422(self, client, params, field):
        r = client.get(AGENCIES, params=params)
        assert r.status_code == 422
        assert fields(r) == {field}


class TestUnknownAgency:
    @pytest.mark.parametrize(
        "method, suffix, body",
        [("get", "", None), ("patch", "", {"name": "X"}), ("post", "/deactivate", None)],
    )
    def test_is_404(self, client, method, suffix, body):
        kwargs = {"json": body} if body is not None else {}
        r = client.request(method.upper(), f"{AGENCIES}/999999{suffix}", **kwargs)
        assert r.status_code == 404
        assert r.json()["code"] == "not_found"

    def test_non_numeric_id_is_422(self, client):
        assert client.get(f"{AGENCIES}/police").status_code == 422


class TestCreateSubgroup:
    def test_created_active(self, client):
        r = client.post(SUBGROUPS, json={"name": "QAPP", "description": "Quality assurance"})
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["name"] == "QAPP" and body["description"] == "Quality assurance"
        assert body["active"] is True
        assert client.get(f"{SUBGROUPS}/{body['id']}").json() == body

    def test_description_is_optional(self, client):
        r = client.post(SUBGROUPS, json={"name": "GET SAFE"})
        assert r.status_code == 201 and r.json()["description"] == ""

    def test_duplicate_name_is_409_on_name(self, client):
        create_subgroup(client, "Executive")
        r = client.post(SUBGROUPS, json={"name": "Executive"})
        assert r.status_code == 409 and fields(r) == {"name"}

    def test_an_agency_and_a_subgroup_may_share_a_name(self, client):
        create_agency(client, "Education")
        assert client.post(SUBGROUPS, json={"name": "Education"}).status_code == 201

    def test_unknown_field_is_422(self, client):
        r = client.post(SUBGROUPS, json={"name": "CSPR group", "chair": "Someone"})
        assert r.status_code == 422 and fields(r) == {"chair"}


class TestUpdateSubgroup:
    def test_patch(self, client):
        subgroup = create_subgroup(client, "QAPP")
        r = client.patch(f"{SUBGROUPS}/{subgroup['id']}", json={"description": "Audits"})
        assert r.status_code == 200
        assert r.json()["description"] == "Audits" and r.json()["name"] == "QAPP"
        r = client.patch(f"{SUBGROUPS}/{subgroup['id']}", json={"name": "QAPP group"})
        assert r.json()["name"] == "QAPP group"

    def test_renaming_to_another_subgroups_name_is_409(self, client):
        create_subgroup(client, "Executive")
        other = create_subgroup(client, "QAPP")
        r = client.patch(f"{SUBGROUPS}/{other['id']}", json={"name": "Executive"})
        assert r.status_code == 409 and fields(r) == {"name"}


class TestDeactivateSubgroup:
    def test_deactivated_is_inactive_and_filtered(self, client):
        qapp = create_subgroup(client, "QAPP")
        execu = create_subgroup(client, "Executive")
        r = client.post(f"{SUBGROUPS}/{execu['id']}/deactivate")
        assert r.status_code == 200 and r.json()["active"] is False
        active = client.get(SUBGROUPS, params={"active": "true"}).json()
        assert [s["id"] for s in active["items"]] == [qapp["id"]] and active["total"] == 1
        inactive = client.get(SUBGROUPS, params={"active": "false"}).json()
        assert [s["id"] for s in inactive["items"]] == [execu["id"]]


class TestListSubgroups:
    def test_pages(self, client):
        for name in ["C", "A", "B"]:
            create_subgroup(client, f"Group {name}")
        body = client.get(SUBGROUPS, params={"per_page": 2, "page": 2}).json()
        assert body["total"] == 3 and body["page"] == 2 and body["per_page"] == 2
        assert [s["name"] for s in body["items"]] == ["Group C"]

    @pytest.mark.parametrize("per_page", [0, 201])
    def test_bad_per_page_is_422(self, client, per_page):
        r = client.get(SUBGROUPS, params={"per_page": per_page})
        assert r.status_code == 422 and fields(r) == {"query.per_page"}


class TestUnknownSubgroup:
    @pytest.mark.parametrize(
        "method, suffix, body",
        [("get", "", None), ("patch", "", {"name": "X"}), ("post", "/deactivate", None)],
    )
    def test_is_404(self, client, method, suffix, body):
        kwargs = {"json": body} if body is not None else {}
        r = client.request(method.upper(), f"{SUBGROUPS}/999999{suffix}", **kwargs)
        assert r.status_code == 404
