from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from app.actions.lifecycle import Rag
from app.actions.models import ActionStatus
from app.findings.models import FindingKind
from app.findings.schemas import NamedRef
from app.identify.schemas import ConfirmIdentifying
from app.schemas_base import (
    Id,
    LongText,
    Name,
    OneLine,
    PlainText,
    RequestModel,
    ResponseModel,
    reject_null,
)

ThemeName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), OneLine
]
Statement = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), PlainText
]
RequiredText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000), PlainText
]
ThemeIds = Annotated[list[Id], Field(max_length=20)]
FindingIds = Annotated[list[Id], Field(max_length=50)]
Version = Annotated[int, Field(ge=1, le=2_147_483_647)]


# --- learning actions -----------------------------------------------------------------


class ActionCreate(RequestModel):
    audit_id: Id
    title: Name
    description: LongText = ""
    finding_ids: FindingIds = Field(
        default_factory=list, description="Why: findings of the same audit."
    )
    owning_agency_id: Id = Field(description="An agency taking part in the audit.")
    owner_name: Name
    owner_user_id: Id | None = Field(None, description="A person in the owning agency.")
    due_on: date
    success_measure: RequiredText
    confirm_identifying: ConfirmIdentifying = False


class ActionPatch(RequestModel):
    title: Name | None = None
    description: LongText | None = None
    finding_ids: FindingIds | None = None
    owning_agency_id: Id | None = None
    owner_name: Name | None = None
    owner_user_id: Id | None = None
    due_on: date | None = None
    success_measure: RequiredText | None = None
    version: Version | None = Field(
        None, description="The version you read: refused (409) if the action changed since."
    )
    confirm_identifying: ConfirmIdentifying = False

    _not_null = reject_null(
        "title",
        "description",
        "finding_ids",
        "owning_agency_id",
        "owner_name",
        "due_on",
        "success_measure",
    )


class StatusChangeIn(RequestModel):
    status: ActionStatus
    note: LongText = ""
    evidence: LongText = Field(
        "",
        description="Required to complete an action (evidence of completion) and to "
        "record its impact (evidence of impact).",
    )
    reason: LongText = Field("", description="Required when an action is not accepted.")
    version: Version | None = None
    confirm_identifying: ConfirmIdentifying = False


class NoteIn(RequestModel):
    note: RequiredText
    confirm_identifying: ConfirmIdentifying = False


class FindingRef(ResponseModel):
    id: int
    kind: FindingKind
    statement: str
    themes: list[str]


class StatusChangeOut(ResponseModel):
    id: int
    from_status: ActionStatus | None
    to_status: ActionStatus
    note: str
    evidence: str
    reason: str
    changed_by_label: str
    changed_at: datetime


class ActionOut(ResponseModel):
    id: int
    audit_id: int
    audit_title: str
    title: str
    description: str
    findings: list[FindingRef]
    owning_agency: NamedRef
    owner_name: str
    owner_user_id: int | None
    due_on: date
    success_measure: str
    status: ActionStatus
    evidence_of_completion: str
    evidence_of_impact: str
    not_accepted_reason: str
    version: int
    created_at: datetime
    updated_at: datetime
    rag: Rag
    overdue_days: int
    escalated_to: list[str]
    allowed_next: list[ActionStatus]
    history: list[StatusChangeOut]


class ActionRowOut(ResponseModel):
    """One row of the tracker: what the export has, as JSON."""

    id: int
    audit_id: int
    audit_title: str
    title: str
    owning_agency_id: int
    owning_agency: str
    owner_name: str
    due_on: date
    status: ActionStatus
    rag: Rag
    overdue_days: int
    escalated_to: list[str]
    themes: list[str]
    success_measure: str
    updated_on: date


class AgencyCount(ResponseModel):
    agency_id: int
    agency_name: str
    count: int


class ActionCounts(ResponseModel):
    total: int
    by_status: dict[ActionStatus, int]
    by_agency: list[AgencyCount]
