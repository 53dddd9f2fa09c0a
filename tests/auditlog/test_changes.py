"""Every other change to agencies, subgroups, templates and cohorts writes one row
with only what changed; a request that changes nothing writes none."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.audit_templates import files
from tests.helpers.audit_templates import RAG, create_draft, import_yaml
from tests.helpers.auditlog import API
from tests.helpers.factories import make_agency, make_template


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


class TestAgenciesAndSubgroups:
    def test_update_logs_only_the_changed_fields(self, api, log, db):
        agency = make_agency(db, name="GP practices")
        log.start()
        ok(
            api.patch(
                f"{API}/agencies/{agency.id}", json={"name": "GP surgeries", "kind": "police"}
            )
        )
        row = log.one("agency.update", "agency", agency.id)
        assert (row.before, row.after) == ({"name": "GP practices"}, {"name": "GP surgeries"})

    def test_deactivating_is_an_update_of_active(self, api, log, db):
        agency = make_agency(db)
        log.start()
        ok(api.post(f"{API}/agencies/{agency.id}/deactivate"))
        row = log.one("agency.update", "agency", agency.id)
        assert (row.before, row.after) == ({"active": True}, {"active": False})
        ok(api.post(f"{API}/agencies/{agency.id}/deactivate"))
        log.nothing()  # already inactive: nothing changed

    def test_subgroup_create_update_and_deactivate(self, api, log):
        subgroup = ok(api.post(f"{API}/subgroups", json={"name": "GET SAFE"}), 201)
        row = log.one("subgroup.create", "subgroup", subgroup["id"])
        assert row.after == {
            "name": "GET SAFE",
            "description": "",
            "active": True,
            "chair_user_id": None,
        }
        ok(api.patch(f"{API}/subgroups/{subgroup['id']}", json={"description": "Exploitation"}))
        row = log.one("subgroup.update", "subgroup", subgroup["id"])
        assert (row.before, row.after) == ({"description": ""}, {"description": "Exploitation"})
        ok(api.post(f"{API}/subgroups/{subgroup['id']}/deactivate"))
        row = log.one("subgroup.update", "subgroup", subgroup["id"])
        assert (row.before, row.after) == ({"active": True}, {"active": False})

    def test_a_patch_that_changes_nothing_writes_no_row(self, api, log, db):
        agency = make_agency(db, name="Same name")
        log.start()
        ok(api.patch(f"{API}/agencies/{agency.id}", json={"name": "Same name"}))
        log.nothing()


class TestTemplateEdits:
    @pytest.fixture
    def draft(self, api, log) -> dict:
        draft = create_draft(api, key_areas=2)
        log.start()
        return draft

    def test_set_scale(self, api, log, draft):
        ok(api.put(f"{API}/template-versions/{draft['id']}/scale", json=RAG))
        row = log.one("template.set_scale", "template_version", draft["id"])
        assert row.before["scale"]["name"] == "Ofsted four-point scale"
        assert row.after["scale"]["name"] == "RAG rating"
        assert row.after["scale"]["levels"][0] == {
            "code": "G",
            "label": "Green",
            "description": "On track",
        }

    def test_key_area_create_update_delete(self, api, log, draft):
        body = {"title": "Strategy discussion", "position": 0, "questions": []}
        version = ok(api.post(f"{API}/template-versions/{draft['id']}/key-areas", json=body), 201)
        key_area = version["key_areas"][0]
        row = log.one("key_area.create", "key_area", key_area["id"])
        assert row.after == {
            "template_version_id": draft["id"],
            "position": 0,
            "title": "Strategy discussion",
            "description": "",
            "graded": True,
            "questions": [],
        }
        ok(api.patch(f"{API}/key-areas/{key_area['id']}", json={"graded": False, "position": 2}))
        row = log.one("key_area.update", "key_area", key_area["id"])
        assert (row.before, row.after) == (
            {"graded": True, "position": 0},
            {"graded": False, "position": 2},
        )
        ok(api.delete(f"{API}/key-areas/{key_area['id']}"))
        row = log.one("key_area.delete", "key_area", key_area["id"])
        assert row.before["title"] == "Strategy discussion" and row.after is None

    def test_question_create_update_delete(self, api, log, draft):
        key_area = draft["key_areas"][0]
        body = {"prompt": "Was the child seen alone?", "type": "yes_partly_no"}
        version = ok(api.post(f"{API}/key-areas/{key_area['id']}/questions", json=body), 201)
        question = version["key_areas"][0]["questions"][-1]
        row = log.one("question.create", "question", question["id"])
        assert row.after == {
            "key_area_id": key_area["id"],
            "position": 3,
            "prompt": "Was the child seen alone?",
            "type": "yes_partly_no",
            "required": True,
            "guidance": "",
            "options": [],
        }
        ok(api.patch(f"{API}/questions/{question['id']}", json={"required": False}))
        row = log.one("question.update", "question", question["id"])
        assert (row.before, row.after) == ({"required": True}, {"required": False})
        ok(api.delete(f"{API}/questions/{question['id']}"))
        row = log.one("question.delete", "question", question["id"])
        assert row.before["prompt"] == "Was the child seen alone?" and row.after is None

    def test_retire_and_new_version(self, api, log, db):
        version = make_template(db)
        log.start()
        ok(api.post(f"{API}/template-versions/{version.id}/retire"))
        row = log.one("template.retire", "template_version", version.id)
        assert row.before == {"status": "published", "retired_at": None}
        assert row.after["status"] == "retired" and row.after["retired_at"]
        new = ok(api.post(f"{API}/template-versions/{version.id}/new-version"), 201)
        row = log.one("template.new_version", "template_version", new["id"])
        assert row.after["number"] == 2 and row.after["status"] == "draft"
        assert row.after["from_version_id"] == version.id

    def test_import_is_one_row_whether_new_or_a_next_version(self, api, log):
        text = (files.LIBRARY / "family-feedback-survey.yaml").read_text(encoding="utf-8")
        first = ok(import_yaml(api, text), 201)
        row = log.one("template.import", "template_version", first["id"])
        assert row.after["number"] == 1 and row.after["slug"] == first["slug"]
        ok(api.post(f"{API}/template-versions/{first['id']}/publish"))
        log.start()
        second = ok(import_yaml(api, text), 201)
        row = log.one("template.import", "template_version", second["id"])
        assert row.after["number"] == 2

    def test_an_edit_refused_on_a_published_version_writes_no_row(self, api, log, db):
        version = make_template(db)
        log.start()
        r = api.patch(f"{API}/template-versions/{version.id}", json={"theme": "Changed"})
        assert r.status_code == 409
        log.nothing()


class TestCohortChanges:
    @pytest.fixture
    def planned(self, api, log, db) -> dict:
        self.police, self.school = make_agency(db), make_agency(db)
        version = make_template(db)
        audit = ok(
            api.post(
                f"{API}/audits",
                json={
                    "template_version_id": version.id,
                    "title": "Planned",
                    "agency_ids": [self.police.id],
                },
            ),
            201,
        )
        log.start()
        return audit

    def test_audit_update(self, api, log, planned):
        due = str(date.today() + timedelta(days=7))
        ok(api.patch(f"{API}/audits/{planned['id']}", json={"returns_due_on": due}))
        row = log.one("audit.update", "audit", planned["id"])
        assert (row.before, row.after) == ({"returns_due_on": None}, {"returns_due_on": due})

    def test_set_agencies(self, api, log, planned):
        body = {"agency_ids": [self.police.id, self.school.id]}
        ok(api.put(f"{API}/audits/{planned['id']}/agencies", json=body))
        row = log.one("audit.set_agencies", "audit", planned["id"])
        assert row.before == {"agency_ids": [self.police.id]}
        assert row.after == {"agency_ids": sorted([self.police.id, self.school.id])}
        ok(api.put(f"{API}/audits/{planned['id']}/agencies", json=body))
        log.nothing()  # the same agencies again

    def test_child_update_and_delete(self, api, log, planned):
        body = {"pseudonym": "Child B", "agency_ids": [self.police.id]}
        child = ok(api.post(f"{API}/audits/{planned['id']}/children", json=body), 201)
        log.start()
        ok(api.patch(f"{API}/children/{child['id']}", json={"context_tags": ["SEND"]}))
        row = log.one("child.update", "child", child["id"])
        assert (row.before, row.after) == ({"context_tags": []}, {"context_tags": ["SEND"]})
        ok(api.delete(f"{API}/children/{child['id']}"), 204)
        row = log.one("child.delete", "child", child["id"])
        assert row.before["pseudonym"] == "Child B"
        assert row.before["agency_ids"] == [self.police.id]
        assert row.after is None

    def test_involvement_create_and_delete(self, api, log, planned):
        ok(
            api.put(
                f"{API}/audits/{planned['id']}/agencies",
                json={"agency_ids": [self.police.id, self.school.id]},
            )
        )
        child = ok(
            api.post(f"{API}/audits/{planned['id']}/children", json={"pseudonym": "Child C"}), 201
        )
        assert [r.action for r in log.new()] == ["audit.set_agencies", "child.create"]
        body = {"child_id": child["id"], "agency_id": self.school.id}
        involvement = ok(api.post(f"{API}/audits/{planned['id']}/involvements", json=body), 201)
        row = log.one("involvement.create", "involvement", involvement["id"])
        expected = {"audit_id": planned["id"], "child_id": child["id"], "agency_id": self.school.id}
        assert row.after == expected
        ok(api.delete(f"{API}/involvements/{involvement['id']}"), 204)
        row = log.one("involvement.delete", "involvement", involvement["id"])
        assert (row.before, row.after) == (expected, None)
