"""Check-then-act races between two transactions, interleaved by hand.

On PostgreSQL two requests really do overlap, so each rule that is checked before a
change must be checked under a row lock. SQLite cannot interleave like this: its
writers begin IMMEDIATE and run one at a time (tests/test_concurrency.py shows it).
"""

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.access.policy import SYSTEM
from app.audit_templates import editing
from app.audit_templates import service as templates
from app.audits import cohort
from app.audits import service as audits
from app.db import make_sessionmaker, open_session
from app.errors import Conflict, StateError
from app.moderation import lifecycle
from app.returns import service as returns
from app.returns.models import Return
from app.returns.schemas import AnswerIn
from tests.conftest import BACKEND
from tests.helpers.factories import make_audit, make_template

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql", reason="SQLite runs writers one at a time (BEGIN IMMEDIATE)"
)


@pytest.fixture
def sessions(migrated_engine):
    engine = migrated_engine()
    factory = make_sessionmaker(engine)
    opened: list[Session] = []

    def new() -> Session:
        opened.append(open_session(factory, write=True))
        return opened[-1]

    yield new
    for session in opened:
        session.rollback()
        session.close()
    engine.dispose()


def test_an_edit_read_before_publishing_cannot_land_in_the_published_version(sessions):
    setup = sessions()
    draft = make_template(setup, published=False)
    setup.commit()

    editor = sessions()
    version, key_area, question = editing.get_question(
        editor, question_id=draft.key_areas[0].questions[0].id
    )  # the editor has loaded the draft ...
    publisher = sessions()
    templates.publish(publisher, version=templates.get_version(publisher, version_id=draft.id))
    publisher.commit()  # ... and someone publishes it before the editor saves
    with pytest.raises(StateError):
        editing.update_question(
            editor,
            version=version,
            key_area=key_area,
            question=question,
            changes={"prompt": "Changed after publication?"},
        )


def test_a_draft_saved_meanwhile_is_never_deleted_with_its_involvement(sessions):
    setup = sessions()
    audit = make_audit(setup, children=1, agencies_count=1)
    return_id = setup.scalar(select(Return.id).where(Return.audit_id == audit.id))
    setup.commit()

    remover = sessions()
    remover_audit = audits.get_audit(remover, audit_id=audit.id, actor=SYSTEM)
    involvement = cohort.get_involvement(
        remover, involvement_id=remover.get(Return, return_id).involvement_id
    )  # the planner has the cohort page open ...
    auditor = sessions()
    template = templates.get_version(auditor, version_id=audit.template_version_id)
    question = template.key_areas[0].questions[0].id
    returns.save_draft(
        auditor,
        return_=auditor.get(Return, return_id),
        read_version=1,
        answers=[AnswerIn(question_id=question, value="yes")],
        grades=[],
        evidence=[],
    )
    auditor.commit()  # ... while the auditor saves a first draft
    with pytest.raises(Conflict):
        cohort.remove_involvement(remover, audit=remover_audit, involvement=involvement)


def blocked_on_a_lock(session: Session) -> bool:
    """Whether another connection to this database is waiting for a row lock."""
    waiting = session.scalar(
        text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
    )
    session.rollback()
    return bool(waiting)


def test_a_meeting_page_saved_while_another_is_saving_cannot_overwrite_it(sessions):
    """Two moderators save the same child's meeting page at once, both drawn with no
    decision yet. The second waits for the audit's lock and then reads the first's
    decisions: its save is refused (409 on the page), not written over them."""
    import random
    import threading
    import time
    from datetime import date

    from app.audit_templates.service import get_version
    from app.audits.cohort import lock_audit
    from app.demo import fill_return
    from app.moderation import meeting as meetings
    from app.moderation.meeting import Choice

    setup = sessions()
    audit = make_audit(setup, children=1, agencies_count=2)
    version = get_version(setup, version_id=audit.template_version_id)
    for return_ in setup.scalars(select(Return).where(Return.audit_id == audit.id)):
        fill_return(
            setup,
            return_=return_,
            version=version,
            rng=random.Random(1),
            complete=True,
            start=date(2026, 1, 5),
        )
        returns.submit(setup, return_=return_, read_version=return_.version)
    lifecycle.open_moderation(setup, audit=audit)
    setup.commit()

    def page_of(session):
        found = audits.get_audit(session, audit_id=audit.id, actor=SYSTEM)
        lock_audit(session, found)
        return found, meetings.meeting(session, actor=SYSTEM, audit=found)

    def agree_all(m) -> list[Choice]:
        return [
            Choice(c.return_id, c.cell, c.self_level.code, "", 0)
            for col in m.columns
            for c in col.cells.values()
        ]

    first = sessions()
    found, drawn = page_of(first)  # the first save holds the lock ...
    seen: dict = {}

    def second_save() -> None:
        other = sessions()
        _audit, page = page_of(other)  # ... so the second waits here (as the page does)
        seen["problems"] = meetings.problems(page, agree_all(page), None)
        other.rollback()

    waiting = threading.Thread(target=second_save)
    waiting.start()
    # Wait until the second save really is waiting for the lock (not merely started).
    deadline = time.monotonic() + 20
    while not blocked_on_a_lock(setup):
        assert waiting.is_alive() and time.monotonic() < deadline, "never waited for the lock"
        time.sleep(0.05)
    meetings.save(
        first, actor=SYSTEM, audit=found, meeting_=drawn, choices=agree_all(drawn), notes=None
    )
    first.commit()
    waiting.join(timeout=10)
    assert seen["problems"].conflict
    assert len(seen["problems"].errors) == len(agree_all(drawn))
