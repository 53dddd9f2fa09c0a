"""Audits, their cohorts and which agencies were involved with which child.

A child is known here only by a pseudonym and minimal context: there is
deliberately no column for a name, date of birth, address or case number.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.agencies.models import Agency, Subgroup
from app.audit_templates.models import SUBJECT_WORDS, AuditSubject, SubjectWords, TemplateVersion
from app.clock import utcnow
from app.db import Base, UTCDateTime, str_enum


class AuditStatus(StrEnum):
    PLANNED = "planned"
    OPEN = "open"
    MODERATION = "moderation"
    LEARNING = "learning"
    CLOSED = "closed"


LIFE = tuple(AuditStatus)  # the order is the life: planned, open, moderation, learning, closed


class AgeBand(StrEnum):
    UNDER_1 = "under 1"
    AGE_1_4 = "1-4"
    AGE_5_9 = "5-9"
    AGE_10_13 = "10-13"
    AGE_14_15 = "14-15"
    AGE_16_17 = "16-17"
    AGE_18_PLUS = "18+"


audit_agency = Table(
    "audit_agency",
    Base.metadata,
    Column("audit_id", ForeignKey("audit.id", ondelete="CASCADE"), primary_key=True),
    Column("agency_id", ForeignKey("agency.id"), primary_key=True),
)


class Audit(Base):
    __tablename__ = "audit"
    __table_args__ = (
        # The audits list's order, newest first: read from the index, not sorted.
        Index("ix_audit_created_at_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_version.id"), index=True)
    # Children or agencies: its template's subject, kept from when it was planned.
    subject: Mapped[AuditSubject] = mapped_column(
        str_enum(AuditSubject, "audit_subject"),
        default=AuditSubject.CHILD,
        server_default=AuditSubject.CHILD.value,
    )
    # A family survey of another audit's children: its cohort is that audit's, by
    # pseudonym, and its answers are shown beside that audit's grades.
    survey_of_audit_id: Mapped[int | None] = mapped_column(
        ForeignKey("audit.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    theme: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    lead_subgroup_id: Mapped[int | None] = mapped_column(ForeignKey("subgroup.id"), index=True)
    status: Mapped[AuditStatus] = mapped_column(
        str_enum(AuditStatus, "audit_status"), default=AuditStatus.PLANNED, index=True
    )
    returns_due_on: Mapped[date | None] = mapped_column(Date)
    # The period of practice the audit looks at: a template's date questions may have
    # to fall within it.
    period_from: Mapped[date | None] = mapped_column(Date)
    period_to: Mapped[date | None] = mapped_column(Date)
    moderation_meeting_on: Mapped[date | None] = mapped_column(Date)
    # Each return is signed off by its agency's lead before it reaches the partnership.
    lead_sign_off: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    moderation_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    learning_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Closed when its learning is done (its actions closed, or with a recorded reason);
    # reopening puts it back in learning and clears these (both are in the audit log).
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    template_version: Mapped[TemplateVersion] = relationship(lazy="raise")
    lead_subgroup: Mapped[Subgroup | None] = relationship(lazy="raise")
    agencies: Mapped[list[Agency]] = relationship(
        secondary=audit_agency, lazy="raise", order_by=Agency.name
    )
    children: Mapped[list[Child]] = relationship(
        back_populates="audit", lazy="raise", order_by="Child.pseudonym"
    )

    @property
    def words(self) -> SubjectWords:
        """What its pages call its subjects: children, or agencies."""
        return SUBJECT_WORDS[self.subject]

    @property
    def about_agencies(self) -> bool:
        return self.subject == AuditSubject.AGENCY


class Child(Base):
    """One of the cases an audit looks at, each agency involved making a return about it.

    In a case audit it is a child, known by a pseudonym ("Child A"). In an audit about
    agencies (``Audit.subject``) it is an agency assessing itself: ``agency_id`` says
    which, ``pseudonym`` holds the agency's name as it was when the audit was planned,
    and it has no age band or context; every page, figure and report reads both alike.
    """

    __tablename__ = "child"
    __table_args__ = (
        UniqueConstraint("audit_id", "pseudonym"),
        # An agency is one case in an audit about agencies (NULLs, children, differ).
        Index("ix_child_audit_id_agency_id", "audit_id", "agency_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"), index=True)
    pseudonym: Mapped[str] = mapped_column(String(200))
    # The agency this case is, in an audit about agencies; None for a child.
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    age_band: Mapped[AgeBand | None] = mapped_column(str_enum(AgeBand, "age_band"))
    context_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    audit: Mapped[Audit] = relationship(back_populates="children", lazy="raise")
    involvements: Mapped[list[Involvement]] = relationship(
        back_populates="child", lazy="raise", cascade="all, delete-orphan"
    )


class Involvement(Base):
    """An agency worked with a child; one return is expected for each involvement."""

    __tablename__ = "involvement"
    __table_args__ = (UniqueConstraint("child_id", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    child: Mapped[Child] = relationship(back_populates="involvements", lazy="raise")
    agency: Mapped[Agency] = relationship(lazy="raise")
