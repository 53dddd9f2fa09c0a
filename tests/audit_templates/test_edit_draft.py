"""Editing a draft over the JSON API: its key areas, its scale and its own fields, and
nulls refused wherever a value is required."""

from __future__ import annotations

import pytest

from tests.helpers.audit_templates import (
    API,
    RAG,
    create_draft,
    error_fields,
    get_version,
    new_content,
    positions,
    titles,
)


class TestAddKeyArea:
    def test_added_last_by_default(self, client, draft):
        r = client.post(
            f"{API}/template-versions/{draft['id']}/key-areas",
            json={"title": "Outcome", "questions": [{"prompt": "Safer?", "type": "yes_partly_no"}]},
        )
        assert r.status_code == 201, r.text
        v = r.json()
        assert titles(v) == ["Key area 1", "Key area 2", "Key area 3", "Outcome"]
        assert positions(v["key_areas"]) == [0, 1, 2, 3]
        added = v["key_areas"][3]
        assert added["graded"] is True
        assert [(q["prompt"], q["position"]) for q in added["questions"]] == [("Safer?", 0)]
        assert get_version(client, draft["id"]) == v

    @pytest.mark.parametrize(
        ("position", "expected"),
        [
            (0, ["New", "Key area 1", "Key area 2", "Key area 3"]),
            (1, ["Key area 1", "New", "Key area 2", "Key area 3"]),
            (3, ["Key area 1", "Key area 2", "Key area 3", "New"]),
            (99, ["Key area 1", "Key area 2", "Key area 3", "New"]),
        ],
    )
    def test_inserted_at_position_and_positions_renumbered(self, client, draft, position, expected):
        r = client.post(
            f"{API}/template-versions/{draft['id']}/key-areas",
            json={"title": "New", "position": position},
        )
        assert r.status_code == 201, r.text
        v = get_version(client, draft["id"])
        assert titles(v) == expected
        assert positions(v["key_areas"]) == [0, 1, 2, 3]

    def test_title_already_used_is_409_on_title(self, client, draft):
        r = client.post(
            f"{API}/template-versions/{draft['id']}/key-areas", json={"title": "key area 2"}
        )
        assert r.status_code == 409
        assert error_fields(r) == ["title"]
        assert titles(get_version(client, draft["id"])) == [
            "Key area 1",
            "Key area 2",
            "Key area 3",
        ]

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"title": "X", "position": -1},
            {"title": "X", "colour": "red"},
            {"title": "X", "questions": [{"prompt": "Which?", "type": "single_choice"}]},
        ],
        ids=["no title", "negative position", "unknown field", "bad question"],
    )
    def test_bad_body_is_422(self, client, draft, body):
        r = client.post(f"{API}/template-versions/{draft['id']}/key-areas", json=body)
        assert r.status_code == 422, r.text
        assert len(get_version(client, draft["id"])["key_areas"]) == 3


class TestUpdateKeyArea:
    def test_fields_are_changed(self, client, draft):
        area = draft["key_areas"][1]
        r = client.patch(
            f"{API}/key-areas/{area['id']}",
            json={"title": "Strategy discussion", "description": "Within 3 days", "graded": False},
        )
        assert r.status_code == 200, r.text
        changed = get_version(client, draft["id"])["key_areas"][1]
        assert changed["id"] == area["id"]
        assert (changed["title"], changed["description"], changed["graded"]) == (
            "Strategy discussion",
            "Within 3 days",
            False,
        )
        assert changed["questions"] == area["questions"]

    @pytest.mark.parametrize(
        ("index", "position", "expected"),
        [
            (0, 2, ["Key area 2", "Key area 3", "Key area 1"]),
            (2, 0, ["Key area 3", "Key area 1", "Key area 2"]),
            (0, 1, ["Key area 2", "Key area 1", "Key area 3"]),
            (1, 50, ["Key area 1", "Key area 3", "Key area 2"]),
        ],
    )
    def test_move_renumbers_positions(self, client, draft, index, position, expected):
        area_id = draft["key_areas"][index]["id"]
        r = client.patch(f"{API}/key-areas/{area_id}", json={"position": position})
        assert r.status_code == 200, r.text
        v = get_version(client, draft["id"])
        assert titles(v) == expected
        assert positions(v["key_areas"]) == [0, 1, 2]

    def test_keeping_its_own_title_in_another_case_is_allowed(self, client, draft):
        area = draft["key_areas"][0]
        r = client.patch(f"{API}/key-areas/{area['id']}", json={"title": "KEY AREA 1"})
        assert r.status_code == 200, r.text
        assert titles(r.json())[0] == "KEY AREA 1"

    def test_title_of_another_key_area_is_409(self, client, draft):
        area = draft["key_areas"][0]
        r = client.patch(f"{API}/key-areas/{area['id']}", json={"title": "key area 3"})
        assert r.status_code == 409 and error_fields(r) == ["title"]
        assert titles(get_version(client, draft["id"])) == [
            "Key area 1",
            "Key area 2",
            "Key area 3",
        ]

    def test_bad_body_is_422(self, client, draft):
        area = draft["key_areas"][0]
        for body in ({"title": ""}, {"position": -1}, {"questions": []}):
            r = client.patch(f"{API}/key-areas/{area['id']}", json=body)
            assert r.status_code == 422, (body, r.text)
        assert get_version(client, draft["id"]) == draft


class TestDeleteKeyArea:
    def test_removed_with_its_questions_and_positions_renumbered(self, client, draft):
        area = draft["key_areas"][1]
        r = client.delete(f"{API}/key-areas/{area['id']}")
        assert r.status_code == 200, r.text
        v = get_version(client, draft["id"])
        assert titles(v) == ["Key area 1", "Key area 3"]
        assert positions(v["key_areas"]) == [0, 1]
        assert client.patch(f"{API}/key-areas/{area['id']}", json={"title": "x"}).status_code == 404
        question_id = area["questions"][0]["id"]
        assert (
            client.patch(f"{API}/questions/{question_id}", json={"prompt": "x"}).status_code == 404
        )

    def test_last_key_area_can_be_deleted(self, client):
        v = create_draft(client, key_areas=1)
        r = client.delete(f"{API}/key-areas/{v['key_areas'][0]['id']}")
        assert r.status_code == 200 and r.json()["key_areas"] == []


class TestSetScale:
    def test_put_replaces_the_levels(self, client, draft):
        r = client.put(f"{API}/template-versions/{draft['id']}/scale", json=RAG)
        assert r.status_code == 200, r.text
        scale = get_version(client, draft["id"])["scale"]
        assert scale["name"] == "RAG rating"
        assert [(lv["position"], lv["code"], lv["label"]) for lv in scale["levels"]] == [
            (0, "G", "Green"),
            (1, "A", "Amber"),
            (2, "R", "Red"),
        ]
        assert scale["levels"][0]["description"] == "On track"

    def test_put_twice_keeps_only_the_last(self, client, draft):
        client.put(f"{API}/template-versions/{draft['id']}/scale", json=RAG)
        yes_no = {
            "name": "Yes/no",
            "levels": [{"code": "Y", "label": "Yes"}, {"code": "N", "label": "No"}],
        }
        r = client.put(f"{API}/template-versions/{draft['id']}/scale", json=yes_no)
        assert r.status_code == 200, r.text
        levels = get_version(client, draft["id"])["scale"]["levels"]
        assert [lv["code"] for lv in levels] == ["Y", "N"]

    def test_put_on_a_draft_without_a_scale_adds_one(self, client):
        v = create_draft(client, {**new_content(), "scale": None})
        assert v["scale"] is None
        r = client.put(f"{API}/template-versions/{v['id']}/scale", json=RAG)
        assert r.status_code == 200, r.text
        assert [lv["code"] for lv in r.json()["scale"]["levels"]] == ["G", "A", "R"]

    @pytest.mark.parametrize(
        "body",
        [
            {"name": "One", "levels": [{"code": "A", "label": "A"}]},
            {"name": "Dup", "levels": [{"code": "A", "label": "A"}, {"code": "A", "label": "B"}]},
            {"levels": RAG["levels"]},
        ],
        ids=["one level", "duplicate codes", "no name"],
    )
    def test_bad_scale_is_422_and_the_old_one_stays(self, client, draft, body):
        r = client.put(f"{API}/template-versions/{draft['id']}/scale", json=body)
        assert r.status_code == 422, r.text
        assert get_version(client, draft["id"])["scale"] == draft["scale"]


class TestUpdateVersionMeta:
    def test_patch_changes_only_the_fields_sent(self, client, draft):
        r = client.patch(
            f"{API}/template-versions/{draft['id']}",
            json={"theme": "Neglect", "method": "Deep dive", "overall_grade": False},
        )
        assert r.status_code == 200, r.text
        v = get_version(client, draft["id"])
        assert (v["theme"], v["method"], v["overall_grade"]) == ("Neglect", "Deep dive", False)
        assert v["description"] == draft["description"]
        assert v["key_areas"] == draft["key_areas"] and v["scale"] == draft["scale"]
        r = client.patch(f"{API}/template-versions/{draft['id']}", json={"description": "Why"})
        assert r.status_code == 200
        assert get_version(client, draft["id"])["description"] == "Why"
        assert get_version(client, draft["id"])["theme"] == "Neglect"

    @pytest.mark.parametrize("body", [{"name": "Renamed"}, {"theme": "x" * 201}])
    def test_bad_patch_is_422(self, client, draft, body):
        r = client.patch(f"{API}/template-versions/{draft['id']}", json=body)
        assert r.status_code == 422, r.text
        assert get_version(client, draft["id"]) == draft


class TestPatchNull:
    @pytest.mark.parametrize(
        ("kind", "field"),
        [
            ("version", "theme"),
            ("version", "overall_grade"),
            ("key_area", "title"),
            ("key_area", "graded"),
            ("question", "prompt"),
            ("question", "type"),
            ("question", "options"),
        ],
    )
    def test_null_is_422_and_changes_nothing(self, client, draft, kind, field):
        area = draft["key_areas"][0]
        path = {
            "version": f"/template-versions/{draft['id']}",
            "key_area": f"/key-areas/{area['id']}",
            "question": f"/questions/{area['questions'][0]['id']}",
        }[kind]
        r = client.patch(API + path, json={field: None})
        assert r.status_code == 422, r.text
        assert field in error_fields(r)
        assert get_version(client, draft["id"]) == draft
