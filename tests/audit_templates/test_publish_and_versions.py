"""Publishing a draft (frozen from then on), starting new versions and retiring, over
the JSON API and through the service directly."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit_templates import editing, parts, service
from app.audit_templates.models import TemplateStatus, TemplateVersion
from app.audit_templates.schemas import TemplateContent
from app.errors import InvalidInput, StateError
from tests.helpers.audit_templates import (
    API,
    RAG,
    all_ids,
    comparable,
    create_draft,
    error_fields,
    get_version,
    new_content,
    publish,
    titles,
)
from tests.helpers.factories import make_template


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
            editing.delete_key_area(db, version=version, key_area=version.key_areas[0])
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
        assert parts.content_of(v2) == parts.content_of(v1)
        numbers = db.scalars(
            select(TemplateVersion.number)
            .where(TemplateVersion.family_id == v1.family_id)
            .order_by(TemplateVersion.number)
        ).all()
        assert numbers == [1, 2]
