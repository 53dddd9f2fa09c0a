"""Four eyes on every publication: a briefing is approved by someone other than its
authors (whoever drafted it or saved anything in it), who confirms they read the
identification check; the approval is recorded and shown with who drafted it; a
setting may ask for two approvers; sending it back removes the approvals. Through the
API, the pages and the service."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html import unescape

import pytest
import time_machine
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.access.policy import SYSTEM
from app.actions.models import LearningAction
from app.auditlog.models import AuditEvent
from app.audits.models import AgeBand, Audit, AuditStatus, Child, audit_agency
from app.briefings import render, service, suppression, workflow
from app.briefings.models import (
    BriefingApproval,
    BriefingKind,
    BriefingVersion,
    Marking,
    VersionStatus,
)
from app.errors import InvalidInput
from tests.briefings.test_printed_check import PAYLOADS
from tests.helpers.access import actor_of, another_approver, browse_as
from tests.helpers.factories import make_audit

API = "/api/v1/briefings/versions"
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
SUMMARY = re.compile(r'class="govuk-error-summary".*?</ul>', re.S)
# The tests' day: every approval below is given on it.
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def settings(app):
    """The app's settings: ``settings.now()``; ``settings(briefing_approvers=2)`` changes
    them for one test (not with monkeypatch, whose undo deletes an attribute of
    Starlette's State instead of restoring it)."""
    original = app.state.settings

    def change(**changes):
        app.state.settings = original.model_copy(update=changes)
        return app.state.settings

    change.now = lambda: app.state.settings
    yield change
    app.state.settings = original


@pytest.fixture
def people(db):
    """The author (a moderator who drafts the briefing) and two people who did not
    write it: each may approve it."""
    author = access.create_user(
        db, email="author@example.org", display_name="Ash Author", roles={Role.MODERATOR}
    )
    return {
        "author": author,
        "approver": another_approver(db),
        "third": another_approver(db, email="third.approver@example.org"),
    }


def draft(
    db,
    author,
    commentary: str | None = None,
    *,
    audit=None,
    kind=BriefingKind.SUBGROUP_REPORT,
) -> BriefingVersion:
    """A briefing or (by default) subgroup report of a moderated audit drafted by
    ``author``, its commentary written if given."""
    if audit is None:
        audit = make_audit(db, children=3, agencies_count=2)
        audit.status = AuditStatus.LEARNING
        db.flush()
    version = workflow.create(
        db,
        audit=audit,
        kind=kind,
        title="A report" if kind == BriefingKind.SUBGROUP_REPORT else "Learning from the audit",
        marking=Marking.OFFICIAL,
        public=False,
        actor=author,
    )
    if commentary is None:
        return version
    return workflow.save(
        db,
        version=version,
        sections={"commentary": commentary},
        marking=Marking.OFFICIAL,
        read_lock=version.lock_version,
        actor=author,
    )


@pytest.fixture
def submitted(db, people, settings) -> BriefingVersion:
    """A learning briefing drafted and submitted by its author, waiting for approval."""
    author = actor_of(people["author"])
    version = draft(db, author, kind=BriefingKind.BRIEFING)
    workflow.submit(
        db, version=version, actor=author, settings=settings.now(), confirm_small_counts=True
    )
    db.commit()
    return version


def token(db, user) -> dict:
    _row, plain = access.create_token(db, user=user, name="tests", days=1)
    db.commit()
    return {"Authorization": f"Bearer {plain}"}


def approvals(db, version) -> list[BriefingApproval]:
    db.expire_all()
    return list(
        db.scalars(select(BriefingApproval).where(BriefingApproval.version_id == version.id))
    )


def status(db, version) -> VersionStatus:
    db.expire_all()
    return db.get(BriefingVersion, version.id).status


class TestTheApi:
    def test_the_author_cannot_approve_their_own_briefing(
        self, anonymous_client, db, people, submitted
    ):
        r = anonymous_client.post(
            f"{API}/{submitted.id}/approve",
            json={"check_read": True},
            headers=token(db, people["author"]),
        )
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "four_eyes"
        assert "You wrote this version, so someone else must approve it" in r.json()["detail"]
        assert status(db, submitted) == VersionStatus.SUBMITTED
        assert approvals(db, submitted) == []

    def test_someone_else_approves_and_is_recorded(self, anonymous_client, db, people, submitted):
        headers = token(db, people["approver"])
        r = anonymous_client.post(
            f"{API}/{submitted.id}/approve", json={"check_read": True}, headers=headers
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "approved"
        assert body["drafted_by"] == "author@example.org"
        assert body["approvals"] == [
            {"approver": "second.approver@example.org", "approved_at": body["approved_at"]}
        ]
        assert body["approved_by"] == "second.approver@example.org"
        assert body["approved_at"].startswith("2026-11-23")
        assert anonymous_client.get(f"{API}/{submitted.id}", headers=headers).json() == body
        [approval] = approvals(db, submitted)
        assert (approval.user_id, approval.check_read) == (people["approver"].id, True)

    @pytest.mark.parametrize("body", [{}, {"check_read": False}], ids=["missing", "false"])
    def test_check_read_is_required_with_a_field_error(
        self, anonymous_client, db, people, submitted, body
    ):
        r = anonymous_client.post(
            f"{API}/{submitted.id}/approve", json=body, headers=token(db, people["approver"])
        )
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == ["check_read"]
        assert status(db, submitted) == VersionStatus.SUBMITTED
        assert approvals(db, submitted) == []


class TestTheService:
    def test_a_system_actor_cannot_approve(self, db, submitted, settings):
        with pytest.raises(workflow.FourEyes, match="cannot approve it"):
            workflow.approve(
                db, version=submitted, actor=SYSTEM, settings=settings.now(), check_read=True
            )

    def test_whoever_saved_in_the_draft_is_an_author_too(self, db, people, settings):
        author, editor, third = (actor_of(people[k]) for k in ("author", "approver", "third"))
        version = draft(db, author)
        assert (version.drafted_by, version.author_ids) == ("author@example.org", [author.user_id])
        version = workflow.save(
            db,
            version=version,
            sections={"commentary": "The group is asked to note the findings."},
            marking=Marking.OFFICIAL,
            read_lock=version.lock_version,
            actor=editor,
        )
        assert version.author_ids == [author.user_id, editor.user_id]
        workflow.submit(
            db, version=version, actor=author, settings=settings.now(), confirm_small_counts=True
        )
        for who in (author, editor):
            with pytest.raises(workflow.FourEyes, match="someone else must approve it"):
                workflow.approve(
                    db, version=version, actor=who, settings=settings.now(), check_read=True
                )
        workflow.approve(db, version=version, actor=third, settings=settings.now(), check_read=True)
        assert version.status == VersionStatus.APPROVED
        assert version.approved_by == "third.approver@example.org"

    def test_whoever_shows_a_table_as_fewer_is_an_author_too(self, db, people, settings):
        audit = make_audit(db, children=3, agencies_count=2)
        audit.status = AuditStatus.LEARNING
        for child in db.scalars(select(Child).where(Child.audit_id == audit.id)):
            child.age_band = AgeBand.AGE_10_13  # a table of children by age band to show
        author, editor = (actor_of(people[k]) for k in ("author", "approver"))
        version = draft(db, author, audit=audit, kind=BriefingKind.BRIEFING)
        suppression.suppress_table(
            db, version=version, table="children-by-age-band", settings=settings.now(), actor=editor
        )
        # It changes what the document prints: the editor may not approve it either.
        assert version.author_ids == [author.user_id, editor.user_id]

    def test_a_new_version_is_drafted_by_whoever_starts_it(self, db, people, submitted, settings):
        approver = actor_of(people["approver"])
        workflow.approve(
            db, version=submitted, actor=approver, settings=settings.now(), check_read=True
        )
        submitted.status = VersionStatus.PUBLISHED  # as the render queue would leave it
        db.flush()
        draft = workflow.new_version(db, version=submitted, actor=approver)
        assert (draft.drafted_by, draft.author_ids) == (
            "second.approver@example.org",
            [approver.user_id],
        )


def post(client, page: str, path: str, **data):
    token = CSRF.search(client.get(page).text).group(1)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


class TestThePages:
    def test_the_author_is_told_someone_else_must_approve(
        self, anonymous_client, db, people, submitted
    ):
        browse_as(anonymous_client, db, people["author"])
        editor = f"/briefings/versions/{submitted.id}"
        page = anonymous_client.get(editor).text
        assert "You wrote this version, so someone else must approve it (four eyes)." in page
        assert f'action="{editor}/approve"' not in page
        assert "Drafted by author@example.org" in words(page)
        # A page left open from before, posted anyway: refused, nothing recorded.
        refused = post(anonymous_client, editor, f"{editor}/approve", check_read="yes")
        assert refused.status_code == 403
        assert "someone else must approve it (four eyes)" in unescape(refused.text)
        assert status(db, submitted) == VersionStatus.SUBMITTED
        assert approvals(db, submitted) == []

    def test_the_approver_reads_the_check_ticks_the_box_and_is_shown(
        self, anonymous_client, db, people, submitted
    ):
        browse_as(anonymous_client, db, people["approver"])
        editor = f"/briefings/versions/{submitted.id}"
        page = anonymous_client.get(editor).text
        shown = words(page)
        # The check's results come before the box that says they were read.
        results = page.index('id="check-results"')
        assert results < page.index("I have read the identification check")
        for problem in submitted.check_report:
            assert problem["message"] in unescape(page)

        unticked = post(anonymous_client, editor, f"{editor}/approve")
        assert unticked.status_code == 422
        summary = SUMMARY.search(unticked.text).group(0)
        assert 'href="#check_read"' in summary
        assert "Confirm you have read the identification check" in summary
        assert status(db, submitted) == VersionStatus.SUBMITTED

        ticked = post(anonymous_client, editor, f"{editor}/approve", check_read="yes")
        assert ticked.status_code == 303, ticked.text
        assert status(db, submitted) == VersionStatus.APPROVED
        shown = words(anonymous_client.get(editor).text)
        assert "Drafted by author@example.org" in shown
        assert "Approved by second.approver@example.org on 23 November 2026" in shown
        # Next to the Publish button too.
        assert (
            "Drafted by author@example.org. Approved by second.approver@example.org on "
            "23 November 2026. Publishing makes the PDF once"
        ) in shown

    def test_what_the_check_finds_after_the_page_was_read_stops_the_approval(
        self, anonymous_client, db, people, submitted
    ):
        browse_as(anonymous_client, db, people["approver"])
        editor = f"/briefings/versions/{submitted.id}"
        page = anonymous_client.get(editor).text
        token = CSRF.search(page).group(1)
        seen = re.search(r'name="check_seen" value="([0-9a-f]+)"', page).group(1)
        # Then the audit's title, which the document prints, gains a postcode district:
        # a new thing to check that the approver never read.
        audit = db.get(Audit, submitted.briefing.audit_id)
        audit.title = f"{audit.title} in WR5"
        db.commit()
        stale = anonymous_client.post(
            f"{editor}/approve",
            # Even ticking "I have checked each thing listed": not what is listed now.
            data={
                "csrf_token": token,
                "check_read": "yes",
                "confirm_small_counts": "yes",
                "check_seen": seen,
            },
            follow_redirects=False,
        )
        assert stale.status_code == 409
        assert "finds something different from what you read" in unescape(stale.text)
        assert status(db, submitted) == VersionStatus.SUBMITTED
        # Read again (the page now shows it), the approval goes through.
        page = anonymous_client.get(editor).text
        assert "WR5" in unescape(page)
        ticked = post(
            anonymous_client,
            editor,
            f"{editor}/approve",
            check_read="yes",
            confirm_small_counts="yes",
            check_seen=re.search(r'name="check_seen" value="([0-9a-f]+)"', page).group(1),
        )
        assert ticked.status_code == 303, ticked.text
        assert status(db, submitted) == VersionStatus.APPROVED

    def test_the_api_approves_only_the_check_its_caller_read(
        self, anonymous_client, db, people, submitted
    ):
        headers = token(db, people["approver"])
        read = anonymous_client.get(f"{API}/{submitted.id}", headers=headers).json()
        # As in the page: the audit's title, printed in the document, gains a district.
        audit = db.get(Audit, submitted.briefing.audit_id)
        audit.title = f"{audit.title} in WR5"
        db.commit()
        body = {"check_read": True, "confirm_small_counts": True}
        path = f"{API}/{submitted.id}/approve"
        stale = anonymous_client.post(
            path, json={**body, "check_seen": read["check_digest"]}, headers=headers
        )
        assert stale.status_code == 409, stale.text
        assert "finds something different from what you read" in stale.json()["detail"]
        assert status(db, submitted) == VersionStatus.SUBMITTED
        # Read again: the approver now reads the check as it runs, WR5 and all.
        again = anonymous_client.get(f"{API}/{submitted.id}", headers=headers).json()
        assert any("WR5" in p["excerpt"] for p in again["check_report"])
        assert again["check_digest"] != read["check_digest"]
        approved = anonymous_client.post(
            path, json={**body, "check_seen": again["check_digest"]}, headers=headers
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"
        # The author reads the check as it was stored at submission, not re-run.
        author = anonymous_client.get(f"{API}/{submitted.id}", headers=token(db, people["author"]))
        assert author.json()["check_report"] == db.get(BriefingVersion, submitted.id).check_report


class TestTwoApprovers:
    def test_one_approval_waits_for_a_second_persons(
        self, anonymous_client, db, people, submitted, settings
    ):
        settings(briefing_approvers=2)
        editor = f"/briefings/versions/{submitted.id}"
        browse_as(anonymous_client, db, people["approver"])
        first = post(anonymous_client, editor, f"{editor}/approve", check_read="yes")
        assert first.status_code == 303, first.text
        assert status(db, submitted) == VersionStatus.SUBMITTED
        page = anonymous_client.get(editor).text
        assert "1 of 2 approvals" in page
        assert "You have approved this version (1 of 2 approvals)" in page
        again = post(anonymous_client, editor, f"{editor}/approve", check_read="yes")
        assert again.status_code == 409
        assert "You have already approved this version" in unescape(again.text)
        assert len(approvals(db, submitted)) == 1

        browse_as(anonymous_client, db, people["third"])
        second = post(anonymous_client, editor, f"{editor}/approve", check_read="yes")
        assert second.status_code == 303, second.text
        assert status(db, submitted) == VersionStatus.APPROVED
        version = db.get(BriefingVersion, submitted.id)
        assert version.approved_by == ("second.approver@example.org and third.approver@example.org")
        assert [a.approver for a in approvals(db, submitted)] == [
            "second.approver@example.org",
            "third.approver@example.org",
        ]
        shown = words(anonymous_client.get(editor).text)
        assert (
            "Approved by second.approver@example.org on 23 November 2026 and "
            "third.approver@example.org on 23 November 2026."
        ) in shown

    def test_the_same_person_twice_is_refused_by_the_api(
        self, anonymous_client, db, people, submitted, settings
    ):
        settings(briefing_approvers=2)
        headers = token(db, people["approver"])
        path = f"{API}/{submitted.id}/approve"
        first = anonymous_client.post(path, json={"check_read": True}, headers=headers)
        assert first.status_code == 200 and first.json()["status"] == "submitted"
        assert first.json()["approvals_needed"] == 2
        again = anonymous_client.post(path, json={"check_read": True}, headers=headers)
        assert again.status_code == 409, again.text
        assert len(approvals(db, submitted)) == 1


class TestSendingBack:
    def test_sending_back_removes_the_approvals(self, anonymous_client, db, people, submitted):
        editor = f"/briefings/versions/{submitted.id}"
        browse_as(anonymous_client, db, people["approver"])
        post(anonymous_client, editor, f"{editor}/approve", check_read="yes")
        assert len(approvals(db, submitted)) == 1
        sent = post(anonymous_client, editor, f"{editor}/send-back", note="Say more.")
        assert sent.status_code == 303, sent.text
        db.expire_all()
        version = db.get(BriefingVersion, submitted.id)
        assert version.status == VersionStatus.DRAFT
        assert (version.approved_by, version.approved_at) == (None, None)
        assert approvals(db, submitted) == []
        # The audit log keeps who approved it.
        logged = db.scalars(
            select(AuditEvent.after)
            .where(
                AuditEvent.object_type == "briefing_version",
                AuditEvent.object_id == submitted.id,
                AuditEvent.action.in_(["briefing.approve", "briefing.send_back"]),
            )
            .order_by(AuditEvent.id)
        ).all()
        assert logged[0]["approver"] == "second.approver@example.org"
        assert logged[1]["approvals_removed"] == 1
        assert "Approved by" not in words(anonymous_client.get(editor).text)


class TestWhatTheCheckAsks:
    """The check's findings as the people approving meet them."""

    def test_a_name_typed_in_a_section_is_listed_once(self, db, people, settings):
        # An invented name, in the section and in the printed text that holds it again:
        # reported once, where it was typed.
        version = draft(db, actor_of(people["author"]), "Jayden Smith was not seen.")
        report = workflow.check(db, version=version, settings=settings.now())
        assert [(p.kind, p.where) for p in report.refusals] == [
            ("name", "Commentary for the subgroup, line 1")
        ]

    @pytest.mark.parametrize("payload", PAYLOADS)
    def test_every_payload_typed_in_a_section_is_refused_at_submission(
        self, db, people, settings, payload
    ):
        author = actor_of(people["author"])
        version = draft(db, author, f"What we found. {payload}.")
        with pytest.raises(InvalidInput, match="could identify a child"):
            workflow.submit(
                db,
                version=version,
                actor=author,
                settings=settings.now(),
                confirm_small_counts=True,
            )

    def test_a_subgroup_report_names_action_owners_on_purpose(self, db, people, settings):
        audit = make_audit(db, children=3, agencies_count=2)
        audit.status = AuditStatus.LEARNING
        db.add(
            LearningAction(
                audit_id=audit.id,
                title="Record the child's voice at every visit",
                owning_agency_id=db.scalar(
                    select(audit_agency.c.agency_id).where(audit_agency.c.audit_id == audit.id)
                ),
                owner_name="Priya Shah",  # an invented owner, named in the tracker
                due_on=date(2027, 1, 5),
            )
        )
        db.flush()
        version = draft(db, actor_of(people["author"]), audit=audit)
        context = service.document_context(db, version=version, settings=settings.now())
        assert "Priya Shah" in render.html_for("subgroup-report", context)  # printed
        report = workflow.check(db, version=version, settings=settings.now())
        assert [p for p in report.refusals if p.kind == "name"] == []

    def test_only_whoever_ticks_is_recorded_as_confirming(self, db, people, settings, submitted):
        approver = actor_of(people["approver"])
        before = submitted.small_counts_confirmed_by
        workflow.approve(
            db, version=submitted, actor=approver, settings=settings.now(), check_read=True
        )
        assert submitted.small_counts_confirmed_by == before  # the approver ticked nothing
        workflow.send_back(db, version=submitted, note="")
        assert submitted.small_counts_confirmed_by is None  # confirmed again next time
