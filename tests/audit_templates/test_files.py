"""Template files (docs/template-format.md): import, export, round trip, file errors,
and the templates shipped in app/audit_templates/library."""

from __future__ import annotations

import pytest
import yaml

from app.audit_templates import files, service
from app.audit_templates.models import AnswerType, TemplateStatus
from app.audit_templates.schemas import FILE_FORMAT, TemplateContent
from app.errors import InvalidInput
from tests.helpers.audit_templates import (
    API,
    comparable,
    create_draft,
    get_version,
    import_yaml,
    new_content,
    publish,
)

LIBRARY = files.library_files()
OFSTED_LABELS = ["Outstanding", "Good", "Requires improvement to be good", "Inadequate"]


def library_text(slug: str) -> str:
    return (files.LIBRARY / f"{slug}.yaml").read_text(encoding="utf-8")


def as_file(content: dict) -> str:
    return yaml.safe_dump({"format": FILE_FORMAT, **content}, sort_keys=False)


def export(client, version_id: int) -> str:
    r = client.get(f"{API}/template-versions/{version_id}/export")
    assert r.status_code == 200, r.text
    return r.text


def error_fields(response) -> list[str]:
    return [e["field"] for e in response.json().get("errors", [])]


def total_templates(client) -> int:
    return client.get(f"{API}/templates").json()["total"]


class TestImportLibrary:
    @pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
    def test_each_shipped_file_imports_as_a_draft_and_publishes(self, client, path):
        text = path.read_text(encoding="utf-8")
        r = import_yaml(client, text)
        assert r.status_code == 201, r.text
        v = r.json()
        expected = files.parse(text)
        assert (v["status"], v["number"]) == ("draft", 1)
        assert (v["name"], v["slug"]) == (expected.name, path.stem)
        assert [k["title"] for k in v["key_areas"]] == [k.title for k in expected.key_areas]
        assert [len(k["questions"]) for k in v["key_areas"]] == [
            len(k.questions) for k in expected.key_areas
        ]
        # A questionnaire about an agency, and a family's survey, have no boxes of evidence.
        assert v["evidence_boxes"] is (
            path.stem not in ("learning-assurance-questionnaire", "family-feedback-survey")
        )
        published = publish(client, v["id"])
        assert published["status"] == "published" and published["published_at"]

    def test_import_via_service_makes_a_draft(self, db):
        version = files.import_text(db, text=library_text("family-feedback-survey"))
        assert version.status == TemplateStatus.DRAFT and version.number == 1
        assert service.publish(db, version=version).status == TemplateStatus.PUBLISHED

    def test_import_of_a_small_file_keeps_every_field(self, client):
        content = new_content(name="Small file")
        content["key_areas"][0]["questions"].append(
            {
                "prompt": "How?",
                "type": "single_choice",
                "options": ["Phone", "Email"],
                "guidance": "Line one\nLine two",
            }
        )
        r = import_yaml(client, as_file(content))
        assert r.status_code == 201, r.text
        direct = create_draft(client, {**content, "name": "Small JSON", "slug": "small-file-json"})
        assert {**comparable(r.json()), "name": "", "slug": ""} == {
            **comparable(direct),
            "name": "",
            "slug": "",
        }


class TestExport:
    def test_export_is_yaml_attachment_named_by_slug_and_number(self, client):
        v = create_draft(client, name="Export me")
        r = client.get(f"{API}/template-versions/{v['id']}/export")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/yaml")
        assert r.headers["content-disposition"] == 'attachment; filename="export-me-v1.yaml"'
        assert r.text.startswith("# Export me (version 1)")
        data = yaml.safe_load(r.text)
        assert data["format"] == FILE_FORMAT
        assert list(data)[:3] == ["format", "name", "slug"]

    def test_options_only_on_choice_questions_and_no_scale_key_when_ungraded(self, client):
        r = import_yaml(client, library_text("family-feedback-survey"))
        data = yaml.safe_load(export(client, r.json()["id"]))
        assert "scale" not in data
        assert data["overall_grade"] is False
        assert all("options" not in q for k in data["key_areas"] for q in k["questions"])
        r = import_yaml(client, library_text("voice-of-the-child-send"))
        data = yaml.safe_load(export(client, r.json()["id"]))
        for area in data["key_areas"]:
            for q in area["questions"]:
                assert ("options" in q) == (q["type"] == "single_choice")

    def test_export_parses_back_to_the_same_content(self, db):
        for path in LIBRARY:
            text = path.read_text(encoding="utf-8")
            version = files.import_text(db, text=text)
            assert files.parse(files.export_text(version)) == files.parse(text), path.name


class TestRoundTrip:
    @pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
    def test_export_then_import_is_the_next_version_with_identical_content(self, client, path):
        v1 = publish(client, import_yaml(client, path.read_text(encoding="utf-8")).json()["id"])
        text = export(client, v1["id"])
        r = import_yaml(client, text)
        assert r.status_code == 201, r.text
        v2 = r.json()
        assert (v2["family_id"], v2["number"], v2["status"]) == (v1["family_id"], 2, "draft")
        assert comparable(v2) == comparable(v1)
        assert get_version(client, v1["id"]) == v1
        assert export(client, v2["id"]).replace("(version 2)", "(version 1)") == text

    def test_edited_draft_round_trips(self, client):
        v = create_draft(client, name="Edited")
        area = v["key_areas"][0]
        edits = [
            (
                "PATCH",
                f"/questions/{area['questions'][1]['id']}",
                {"type": "single_choice", "options": ["A: yes", "B - no", "'quoted'"]},
            ),
            (
                "PATCH",
                f"/template-versions/{v['id']}",
                {"description": "Two lines:\nsecond # not a comment", "method": "yes"},
            ),
            (
                "POST",
                f"/template-versions/{v['id']}/key-areas",
                {
                    "title": "null",
                    "position": 0,
                    "questions": [{"prompt": "123", "type": "number"}],
                },
            ),
        ]
        for method, path, body in edits:
            r = client.request(method, API + path, json=body)
            assert r.status_code in (200, 201), r.text
        edited = publish(client, v["id"])
        assert edited["key_areas"][0]["title"] == "null" and edited["method"] == "yes"
        r = import_yaml(client, export(client, v["id"]))
        assert r.status_code == 201, r.text
        assert comparable(r.json()) == comparable(edited)

    def test_name_with_a_line_break_still_round_trips(self, client):
        # The export starts with a comment holding the name: a line break in the
        # name must not push the rest of that comment into the YAML.
        r = client.post(f"{API}/templates", json=new_content(name="Line one\nLine two"))
        if r.status_code == 422:
            return  # refusing a line break in a name is an acceptable rule too
        assert r.status_code == 201, r.text
        v1 = publish(client, r.json()["id"])
        r = import_yaml(client, export(client, v1["id"]))
        assert r.status_code == 201, r.text
        assert comparable(r.json()) == comparable(v1)

    def test_changed_file_becomes_the_next_version_and_leaves_the_old_one(self, client):
        v1 = publish(
            client, import_yaml(client, library_text("family-feedback-survey")).json()["id"]
        )
        data = yaml.safe_load(export(client, v1["id"]))
        data["theme"] = "Family experience, second survey"
        data["key_areas"][0]["questions"].pop()
        r = import_yaml(client, yaml.safe_dump(data, sort_keys=False))
        assert r.status_code == 201, r.text
        v2 = r.json()
        assert (v2["number"], v2["theme"]) == (2, "Family experience, second survey")
        assert len(v2["key_areas"][0]["questions"]) == 5
        assert get_version(client, v1["id"]) == v1

    def test_import_while_a_draft_exists_is_409(self, client):
        text = library_text("identification-of-need-and-risk")
        v1 = import_yaml(client, text).json()
        r = import_yaml(client, text)
        assert r.status_code == 409
        assert r.json()["code"] == "conflict" and r.json()["template_version_id"] == v1["id"]
        publish(client, v1["id"])
        v2 = import_yaml(client, text).json()
        r = import_yaml(client, text)
        assert r.status_code == 409 and r.json()["template_version_id"] == v2["id"]
        family = client.get(f"{API}/templates/{v1['family_id']}/versions").json()
        assert [(s["number"], s["status"]) for s in family["versions"]] == [
            (1, "published"),
            (2, "draft"),
        ]


GOOD = as_file(new_content(name="File errors"))


class TestImportErrors:
    @pytest.mark.parametrize(
        ("text", "line"),
        [
            (f"format: {FILE_FORMAT}\nname: [unclosed\nkey_areas: []\n", 3),
            (f"format: {FILE_FORMAT}\nname: x\n  theme: y\n", 3),
            (f"format: {FILE_FORMAT}\nname: x\nkey_areas:\n\t- title: A\n", 4),
            (f'format: {FILE_FORMAT}\nname: "x\n', 3),
        ],
        ids=["unclosed flow", "bad indent", "tab indent", "unclosed quote"],
    )
    def test_malformed_yaml_is_422_naming_the_line(self, client, text, line):
        r = import_yaml(client, text)
        assert r.status_code == 422, r.text
        assert f"line {line}" in r.json()["detail"]
        assert error_fields(r) == ["file"]

    def test_unreadable_character_is_422_naming_the_line(self, client):
        # A vertical tab, as pasted from Word, is not allowed anywhere in YAML.
        r = import_yaml(client, f"format: {FILE_FORMAT}\nname: Pasted\x0bname\nkey_areas: []\n")
        assert r.status_code == 422, r.text
        assert "line 2" in r.json()["detail"]
        # Letters beyond ASCII before it do not move the line.
        text = f"format: {FILE_FORMAT}\n" + "# Café, Ysgol Gymraeg, Łódź\n" * 20 + "name: a\x0bb\n"
        r = import_yaml(client, text)
        assert r.status_code == 422, r.text
        assert "line 22" in r.json()["detail"], r.json()["detail"]

    @pytest.mark.parametrize(
        "text",
        ["- format: case-audit-template/1\n- name: x\n", "just a sentence\n", "", "42\n", "~\n"],
        ids=["list", "scalar", "empty", "number", "null"],
    )
    def test_top_level_not_a_mapping_is_422(self, client, text):
        r = import_yaml(client, text)
        assert r.status_code == 422, r.text
        assert error_fields(r) == ["file"]
        assert "mapping" in r.json()["detail"]

    def test_misspelt_key_is_422_naming_its_place(self, client):
        text = GOOD.replace("questions:", "qestions:", 1)
        assert "qestions" in text
        r = import_yaml(client, text)
        assert r.status_code == 422, r.text
        assert "key_areas[0].qestions" in error_fields(r)

    def test_misspelt_question_key_is_422_naming_its_place(self, client):
        data = yaml.safe_load(GOOD)
        data["key_areas"][1]["questions"][2]["requird"] = False
        r = import_yaml(client, yaml.safe_dump(data))
        assert r.status_code == 422
        assert error_fields(r) == ["key_areas[1].questions[2].requird"]

    @pytest.mark.parametrize(
        "value", ["case-audit-template/2", "", "case-audit-template"], ids=["v2", "empty", "bare"]
    )
    def test_wrong_format_is_422_on_format(self, client, value):
        r = import_yaml(client, GOOD.replace(f"format: {FILE_FORMAT}", f"format: '{value}'"))
        assert r.status_code == 422, r.text
        assert error_fields(r) == ["format"]

    def test_missing_format_is_422_on_format(self, client):
        data = yaml.safe_load(GOOD)
        del data["format"]
        r = import_yaml(client, yaml.safe_dump(data))
        assert r.status_code == 422 and error_fields(r) == ["format"]

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            (
                lambda d: d["key_areas"][1]["questions"][0].update(type="essay"),
                "key_areas[1].questions[0].type",
            ),
            (
                lambda d: d["key_areas"][0]["questions"][0].update(options=["A", "B"]),
                "key_areas[0].questions[0]",
            ),
            (lambda d: d["scale"]["levels"][1].update(code="O"), "scale"),
            (lambda d: d["scale"]["levels"][0].pop("label"), "scale.levels[0].label"),
            (lambda d: d.update(key_areas=[]), "key_areas"),
            (lambda d: d.pop("key_areas"), "key_areas"),
            (lambda d: d.update(name=2024), "name"),
            (lambda d: d.update(theme=["a", "b"]), "theme"),
        ],
        ids=[
            "answer type",
            "options on yes/no",
            "level codes",
            "level label",
            "no key areas",
            "key areas missing",
            "name number",
            "theme list",
        ],
    )
    def test_invalid_content_is_422_naming_its_place(self, client, change, field):
        data = yaml.safe_load(GOOD)
        change(data)
        r = import_yaml(client, yaml.safe_dump(data))
        assert r.status_code == 422, r.text
        assert field in error_fields(r), r.json()

    def test_duplicate_key_area_titles_are_422_naming_key_areas(self, client):
        data = yaml.safe_load(GOOD)
        data["key_areas"][1]["title"] = data["key_areas"][0]["title"]
        r = import_yaml(client, yaml.safe_dump(data))
        assert r.status_code == 422, r.text
        assert any(f.startswith("key_areas") for f in error_fields(r)), r.json()

    def test_every_problem_is_reported_at_once(self, client):
        data = yaml.safe_load(GOOD)
        data["colour"] = "red"
        data["key_areas"][0]["questions"][0]["type"] = "essay"
        data["key_areas"][1]["qestions"] = []
        r = import_yaml(client, yaml.safe_dump(data))
        assert r.status_code == 422
        assert set(error_fields(r)) >= {
            "colour",
            "key_areas[0].questions[0].type",
            "key_areas[1].qestions",
        }

    def test_non_utf8_body_is_422(self, client):
        r = import_yaml(client, GOOD.replace("File errors", "Caf\u00e9").encode("latin-1"))
        assert r.status_code == 422, r.text
        assert "UTF-8" in r.json()["detail"]

    def test_utf8_text_is_kept(self, client):
        r = import_yaml(client, GOOD.replace("File errors", "Caf\u00e9 \u2013 \u00e9t\u00e9"))
        assert r.status_code == 201, r.text
        assert r.json()["name"] == "Caf\u00e9 \u2013 \u00e9t\u00e9"

    def test_file_over_1_mb_is_422(self, client):
        r = import_yaml(client, GOOD + "# " + "x" * 1_000_000 + "\n")
        assert r.status_code == 422, r.text
        assert "1 MB" in r.json()["detail"]

    def test_nul_escape_is_422_on_every_database(self, client):
        # YAML's "\0" escape makes a NUL, which PostgreSQL cannot store.
        r = import_yaml(client, GOOD.replace("name: File errors", 'name: "File\\0errors"'))
        assert r.status_code == 422, r.text
        assert "name" in error_fields(r)

    def test_python_tags_are_refused_not_run(self, client):
        r = import_yaml(client, GOOD + "extra: !!python/object/apply:os.system ['true']\n")
        assert r.status_code == 422, r.text

    def test_refused_files_create_nothing(self, client):
        before = total_templates(client)
        for text in ("- a\n", GOOD.replace("questions:", "qestions:", 1), "a: [\n"):
            assert import_yaml(client, text).status_code == 422
        assert total_templates(client) == before

    def test_parse_raises_invalid_input_with_fields(self):
        with pytest.raises(InvalidInput) as caught:
            files.parse(GOOD.replace(f"format: {FILE_FORMAT}", "format: other"))
        assert [f.field for f in caught.value.fields] == ["format"]


def parsed(slug: str):
    return files.parse(library_text(slug))


class TestLibrary:
    def test_seven_templates_are_shipped(self):
        assert [p.stem for p in LIBRARY] == [
            "child-exploitation-cp-procedures",
            "family-feedback-survey",
            "identification-of-need-and-risk",
            "learning-assurance-questionnaire",
            "section-11-self-assessment",
            "section-175-self-assessment",
            "voice-of-the-child-send",
        ]

    def test_three_are_audits_of_agencies(self):
        about = {p.stem: files.parse(p.read_text(encoding="utf-8")).subject for p in LIBRARY}
        assert sorted(stem for stem, subject in about.items() if subject == "agency") == [
            "learning-assurance-questionnaire",
            "section-11-self-assessment",
            "section-175-self-assessment",
        ]

    @pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
    def test_each_file_parses_and_is_publishable(self, path):
        template = files.parse(path.read_text(encoding="utf-8"))
        assert template.format == FILE_FORMAT
        assert template.slug == path.stem
        assert template.theme and template.description and template.method
        for area in template.key_areas:
            assert area.questions, area.title
        graded = template.overall_grade or any(k.graded for k in template.key_areas)
        assert (template.scale is not None) == graded

    def test_identification_of_need_and_risk(self):
        template = parsed("identification-of-need-and-risk")
        assert template.name == "Identification of need and risk"
        assert [k.title for k in template.key_areas] == [
            "Referral",
            "Strategy discussion",
            "Interim safety plan",
            "Section 47 enquiry",
            "Initial child protection conference",
        ]
        assert all(k.graded for k in template.key_areas)
        assert template.overall_grade is True
        assert template.scale.name == "Ofsted four-point scale"
        assert [lv.code for lv in template.scale.levels] == ["O", "G", "RI", "I"]
        assert [lv.label for lv in template.scale.levels] == OFSTED_LABELS

    def test_family_feedback_survey(self):
        template = parsed("family-feedback-survey")
        assert template.overall_grade is False
        assert template.scale is None
        assert not any(k.graded for k in template.key_areas)
        questions = [q for k in template.key_areas for q in k.questions]
        yes_partly_no = [q for q in questions if q.type == AnswerType.YES_PARTLY_NO]
        assert len(yes_partly_no) == 5
        assert all(q.required for q in yes_partly_no)
        assert [q for q in questions if q.required] == yes_partly_no

    @pytest.mark.parametrize(
        "slug", ["child-exploitation-cp-procedures", "voice-of-the-child-send"]
    )
    def test_graded_audits_use_the_ofsted_scale(self, slug):
        template = parsed(slug)
        assert template.overall_grade is True
        assert [lv.label for lv in template.scale.levels] == OFSTED_LABELS

    @pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
    def test_file_is_valid_draft_content(self, path):
        template = files.parse(path.read_text(encoding="utf-8"))
        content = TemplateContent.model_validate(template.model_dump(exclude={"format"}))
        assert content.model_dump() == template.model_dump(exclude={"format"})
