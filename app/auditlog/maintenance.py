"""The one documented way to remove audit-log rows: for privileged maintenance only.

The log is append-only: triggers refuse UPDATE and DELETE on ``audit_event`` (on
PostgreSQL ``audit_event_no_update_or_delete``, on SQLite ``audit_event_no_update``
and ``audit_event_no_delete``), and the service's PostgreSQL role may not touch them.
A retention run that must delete the oldest rows does so inside
``append_only_lifted``, connected as the table's owner (the role that runs the
migrations): the guard is lifted and put back in the same transaction, so it is never
off for anyone else, and if the work fails the rollback restores it too.

After removing rows, the run must record where the retained chain now starts (the
seq and hash of the last row removed) somewhere the verifier can trust, such as a
row it appends to the log, and pass it to ``chain.verify`` and ``checkpoints.check``
as their ``start``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session

PG_TRIGGER = "audit_event_no_update_or_delete"


@contextmanager
def append_only_lifted(session: Session) -> Iterator[None]:
    """Within the caller's transaction, let the ``with`` block update or delete
    ``audit_event`` rows; the triggers are back before the block's work is committed.

    PostgreSQL: ALTER TABLE ... DISABLE and ENABLE TRIGGER, which only the table's
    owner may do (the service's role gets "must be owner of table audit_event").
    SQLite: the triggers are dropped and created again from their own SQL. Anyone who
    can write the SQLite file can do this too, which is why the chain is keyed and
    checkpointed: lifting the guard does not make a change undetectable.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ALTER TABLE audit_event DISABLE TRIGGER {PG_TRIGGER}"))
        yield
        session.execute(text(f"ALTER TABLE audit_event ENABLE TRIGGER {PG_TRIGGER}"))
        return
    triggers = session.execute(
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'audit_event' ORDER BY name"
        )
    ).all()
    for name, _sql in triggers:
        session.execute(text(f'DROP TRIGGER "{name}"'))
    yield
    for _name, sql in triggers:
        session.execute(text(sql))
