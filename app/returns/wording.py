"""How a return's answers read on a page: as the template words them, dates as
"3 February 2026", never the stored codes ("partly", "2026-02-03")."""

from __future__ import annotations

from datetime import date

from app.audit_templates.models import AnswerType, Question
from app.formatting import format_date

YES_PARTLY_NO = {"yes": "Yes", "partly": "Partly", "no": "No"}
# The three evidence boxes of a key area, as a page heads them.
BOX_LABELS = {
    "went_well": "What went well",
    "could_be_better": "What could have been better",
    "impact_on_child": "The impact on the child",
}


def answer_text(question: Question, value: str | None) -> str:
    """An answer as a reader sees it; empty if there is none."""
    if not value:
        return ""
    if question.answer_type == AnswerType.YES_PARTLY_NO:
        return YES_PARTLY_NO.get(value, value)
    if question.answer_type == AnswerType.DATE:
        try:
            return format_date(date.fromisoformat(value))
        except ValueError:
            return value
    return value
