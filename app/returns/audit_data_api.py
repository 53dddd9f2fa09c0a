"""The whole audit's answers over the API: each question's answers counted across the
submitted returns, and every return as a row of a spreadsheet or CSV
(app/returns/audit_data.py). Both read only the returns the caller may read, and each
request is one read in the audit log."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import ConfigDict, Field

from app.access.policy import Actor
from app.audit_templates.models import AnswerType
from app.audits import service as audits
from app.deps import ClockDep, IdPath, SessionDep, transactional
from app.moderation.export import MEDIA_TYPES, FileKind
from app.returns import audit_data
from app.schemas_base import ResponseModel

router = APIRouter(prefix="/api/v1", tags=["returns"])


class _Strict(ResponseModel):
    # Built from the summary's own objects: a field added there and not here fails
    # loudly rather than vanishing from the answer.
    model_config = ConfigDict(extra="forbid")


class AnswerShare(_Strict):
    value: str = Field(
        description='The answer as stored and sent: "yes", "partly", "no", or an option.'
    )
    label: str = Field(description="The answer as the pages word it.")
    count: int
    percentage: float | None = Field(
        description="Of the applicable answers (not applicable and unanswered left out), "
        "to one decimal place; None when there are none."
    )


class NumberFigures(_Strict):
    count: int = Field(description="How many applicable answers.")
    minimum: float | None
    maximum: float | None
    mean: float | None


class QuestionFigures(_Strict):
    question_id: int
    key: str | None
    key_area_id: int | None = Field(description="None for a question about the whole case.")
    section: str = Field(description='The key area\'s title, or "The whole case".')
    prompt: str
    type: AnswerType
    asked: int = Field(description="How many of the returns counted ask this question.")
    answered: int = Field(description="Of those, how many gave an applicable answer.")
    not_applicable: int = Field(description='How many answered "not applicable".')
    not_answered: int = Field(description="How many ask it and left it unanswered.")
    answers: list[AnswerShare] = Field(
        description="Choice questions: each answer in the question's order; empty for "
        "number questions."
    )
    numbers: NumberFigures | None = Field(description="Number questions only.")


class AnswerSummaryOut(_Strict):
    audit_id: int
    returns: int = Field(
        description="The returns counted: submitted or moderated, not left out of "
        "moderation, and readable by the caller."
    )
    questions: list[QuestionFigures] = Field(
        description="Each yes/no, yes/partly/no, single choice and number question, in "
        "the template's order (key areas, then the whole case)."
    )


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def summary_out(found: audit_data.AnswerSummary) -> AnswerSummaryOut:
    return AnswerSummaryOut(
        audit_id=found.audit.id,
        returns=found.returns,
        questions=[
            QuestionFigures(
                question_id=f.question.id,
                key=f.question.key,
                key_area_id=f.key_area_id,
                section=f.section,
                prompt=f.question.prompt,
                type=f.question.answer_type,
                asked=f.asked,
                answered=f.answered,
                not_applicable=f.not_applicable,
                not_answered=f.not_answered,
                answers=[
                    AnswerShare(
                        value=s.value, label=s.label, count=s.count, percentage=s.percentage
                    )
                    for s in f.answers
                ],
                numbers=NumberFigures(
                    count=f.numbers.count,
                    minimum=_float(f.numbers.minimum),
                    maximum=_float(f.numbers.maximum),
                    mean=_float(f.numbers.mean),
                )
                if f.numbers
                else None,
            )
            for f in found.questions
        ],
    )


@router.get("/audits/{audit_id}/answers", name="api.returns.answer_summary")
@transactional
def answer_summary(session: SessionDep, actor: Actor, audit_id: IdPath) -> AnswerSummaryOut:
    """Each choice and number question's answers across the audit's submitted returns
    that the caller may read (not those left out of moderation): each answer's count
    and its percentage of the applicable answers ("not applicable" and unanswered are
    counted apart, never in a percentage); for numbers, the count, smallest, largest
    and mean. A return that does not ask a question (its condition not met) is not
    counted for it. The read is logged."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    return summary_out(audit_data.answer_summary(session, actor=actor, audit=audit))


@router.get(
    "/audits/{audit_id}/answers.{kind}",
    name="api.returns.audit_data",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPES["xlsx"]: {}, "text/csv": {}}}},
)
@transactional
def audit_data_download(
    session: SessionDep, actor: Actor, audit_id: IdPath, kind: FileKind, clock: ClockDep
) -> Response:
    """Every return of the audit the caller may read, one row each (by child, then
    agency), as an Excel workbook (``.xlsx``) or CSV (``.csv``, UTF-8 with a BOM, for
    Excel): its status, each answer as the pages word it (empty where the return does
    not ask the question), each key area's evidence and grade, the overall grade and,
    where the caller may see moderation, the moderated grades. The read is logged."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    found = audit_data.audit_rows(session, actor=actor, audit=audit)
    return audit_data.download(found, kind, today=clock.today)
