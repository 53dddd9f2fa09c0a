"""The append-only audit log: who did what to which object, before and after.

Rows are only ever inserted (app.auditlog.service.record, in the same transaction
as the change); on both databases triggers refuse UPDATE and DELETE, and on
PostgreSQL the service runs as a role that does not own the table, so it cannot
switch them off. Each row's hash is keyed with a key kept outside the database and
covers its content, its place in the chain and the previous row's hash, so any
alteration breaks the chain (app/auditlog/chain.py); signed checkpoints written
outside the database catch rows removed from its end (app/auditlog/checkpoints.py).
``audit-tools audit-log verify`` checks both.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base, UTCDateTime


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        # One object's history, found without reading the whole log.
        Index("ix_audit_event_object_type_object_id", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The row's place in the chain (1 for the first row ever written): a checkpoint's
    # row count is its head's seq, read in one look-up rather than counted.
    seq: Mapped[int] = mapped_column(Integer, unique=True, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # No foreign key: the log must outlive anything it mentions.
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    user_label: Mapped[str] = mapped_column(String(320), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    request_id: Mapped[str] = mapped_column(String(40), default="")
    client_address: Mapped[str] = mapped_column(String(64), default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class PendingEvent(Base):
    """A row a read request recorded (a return read, say), committed before its response
    was sent and waiting to be chained: ``app.auditlog.pending`` moves it into the log
    in batches, under one lock per batch rather than one per read. Its ``mac`` (keyed
    like the chain) shows it was written by the service; triggers refuse UPDATE."""

    __tablename__ = "audit_event_pending"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(Integer)
    user_label: Mapped[str] = mapped_column(String(320), default="")
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    request_id: Mapped[str] = mapped_column(String(40), default="")
    client_address: Mapped[str] = mapped_column(String(64), default="")
    mac: Mapped[str] = mapped_column(String(64))
