"""The demo's programme: every demo audit is the planned audit of an entry's month,
and the monthly Front Door audit runs for a year; no audit is made for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from app import clock
from app.audits.models import Audit
from app.programme import calendar, service
from app.programme.models import ProgrammeOccurrence, Repeat
from tests.helpers.sessions import engine_on, rolled_back, rolled_back_session


@pytest.fixture(autouse=True)
def pinned_clock():
    """The demo is loaded on the run's own clock, so it is read on it too."""
    yield


@pytest.fixture(scope="module")
def demo(demo_database) -> Iterator[Connection]:
    with engine_on(demo_database()) as engine, rolled_back(engine) as connection:
        yield connection


@pytest.fixture
def db(demo: Connection) -> Iterator[Session]:
    with rolled_back_session(demo) as session:
        yield session


def test_every_demo_audit_is_an_entrys_and_none_was_made(db):
    audit_ids = set(db.scalars(select(Audit.id)))
    linked = set(
        db.scalars(
            select(ProgrammeOccurrence.audit_id).where(ProgrammeOccurrence.audit_id.is_not(None))
        )
    )
    assert linked == audit_ids and len(audit_ids) >= 6
    assert db.scalar(select(func.count(ProgrammeOccurrence.id))) == len(audit_ids)


def test_the_monthly_front_door_audit_runs_for_a_year(db):
    (front_door,) = [e for e in service.list_entries(db) if e.repeat == Repeat.MONTHLY]
    assert front_door.title == "Front Door referrals audit"
    assert (front_door.occurrences, front_door.cohort_size) == (12, 10)
    assert front_door.template_family.slug == "identification-of-need-and-risk"
    assert [o.month for o in front_door.planned] == [front_door.first_month]
    assert len(calendar.months_of(front_door)) == 12
    # It started with the demo's Front Door audit, a month or so ago.
    assert 0 <= (clock.today() - front_door.first_month).days <= 62


def test_the_timeline_shows_the_years_audits(client, db):
    year = client.get("/api/v1/programme").json()
    assert year["year"] == calendar.year_of(clock.today())
    titles = {e["title"] for e in year["entries"]}
    assert "Front Door referrals audit" in titles
    states = [m["state"] for e in year["entries"] for m in e["months"]]
    assert "not_planned" in states and "moderation" in states
