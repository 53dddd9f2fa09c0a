"""Creating a template draft over the JSON API: the content kept, duplicate names, and
bad input refused field by field."""

from __future__ import annotations

import pytest
import yaml

from app.audit_templates.schemas import FILE_FORMAT
from tests.helpers.audit_templates import (
    API,
    YAML,
    create_draft,
    error_fields,
    new_content,
    positions,
    publish,
    titles,
)


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

    def test_the_answer_names_the_template_apart_from_the_version(self, client):
        # A template with two versions, then another: version and template ids part.
        first = publish(client, create_draft(client)["id"])
        client.post(f"{API}/template-versions/{first['id']}/new-version")
        v = create_draft(client)
        assert v["id"] != v["template_id"]
        r = client.get(f"{API}/templates/{v['template_id']}")
        assert r.status_code == 200, r.text
        assert [s["id"] for s in r.json()["versions"]] == [v["id"]]
        assert (
            client.get(f"{API}/template-versions/{v['id']}").json()["template_id"]
            == (v["template_id"])
        )
        # The earlier name stays, declared deprecated.
        assert v["family_id"] == v["template_id"]
        imported = client.post(
            f"{API}/templates/import",
            content=yaml.safe_dump({"format": FILE_FORMAT, **new_content(name="Imported")}),
            headers=YAML,
        ).json()
        assert client.get(f"{API}/templates/{imported['template_id']}").json()["name"] == (
            "Imported"
        )

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
