"""Moderated grades: the moderator's decision on each cell of the child x agency x
key-area grid, kept beside the agency's own grade, forever.

A decision is never changed in place. Deciding a cell again supersedes the current
decision (``superseded_at``), which stays as the record of what was decided before.
``self_level_id`` is the agency's own grade when the moderator decided, so a grade
the agency changes afterwards (a return sent back and resubmitted) shows the cell as
needing moderation again.

Decisions of audits that have left moderation never change, so the pooled analytics
count them once, into the tally tables below (kept by app/moderation/tally.py), and
count live only what is still moving.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.audit_templates.models import GradeLevel
from app.clock import utcnow
from app.db import Base, UTCDateTime


class ModeratedGrade(Base):
    __tablename__ = "moderated_grade"
    __table_args__ = (
        # One current decision per cell; the overall grade's cell has no key area.
        Index(
            "uq_moderated_grade_current",
            "return_id",
            "cell",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"), index=True)
    return_id: Mapped[int] = mapped_column(
        ForeignKey("audit_return.id", ondelete="CASCADE"), index=True
    )
    key_area_id: Mapped[int | None] = mapped_column(ForeignKey("key_area.id"))
    # The key area's id, or 0 for the overall grade: a unique index cannot rely on NULL.
    cell: Mapped[int] = mapped_column(Integer)
    self_level_id: Mapped[int | None] = mapped_column(ForeignKey("grade_level.id"))
    level_id: Mapped[int] = mapped_column(ForeignKey("grade_level.id"))
    rationale: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_by_label: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How many levels the moderator moved the grade (+ = worse than the agency's own).
    shift: Mapped[int | None] = mapped_column(Integer)

    level: Mapped[GradeLevel] = relationship(foreign_keys=[level_id], lazy="raise")
    self_level: Mapped[GradeLevel | None] = relationship(foreign_keys=[self_level_id], lazy="raise")


class ChildMeetingNote(Base):
    """What the moderation meeting said about one child: the discussion, the learning
    points it raised (the start of the audit's findings) and who was there. One per
    child, changed in place; every change is in the audit log."""

    __tablename__ = "child_meeting_note"
    __table_args__ = (UniqueConstraint("child_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"))
    discussion: Mapped[str] = mapped_column(Text, default="")
    learning_points: Mapped[str] = mapped_column(Text, default="")
    attendees: Mapped[str] = mapped_column(Text, default="")
    updated_by_label: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TalliedAudit(Base):
    """A settled audit whose decisions are in the tally, under the month its moderation
    started (UTC). An audit in learning or closed without a row here (its data loaded
    around the lifecycle) is counted live until the tally is rebuilt. Audits are never
    deleted; one counted here cannot be without recounting, hence no cascade."""

    __tablename__ = "moderation_tallied_audit"

    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, index=True)  # the first of the month


class ModerationTally(Base):
    """Current decisions with a self-grade in tallied audits, counted by template
    version, agency, cell and the two grades: running totals, so a month's rows count
    every tallied audit whose moderation started in that month or before. Any span of
    whole months is then its last month's rows less those of the month before it, two
    months' rows however long the history. A month has rows only if decisions were
    counted under it; a key whose total is still nought has none."""

    __tablename__ = "moderation_tally"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    template_version_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # As on moderated_grade: the key area's id, or 0 for the overall grade.
    cell: Mapped[int] = mapped_column(Integer, primary_key=True)
    self_level_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decisions: Mapped[int] = mapped_column(Integer)


class AuditTally(Base):
    """How many tallied audits of a month and template version have such decisions, by
    agency (None: any agency) and cell (None: any key area, the overall grade aside):
    the analytics' count of audits, which is no sum of the decisions' counts. Counts of
    one month, not running totals: a month has a few dozen rows."""

    __tablename__ = "moderation_audit_tally"
    __table_args__ = (Index("ix_moderation_audit_tally_agency_id", "agency_id", "cell", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    template_version_id: Mapped[int] = mapped_column(Integer)
    agency_id: Mapped[int | None] = mapped_column(Integer)
    cell: Mapped[int | None] = mapped_column(Integer)
    audits: Mapped[int] = mapped_column(Integer)
