"""The programme's audits made on schedule (app/programme/schedule.py): a repeating
entry's months each get their planned audit four weeks ahead, once, whether from the
courier's rounds, ``audit-tools programme create-due`` or two rounds at once."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.access.policy import SYSTEM
from app.audit_templates import service as templates
from app.auditlog.models import AuditEvent
from app.audits import service as audits
from app.audits.models import Audit, AuditStatus
from app.config import Settings
from app.errors import Conflict
from app.notifications import courier
from app.programme import calendar, schedule, service
from app.programme.models import ProgrammeOccurrence, Repeat
from tests.programme.conftest import APRIL, make_entry


def every_day(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def factory_of(db):
    return lambda: nullcontext(db)


class TestAMonthlyAuditForAYear:
    """Acceptance: a recurring monthly audit creates its planned audits for 12 months."""

    def test_each_month_gets_its_planned_audit_four_weeks_ahead_and_once(self, db, world):
        entry = make_entry(db, world, today=date(2026, 2, 20))
        made_on: dict[date, date] = {}
        later_version = None
        for day in every_day(date(2026, 2, 20), date(2027, 4, 30)):
            if day == date(2026, 9, 15):
                # The template moves on mid-year: later audits use its new version.
                later_version = templates.start_new_version(db, version=world.version)
                templates.publish(db, version=later_version)
            for planned in schedule.create_due(factory_of(db), today=day):
                assert planned.month not in made_on
                made_on[planned.month] = day
        months = [calendar.add_months(APRIL, n) for n in range(12)]
        assert sorted(made_on) == months
        # Each made 28 days before its month starts, the first day it was due.
        assert all(made_on[m] == m - timedelta(days=28) for m in months)

        made = db.scalars(select(Audit).order_by(Audit.returns_due_on)).all()
        assert len(made) == 12
        for month, audit in zip(months, made, strict=True):
            full = audits.get_audit(db, audit_id=audit.id, actor=SYSTEM)
            assert full.title == f"Front Door referrals audit - {month:%B %Y}"
            assert full.status == AuditStatus.PLANNED
            assert full.returns_due_on == month + timedelta(days=21)
            assert full.moderation_meeting_on == month + timedelta(days=35)
            assert full.lead_subgroup_id == world.qapp.id
            assert sorted(a.id for a in full.agencies) == sorted(a.id for a in world.agencies)
            expected = later_version if made_on[month] >= date(2026, 9, 15) else world.version
            assert full.template_version_id == expected.id
            assert "draw 10 cases" in full.description
        occurrences = db.scalars(
            select(ProgrammeOccurrence).where(ProgrammeOccurrence.entry_id == entry.id)
        ).all()
        assert sorted((o.month, o.audit_id) for o in occurrences) == sorted(
            (m, a.id) for m, a in zip(months, made, strict=True)
        )

        # A second run through the year makes nothing more.
        again = [
            p
            for day in every_day(date(2026, 2, 20), date(2027, 4, 30))
            for p in schedule.create_due(factory_of(db), today=day)
        ]
        assert again == []
        assert db.scalar(select(func.count(Audit.id))) == 12

    def test_each_audit_made_is_logged_against_its_entry(self, db, world):
        entry = make_entry(db, world)
        made = schedule.create_due(factory_of(db), today=date(2026, 6, 10))
        assert [p.month for p in made] == [date(2026, 6, 1), date(2026, 7, 1)]
        logged = db.scalars(
            select(AuditEvent).where(
                AuditEvent.object_type == "programme_entry",
                AuditEvent.object_id == entry.id,
                AuditEvent.action == "programme_entry.plan",
            )
        ).all()
        assert [e.after for e in logged] == [
            {"month": p.month.isoformat(), "audit_id": p.audit_id} for p in made
        ]


class TestWhatIsDue:
    def test_a_month_is_due_from_four_weeks_before_until_it_ends(self, db, world):
        entry = make_entry(db, world, repeat=Repeat.NONE, occurrences=1, first_month=APRIL)
        assert schedule.due_months(entry, date(2026, 3, 3)) == []
        assert schedule.due_months(entry, date(2026, 3, 4)) == [APRIL]
        assert schedule.due_months(entry, date(2026, 4, 30)) == [APRIL]
        # A month over with no audit is not made after the event: the programme shows it
        # late, and an admin may plan it now.
        assert schedule.due_months(entry, date(2026, 5, 1)) == []

    def test_a_quarterly_entry_falls_every_three_months(self, db, world):
        entry = make_entry(db, world, repeat=Repeat.QUARTERLY, occurrences=4)
        assert calendar.months_of(entry) == [
            date(2026, 4, 1),
            date(2026, 7, 1),
            date(2026, 10, 1),
            date(2027, 1, 1),
        ]

    def test_an_archived_entry_makes_nothing(self, db, world):
        entry = make_entry(db, world)
        service.archive_entry(db, entry=entry)
        assert schedule.create_due(factory_of(db), today=date(2026, 6, 10)) == []

    def test_a_month_planned_by_hand_is_not_made_again(self, db, world):
        entry = make_entry(db, world)
        by_hand = service.plan_audit(db, entry=entry, month=date(2026, 6, 1))
        made = schedule.create_due(factory_of(db), today=date(2026, 6, 10))
        assert [p.month for p in made] == [date(2026, 7, 1)]
        assert by_hand.audit_id not in {p.audit_id for p in made}


class TestRefusals:
    def test_a_month_that_cannot_be_made_is_left_and_the_others_are_made(self, db, world, caplog):
        from tests.helpers.factories import make_template

        other = make_template(db)
        broken = make_entry(
            db,
            world,
            title="On a template since retired",
            repeat=Repeat.NONE,
            occurrences=1,
            first_month=date(2026, 6, 1),
            template_family_id=other.family_id,
        )
        templates.retire(db, version=other)
        fine = make_entry(db, world)
        made = schedule.create_due(factory_of(db), today=date(2026, 6, 10))
        assert {p.entry_id for p in made} == {fine.id}
        assert "has no published version" in caplog.text
        assert broken.id not in {p.entry_id for p in made}

    def test_an_agency_or_subgroup_that_left_is_left_out_not_refused(self, db, world):
        from app.agencies import service as agencies

        entry = make_entry(db, world)
        agencies.update_agency(db, agency=world.agencies[1], changes={"active": False})
        agencies.update_subgroup(db, subgroup=world.qapp, changes={"active": False})
        made = service.plan_audit(db, entry=entry, month=date(2026, 6, 1))
        audit = audits.get_audit(db, audit_id=made.audit_id, actor=SYSTEM)
        assert [a.id for a in audit.agencies] == [world.agencies[0].id]
        assert audit.lead_subgroup_id is None

    def test_two_rounds_at_once_make_one_audit_a_month(self, db, world, monkeypatch):
        """The second round read the month before the first made its audit: the unique
        constraint on (entry, month) refuses its second audit, and that month's savepoint
        (as ``plan_due`` makes each month in) is undone."""
        entry = make_entry(db, world)
        first = service.plan_audit(db, entry=entry, month=date(2026, 6, 1))
        # As if nothing had been made when the second round looked.
        monkeypatch.setattr(service, "occurrence_for", lambda *_args: None)
        with pytest.raises(Conflict), db.begin_nested():
            again = service.get_entry(db, entry_id=entry.id, fresh=True)
            service.plan_audit(db, entry=again, month=date(2026, 6, 1))
        assert db.scalars(select(Audit.id)).all() == [first.audit_id]


class TestWhereItRuns:
    def test_the_courier_makes_them_each_round(self, db, world):
        make_entry(db, world)
        settings = Settings(database_url="sqlite://")
        sent: list = []
        done = courier.run_round(factory_of(db), settings=settings, sender=("test", sent.append))
        assert [p.month for p in done.planned] == [date(2026, 6, 1), date(2026, 7, 1)]
        again = courier.run_round(factory_of(db), settings=settings, sender=("test", sent.append))
        assert again.planned == []

    def test_the_command_line_prints_what_it_made(self, cli_migrated_db):
        from audit_tools.cli import app
        from tests.helpers.factories import make_agency, make_template

        with cli_migrated_db() as session:
            version = make_template(session)
            agency = make_agency(session, name="Westshire Police")
            service.create_entry(
                session,
                today=date(2026, 6, 10),
                title="Front Door referrals audit",
                template_family_id=version.family_id,
                first_month=APRIL,
                repeat=Repeat.MONTHLY,
                occurrences=12,
                agency_ids=[agency.id],
            )
            session.commit()
        runner = CliRunner()
        first = runner.invoke(
            app, ["programme", "create-due", "--today", "2026-06-10"], catch_exceptions=False
        )
        assert first.exit_code == 0, first.output
        assert "'Front Door referrals audit - June 2026' for June 2026" in first.output
        assert "'Front Door referrals audit - July 2026' for July 2026" in first.output
        assert "2 audit(s) planned" in first.output
        again = runner.invoke(
            app, ["programme", "create-due", "--today", "2026-06-10"], catch_exceptions=False
        )
        assert again.exit_code == 0 and "nothing was planned" in again.output
        with cli_migrated_db() as session:
            logged = session.scalars(
                select(AuditEvent.user_label).where(AuditEvent.action == "programme_entry.plan")
            ).all()
            assert len(logged) == 2 and all(label.startswith("cli:") for label in logged)
        bad = runner.invoke(app, ["programme", "create-due", "--today", "June"])
        assert bad.exit_code == 2
