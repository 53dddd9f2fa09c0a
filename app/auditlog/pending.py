"""Rows waiting to be chained: what read requests record, sealed into the log in batches.

A request that only reads (a return read, say) must still be logged before its response
is sent, but taking the chain's lock for every read would make every reader queue behind
every other (on PostgreSQL an advisory lock held from the last hash's look-up to the
commit). So a read request writes its row, with a keyed MAC, to ``audit_event_pending``
without any lock (``app.auditlog.service.record``), and ``seal`` moves waiting rows into
the chain oldest first, many under one lock: every second in each serving process
(app/main.py), and before anything reads the log (its pages, API, export and
``audit-tools audit-log verify``), so the log is whole whenever it is read.

What this guarantees (docs/architecture.md): a read is committed to the database before
its response is sent; a waiting row cannot be changed (a trigger refuses UPDATE) or
forged (the chain takes only rows whose MAC fits, and logs any other as refused); within
a second or so it is in the chain, with the time it happened (``at``) and its place in
the chain (``seq``) after the changes chained meanwhile. Until it is sealed, someone with
the service's own database credentials could delete it unseen: the window the batch
buys its speed with.
"""

from __future__ import annotations

import hmac
import logging
import threading
from dataclasses import dataclass

from sqlalchemy import Row, delete, exists, insert, select
from sqlalchemy.orm import Session, sessionmaker

from app.auditlog import checkpoints
from app.auditlog.chain import chain_key, pending_mac
from app.auditlog.models import AuditEvent, PendingEvent
from app.auditlog.service import last_link, linked, lock_chain
from app.db import session_scope

log = logging.getLogger(__name__)

BATCH = 2000
# What the chain says in place of a waiting row whose MAC does not fit.
REFUSED = "audit_log.pending_refused"
CONTENT = (
    "at",
    "user_id",
    "user_label",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "request_id",
    "client_address",
)


@dataclass(frozen=True)
class Sealed:
    chained: int = 0
    refused: int = 0


def seal(session: Session, *, batch: int = BATCH) -> Sealed:
    """Chain every waiting row, oldest first, ``batch`` at a time under the chain's lock
    (in the caller's transaction, which must be a writer's); a row whose MAC does not fit
    was not written by the service, and is chained as a refusal naming what it claimed.
    Plain rows, not ORM objects: sealing runs beside the requests, in their process."""
    lock_chain(session)
    key = chain_key()
    last = last_link(session)
    connection = session.connection()
    chained = refused = after_id = 0
    while rows := connection.execute(_OLDEST.where(PendingEvent.id > after_id).limit(batch)).all():
        links = []
        for row in rows:
            values = {name: getattr(row, name) for name in CONTENT}
            if not hmac.compare_digest(pending_mac(row, key=key), row.mac):
                refused += 1
                values = _refusal(row, values)
            links.append(linked(values, last=last, key=key))
            last = (links[-1]["seq"], links[-1]["hash"])
        connection.execute(insert(AuditEvent), links)
        after_id = rows[-1].id
        connection.execute(delete(PendingEvent).where(PendingEvent.id <= after_id))
        chained += len(rows)
    if chained:
        checkpoints.appended(session)
    return Sealed(chained=chained, refused=refused)


_OLDEST = select(PendingEvent.__table__).order_by(PendingEvent.id)


def _refusal(row: Row, values: dict) -> dict:
    log.error("A row waiting to be chained (id %s) does not fit its MAC: refused", row.id)
    claimed = {name: values[name] for name in ("action", "object_type", "object_id")}
    return {
        **values,
        "action": REFUSED,
        "object_type": "audit_log",
        "object_id": None,
        "before": None,
        "after": {**claimed, "pending_id": row.id, "user_label": values["user_label"]},
    }


def seal_waiting(factory: sessionmaker[Session]) -> Sealed:
    """Chain what waits, in a transaction of its own; nothing (not even the write lock
    on SQLite) when nothing waits. For the serving processes' timer and the CLI."""
    with factory() as session:
        if not session.scalar(select(exists().where(PendingEvent.id > 0))):
            return Sealed()
    with session_scope(factory) as session:
        return seal(session)


class Sealer:
    """One thread per serving process that chains what waits every ``every`` seconds.
    Several processes may run one: each batch is chained under the chain's lock."""

    def __init__(self, factory: sessionmaker[Session], every: float) -> None:
        self.factory, self.every = factory, every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="audit-log-sealer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.seal()  # what the last second's reads left

    def seal(self) -> None:
        try:
            seal_waiting(self.factory)
        except Exception:  # noqa: BLE001 - never let the thread die: the next tick tries again
            log.exception("could not chain the audit log's waiting rows")

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.seal()
