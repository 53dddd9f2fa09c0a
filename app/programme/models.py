"""The year's programme of audits: what the partnership plans to audit, when, how
often and with whom; and, for each month an entry falls in, the audit planned for it.

An entry's months are worked out from its first month, how it repeats and how many
times (``app.programme.service.months_of``); an occurrence row exists once an audit
is planned for (or linked to) one of them, so the programme never holds a row for a
month nothing has happened in yet.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.agencies.models import Agency, Subgroup
from app.audit_templates.models import TemplateFamily
from app.clock import utcnow
from app.db import Base, UTCDateTime, str_enum


class Repeat(StrEnum):
    NONE = "none"  # a one-off: one occurrence
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"  # every three months


programme_entry_agency = Table(
    "programme_entry_agency",
    Base.metadata,
    Column("entry_id", ForeignKey("programme_entry.id", ondelete="CASCADE"), primary_key=True),
    Column("agency_id", ForeignKey("agency.id"), primary_key=True),
)


class ProgrammeEntry(Base):
    """A planned audit in the partnership's year: its audits are made on the newest
    published version of its template, as each month comes (or when an admin plans
    one now)."""

    __tablename__ = "programme_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    theme: Mapped[str] = mapped_column(String(200), default="", server_default="")
    lead_subgroup_id: Mapped[int | None] = mapped_column(ForeignKey("subgroup.id"), index=True)
    template_family_id: Mapped[int] = mapped_column(ForeignKey("template_family.id"), index=True)
    first_month: Mapped[date] = mapped_column(Date)  # always the 1st of a month
    repeat: Mapped[Repeat] = mapped_column(
        str_enum(Repeat, "programme_repeat"), default=Repeat.NONE
    )
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    cohort_size: Mapped[int | None] = mapped_column(Integer)  # how many cases to draw
    # Days from the 1st of an occurrence's month to its returns' due date, and to its
    # moderation meeting.
    returns_due_after_days: Mapped[int] = mapped_column(Integer, default=21, server_default="21")
    moderation_after_days: Mapped[int] = mapped_column(Integer, default=35, server_default="35")
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lead_subgroup: Mapped[Subgroup | None] = relationship(lazy="raise")
    template_family: Mapped[TemplateFamily] = relationship(lazy="raise")
    agencies: Mapped[list[Agency]] = relationship(
        secondary=programme_entry_agency, lazy="raise", order_by=Agency.name
    )
    planned: Mapped[list[ProgrammeOccurrence]] = relationship(
        back_populates="entry", lazy="raise", order_by="ProgrammeOccurrence.month"
    )


class ProgrammeOccurrence(Base):
    """One month of an entry, with the audit planned for it. An audit answers for one
    month of one entry at most."""

    __tablename__ = "programme_occurrence"
    __table_args__ = (UniqueConstraint("entry_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Found by the unique constraint's index, which leads with it.
    entry_id: Mapped[int] = mapped_column(ForeignKey("programme_entry.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date)  # the 1st of the month
    audit_id: Mapped[int | None] = mapped_column(
        ForeignKey("audit.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entry: Mapped[ProgrammeEntry] = relationship(back_populates="planned", lazy="raise")
