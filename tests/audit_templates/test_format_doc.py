"""docs/template-format.md and the importer agree: every example in the doc imports, or
is refused with the message it states; the published JSON Schema is the importer's
own; a template using every feature exports back exactly as written; and each problem
names its line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema_rs
import pytest

from app.audit_templates import files, sheets
from app.errors import InvalidInput
from tests.helpers.audit_templates import API, import_yaml

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "template-format.md"
SCHEMA = ROOT / "docs" / "template-format.schema.json"
EVERY_FEATURE = Path(__file__).parent / "files" / "every-feature.yaml"
REFUSED = re.compile(r"^# refused: (.+)$")


def doc_examples() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def messages(exc: InvalidInput) -> list[str]:
    return [exc.message, *(f.message for f in exc.fields)]


def published_schema():
    return jsonschema_rs.validator_for(json.loads(SCHEMA.read_text(encoding="utf-8")))


def without_comments(text: str) -> str:
    return "".join(line for line in text.splitlines(True) if not line.startswith("#"))


class TestTheDocsExamples:
    def test_the_doc_has_examples_of_both_kinds(self):
        examples = doc_examples()
        refused = [e for e in examples if REFUSED.match(e.splitlines()[0])]
        assert len(examples) >= 12 and len(refused) >= 6

    @pytest.mark.parametrize("index", range(len(doc_examples())))
    def test_each_example_does_what_the_doc_says(self, db, index):
        example = doc_examples()[index]
        refused = REFUSED.match(example.splitlines()[0])
        if refused:
            with pytest.raises(InvalidInput) as caught:
                files.import_text(db, text=example)
            assert any(refused.group(1) in m for m in messages(caught.value)), messages(
                caught.value
            )
        else:
            version = files.import_text(db, text=example)
            assert version.key_areas
            # An example that imports also meets the published schema.
            assert published_schema().is_valid(files._plain(files._yaml().load(example)))


class TestTheJsonSchema:
    def test_the_published_schema_is_the_importers_own(self):
        # Regenerate with: audit-tools templates schema > docs/template-format.schema.json
        assert json.loads(SCHEMA.read_text(encoding="utf-8")) == files.json_schema()

    @pytest.mark.parametrize("path", [EVERY_FEATURE, *files.library_files()], ids=lambda p: p.stem)
    def test_shipped_and_test_templates_meet_it(self, path):
        data = files._plain(files._yaml().load(path.read_text(encoding="utf-8")))
        assert published_schema().is_valid(data)

    def test_it_refuses_what_the_importer_refuses(self):
        data = files._plain(files._yaml().load(EVERY_FEATURE.read_text(encoding="utf-8")))
        data["key_areas"][0]["questions"][0]["type"] = "yes_or_no"
        assert not published_schema().is_valid(data)


class TestEveryFeatureRoundTrip:
    def test_imports_and_exports_back_exactly_as_written(self, client):
        text = EVERY_FEATURE.read_text(encoding="utf-8")
        r = import_yaml(client, text)
        assert r.status_code == 201, r.text
        version = r.json()
        exported = client.get(f"{API}/template-versions/{version['id']}/export").text
        assert without_comments(exported) == without_comments(text)

    def test_through_a_workbook_and_back_exactly_as_written(self, client):
        # YAML in, a workbook out; the workbook in (as the next version), YAML out: the
        # same file, so a workbook says everything a YAML file does.
        text = EVERY_FEATURE.read_text(encoding="utf-8")
        first = import_yaml(client, text).json()
        assert client.post(f"{API}/template-versions/{first['id']}/publish").status_code == 200
        workbook = client.get(f"{API}/template-versions/{first['id']}/export?format=xlsx")
        assert workbook.status_code == 200 and workbook.content.startswith(b"PK")
        r = client.post(
            f"{API}/templates/import-workbook",
            content=workbook.content,
            headers={"Content-Type": sheets.MEDIA_TYPE},
        )
        assert r.status_code == 201, r.text
        second = r.json()
        assert (second["template_id"], second["number"]) == (first["template_id"], 2)
        exported = client.get(f"{API}/template-versions/{second['id']}/export").text
        assert without_comments(exported) == without_comments(text)

    def test_every_rule_arrives(self, client):
        version = import_yaml(client, EVERY_FEATURE.read_text(encoding="utf-8")).json()
        risk, assessment = version["key_areas"]
        level, marac, education, _ = risk["questions"]
        attended, days, completed = assessment["questions"]
        assert (level["key"], level["not_applicable"]) == ("risk_level", "Not assessed")
        assert marac["condition"] == {"question": "risk_level", "answers": ["High"]}
        assert (marac["type"], education["not_applicable"]) == ("yes_no", "Not appropriate")
        assert (attended["type"], attended["minimum"], attended["maximum"]) == ("integer", 1, 20)
        assert (days["minimum"], days["maximum"]) == (0, 62.5)
        assert completed["not_in_future"] and completed["within_audit_period"]
        assert [q["prompt"] for q in version["case_questions"]] == [
            "What difference has the multi-agency response made for this child?",
            "Is the child safer now?",
        ]
        assert version["evidence_box_list"] == [
            {"box": "went_well", "label": "Strengths in your agency's practice", "required": True},
            {"box": "impact_on_child", "label": "The impact on the child", "required": False},
        ]
        assert not assessment["graded"] and version["scale"]["name"] == "Red, amber, green"


class TestProblemsNameTheirLine:
    def test_every_problem_at_once_each_with_its_line(self):
        text = EVERY_FEATURE.read_text(encoding="utf-8")
        lines = text.splitlines()
        broken = text.replace("type: yes_no\n", "type: yes_or_no\n", 1).replace(
            "  graded: false\n", "  graded: sometimes\n  colour: blue\n", 1
        )
        with pytest.raises(InvalidInput) as caught:
            files.parse(broken)
        found = {f.field: f.message for f in caught.value.fields}
        type_line = lines.index("    type: yes_no") + 1
        graded_line = lines.index("  graded: false") + 1
        assert found == {
            "key_areas[0].questions[1].type": f"Line {type_line}: Use one of 'free_text', "
            "'yes_no', 'yes_partly_no', 'single_choice', 'date', 'integer' or 'number'",
            "key_areas[1].graded": f"Line {graded_line}: Must be true or false",
            "key_areas[1].colour": f"Line {graded_line + 1}: Remove 'colour' or correct its "
            "spelling: a template has no such key here (see docs/template-format.md)",
        }
        assert caught.value.message == "The template file has 3 problems."

    def test_a_condition_problem_names_its_line(self):
        text = EVERY_FEATURE.read_text(encoding="utf-8")
        broken = text.replace("      - High\n", "      - Very high\n", 1)
        with pytest.raises(InvalidInput) as caught:
            files.parse(broken)
        [problem] = caught.value.fields
        line = text.splitlines().index("      - High") + 1
        assert problem.field == "key_areas[0].questions[1].condition.answers[0]"
        assert problem.message.startswith(f"Line {line}: 'Very high' is not an answer")

    def test_yes_and_no_are_text_and_a_repeated_key_names_its_line(self):
        content = files.parse(
            "format: case-audit-template/1\nname: T\nkey_areas:\n- title: A\n  questions:\n"
            "  - {prompt: Who?, type: single_choice, options: [Yes, No, on, off]}\n"
        )
        assert content.key_areas[0].questions[0].options == ["Yes", "No", "on", "off"]
        with pytest.raises(InvalidInput) as caught:
            files.parse("format: case-audit-template/1\nname: T\nname: U\n")
        assert "line 3" in caught.value.message
