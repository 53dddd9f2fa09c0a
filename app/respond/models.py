"""One-time links for people without an account: a family member answering a family
survey, or an agency with no one signed up answering its questionnaire or
self-assessment. Each link opens one return, and nothing else (app/respond/service.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base, UTCDateTime


class RespondentLink(Base):
    """A link an administrator made for one return and passed on by their own channel.
    Only the token's SHA-256 is kept; it works until ``expires_at``, until the answers
    are sent (``used_at``), or until a newer link for the same return voids it. Who it
    was given to is never recorded."""

    __tablename__ = "respondent_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(
        ForeignKey("audit_return.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the answers were sent
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_by_label: Mapped[str] = mapped_column(String(320), default="")


class RespondentLinkFailure(Base):
    """A link that did not work (unknown, used, voided or expired), tried from a client
    address: at most ``respondent_link_failures_per_hour`` an hour, so no one can try
    tokens at random. An address's rows older than an hour are removed as it tries again."""

    __tablename__ = "respondent_link_failure"
    __table_args__ = (
        Index(
            "ix_respondent_link_failure_client_address_attempted_at",
            "client_address",
            "attempted_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_address: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
