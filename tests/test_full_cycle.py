"""The whole audit cycle over HTTP, as the issue's acceptance describes it."""

from pathlib import Path

import yaml

from tests.helpers.factories import template_content

LIBRARY = Path(__file__).resolve().parent.parent / "app" / "audit_templates" / "library"


def test_full_cycle_over_http(client):
    # Import a template from YAML and publish it.
    text = yaml.safe_dump({"format": "case-audit-template/1", **template_content(name="Cycle")})
    r = client.post(
        "/api/v1/templates/import", content=text, headers={"Content-Type": "application/yaml"}
    )
    assert r.status_code == 201, r.text
    version = r.json()
    assert version["status"] == "draft"
    r = client.post(f"/api/v1/template-versions/{version['id']}/publish")
    assert r.status_code == 200 and r.json()["status"] == "published"

    # Agencies, then an audit on the published version.
    police = client.post("/api/v1/agencies", json={"name": "Police", "kind": "police"}).json()
    school = client.post("/api/v1/agencies", json={"name": "School", "kind": "education"}).json()
    r = client.post(
        "/api/v1/audits",
        json={
            "template_version_id": version["id"],
            "title": "Cycle audit",
            "returns_due_on": "2030-01-31",
            "agency_ids": [police["id"], school["id"]],
        },
    )
    assert r.status_code == 201, r.text
    audit = r.json()
    assert audit["status"] == "planned"

    # Cohort and involvements.
    child_a = client.post(
        f"/api/v1/audits/{audit['id']}/children",
        json={"pseudonym": "Child A", "age_band": "5-9", "context_tags": ["CP plan"]},
    ).json()
    r = client.post(
        f"/api/v1/audits/{audit['id']}/involvements",
        json={"child_id": child_a["id"], "agency_id": police["id"]},
    )
    assert r.status_code == 201, r.text
    return_id = r.json()["return_id"]
    r = client.post(
        f"/api/v1/audits/{audit['id']}/children",
        json={"pseudonym": "Child B", "agency_ids": [police["id"], school["id"]]},
    )
    assert r.status_code == 201 and len(r.json()["involvements"]) == 2

    # Open it.
    r = client.post(f"/api/v1/audits/{audit['id']}/open")
    assert r.status_code == 422 and r.json()["code"] == "needs_confirmation"  # no auditors
    r = client.post(f"/api/v1/audits/{audit['id']}/open", json={"confirm": True})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "open"
    assert r.json()["returns"]["expected"] == 3

    # Save a draft.
    tpl = client.get(f"/api/v1/template-versions/{version['id']}").json()
    first, second = tpl["key_areas"]
    r = client.get(f"/api/v1/returns/{return_id}")
    assert r.json()["version"] == 1 and r.json()["status"] == "not_started"
    r = client.put(
        f"/api/v1/returns/{return_id}/draft",
        json={
            "version": 1,
            "answers": [{"question_id": first["questions"][0]["id"], "value": "Yes"}],
            "grades": [{"key_area_id": first["id"], "level": "G"}],
            "evidence": [{"key_area_id": first["id"], "went_well": "Seen the same day."}],
        },
    )
    assert r.status_code == 200, r.text
    draft = r.json()
    assert draft["status"] == "draft" and draft["version"] == 2
    assert draft["answers"] == [{"question_id": first["questions"][0]["id"], "value": "yes"}]

    # A second tab still holding version 1 gets 409 with the current version.
    r = client.put(
        f"/api/v1/returns/{return_id}/draft",
        json={
            "version": 1,
            "answers": [{"question_id": first["questions"][0]["id"], "value": "no"}],
        },
    )
    assert r.status_code == 409
    assert r.json()["current_version"] == 2
    assert r.json()["current"]["answers"][0]["value"] == "yes"

    # Submitting an incomplete return lists every missing item.
    r = client.post(f"/api/v1/returns/{return_id}/submit", json={"version": 2})
    assert r.status_code == 422
    missing = {e["field"] for e in r.json()["errors"]}
    assert missing == {
        f"question:{first['questions'][2]['id']}",
        f"question:{second['questions'][0]['id']}",
        f"question:{second['questions'][2]['id']}",
        f"grade:{second['id']}",
        "overall_grade",
    }

    # Complete it and submit.
    r = client.put(
        f"/api/v1/returns/{return_id}/draft",
        json={
            "version": 2,
            "answers": [
                {"question_id": first["questions"][2]["id"], "value": "2024-03-01"},
                {"question_id": second["questions"][0]["id"], "value": "partly"},
                {"question_id": second["questions"][2]["id"], "value": "2024-03-04"},
            ],
            "grades": [{"key_area_id": second["id"], "level": "RI"}],
            "overall_grade": "G",
        },
    )
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/returns/{return_id}/submit", json={"version": 3})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "submitted" and r.json()["submitted_at"]

    progress = client.get(f"/api/v1/audits/{audit['id']}/progress").json()
    assert progress["totals"]["submitted"] == 1 and progress["totals"]["not_started"] == 2
