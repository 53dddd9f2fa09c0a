"""Template versions over the JSON API: create a draft, edit it, publish (frozen from
then on), start new versions, retire, list; plus the service rules called directly."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.errors import InvalidInput, StateError
from app.templates_ import service
from app.templates_.models import TemplateStatus, TemplateVersion
from app.templates_.schemas import TemplateContent
from tests.factories import make_template
from tests.templates_ import (
    API,
    all_ids,
    comparable,
    create_draft,
    get_version,
    new_content,
    publish,
)

RAG = {
    "name": "RAG rating",
    "levels": [
        {"code": "G", "label": "Green", "description": "On track"},
        {"code": "A", "label": "Amber"},
        {"code": "R", "label": "Red"},
    ],
}


def titles(version: dict) -> list[str]:
    return [k["title"] for k in version["key_areas"]]


def positions(items: list[dict]) -> list[int]:
    return [item["position"] for item in items]


def error_fields(response) -> list[str]:
    return [e["field"] for e in response.json().get("errors", [])]


class TestCreateDraft:
    def test_new_template_is_draft_version_1_with_the_content_given(self, client):
        content = new_content(name="Identification of need & risk", key_areas=2)
        content["key_areas"][1]["questions"].append(
            {"prompt": "How was it made?", "type": "single_choice", "options": ["Phone", "Email"]}
        )
        r = client.post(f"{API}/templates", json=content)
        assert r.status_code == 201, r.text
        v = r.json()
        assert v["status"] == "draft" and v["number"] == 1
        assert v["name"] == "Identification of need & risk"
        assert v["slug"] == "identification-of-need-risk"
        assert v["published_at"] is None and v["retired_at"] is None
        assert v["theme"] == "Testing" and v["overall_grade"] is True
        assert v["scale"]["name"] == "Ofsted four-point scale"
        assert [lv["code"] for lv in v["scale"]["levels"]] == ["O", "G", "RI", "I"]
        assert positions(v["scale"]["levels"]) == [0, 1, 2, 3]
        assert titles(v) == ["Key area 1", "Key area 2"]
        assert positions(v["key_areas"]) == [0, 1]
        second = v["key_areas"][1]["questions"]
        assert positions(second) == [0, 1, 2, 3]
        assert [q["type"] for q in second] == [
            "yes_partly_no",
            "free_text",
            "date",
            "single_choice",
        ]
        assert [q["required"] for q in second] == [True, False, True, True]
        assert second[3]["options"] == ["Phone", "Email"]
        assert second[0]["options"] == []

    def test_draft_can_be_read_back_and_its_family_lists_it(self, client):
        v = create_draft(client)
        assert client.get(f"{API}/template-versions/{v['id']}").json() == v
        r = client.get(f"{API}/templates/{v['family_id']}")
        assert r.status_code == 200
        family = r.json()
        assert family["name"] == v["name"] and family["slug"] == v["slug"]
        assert [(s["id"], s["number"], s["status"]) for s in family["versions"]] == [
            (v["id"], 1, "draft")
        ]

    def test_explicit_slug_is_kept(self, client):
        v = create_draft(client, {**new_content(name="Family survey"), "slug": "fam-survey-2"})
        assert v["slug"] == "fam-survey-2"

    def test_text_is_trimmed(self, client):
        content = new_content(name="  Padded name  ")
        content["key_areas"][0]["title"] = "  Referral "
        v = create_draft(client, content)
        assert v["name"] == "Padded name" and v["key_areas"][0]["title"] == "Referral"


class TestCreateDuplicateName:
    def test_same_name_is_409_with_a_field_error_on_name(self, client):
        first = create_draft(client, name="Voice of the child")
        r = client.post(f"{API}/templates", json=new_content(name="Voice of the child"))
        assert r.status_code == 409
        body = r.json()
        assert body["code"] == "conflict" and body["detail"]
        assert "name" in error_fields(r)
        assert body["template_id"] == first["family_id"]

    def test_name_differing_only_in_case_is_409(self, client):
        create_draft(client, name="Voice of the child")
        r = client.post(f"{API}/templates", json=new_content(name="VOICE OF THE CHILD"))
        assert r.status_code == 409 and "name" in error_fields(r)

    def test_same_slug_under_another_name_is_409(self, client):
        create_draft(client, {**new_content(name="One"), "slug": "shared-slug"})
        r = client.post(f"{API}/templates", json={**new_content(name="Two"), "slug": "shared-slug"})
        assert r.status_code == 409 and error_fields(r) == ["slug"]

    def test_nothing_is_created_by_the_refused_request(self, client):
        create_draft(client, name="Only once")
        total = client.get(f"{API}/templates").json()["total"]
        client.post(f"{API}/templates", json=new_content(name="Only once"))
        assert client.get(f"{API}/templates").json()["total"] == total


def _unknown_top_level(c):
    c["colour"] = "blue"
    return "colour"


def _unknown_question_field(c):
    c["key_areas"][0]["questions"][0]["colour"] = "blue"
    return "key_areas[0].questions[0].colour"


def _one_option(c):
    c["key_areas"][0]["questions"][0] = {
        "prompt": "Which?",
        "type": "single_choice",
        "options": ["A"],
    }
    return "key_areas[0].questions[0]"


def _no_options(c):
    c["key_areas"][1]["questions"][2] = {"prompt": "Which?", "type": "single_choice"}
    return "key_areas[1].questions[2]"


def _repeated_options(c):
    c["key_areas"][0]["questions"][0] = {
        "prompt": "Which?",
        "type": "single_choice",
        "options": ["A", "A"],
    }
    return "key_areas[0].questions[0]"


def _options_on_free_text(c):
    c["key_areas"][0]["questions"][1]["options"] = ["A", "B"]
    return "key_areas[0].questions[1]"


def _duplicate_level_codes(c):
    c["scale"]["levels"][1]["code"] = "O"
    return "scale"


def _one_level(c):
    c["scale"]["levels"] = c["scale"]["levels"][:1]
    return "scale.levels"


def _long_level_code(c):
    c["scale"]["levels"][0]["code"] = "OUTSTANDING"
    return "scale.levels[0].code"


def _level_without_label(c):
    del c["scale"]["levels"][2]["label"]
    return "scale.levels[2].label"


def _duplicate_titles(c):
    c["key_areas"][1]["title"] = "KEY AREA 1"
    return "key_areas"


def _unknown_answer_type(c):
    c["key_areas"][1]["questions"][0]["type"] = "essay"
    return "key_areas[1].questions[0].type"


def _empty_prompt(c):
    c["key_areas"][0]["questions"][2]["prompt"] = "   "
    return "key_areas[0].questions[2].prompt"


def _empty_name(c):
    c["name"] = ""
    return "name"


def _missing_name(c):
    del c["name"]
    return "name"


def _bad_slug(c):
    c["slug"] = "Not A Slug"
    return "slug"


def _empty_title(c):
    c["key_areas"][0]["title"] = ""
    return "key_areas[0].title"


BAD_CONTENT = [
    _unknown_top_level,
    _unknown_question_field,
    _one_option,
    _no_options,
    _repeated_options,
    _options_on_free_text,
    _duplicate_level_codes,
    _one_level,
    _long_level_code,
    _level_without_label,
    _duplicate_titles,
    _unknown_answer_type,
    _empty_prompt,
    _empty_name,
    _missing_name,
    _bad_slug,
    _empty_title,
]


class TestCreateBadInput:
    @pytest.mark.parametrize("spoil", BAD_CONTENT, ids=lambda f: f.__name__.strip("_"))
    def test_is_422_naming_the_field(self, client, spoil):
        content = new_content(name="Spoilt")
        field = spoil(content)
        r = client.post(f"{API}/templates", json=content)
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["code"] == "invalid" and body["detail"]
        assert any(
            f == field or f.startswith((field + ".", field + "[")) for f in error_fields(r)
        ), (
            field,
            body["errors"],
        )
        assert all(e["message"] for e in body["errors"])

    @pytest.mark.parametrize(
        "body",
        [b"not json", b"[1, 2]", b"null", b'{"name": 5}', b'{"name": "x", "key_areas": "none"}'],
    )
    def test_malformed_body_is_422(self, client, body):
        r = client.post(
            f"{API}/templates", content=body, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 422, r.text
        assert r.json()["detail"]

    @pytest.mark.parametrize(
        ("place", "field"),
        [
            (("name",), "name"),
            (("key_areas", 0, "questions", 0, "prompt"), "key_areas[0].questions[0].prompt"),
        ],
        ids=["name", "prompt"],
    )
    def test_nul_character_is_422_on_every_database(self, client, place, field):
        # PostgreSQL cannot store NUL in text, so it must be refused as input (the
        # same on SQLite), never reach the database and come back as a 500.
        content = new_content(name="Nul check")
        target = content
        for step in place[:-1]:
            target = target[step]
        target[place[-1]] = "Before\x00after"
        r = client.post(f"{API}/templates", json=content)
        assert r.status_code == 422, r.text
        assert field in error_fields(r)

    def test_nothing_is_created(self, client):
        total = client.get(f"{API}/templates").json()["total"]
        content = new_content(name="Never made")
        _duplicate_level_codes(content)
        assert client.post(f"{API}/templates", json=content).status_code == 422
        assert client.get(f"{API}/templates").json()["total"] == total


@pytest.fixture
def draft(client) -> dict:
    """A draft with three key areas, each with three questions."""
    return create_draft(client, key_areas=3)


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


class TestAddQuestion:
    def test_added_last_by_default(self, client, draft):
        area = draft["key_areas"][0]
        r = client.post(
            f"{API}/key-areas/{area['id']}/questions",
            json={"prompt": "How many visits?", "type": "number", "required": False},
        )
        assert r.status_code == 201, r.text
        questions = get_version(client, draft["id"])["key_areas"][0]["questions"]
        assert [q["prompt"] for q in questions][-1] == "How many visits?"
        assert positions(questions) == [0, 1, 2, 3]
        assert (questions[3]["type"], questions[3]["required"]) == ("number", False)

    def test_inserted_at_position(self, client, draft):
        area = draft["key_areas"][2]
        r = client.post(
            f"{API}/key-areas/{area['id']}/questions",
            json={
                "prompt": "Who attended?",
                "type": "single_choice",
                "options": ["Police", "Health", "Social care"],
                "guidance": "Minimum three agencies",
                "position": 1,
            },
        )
        assert r.status_code == 201, r.text
        questions = r.json()["key_areas"][2]["questions"]
        assert [q["prompt"] for q in questions] == [
            "Was practice in area 3 timely?",
            "Who attended?",
            "What did the child say?",
            "Date of the meeting",
        ]
        assert positions(questions) == [0, 1, 2, 3]
        assert questions[1]["options"] == ["Police", "Health", "Social care"]
        assert questions[1]["guidance"] == "Minimum three agencies"
        # Other key areas are untouched.
        assert r.json()["key_areas"][0] == draft["key_areas"][0]

    @pytest.mark.parametrize(
        "body",
        [
            {"prompt": "Which?", "type": "single_choice"},
            {"prompt": "Which?", "type": "single_choice", "options": ["Only"]},
            {"prompt": "Notes", "type": "free_text", "options": ["A", "B"]},
            {"prompt": "", "type": "free_text"},
            {"prompt": "Notes", "type": "essay"},
            {"prompt": "Notes", "type": "free_text", "position": -2},
        ],
        ids=[
            "choice no options",
            "choice one option",
            "options on free text",
            "no prompt",
            "unknown type",
            "negative position",
        ],
    )
    def test_bad_question_is_422(self, client, draft, body):
        area = draft["key_areas"][0]
        r = client.post(f"{API}/key-areas/{area['id']}/questions", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["errors"]
        assert get_version(client, draft["id"]) == draft


class TestUpdateQuestion:
    def test_prompt_guidance_and_required_change(self, client, draft):
        q = draft["key_areas"][0]["questions"][0]
        r = client.patch(
            f"{API}/questions/{q['id']}",
            json={"prompt": "Was the referral timely?", "guidance": "Same day", "required": False},
        )
        assert r.status_code == 200, r.text
        changed = get_version(client, draft["id"])["key_areas"][0]["questions"][0]
        assert changed == {
            **q,
            "prompt": "Was the referral timely?",
            "guidance": "Same day",
            "required": False,
        }

    def test_change_type_to_single_choice_without_options_is_422(self, client, draft):
        q = draft["key_areas"][0]["questions"][1]
        r = client.patch(f"{API}/questions/{q['id']}", json={"type": "single_choice"})
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "invalid" and r.json()["errors"]
        assert get_version(client, draft["id"]) == draft

    def test_change_type_to_single_choice_with_options(self, client, draft):
        q = draft["key_areas"][0]["questions"][1]
        r = client.patch(
            f"{API}/questions/{q['id']}", json={"type": "single_choice", "options": ["Yes", "No"]}
        )
        assert r.status_code == 200, r.text
        changed = r.json()["key_areas"][0]["questions"][1]
        assert (changed["type"], changed["options"]) == ("single_choice", ["Yes", "No"])

    def test_change_away_from_single_choice_drops_the_options(self, client, draft):
        q = draft["key_areas"][0]["questions"][1]
        client.patch(
            f"{API}/questions/{q['id']}", json={"type": "single_choice", "options": ["Yes", "No"]}
        )
        r = client.patch(f"{API}/questions/{q['id']}", json={"type": "date"})
        assert r.status_code == 200, r.text
        changed = get_version(client, draft["id"])["key_areas"][0]["questions"][1]
        assert (changed["type"], changed["options"]) == ("date", [])

    def test_rewording_a_single_choice_question_keeps_its_options(self, client, draft):
        q = draft["key_areas"][1]["questions"][0]
        client.patch(
            f"{API}/questions/{q['id']}",
            json={"type": "single_choice", "options": ["Same day", "Within 3 days", "Later"]},
        )
        r = client.patch(f"{API}/questions/{q['id']}", json={"prompt": "When was it held?"})
        assert r.status_code == 200, r.text
        changed = get_version(client, draft["id"])["key_areas"][1]["questions"][0]
        assert changed["prompt"] == "When was it held?"
        assert changed["options"] == ["Same day", "Within 3 days", "Later"]

    def test_options_on_a_free_text_question_are_422(self, client, draft):
        q = draft["key_areas"][0]["questions"][1]
        r = client.patch(f"{API}/questions/{q['id']}", json={"options": ["A", "B"]})
        assert r.status_code == 422, r.text
        assert get_version(client, draft["id"]) == draft

    def test_single_choice_options_cannot_be_cut_below_two(self, client, draft):
        q = draft["key_areas"][0]["questions"][1]
        client.patch(
            f"{API}/questions/{q['id']}", json={"type": "single_choice", "options": ["A", "B"]}
        )
        before = get_version(client, draft["id"])
        r = client.patch(f"{API}/questions/{q['id']}", json={"options": ["A"]})
        assert r.status_code == 422, r.text
        assert get_version(client, draft["id"]) == before

    @pytest.mark.parametrize(
        ("index", "position", "expected"),
        [(0, 2, [1, 2, 0]), (2, 0, [2, 0, 1]), (1, 9, [0, 2, 1])],
    )
    def test_move_renumbers_positions(self, client, draft, index, position, expected):
        questions = draft["key_areas"][1]["questions"]
        r = client.patch(f"{API}/questions/{questions[index]['id']}", json={"position": position})
        assert r.status_code == 200, r.text
        moved = get_version(client, draft["id"])["key_areas"][1]["questions"]
        assert [q["id"] for q in moved] == [questions[i]["id"] for i in expected]
        assert positions(moved) == [0, 1, 2]

    def test_unknown_field_is_422(self, client, draft):
        q = draft["key_areas"][0]["questions"][0]
        r = client.patch(f"{API}/questions/{q['id']}", json={"answer": "yes"})
        assert r.status_code == 422 and error_fields(r) == ["answer"]


class TestDeleteQuestion:
    def test_removed_and_positions_renumbered(self, client, draft):
        questions = draft["key_areas"][2]["questions"]
        r = client.delete(f"{API}/questions/{questions[0]['id']}")
        assert r.status_code == 200, r.text
        left = get_version(client, draft["id"])["key_areas"][2]["questions"]
        assert [q["id"] for q in left] == [questions[1]["id"], questions[2]["id"]]
        assert positions(left) == [0, 1]
        assert client.delete(f"{API}/questions/{questions[0]['id']}").status_code == 404


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


class TestPublish:
    def test_complete_draft_is_published_with_published_at(self, client, draft):
        r = client.post(f"{API}/template-versions/{draft['id']}/publish")
        assert r.status_code == 200, r.text
        v = r.json()
        assert v["status"] == "published" and v["published_at"] is not None
        assert v["published_at"] >= draft["created_at"]
        again = get_version(client, draft["id"])
        assert again["status"] == "published" and again["published_at"] == v["published_at"]
        assert comparable(again) == comparable(draft)

    def test_draft_without_key_areas_is_422(self, client):
        v = create_draft(client, {**new_content(), "key_areas": []})
        r = client.post(f"{API}/template-versions/{v['id']}/publish")
        assert r.status_code == 422
        assert error_fields(r) == ["key_areas"]
        assert get_version(client, v["id"])["status"] == "draft"

    def test_key_area_without_questions_is_422_naming_it(self, client):
        content = new_content(key_areas=3)
        content["key_areas"][1]["questions"] = []
        v = create_draft(client, content)
        r = client.post(f"{API}/template-versions/{v['id']}/publish")
        assert r.status_code == 422
        assert error_fields(r) == ["key_areas[1].questions"]
        assert "Key area 2" in r.json()["errors"][0]["message"]

    def test_graded_template_without_scale_is_422(self, client):
        v = create_draft(client, {**new_content(), "scale": None})
        r = client.post(f"{API}/template-versions/{v['id']}/publish")
        assert r.status_code == 422 and error_fields(r) == ["scale"]

    def test_graded_key_area_needs_a_scale_even_without_overall_grade(self, client):
        content = {**new_content(), "scale": None, "overall_grade": False}
        content["key_areas"][0]["graded"] = False
        v = create_draft(client, content)
        r = client.post(f"{API}/template-versions/{v['id']}/publish")
        assert r.status_code == 422 and error_fields(r) == ["scale"]

    def test_every_problem_is_listed(self, client):
        content = {**new_content(key_areas=3), "scale": None}
        content["key_areas"][0]["questions"] = []
        content["key_areas"][2]["questions"] = []
        v = create_draft(client, content)
        r = client.post(f"{API}/template-versions/{v['id']}/publish")
        assert r.status_code == 422
        body = r.json()
        assert body["code"] == "invalid" and "not ready" in body["detail"]
        assert error_fields(r) == ["key_areas[0].questions", "key_areas[2].questions", "scale"]

    def test_empty_graded_draft_lists_key_areas_and_scale(self, client):
        v = create_draft(client, {"name": "Empty"})
        r = client.post(f"{API}/template-versions/{v['id']}/publish")
        assert r.status_code == 422
        assert set(error_fields(r)) == {"key_areas", "scale"}

    def test_ungraded_template_needs_no_scale(self, client):
        content = {**new_content(), "scale": None, "overall_grade": False}
        for area in content["key_areas"]:
            area["graded"] = False
        v = create_draft(client, content)
        assert publish(client, v["id"])["status"] == "published"

    def test_fixing_the_problems_lets_it_publish(self, client):
        v = create_draft(client, {**new_content(key_areas=1), "scale": None})
        assert client.post(f"{API}/template-versions/{v['id']}/publish").status_code == 422
        client.put(f"{API}/template-versions/{v['id']}/scale", json=RAG)
        assert publish(client, v["id"])["status"] == "published"

    def test_publishing_twice_is_409(self, client, draft):
        first = publish(client, draft["id"])
        r = client.post(f"{API}/template-versions/{draft['id']}/publish")
        assert r.status_code == 409 and r.json()["code"] == "wrong_state"
        assert get_version(client, draft["id"])["published_at"] == first["published_at"]


def _frozen_requests(v: dict) -> dict[str, tuple[str, str, dict | None]]:
    area = v["key_areas"][0]
    question = area["questions"][0]
    return {
        "patch version": ("PATCH", f"/template-versions/{v['id']}", {"theme": "Changed"}),
        "replace scale": ("PUT", f"/template-versions/{v['id']}/scale", RAG),
        "add key area": ("POST", f"/template-versions/{v['id']}/key-areas", {"title": "New"}),
        "rename key area": ("PATCH", f"/key-areas/{area['id']}", {"title": "Renamed"}),
        "move key area": ("PATCH", f"/key-areas/{area['id']}", {"position": 1}),
        "ungrade key area": ("PATCH", f"/key-areas/{area['id']}", {"graded": False}),
        "delete key area": ("DELETE", f"/key-areas/{area['id']}", None),
        "add question": (
            "POST",
            f"/key-areas/{area['id']}/questions",
            {"prompt": "New?", "type": "free_text"},
        ),
        "reword question": ("PATCH", f"/questions/{question['id']}", {"prompt": "Reworded?"}),
        "move question": ("PATCH", f"/questions/{question['id']}", {"position": 2}),
        "delete question": ("DELETE", f"/questions/{question['id']}", None),
        "publish again": ("POST", f"/template-versions/{v['id']}/publish", None),
    }


FROZEN = [
    "patch version",
    "replace scale",
    "add key area",
    "rename key area",
    "move key area",
    "ungrade key area",
    "delete key area",
    "add question",
    "reword question",
    "move question",
    "delete question",
    "publish again",
]


class TestPublishedIsFrozen:
    @pytest.mark.parametrize("edit", FROZEN)
    def test_edit_is_409_wrong_state_and_changes_nothing(self, client, draft, edit):
        published = publish(client, draft["id"])
        method, path, body = _frozen_requests(published)[edit]
        r = client.request(method, API + path, json=body)
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "wrong_state"
        assert "new version" in r.json()["detail"]
        assert get_version(client, draft["id"]) == published

    @pytest.mark.parametrize("edit", ["patch version", "rename key area", "delete question"])
    def test_retired_version_is_frozen_too(self, client, draft, edit):
        publish(client, draft["id"])
        retired = client.post(f"{API}/template-versions/{draft['id']}/retire").json()
        method, path, body = _frozen_requests(retired)[edit]
        r = client.request(method, API + path, json=body)
        assert r.status_code == 409 and r.json()["code"] == "wrong_state"
        assert get_version(client, draft["id"]) == retired

    def test_service_refuses_edits_of_a_published_version(self, db):
        version = make_template(db)
        with pytest.raises(StateError):
            service.update_version(db, version=version, changes={"theme": "Changed"})
        with pytest.raises(StateError):
            service.delete_key_area(db, version=version, key_area=version.key_areas[0])
        db.expire_all()
        fresh = service.get_version(db, version_id=version.id)
        assert fresh.theme == "Testing" and len(fresh.key_areas) == 2


@pytest.fixture
def published(client) -> dict:
    v = create_draft(client, key_areas=2)
    return publish(client, v["id"])


class TestNewVersion:
    def test_copy_is_draft_2_with_the_same_content_and_new_ids(self, client, published):
        r = client.post(f"{API}/template-versions/{published['id']}/new-version")
        assert r.status_code == 201, r.text
        v2 = r.json()
        assert (v2["number"], v2["status"]) == (2, "draft")
        assert v2["family_id"] == published["family_id"]
        assert v2["published_at"] is None
        assert comparable(v2) == comparable(published)
        assert all_ids(v2).isdisjoint(all_ids(published))

    def test_second_call_while_a_draft_exists_is_409(self, client, published):
        v2 = client.post(f"{API}/template-versions/{published['id']}/new-version").json()
        r = client.post(f"{API}/template-versions/{published['id']}/new-version")
        assert r.status_code == 409
        assert r.json()["template_version_id"] == v2["id"]
        versions = client.get(f"{API}/templates/{published['family_id']}/versions").json()
        assert [s["number"] for s in versions["versions"]] == [1, 2]

    def test_new_version_of_a_draft_is_409(self, client, draft):
        r = client.post(f"{API}/template-versions/{draft['id']}/new-version")
        assert r.status_code == 409 and r.json()["code"] == "wrong_state"

    def test_editing_version_2_leaves_version_1_unchanged(self, client, published):
        v2 = client.post(f"{API}/template-versions/{published['id']}/new-version").json()
        first_area, second_area = v2["key_areas"]
        edits = [
            (
                "PATCH",
                f"/template-versions/{v2['id']}",
                {"theme": "Changed", "overall_grade": False},
            ),
            ("PUT", f"/template-versions/{v2['id']}/scale", RAG),
            ("PATCH", f"/key-areas/{first_area['id']}", {"title": "Renamed", "position": 1}),
            ("DELETE", f"/questions/{first_area['questions'][0]['id']}", None),
            ("PATCH", f"/questions/{first_area['questions'][1]['id']}", {"prompt": "Reworded"}),
            (
                "POST",
                f"/key-areas/{second_area['id']}/questions",
                {"prompt": "Extra", "type": "number"},
            ),
            ("POST", f"/template-versions/{v2['id']}/key-areas", {"title": "Added", "position": 0}),
        ]
        for method, path, body in edits:
            r = client.request(method, API + path, json=body)
            assert r.status_code in (200, 201), (path, r.text)
        edited = get_version(client, v2["id"])
        assert titles(edited) == ["Added", "Key area 2", "Renamed"]
        assert edited["scale"]["name"] == "RAG rating"
        assert get_version(client, published["id"]) == published

    def test_deleting_from_version_2_leaves_version_1_unchanged(self, client, published):
        v2 = client.post(f"{API}/template-versions/{published['id']}/new-version").json()
        for area in v2["key_areas"]:
            assert client.delete(f"{API}/key-areas/{area['id']}").status_code == 200
        assert get_version(client, v2["id"])["key_areas"] == []
        assert get_version(client, published["id"]) == published

    def test_family_lists_both_versions(self, client, published):
        v2 = client.post(f"{API}/template-versions/{published['id']}/new-version").json()
        r = client.get(f"{API}/templates/{published['family_id']}/versions")
        assert r.status_code == 200
        family = r.json()
        assert family["id"] == published["family_id"]
        assert [(s["id"], s["number"], s["status"]) for s in family["versions"]] == [
            (published["id"], 1, "published"),
            (v2["id"], 2, "draft"),
        ]
        assert family["versions"][0]["published_at"] == published["published_at"]

    def test_publishing_version_2_allows_version_3(self, client, published):
        v2 = client.post(f"{API}/template-versions/{published['id']}/new-version").json()
        publish(client, v2["id"])
        r = client.post(f"{API}/template-versions/{v2['id']}/new-version")
        assert r.status_code == 201 and r.json()["number"] == 3
        # Version 1 is still published alongside version 2.
        assert get_version(client, published["id"])["status"] == "published"

    def test_retired_version_can_be_copied(self, client, published):
        client.post(f"{API}/template-versions/{published['id']}/retire")
        r = client.post(f"{API}/template-versions/{published['id']}/new-version")
        assert r.status_code == 201, r.text
        assert r.json()["number"] == 2 and comparable(r.json()) == comparable(published)


class TestRetire:
    def test_published_version_is_retired(self, client, published):
        r = client.post(f"{API}/template-versions/{published['id']}/retire")
        assert r.status_code == 200, r.text
        v = r.json()
        assert v["status"] == "retired" and v["retired_at"] is not None
        assert v["published_at"] == published["published_at"]
        assert comparable(v) == comparable(published)
        assert get_version(client, published["id"])["status"] == "retired"

    def test_draft_cannot_be_retired(self, client, draft):
        r = client.post(f"{API}/template-versions/{draft['id']}/retire")
        assert r.status_code == 409 and r.json()["code"] == "wrong_state"
        assert get_version(client, draft["id"]) == draft

    def test_retired_version_cannot_be_retired_again(self, client, published):
        first = client.post(f"{API}/template-versions/{published['id']}/retire").json()
        r = client.post(f"{API}/template-versions/{published['id']}/retire")
        assert r.status_code == 409 and r.json()["code"] == "wrong_state"
        assert get_version(client, published["id"])["retired_at"] == first["retired_at"]

    def test_retired_version_cannot_be_published_again(self, client, published):
        client.post(f"{API}/template-versions/{published['id']}/retire")
        r = client.post(f"{API}/template-versions/{published['id']}/publish")
        assert r.status_code == 409
        assert get_version(client, published["id"])["status"] == "retired"


class TestListTemplates:
    @pytest.fixture
    def families(self, client) -> dict[str, dict]:
        """Draft-only 'Alpha', published 'Bravo', 'Charlie' retired with a draft v2."""
        alpha = create_draft(client, name="Alpha audit")
        bravo = publish(client, create_draft(client, name="Bravo audit")["id"])
        charlie = publish(client, create_draft(client, name="Charlie audit")["id"])
        client.post(f"{API}/template-versions/{charlie['id']}/retire")
        client.post(f"{API}/template-versions/{charlie['id']}/new-version")
        return {"alpha": alpha, "bravo": bravo, "charlie": charlie}

    def names(self, response) -> list[str]:
        return [item["name"] for item in response.json()["items"]]

    def test_page_envelope_with_total(self, client, families):
        r = client.get(f"{API}/templates")
        assert r.status_code == 200
        body = r.json()
        assert set(body) == {"items", "total", "page", "per_page"}
        assert (body["total"], body["page"], body["per_page"]) == (3, 1, 50)
        assert self.names(r) == ["Alpha audit", "Bravo audit", "Charlie audit"]
        charlie = body["items"][2]
        assert [(s["number"], s["status"]) for s in charlie["versions"]] == [
            (1, "retired"),
            (2, "draft"),
        ]

    def test_pages_split_the_list_and_keep_the_total(self, client, families):
        first = client.get(f"{API}/templates", params={"per_page": 2})
        second = client.get(f"{API}/templates", params={"per_page": 2, "page": 2})
        third = client.get(f"{API}/templates", params={"per_page": 2, "page": 3})
        assert self.names(first) == ["Alpha audit", "Bravo audit"]
        assert self.names(second) == ["Charlie audit"]
        assert self.names(third) == []
        assert {r.json()["total"] for r in (first, second, third)} == {3}
        assert (second.json()["page"], second.json()["per_page"]) == (2, 2)

    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            ("published", ["Bravo audit"]),
            ("draft", ["Alpha audit", "Charlie audit"]),
            ("retired", ["Charlie audit"]),
        ],
    )
    def test_status_filter(self, client, families, status, expected):
        r = client.get(f"{API}/templates", params={"status": status})
        assert r.status_code == 200
        assert self.names(r) == expected and r.json()["total"] == len(expected)

    def test_status_filter_counts_families_not_versions(self, client, families):
        v2 = client.post(f"{API}/template-versions/{families['bravo']['id']}/new-version").json()
        publish(client, v2["id"])
        r = client.get(f"{API}/templates", params={"status": "published"})
        assert self.names(r) == ["Bravo audit"] and r.json()["total"] == 1

    @pytest.mark.parametrize(
        "params",
        [{"status": "archived"}, {"page": 0}, {"per_page": 0}, {"per_page": 201}, {"page": "x"}],
    )
    def test_bad_query_is_422(self, client, params):
        r = client.get(f"{API}/templates", params=params)
        assert r.status_code == 422, r.text
        assert r.json()["detail"]


MISSING = 987654


class TestUnknownIds:
    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("GET", f"/templates/{MISSING}", None),
            ("GET", f"/templates/{MISSING}/versions", None),
            ("GET", f"/template-versions/{MISSING}", None),
            ("GET", f"/template-versions/{MISSING}/export", None),
            ("PATCH", f"/template-versions/{MISSING}", {"theme": "x"}),
            ("PUT", f"/template-versions/{MISSING}/scale", RAG),
            ("POST", f"/template-versions/{MISSING}/publish", None),
            ("POST", f"/template-versions/{MISSING}/retire", None),
            ("POST", f"/template-versions/{MISSING}/new-version", None),
            ("POST", f"/template-versions/{MISSING}/key-areas", {"title": "x"}),
            ("PATCH", f"/key-areas/{MISSING}", {"title": "x"}),
            ("DELETE", f"/key-areas/{MISSING}", None),
            ("POST", f"/key-areas/{MISSING}/questions", {"prompt": "x", "type": "date"}),
            ("PATCH", f"/questions/{MISSING}", {"prompt": "x"}),
            ("DELETE", f"/questions/{MISSING}", None),
        ],
    )
    def test_is_404_json_with_detail(self, client, method, path, body):
        r = client.request(method, API + path, json=body)
        assert r.status_code == 404, r.text
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()["code"] == "not_found"
        assert str(MISSING) in r.json()["detail"]

    def test_unknown_route_is_404_json(self, client):
        r = client.get(f"{API}/template-versions/1/nonsense")
        assert r.status_code == 404 and r.json()["detail"]

    def test_non_numeric_id_is_422(self, client):
        r = client.get(f"{API}/template-versions/abc")
        assert r.status_code == 422 and r.json()["detail"]


class TestServicePublicationProblems:
    def test_lists_each_problem_with_its_place(self, db):
        content = TemplateContent.model_validate(
            {
                "name": "Service check",
                "key_areas": [
                    {"title": "Referral", "questions": []},
                    {
                        "title": "Strategy",
                        "questions": [{"prompt": "Held?", "type": "yes_partly_no"}],
                    },
                    {"title": "Conference"},
                ],
            }
        )
        version = service.create_draft(db, content=content)
        problems = service.publication_problems(version)
        assert [p.field for p in problems] == [
            "key_areas[0].questions",
            "key_areas[2].questions",
            "scale",
        ]
        with pytest.raises(InvalidInput) as caught:
            service.publish(db, version=version)
        assert caught.value.fields == problems
        assert version.status == TemplateStatus.DRAFT

    def test_publish_then_new_version_numbers_and_statuses(self, db):
        v1 = make_template(db)
        assert v1.status == TemplateStatus.PUBLISHED and v1.published_at is not None
        v2 = service.start_new_version(db, version=v1)
        assert (v2.number, v2.status, v2.family_id) == (2, TemplateStatus.DRAFT, v1.family_id)
        assert service.content_of(v2) == service.content_of(v1)
        numbers = db.scalars(
            select(TemplateVersion.number)
            .where(TemplateVersion.family_id == v1.family_id)
            .order_by(TemplateVersion.number)
        ).all()
        assert numbers == [1, 2]
