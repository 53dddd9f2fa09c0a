"""The programme's timeline (app/programme/timeline.py and its page): each month's
audits with where each stands, and late against the plan."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from app.access.models import Role
from app.access.policy import SYSTEM
from app.audits import cohort, lifecycle
from app.audits import service as audits
from app.audits.models import AuditStatus
from app.programme import calendar, service, timeline
from app.programme.models import Repeat
from tests.helpers.audits import set_status
from tests.programme.conftest import APRIL, TODAY, make_entry

JUNE = date(2026, 6, 1)


def at(day: date):
    return time_machine.travel(datetime(day.year, day.month, day.day, 11, tzinfo=UTC), tick=False)


def status_of(page: str, title: str) -> str:
    """The status cell's words in the timeline row of the audit called ``title``."""
    row = next(r for r in re.findall(r"<tr.*?</tr>", page, re.S) if title in r)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    status = cells[2]
    tag = re.search(r'<strong class="govuk-tag ([^"]*)">\s*(.*?)\s*</strong>', status, re.S)
    assert tag is not None, row
    return tag.group(2)


def opened(db, world, entry, month: date):
    """The month's audit, made from the programme and opened for returns."""
    made = service.plan_audit(db, entry=entry, month=month)
    audit = audits.get_audit(db, audit_id=made.audit_id, actor=SYSTEM)
    cohort.add_child(db, audit=audit, pseudonym="Child A", agency_ids=[world.agencies[0].id])
    lifecycle.open_audit(db, audit=audit, confirm=True)
    db.commit()
    return audits.get_audit(db, audit_id=made.audit_id, actor=SYSTEM)


class TestLateAgainstThePlan:
    """Acceptance: the programme view marks an audit late when its moderation date
    passes unmoderated."""

    def test_open_the_day_after_its_moderation_meeting_is_late_until_moderation_starts(
        self, db, world, browse
    ):
        entry = make_entry(
            db,
            world,
            title="Neglect in the under-fives",
            repeat=Repeat.NONE,
            occurrences=1,
            first_month=JUNE,
        )
        audit = opened(db, world, entry, JUNE)
        meeting = audit.moderation_meeting_on
        assert meeting == JUNE + timedelta(days=35)
        # Signed in on each day (a web session ends after hours).
        with at(meeting):
            page = browse(Role.ADMIN).get("/programme", params={"year": 2026})
            assert page.status_code == 200
            assert status_of(page.text, audit.title) == "Open"
        with at(meeting + timedelta(days=1)):
            page = browse(Role.ADMIN).get("/programme", params={"year": 2026})
            assert status_of(page.text, audit.title) == "Late"
            assert "govuk-tag--red" in page.text and "1 late audit" in page.text
        set_status(db, audit.id, AuditStatus.MODERATION)
        db.commit()
        with at(meeting + timedelta(days=1)):
            page = browse(Role.ADMIN).get("/programme", params={"year": 2026})
            assert status_of(page.text, audit.title) == "In moderation"
            assert "late audit" not in page.text

    def test_the_audit_links_to_its_overview(self, db, world, browse):
        entry = make_entry(db, world, repeat=Repeat.NONE, occurrences=1, first_month=JUNE)
        audit = opened(db, world, entry, JUNE)
        page = browse(Role.EXECUTIVE).get("/programme")
        assert f'href="/audits/{audit.id}"' in page.text


class TestIsLate:
    @pytest.mark.parametrize(
        ("status", "meeting", "today", "late"),
        [
            (AuditStatus.OPEN, date(2026, 7, 6), date(2026, 7, 6), False),  # on the day
            (AuditStatus.OPEN, date(2026, 7, 6), date(2026, 7, 7), True),
            (AuditStatus.PLANNED, date(2026, 7, 6), date(2026, 7, 7), True),
            (AuditStatus.MODERATION, date(2026, 7, 6), date(2026, 7, 7), False),
            (AuditStatus.LEARNING, date(2026, 7, 6), date(2026, 9, 1), False),
            (AuditStatus.OPEN, None, date(2026, 9, 1), False),  # no meeting set: not late
            # The month over, never opened:
            (None, None, date(2026, 6, 30), False),
            (None, None, date(2026, 7, 1), True),
            (AuditStatus.PLANNED, None, date(2026, 7, 1), True),
            (AuditStatus.OPEN, None, date(2026, 7, 1), False),
        ],
    )
    def test_the_rule(self, status, meeting, today, late):
        assert timeline.is_late(JUNE, status, meeting, today) is late


class TestTheYear:
    def test_a_year_runs_april_to_march(self):
        assert calendar.year_of(date(2026, 4, 1)) == 2026
        assert calendar.year_of(date(2027, 3, 31)) == 2026
        assert calendar.year_months(2026)[0] == APRIL
        assert calendar.year_months(2026)[-1] == date(2027, 3, 1)

    def test_each_month_shows_each_entry_once_in_order_with_nothing_planned_said(
        self, db, world, browse
    ):
        make_entry(db, world)
        make_entry(
            db,
            world,
            title="Voice of the child",
            repeat=Repeat.QUARTERLY,
            occurrences=2,
            first_month=date(2026, 9, 1),
        )
        view = timeline.year_view(db, actor=SYSTEM, year=2026, today=TODAY)
        assert [s.month for s in view.slots].count(date(2026, 9, 1)) == 2
        assert len(view.slots) == 14
        # April and May are over with no audit: late; June is not over yet.
        assert [s.late for s in view.slots[:3]] == [True, True, False]
        assert view.slots[2].label == "Not yet planned"
        next_year = timeline.year_view(db, actor=SYSTEM, year=2027, today=TODAY)
        assert next_year.slots == [] and next_year.entries == []
        page = browse(Role.SCRUTINEER).get("/programme", params={"year": 2027})
        assert page.status_code == 200
        assert page.text.count("Nothing planned") == 12
        assert "Nothing is planned for this year yet." in page.text
        assert "April 2027 to March 2028" in page.text

    def test_the_year_today_is_in_unless_asked(self, db, world, browse):
        page = browse(Role.SUBGROUP_CHAIR).get("/programme")
        assert "April 2026 to March 2027" in page.text
        assert browse(Role.ADMIN).get("/programme", params={"year": 1999}).status_code == 422

    def test_an_agencys_people_open_only_their_agencys_audits(self, db, world, browse):
        entry = make_entry(
            db,
            world,
            repeat=Repeat.NONE,
            occurrences=1,
            first_month=JUNE,
            agency_ids=[world.agencies[1].id],
        )
        made = service.plan_audit(db, entry=entry, month=JUNE)
        db.commit()
        lead = browse(Role.AGENCY_LEAD, world.agencies[0])
        page = lead.get("/programme")
        assert page.status_code == 200
        assert status_of(page.text, entry.title) == "Planned"
        assert f'/audits/{made.audit_id}"' not in page.text
        body = lead.get("/api/v1/programme").json()
        (month,) = body["entries"][0]["months"]
        assert month == {"month": "2026-06-01", "state": "planned", "late": False, "audit_id": None}
        own = browse(Role.AGENCY_LEAD, world.agencies[1])
        assert own.get("/api/v1/programme").json()["entries"][0]["months"][0]["audit_id"] == (
            made.audit_id
        )


class TestWaitingToBeConfirmed:
    def test_the_admin_sees_the_planned_audits_made_from_it_linked_to_their_planning(
        self, db, world, browse
    ):
        entry = make_entry(db, world)
        made = service.plan_audit(db, entry=entry, month=JUNE)
        other = service.plan_audit(db, entry=entry, month=date(2026, 7, 1))
        opened_audit = audits.get_audit(db, audit_id=other.audit_id, actor=SYSTEM)
        cohort.add_child(
            db, audit=opened_audit, pseudonym="Child A", agency_ids=[world.agencies[0].id]
        )
        lifecycle.open_audit(db, audit=opened_audit, confirm=True)
        db.commit()
        page = browse(Role.ADMIN).get("/programme").text
        waiting = page[page.index("Audits waiting to be confirmed") : page.index('id="timeline"')]
        assert f'href="/admin/audits/{made.audit_id}"' in waiting
        assert f"/admin/audits/{other.audit_id}" not in waiting  # opened: confirmed
        chair = browse(Role.EXECUTIVE).get("/programme").text
        assert "Audits waiting to be confirmed" not in chair and "Plan now" not in chair


def test_an_archived_entrys_months_that_ran_stay_on_the_record(db, world):
    """Archived in the autumn, a monthly audit's months that had an audit stay in the
    year's timeline (what ran is what inspectors ask about); the months to come go."""
    entry = make_entry(db, world)
    made = service.plan_audit(db, entry=service.get_entry(db, entry_id=entry.id), month=APRIL)
    service.archive_entry(db, entry=service.get_entry(db, entry_id=entry.id))
    db.commit()
    view = timeline.year_view(db, actor=SYSTEM, year=2026, today=TODAY)
    assert [(s.month, s.audit_id) for s in view.slots] == [(APRIL, made.audit_id)]
    assert view.entries == []  # nothing left to change in it
