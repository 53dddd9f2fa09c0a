"""Helpers for the tests of audit templates (tests/audit_templates): creating
(test_create.py), editing drafts (test_edit_draft.py, test_edit_questions.py),
publishing and versioning (test_publish_and_versions.py), listing and lookups
(test_list_and_lookup.py), the YAML file format and shipped library (test_files.py),
and the template builder's pages (test_builder_pages.py)."""

from __future__ import annotations

import copy

from tests.helpers.app_client import AppClient
from tests.helpers.factories import template_content

API = "/api/v1"
YAML = {"Content-Type": "application/yaml"}


def new_content(**kwargs) -> dict:
    """``template_content()`` as a private copy: the factory shares its scale dict."""
    return copy.deepcopy(template_content(**kwargs))


def create_draft(client: AppClient, content: dict | None = None, **kwargs) -> dict:
    r = client.post(
        f"{API}/templates", json=content if content is not None else new_content(**kwargs)
    )
    assert r.status_code == 201, r.text
    return r.json()


def get_version(client: AppClient, version_id: int) -> dict:
    r = client.get(f"{API}/template-versions/{version_id}")
    assert r.status_code == 200, r.text
    return r.json()


def publish(client: AppClient, version_id: int) -> dict:
    r = client.post(f"{API}/template-versions/{version_id}/publish")
    assert r.status_code == 200, r.text
    return r.json()


def import_yaml(client: AppClient, text: str | bytes):
    return client.post(f"{API}/templates/import", content=text, headers=YAML)


def comparable(version: dict) -> dict:
    """A version's content without ids, timestamps, number or status."""
    scale = version["scale"]
    return {
        "name": version["name"],
        "slug": version["slug"],
        "theme": version["theme"],
        "description": version["description"],
        "method": version["method"],
        "overall_grade": version["overall_grade"],
        "scale": None
        if scale is None
        else {
            "name": scale["name"],
            "levels": [
                {k: level[k] for k in ("position", "code", "label", "description")}
                for level in scale["levels"]
            ],
        },
        "key_areas": [
            {
                **{k: area[k] for k in ("position", "title", "description", "graded")},
                "questions": [{k: v for k, v in q.items() if k != "id"} for q in area["questions"]],
            }
            for area in version["key_areas"]
        ],
    }


def all_ids(version: dict) -> set[tuple[str, int]]:
    """Every row id in a version, tagged by kind."""
    ids = {("version", version["id"])}
    if version["scale"]:
        ids.add(("scale", version["scale"]["id"]))
        ids |= {("level", lv["id"]) for lv in version["scale"]["levels"]}
    for area in version["key_areas"]:
        ids.add(("key_area", area["id"]))
        ids |= {("question", q["id"]) for q in area["questions"]}
    return ids


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
