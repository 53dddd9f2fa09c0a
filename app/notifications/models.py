"""Notifications: each e-mail the service means to send someone, queued in the same
transaction as the change it tells them of (so a change rolled back tells no one), sent
after it commits by a courier that claims each one (app/notifications/service.py), and
kept, so every person can see what they were told and when."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base, UTCDateTime, str_enum


class NotificationStatus(StrEnum):
    QUEUED = "queued"  # waiting to be sent (again, after a failure)
    SENDING = "sending"  # claimed by a courier
    SENT = "sent"
    FAILED = "failed"  # given up after MAX_ATTEMPTS


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (
        # The courier's question: what is queued and due.
        Index("ix_notification_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))  # its e-mail template's name
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))  # where it goes, as when it was queued
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # What it is about (an audit, a return, a briefing version), for the record.
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[NotificationStatus] = mapped_column(
        str_enum(NotificationStatus, "notification_status"), default=NotificationStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(20), default="", server_default="")
