"""What the briefing pages accept: drafting a briefing, saving its sections, sending it
back, publishing and withdrawing it (the pages check their forms with these models, as
other pages check theirs with the API's); and the JSON API's: the same steps, the
editors' list, a briefing and its versions, approval, and the library."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from functools import cache
from typing import Annotated, Any

from pydantic import Field, StringConstraints, create_model

from app.audits.models import AuditStatus
from app.briefings.models import BriefingKind, Marking, RenderStatus, VersionStatus
from app.returns.models import ReturnStatus
from app.schemas_base import MAX_ID, Name, OneLine, PlainText, RequestModel, ResponseModel

SectionText = Annotated[str, StringConstraints(max_length=20_000), PlainText]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), PlainText]


class BriefingCreate(RequestModel):
    kind: BriefingKind = Field(
        description="A learning briefing for practitioners (the 7-minute briefing), or a "
        "report for a subgroup."
    )
    title: Name
    marking: Marking = Field(description="The protective marking printed on every page.")
    public: bool = Field(
        description="Once published, anyone may read and download it without signing in."
    )


class PackCreate(RequestModel):
    """An inspection-readiness pack: the period its figures cover, and optionally one
    theme (an audit theme as the audits write it)."""

    title: Name
    marking: Marking = Field(description="The protective marking printed on every page.")
    period_from: date = Field(description="The period's first day.")
    period_to: date = Field(description="The period's last day (included).")
    theme: Annotated[str, StringConstraints(max_length=200), OneLine] | None = Field(
        None, description="Only the audits of this theme (as the audits write it)."
    )


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
    note: Note = Field("", description="What needs changing, for its authors.")


class Withdraw(RequestModel):
    reason: Note = Field(description="Why it is withdrawn (required).")


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


# --- the workflow over JSON: saving, submitting, sending back, publishing, withdrawing ---


LockVersion = Annotated[int, Field(ge=1, le=MAX_ID)]


class SectionsSave(RequestModel):
    """A draft's sections, as the editor saves them (its ``lock_version`` read with it)."""

    lock_version: LockVersion = Field(
        description="The version's lock_version as you read it: the save is refused (409) "
        "if someone saved it since."
    )
    marking: Marking = Field(description="The protective marking printed on every page.")
    sections: dict[str, SectionText] = Field(
        description="Text by section key (the version's ``sections`` list the keys its "
        "kind has, each up to 20,000 characters): the sections given are saved, the "
        "others kept as they are. A key the kind does not have is refused (422)."
    )


class BriefingSubmit(RequestModel):
    confirm_small_counts: bool = Field(
        False,
        description="The small groups, long numbers and postcode districts the "
        "identification check lists in the text cannot identify anyone (a table's small "
        'counts are shown as "fewer than N" instead: POST .../suppressed-tables).',
    )


class PublishIn(RequestModel):
    assurance_due_on: date | None = Field(
        None,
        description="Launch the assurance questionnaire once it is published, the "
        "agencies' answers due on this date (after today). Leave it out to send none.",
    )


class SectionOut(ResponseModel):
    key: str = Field(description="What ``SectionsSave.sections`` names it by.")
    heading: str
    text: str


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
    lock_version: int = Field(
        description="Send it back when saving the sections: a save by someone else in "
        "between makes yours stale (409)."
    )
    sections: list[SectionOut] = Field(
        description="Each section of its kind, in the document's order, as the editor shows it."
    )
    page_one_percent: int | None = Field(
        description="A learning briefing: how much of page 1 its title and boxes fill, "
        "estimated from their length (over 100: they run on to page 2, and the briefing "
        "no longer fits its two pages). Null for a subgroup report."
    )
    withdrawn_reason: str | None


class BriefingSort(StrEnum):
    """How the editors' list is ordered: a column (``service.VERSION_SORTS``),
    descending with a leading "-"."""

    TITLE = "title"
    TITLE_DESC = "-title"
    KIND = "kind"
    KIND_DESC = "-kind"
    AUDIT = "audit"
    AUDIT_DESC = "-audit"
    STATUS = "status"
    STATUS_DESC = "-status"
    CREATED = "created"
    CREATED_DESC = "-created"  # the default: the newest briefing first


class BriefingRowOut(ResponseModel):
    """A briefing in the editors' list: its newest version."""

    briefing_id: int
    version_id: int = Field(description="The newest version (/briefings/versions/{id}).")
    number: int = Field(description="The newest version's number.")
    title: str
    kind: BriefingKind
    public: bool
    audit_id: int | None = Field(description="None for an inspection pack, which covers a period.")
    audit_title: str | None = Field(description="None for an inspection pack.")
    status: VersionStatus
    render_status: RenderStatus
    created_at: datetime = Field(description="When the newest version was started.")
    submitted_at: datetime | None
    published_on: date | None


class VersionRowOut(ResponseModel):
    id: int = Field(description="The version's id (/briefings/versions/{id}).")
    number: int
    status: VersionStatus
    render_status: RenderStatus
    drafted_by: str
    created_at: datetime
    submitted_at: datetime | None
    approved_at: datetime | None
    approved_by: str | None
    published_on: date | None
    superseded_at: datetime | None = Field(
        description="When a later published version replaced it."
    )
    withdrawn_at: datetime | None
    withdrawn_reason: str | None


class BriefingOut(ResponseModel):
    """A briefing, for its editors: every version, whatever its status."""

    id: int
    title: str
    kind: BriefingKind
    public: bool
    audit_id: int | None = Field(description="None for an inspection pack, which covers a period.")
    audit_title: str | None = Field(description="None for an inspection pack.")
    theme: str = Field(description="The audit's theme (empty if it has none); a pack's own.")
    period_from: date | None = Field(None, description="An inspection pack's first day.")
    period_to: date | None = Field(None, description="An inspection pack's last day.")
    created_at: datetime
    assurance_audit_id: int | None = Field(
        description="Its assurance questionnaire's own audit, once launched."
    )
    versions: list[VersionRowOut] = Field(description="Newest first.")


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
