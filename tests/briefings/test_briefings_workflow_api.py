"""The briefings workflow over the API (issue 17: "an API for everything a page does"):
a learning briefing drafted from a moderated audit, its sections saved under the
editor's optimistic lock, submitted, approved by someone else, published (queued, then
published by the renderer), withdrawn and started again, entirely with API tokens;
the editors' list filtered and sorted as the page is; a stale save (409), four eyes
(an author cannot approve: 403), invalid input (422 naming each field) and who may do
what (an auditor: 403; no one signed in: 401)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.access.models import Role
from app.auditlog.models import AuditEvent
from app.audits.models import AuditStatus
from app.briefings import drafting, render_queue
from app.briefings.models import BriefingApproval, BriefingVersion
from app.briefings.schemas import BriefingSort
from app.briefings.service import VERSION_SORTS
from app.identify.check import Report
from app.middleware import PREVIEW_CSP
from tests.briefings.test_briefings_api import pdf_of
from tests.helpers.access import bearer, token_holder
from tests.helpers.factories import make_audit

API = "/api/v1"
NOON = datetime(2027, 3, 9, 12, tzinfo=UTC)
TODAY = date(2027, 3, 9)
FINDINGS = (
    "- Strategy discussions for Child A and Child B included health.\n"
    "- The voice of the child was recorded in most returns."
)


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(db):
    """A moderated audit (in learning) and one that is still open; the briefing's
    author and a second approver (moderators), an admin, an auditor of the audit's
    first agency, each with an API token."""
    audit = make_audit(db, children=3, agencies_count=2)
    audit.status = AuditStatus.LEARNING
    still_open = make_audit(db, children=1, agencies_count=1)
    db.flush()

    def person(role: Role, name: str, agency_id: int | None = None) -> dict:
        return bearer(token_holder(db, role, name, agency_id=agency_id)[1])

    people = {
        "author": person(Role.MODERATOR, "Chair One"),
        "approver": person(Role.MODERATOR, "Chair Two"),
        "admin": person(Role.ADMIN, "Admin One"),
        "auditor": person(Role.AUDITOR, "Auditor A", audit.agencies[0].id),
        "nobody": {},
    }
    db.commit()  # a refused request then rolls back only its own work
    return {"audit": audit, "open": still_open, "people": people}


def call(client, world, who: str, method: str, path: str, body=None, **params):
    return client.request(
        method, f"{API}{path}", headers=world["people"][who], json=body, params=params or None
    )


def fields(response) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json().get("errors", [])}


def new_briefing(client, world, **changes) -> dict:
    body = {
        "kind": "briefing",
        "title": "Learning from strategy discussions",
        "marking": "OFFICIAL",
        "public": True,
        **changes,
    }
    made = call(client, world, "author", "POST", f"/audits/{world['audit'].id}/briefings", body)
    assert made.status_code == 201, made.text
    return made.json()


def render(db, version_id: int) -> None:
    """What the renderer does with a queued version (app/briefings/jobs.py): claim it,
    make its PDF (here a small synthetic one), and publish it once the check of it as
    printed finds nothing."""
    assert render_queue.start_render(db, version_id=version_id)
    assert render_queue.publish_checked(
        db, version_id=version_id, pdf=pdf_of(2), checked=Report([]), today=TODAY
    )
    db.commit()


class TestFromDraftToPublication:
    def test_the_whole_way_through_the_api(self, anonymous_client, db, world):
        client = anonymous_client
        audit = world["audit"]

        # Drafted from the audit: version 1, a draft, its sections drafted for the author.
        draft = new_briefing(client, world)
        version_id, briefing_id = draft["id"], draft["briefing_id"]
        assert (draft["number"], draft["status"], draft["kind"]) == (1, "draft", "briefing")
        assert draft["drafted_by"] == "chair.one@example.org"
        assert [s["key"] for s in draft["sections"]] == [s.key for s in drafting.SECTIONS]
        assert draft["page_one_percent"] > 0
        assert draft["render_status"] == "none" and draft["approvals"] == []

        # The editors' list shows its newest version.
        listed = call(client, world, "admin", "GET", "/briefings", audit_id=audit.id).json()
        assert listed["total"] == 1
        [row] = listed["items"]
        assert row | {"created_at": None} == {
            "briefing_id": briefing_id,
            "version_id": version_id,
            "number": 1,
            "title": "Learning from strategy discussions",
            "kind": "briefing",
            "public": True,
            "audit_id": audit.id,
            "audit_title": audit.title,
            "status": "draft",
            "render_status": "none",
            "created_at": None,
            "submitted_at": None,
            "published_on": None,
        }

        # Saved under the lock it was read with: the sections given change, the others
        # stay; the lock moves on.
        lock = draft["lock_version"]
        saved = call(
            client,
            world,
            "author",
            "PUT",
            f"/briefings/versions/{version_id}/sections",
            {"lock_version": lock, "marking": "OFFICIAL", "sections": {"improvement": FINDINGS}},
        )
        assert saved.status_code == 200, saved.text
        body = saved.json()
        assert body["lock_version"] == lock + 1
        texts = {s["key"]: s["text"] for s in body["sections"]}
        assert texts["improvement"] == FINDINGS
        before = {s["key"]: s["text"] for s in draft["sections"]}
        assert {k: v for k, v in texts.items() if k != "improvement"} == {
            k: v for k, v in before.items() if k != "improvement"
        }

        # The identification check refuses what would identify a child (every problem
        # listed, nothing changed), until it is taken out.
        nhs = {
            "lock_version": body["lock_version"],
            "marking": "OFFICIAL",
            "sections": {"good_practice": "Child A's NHS number 943 476 5919 was shared."},
        }
        path = f"/briefings/versions/{version_id}"
        typed = call(client, world, "author", "PUT", f"{path}/sections", nhs).json()
        refused = call(client, world, "author", "POST", f"{path}/submit", {})
        assert refused.status_code == 422
        assert list(fields(refused)) == ["document"] and "NHS number" in fields(refused)["document"]
        assert call(client, world, "author", "GET", path).json()["status"] == "draft"
        clean = nhs | {"lock_version": typed["lock_version"], "sections": {"good_practice": ""}}
        assert call(client, world, "author", "PUT", f"{path}/sections", clean).is_success

        # Submitted: the identification check runs; the approvers are told.
        submitted = call(
            client,
            world,
            "author",
            "POST",
            f"/briefings/versions/{version_id}/submit",
            {"confirm_small_counts": True},
        )
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["status"] == "submitted"
        assert submitted.json()["submitted_at"] == NOON.isoformat().replace("+00:00", "Z")

        # Approved by someone who wrote none of it, who read the check.
        read = call(client, world, "approver", "GET", f"/briefings/versions/{version_id}").json()
        approved = call(
            client,
            world,
            "approver",
            "POST",
            f"/briefings/versions/{version_id}/approve",
            {"check_read": True, "confirm_small_counts": True, "check_seen": read["check_digest"]},
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"
        assert approved.json()["approved_by"] == "chair.two@example.org"

        # Published: queued at once (202), published by the renderer.
        published = call(
            client,
            world,
            "admin",
            "POST",
            f"/briefings/versions/{version_id}/publish",
            {"assurance_due_on": (TODAY + timedelta(days=28)).isoformat()},
        )
        assert published.status_code == 202, published.text
        assert (published.json()["status"], published.json()["render_status"]) == (
            "approved",
            "queued",
        )
        render(db, version_id)
        now = call(client, world, "admin", "GET", f"/briefings/versions/{version_id}").json()
        assert (now["status"], now["render_status"], now["published_on"]) == (
            "published",
            "done",
            TODAY.isoformat(),
        )
        # ...in the library for anyone (it is public), with its questionnaire launched.
        library = call(client, world, "nobody", "GET", f"/library/{briefing_id}").json()
        assert library["current"]["id"] == version_id and library["current"]["pages"] == 2
        briefing = call(client, world, "admin", "GET", f"/briefings/{briefing_id}").json()
        assert briefing["assurance_audit_id"] is not None
        assert [(v["number"], v["status"]) for v in briefing["versions"]] == [(1, "published")]

        # Withdrawn, saying why; then the next version is started from it.
        withdrawn = call(
            client,
            world,
            "admin",
            "POST",
            f"/briefings/versions/{version_id}/withdraw",
            {"reason": "Superseded by the partnership's new guidance."},
        )
        assert withdrawn.status_code == 200, withdrawn.text
        assert withdrawn.json()["status"] == "withdrawn"
        assert (
            withdrawn.json()["withdrawn_reason"] == "Superseded by the partnership's new guidance."
        )
        assert call(client, world, "nobody", "GET", f"/library/{briefing_id}").json()["withdrawn"]
        second = call(
            client, world, "admin", "POST", f"/briefings/versions/{version_id}/new-version"
        )
        assert second.status_code == 201, second.text
        assert (second.json()["number"], second.json()["status"]) == (2, "draft")
        assert second.json()["drafted_by"] == "admin.one@example.org"
        assert {s["key"]: s["text"] for s in second.json()["sections"]}["improvement"] == FINDINGS
        # Only one version is worked on at a time.
        again = call(
            client, world, "admin", "POST", f"/briefings/versions/{version_id}/new-version"
        )
        assert again.status_code == 409, again.text

        briefing = call(client, world, "admin", "GET", f"/briefings/{briefing_id}").json()
        assert [(v["number"], v["status"]) for v in briefing["versions"]] == [
            (2, "draft"),
            (1, "withdrawn"),
        ]
        # Every step is in the audit log, as the pages' are.
        db.expire_all()
        logged = db.scalars(
            select(AuditEvent.action).where(AuditEvent.object_type == "briefing_version")
        ).all()
        assert {
            "briefing.create",
            "briefing.edit",
            "briefing.submit",
            "briefing.approve",
            "briefing.publish_requested",
            "briefing.publish",
            "briefing.withdraw",
            "briefing.new_version",
        } <= set(logged)

    def test_publishing_wakes_the_renderer_after_the_request(
        self, app, anonymous_client, db, world
    ):
        draft = new_briefing(anonymous_client, world)
        path = f"/briefings/versions/{draft['id']}"
        call(anonymous_client, world, "author", "POST", f"{path}/submit", {})
        call(anonymous_client, world, "approver", "POST", f"{path}/approve", {"check_read": True})
        kicks: list[str] = []

        class Renders:
            def kick(self) -> None:
                db.expire_all()
                kicks.append(db.get(BriefingVersion, draft["id"]).render_status.value)

        app.state.renders = Renders()
        try:
            published = call(anonymous_client, world, "admin", "POST", f"{path}/publish", {})
        finally:
            del app.state.renders
        assert published.status_code == 202, published.text
        assert kicks == ["queued"]  # committed by then

    def test_a_subgroup_report(self, anonymous_client, world):
        report = new_briefing(
            anonymous_client, world, kind="subgroup-report", title="Report", public=False
        )
        assert [s["key"] for s in report["sections"]] == [s.key for s in drafting.REPORT_SECTIONS]
        assert report["page_one_percent"] is None

    def test_the_preview_is_the_document_as_html(self, anonymous_client, world):
        draft = new_briefing(anonymous_client, world)
        shown = call(
            anonymous_client, world, "author", "GET", f"/briefings/versions/{draft['id']}/preview"
        )
        assert shown.status_code == 200
        assert shown.headers["content-type"].startswith("text/html")
        assert "Learning from strategy discussions" in shown.text
        # Nothing but the document's own styles, as the editor's preview.
        assert shown.headers["content-security-policy"] == PREVIEW_CSP


class TestRefusals:
    def test_a_stale_save_is_refused_and_saves_nothing(self, anonymous_client, world):
        draft = new_briefing(anonymous_client, world)
        path = f"/briefings/versions/{draft['id']}/sections"
        lock = draft["lock_version"]
        first = {"lock_version": lock, "marking": "OFFICIAL", "sections": {"background": "Ours."}}
        assert call(anonymous_client, world, "author", "PUT", path, first).status_code == 200
        theirs = {"lock_version": lock, "marking": "OFFICIAL", "sections": {"background": "No."}}
        stale = call(anonymous_client, world, "approver", "PUT", path, theirs)
        assert stale.status_code == 409
        assert stale.json()["code"] == "conflict" and "reload it" in stale.json()["detail"]
        now = call(anonymous_client, world, "author", "GET", f"/briefings/versions/{draft['id']}")
        texts = {s["key"]: s["text"] for s in now.json()["sections"]}
        assert texts["background"] == "Ours." and now.json()["lock_version"] == lock + 1

    def test_only_a_draft_is_saved(self, anonymous_client, world):
        draft = new_briefing(anonymous_client, world)
        call(
            anonymous_client,
            world,
            "author",
            "POST",
            f"/briefings/versions/{draft['id']}/submit",
            {"confirm_small_counts": True},
        )
        body = {"lock_version": draft["lock_version"], "marking": "OFFICIAL", "sections": {}}
        path = f"/briefings/versions/{draft['id']}/sections"
        refused = call(anonymous_client, world, "author", "PUT", path, body)
        assert (refused.status_code, refused.json()["code"]) == (409, "wrong_state")

    def test_an_author_cannot_approve(self, anonymous_client, db, world):
        draft = new_briefing(anonymous_client, world)
        path = f"/briefings/versions/{draft['id']}"
        # The approver saves something in it, so becomes one of its authors too.
        body = {
            "lock_version": draft["lock_version"],
            "marking": "OFFICIAL",
            "sections": {"background": "Why we looked."},
        }
        assert call(anonymous_client, world, "approver", "PUT", f"{path}/sections", body).is_success
        call(
            anonymous_client,
            world,
            "author",
            "POST",
            f"{path}/submit",
            {"confirm_small_counts": True},
        )
        for who in ("author", "approver"):
            refused = call(
                anonymous_client, world, who, "POST", f"{path}/approve", {"check_read": True}
            )
            assert refused.status_code == 403, (who, refused.text)
            assert refused.json()["code"] == "four_eyes"
        db.expire_all()
        assert db.scalars(select(BriefingApproval)).all() == []

    def test_sent_back_to_draft_by_an_approver(self, anonymous_client, db, world):
        draft = new_briefing(anonymous_client, world)
        path = f"/briefings/versions/{draft['id']}"
        call(
            anonymous_client,
            world,
            "author",
            "POST",
            f"{path}/submit",
            {"confirm_small_counts": True},
        )
        note = {"note": "Say what practitioners should do first."}
        # An admin edits and publishes briefings, but does not approve or send them back.
        admin = call(anonymous_client, world, "admin", "POST", f"{path}/send-back", note)
        assert admin.status_code == 403
        back = call(anonymous_client, world, "approver", "POST", f"{path}/send-back", note)
        assert back.status_code == 200, back.text
        assert back.json()["status"] == "draft"
        assert back.json()["lock_version"] > draft["lock_version"]  # a page open on it is stale
        again = call(anonymous_client, world, "approver", "POST", f"{path}/send-back", note)
        assert again.status_code == 409

    def test_published_only_when_approved_and_answers_due_later(self, anonymous_client, world):
        draft = new_briefing(anonymous_client, world)
        path = f"/briefings/versions/{draft['id']}"
        early = call(anonymous_client, world, "admin", "POST", f"{path}/publish", {})
        assert (early.status_code, early.json()["code"]) == (409, "wrong_state")
        call(
            anonymous_client,
            world,
            "author",
            "POST",
            f"{path}/submit",
            {"confirm_small_counts": True},
        )
        call(
            anonymous_client,
            world,
            "approver",
            "POST",
            f"{path}/approve",
            {"check_read": True, "confirm_small_counts": True},
        )
        past = {"assurance_due_on": TODAY.isoformat()}
        refused = call(anonymous_client, world, "admin", "POST", f"{path}/publish", past)
        assert refused.status_code == 422
        assert fields(refused) == {"assurance_due_on": "Choose a date in the future"}
        # A version that is not published cannot be withdrawn.
        withdraw = call(
            anonymous_client, world, "admin", "POST", f"{path}/withdraw", {"reason": "No."}
        )
        assert withdraw.status_code == 409

    def test_drafted_only_from_a_moderated_audit(self, anonymous_client, world):
        body = {"kind": "briefing", "title": "Too soon", "marking": "OFFICIAL", "public": False}
        path = f"/audits/{world['open'].id}/briefings"
        refused = call(anonymous_client, world, "author", "POST", path, body)
        assert (refused.status_code, refused.json()["code"]) == (409, "wrong_state")
        assert "Finish moderation first" in refused.json()["detail"]
        missing = call(anonymous_client, world, "author", "POST", "/audits/999999/briefings", body)
        assert missing.status_code == 404


class TestInvalidInput:
    def test_a_new_briefing_names_each_field(self, anonymous_client, world):
        path = f"/audits/{world['audit'].id}/briefings"
        body = {"kind": "leaflet", "title": " ", "marking": "SECRET", "public": "yes"}
        refused = call(anonymous_client, world, "author", "POST", path, body)
        assert refused.status_code == 422
        assert set(fields(refused)) == {"kind", "title", "marking", "public"}

    def test_saving_names_each_field(self, anonymous_client, world):
        draft = new_briefing(anonymous_client, world)
        path = f"/briefings/versions/{draft['id']}/sections"
        body = {"marking": "OFFICIAL", "sections": {"improvement": "x" * 20_001}}
        refused = call(anonymous_client, world, "author", "PUT", path, body)
        assert refused.status_code == 422
        assert set(fields(refused)) == {"lock_version", "sections.improvement"}
        unknown = {
            "lock_version": draft["lock_version"],
            "marking": "OFFICIAL",
            "sections": {"appendix": "Not a section."},
        }
        refused = call(anonymous_client, world, "author", "PUT", path, unknown)
        assert refused.status_code == 422
        assert fields(refused) == {"appendix": "Not a section of it"}

    def test_withdrawing_needs_a_reason(self, anonymous_client, world):
        draft = new_briefing(anonymous_client, world)
        path = f"/briefings/versions/{draft['id']}/withdraw"
        refused = call(anonymous_client, world, "admin", "POST", path, {})
        assert refused.status_code == 422 and set(fields(refused)) == {"reason"}

    @pytest.mark.parametrize(
        ("params", "field"),
        [({"status": "lost"}, "status"), ({"kind": "leaflet"}, "kind"), ({"sort": "-x"}, "sort")],
    )
    def test_the_list_refuses_a_choice_it_does_not_offer(
        self, anonymous_client, world, params, field
    ):
        refused = call(anonymous_client, world, "admin", "GET", "/briefings", **params)
        assert refused.status_code == 422 and set(fields(refused)) == {f"query.{field}"}


class TestTheList:
    def test_searched_filtered_and_sorted_as_the_page_is(self, anonymous_client, world):
        first = new_briefing(anonymous_client, world, title="Neglect: what we learned")
        second = new_briefing(anonymous_client, world, title="Exploitation", kind="subgroup-report")
        call(
            anonymous_client,
            world,
            "author",
            "POST",
            f"/briefings/versions/{first['id']}/submit",
            {"confirm_small_counts": True},
        )

        def titles(**params) -> list[str]:
            found = call(anonymous_client, world, "admin", "GET", "/briefings", **params)
            assert found.status_code == 200, found.text
            return [i["title"] for i in found.json()["items"]]

        # The newest first unless sorted.
        assert titles() == ["Exploitation", "Neglect: what we learned"]
        assert titles(sort="title") == ["Exploitation", "Neglect: what we learned"]
        assert titles(sort="-title") == ["Neglect: what we learned", "Exploitation"]
        assert titles(q="neglect") == ["Neglect: what we learned"]
        assert titles(status="submitted") == ["Neglect: what we learned"]
        assert titles(kind="subgroup-report") == ["Exploitation"]
        assert titles(audit_id=world["open"].id) == []
        paged = call(anonymous_client, world, "admin", "GET", "/briefings", per_page=1, page=2)
        assert paged.json() | {"items": None} == {
            "items": None,
            "total": 2,
            "page": 2,
            "per_page": 1,
        }
        assert paged.json()["items"][0]["version_id"] == first["id"]
        assert second["id"] != first["id"]

    def test_every_sort_of_the_page_is_offered(self):
        offered = {s.value.removeprefix("-") for s in BriefingSort}
        assert offered == set(VERSION_SORTS)
        assert {s.value for s in BriefingSort} == offered | {f"-{k}" for k in offered}


class TestWhoMay:
    def test_an_auditor_may_not(self, anonymous_client, world):
        draft = new_briefing(anonymous_client, world)
        version = f"/briefings/versions/{draft['id']}"
        body = {"kind": "briefing", "title": "Mine", "marking": "OFFICIAL", "public": False}
        save = {"lock_version": draft["lock_version"], "marking": "OFFICIAL", "sections": {}}
        for method, path, sent in [
            ("GET", "/briefings", None),
            ("POST", f"/audits/{world['audit'].id}/briefings", body),
            ("GET", f"/briefings/{draft['briefing_id']}", None),
            ("PUT", f"{version}/sections", save),
            ("POST", f"{version}/submit", {}),
            ("POST", f"{version}/new-version", None),
            ("GET", f"{version}/preview", None),
        ]:
            refused = call(anonymous_client, world, "auditor", method, path, sent)
            assert refused.status_code == 403, (method, path, refused.text)
            assert refused.json()["code"] == "forbidden"
            anonymous = call(anonymous_client, world, "nobody", method, path, sent)
            assert anonymous.status_code == 401, (method, path)
