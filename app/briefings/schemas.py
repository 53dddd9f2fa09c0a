"""What the briefing pages accept: drafting a briefing, saving its sections, sending it
back, publishing and withdrawing it (the pages check their forms with these models, as
other pages check theirs with the API's); and the JSON API's version and approval."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Annotated, Any

from pydantic import Field, StringConstraints, create_model

from app.briefings.models import BriefingKind, Marking, RenderStatus, VersionStatus
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
