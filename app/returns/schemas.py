from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from app.identify.schemas import ConfirmIdentifying
from app.returns.models import ReturnStatus
from app.schemas_base import Id, OneLine, PlainText, RequestModel, ResponseModel

Evidence = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000), PlainText]


class AnswerIn(RequestModel):
    question_id: Id
    # Null or "" clears the answer. Numbers may be sent as JSON numbers.
    value: str | int | float | None = None


class GradeIn(RequestModel):
    key_area_id: Id
    level: str | None = Field(default=None, description="A level code of the scale; null clears.")


class EvidenceIn(RequestModel):
    key_area_id: Id
    went_well: Evidence | None = None
    could_be_better: Evidence | None = None
    impact_on_child: Evidence | None = None


class DraftSave(RequestModel):
    """A partial save: only what is sent changes, so a page can save one key area."""

    version: Id = Field(description="The version of the return the client last read.")
    answers: list[AnswerIn] = Field(default_factory=list, max_length=500)
    grades: list[GradeIn] = Field(default_factory=list, max_length=100)
    overall_grade: str | None = Field(default=None, description="Send null to clear it.")
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=100)
    auditor_name: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), OneLine] | None
    ) = None

    def saved(self) -> dict:
        """What ``returns.service.save_draft`` takes from the body, the overall grade as
        (whether it was sent, its value): null clears it, leaving it out keeps it."""
        return {
            "read_version": self.version,
            "answers": self.answers,
            "grades": self.grades,
            "evidence": self.evidence,
            "overall_grade": ("overall_grade" in self.model_fields_set, self.overall_grade),
            "auditor_name": self.auditor_name,
        }


class Submit(RequestModel):
    version: Id
    confirm_identifying: ConfirmIdentifying = False


class Reopen(RequestModel):
    version: Id
    note: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000), PlainText
    ]


class Ref(ResponseModel):
    id: int
    name: str


class ChildRef(ResponseModel):
    id: int
    pseudonym: str


class AnswerOut(ResponseModel):
    question_id: int
    value: str


class GradeOut(ResponseModel):
    key_area_id: int
    level: str


class EvidenceOut(ResponseModel):
    key_area_id: int
    went_well: str
    could_be_better: str
    impact_on_child: str


class ReturnSummary(ResponseModel):
    id: int
    audit_id: int
    child: ChildRef
    agency: Ref
    status: ReturnStatus
    version: int
    auditor_name: str | None
    updated_at: datetime
    submitted_at: datetime | None
    not_received: bool = Field(
        default=False,
        description="Left out of moderation by the chair (POST /returns/{id}/exclude): "
        "reports show it as not received",
    )
    not_received_reason: str | None = None


class ReturnOut(ReturnSummary):
    template_version_id: int
    amendment_note: str | None
    created_at: datetime
    started_at: datetime | None
    returned_at: datetime | None
    answers: list[AnswerOut]
    grades: list[GradeOut]
    overall_grade: str | None
    evidence: list[EvidenceOut]
    awaiting_sign_off: bool = Field(
        description="Sent to the agency's lead for sign-off, unchanged since (an audit "
        "whose leads sign off returns: the lead's sign-off submits it)"
    )


class WorkReturnOut(ResponseModel):
    id: int
    child: str
    status: ReturnStatus
    key_areas_done: int
    key_areas_total: int
    updated_at: datetime | None
    assigned_to: str | None = Field(
        description="The auditor the agency's lead gave it to, by name (none: no one)"
    )
    mine: bool = Field(description="Assigned to the signed-in auditor (listed first)")


class WorkAuditOut(ResponseModel):
    id: int
    title: str
    due_on: date | None
    overdue: bool
    questionnaire: bool = Field(
        description="A learning assurance questionnaire (launched by a published briefing)"
    )
    returns: list[WorkReturnOut]


class WorkCounts(ResponseModel):
    to_do: int
    overdue: int
    done: int


class MyWorkOut(ResponseModel):
    """My work: the signed-in auditor's own agency's returns in current audits, grouped
    by audit; to do (overdue first, then by due date) and done."""

    agency: str | None
    to_do: list[WorkAuditOut]
    done: list[WorkAuditOut]
    counts: WorkCounts
    page: int = Field(description="This page, from 1 (a page past the last shows the last)")
    pages: int = Field(description="Pages in all: 20 audit groups a page, to do then done")


class AssignmentIn(RequestModel):
    """Give the return to one of its agency's auditors (null: to no one in particular)."""

    auditor_id: Id | None


class AssignmentOut(ResponseModel):
    return_id: int
    assigned_to_id: int | None
    assigned_at: datetime | None


class FieldChange(ResponseModel):
    field: str = Field(
        description="answer:QUESTION_ID, grade:KEY_AREA_ID, evidence:KEY_AREA_ID:BOX, "
        "overall_grade or auditor_name"
    )
    before: str | None
    after: str | None


class ReturnVersionOut(ResponseModel):
    """One submission of a return, as it was submitted, and what changed since the
    submission before it (empty for the first)."""

    number: int
    submitted_at: datetime
    submitted_by: str
    content: dict
    changes: list[FieldChange]
