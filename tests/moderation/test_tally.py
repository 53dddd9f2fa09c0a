"""The pooled analytics' tally (app/moderation/tally.py): settled audits' decisions
counted once, by month, give exactly the counts the live grouping gives, for every
filter and viewer, with audits in every stage across several months (some counted by
the rebuild, one by the lifecycle's hook in a past month, one settled but not counted
yet, one never dated); finishing moderation counts the audit in its own transaction;
decisions still being made count live; two audits settling at once both count; and
the migration counts the data already there as the rebuild would.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from alembic import command
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.access.policy import SYSTEM, Actor
from app.agencies.models import Agency
from app.audit_templates.models import GradeLevel
from app.audit_templates.service import get_version
from app.audits import cohort
from app.audits import lifecycle as audit_lifecycle
from app.audits import service as audits
from app.audits.models import Audit, AuditStatus
from app.db import make_engine, make_sessionmaker, open_session
from app.demo import fill_return
from app.migrate import alembic_config
from app.moderation import analytics, lifecycle, service, tally
from app.moderation.demo import moderate
from app.moderation.models import AuditTally, ModeratedGrade, ModerationTally, TalliedAudit
from app.returns import service as returns
from app.returns.models import Return
from tests.conftest import BACKEND
from tests.helpers.factories import downgrade_demo, make_audit
from tests.moderation import per_pair_reference as reference
from tests.moderation.test_counted_figures import (
    _decide,
    _viewers,  # the same four, by the world's agencies
    agencies_and_templates,
)
from tests.test_races import blocked_on_a_lock

SEED = 20261208
F = analytics.Filters
L, C, M, OPEN = AuditStatus.LEARNING, AuditStatus.CLOSED, AuditStatus.MODERATION, AuditStatus.OPEN


def _at(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# (template version: 0 and 1 one family, 2 a three-point scale; stage; moderation began),
# counted by the rebuild. Month edges on purpose: the first and last minute of a month.
REBUILT = [
    (0, C, _at(1, 1, 0, 0)),
    (2, L, _at(1, 15)),
    (1, C, _at(1, 31, 23, 59)),
    (0, M, _at(1, 20)),  # in moderation: live
    (1, L, _at(3, 10)),
    (2, C, _at(3, 31, 18)),
    (0, C, _at(4, 1, 0, 0)),
    (1, M, _at(5, 5)),
    (2, L, _at(5, 31)),
    (0, C, _at(7, 14)),
    (1, OPEN, None),  # open: in no figures
    (0, L, None),  # settled but never dated (loaded so): live, and in no dated view
]
LATE = (2, L, _at(2, 10))  # counted by the hook after the rebuild: a past month
UNCOUNTED = (1, C, _at(3, 20))  # settled after the rebuild, around the lifecycle: live


@dataclass
class World:
    agencies: list[Agency]
    family_id: int
    three_point_family_id: int
    audit_ids: list[int]


@pytest.fixture
def world(db) -> World:
    rng = random.Random(SEED)
    agencies, versions = agencies_and_templates(
        db, ["Voice of the child", "Plan"], ["Plan", "Voice of the child", "Assessment"]
    )
    first, _second, three_point = versions

    def add(version: int, status: AuditStatus, started: datetime | None) -> Audit:
        involved = rng.sample(agencies, rng.randint(2, 4))
        audit = audits.create_audit(
            db,
            template_version_id=versions[version].id,
            title=f"Audit {len(audit_ids) + 1}",
            returns_due_on=date(2026, 1, 1),
            agency_ids=[a.id for a in involved],
        )
        for c in range(rng.randint(3, 5)):
            cohort.add_child(
                db,
                audit=audit,
                pseudonym=f"Child {chr(65 + c)}",
                agency_ids=[a.id for a in rng.sample(involved, rng.randint(1, len(involved)))],
            )
        audit_lifecycle.open_audit(db, audit=audit, confirm=True)
        audit.status, audit.moderation_started_at = status, started
        _decide(db, rng, audit)
        audit_ids.append(audit.id)
        return audit

    audit_ids: list[int] = []
    for spec in REBUILT:
        add(*spec)
    tally.rebuild(db)
    tally.count_settled(db, audit=add(*LATE))
    add(*UNCOUNTED)
    db.flush()
    return World(agencies, first.family_id, three_point.family_id, audit_ids)


def _filters(world: World) -> list[analytics.Filters]:
    _police, health, care, _education = world.agencies
    d = date
    return [
        F(),
        F(audit_id=world.audit_ids[4]),
        F(agency_id=health.id),
        F(template_id=world.family_id),
        F(template_id=world.three_point_family_id),
        F(key_area="Voice of the child"),
        F(key_area="Assessment"),
        F(key_area="Safety"),
        F(key_area=analytics.OVERALL),
        F(key_area="No such area"),
        F(agency_id=care.id, key_area="Plan"),
        F(agency_id=health.id, key_area=analytics.OVERALL, template_id=world.family_id),
        # Whole months, months cut at either end or both, one month, none whole.
        F(moderated_from=d(2026, 3, 1), moderated_to=d(2026, 5, 31)),
        F(moderated_from=d(2026, 3, 15), moderated_to=d(2026, 5, 30)),
        F(moderated_from=d(2026, 1, 31), moderated_to=d(2026, 4, 1)),
        F(moderated_from=d(2026, 3, 1), moderated_to=d(2026, 3, 31)),
        F(moderated_from=d(2026, 3, 5), moderated_to=d(2026, 4, 20)),
        F(moderated_from=d(2026, 2, 1)),
        F(moderated_from=d(2026, 2, 11)),
        F(moderated_to=d(2026, 2, 28)),
        F(moderated_to=d(2026, 3, 30)),
        F(moderated_from=d(2025, 1, 1), moderated_to=d(2025, 12, 31)),
        F(moderated_from=d(2026, 8, 1)),
        F(moderated_from=d(2026, 4, 1), agency_id=care.id, template_id=world.family_id),
        F(moderated_to=d(2026, 5, 31), key_area="Voice of the child"),
    ]


def _counted(db, actor: Actor, filters: analytics.Filters, *, tallied: bool) -> Counter:
    return Counter(analytics.counted(db, actor=actor, filters=filters, tallied=tallied))


def _decisions(counted: Counter) -> int:
    """How many decisions the counted groups hold (a new decision may join a group
    already there, so the number of groups need not grow)."""
    return sum(group.count * times for group, times in counted.items())


def _same_everywhere(db, world: World) -> None:
    """Every viewer's counts for every filter, tallied and live, and every report
    against the per-pair path (the count of audits included)."""
    compared = 0
    for actor in _viewers(world):
        for filters in _filters(world):
            live = _counted(db, actor, filters, tallied=False)
            assert _counted(db, actor, filters, tallied=True) == live, (actor.label, filters)
            compared += bool(live)
            found = analytics.report(db, actor=actor, filters=filters)
            assert found == reference.report(db, actor=actor, filters=filters), (
                actor.label,
                filters,
            )
    assert compared > 60  # not vacuous: most views have decisions


class TestSameCounts:
    def test_the_tally_gives_the_live_counts_for_every_view(self, db, world):
        """Some settled audits are not tallied: they are found one by one."""
        _same_everywhere(db, world)

    def test_so_it_does_when_every_settled_audit_is_tallied(self, db, world):
        """Then only the audits in moderation are grouped live (found by status)."""
        never_dated = db.get(Audit, world.audit_ids[11])
        never_dated.moderation_started_at = _at(6, 3)
        db.flush()
        tally.rebuild(db)
        settled = select(func.count()).where(Audit.status.in_(tally.SETTLED))
        assert db.scalar(settled) == db.scalar(select(func.count(TalliedAudit.audit_id)))
        _same_everywhere(db, world)

    def test_the_settled_past_is_read_from_the_tally(self, db, world):
        """Not vacuous: a settled audit's decision changed behind the tally's back (the
        service never does) shows in the live counts only, where the view takes its
        month whole; a month cut by the dates is counted live; a rebuild agrees again."""
        march = world.audit_ids[4]  # in learning, moderation began on 10 March
        decision = db.scalars(
            select(ModeratedGrade).where(
                ModeratedGrade.audit_id == march,
                ModeratedGrade.superseded_at.is_(None),
                ModeratedGrade.self_level_id.is_not(None),
            )
        ).first()
        assert decision is not None
        scale = select(GradeLevel.scale_id).where(GradeLevel.id == decision.level_id)
        other = db.scalars(
            select(GradeLevel.id).where(
                GradeLevel.scale_id == scale.scalar_subquery(), GradeLevel.id != decision.level_id
            )
        ).first()
        decision.level_id = other
        db.flush()
        for filters in (F(), F(moderated_from=date(2026, 3, 1))):
            tallied = _counted(db, SYSTEM, filters, tallied=True)
            assert tallied != _counted(db, SYSTEM, filters, tallied=False), filters
        cut = F(moderated_from=date(2026, 3, 2))
        assert _counted(db, SYSTEM, cut, tallied=True) == _counted(db, SYSTEM, cut, tallied=False)
        tally.rebuild(db)
        assert _counted(db, SYSTEM, F(), tallied=True) == _counted(db, SYSTEM, F(), tallied=False)

    def test_the_rebuild_counts_the_audits_it_missed(self, db, world):
        before = _tally(db)
        uncounted = world.audit_ids[-1]
        assert db.get(TalliedAudit, uncounted) is None
        tally.rebuild(db)
        assert db.get(TalliedAudit, uncounted).month == date(2026, 3, 1)
        assert _tally(db) != before
        for filters in _filters(world):
            live = _counted(db, SYSTEM, filters, tallied=False)
            assert _counted(db, SYSTEM, filters, tallied=True) == live, filters


def _tally(session: Session) -> tuple[list, list, list]:
    """Every row of the three tables, in order (the audit tally's ids left out)."""
    t, a = ModerationTally, AuditTally
    key = [t.__table__.c[k] for k in tally.KEY]
    audits_ = select(a.month, a.template_version_id, a.agency_id, a.cell, a.audits)
    return (
        sorted(map(tuple, session.execute(select(TalliedAudit.audit_id, TalliedAudit.month)))),
        sorted(map(tuple, session.execute(select(t.month, *key, t.decisions)))),
        sorted(map(tuple, session.execute(audits_)), key=repr),
    )


def _moderated(session: Session, *, share: float = 1.0, like: Audit | None = None) -> Audit:
    """An audit in moderation, every return submitted, ``share`` of its cells decided;
    on ``like``'s template and agencies if given (so both count under the same keys)."""
    if like is None:
        audit = make_audit(session, children=2, agencies_count=2)
    else:
        agency_ids = [a.id for a in _loaded(session, like).agencies]
        audit = audits.create_audit(
            session,
            template_version_id=like.template_version_id,
            title=f"{like.title} again",
            returns_due_on=date(2026, 1, 1),
            agency_ids=agency_ids,
        )
        for pseudonym in ("Child A", "Child B"):
            cohort.add_child(session, audit=audit, pseudonym=pseudonym, agency_ids=agency_ids)
        audit_lifecycle.open_audit(session, audit=audit, confirm=True)
    version = get_version(session, version_id=audit.template_version_id)
    for return_ in session.scalars(select(Return).where(Return.audit_id == audit.id)).all():
        fill_return(
            session,
            return_=return_,
            version=version,
            rng=random.Random(return_.id),
            complete=True,
            start=date(2026, 1, 5),
        )
        returns.submit(session, return_=return_, read_version=return_.version)
    moderate(session, audit=audit, moderator=SYSTEM, rng=random.Random(audit.id), share=share)
    return audit


def _loaded(session: Session, audit: Audit) -> Audit:
    return audits.get_audit(session, audit_id=audit.id, actor=SYSTEM)


def _decided(session: Session, audit: Audit) -> int:
    return session.scalar(
        select(func.count()).where(
            ModeratedGrade.audit_id == audit.id,
            ModeratedGrade.superseded_at.is_(None),
            ModeratedGrade.self_level_id.is_not(None),
        )
    )


class TestKeptByTheLifecycle:
    def test_finishing_moderation_counts_the_audit_in_its_transaction(self, db):
        audit = _moderated(db)
        live = _counted(db, SYSTEM, F(), tallied=False)
        assert db.get(TalliedAudit, audit.id) is None
        lifecycle.finish(db, actor=SYSTEM, audit=audit)  # flushed, not committed
        month = tally.month_of(audit.moderation_started_at)
        assert db.get(TalliedAudit, audit.id).month == month
        everything = tally.decisions(tally.Span(None, None), [])
        assert everything is not None
        assert sum(row[-1] for row in db.execute(everything)) == _decided(db, audit) > 0
        assert _counted(db, SYSTEM, F(), tallied=True) == live
        kept = _tally(db)  # as a rebuild from scratch has it
        tally.rebuild(db)
        assert _tally(db) == kept

    def test_a_decision_in_moderation_counts_live(self, db):
        audit = _moderated(db, share=0.5)
        tally.rebuild(db)
        assert db.get(TalliedAudit, audit.id) is None
        before = _decisions(_counted(db, SYSTEM, F(), tallied=True))
        found = service.grid(db, actor=SYSTEM, audit=audit)
        cell = next(c for c in found.cells.values() if not c.done)
        service.decide(
            db,
            audit=audit,
            return_=found.returns[cell.return_id],
            cell=cell.cell,
            level_code=cell.self_level.code,  # agreed: no rationale needed
            rationale="",
            actor=SYSTEM,
        )
        after = _counted(db, SYSTEM, F(), tallied=True)
        assert _decisions(after) == before + 1
        assert after == _counted(db, SYSTEM, F(), tallied=False)


@pytest.mark.skipif(BACKEND != "postgresql", reason="SQLite runs writers one at a time")
def test_two_audits_of_a_month_settling_at_once_both_count(migrated_engine):
    """The second finish waits for the first's tally lock, then recounts the month with
    the first's audit in it: neither's counts are lost (without the lock, the second
    would write the month's rows the first had just written)."""
    factory = make_sessionmaker(migrated_engine())
    opened: list[Session] = []

    def new() -> Session:
        opened.append(open_session(factory, write=True))
        return opened[-1]

    try:
        setup = new()
        first = _moderated(setup)
        second = _moderated(setup, like=first)
        setup.commit()
        one = new()
        lifecycle.finish(one, actor=SYSTEM, audit=_loaded(one, first))
        failed: list[Exception] = []

        def finish_second() -> None:
            other = new()
            try:
                lifecycle.finish(other, actor=SYSTEM, audit=_loaded(other, second))
                other.commit()
            except Exception as exc:
                failed.append(exc)

        waiting = threading.Thread(target=finish_second)
        waiting.start()
        deadline = time.monotonic() + 20
        while not blocked_on_a_lock(setup):
            assert waiting.is_alive() and time.monotonic() < deadline, "never waited"
            time.sleep(0.05)
        one.commit()
        waiting.join(timeout=20)
        assert not failed and not waiting.is_alive()
        check = new()
        kept = _tally(check)
        assert {first.id, second.id} <= {audit_id for audit_id, _month in kept[0]}
        assert sum(row[-1] for row in kept[1]) == _decided(check, first) + _decided(check, second)
        tally.rebuild(check)
        assert _tally(check) == kept
    finally:
        for session in opened:
            session.rollback()
            session.close()


def test_the_migration_counts_the_data_there_was(demo_database):
    """Data carried forward: the demo's audit in learning, and one of its audits in
    moderation closed in January around the lifecycle (a second month), are counted by
    the migration exactly as the rebuild counts them."""
    engine = make_engine(demo_database())
    try:
        with Session(engine) as session:
            front_door = session.scalars(
                select(Audit).where(Audit.status == M).order_by(Audit.id)
            ).first()
            assert front_door is not None
            front_door.status, front_door.moderation_started_at = C, _at(1, 10)
            session.commit()
        with engine.begin() as connection:
            downgrade_demo(connection, "ac7e5d0d8d76")  # before the tally
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        with Session(engine) as session:
            carried = _tally(session)
            assert len(carried[0]) >= 2 and carried[1] and carried[2]
            assert date(2026, 1, 1) in {month for _audit, month in carried[0]}
            tally.rebuild(session)
            assert _tally(session) == carried
            session.rollback()
    finally:
        engine.dispose()
