"""Writing and checking the audit log.

``record`` inserts one row in the caller's transaction, so a change and its log row
commit or vanish together. Each row's hash is SHA-256 over the previous row's hash
and this row's content; rows are chained in id order. To keep the chain a single
line under concurrency, ``record`` first takes the chain's lock (a transaction-level
advisory lock on PostgreSQL; SQLite's writers already hold the database lock).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, func, inspect, select
from sqlalchemy.orm import Session

from app.auditlog.models import AuditEvent
from app.clock import utcnow
from app.context import current
from app.errors import FieldError, InvalidInput
from app.pagination import PageParams

GENESIS = "0" * 64
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


class Hashed(Protocol):
    """What a row's hash covers: an AuditEvent, or a row of its chain columns."""

    at: datetime
    user_id: int | None
    user_label: str
    action: str
    object_type: str
    object_id: int | None
    before: dict | None
    after: dict | None
    request_id: str
    client_address: str


def content_hash(prev_hash: str, event: Hashed) -> str:
    payload = {
        "prev": prev_hash,
        "at": event.at.isoformat(),
        "user_id": event.user_id,
        "user_label": event.user_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
        "client_address": event.client_address,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def record(
    session: Session,
    *,
    action: str,
    object_type: str,
    object_id: int | None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Append one row saying the current actor did ``action`` to the object."""
    context = current()
    if session.get_bind().dialect.name == "postgresql":
        # Appenders queue here until the one before commits. Locking the newest row
        # FOR UPDATE is not enough: a waiter wakes holding the row it first found,
        # not the one committed meanwhile, so two rows would share a prev_hash and
        # the chain would fork (tests/auditlog/test_chain.py). The SELECT below runs
        # after the lock is granted, so it sees every row committed before.
        session.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK)))
    last = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    prev_hash = last.hash if last else GENESIS
    event = AuditEvent(
        at=utcnow(),
        user_id=context.actor.user_id,
        user_label=context.actor.label,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=_canonical(before) if before is not None else None,
        after=_canonical(after) if after is not None else None,
        request_id=context.request_id,
        client_address=context.client_address,
        prev_hash=prev_hash,
    )
    event.hash = content_hash(prev_hash, event)
    session.add(event)
    session.flush()
    return event


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


# --- proving the chain --------------------------------------------------------------

# Columns the hash covers (and the id and hashes), read without building ORM objects:
# content_hash reads them by attribute, so a row serves as well as an AuditEvent.
_CHAIN_COLUMNS = (
    AuditEvent.id,
    AuditEvent.at,
    AuditEvent.user_id,
    AuditEvent.user_label,
    AuditEvent.action,
    AuditEvent.object_type,
    AuditEvent.object_id,
    AuditEvent.before,
    AuditEvent.after,
    AuditEvent.request_id,
    AuditEvent.client_address,
    AuditEvent.prev_hash,
    AuditEvent.hash,
)


@dataclass(frozen=True)
class VerifyResult:
    checked: int  # rows checked, the broken one included
    broken_id: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_id is None


def verify(
    session: Session, *, batch: int = 2000, progress: Callable[[int], None] | None = None
) -> VerifyResult:
    """Walk the log in id order and recompute every hash from the previous row's hash
    and the row's content; stop at the first row that does not fit.

    A row edited in place fails its own hash; a row removed, inserted or reordered
    fails the next row's ``prev_hash``. Rows are read in batches by id, so a long log
    needs little memory; ``progress`` is told how many rows each batch checked.
    """
    prev_hash, prev_id, checked = GENESIS, None, 0
    while True:
        stmt = select(*_CHAIN_COLUMNS).order_by(AuditEvent.id).limit(batch)
        if prev_id is not None:
            stmt = stmt.where(AuditEvent.id > prev_id)
        rows = session.execute(stmt).all()
        if not rows:
            return VerifyResult(checked=checked)
        for row in rows:
            checked += 1
            if row.prev_hash != prev_hash:
                after = "the start of the log" if prev_id is None else f"row {prev_id}"
                return VerifyResult(
                    checked=checked,
                    broken_id=row.id,
                    problem=f"its prev_hash does not match {after}: a row before it was "
                    "removed, inserted or altered",
                )
            if content_hash(prev_hash, row) != row.hash:
                return VerifyResult(
                    checked=checked,
                    broken_id=row.id,
                    problem="its content does not match its hash: the row was altered",
                )
            prev_hash, prev_id = row.hash, row.id
        if progress is not None:
            progress(len(rows))


def count(session: Session) -> int:
    return session.scalar(select(func.count(AuditEvent.id))) or 0


# --- querying and exporting ---------------------------------------------------------


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
    session: Session, *, filters: LogFilter, params: PageParams
) -> tuple[list[AuditEvent], int]:
    """One page of matching rows, newest first, and how many match in all."""
    total = session.scalar(select(func.count(AuditEvent.id)).where(*filters.conditions())) or 0
    rows = session.scalars(
        _filtered(filters)
        .order_by(AuditEvent.id.desc())
        .limit(params.per_page)
        .offset(params.offset)
    )
    return list(rows), total


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
