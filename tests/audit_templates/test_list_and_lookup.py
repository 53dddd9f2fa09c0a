"""Listing template families, and unknown ids and routes, over the JSON API."""

from __future__ import annotations

import pytest

from tests.helpers.audit_templates import API, RAG, create_draft, publish


class TestListTemplates:
    @pytest.fixture
    def families(self, client) -> dict[str, dict]:
        """Draft-only 'Alpha', published 'Bravo', 'Charlie' retired with a draft v2."""
        alpha = create_draft(client, name="Alpha audit")
        bravo = publish(client, create_draft(client, name="Bravo audit")["id"])
        charlie = publish(client, create_draft(client, name="Charlie audit")["id"])
        client.post(f"{API}/template-versions/{charlie['id']}/retire")
        client.post(f"{API}/template-versions/{charlie['id']}/new-version")
        return {"alpha": alpha, "bravo": bravo, "charlie": charlie}

    def names(self, response) -> list[str]:
        return [item["name"] for item in response.json()["items"]]

    def test_page_envelope_with_total(self, client, families):
        r = client.get(f"{API}/templates")
        assert r.status_code == 200
        body = r.json()
        assert set(body) == {"items", "total", "page", "per_page"}
        assert (body["total"], body["page"], body["per_page"]) == (3, 1, 50)
        assert self.names(r) == ["Alpha audit", "Bravo audit", "Charlie audit"]
        charlie = body["items"][2]
        assert [(s["number"], s["status"]) for s in charlie["versions"]] == [
            (1, "retired"),
            (2, "draft"),
        ]

    def test_pages_split_the_list_and_keep_the_total(self, client, families):
        first = client.get(f"{API}/templates", params={"per_page": 2})
        second = client.get(f"{API}/templates", params={"per_page": 2, "page": 2})
        third = client.get(f"{API}/templates", params={"per_page": 2, "page": 3})
        assert self.names(first) == ["Alpha audit", "Bravo audit"]
        assert self.names(second) == ["Charlie audit"]
        assert self.names(third) == []
        assert {r.json()["total"] for r in (first, second, third)} == {3}
        assert (second.json()["page"], second.json()["per_page"]) == (2, 2)

    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            ("published", ["Bravo audit"]),
            ("draft", ["Alpha audit", "Charlie audit"]),
            ("retired", ["Charlie audit"]),
        ],
    )
    def test_status_filter(self, client, families, status, expected):
        r = client.get(f"{API}/templates", params={"status": status})
        assert r.status_code == 200
        assert self.names(r) == expected and r.json()["total"] == len(expected)

    def test_status_filter_counts_families_not_versions(self, client, families):
        v2 = client.post(f"{API}/template-versions/{families['bravo']['id']}/new-version").json()
        publish(client, v2["id"])
        r = client.get(f"{API}/templates", params={"status": "published"})
        assert self.names(r) == ["Bravo audit"] and r.json()["total"] == 1

    @pytest.mark.parametrize(
        "params",
        [{"status": "archived"}, {"page": 0}, {"per_page": 0}, {"per_page": 201}, {"page": "x"}],
    )
    def test_bad_query_is_422(self, client, params):
        r = client.get(f"{API}/templates", params=params)
        assert r.status_code == 422, r.text
        assert r.json()["detail"]


MISSING = 987654


class TestUnknownIds:
    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("GET", f"/templates/{MISSING}", None),
            ("GET", f"/templates/{MISSING}/versions", None),
            ("GET", f"/template-versions/{MISSING}", None),
            ("GET", f"/template-versions/{MISSING}/export", None),
            ("PATCH", f"/template-versions/{MISSING}", {"theme": "x"}),
            ("PUT", f"/template-versions/{MISSING}/scale", RAG),
            ("POST", f"/template-versions/{MISSING}/publish", None),
            ("POST", f"/template-versions/{MISSING}/retire", None),
            ("POST", f"/template-versions/{MISSING}/new-version", None),
            ("POST", f"/template-versions/{MISSING}/key-areas", {"title": "x"}),
            ("PATCH", f"/key-areas/{MISSING}", {"title": "x"}),
            ("DELETE", f"/key-areas/{MISSING}", None),
            ("POST", f"/key-areas/{MISSING}/questions", {"prompt": "x", "type": "date"}),
            ("PATCH", f"/questions/{MISSING}", {"prompt": "x"}),
            ("DELETE", f"/questions/{MISSING}", None),
        ],
    )
    def test_is_404_json_with_detail(self, client, method, path, body):
        r = client.request(method, API + path, json=body)
        assert r.status_code == 404, r.text
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()["code"] == "not_found"
        assert str(MISSING) in r.json()["detail"]

    def test_unknown_route_is_404_json(self, client):
        r = client.get(f"{API}/template-versions/1/nonsense")
        assert r.status_code == 404 and r.json()["detail"]

    def test_non_numeric_id_is_422(self, client):
        r = client.get(f"{API}/template-versions/abc")
        assert r.status_code == 422 and r.json()["detail"]
