"""A briefing from draft to library, through the pages, on a real database with the
real background renderer (a worker process): the identification check refusing and
then passing, small counts confirmed, approval, publishing without the request waiting
for the PDF, exact bytes downloaded and counted, a new version superseding the old
(which stays downloadable), withdrawal, and public versus signed-in readers.

Every NHS-shaped number here is synthetic: 943 476 5919 is the example the NHS
publishes in its own documentation, and the others are made up to pass or fail the
Modulus 11 check; none belongs to anyone."""

from __future__ import annotations

import hashlib
import random
import re
import time
from datetime import date, timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from app.access import service as access
from app.access.models import Role
from app.access.policy import Actor
from app.agencies.models import Agency
from app.audit_templates import service as templates
from app.auditlog.models import AuditEvent
from app.audits.models import Audit, AuditStatus
from app.briefings import content
from app.briefings.models import Briefing, BriefingDownload, BriefingVersion, VersionStatus
from app.config import Settings
from app.db import make_sessionmaker, session_scope
from app.demo import fill_return
from app.main import create_app
from app.moderation.demo import moderate
from app.returns import service as returns
from app.returns.models import Return
from tests.helpers.access import actor_of, another_approver, signed_in_cookie
from tests.helpers.app_client import AppClient
from tests.helpers.factories import make_audit

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
LOCK = re.compile(r'name="lock_version" value="(\d+)"')


def _moderated_audit(session):
    """A small audit, every return complete and submitted, moderation finished."""
    audit = make_audit(session, children=3, agencies_count=2)
    version = templates.get_version(session, version_id=audit.template_version_id)
    rng = random.Random(3)
    for r in session.scalars(select(Return).where(Return.audit_id == audit.id)):
        fill_return(
            session,
            return_=r,
            version=version,
            rng=rng,
            complete=True,
            start=date.today() - timedelta(days=90),
        )
        session.refresh(r)
        returns.submit(session, return_=r, read_version=r.version)
    moderator = access.create_user(
        session, email="chair@example.org", display_name="QAPP Chair", roles={Role.MODERATOR}
    )
    actor = Actor(
        user_id=moderator.id, label="chair@example.org", roles=frozenset({Role.MODERATOR})
    )
    moderate(session, audit=audit, moderator=actor, rng=rng, finish=True)
    return audit.id, audit.agencies[0].id, moderator


def published_report(factory, settings: Settings) -> int:
    """A moderated audit's subgroup report, drafted, approved by someone else and
    published (its render queued); its version's id."""
    from app.briefings import workflow as briefings
    from app.briefings.models import BriefingKind, Marking

    with session_scope(factory) as session:
        audit_id, _agency_id, moderator = _moderated_audit(session)
        chair, approver = actor_of(moderator), actor_of(another_approver(session))
    with session_scope(factory) as session:
        version = briefings.create(
            session,
            audit=session.get(Audit, audit_id),
            kind=BriefingKind.SUBGROUP_REPORT,
            title="Report",
            marking=Marking.OFFICIAL,
            public=False,
            actor=chair,
        )
        briefings.submit(
            session, version=version, actor=chair, settings=settings, confirm_small_counts=True
        )
        briefings.approve(
            session, version=version, actor=approver, settings=settings, check_read=True
        )
        briefings.publish(session, version=version)
        return version.id


@pytest.fixture
def database(migrated_engine):
    """A new migrated database and its session factory, with no server running."""
    engine = migrated_engine()
    return engine.url.render_as_string(hide_password=False), make_sessionmaker(engine)


@pytest.fixture
def world(database):
    url, factory = database
    with session_scope(factory) as session:
        audit_id, agency_id, moderator = _moderated_audit(session)
        practitioner = access.create_user(
            session,
            email="p@example.org",
            display_name="P",
            roles={Role.PRACTITIONER},
            agency_id=agency_id,
        )
        cookies = {
            "moderator": signed_in_cookie(session, moderator),
            # Four eyes: the moderator drafts, someone else approves.
            "approver": signed_in_cookie(session, another_approver(session)),
            "practitioner": signed_in_cookie(session, practitioner),
        }
    app = create_app(Settings(database_url=url, environment="test", small_count_threshold=3))
    with AppClient(app) as client:  # the lifespan starts the background renderer
        yield client, factory, audit_id, agency_id, cookies


def as_(client, cookies, who):
    client.cookies.clear()
    if who:
        client.cookies.set("case_audit_session", cookies[who])
    return client


def post(client, page, path, **data):
    token = CSRF.search(client.get(page).text).group(1)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def due_on(day: date) -> dict[str, str]:
    """The publish form's GOV.UK date input for when the assurance answers are due."""
    return {
        f"assurance_due_on-{part}": str(getattr(day, part)) for part in ("day", "month", "year")
    }


def wait_until_published(factory, version_id, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with session_scope(factory) as session:
            version = session.get(BriefingVersion, version_id)
            if version.status == VersionStatus.PUBLISHED:
                return
            assert version.render_status.value != "failed", version.render_error
        time.sleep(0.2)
    raise AssertionError("the briefing was not published in time")


def test_a_briefing_from_draft_to_the_library(world):
    client, factory, audit_id, agency_id, cookies = world
    moderator = as_(client, cookies, "moderator")
    new = f"/audits/{audit_id}/briefings/new"
    created = post(
        moderator,
        new,
        new,
        kind="briefing",
        title="Learning from the audit",
        marking="OFFICIAL",
        public="no",
    )
    assert created.status_code == 303, created.text
    editor = created.headers["location"].split("?")[0]
    version_id = int(editor.rsplit("/", 1)[1])
    page = moderator.get(editor).text
    assert "Background" in page and "Why it matters" in page

    # An NHS number in a section is refused, saying what and where; nothing moves on.
    form = {
        k: v for k, v in re.findall(r'<textarea[^>]*name="(\w+)"[^>]*>([^<]*)</textarea>', page)
    }
    form = {k: v.replace("&#39;", "'").replace("&amp;", "&") for k, v in form.items()}
    bad = dict(form, improvement=form["improvement"] + "\n\nSee the record for 943 476 5919.")
    lock = LOCK.search(page).group(1)
    refused = post(
        moderator, editor, editor, **bad, marking="OFFICIAL", lock_version=lock, then="submit"
    )
    assert refused.status_code == 422
    assert "NHS number" in refused.text and "943 476 5919" in refused.text
    with session_scope(factory) as session:
        assert session.get(BriefingVersion, version_id).status == VersionStatus.DRAFT

    # The refusal saved nothing: the page's version still saves. A page left open
    # from before that save is then stale, and is refused rather than overwriting.
    saved = post(moderator, editor, editor, **form, marking="OFFICIAL", lock_version=lock)
    assert saved.status_code == 303, saved.text
    stale = post(moderator, editor, editor, **form, marking="OFFICIAL", lock_version=lock)
    assert stale.status_code == 409

    # Clean text but for the small group it names: that needs confirming, then it goes.
    # (The audit's small counts of agencies, returns and grades are not checked.)
    form["improvement"] += "\n\nFor two children the plan was late."
    page = moderator.get(editor).text
    lock = LOCK.search(page).group(1)
    unconfirmed = post(
        moderator, editor, editor, **form, marking="OFFICIAL", lock_version=lock, then="submit"
    )
    assert unconfirmed.status_code == 422 and "confirm_small_counts" in unconfirmed.text
    # The refused submission undid its save, and the page shows what was typed under
    # the lock it was typed against, so saving it from there is not refused as stale.
    assert LOCK.search(unconfirmed.text).group(1) == lock
    typed = form["improvement"].split("\n")[0]
    assert typed and typed in unescape(unconfirmed.text)
    again = post(moderator, editor, editor, **form, marking="OFFICIAL", lock_version=lock)
    assert again.status_code == 303, again.text
    confirmed = post(
        moderator, editor, f"/briefings/versions/{version_id}/submit", confirm_small_counts="yes"
    )
    assert confirmed.status_code == 303, confirmed.text
    approver = as_(client, cookies, "approver")
    approved = post(approver, editor, f"/briefings/versions/{version_id}/approve", check_read="yes")
    assert approved.status_code == 303, approved.text
    moderator = as_(client, cookies, "moderator")

    # Publishing answers at once; the PDF is made in the background, in a worker process.
    started = time.monotonic()
    published = post(moderator, editor, f"/briefings/versions/{version_id}/publish")
    assert published.status_code == 303 and time.monotonic() - started < 5
    wait_until_published(factory, version_id)

    # The library serves exactly the stored bytes and counts the download by agency.
    reader = as_(client, cookies, "practitioner")
    library = reader.get("/library").text
    assert "Learning from the audit" in library
    pdf = reader.get(f"/library/versions/{version_id}/download")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["x-content-sha256"] == hashlib.sha256(pdf.content).hexdigest()
    again = reader.get(f"/library/versions/{version_id}/download")
    assert again.content == pdf.content  # stored, not re-rendered
    with session_scope(factory) as session:
        downloads = session.scalars(select(BriefingDownload)).all()
        assert [(d.agency_id, d.signed_in) for d in downloads] == [(agency_id, True)] * 2
        # The subgroup report shows those counts, by agency.
        [shown] = content.briefing_downloads(session, audit_ids=[audit_id])
        agency_name = session.get(Agency, agency_id).name
        assert (shown["total"], shown["by_agency"]) == (2, [(agency_name, 2)])

    # Not public: nobody signed out sees it.
    anonymous = as_(client, cookies, None)
    assert "Learning from the audit" not in anonymous.get("/library").text
    assert anonymous.get(f"/library/versions/{version_id}/download").status_code == 404

    # A new version supersedes it; the old one stays downloadable, marked superseded.
    moderator = as_(client, cookies, "moderator")
    nxt = post(moderator, editor, f"/briefings/versions/{version_id}/new-version")
    v2 = int(nxt.headers["location"].split("?")[0].rsplit("/", 1)[1])
    editor2 = f"/briefings/versions/{v2}"
    assert (
        post(moderator, editor2, f"{editor2}/submit", confirm_small_counts="yes").status_code == 303
    )
    approver = as_(client, cookies, "approver")
    assert post(approver, editor2, f"{editor2}/approve", check_read="yes").status_code == 303
    moderator = as_(client, cookies, "moderator")
    post(moderator, editor2, f"{editor2}/publish")
    wait_until_published(factory, v2)
    with session_scope(factory) as session:
        assert session.get(BriefingVersion, version_id).superseded_at is not None
        briefing_id = session.get(BriefingVersion, v2).briefing_id
    entry = moderator.get(f"/library/{briefing_id}").text
    assert "Superseded" in entry and f"/library/versions/{version_id}/download" in entry
    assert moderator.get(f"/library/versions/{version_id}/download").content == pdf.content

    # Withdrawing needs a reason; a withdrawn version is no longer served.
    assert post(moderator, editor2, f"{editor2}/withdraw", reason="").status_code == 422
    assert (
        post(
            moderator, editor2, f"{editor2}/withdraw", reason="Superseded by new guidance."
        ).status_code
        == 303
    )
    assert moderator.get(f"/library/versions/{v2}/download").status_code == 404
    # Nor is the version it superseded: withdrawing withdraws the briefing.
    assert moderator.get(f"/library/versions/{version_id}/download").status_code == 404
    assert "Superseded by new guidance" not in moderator.get(f"/library/{briefing_id}").text

    with session_scope(factory) as session:
        actions = set(
            session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("briefing.%")))
        )
        assert {
            "briefing.create",
            "briefing.submit",
            "briefing.approve",
            "briefing.publish",
            "briefing.supersede",
            "briefing.withdraw",
        } <= actions
        assert session.scalar(select(func.count(BriefingVersion.id))) == 2


def test_a_public_briefing_is_read_without_signing_in(world):
    client, factory, audit_id, _agency_id, cookies = world
    moderator = as_(client, cookies, "moderator")
    new = f"/audits/{audit_id}/briefings/new"
    created = post(
        moderator,
        new,
        new,
        kind="briefing",
        title="Public learning",
        marking="OFFICIAL",
        public="yes",
    )
    editor = created.headers["location"].split("?")[0]
    version_id = int(editor.rsplit("/", 1)[1])
    post(moderator, editor, f"{editor}/submit", confirm_small_counts="yes")
    approver = as_(client, cookies, "approver")
    assert post(approver, editor, f"{editor}/approve", check_read="yes").status_code == 303
    moderator = as_(client, cookies, "moderator")
    # Publishing can also ask each agency whether the learning landed.
    past = post(moderator, editor, f"{editor}/publish", assurance="yes", **due_on(date.today()))
    assert past.status_code == 422 and "Choose a date in the future" in past.text
    missing = post(moderator, editor, f"{editor}/publish", assurance="yes")
    assert missing.status_code == 422 and "Enter the date the answers are due" in missing.text
    due = (date.today() + timedelta(days=21)).isoformat()
    published = post(
        moderator,
        editor,
        f"{editor}/publish",
        assurance="yes",
        **due_on(date.today() + timedelta(days=21)),
    )
    assert published.status_code == 303, published.text
    wait_until_published(factory, version_id)
    with session_scope(factory) as session:
        briefing_id = session.get(BriefingVersion, version_id).briefing_id
        questionnaire = session.get(Audit, session.get(Briefing, briefing_id).assurance_audit_id)
        assert questionnaire.status == AuditStatus.OPEN
        assert questionnaire.returns_due_on.isoformat() == due
        agencies = session.scalars(
            select(Return.agency_id).where(Return.audit_id == questionnaire.id)
        ).all()
        assert sorted(agencies) == sorted(
            session.scalars(select(Return.agency_id).where(Return.audit_id == audit_id)).unique()
        )
        report = content.subgroup_report_context(
            session,
            audits=[session.get(Audit, audit_id)],
            subgroup_name=None,
            marking="OFFICIAL",
            version_label="Version 1",
            dated=date.today(),
            today=date.today(),
            settings=Settings(database_url="sqlite://"),
        )
        [summary] = report["assurance"]
        assert summary["answered"] == 0 and len(summary["agencies"]) == len(agencies)
    anonymous = as_(client, cookies, None)
    assert "Public learning" in anonymous.get("/library").text
    pdf = anonymous.get(f"/library/versions/{version_id}/download")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    with session_scope(factory) as session:
        [download] = session.scalars(select(BriefingDownload)).all()
        assert download.agency_id is None and not download.signed_in


def test_only_a_moderated_audit_gets_a_briefing(world):
    client, factory, _audit_id, _agency_id, cookies = world
    with session_scope(factory) as session:
        open_audit = make_audit(session, children=1, agencies_count=1)
        open_id = open_audit.id
    moderator = as_(client, cookies, "moderator")
    new = f"/audits/{open_id}/briefings/new"
    refused = post(
        moderator, new, new, kind="briefing", title="Too early", marking="OFFICIAL", public="no"
    )
    assert refused.status_code == 422 and "finish moderation first" in refused.text
    assert as_(client, cookies, "practitioner").get("/briefings").status_code == 403


def test_a_long_note_is_refused_not_cut(world):
    """A note or reason past 2,000 characters is refused in the page's words (it used
    to be cut short without a word), and one with control characters too."""
    client, factory, audit_id, _agency_id, cookies = world
    moderator = as_(client, cookies, "moderator")
    new = f"/audits/{audit_id}/briefings/new"
    created = post(
        moderator, new, new, kind="briefing", title="Notes", marking="OFFICIAL", public="no"
    )
    editor = created.headers["location"]
    post(moderator, editor, f"{editor}/submit", confirm_small_counts="yes")
    long = post(moderator, editor, f"{editor}/send-back", note="x" * 2001)
    assert long.status_code == 422 and "2,000 characters or fewer" in long.text
    nul = post(moderator, editor, f"{editor}/send-back", note="Fix\x00 it")
    assert nul.status_code == 422 and "must not contain control characters" in nul.text
    version_id = int(editor.rsplit("/", 1)[1])
    with session_scope(factory) as session:
        assert session.get(BriefingVersion, version_id).status == VersionStatus.SUBMITTED
    sent = post(moderator, editor, f"{editor}/send-back", note="x" * 2000)
    assert sent.status_code == 303


def test_a_render_abandoned_by_a_stopped_server_is_taken_up_again(database):
    """No server runs here: a running one's background renderer would race this test
    for the requeued render."""
    from app.briefings import jobs, render_queue
    from app.briefings.models import RenderStatus

    _url, factory = database
    settings = Settings(database_url="sqlite://", small_count_threshold=3)
    version_id = published_report(factory, settings)
    with session_scope(factory) as session:
        assert render_queue.start_render(session, version_id=version_id)
    # The server stops mid-render: the claim stays, and nothing else takes it...
    assert jobs.process_pending(factory, settings) == 0
    with session_scope(factory) as session:
        row = session.get(BriefingVersion, version_id)
        assert row.render_status == RenderStatus.RENDERING
        row.render_claimed_at -= jobs.ABANDONED_AFTER + timedelta(seconds=1)
    # ...until the claim is older than any render takes; then it is queued and made.
    assert jobs.process_pending(factory, settings) == 1
    with session_scope(factory) as session:
        assert session.get(BriefingVersion, version_id).status == VersionStatus.PUBLISHED
