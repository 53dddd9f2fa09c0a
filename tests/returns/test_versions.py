"""A submitted return is never changed in place: each submission is kept as a version,
readable as it was submitted and compared with the one before (API and page)."""

from __future__ import annotations

from tests.helpers.factories import make_audit
from tests.moderation.test_moderation import complete

API = "/api/v1"


def test_a_resubmitted_return_keeps_its_earlier_version_readable_and_diffable(client, db):
    audit = make_audit(db, children=1, agencies_count=1)
    template = client.get(f"{API}/template-versions/{audit.template_version_id}").json()
    (item,) = client.get(f"{API}/audits/{audit.id}/returns").json()["items"]
    rid = item["id"]
    yes_no = template["key_areas"][0]["questions"][0]
    assert client.put(f"{API}/returns/{rid}/draft", json=complete(template, 1)).is_success
    assert client.post(f"{API}/returns/{rid}/submit", json={"version": 2}).is_success
    assert client.get(f"{API}/returns/{rid}/versions").json()[0]["changes"] == []

    sent_back = client.post(
        f"{API}/returns/{rid}/reopen", json={"version": 3, "note": "Check the first answer."}
    )
    assert sent_back.is_success, sent_back.text
    amended = client.put(
        f"{API}/returns/{rid}/draft",
        json={"version": 4, "answers": [{"question_id": yes_no["id"], "value": "partly"}]},
    )
    assert amended.is_success, amended.text
    assert client.post(f"{API}/returns/{rid}/submit", json={"version": 5}).is_success

    first, second = client.get(f"{API}/returns/{rid}/versions").json()
    assert (first["number"], second["number"]) == (1, 2)
    # The first stays as it was submitted; the return now holds the second.
    assert first["content"]["answers"][str(yes_no["id"])] == "yes"
    assert second["content"]["answers"][str(yes_no["id"])] == "partly"
    assert second["changes"] == [
        {"field": f"answer:{yes_no['id']}", "before": "yes", "after": "partly"}
    ]
    page = client.get(f"/returns/{rid}/versions").text
    assert "Version 1" in page and "Version 2" in page
    assert "What changed since version 1" in page
    assert yes_no["prompt"] in page and ">Yes<" in page and ">Partly<" in page
    # The return's page lists its versions and links to what changed, and back.
    read = client.get(f"/returns/{rid}").text
    assert "Version 2, submitted by" in read and "Version 1, submitted by" in read
    assert f'href="/returns/{rid}/versions?from=/returns/{rid}"' in read
    assert (
        f'href="/returns/{rid}"' in client.get(f"/returns/{rid}/versions?from=/returns/{rid}").text
    )


def test_a_return_never_submitted_has_no_versions(client, db):
    audit = make_audit(db, children=1, agencies_count=1)
    (item,) = client.get(f"{API}/audits/{audit.id}/returns").json()["items"]
    assert client.get(f"{API}/returns/{item['id']}/versions").json() == []
    assert client.get(f"{API}/returns/999999/versions").status_code == 404
