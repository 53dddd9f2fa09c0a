from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from app.audits.models import AuditStatus
from app.programme.models import Repeat
from app.schemas_base import (
    Id,
    LongText,
    OneLine,
    RequestModel,
    ResponseModel,
    ShortText,
    reject_null,
)

# Room is left for the month a repeating entry's audits add to it ("- April 2026").
EntryTitle = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=180), OneLine
]
FIRST_MONTH = "The first month it falls in, as its 1st (2026-04-01)"
OCCURRENCES = "How many audits: 1 for a one-off; 12 for every month of a year (at most 24)"
Occurrences = Annotated[int, Field(ge=1, le=24, description=OCCURRENCES)]
CohortSize = Annotated[int, Field(ge=1, le=200, description="How many cases to draw")]
ReturnsDays = Annotated[
    int,
    Field(ge=0, le=365, description="Days from the 1st of its month to its returns' due date"),
]
ModerationDays = Annotated[
    int,
    Field(
        ge=0,
        le=730,
        description="Days from the 1st of its month to its moderation meeting: at least "
        "returns_due_after_days",
    ),
]


class ProgrammeEntryCreate(RequestModel):
    title: EntryTitle
    theme: ShortText = ""
    lead_subgroup_id: Id | None = None
    template_family_id: Id = Field(
        description="The template (its id, as /templates/{template_id}): each audit uses "
        "its newest published version when it is made"
    )
    first_month: date = Field(description=FIRST_MONTH)
    repeat: Repeat = Repeat.NONE
    occurrences: Occurrences = 1
    agency_ids: list[Id] = Field(default_factory=list, max_length=50)
    cohort_size: CohortSize | None = None
    returns_due_after_days: ReturnsDays = 21
    moderation_after_days: ModerationDays = 35
    notes: LongText = ""


class ProgrammeEntryPatch(RequestModel):
    title: EntryTitle | None = None
    theme: ShortText | None = None
    lead_subgroup_id: Id | None = None
    template_family_id: Id | None = None
    first_month: date | None = Field(default=None, description=FIRST_MONTH)
    repeat: Repeat | None = None
    occurrences: Occurrences | None = None
    agency_ids: list[Id] | None = Field(default=None, max_length=50)
    cohort_size: CohortSize | None = None
    returns_due_after_days: ReturnsDays | None = None
    moderation_after_days: ModerationDays | None = None
    notes: LongText | None = None

    _not_null = reject_null(
        "title",
        "theme",
        "template_family_id",
        "first_month",
        "repeat",
        "occurrences",
        "agency_ids",
        "returns_due_after_days",
        "moderation_after_days",
        "notes",
    )


class ProgrammeLink(RequestModel):
    audit_id: Id = Field(description="An audit not yet the audit of any month of the programme")


ProgrammeState = Literal["not_planned", "planned", "open", "moderation", "learning", "closed"]


class ProgrammeMonthOut(ResponseModel):
    """One month of an entry: its audit, if one is made, and where it stands."""

    month: date = Field(description="The month, as its 1st")
    state: ProgrammeState = Field(
        description="not_planned while no audit is made for it, then the audit's status"
    )
    late: bool = Field(
        description="Its moderation meeting has passed and moderation has not started, or "
        "its month has ended and its audit is not made or not yet opened"
    )
    audit_id: int | None = Field(
        description="The audit made for it: null until one is, and for an audit the reader "
        "may not open"
    )


class ProgrammeEntryOut(ResponseModel):
    id: int
    title: str
    theme: str
    lead_subgroup_id: int | None
    template_family_id: int
    template_name: str
    first_month: date
    repeat: Repeat
    occurrences: int
    agency_ids: list[int]
    cohort_size: int | None
    returns_due_after_days: int
    moderation_after_days: int
    notes: str
    created_at: datetime
    archived_at: datetime | None
    months: list[ProgrammeMonthOut] = Field(
        description="Its months (in a year's programme: those in the year), each with its audit"
    )


class ProgrammeYearOut(ResponseModel):
    year: int = Field(description="The partnership year, April to March, by the year it starts")
    first_month: date
    last_month: date
    entries: list[ProgrammeEntryOut]


class ProgrammeAuditOut(ResponseModel):
    """The audit made or linked for a month."""

    entry_id: int
    month: date
    audit_id: int
    title: str
    status: AuditStatus
