"""An agency's return for one child: answers, evidence and grades.

``version`` is the optimistic lock. Saving compares the version the client read
in the UPDATE's WHERE clause (see ``service.save_draft``), so two people editing
the same return can never silently overwrite each other.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.agencies.models import Agency
from app.audit_templates.models import GradeLevel
from app.audits.models import Child
from app.clock import utcnow
from app.db import Base, UTCDateTime, str_enum


class ReturnStatus(StrEnum):
    NOT_STARTED = "not_started"
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned_for_amendment"
    MODERATED = "moderated"


EDITABLE_STATUSES = frozenset({ReturnStatus.NOT_STARTED, ReturnStatus.DRAFT, ReturnStatus.RETURNED})


class Return(Base):
    __tablename__ = "audit_return"  # "return" is a reserved word in SQL
    __table_args__ = (
        UniqueConstraint("involvement_id"),
        # An agency's returns in an audit (My work), and an audit's counted by status
        # from the index alone (the audits list).
        Index("ix_audit_return_audit_id_agency_id_status", "audit_id", "agency_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"), index=True)
    involvement_id: Mapped[int] = mapped_column(ForeignKey("involvement.id", ondelete="CASCADE"))
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    status: Mapped[ReturnStatus] = mapped_column(
        str_enum(ReturnStatus, "return_status"), default=ReturnStatus.NOT_STARTED, index=True
    )
    auditor_name: Mapped[str | None] = mapped_column(String(200))
    # The auditor of the agency its lead gave it to (first on their My work), if any.
    assigned_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), index=True
    )
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Sent to the agency's lead for sign-off (an audit with lead_sign_off), at which
    # version: any change after that withdraws it.
    sign_off_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sign_off_version: Mapped[int | None] = mapped_column(Integer)
    overall_grade_id: Mapped[int | None] = mapped_column(ForeignKey("grade_level.id"))
    amendment_note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Left out of moderation (the chair decided not to wait for it), with the reason;
    # reversible: including it again clears these. Reports show it as "not received".
    excluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    excluded_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    excluded_by_label: Mapped[str] = mapped_column(Text, default="", server_default="")

    child: Mapped[Child] = relationship(lazy="raise")
    agency: Mapped[Agency] = relationship(lazy="raise")
    overall_grade: Mapped[GradeLevel | None] = relationship(lazy="raise")
    answers: Mapped[list[Answer]] = relationship(lazy="raise", cascade="all, delete-orphan")
    grades: Mapped[list[Grade]] = relationship(lazy="raise", cascade="all, delete-orphan")
    evidence: Mapped[list[KeyAreaEvidence]] = relationship(
        lazy="raise", cascade="all, delete-orphan"
    )


class Answer(Base):
    __tablename__ = "answer"
    __table_args__ = (UniqueConstraint("return_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("audit_return.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    # Every answer type is kept as its canonical text ("yes", "2024-03-31", "4.5"),
    # checked against the question's type when saved.
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Grade(Base):
    """The agency's own grade for one key area (the overall grade is on the return)."""

    __tablename__ = "grade"
    __table_args__ = (UniqueConstraint("return_id", "key_area_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("audit_return.id", ondelete="CASCADE"))
    key_area_id: Mapped[int] = mapped_column(ForeignKey("key_area.id"), index=True)
    level_id: Mapped[int] = mapped_column(ForeignKey("grade_level.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    level: Mapped[GradeLevel] = relationship(lazy="raise")


class KeyAreaEvidence(Base):
    """The three evidence boxes every key area has, whatever its questions."""

    __tablename__ = "key_area_evidence"
    __table_args__ = (UniqueConstraint("return_id", "key_area_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("audit_return.id", ondelete="CASCADE"))
    key_area_id: Mapped[int] = mapped_column(ForeignKey("key_area.id"), index=True)
    went_well: Mapped[str] = mapped_column(Text, default="")
    could_be_better: Mapped[str] = mapped_column(Text, default="")
    impact_on_child: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReturnSubmission(Base):
    """A submitted return as it was submitted: never changed, so what an agency said is
    readable as it said it, and a resubmission (after being sent back) is a new one
    beside it rather than an overwrite. ``content`` holds the answers, grades, evidence,
    overall grade and auditor's name (app/returns/versions.py)."""

    __tablename__ = "return_submission"
    __table_args__ = (UniqueConstraint("return_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(
        ForeignKey("audit_return.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)  # 1 for the first submission
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_by: Mapped[str] = mapped_column(String(200), default="")  # a name
    content: Mapped[dict] = mapped_column(JSON)
