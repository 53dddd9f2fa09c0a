"""The demo partnership, seen through the API as the acceptance describes.

The tests read a copy of the demo (tests/conftest.py ``demo_database``); each test's
``db`` is a savepoint rolled back at its end.
"""

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from tests.helpers.sessions import engine_on, rolled_back, rolled_back_session


@pytest.fixture(scope="module")
def demo(demo_database) -> Iterator[Connection]:
    """A connection to a copy of the demo partnership, in a transaction rolled back at
    the end."""
    with engine_on(demo_database()) as engine, rolled_back(engine) as connection:
        yield connection


@pytest.fixture
def db(demo: Connection) -> Iterator[Session]:
    """The demo, each test's changes rolled back."""
    with rolled_back_session(demo) as session:
        yield session


def test_demo_audit_has_7_children_5_agencies_and_mixed_returns(client, db):
    body = client.get("/api/v1/audits", params={"status": "open"}).json()
    # Open: the headline audit, and the assurance questionnaire the published briefing sent.
    assert body["total"] == 2
    titles = sorted(a["title"] for a in body["items"])
    assert titles[0].startswith("Identification of need and risk")
    assert titles[1].startswith("Learning assurance: 7 minute briefing")
    audit = next(a for a in body["items"] if a["title"] == titles[0])
    assert audit["children_count"] == 7
    assert len(audit["agencies"]) == 5
    states = {k for k, v in audit["returns"].items() if v and k != "expected"}
    assert {"not_started", "draft", "submitted", "returned_for_amendment"} <= states
    # Submitted returns are complete: the service accepted them through submit().
    submitted = client.get(
        f"/api/v1/audits/{audit['id']}/returns", params={"status": "submitted", "per_page": 1}
    ).json()["items"][0]
    detail = client.get(f"/api/v1/returns/{submitted['id']}").json()
    assert detail["overall_grade"] in {"O", "G", "RI", "I"}
    assert len(detail["grades"]) == 5
    assert all(e["went_well"] for e in detail["evidence"])


def test_every_pseudonym_in_the_demo_is_a_pseudonym(client, db):
    import re

    from app.audits.schemas import PSEUDONYM_PATTERN

    for audit in client.get("/api/v1/audits").json()["items"]:
        agencies = {a["id"]: a["name"] for a in audit["agencies"]}
        got = client.get(f"/api/v1/audits/{audit['id']}/children")
        assert got.status_code == 200, got.text
        for child in got.json()["items"]:
            if audit["subject"] == "agency":  # each case an agency, named as it is
                assert child["pseudonym"] == agencies[child["agency_id"]]
            else:
                assert re.fullmatch(PSEUDONYM_PATTERN, child["pseudonym"])


def test_the_audits_found_by_title_are_one_each_in_their_state(db):
    """bench/load.py, bench/briefings.py, bench/pages.py and the browser tests find the
    GET SAFE deep dive (in learning) and the meeting's audit (in moderation) by title:
    each title is one audit, whatever else the demo gains."""
    from app.audits.models import Audit, AuditStatus
    from app.demo import DEEP_DIVE_TITLE, MEETING_TITLE

    deep_dive = db.scalars(select(Audit).where(Audit.title == DEEP_DIVE_TITLE)).one()
    meeting = db.scalars(select(Audit).where(Audit.title == MEETING_TITLE)).one()
    assert deep_dive.status == AuditStatus.LEARNING
    assert meeting.status == AuditStatus.MODERATION
    # The reason for the titles: the deep dive is not the only audit in learning.
    assert db.scalar(select(func.count()).where(Audit.status == AuditStatus.LEARNING)) > 1


def test_the_demo_has_a_second_year_with_a_theme_repeated(db):
    """Last year's audits were moderated a year (or a year and four weeks) before this
    year's, on the same themes, with actions seen through and a briefing read through
    the year."""
    from datetime import timedelta

    from app.actions.models import ActionStatus, ActionStatusChange, LearningAction
    from app.audits.models import Audit, AuditStatus
    from app.briefings.models import BriefingDownload
    from app.demo import last_year_days

    moderated = db.execute(
        select(Audit.theme, Audit.title, Audit.moderation_started_at)
        .where(Audit.moderation_started_at.is_not(None))
        .order_by(Audit.moderation_started_at)
    ).all()
    first = moderated[0].moderation_started_at
    # Last year's first audit was moderated as many days back as the demo says.
    earlier, _later = last_year_days(moderated[-1].moderation_started_at.date())
    assert moderated[-1].moderation_started_at - first > timedelta(days=earlier - 1)
    for theme in ("Child exploitation and extra-familial harm", "Identification of need and risk"):
        # The partnership's years run April to March.
        years = {
            m.moderation_started_at.year - (m.moderation_started_at.month < 4)
            for m in moderated
            if m.theme == theme
        }
        assert len(years) == 2, (theme, years)
    last_year = db.scalars(
        select(Audit).where(Audit.title == "Child exploitation: multi-agency case audit")
    ).one()
    assert last_year.status == AuditStatus.LEARNING
    done = db.execute(
        select(LearningAction.due_on, func.min(ActionStatusChange.changed_at))
        .join(ActionStatusChange, ActionStatusChange.action_id == LearningAction.id)
        .where(
            LearningAction.audit_id == last_year.id,
            ActionStatusChange.to_status == ActionStatus.COMPLETED,
        )
        .group_by(LearningAction.id)
    ).all()
    late = [due for due, at in done if at.date() > due]
    assert len(done) == 4 and len(late) == 1
    months = {
        (at.year, at.month)
        for at in db.scalars(
            select(BriefingDownload.at).where(BriefingDownload.agency_id.is_not(None))
        )
    }
    assert len(months) >= 2


@pytest.mark.parametrize("day", ["2027-01-15", "2027-04-02", "2028-03-31"])
def test_last_year_is_an_earlier_partnership_year_whatever_the_day(day, tmp_path):
    """Loaded in January (the partnership year began in April) or just after a new one
    began, the demo's last year is still an earlier partnership year than this year's."""
    from datetime import UTC, date, datetime, time

    import time_machine
    from alembic import command

    from app.audits.models import Audit
    from app.db import make_engine, make_sessionmaker, session_scope
    from app.demo import load_demo
    from app.migrate import alembic_config

    engine = make_engine(f"sqlite:///{tmp_path}/demo.db")
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        noon = datetime.combine(date.fromisoformat(day), time(12), tzinfo=UTC)
        with (
            time_machine.travel(noon, tick=False),
            session_scope(make_sessionmaker(engine)) as session,
        ):
            load_demo(session)
            moderated = session.execute(
                select(Audit.theme, Audit.moderation_started_at).where(
                    Audit.moderation_started_at.is_not(None)
                )
            ).all()
    finally:
        engine.dispose()
    for theme in ("Child exploitation and extra-familial harm", "Identification of need and risk"):
        years = {at.year - (at.month < 4) for t, at in moderated if t == theme}
        assert len(years) == 2, (day, theme, years)
