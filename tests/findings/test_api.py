"""Findings over the API: what a finding may be about must belong to its audit, and
a finding about a child is seen only by those who may see the child. Themes too."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.access.models import Role
from app.audit_templates.models import KeyArea
from app.auditlog.models import AuditEvent
from app.audits import cohort
from app.findings.models import Theme
from tests.helpers.actions import API, create_action, fields
from tests.helpers.factories import make_agency, make_audit


def key_areas(db, audit) -> list[int]:
    query = select(KeyArea.id).where(KeyArea.template_version_id == audit.template_version_id)
    return list(db.scalars(query.order_by(KeyArea.position)))


def theme_id(db, name: str) -> int:
    return db.scalar(select(Theme.id).where(Theme.name == name))


@pytest.fixture
def other(db):
    """Another open audit, with its own template, agencies and children."""
    made = make_audit(db)
    db.commit()
    return made


def post(api, audit, **body):
    return api.post(
        f"{API}/audits/{audit.id}/findings",
        json={"kind": "area_for_improvement", "statement": "The child was not seen alone.", **body},
    )


class TestRecordAFinding:
    def test_about_a_key_area_an_agency_and_a_child(self, api, db, audit, first):
        child_id = cohort.list_children(db, audit=audit)[0].id
        voice, recording = theme_id(db, "Voice of the child"), theme_id(db, "Recording")
        r = post(
            api,
            audit,
            theme_ids=[voice, recording],
            key_area_id=key_areas(db, audit)[1],
            agency_id=first.id,
            child_id=child_id,
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert [t["name"] for t in body["themes"]] == ["Recording", "Voice of the child"]
        assert body["key_area"]["title"] == "Key area 2"
        assert body["agency"] == {"id": first.id, "name": first.name}
        assert body["child"] == {"id": child_id, "pseudonym": "Child A"}
        assert body["action_ids"] == []
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "finding.create"))
        assert event.after["child_id"] == child_id and "pseudonym" not in event.after

    def test_about_the_audit_as_a_whole(self, api, audit):
        r = post(api, audit, kind="good_practice")
        assert r.status_code == 201
        assert (r.json()["key_area"], r.json()["agency"], r.json()["child"]) == (None, None, None)

    def test_what_it_is_about_must_belong_to_the_audit(self, api, db, audit, other):
        outsider = make_agency(db, name="Not taking part")
        db.commit()
        r = post(
            api,
            audit,
            key_area_id=key_areas(db, other)[0],
            agency_id=outsider.id,
            child_id=cohort.list_children(db, audit=other)[0].id,
        )
        assert r.status_code == 422
        assert fields(r) == {"key_area_id", "agency_id", "child_id"}
        messages = {e["field"]: e["message"] for e in r.json()["errors"]}
        assert "not in this audit's template" in messages["key_area_id"]
        assert "not taking part" in messages["agency_id"]
        assert "not in this audit's cohort" in messages["child_id"]

    def test_an_agency_of_another_audit_is_refused(self, api, audit, other):
        r = post(api, audit, agency_id=other.agencies[0].id)
        assert r.status_code == 422 and fields(r) == {"agency_id"}

    def test_unknown_and_retired_themes_are_refused(self, api, db, audit):
        retired = db.get(Theme, theme_id(db, "Early help"))
        retired.active = False
        db.commit()
        r = post(api, audit, theme_ids=[theme_id(db, "Recording"), retired.id, 99999])
        assert r.status_code == 422 and fields(r) == {"theme_ids[1]", "theme_ids[2]"}

    def test_the_statement_and_kind_are_required(self, api, audit):
        r = api.post(f"{API}/audits/{audit.id}/findings", json={"statement": " "})
        assert r.status_code == 422 and fields(r) == {"kind", "statement"}

    def test_not_while_the_audit_is_planned(self, api, db):
        planned = make_audit(db, open_=False)
        db.commit()
        assert post(api, planned).status_code == 409


class TestChangeAFinding:
    def test_change_and_clear_what_it_is_about(self, api, db, audit, first):
        made = post(api, audit, agency_id=first.id).json()
        r = api.patch(
            f"{API}/findings/{made['id']}",
            json={
                "agency_id": None,
                "kind": "good_practice",
                "theme_ids": [theme_id(db, "Recording")],
            },
        )
        assert r.status_code == 200, r.text
        assert r.json()["agency"] is None and r.json()["kind"] == "good_practice"
        assert [t["name"] for t in r.json()["themes"]] == ["Recording"]

    def test_a_child_of_another_audit_is_refused(self, api, db, audit, other):
        made = post(api, audit).json()
        child_id = cohort.list_children(db, audit=other)[0].id
        r = api.patch(f"{API}/findings/{made['id']}", json={"child_id": child_id})
        assert r.status_code == 422 and fields(r) == {"child_id"}

    def test_a_retired_theme_already_on_it_may_stay(self, api, db, audit):
        recording = theme_id(db, "Recording")
        made = post(api, audit, theme_ids=[recording]).json()
        db.get(Theme, recording).active = False
        db.commit()
        r = api.patch(f"{API}/findings/{made['id']}", json={"theme_ids": [recording]})
        assert r.status_code == 200

    def test_linked_actions_are_listed(self, api, audit, first):
        made = post(api, audit).json()
        action = create_action(api, audit, first.id, finding_ids=[made["id"]])
        assert api.get(f"{API}/findings/{made['id']}").json()["action_ids"] == [action["id"]]
        listed = api.get(f"{API}/audits/{audit.id}/findings").json()
        assert listed["total"] == 1 and listed["items"][0]["action_ids"] == [action["id"]]


class TestWhoSeesFindings:
    def test_a_finding_about_a_child_is_seen_only_with_the_child(
        self, anonymous_client, db, audit, first, second, person
    ):
        # Child C: only the second agency was involved.
        child = cohort.add_child(db, audit=audit, pseudonym="Child C", agency_ids=[second.id])
        db.commit()
        _moderator, moderator = person(Role.MODERATOR)
        _auditor, auditor = person(Role.AUDITOR, first.id)
        client = anonymous_client
        about_c = client.post(
            f"{API}/audits/{audit.id}/findings",
            json={"kind": "area_for_improvement", "statement": "x", "child_id": child.id},
            headers=moderator,
        ).json()
        general = client.post(
            f"{API}/audits/{audit.id}/findings",
            json={"kind": "good_practice", "statement": "y"},
            headers=moderator,
        ).json()
        seen = client.get(f"{API}/audits/{audit.id}/findings", headers=auditor).json()
        assert [f["id"] for f in seen["items"]] == [general["id"]]
        assert client.get(f"{API}/findings/{about_c['id']}", headers=auditor).status_code == 404
        assert client.get(f"{API}/findings/{general['id']}", headers=auditor).status_code == 200

    def test_someone_outside_the_audit_sees_none(self, anonymous_client, db, audit, person):
        outsider = make_agency(db, name="Outside")
        _lead, headers = person(Role.AGENCY_LEAD, outsider.id)
        r = anonymous_client.get(f"{API}/audits/{audit.id}/findings", headers=headers)
        assert r.status_code == 404

    def test_only_moderators_record_findings(self, anonymous_client, audit, person):
        _admin, headers = person(Role.ADMIN)
        r = anonymous_client.post(
            f"{API}/audits/{audit.id}/findings",
            json={"kind": "good_practice", "statement": "y"},
            headers=headers,
        )
        assert r.status_code == 403


class TestThemes:
    def test_the_seeded_list(self, api):
        names = [t["name"] for t in api.get(f"{API}/themes").json()["items"]]
        for seeded in (
            "Voice of the child",
            "Information sharing",
            "Recording",
            "Strategy discussion",
            "Consent and capacity",
            "SMART planning",
        ):
            assert seeded in names
        assert names == sorted(names)

    def test_add_rename_and_deactivate(self, api, db):
        r = api.post(f"{API}/themes", json={"name": "Neglect"})
        assert r.status_code == 201, r.text
        tid = r.json()["id"]
        assert api.post(f"{API}/themes", json={"name": "neglect"}).status_code == 409
        r = api.patch(f"{API}/themes/{tid}", json={"active": False})
        assert r.json() == {"id": tid, "name": "Neglect", "active": False}
        active = api.get(f"{API}/themes", params={"active": "true"}).json()["items"]
        assert "Neglect" not in [t["name"] for t in active]
        assert api.patch(f"{API}/themes/{tid}", json={"name": "Recording"}).status_code == 409
