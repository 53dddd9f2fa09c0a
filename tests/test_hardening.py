"""Inputs at the edges: each one gets a clear 4xx, never a 500 or a silent change."""

import pytest
import yaml

from app.agencies import service as agencies
from app.audit_templates import service as templates
from tests.helpers.factories import make_audit, make_template, template_content

API = "/api/v1"
YAML = {"Content-Type": "application/yaml"}


def _file(**changes) -> str:
    return yaml.safe_dump({"format": "case-audit-template/1", **template_content(), **changes})


class TestNumberAnswers:
    @pytest.mark.parametrize(
        ("value", "stored"),
        [("12.50", "12.5"), (12, "12"), ("1E+3", "1000"), ("1.0000000", "1"), ("-0", "0")],
    )
    def test_numbers_are_stored_in_canonical_form(self, client, db, value, stored):
        audit, question_id, return_id = self._audit_with_number(client, db)
        r = client.put(
            f"{API}/returns/{return_id}/draft",
            json={"version": 1, "answers": [{"question_id": question_id, "value": value}]},
        )
        assert r.status_code == 200, r.text
        assert r.json()["answers"][0]["value"] == stored

    @pytest.mark.parametrize(
        "value", ["1e999999999", "1e-999999", "12345678901234567890", "0.0000001", "NaN", "ten"]
    )
    def test_numbers_that_cannot_be_kept_exactly_are_422(self, client, db, value):
        audit, question_id, return_id = self._audit_with_number(client, db)
        r = client.put(
            f"{API}/returns/{return_id}/draft",
            json={"version": 1, "answers": [{"question_id": question_id, "value": value}]},
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "answers[0].value"

    def _audit_with_number(self, client, db):
        content = template_content()
        content["key_areas"][0]["questions"].append(
            {"prompt": "Working days to conference", "type": "number", "required": False}
        )
        version = client.post(f"{API}/templates", json=content).json()
        client.post(f"{API}/template-versions/{version['id']}/publish")
        audit = make_audit(
            db,
            children=1,
            agencies_count=1,
            version=templates.get_version(db, version_id=version["id"]),
        )
        question_id = version["key_areas"][0]["questions"][-1]["id"]
        return_id = client.get(f"{API}/audits/{audit.id}/returns").json()["items"][0]["id"]
        return audit, question_id, return_id


class TestTemplateFiles:
    def test_a_key_given_twice_is_422_naming_the_line(self, client):
        text = _file().replace("theme: Testing\n", "theme: Testing\ntheme: Again\n")
        r = client.post(f"{API}/templates/import", content=text, headers=YAML)
        assert r.status_code == 422
        assert "given twice" in r.json()["detail"] and "line" in r.json()["detail"]

    def test_absurd_nesting_is_422(self, client):
        r = client.post(
            f"{API}/templates/import", content="name: " + "[" * 5000 + "]" * 5000, headers=YAML
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"

    def test_a_long_name_still_gives_a_valid_slug_and_exports(self, client):
        content = {**template_content(), "name": "a" * 119 + " bc"}
        version = client.post(f"{API}/templates", json=content).json()
        assert not version["slug"].endswith("-")
        assert client.get(f"{API}/template-versions/{version['id']}/export").status_code == 200

    def test_a_key_area_holds_at_most_60_questions(self, client):
        version = client.post(f"{API}/templates", json=template_content()).json()
        key_area = version["key_areas"][0]
        body = {"prompt": "Another question?", "type": "yes_partly_no"}
        for _ in range(60 - len(key_area["questions"])):
            assert (
                client.post(f"{API}/key-areas/{key_area['id']}/questions", json=body).status_code
                == 201
            )
        r = client.post(f"{API}/key-areas/{key_area['id']}/questions", json=body)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "questions"
        assert client.get(f"{API}/template-versions/{version['id']}/export").status_code == 200


class TestIdsAndPages:
    @pytest.mark.parametrize(
        "url",
        [
            f"{API}/returns/9223372036854775808",
            f"{API}/audits?agency_id=99999999999",
            f"{API}/audits?page=99999999999",
        ],
    )
    def test_numbers_too_big_to_be_ids_are_422(self, client, url):
        r = client.get(url)
        assert r.status_code == 422 and r.json()["errors"]

    def test_version_too_big_is_422(self, client, db):
        audit = make_audit(db, children=1, agencies_count=1)
        return_id = client.get(f"{API}/audits/{audit.id}/returns").json()["items"][0]["id"]
        r = client.put(f"{API}/returns/{return_id}/draft", json={"version": 2**63})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "version"

    def test_invalid_json_names_the_body(self, client):
        r = client.post(
            f"{API}/agencies",
            content=b'{"name": "x",,}',
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"


class TestPlanning:
    def test_an_inactive_subgroup_cannot_lead_an_audit(self, client, db):
        version = make_template(db)
        subgroup = agencies.create_subgroup(db, name="Old group")
        agencies.update_subgroup(db, subgroup=subgroup, changes={"active": False})
        r = client.post(
            f"{API}/audits",
            json={"template_version_id": version.id, "title": "A", "lead_subgroup_id": subgroup.id},
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "lead_subgroup_id"

    @pytest.mark.parametrize("name", ["John Smith X", "Jane Smith", "Child 12345", "Person A"])
    def test_only_the_pseudonym_words_are_accepted(self, client, db, name):
        audit = make_audit(db, children=0, agencies_count=1, open_=False)
        r = client.post(f"{API}/audits/{audit.id}/children", json={"pseudonym": name})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "pseudonym"

    def test_pseudonym_case_is_tidied(self, client, db):
        audit = make_audit(db, children=0, agencies_count=1, open_=False)
        r = client.post(f"{API}/audits/{audit.id}/children", json={"pseudonym": "young person b2"})
        assert r.status_code == 201 and r.json()["pseudonym"] == "Young person B2"


def test_home_sends_people_who_are_not_signed_in_to_sign_in(anonymous_client):
    r = anonymous_client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/sign-in"
