"""The start page (app/home): what needs each signed-in person's attention, by role,
counted on a small synthetic partnership with the clock pinned; nothing counted that
the person could not open; a fixed number of statements however much there is; and
anyone not signed in still sent to sign in."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from html import unescape

import pytest
from sqlalchemy import select

from app.access import service as access
from app.access.models import GrantDecision, Role, RoleGrantRequest, User
from app.actions.models import ActionStatus, LearningAction
from app.agencies.models import Agency, Subgroup
from app.audits import cohort, lifecycle
from app.audits import service as audits
from app.audits.models import Audit, AuditStatus, Child
from app.briefings.models import Briefing, BriefingKind, BriefingVersion, Marking, VersionStatus
from app.clock import utcnow
from app.home import service as attention
from app.notifications.models import Notification
from app.returns import work
from app.returns.models import Return, ReturnStatus
from tests.helpers.access import actor_of, browse_as
from tests.helpers.factories import make_agency, make_template
from tests.helpers.statements import page_and_statements

TODAY = date(2026, 3, 2)
_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr("app.clock.today", lambda: TODAY)


@pytest.fixture
def browser(anonymous_client, db):
    """A browser that sees the database as a new request would."""
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    return anonymous_client


# --- a small partnership -------------------------------------------------------------


def _audit(db, title, agencies, children, *, due_on, open_=True, version=None) -> Audit:
    """An audit of ``children`` {pseudonym: [agencies involved]}, opened unless not."""
    made = audits.create_audit(
        db,
        template_version_id=(version or make_template(db)).id,
        title=title,
        returns_due_on=due_on,
        agency_ids=[a.id for a in agencies],
    )
    for pseudonym, involved in children.items():
        cohort.add_child(db, audit=made, pseudonym=pseudonym, agency_ids=[a.id for a in involved])
    if open_:
        lifecycle.open_audit(db, audit=made, confirm=True)
    db.flush()
    return made


def _return(db, audit: Audit, agency: Agency, child: str) -> Return:
    return db.scalars(
        select(Return)
        .join(Child, Child.id == Return.child_id)
        .where(Return.audit_id == audit.id, Return.agency_id == agency.id, Child.pseudonym == child)
    ).one()


def _person(db, role: Role, name: str, agency: Agency | None = None) -> User:
    return access.create_user(
        db,
        email=f"{name.lower().replace(' ', '.')}.{next(_seq)}@example.org",
        display_name=name,
        roles={role},
        agency_id=agency.id if agency else None,
    )


def _briefing(db, audit: Audit, title: str, status: VersionStatus, authors: list[int]):
    briefing = Briefing(audit_id=audit.id, kind=BriefingKind.BRIEFING, title=title)
    db.add(briefing)
    db.flush()
    db.add(
        BriefingVersion(
            briefing_id=briefing.id,
            number=1,
            status=status,
            marking=Marking.OFFICIAL,
            author_ids=authors,
            submitted_at=datetime.combine(TODAY, time(12), tzinfo=UTC),
        )
    )
    db.flush()
    return briefing


def _action(db, audit: Audit, agency: Agency, *, due_on: date, status=ActionStatus.AGREED):
    db.add(
        LearningAction(
            audit_id=audit.id,
            title=f"Action {next(_seq)}",
            owning_agency_id=agency.id,
            owner_name="Named owner",
            due_on=due_on,
            status=status,
        )
    )


def _notification(db, user: User, subject: str) -> None:
    db.add(
        Notification(
            kind="audit_opened",
            user_id=user.id,
            email=user.email,
            subject=subject,
            body="Synthetic.",
            object_type="audit",
        )
    )


@dataclass
class Partnership:
    x: Agency
    y: Agency
    overdue: Audit
    soon: Audit
    moderating: Audit
    questionnaire: Audit
    auditor_x: User
    auditor_y: User
    lead_x: User
    moderator: User
    admin: User
    other_admin: User


def _build(db, agencies: tuple[Agency, Agency] | None = None) -> Partnership:
    """Two agencies, X and Y, in:
    - "Overdue audit" (open, due yesterday): Child A and B, both agencies, nothing in;
      X's Child A sent to X's lead for sign-off;
    - "Soon audit" (open, due in 3 days): Child A and B both agencies, Child C X only;
      X's Child A assigned to X's auditor, X's Child B sent back, X's Child C and Y's
      Child A submitted;
    - "Moderating audit" (in moderation, due 10 days ago): Child A and B, both; X's
      Child A and Y's Child A submitted, X's Child B sent back, Y's Child B moderated;
    - a planned audit, and a briefing's questionnaire (open, due in 5 days) for both;
    - briefings: one submitted by the admin, one by the moderator, one approved;
    - learning actions: X's overdue, X's not yet due, Y's overdue;
    - a request for a role from the other admin, and one from the admin.
    Given ``agencies``, X and Y are those (a second partnership's work is theirs too)."""
    x, y = agencies or (make_agency(db, name="Agency X"), make_agency(db, name="Agency Y"))
    both = [x, y]
    overdue = _audit(
        db, "Overdue audit", both, {"Child A": both, "Child B": both}, due_on=TODAY - timedelta(1)
    )
    soon = _audit(
        db,
        "Soon audit",
        both,
        {"Child A": both, "Child B": both, "Child C": [x]},
        due_on=TODAY + timedelta(3),
    )
    moderating = _audit(
        db,
        "Moderating audit",
        both,
        {"Child A": both, "Child B": both},
        due_on=TODAY - timedelta(10),
    )
    _audit(db, "Planned audit", both, {"Child A": both}, due_on=TODAY + timedelta(30), open_=False)
    questionnaire = _audit(
        db, "Learning assurance: B1", both, {"Briefing 1": both}, due_on=TODAY + timedelta(5)
    )
    auditor_x = _person(db, Role.AUDITOR, "Auditor X", x)
    auditor_y = _person(db, Role.AUDITOR, "Auditor Y", y)
    lead_x = _person(db, Role.AGENCY_LEAD, "Lead X", x)
    moderator = _person(db, Role.MODERATOR, "Moderator")
    admin = _person(db, Role.ADMIN, "Admin")
    other_admin = _person(db, Role.ADMIN, "Other admin")

    signed = _return(db, overdue, x, "Child A")
    signed.status = ReturnStatus.DRAFT
    signed.sign_off_requested_at = utcnow()
    signed.sign_off_version = signed.version
    _return(db, soon, x, "Child A").assigned_to_id = auditor_x.id
    _return(db, soon, x, "Child B").status = ReturnStatus.RETURNED
    _return(db, soon, x, "Child C").status = ReturnStatus.SUBMITTED
    _return(db, soon, y, "Child A").status = ReturnStatus.SUBMITTED
    moderating.status = AuditStatus.MODERATION
    _return(db, moderating, x, "Child A").status = ReturnStatus.SUBMITTED
    _return(db, moderating, x, "Child B").status = ReturnStatus.RETURNED
    _return(db, moderating, y, "Child A").status = ReturnStatus.SUBMITTED
    _return(db, moderating, y, "Child B").status = ReturnStatus.MODERATED

    b1 = _briefing(db, moderating, "B1", VersionStatus.PUBLISHED, [admin.id])
    b1.assurance_audit_id = questionnaire.id
    _briefing(db, moderating, "Briefing by the admin", VersionStatus.SUBMITTED, [admin.id])
    _briefing(db, moderating, "Briefing by the moderator", VersionStatus.SUBMITTED, [moderator.id])
    _briefing(db, moderating, "Approved briefing", VersionStatus.APPROVED, [admin.id])

    _action(db, moderating, x, due_on=TODAY - timedelta(2))
    _action(db, moderating, x, due_on=TODAY + timedelta(20))
    _action(db, moderating, x, due_on=TODAY - timedelta(2), status=ActionStatus.COMPLETED)
    _action(db, moderating, y, due_on=TODAY - timedelta(2))

    for by, for_ in ((other_admin, auditor_y), (admin, auditor_x)):
        db.add(
            RoleGrantRequest(
                user_id=for_.id,
                roles=["moderator"],
                roles_before=["auditor"],
                requested_by_id=by.id,
                requested_by_label=by.email,
                decision=GrantDecision.PENDING,
            )
        )
    db.commit()
    return Partnership(
        x, y, overdue, soon, moderating, questionnaire,
        auditor_x, auditor_y, lead_x, moderator, admin, other_admin,
    )  # fmt: skip


@pytest.fixture
def partnership(db) -> Partnership:
    return _build(db)


def _sections(page: attention.StartPage) -> dict[str, list[tuple[str, str]]]:
    return {s.title: [(r.key, r.value) for r in s.rows] for s in page.sections}


def _start(db, user: User) -> attention.StartPage:
    return attention.start_page(db, actor=actor_of(user), today=TODAY)


# --- each role's sections --------------------------------------------------------------


def test_an_auditor_sees_their_agencys_returns_to_do_overdue_first(db, partnership):
    p = partnership
    assert _sections(_start(db, p.auditor_x)) == {
        "Your agency's returns": [
            # Overdue audit's two, and the sent-back one in moderation (due 10 days ago).
            ("Overdue", "3 returns past their due date"),
            ("To do", "5 returns in current audits"),
            ("Assigned to you", "1 return your agency's lead gave you"),
            ("Sent back for amendment", "2 returns to change and submit"),
            ("Questionnaires", "1 learning assurance questionnaire to answer"),
        ]
    }


def test_an_auditors_counts_are_my_works(db, partnership):
    """The start page counts what My work lists (app/returns/work.py), no more."""
    for user in (partnership.auditor_x, partnership.auditor_y):
        rows = dict(_sections(_start(db, user))["Your agency's returns"])
        mine = work.my_work(db, actor=actor_of(user), today=TODAY)
        to_do = int(rows["To do"].split()[0]) + int(rows["Questionnaires"].split()[0])
        assert (to_do, int(rows["Overdue"].split()[0])) == (mine.to_do_count, mine.overdue_count)


def test_an_auditor_never_counts_another_agencys_returns(db, partnership):
    """Y's auditor counts Y's returns only: not X's, though in moderation every agency
    may read every submitted return (the reveal), and nothing for an agency in no audit."""
    p = partnership
    assert _sections(_start(db, p.auditor_y)) == {
        "Your agency's returns": [
            ("Overdue", "2 returns past their due date"),
            ("To do", "3 returns in current audits"),
            ("Questionnaires", "1 learning assurance questionnaire to answer"),
        ]
    }
    elsewhere = _person(db, Role.AUDITOR, "Auditor Z", make_agency(db, name="Agency Z"))
    assert _start(db, elsewhere).nothing_waiting


def test_an_agency_lead_sees_sign_off_assignment_questionnaires_and_actions(db, partnership):
    p = partnership
    page = _start(db, p.lead_x)
    assert _sections(page) == {
        "Returns waiting for your sign-off": [
            ("Overdue audit", "1 return sent to you to sign off"),
        ],
        "Returns not yet assigned": [
            # Soonest due first: the moderating audit's sent-back return, then the rest.
            ("Moderating audit", f"1 return not given to an auditor, due {_long(TODAY - timedelta(10))}"),
            ("Overdue audit", f"2 returns not given to an auditor, due {_long(TODAY - timedelta(1))}"),
            ("Soon audit", f"1 return not given to an auditor, due {_long(TODAY + timedelta(3))}"),
        ],
        "Questionnaires to answer for your agency": [
            ("Learning assurance: B1", f"Your agency's answers are due {_long(TODAY + timedelta(5))}"),
        ],
        "Your agency's learning actions": [
            ("Overdue", "1 learning action your agency owns, past its due date"),
        ],
    }  # fmt: skip
    questionnaire = next(s for s in page.sections if s.title.startswith("Questionnaires"))
    link = questionnaire.rows[0].link
    assert link is not None
    assert link.params == {"return_id": _return(db, p.questionnaire, p.x, "Briefing 1").id}


def test_a_moderator_sees_decisions_waiting_returns_late_returns_and_approvals(db, partnership):
    page = _start(db, partnership.moderator)
    assert _sections(page) == {
        "Moderation: grades to decide": [("Moderating audit", "2 returns with grades to decide")],
        "Returns in, waiting for moderation": [
            ("Soon audit", f"2 of 5 returns in, due {_long(TODAY + timedelta(3))}"),
        ],
        "Late returns": [
            ("Moderating audit", f"1 return not in, due {_long(TODAY - timedelta(10))}"),
            ("Overdue audit", f"4 returns not in, due {_long(TODAY - timedelta(1))}"),
        ],
        # Not the one the moderator wrote (four eyes).
        "Briefings waiting for your approval": [
            ("Briefing by the admin", f"Version 1, submitted {_long(TODAY)}"),
        ],
    }  # fmt: skip


def test_an_admin_sees_planning_due_dates_briefings_to_publish_and_role_requests(db, partnership):
    assert _sections(_start(db, partnership.admin)) == {
        "Audits": [
            ("Planned", "1 audit not yet open"),
            # The soon audit and the questionnaire; not the one due yesterday.
            ("Due soon", f"2 open audits with returns due by {_long(TODAY + timedelta(7))}"),
        ],
        "Briefings to publish": [
            ("Approved", "1 briefing version approved and ready to publish"),
        ],
        # The other admin's request only: the admin's own waits for someone else.
        "Requests for a role": [
            (
                "Waiting for you",
                "1 request to give someone the administrator or moderator role, for a "
                "second administrator to approve or refuse",
            )
        ],
    }


def test_a_chair_sees_their_subgroups_overdue_actions_and_the_executive_its_own(db, partnership):
    p = partnership
    chair = _person(db, Role.SUBGROUP_CHAIR, "Chair")
    other_chair = _person(db, Role.SUBGROUP_CHAIR, "Other chair")
    executive = _person(db, Role.EXECUTIVE, "Executive member")
    led = Subgroup(name="QAPP", chair_user_id=chair.id)
    not_led = Subgroup(name="GET SAFE", chair_user_id=other_chair.id)
    db.add_all([led, not_led])
    db.flush()
    p.moderating.lead_subgroup_id = led.id
    p.overdue.lead_subgroup_id = not_led.id
    # 29 days overdue: past the Executive's threshold (28 days by default).
    _action(db, p.moderating, p.y, due_on=TODAY - timedelta(29))
    _action(db, p.overdue, p.x, due_on=TODAY - timedelta(40))
    db.commit()
    assert _sections(_start(db, chair)) == {
        "Overdue actions escalated to your subgroup": [
            (
                "QAPP",
                "3 learning actions of the audits it leads past their due date, 1 of them "
                "escalated to the Executive",
            )
        ],
    }
    row = _start(db, chair).sections[0].rows[0]
    assert row.tag == "Escalated" and row.link is not None
    assert row.link.query == {"subgroup_id": led.id, "overdue": "yes"}
    assert _sections(_start(db, executive)) == {
        "Actions escalated to the Executive": [
            ("Escalated", "2 learning actions more than 28 days overdue"),
        ],
    }


@pytest.mark.parametrize("role", [Role.SCRUTINEER, Role.PRACTITIONER])
def test_scrutineers_and_practitioners_get_links_and_notifications(db, role):
    user = _person(db, role, "Reader")
    page = _start(db, user)
    assert page.nothing_waiting
    expected = ["briefings.library"] if role == Role.PRACTITIONER else [
        "audits.list", "actions.tracker", "briefings.library"
    ]  # fmt: skip
    assert [link.route for link in page.places] == expected


def test_the_latest_three_notifications_newest_first(db, partnership):
    user = partnership.moderator
    for n in range(1, 5):
        _notification(db, user, f"Notification {n}")
        db.flush()
    subjects = [n.subject for n in _start(db, user).notifications]
    assert subjects == ["Notification 4", "Notification 3", "Notification 2"]


def test_a_section_lists_a_few_and_says_how_many_more(db, partnership):
    p = partnership
    for n in range(attention.SHOWN + 2):
        _briefing(db, p.moderating, f"More {n}", VersionStatus.SUBMITTED, [p.admin.id])
    section = next(
        s for s in _start(db, p.moderator).sections if s.title.startswith("Briefings waiting")
    )
    assert (len(section.rows), section.more) == (attention.SHOWN, 3)


# --- the page --------------------------------------------------------------------------


def _long(day: date) -> str:
    from app.formatting import format_date

    return format_date(day)


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_the_moderators_page_links_to_where_each_thing_is_done(db, browser, partnership):
    p = partnership
    browse_as(browser, db, p.moderator)
    response = browser.get("/")
    assert response.status_code == 200
    html = response.text
    assert "<title>What needs your attention" in html
    text = _text(html)
    assert "Moderation: grades to decide" in text and "2 returns with grades to decide" in text
    assert f'href="/audits/{p.moderating.id}/moderation"' in html
    assert f'href="/audits/{p.soon.id}/returns?status=submitted"' in html
    assert f'href="/audits/{p.overdue.id}"' in html
    assert "Late" in text and "See all your notifications" in text
    assert 'class="govuk-back-link"' not in html  # where everyone starts: no way back


def test_nothing_waiting_says_so(db, browser):
    user = _person(db, Role.MODERATOR, "Quiet moderator")
    db.commit()
    browse_as(browser, db, user)
    text = _text(browser.get("/").text)
    assert "There is nothing waiting for you." in text
    assert "You have not been sent any notifications yet." in text


def test_anyone_not_signed_in_is_sent_to_sign_in(browser):
    response = browser.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"


# --- its cost ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["auditor_x", "lead_x", "moderator", "admin"])
def test_the_page_costs_the_same_statements_however_much_is_waiting(db, browser, who):
    """Twice the partnership (more audits, returns, briefings, actions, requests and
    notifications), the same number of statements."""
    first = _build(db)
    user = getattr(first, who)
    browse_as(browser, db, user)
    _notification(db, user, "One")
    db.commit()
    few_html, few = page_and_statements(browser, db, "/")
    _build(db, (first.x, first.y))  # all of it X's and Y's too
    for n in range(5):
        _notification(db, user, f"More {n}")
    db.commit()
    many_html, many = page_and_statements(browser, db, "/")
    assert many_html != few_html  # more was counted
    assert many == few
