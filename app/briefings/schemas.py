"""What the briefing pages accept: drafting a briefing, saving its sections, sending it
back, publishing and withdrawing it (the pages check their forms with these models, as
other pages check theirs with the API's); and the JSON API's version and approval."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Annotated, Any

from pydantic import Field, StringConstraints, create_model

from app.audits.models import AuditStatus
from app.briefings.models import BriefingKind, Marking, RenderStatus, VersionStatus
from app.returns.models import ReturnStatus
from app.schemas_base import Name, PlainText, RequestModel, ResponseModel

SectionText = Annotated[str, StringConstraints(max_length=20_000), PlainText]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), PlainText]


class BriefingCreate(RequestModel):
    kind: BriefingKind
    title: Name
    marking: Marking
    public: bool


class BriefingSave(RequestModel):
    """The editor's form: each section of the kind (see ``sections_model``) and the
    marking."""

    marking: Marking


@cache
def sections_model(keys: tuple[str, ...]) -> type[BriefingSave]:
    """The editor's model for a kind of document, whose sections have these keys."""
    fields: dict[str, Any] = {key: (SectionText, "") for key in keys}
    return create_model("BriefingSections", __base__=BriefingSave, **fields)


class SendBack(RequestModel):
    note: Note = ""


class Withdraw(RequestModel):
    reason: Note


class Publish(RequestModel):
    assurance: bool = False
    assurance_due_on: date | None = None


class Approve(RequestModel):
    check_read: bool = Field(
        description="The approver has read the identification check's results (the "
        "version's check_report): required, and must be true."
    )
    confirm_small_counts: bool = Field(
        False, description="The small counts the check warns about cannot identify anyone."
    )
    check_seen: str | None = Field(
        None,
        max_length=64,
        description="The check_digest of the check the approver read: when given, the "
        "approval is refused (409) if the check now finds something different.",
    )


class SuppressTable(RequestModel):
    table: str = Field(
        max_length=200,
        description="The key of a table of children in the document (the check's "
        "problems name it as their table).",
    )


class ApprovalOut(ResponseModel):
    approver: str
    approved_at: datetime


class CheckProblemOut(ResponseModel):
    kind: str
    where: str
    excerpt: str
    message: str
    blocking: bool
    table: str | None = Field(None, description="Small counts: the key of the table.")


class BriefingVersionOut(ResponseModel):
    id: int
    briefing_id: int
    number: int
    title: str
    kind: BriefingKind
    status: VersionStatus
    marking: Marking
    drafted_by: str
    approvals: list[ApprovalOut] = Field(
        description="Each approval so far, first given first; none of the approvers wrote it."
    )
    approvals_needed: int
    approved_by: str | None
    approved_at: datetime | None
    submitted_at: datetime | None
    published_on: date | None
    render_status: RenderStatus
    suppressed_tables: list[str] = Field(
        description="The tables whose small counts of children are shown as "
        '"fewer than N", with the counts that would give them away hidden too.'
    )
    check_report: list[CheckProblemOut] = Field(
        description="The identification check's findings at submission or approval (as it "
        "runs now, for whoever may approve a submitted version), or "
        "what stopped publication when it read the printed PDF."
    )
    check_digest: str = Field(
        description="A fingerprint of check_report: send it as check_seen to approve only "
        "what you read."
    )


# --- the library, the counts of downloads and the assurance questionnaire (the API) ----


class LibraryItemOut(ResponseModel):
    """A published briefing as the library lists it, with its current version."""

    briefing_id: int
    title: str
    kind: BriefingKind
    public: bool = Field(description="Readable and downloadable without signing in.")
    theme: str = Field(description="The audit's theme (empty if it has none).")
    audit_id: int
    audit_title: str
    version_id: int
    version: int = Field(description="The current version's number.")
    published_on: date | None
    summary: str = Field(
        description="The briefing's summary, or the start of its first section with words "
        "in it (about 200 characters)."
    )
    size: int | None = Field(description="The PDF's size in bytes.")
    pages: int | None = Field(description="How many pages the PDF has (null if unreadable).")
    download_url: str = Field(description="The PDF, counted as a download.")


class LibraryVersionOut(ResponseModel):
    id: int
    number: int
    status: VersionStatus = Field(description="published or withdrawn.")
    superseded: bool = Field(description="A later version replaced it: use the current one.")
    published_on: date | None
    downloadable: bool = Field(
        description="Whether it is served: withdrawing a version withdraws the earlier ones too."
    )
    size: int | None
    pages: int | None
    download_url: str | None


class LibraryEntryOut(ResponseModel):
    """A briefing's page in the library: its current version, and every published or
    withdrawn one (none while the briefing is withdrawn)."""

    briefing_id: int
    title: str
    kind: BriefingKind
    public: bool
    theme: str
    audit_id: int
    audit_title: str
    withdrawn: bool = Field(description="The briefing has been withdrawn: nothing is served.")
    summary: str
    current: LibraryVersionOut | None
    versions: list[LibraryVersionOut] = Field(description="Newest first.")


class AgencyDownloadsOut(ResponseModel):
    agency_id: int
    agency: str
    downloads: int


class MonthAgencyDownloadsOut(ResponseModel):
    agency: str = Field(
        description='The agency, or "Not signed in", or "Signed in with no agency".'
    )
    downloads: int


class MonthAgencyFeedbackOut(ResponseModel):
    agency: str = Field(
        description='The agency, or "Not signed in", or "Signed in with no agency".'
    )
    useful: int
    not_useful: int


class MonthDownloadsOut(ResponseModel):
    month: str = Field(description="YYYY-MM, in England.", examples=["2027-01"])
    downloads: int
    useful: int = Field(description='Readers who answered yes to "was this useful?".')
    not_useful: int = Field(description="Readers who answered no.")
    by_agency: list[MonthAgencyDownloadsOut] = Field(description="Downloads, by agency.")
    feedback_by_agency: list[MonthAgencyFeedbackOut] = Field(
        description='"Was this useful?" answers, by agency.'
    )


class FeedbackCommentOut(ResponseModel):
    at: datetime
    version: int = Field(description="The number of the version the reader was shown.")
    useful: bool
    comment: str = Field(description="As the reader wrote it: they may not be signed in.")


class DownloadCountsOut(ResponseModel):
    """How often a briefing was downloaded (every version), and how many readers said it
    was useful: evidence of how the learning was disseminated, as the subgroup report
    shows it."""

    briefing_id: int
    title: str
    total: int
    not_signed_in: int
    signed_in_without_agency: int
    by_agency: list[AgencyDownloadsOut] = Field(
        description="People signed in, by their agency, by the agency's name."
    )
    by_month: list[MonthDownloadsOut] = Field(description="Oldest first.")
    useful: int = Field(description='Readers who answered yes to "was this useful?".')
    not_useful: int = Field(description="Readers who answered no.")
    comments: list[FeedbackCommentOut] = Field(
        description="The comments given with those answers, newest first (the readers "
        "are not kept)."
    )


COMMENT_LENGTH = 500
Comment = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=COMMENT_LENGTH), PlainText
]


class Feedback(RequestModel):
    """ "Was this useful?" on a briefing in the library (its current version)."""

    useful: bool = Field(description="Whether the briefing was useful.")
    comment: Comment = Field(
        "",
        description="Optional, up to 500 characters: what would make it more useful. "
        "It must not name anyone.",
    )


class FeedbackOut(ResponseModel):
    briefing_id: int
    version_id: int = Field(description="The current version, the one the answer is about.")
    useful: bool
    comment: str


class AssuranceLaunch(RequestModel):
    due_on: date = Field(description="When the agencies' answers are due: after today.")


class QuotedAnswerOut(ResponseModel):
    question: str
    answer: str


class AgencyAnswersOut(ResponseModel):
    agency: str
    status: ReturnStatus = Field(description="The agency's return's status.")
    answered: bool
    answers: list[QuotedAnswerOut] = Field(
        description="The answers the subgroup report quotes, empty if not given yet."
    )


class AssuranceOut(ResponseModel):
    """A briefing's assurance questionnaire as the subgroup report shows it."""

    briefing_id: int
    audit_id: int = Field(description="The questionnaire's own audit.")
    title: str
    status: AuditStatus = Field(description="The questionnaire's audit's status: open, or closed.")
    due_on: date | None
    closed_at: datetime | None
    close_reason: str | None = Field(
        description="Why it closed: every agency answered, or the answers were due."
    )
    answered: int
    agencies: list[AgencyAnswersOut]
