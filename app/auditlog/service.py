"""Writing the audit log, and reading it back.

``record`` inserts one row in the caller's transaction, so a change and its log row
commit or vanish together. Each row's hash is an HMAC, under a key kept outside the
database, of the previous row's hash, the row's place in the chain and its content
(app/auditlog/chain.py); rows are chained in id order. To keep the chain a single
line under concurrency, ``record`` first takes the chain's lock (a transaction-level
advisory lock on PostgreSQL; SQLite's writers already hold the database lock). Once
the transaction commits, a signed checkpoint of the chain's head is written outside
the database (app/auditlog/checkpoints.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, Select, func, insert, inspect, select
from sqlalchemy.orm import Session

from app.auditlog import checkpoints
from app.auditlog.chain import GENESIS, chain_key, content_hash, pending_mac

# Proving the chain lives in app/auditlog/chain.py; these names are read from here too.
from app.auditlog.chain import VerifyResult as VerifyResult
from app.auditlog.chain import verify as verify
from app.auditlog.models import AuditEvent, PendingEvent
from app.clock import utcnow
from app.context import current
from app.db import AFTER_READ, after_read, reading
from app.errors import FieldError, InvalidInput
from app.pagination import PageParams

# pg_advisory_xact_lock key for appending to the chain (any constant of our own).
CHAIN_LOCK = 0x61756469746C6F67  # "auditlog"


def _canonical(value: Any) -> Any:
    """JSON-safe values, the same before storing and after reading back."""
    return json.loads(json.dumps(value, default=_default, sort_keys=True))


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    return str(value)


def record(
    session: Session,
    *,
    action: str,
    object_type: str,
    object_id: int | None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent | None:
    """Append one row saying the current actor did ``action`` to the object.

    In a read request (app.db.after_read) the row is not chained here: it is written,
    with its keyed MAC, to the rows waiting to be chained once the read's transaction
    has ended and before the response is sent (app/auditlog/pending.py); None is
    returned. Otherwise the row is chained in the caller's transaction and returned."""
    context = current()
    values = {
        "at": utcnow(),
        "user_id": context.actor.user_id,
        "user_label": context.actor.label,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "before": _canonical(before) if before is not None else None,
        "after": _canonical(after) if after is not None else None,
        "request_id": context.request_id,
        "client_address": context.client_address,
    }
    if reading(session):
        row = {**values, "mac": pending_mac(SimpleNamespace(**values), key=chain_key())}
        waiting = session.info.get(AFTER_READ, ())
        batch = next((w for w in waiting if isinstance(w, _WaitingRows)), None)
        if batch is None:
            batch = _WaitingRows()
            after_read(session, batch)
        batch.rows.append(row)
        return None
    lock_chain(session)
    event = AuditEvent(**linked(values, last=last_link(session), key=chain_key()))
    session.add(event)
    session.flush()
    checkpoints.appended(session)
    return event


class _WaitingRows:
    """The one write of a read request's log rows (app.db.after_read): the rows it
    records (one for each return the meeting view reads, say) go in one INSERT of them
    all, one statement and, on PostgreSQL, one commit, not one each."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def __call__(self, session: Session) -> None:
        if len(self.rows) == 1:  # most reads: the statement built once
            session.connection().execute(_WAIT, self.rows[0])
        else:
            session.connection().execute(insert(PendingEvent).values(self.rows))


_WAIT = insert(PendingEvent)


def lock_chain(session: Session) -> None:
    """Take the chain's lock for the rest of the transaction: appenders queue here until
    the one before commits. (SQLite's writers already hold the database's lock.)"""
    if session.get_bind().dialect.name == "postgresql":
        # Locking the newest row FOR UPDATE is not enough: a waiter wakes holding the
        # row it first found, not the one committed meanwhile, so two rows would share
        # a prev_hash and the chain would fork (tests/auditlog/test_chain.py). The
        # SELECT of the last link runs after the lock is granted, so it sees every row
        # committed before.
        session.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK)))


def last_link(session: Session) -> tuple[int, str]:
    """The seq and hash of the chain's newest row (0 and the genesis hash if none)."""
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return (last.seq, last.hash) if last else (0, GENESIS)


def linked(values: dict[str, Any], *, last: tuple[int, str], key: bytes) -> dict[str, Any]:
    """``values`` as the chain's link after ``last`` (the caller holds the chain's
    lock): with its place in the chain, the previous hash and its own hash."""
    seq, prev_hash = last
    row = {**values, "seq": seq + 1, "prev_hash": prev_hash}
    row["hash"] = content_hash(prev_hash, SimpleNamespace(**row), key=key)
    return row


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose values differ, for a compact before/after pair. A key on one
    side only counts too: a return's cleared answer has no key after."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    keys += [k for k in before if k not in after and before[k] is not None]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def record_changes(
    session: Session,
    *,
    action: str,
    object_type: str,
    object_id: int | None,
    before: dict,
    after: dict,
) -> AuditEvent | None:
    """Log a change with only the keys that differ; nothing changed, no row."""
    old, new = changes(_canonical(before), _canonical(after))
    if not new:
        return None
    return record(
        session,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=old,
        after=new,
    )


@dataclass
class Change:
    """What a ``changing`` block's object looked like before the block and after it
    (``after`` stays None until the block ends, and if the block deleted the object)."""

    before: dict
    after: dict | None = None


@contextmanager
def changing(
    session: Session,
    obj: Any,
    *,
    action: str,
    object_type: str,
    view: Callable[[Any], dict],
) -> Iterator[Change]:
    """Log the change the ``with`` block makes to ``obj`` as one row, in the same
    transaction.

    ``view(obj)`` is what the log records of the object: taken before the block, and
    again after it once flushed (so a view that reads the database sees the change).
    The row holds only the keys that differ, and a block that changes nothing writes
    none. If the block deleted ``obj``, the row's ``before`` is the whole first view.
    A block that raises writes nothing.
    """
    object_id = obj.id  # before the block: a deleted object cannot be loaded again
    change = Change(before=view(obj))
    yield change
    session.flush()
    if inspect(obj).deleted:
        record(
            session,
            action=action,
            object_type=object_type,
            object_id=object_id,
            before=change.before,
        )
        return
    change.after = view(obj)
    record_changes(
        session,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=change.before,
        after=change.after,
    )


# --- counting, querying and exporting ---------------------------------------------


def count(session: Session) -> int:
    return session.scalar(select(func.count(AuditEvent.id))) or 0


@dataclass(frozen=True)
class LogFilter:
    """Which rows to show; every field given must match. ``since`` and ``until`` are
    inclusive; a datetime without a timezone is read as UTC."""

    user_id: int | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        for name, field in (("since", "from"), ("until", "to")):
            value = getattr(self, name)
            if value is None:
                continue
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            try:
                value = value.astimezone(UTC)
            except OverflowError:
                raise InvalidInput(
                    "The date is outside the range the log can hold.",
                    fields=[FieldError(field, "Must be between the years 1 and 9999 in UTC")],
                ) from None
            object.__setattr__(self, name, value)
        if self.since and self.until and self.since > self.until:
            raise InvalidInput(
                "The date range ends before it starts.",
                fields=[FieldError("to", "Must be on or after 'from'")],
            )

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.user_id is not None:
            found.append(AuditEvent.user_id == self.user_id)
        if self.action:
            found.append(AuditEvent.action == self.action)
        if self.object_type:
            found.append(AuditEvent.object_type == self.object_type)
        if self.object_id is not None:
            found.append(AuditEvent.object_id == self.object_id)
        if self.since is not None:
            found.append(AuditEvent.at >= self.since)
        if self.until is not None:
            found.append(AuditEvent.at <= self.until)
        return found


def _filtered(filters: LogFilter) -> Select:
    return select(AuditEvent).where(*filters.conditions())


def search(
    session: Session, *, filters: LogFilter, params: PageParams, count_up_to: int = 10_000
) -> tuple[list[AuditEvent], int, bool]:
    """One page of matching rows, newest first; how many match, counted up to
    ``count_up_to``; and whether that count is exact (False: more than that match).
    An exact count over a log of millions of rows costs far more than the page does,
    so counting stops one row past the limit."""
    first = select(AuditEvent.id).where(*filters.conditions()).limit(count_up_to + 1)
    counted = session.scalar(select(func.count()).select_from(first.subquery())) or 0
    rows = session.scalars(
        _filtered(filters)
        .order_by(AuditEvent.id.desc())
        .limit(params.per_page)
        .offset(params.offset)
    )
    return list(rows), min(counted, count_up_to), counted <= count_up_to


def matching(session: Session, *, filters: LogFilter, batch: int = 2000) -> Iterator[AuditEvent]:
    """Every matching row, oldest first (the order of the chain), read in batches."""
    last_id = 0
    while True:
        rows = session.scalars(
            _filtered(filters).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        yield from rows
        for row in rows:  # a long export need not keep every row in the session
            session.expunge(row)
        if len(rows) < batch:
            return
        last_id = rows[-1].id
