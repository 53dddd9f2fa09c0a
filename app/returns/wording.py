"""How a return's answers read on a page: as the template words them, dates as
"3 February 2026", never the stored codes ("partly", "2026-02-03")."""

from __future__ import annotations

from datetime import date

from app.audit_templates.models import DEFAULT_BOXES, NOT_APPLICABLE, AnswerType, Question
from app.formatting import format_date

YES_PARTLY_NO = {"yes": "Yes", "partly": "Partly", "no": "No"}
# The default three evidence boxes of a key area, as a page heads them (a template may
# word its own: TemplateVersion.evidence_box_list).
BOX_LABELS = {b.box: b.label for b in DEFAULT_BOXES}


def answer_text(question: Question, value: str | None) -> str:
    """An answer as a reader sees it; empty if there is none."""
    if not value:
        return ""
    if value == NOT_APPLICABLE and question.not_applicable is not None:
        return question.not_applicable
    if question.answer_type in (AnswerType.YES_PARTLY_NO, AnswerType.YES_NO):
        return YES_PARTLY_NO.get(value, value)
    if question.answer_type == AnswerType.DATE:
        try:
            return format_date(date.fromisoformat(value))
        except ValueError:
            return value
    return value
