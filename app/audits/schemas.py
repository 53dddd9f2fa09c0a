from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from app.agencies.models import AgencyKind
from app.audit_templates.schemas import TemplateId
from app.audits.models import AgeBand, AuditStatus, AuditSubject
from app.returns.models import ReturnStatus
from app.schemas_base import (
    Id,
    LongText,
    Name,
    OneLine,
    RequestModel,
    ResponseModel,
    ShortText,
    Shows,
    reject_null,
)

# A pseudonym is one of a few fixed words and a short code ("Child A", "Young
# person 3"): with the words fixed, neither a name nor a case number fits.
# "Briefing 12" names a published briefing where text speaks of one (the learning
# assurance questionnaire once stood one in as its case).
PSEUDONYM_WORDS = ("Child", "Young person", "Baby", "Unborn baby", "Sibling", "Briefing")
PSEUDONYM_PATTERN = r"^(?:" + "|".join(PSEUDONYM_WORDS) + r") [A-Z0-9]{1,3}$"


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else r"\s+" for c in word)


# What _check_pseudonym accepts, as a JSON schema pattern: the words in any case, the
# code in either, any spacing between ("child  a" is stored as "Child A"). White space
# before or after, which is stripped, is left out: with it, a pseudonym padded past
# maxLength would match, and the length is checked once it is stripped.
PSEUDONYM_INPUT_PATTERN = (
    r"^(?:" + "|".join(_any_case(w) for w in PSEUDONYM_WORDS) + r")\s+[A-Za-z0-9]{1,3}$"
)
Pseudonym = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=40),
    Shows(pattern=PSEUDONYM_INPUT_PATTERN),
    Field(
        description="One of " + ", ".join(PSEUDONYM_WORDS) + ", then a code of up to 3 "
        "letters or digits ('Child A', 'Young person 3'): never a name or case number. "
        "Any case and spacing will do: 'child  a' is kept as 'Child A'."
    ),
]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=30), OneLine]


def _check_pseudonym(value: str) -> str:
    value = " ".join(value.split())
    for word in PSEUDONYM_WORDS:  # accept "child a" as "Child A"
        if value.lower().startswith(word.lower() + " "):
            value = word + " " + value[len(word) + 1 :].upper()
    if not re.fullmatch(PSEUDONYM_PATTERN, value):
        raise ValueError(
            "use a pseudonym such as 'Child A' or 'Young person 3': one of "
            + ", ".join(PSEUDONYM_WORDS)
            + ", then a code of up to 3 letters or digits; never a name or case number"
        )
    return value


# The period of practice the audit looks at (the six months before it, say): a
# template's date question may have to fall within it.
PERIOD_FROM = (
    "The first day of the period of practice the audit looks at; a template's date "
    "question may have to fall within the period"
)
PERIOD_TO = "The last day of the period the audit looks at: on or after period_from"


class AuditCreate(RequestModel):
    template_version_id: Id
    title: Name
    theme: ShortText = ""
    description: LongText = ""
    lead_subgroup_id: Id | None = None
    returns_due_on: date | None = None
    moderation_meeting_on: date | None = None
    period_from: date | None = Field(default=None, description=PERIOD_FROM)
    period_to: date | None = Field(default=None, description=PERIOD_TO)
    lead_sign_off: bool = False
    agency_ids: list[Id] = Field(default_factory=list, max_length=50)


class AuditPatch(RequestModel):
    title: Name | None = None
    theme: ShortText | None = None
    description: LongText | None = None
    lead_subgroup_id: Id | None = None
    returns_due_on: date | None = None
    moderation_meeting_on: date | None = None
    period_from: date | None = Field(default=None, description=PERIOD_FROM + "; null clears it")
    period_to: date | None = Field(default=None, description=PERIOD_TO + "; null clears it")
    lead_sign_off: bool | None = None

    _not_null = reject_null("title", "theme", "description", "lead_sign_off")


WarningKey = Annotated[str, StringConstraints(min_length=1, max_length=40), OneLine]


class OpenAudit(RequestModel):
    confirm: bool = Field(
        default=False,
        description="Open even with warnings (an agency with no active auditor, no "
        "moderation meeting date, a due date already past); without it those answer 422",
    )
    warnings: list[WarningKey] | None = Field(
        default=None,
        max_length=100,
        description="The warnings confirmed, by the field each 422 needs_confirmation "
        'named ("agencies.<id>", "moderation_meeting_on", "returns_due_on"): if there '
        "are warnings by then and they are not exactly these, 409 warnings_changed names "
        "them and nothing opens. Without it, confirm accepts whatever warnings there are.",
    )


class CloseAudit(RequestModel):
    reason: LongText = Field(
        default="", description="Why it closes; required while any learning action is open"
    )


class ReopenAudit(RequestModel):
    reason: Annotated[LongText, Field(min_length=1, description="Why it is reopened")]


class AgencyIds(RequestModel):
    agency_ids: list[Id] = Field(max_length=50)


class ChildCreate(RequestModel):
    pseudonym: Pseudonym
    age_band: AgeBand | None = None
    context_tags: list[Tag] = Field(default_factory=list, max_length=10)
    agency_ids: list[Id] = Field(
        default_factory=list, max_length=50, description="Agencies involved with the child."
    )

    _pseudonym = field_validator("pseudonym")(_check_pseudonym)


class ChildPatch(RequestModel):
    pseudonym: Pseudonym | None = None
    age_band: AgeBand | None = None
    context_tags: list[Tag] | None = Field(default=None, max_length=10)

    _not_null = reject_null("pseudonym", "context_tags")

    @field_validator("pseudonym")
    @classmethod
    def _pseudonym(cls, value: str | None) -> str | None:
        return None if value is None else _check_pseudonym(value)


class InvolvementCreate(RequestModel):
    child_id: Id
    agency_id: Id


class AgencyRef(ResponseModel):
    id: int
    name: str
    kind: AgencyKind


class NamedRef(ResponseModel):
    id: int
    name: str


class TemplateVersionRef(ResponseModel):
    """The template version an audit uses: ``id`` is the version's, ``template_id``
    the template's (the same for all its versions)."""

    id: int = Field(
        description="The template version's id: for /template-versions/{version_id}. "
        "Not the template's id (template_id)."
    )
    template_id: TemplateId
    name: str
    number: int = Field(description="The version's number within its template: 1, 2 ...")


class StatusCounts(ResponseModel):
    expected: int = 0
    not_started: int = 0
    draft: int = 0
    submitted: int = 0
    returned_for_amendment: int = 0
    moderated: int = 0


class AuditOut(ResponseModel):
    id: int
    title: str
    theme: str
    description: str
    status: AuditStatus
    subject: AuditSubject = Field(
        description="What it looks at, from its template: children (a case audit), or "
        "agencies, each agency taking part making one return about itself"
    )
    survey_of_audit_id: int | None = Field(
        description="A family survey: the audit whose children's families it asks"
    )
    template_version: TemplateVersionRef
    lead_subgroup: NamedRef | None
    returns_due_on: date | None
    moderation_meeting_on: date | None
    period_from: date | None = Field(description=PERIOD_FROM)
    period_to: date | None = Field(description=PERIOD_TO)
    lead_sign_off: bool = Field(
        description="Each return is signed off by its agency's lead before it is submitted"
    )
    created_at: datetime
    opened_at: datetime | None
    closed_at: datetime | None
    close_reason: str
    agencies: list[AgencyRef]
    children_count: int
    returns: StatusCounts


class InvolvementOut(ResponseModel):
    id: int
    agency_id: int
    agency_name: str
    return_id: int
    return_status: ReturnStatus


class ChildOut(ResponseModel):
    """One of the audit's cases: a child, or in an audit about agencies an agency."""

    id: int
    audit_id: int
    pseudonym: str = Field(
        description="A child's pseudonym; in an audit about agencies, the agency's name"
    )
    agency_id: int | None = Field(
        description="In an audit about agencies, the agency this case is; null for a child"
    )
    age_band: AgeBand | None
    context_tags: list[str]
    involvements: list[InvolvementOut]


class AgencyProgress(StatusCounts):
    agency_id: int
    agency_name: str


class ChildProgress(StatusCounts):
    child_id: int
    pseudonym: str


class Progress(ResponseModel):
    audit_id: int
    status: AuditStatus
    returns_due_on: date | None
    totals: StatusCounts
    by_agency: list[AgencyProgress]
    by_child: list[ChildProgress]


class CohortDraw(RequestModel):
    eligible: int = Field(
        ge=1,
        le=100_000,
        description="How many children are eligible: the partnership's own list of them, "
        "numbered 1 to this, kept outside the service.",
    )
    count: int = Field(ge=1, le=200, description="How many to draw.")
    seed: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="The seed to draw with (none: a new random one, returned). The same "
        "seed and numbers always draw the same positions.",
    )
    agency_ids: list[Id] = Field(
        default_factory=list,
        max_length=50,
        description="Agencies involved with every child drawn (more can be added after).",
    )
    age_band: AgeBand | None = Field(
        default=None,
        description="A draw stratified by age band: eligible counts that band's own list, "
        "numbered 1 to eligible, and each child drawn has the band. Draw each band in turn "
        "with the same seed.",
    )


class DrawnChild(ResponseModel):
    position: int = Field(
        description="Its position in the partnership's list of eligible children."
    )
    child: ChildOut


class CohortDrawn(ResponseModel):
    seed: str
    age_band: AgeBand | None = Field(description="The age band drawn from, if stratified.")
    eligible: int
    positions: list[int] = Field(description="The positions drawn, ascending.")
    children: list[DrawnChild]
