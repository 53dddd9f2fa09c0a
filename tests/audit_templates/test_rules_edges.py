"""The edges of a template's rules that a review found: limits kept by every way in,
answers a "not applicable" label must not take over, the section of questions about
the whole case kept out of the key-area routes, YAML that must not give a 500 or tie
up a worker, and exports that read back as written."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from app.audit_templates import files
from app.audit_templates.models import Question
from app.errors import InvalidInput
from tests.helpers.audit_templates import API, create_draft, error_fields, new_content


def question(**rules) -> dict:
    return {"prompt": "Was the child seen?", "type": "yes_no", **rules}


class TestLimitsKeptByEveryWayIn:
    def test_at_most_thirty_questions_about_the_whole_case(self, client):
        content = new_content(name="Thirty")
        content["case_questions"] = [question(prompt=f"Question {n}?") for n in range(30)]
        version = create_draft(client, content)
        r = client.post(f"{API}/template-versions/{version['id']}/case-questions", json=question())
        assert r.status_code == 422 and error_fields(r) == ["questions"]
        # The template still exports and starts a new version.
        assert client.get(f"{API}/template-versions/{version['id']}/export").status_code == 200

    def test_a_box_of_evidence_listed_twice_is_refused_by_patch(self, client):
        version = create_draft(client, name="Boxes twice")
        r = client.patch(
            f"{API}/template-versions/{version['id']}",
            json={"evidence_boxes": [{"box": "went_well"}, {"box": "went_well"}]},
        )
        assert r.status_code == 422 and error_fields(r) == ["evidence_boxes"]

    @pytest.mark.parametrize(
        "rules",
        [
            {"type": "yes_no", "not_applicable": "Yes"},
            {"type": "yes_partly_no", "not_applicable": "partly"},
            {"type": "single_choice", "options": ["Seen", "Not seen"], "not_applicable": "seen"},
            {"type": "single_choice", "options": ["Seen", "not_applicable"]},
            {"type": "integer", "minimum": 1e-60},
            {"type": "integer", "minimum": True},
        ],
    )
    def test_rules_that_would_blur_answers_are_refused(self, client, rules):
        content = new_content(name="Blurred")
        content["key_areas"][0]["questions"] = [question(**rules)]
        r = client.post(f"{API}/templates", json=content)
        assert r.status_code == 422, r.text


class TestTheCaseSectionIsNotAKeyArea:
    def test_the_key_area_routes_do_not_reach_it(self, client, db):
        content = new_content(name="Case section")
        content["case_questions"] = [question()]
        version = create_draft(client, content)
        case_question = version["case_questions"][0]["id"]
        case_id = db.scalar(select(Question.key_area_id).where(Question.id == case_question))
        assert client.delete(f"{API}/key-areas/{case_id}").status_code == 404
        assert client.patch(f"{API}/key-areas/{case_id}", json={"position": 0}).status_code == 404
        assert (
            client.post(f"{API}/key-areas/{case_id}/questions", json=question()).status_code == 404
        )
        # Its questions are changed and removed as any question.
        r = client.patch(f"{API}/questions/{case_question}", json={"required": False})
        assert r.status_code == 200 and not r.json()["case_questions"][0]["required"]
        r = client.delete(f"{API}/questions/{case_question}")
        assert r.status_code == 200 and r.json()["case_questions"] == []


YAML_HEAD = "format: case-audit-template/1\nname: Edges\nkey_areas:\n- title: A\n  questions:\n"


class TestYamlThatMustNotHurt:
    def test_a_merged_key_names_the_mapping_it_is_merged_into(self):
        text = YAML_HEAD + (
            "  - &yn {prompt: P, type: yes_no, required: sometimes}\n  - <<: *yn\n    prompt: Q\n"
        )
        with pytest.raises(InvalidInput) as caught:
            files.parse(text)
        assert [f.message for f in caught.value.fields] == [
            "Line 6: Must be true or false",
            "Line 7: Must be true or false",
        ]

    @pytest.mark.parametrize(
        "text",
        [
            YAML_HEAD + "  - {prompt: P, type: yes_no, required: !!bool sometimes}\n",
            "format: case-audit-template/1\nname: X\ntheme: 2024-02-30\n",
        ],
        ids=["a tag on the wrong value", "a date that does not exist"],
    )
    def test_a_value_the_reader_cannot_make_is_a_clean_error(self, text):
        with pytest.raises(InvalidInput) as caught:
            files.parse(text)
        assert "a value could not be read" in caught.value.message

    def test_aliases_that_stand_for_too_much_are_refused_quickly(self):
        levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
        for n, name in enumerate("bcdefgh"):
            previous = "abcdefgh"[n]
            levels.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
        started = time.perf_counter()
        with pytest.raises(InvalidInput) as caught:
            files.parse("\n".join(levels) + "\n")
        assert "too many to be a template" in caught.value.message
        assert time.perf_counter() - started < 5


class TestExportsReadBackAsWritten:
    def test_text_that_yaml_1_2_reads_as_a_number_is_quoted(self, client):
        content = new_content(name="Months")
        content["key_areas"][0]["questions"] = [
            {
                "prompt": "Which month?",
                "type": "single_choice",
                "options": ["07", "08", "09", "1e3", "0o7", "true", "~"],
            }
        ]
        version = create_draft(client, content)
        text = client.get(f"{API}/template-versions/{version['id']}/export").text
        back = files.parse(text)
        assert (
            back.key_areas[0].questions[0].options
            == content["key_areas"][0]["questions"][0]["options"]
        )
