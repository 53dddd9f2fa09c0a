"""Turning a key-area page's form into the returns service's input, and the service's
field errors back into the page's fields.

Field names: ``q-<question id>`` (a date question: ``q-<id>-day``, ``-month``,
``-year``), ``ev-<box>`` for the three evidence boxes, ``grade`` for the key area's
grade and ``overall`` for the overall grade.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from app.audit_templates.models import AnswerType, KeyArea
from app.returns.schemas import AnswerIn, EvidenceIn, GradeIn

BOXES = ("went_well", "could_be_better", "impact_on_child")


@dataclass
class KeyAreaForm:
    answers: list[AnswerIn] = field(default_factory=list)
    grades: list[GradeIn] = field(default_factory=list)
    evidence: list[EvidenceIn] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # page field -> message
    field_of_answer: list[str] = field(default_factory=list)  # answers[i] -> page field


def read_version(form: dict[str, str]) -> int:
    """The return version the page was showing. Anything unreadable counts as 0, which
    never matches, so the save is refused as stale rather than failing."""
    value = form.get("version", "")
    return int(value) if value.isdigit() and len(value) < 10 else 0


def _date(form: dict[str, str], name: str) -> tuple[str | None, str | None]:
    """(ISO date or None, error or None) from the three GOV.UK date boxes."""
    parts = [form.get(f"{name}-{p}", "").strip() for p in ("day", "month", "year")]
    if not any(parts):
        return None, None
    if not all(parts) or not all(p.isdigit() for p in parts):
        return None, "Enter a real date, with a day, month and year"
    day, month, year = (int(p) for p in parts)
    return f"{year:04d}-{month:02d}-{day:02d}", None


def parse_key_area(form: dict[str, str], key_area: KeyArea, *, graded_scale: bool) -> KeyAreaForm:
    parsed = KeyAreaForm()
    for question in key_area.questions:
        name = f"q-{question.id}"
        if question.answer_type == AnswerType.DATE:
            value, error = _date(form, name)
            if error:
                parsed.errors[name] = error
                continue
        else:
            value = form.get(name, "")
        parsed.answers.append(AnswerIn(question_id=question.id, value=value or None))
        parsed.field_of_answer.append(name)
    try:
        parsed.evidence.append(
            EvidenceIn(key_area_id=key_area.id, **{box: form.get(f"ev-{box}", "") for box in BOXES})
        )
    except ValidationError as exc:
        for error in exc.errors():
            box = str(error["loc"][-1]) if error.get("loc") else "went_well"
            parsed.errors[f"ev-{box}"] = error["msg"].removeprefix("Value error, ").capitalize()
    if key_area.graded and graded_scale:
        parsed.grades.append(GradeIn(key_area_id=key_area.id, level=form.get("grade") or None))
    return parsed


def page_field(service_field: str, parsed: KeyAreaForm) -> str:
    """The page's field for one of the service's error fields (e.g. answers[2].value)."""
    if service_field.startswith("answers["):
        index = int(service_field[len("answers[") : service_field.index("]")])
        return parsed.field_of_answer[index]
    if service_field.startswith("grades["):
        return "grade"
    if service_field.startswith("evidence["):
        box = service_field.rsplit(".", 1)[-1]
        return f"ev-{box}" if box in BOXES else "ev-went_well"
    return service_field
