"""The retention schedule on a fixed clock: what is due is listed exactly and a dry run
changes nothing; removing it changes exactly the case text (grades, figures, the
published briefing, actions and findings about the practice stay), logs each kind
without its text, and leaves nothing for a second run; something just inside its
period stays; the settings move what is due; the audit log is listed, never removed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select, update

from app.access.models import KeptPost, SignInAttempt, SignInThrottle, WebSession
from app.access.policy import SYSTEM
from app.auditlog import chain, checkpoints
from app.auditlog import service as auditlog
from app.auditlog.maintenance import append_only_lifted
from app.auditlog.models import AuditEvent
from app.auditlog.visibility import REMOVED_SHOWN, Visibility
from app.audits.models import AuditStatus, Child
from app.config import Settings, get_settings
from app.moderation.models import ModeratedGrade
from app.retention import service as retention
from app.retention.models import RetentionRemoval
from app.retention.schedule import BY_KIND, MARKER, Period, add_years
from app.returns.models import Return
from app.returns.reading import detail
from tests.helpers.retention import (
    CASE_TEXT_COLUMNS,
    Case,
    changed_cells,
    dump,
    make_closed_audit,
    make_sign_in_records,
)

BUILT = datetime(2026, 11, 23, 12, tzinfo=UTC)
CLOSED = datetime(2027, 3, 1, 12, tzinfo=UTC)
DUE = datetime(2030, 3, 1, 12, tzinfo=UTC)  # 3 years (the default) after it closed
SETTINGS = Settings(environment="test")


@contextmanager
def at(when: datetime) -> Iterator[None]:
    with time_machine.travel(when, tick=False):
        yield


@pytest.fixture(autouse=True)
def own_checkpoints(tmp_path, monkeypatch) -> Iterator[None]:
    """Each test's checkpoints (and where its log starts) in a file of its own."""
    monkeypatch.setenv("AUDIT_AUDIT_CHECKPOINT_PATH", str(tmp_path / "checkpoints.log"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def case(db) -> Case:
    with at(BUILT):
        built = make_closed_audit(db, closed_at=CLOSED)
    db.commit()
    return built


def due_for(found: retention.Plan, audit_id: int) -> dict[str, int]:
    return {d.rule.kind: d.count for d in found.due if d.audit and d.audit.id == audit_id}


def run(db, when: datetime, settings: Settings = SETTINGS) -> list[RetentionRemoval]:
    with at(when):
        found = retention.plan(db, settings=settings)
        return retention.apply(db, plan=found)


class TestDryRun:
    def test_it_lists_exactly_what_is_due_and_changes_nothing(self, db, case):
        before = dump(db)
        with at(DUE):
            found = retention.plan(db, settings=SETTINGS)
        assert due_for(found, case.audit.id) == case.expected
        assert {d.audit.id for d in found.due if d.audit} == {case.audit.id}
        assert all(d.due_from == CLOSED for d in found.due)
        assert not found.waiting and not found.undated
        assert dump(db) == before

    def test_just_inside_the_period_nothing_is_due(self, db, case):
        with at(DUE - timedelta(minutes=1)):
            found = retention.plan(db, settings=SETTINGS)
        assert found.due == []
        assert [(a.id, due_at) for a, due_at in found.waiting] == [(case.audit.id, DUE)]


class TestApply:
    def test_it_removes_exactly_the_case_text_and_keeps_the_rest(self, db, case):
        before = dump(db)
        removals = run(db, DUE)
        after = dump(db)

        changed = changed_cells(before, after)
        # impact_on_child was empty everywhere: nothing to remove there.
        assert set(changed) == CASE_TEXT_COLUMNS - {("key_area_evidence", "impact_on_child")}
        assert changed[("answer", "value")] == 8  # the free-text answers of 24
        assert changed[("finding", "statement")] == 1  # not the finding about practice
        assert changed[("briefing_version", "sections")] == 1  # the draft, not the published
        assert changed[("moderated_grade", "rationale")] == 5
        # No row went anywhere; the only new rows are the record of the removal.
        for table, rows in before.items():
            assert set(rows) <= set(after[table]), table
            if table not in ("audit_event", "retention_removal"):
                assert set(after[table]) == set(rows), table
        # Each value removed is the marker now (a list of tags, or a report, is empty).
        for table, rows in after.items():
            for key, row in rows.items():
                for column, value in row.items():
                    if (table, column) in changed and value != before[table][key][column]:
                        assert value in (MARKER, []) or MARKER in json.dumps(value), (
                            table,
                            column,
                        )
        # The text is nowhere, the new audit-log rows included.
        everything = json.dumps([list(rows.values()) for rows in after.values()], default=str)
        assert not [text for text in case.texts if text in everything]
        assert {r.kind: r.removed_count for r in removals} == case.expected

    def test_grades_the_published_briefing_and_the_return_still_read(self, db, case):
        run(db, DUE)
        return_id = db.scalar(select(Return.id).where(Return.audit_id == case.audit.id))
        found = detail(db, return_id=return_id, actor=SYSTEM)
        assert found["overall_grade"] == "G"
        assert {g["level"] for g in found["grades"]} == {"RI"}
        assert {e["went_well"] for e in found["evidence"]} == {MARKER}
        values = {a["value"] for a in found["answers"]}
        assert values == {"yes", "2026-03-31", MARKER}

    def test_each_removal_is_logged_by_kind_and_count_never_the_text(self, db, case):
        removals = run(db, DUE)
        events = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "retention.remove")))
        assert len(events) == len(case.expected)
        assert {e.after["kind"]: e.after["count"] for e in events} == case.expected
        assert {(e.object_type, e.object_id) for e in events} == {("audit", case.audit.id)}
        assert all(e.after["rule"] == "3 years after the audit closed" for e in events)
        assert {r.audit_event_id for r in removals} == {e.id for e in events}
        assert {r.due_from for r in removals} == {CLOSED}
        assert auditlog.verify(db).intact

    def test_a_second_run_finds_nothing(self, db, case):
        run(db, DUE)
        with at(DUE + timedelta(days=400)):
            again = retention.plan(db, settings=SETTINGS)
        assert again.due == []
        assert run(db, DUE + timedelta(days=400)) == []

    def test_an_inspection_packs_drafts_go_with_the_first_audit_it_covers(self, db, case):
        """A pack whose period holds the day the audit's moderation started, and whose
        theme is the audit's or none, has its drafts' text and check report removed with
        the audit's; a published pack, and a pack of another period or theme, keep
        theirs."""
        from datetime import date

        from app.briefings.models import Briefing, BriefingKind, BriefingVersion, Marking
        from app.briefings.models import VersionStatus as V

        case.audit.moderation_started_at = datetime(2026, 12, 1, 10, tzinfo=UTC)
        case.audit.theme = "Strategy discussions"
        db.flush()

        def pack(start: date, end: date, theme: str | None, status: V) -> BriefingVersion:
            briefing = Briefing(
                kind=BriefingKind.INSPECTION_PACK,
                title="Inspection readiness",
                public=False,
                period_from=start,
                period_to=end,
                theme=theme,
            )
            version = BriefingVersion(
                number=1,
                status=status,
                marking=Marking.OFFICIAL_SENSITIVE,
                sections={"know": "Child A's strategy discussion was late.", "how": ""},
                check_report=[{"kind": "name", "excerpt": "»Child A's« strategy"}],
                published_at=CLOSED if status == V.PUBLISHED else None,
            )
            briefing.versions = [version]
            db.add(briefing)
            db.flush()
            return version

        covering = pack(date(2026, 4, 1), date(2027, 3, 31), None, V.DRAFT)
        themed = pack(date(2026, 4, 1), date(2027, 3, 31), "Strategy discussions", V.SUBMITTED)
        other_theme = pack(date(2026, 4, 1), date(2027, 3, 31), "Neglect", V.DRAFT)
        other_year = pack(date(2025, 4, 1), date(2026, 3, 31), None, V.DRAFT)
        published = pack(date(2026, 4, 1), date(2027, 3, 31), None, V.PUBLISHED)
        removals = run(db, DUE)
        for version in (covering, themed, other_theme, other_year, published):
            db.refresh(version)
        for removed in (covering, themed):
            assert removed.sections == {"know": MARKER, "how": ""} and removed.check_report == []
        for kept in (other_theme, other_year, published):
            assert kept.sections["know"] == "Child A's strategy discussion was late."
            assert kept.check_report
        counted = {r.kind: r.removed_count for r in removals}
        # The audit's own draft (3), and each covering pack's section and report row.
        assert counted["briefing_drafts"] == case.expected["briefing_drafts"] + 2 * 2


class TestSettings:
    def test_a_longer_case_text_period_moves_what_is_due(self, db, case):
        five = Settings(environment="test", retention_case_text_years=5)
        with at(DUE):
            assert retention.plan(db, settings=five).due == []
        with at(add_years(CLOSED, 5) - timedelta(seconds=1)):
            waiting = retention.plan(db, settings=five).waiting
        assert [due_at for _audit, due_at in waiting] == [add_years(CLOSED, 5)]
        with at(add_years(CLOSED, 5)):
            assert due_for(retention.plan(db, settings=five), case.audit.id) == case.expected
        removals = run(db, add_years(CLOSED, 5), five)
        assert {r.rule for r in removals} == {"5 years after the audit closed"}

    def test_a_shorter_session_period_makes_more_due(self, db):
        now = datetime(2027, 6, 1, 9, tzinfo=UTC)
        expected = make_sign_in_records(db, now=now, days=90)
        with at(now):
            found = retention.plan(db, settings=SETTINGS)
            shorter = retention.plan(
                db, settings=Settings(environment="test", retention_session_days=30)
            )
        assert {d.rule.kind: d.count for d in found.due} == expected
        # The 89-day-old records are due at 30 days; the live session and the
        # day-old kept post are not (a kept post's day is not a setting).
        assert {d.rule.kind: d.count for d in shorter.due} == {
            "web_sessions": 3,
            "sign_in_throttle": 2,
            "sign_in_attempts": 2,
            "kept_posts": 1,
        }


class TestSignInRecords:
    def test_old_records_are_deleted_and_recent_ones_kept(self, db):
        now = datetime(2027, 6, 1, 9, tzinfo=UTC)
        expected = make_sign_in_records(db, now=now, days=90)
        counts = {
            model: db.scalar(select(func.count()).select_from(model))
            for model in (WebSession, SignInThrottle, SignInAttempt, KeptPost)
        }
        removals = run(db, now)
        assert {r.kind: r.removed_count for r in removals} == expected
        assert {r.how for r in removals} == {"deleted"}
        left = {
            model: db.scalar(select(func.count()).select_from(model))
            for model in (WebSession, SignInThrottle, SignInAttempt, KeptPost)
        }
        assert left == {
            WebSession: counts[WebSession] - 2,
            SignInThrottle: counts[SignInThrottle] - 1,
            SignInAttempt: counts[SignInAttempt] - 1,
            KeptPost: counts[KeptPost] - 1,
        }
        logged = db.scalars(select(AuditEvent).where(AuditEvent.action == "retention.remove")).all()
        assert {(e.object_type, e.after["count"]) for e in logged} == {
            ("web_session", 2),
            ("sign_in_throttle", 1),
            ("sign_in_attempt", 1),
            ("kept_post", 1),
        }
        with at(now):
            assert retention.plan(db, settings=SETTINGS).due == []


class TestRespondentLinkFailures:
    def test_a_days_old_tries_are_deleted_the_last_hours_kept(self, db):
        """A one-time link that did not work is counted against its client address for
        an hour (app/respond/answering.py); the address is not kept past a day."""
        from app.respond.models import RespondentLinkFailure

        now = datetime(2027, 6, 1, 9, tzinfo=UTC)
        db.add_all(
            [
                RespondentLinkFailure(client_address="192.0.2.10", attempted_at=now - age)
                for age in (timedelta(days=2), timedelta(hours=25), timedelta(minutes=10))
            ]
        )
        db.commit()
        removals = run(db, now)
        assert [(r.kind, r.removed_count) for r in removals] == [("respondent_link_failures", 2)]
        left = db.scalars(select(RespondentLinkFailure.attempted_at)).all()
        assert [now - when for when in left] == [timedelta(minutes=10)]


class TestAuditLog:
    def test_the_oldest_rows_go_and_the_kept_chain_still_verifies(self, db, case):
        later = add_years(BUILT, 7) + timedelta(days=1)
        with at(later):  # a row written now: not due
            auditlog.record(db, action="audit.read", object_type="audit", object_id=case.audit.id)
        db.commit()
        old = db.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.at <= BUILT))
        newest = db.scalar(select(func.max(AuditEvent.seq)))
        assert old
        with at(later):
            found = retention.plan(db, settings=SETTINGS)
        assert found.audit_log_due == old
        assert found.audit_log_before == add_years(later, -7)
        removals = run(db, later)
        db.commit()
        assert {r.kind: r.removed_count for r in removals}["audit_log"] == old
        assert db.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.at <= BUILT)) == 0
        # The kept chain starts where a signed line says: it verifies from there, and
        # every checkpoint since still matches.
        start = checkpoints.chain_start()
        assert start.seq == old
        assert chain.verify(db, start=start).intact
        assert not checkpoints.check(db, start=start).problems
        # Without that line, the first row kept looks like tampering.
        assert not chain.verify(db).intact
        assert db.scalar(select(func.max(AuditEvent.seq))) > newest  # the removal, logged
        with at(later + timedelta(minutes=1)):
            assert retention.plan(db, settings=SETTINGS).audit_log_due == 0

    def test_the_newest_row_always_stays(self, db, case):
        much_later = add_years(BUILT, 30)
        removals = run(db, much_later)
        db.commit()
        assert {r.kind for r in removals} >= {"audit_log"}
        assert db.scalar(select(func.count(AuditEvent.id))) >= 2  # the newest, then the log of it
        assert chain.verify(db, start=checkpoints.chain_start()).intact

    def test_a_longer_log_period_makes_fewer_rows_due(self, db, case):
        with at(add_years(BUILT, 7) + timedelta(days=1)):
            found = retention.plan(db, settings=Settings(environment="test", retention_log_years=8))
        assert found.audit_log_due == 0


class TestWhenAnAuditClosed:
    def test_a_reopened_audit_is_not_due(self, db, case):
        case.audit.status, case.audit.closed_at = AuditStatus.LEARNING, None
        db.flush()
        with at(DUE + timedelta(days=1)):
            found = retention.plan(db, settings=SETTINGS)
        assert found.due == [] and not found.waiting and not found.undated

    def test_without_closed_at_the_logs_close_row_is_used(self, db, case):
        case.audit.closed_at = None
        with at(CLOSED):
            auditlog.record(
                db,
                action="audit.close",
                object_type="audit",
                object_id=case.audit.id,
                after={"status": "closed"},
            )
        with at(DUE - timedelta(minutes=1)):
            (waiting,) = retention.plan(db, settings=SETTINGS).waiting
        assert waiting[0].from_log and waiting[1] == DUE
        with at(DUE):
            assert due_for(retention.plan(db, settings=SETTINGS), case.audit.id) == case.expected

    def test_with_nothing_saying_when_it_closed_nothing_is_removed(self, db, case):
        case.audit.closed_at = None
        db.flush()
        with at(DUE + timedelta(days=3650)):
            found = retention.plan(db, settings=SETTINGS)
        assert [a.id for a in found.undated] == [case.audit.id]
        assert [d for d in found.due if d.audit is not None] == []


class TestSchedule:
    def test_a_leap_day_falls_back_to_the_28th(self):
        leap = datetime(2028, 2, 29, 10, tzinfo=UTC)
        assert add_years(leap, 3) == datetime(2031, 2, 28, 10, tzinfo=UTC)
        assert Period(3, "years").before(leap) == datetime(2025, 2, 28, 10, tzinfo=UTC)

    def test_every_rule_reads_its_period_from_the_settings(self):
        changed = Settings(
            environment="test",
            retention_case_text_years=4,
            retention_session_days=30,
            retention_log_years=10,
        )
        assert BY_KIND["return_evidence"].describe(changed) == "4 years after the audit closed"
        assert str(BY_KIND["web_sessions"].period(changed)) == "30 days"
        assert str(BY_KIND["audit_log"].period(changed)) == "10 years"
        assert str(BY_KIND["kept_posts"].period(changed)) == "24 hours"


class TestTheLogsCopy:
    """The log holds the same case text (a return's answers and evidence, a rationale, a
    child's tags): it goes with the records, each value replaced by its keyed digest,
    and the chain still verifies."""

    def test_the_text_goes_the_grades_stay_and_the_chain_fits(self, db, case):

        ret = db.scalars(select(Return).where(Return.audit_id == case.audit.id)).first()
        grade = db.scalars(
            select(ModeratedGrade).where(ModeratedGrade.audit_id == case.audit.id)
        ).first()
        child = db.scalars(select(Child).where(Child.audit_id == case.audit.id)).first()
        said = "Child A told the school nurse about the bruise on Tuesday"
        with at(BUILT):
            logged = [
                auditlog.record(
                    db,
                    action="return.save_draft",
                    object_type="return",
                    object_id=ret.id,
                    after={
                        "answer:7": said,
                        "grade:1": "Good",
                        "evidence:1:went_well": said,
                        "reason": said,
                    },
                ),
                auditlog.record(
                    db,
                    action="moderation.decide",
                    object_type="moderated_grade",
                    object_id=grade.id,
                    after={"level": "Good", "rationale": said},
                ),
                auditlog.record(
                    db,
                    action="child.update",
                    object_type="child",
                    object_id=child.id,
                    before={"context_tags": ["lives with nan"]},
                    after={"context_tags": []},
                ),
                # A child since deleted: found by the audit its values name.
                auditlog.record(
                    db,
                    action="child.delete",
                    object_type="child",
                    object_id=10_000,
                    before={
                        "audit_id": case.audit.id,
                        "pseudonym": "Child Z",
                        "context_tags": ["young carer"],
                    },
                ),
                # Another audit's child: untouched.
                auditlog.record(
                    db,
                    action="child.delete",
                    object_type="child",
                    object_id=10_001,
                    before={"audit_id": case.audit.id + 1, "context_tags": ["kept"]},
                ),
            ]
        db.commit()
        with at(DUE):
            assert due_for(retention.plan(db, settings=SETTINGS), case.audit.id)["log_values"] == 6
        removals = run(db, DUE)
        db.commit()
        assert {r.kind: r.removed_count for r in removals}["log_values"] == 6
        rows = [db.get(AuditEvent, e.id) for e in logged]
        for row in rows:
            db.refresh(row)
        assert said not in json.dumps([(r.before, r.after) for r in rows])
        assert rows[0].after["grade:1"] == "Good" and rows[1].after["level"] == "Good"
        assert chain.removed(rows[1].after["rationale"])
        assert rows[3].before["pseudonym"] == "Child Z" and chain.removed(
            rows[3].before["context_tags"]
        )
        assert rows[4].before["context_tags"] == ["kept"]
        # A reader sees the words the records carry, not a digest.
        shown = Visibility(db, SYSTEM).values(rows[1])[1]
        assert shown == {"level": "Good", "rationale": REMOVED_SHOWN}
        assert chain.verify(db).intact
        # Removed, a value cannot be put back as something else: the chain says so.
        with at(DUE), append_only_lifted(db):
            db.execute(
                update(AuditEvent)
                .where(AuditEvent.id == rows[1].id)
                .values(after={"level": "Good", "rationale": "something else"})
            )
        assert not chain.verify(db).intact
        db.rollback()
