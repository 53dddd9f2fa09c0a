"""Listing and filtering audits, their progress, and unknown ids over HTTP."""

from __future__ import annotations

import pytest

from app.agencies import service as agencies_service
from app.audits.models import AuditStatus
from tests.helpers.audits import (
    API,
    NO_RETURNS,
    add_child,
    children,
    counts,
    create_audit,
    fields,
    get_audit,
    open_audit,
    return_ids,
    set_status,
    start_draft,
    submit_complete,
)
from tests.helpers.factories import make_audit, make_template


class TestListAudits:
    @pytest.fixture
    def spread(self, client, db, version, police, school, health) -> dict:
        """Four audits that differ in every filterable way."""
        other_version = make_template(db)
        qapp = agencies_service.create_subgroup(db, name="QAPP")
        get_safe = agencies_service.create_subgroup(db, name="GET SAFE")
        voice = create_audit(
            client,
            version.id,
            title="Voice of the Child and SEND",
            theme="Voice of the child",
            lead_subgroup_id=qapp.id,
            returns_due_on="2030-01-10",
            agency_ids=[police.id, school.id],
        )
        add_child(client, voice["id"], "Child A", [police.id, school.id])
        add_child(client, voice["id"], "Child B", [school.id])
        open_audit(client, voice["id"])
        exploitation = create_audit(
            client,
            other_version.id,
            title="Exploitation deep dive",
            theme="Exploitation",
            lead_subgroup_id=get_safe.id,
            returns_due_on="2030-02-10",
            agency_ids=[health.id],
        )
        front_door = create_audit(
            client,
            version.id,
            title="Front door referrals: 100% sample",
            returns_due_on="2030-01-11",
            agency_ids=[school.id],
        )
        closed = create_audit(client, other_version.id, title="Old 1000 case audit")
        set_status(db, closed["id"], AuditStatus.CLOSED)
        return {
            "voice": voice["id"],
            "exploitation": exploitation["id"],
            "front_door": front_door["id"],
            "closed": closed["id"],
            "qapp": qapp.id,
            "get_safe": get_safe.id,
            "version": version,
            "other_version": other_version,
        }

    def ids(self, client, **params) -> set[int]:
        r = client.get(f"{API}/audits", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == len(body["items"])
        return {a["id"] for a in body["items"]}

    def test_everything_newest_first(self, client, spread):
        body = client.get(f"{API}/audits").json()
        assert body["total"] == 4
        assert [a["id"] for a in body["items"]] == [
            spread["closed"],
            spread["front_door"],
            spread["exploitation"],
            spread["voice"],
        ]

    def test_items_carry_counts(self, client, version, spread):
        item = next(
            a for a in client.get(f"{API}/audits").json()["items"] if a["id"] == spread["voice"]
        )
        assert item["status"] == "open" and item["children_count"] == 2
        assert [a["name"] for a in item["agencies"]] == ["Police", "School"]
        assert item["lead_subgroup"]["name"] == "QAPP"
        assert item["template_version"]["id"] == version.id
        assert item["returns"] == counts(expected=3, not_started=3)
        assert get_audit(client, spread["voice"]) == item
        empty = next(
            a for a in client.get(f"{API}/audits").json()["items"] if a["id"] == spread["closed"]
        )
        assert empty["children_count"] == 0 and empty["returns"] == NO_RETURNS

    def test_returns_counted_by_status(self, client, version, spread, police):
        child_a = children(client, spread["voice"])[0]
        start_draft(client, return_ids(child_a)[police.id], version.id)
        item = client.get(f"{API}/audits", params={"status": "open"}).json()["items"][0]
        assert item["returns"] == counts(expected=3, not_started=2, draft=1)

    def test_status(self, client, spread):
        assert self.ids(client, status="open") == {spread["voice"]}
        assert self.ids(client, status="closed") == {spread["closed"]}
        assert self.ids(client, status="planned") == {spread["exploitation"], spread["front_door"]}
        assert self.ids(client, status="moderation") == set()

    def test_bad_status_is_422(self, client, spread):
        r = client.get(f"{API}/audits", params={"status": "finished"})
        assert r.status_code == 422 and fields(r) == {"query.status"}

    def test_theme_ignores_case(self, client, spread):
        assert self.ids(client, theme="exploitation") == {spread["exploitation"]}
        assert self.ids(client, theme="Voice of the child") == {spread["voice"]}
        # An audit without its own theme takes the template's.
        assert self.ids(client, theme="Testing") == {spread["front_door"], spread["closed"]}

    def test_lead_subgroup(self, client, spread):
        assert self.ids(client, subgroup_id=spread["qapp"]) == {spread["voice"]}
        assert self.ids(client, subgroup_id=spread["get_safe"]) == {spread["exploitation"]}
        assert self.ids(client, subgroup_id=999999) == set()

    def test_template_family(self, client, spread):
        family = spread["version"].family_id
        other_family = spread["other_version"].family_id
        assert self.ids(client, template_id=family) == {spread["voice"], spread["front_door"]}
        assert self.ids(client, template_id=other_family) == {
            spread["exploitation"],
            spread["closed"],
        }

    def test_template_family_includes_every_version(self, client, db, spread):
        old = spread["version"]
        r = client.post(f"{API}/template-versions/{old.id}/new-version")
        assert r.status_code == 201, r.text
        new_id = r.json()["id"]
        assert client.post(f"{API}/template-versions/{new_id}/publish").status_code == 200
        newer = create_audit(client, new_id, title="On version 2")
        assert self.ids(client, template_id=old.family_id) == {
            spread["voice"],
            spread["front_door"],
            newer["id"],
        }

    def test_participating_agency(self, client, spread, police, school, health):
        assert self.ids(client, agency_id=police.id) == {spread["voice"]}
        assert self.ids(client, agency_id=school.id) == {spread["voice"], spread["front_door"]}
        assert self.ids(client, agency_id=health.id) == {spread["exploitation"]}

    def test_due_before_is_inclusive(self, client, spread):
        assert self.ids(client, due_before="2030-01-10") == {spread["voice"]}
        assert self.ids(client, due_before="2030-01-11") == {spread["voice"], spread["front_door"]}
        assert self.ids(client, due_before="2029-12-31") == set()

    def test_title_words(self, client, spread):
        assert self.ids(client, q="voice") == {spread["voice"]}
        assert self.ids(client, q="DEEP DIVE") == {spread["exploitation"]}
        assert self.ids(client, q="audit") == {spread["closed"]}
        assert self.ids(client, q="safeguarding") == set()

    def test_title_search_treats_wildcards_literally(self, client, spread):
        assert self.ids(client, q="100%") == {spread["front_door"]}
        assert self.ids(client, q="_") == set()

    def test_filters_combine(self, client, spread, school):
        assert self.ids(client, agency_id=school.id, status="planned") == {spread["front_door"]}
        assert self.ids(client, agency_id=school.id, q="voice", status="planned") == set()

    def test_pages(self, client, spread):
        first = client.get(f"{API}/audits", params={"per_page": 3}).json()
        assert first["total"] == 4 and len(first["items"]) == 3 and first["per_page"] == 3
        second = client.get(f"{API}/audits", params={"per_page": 3, "page": 2}).json()
        assert second["total"] == 4 and second["page"] == 2
        assert [a["id"] for a in second["items"]] == [spread["voice"]]
        filtered = client.get(f"{API}/audits", params={"per_page": 1, "status": "planned"}).json()
        assert filtered["total"] == 2 and len(filtered["items"]) == 1

    @pytest.mark.parametrize("params", [{"per_page": 0}, {"per_page": 201}, {"page": 0}])
    def test_bad_paging_is_422(self, client, params):
        assert client.get(f"{API}/audits", params=params).status_code == 422


# ---- progress -----------------------------------------------------------------------


class TestProgress:
    def test_counts_by_agency_and_child(self, client, version, planned, police, school, health):
        client.put(
            f"{API}/audits/{planned['id']}/agencies",
            json={"agency_ids": [police.id, school.id, health.id]},
        )
        add_child(client, planned["id"], "Child A", [police.id, school.id])
        add_child(client, planned["id"], "Child B", [police.id, school.id])
        add_child(client, planned["id"], "Child C", [police.id])
        open_audit(client, planned["id"])
        child_a, child_b, child_c = children(client, planned["id"])

        start_draft(client, return_ids(child_a)[police.id], version.id)
        start_draft(client, return_ids(child_b)[police.id], version.id)
        submit_complete(client, return_ids(child_a)[school.id], version.id)

        r = client.get(f"{API}/audits/{planned['id']}/progress")
        assert r.status_code == 200, r.text
        progress = r.json()
        assert progress["audit_id"] == planned["id"] and progress["status"] == "open"
        assert progress["returns_due_on"] == planned["returns_due_on"]
        assert progress["totals"] == counts(expected=5, not_started=2, draft=2, submitted=1)
        assert progress["by_agency"] == [
            {"agency_id": health.id, "agency_name": "Health", **NO_RETURNS},
            {
                "agency_id": police.id,
                "agency_name": "Police",
                **counts(expected=3, not_started=1, draft=2),
            },
            {
                "agency_id": school.id,
                "agency_name": "School",
                **counts(expected=2, not_started=1, submitted=1),
            },
        ]
        assert progress["by_child"] == [
            {
                "child_id": child_a["id"],
                "pseudonym": "Child A",
                **counts(expected=2, draft=1, submitted=1),
            },
            {
                "child_id": child_b["id"],
                "pseudonym": "Child B",
                **counts(expected=2, not_started=1, draft=1),
            },
            {
                "child_id": child_c["id"],
                "pseudonym": "Child C",
                **counts(expected=1, not_started=1),
            },
        ]
        assert get_audit(client, planned["id"])["returns"] == progress["totals"]

    def test_factory_audit(self, client, db):
        audit = make_audit(db, children=3, agencies_count=2)
        progress = client.get(f"{API}/audits/{audit.id}/progress").json()
        assert progress["totals"] == counts(expected=6, not_started=6)
        assert [c["expected"] for c in progress["by_child"]] == [2, 2, 2]
        assert [a["expected"] for a in progress["by_agency"]] == [3, 3]

    def test_planned_audit_without_children(self, client, planned):
        progress = client.get(f"{API}/audits/{planned['id']}/progress").json()
        assert progress["status"] == "planned"
        assert progress["totals"] == NO_RETURNS and progress["by_child"] == []
        assert [a["agency_name"] for a in progress["by_agency"]] == ["Police", "School"]

    def test_child_without_returns_still_shows(self, client, opened):
        # A child added after opening with no agencies yet is exactly the gap a
        # moderator needs to see, as agencies with nothing expected are shown.
        late = add_child(client, opened["id"], "Child C")
        progress = client.get(f"{API}/audits/{opened['id']}/progress").json()
        assert [c["pseudonym"] for c in progress["by_child"]] == ["Child A", "Child B", "Child C"]
        assert progress["by_child"][2] == {
            "child_id": late["id"],
            "pseudonym": "Child C",
            **NO_RETURNS,
        }


# ---- unknown ids --------------------------------------------------------------------


class TestUnknownIds:
    @pytest.mark.parametrize(
        "method, path, body",
        [
            ("GET", "/audits/999999", None),
            ("PATCH", "/audits/999999", {"title": "X"}),
            ("PUT", "/audits/999999/agencies", {"agency_ids": []}),
            ("POST", "/audits/999999/open", None),
            ("GET", "/audits/999999/progress", None),
            ("GET", "/audits/999999/children", None),
            ("POST", "/audits/999999/children", {"pseudonym": "Child A"}),
            ("PATCH", "/children/999999", {"age_band": "5-9"}),
            ("DELETE", "/children/999999", None),
            ("DELETE", "/involvements/999999", None),
        ],
    )
    def test_is_404(self, client, method, path, body):
        kwargs = {"json": body} if body is not None else {}
        r = client.request(method, f"{API}{path}", **kwargs)
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "not_found"

    def test_involvement_on_unknown_audit_is_404(self, client, planned, police):
        child = add_child(client, planned["id"], "Child A")
        r = client.post(
            f"{API}/audits/999999/involvements",
            json={"child_id": child["id"], "agency_id": police.id},
        )
        assert r.status_code == 404

    def test_non_numeric_id_is_422(self, client):
        assert client.get(f"{API}/audits/first").status_code == 422
