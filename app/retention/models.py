"""What the retention schedule removed: one row per kind of record per audit (or per
kind, for sign-in records), saying which fields, how many values, when, under which
rule and by whom; never the removed text. Kept for the life of the service, as the
answer to "when did this go, and why" (docs/data-protection.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base, UTCDateTime


class RetentionRemoval(Base):
    __tablename__ = "retention_removal"

    id: Mapped[int] = mapped_column(primary_key=True)
    removed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(40))  # a rule's kind (app/retention/schedule.py)
    # No foreign key, as in the audit log: the record must outlive what it mentions.
    # None for records that belong to no audit (web sessions, sign-in records).
    audit_id: Mapped[int | None] = mapped_column(Integer, index=True)
    fields: Mapped[str] = mapped_column(String(500))  # "table.column, ..." as the rule names them
    removed_count: Mapped[int] = mapped_column(Integer)  # values replaced, or rows deleted
    how: Mapped[str] = mapped_column(String(20))  # "replaced" (by the marker) or "deleted"
    # Why: the rule's period, and the moment it ran from (the audit's close), or the
    # moment before which records were old enough.
    rule: Mapped[str] = mapped_column(String(200))
    due_from: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_by: Mapped[str] = mapped_column(String(320), default="")
    # The audit log's row that records this removal.
    audit_event_id: Mapped[int | None] = mapped_column(Integer)
