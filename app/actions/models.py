"""Learning actions, the findings they answer, and their history.

A learning action names no child: it is about practice, so it may be shared (and
exported) across the partnership. Its status history (``ActionStatusChange``) is only
ever appended to.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.agencies.models import Agency
from app.audits.models import Audit
from app.clock import utcnow
from app.db import Base, UTCDateTime, str_enum
from app.findings.models import Finding


class ActionStatus(StrEnum):
    PROPOSED = "proposed"
    AGREED = "agreed"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    IMPACT_EVIDENCED = "impact_evidenced"
    CLOSED = "closed"
    NOT_ACCEPTED = "not_accepted"


action_finding = Table(
    "action_finding",
    Base.metadata,
    Column("action_id", ForeignKey("learning_action.id", ondelete="CASCADE"), primary_key=True),
    Column("finding_id", ForeignKey("finding.id", ondelete="CASCADE"), primary_key=True),
)


class LearningAction(Base):
    __tablename__ = "learning_action"
    # The tracker counts the actions by status and owning agency from the index alone.
    __table_args__ = (
        Index("ix_learning_action_status_owning_agency_id", "status", "owning_agency_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owning_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    owner_name: Mapped[str] = mapped_column(String(200))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    success_measure: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ActionStatus] = mapped_column(
        str_enum(ActionStatus, "action_status"), default=ActionStatus.PROPOSED, index=True
    )
    evidence_of_completion: Mapped[str] = mapped_column(Text, default="")
    evidence_of_impact: Mapped[str] = mapped_column(Text, default="")
    not_accepted_reason: Mapped[str] = mapped_column(Text, default="")
    # Bumped by every change: a form or request that read an older version is refused
    # (409) rather than silently overwriting what someone else saved meanwhile.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # How far its lateness has been told (app/notifications/escalation.py): "none",
    # "subgroup" (its owner, lead and lead subgroup's chair) or "executive"; back to
    # "none" when its due date moves.
    escalation_told: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_by_label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    audit: Mapped[Audit] = relationship(lazy="raise")
    owning_agency: Mapped[Agency] = relationship(lazy="raise")
    findings: Mapped[list[Finding]] = relationship(
        secondary=action_finding, lazy="raise", order_by=Finding.id
    )
    history: Mapped[list[ActionStatusChange]] = relationship(
        lazy="raise", order_by="ActionStatusChange.id", viewonly=True
    )


class ActionStatusChange(Base):
    """One step of an action's history: who moved it from which status to which, when,
    and why. Only ever inserted. A progress note keeps the status (from = to)."""

    __tablename__ = "action_status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("learning_action.id", ondelete="CASCADE"), index=True
    )
    # None for the row that records the action's creation.
    from_status: Mapped[ActionStatus | None] = mapped_column(str_enum(ActionStatus, "from_status"))
    to_status: Mapped[ActionStatus] = mapped_column(str_enum(ActionStatus, "to_status"))
    note: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    changed_by_label: Mapped[str] = mapped_column(String(200), default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
