"""Findings: what an audit found, good practice or an area for improvement, tagged with
themes from a controlled list.

A finding is about an audit and, optionally, one key area of its template version,
one participating agency or one child of its cohort.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Column, ForeignKey, String, Table, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.agencies.models import Agency
from app.audit_templates.models import KeyArea
from app.audits.models import Audit, Child
from app.clock import utcnow
from app.db import Base, UTCDateTime, str_enum


class FindingKind(StrEnum):
    GOOD_PRACTICE = "good_practice"
    AREA_FOR_IMPROVEMENT = "area_for_improvement"


KIND_LABELS = {
    FindingKind.AREA_FOR_IMPROVEMENT: "Area for improvement",
    FindingKind.GOOD_PRACTICE: "Good practice",
}


class Theme(Base):
    """A theme findings are tagged with: a controlled list the business unit keeps.
    Never deleted (findings refer to it); retired by deactivating."""

    __tablename__ = "theme"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


finding_theme = Table(
    "finding_theme",
    Base.metadata,
    Column("finding_id", ForeignKey("finding.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_id", ForeignKey("theme.id"), primary_key=True),
)


class Finding(Base):
    __tablename__ = "finding"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"), index=True)
    kind: Mapped[FindingKind] = mapped_column(str_enum(FindingKind, "finding_kind"))
    statement: Mapped[str] = mapped_column(Text)
    key_area_id: Mapped[int | None] = mapped_column(ForeignKey("key_area.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    # A child removed from a planned cohort takes no finding with them: findings are
    # recorded once the audit is open, when the cohort can no longer change.
    child_id: Mapped[int | None] = mapped_column(ForeignKey("child.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_by_label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    audit: Mapped[Audit] = relationship(lazy="raise")
    key_area: Mapped[KeyArea | None] = relationship(lazy="raise")
    agency: Mapped[Agency | None] = relationship(lazy="raise")
    child: Mapped[Child | None] = relationship(lazy="raise")
    themes: Mapped[list[Theme]] = relationship(
        secondary=finding_theme, lazy="raise", order_by=Theme.name
    )


class ThemeSubscription(Base):
    """Someone who asked to be told when a learning briefing on a theme is published
    (app/notifications/notices.py ``briefing_published``)."""

    __tablename__ = "theme_subscription"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True
    )
    theme_id: Mapped[int] = mapped_column(ForeignKey("theme.id"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
