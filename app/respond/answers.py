"""The respondent's form: the whole return on one page, read into the returns service's
input, and the service's refusals put back on the page's fields.

The page's fields: ``q-<question id>`` for each question (as on an auditor's key-area
page: ``app.returns.key_area_fields``, whose question reader this uses; a date has the
GOV.UK date input's three boxes), ``ev-<key area id>-<box>`` for each box of evidence the
template has, ``grade-<key area id>`` for a graded key area and ``overall`` for the
overall grade. Every question is on the page, so a question asked only on another
answer is there with a hint saying when to answer it (without JavaScript it stays
shown; the returns service drops an answer to a question the return does not ask).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from app.audit_templates.models import AnswerType, KeyArea, Question, TemplateVersion
from app.errors import FieldError
from app.forms import FormState, Posted, date_values
from app.returns.key_area_fields import AskedWhen, KeyAreaForm, parse_questions
from app.returns.key_area_fields import conditions as on_page
from app.returns.schemas import EvidenceIn, GradeIn


def asked(version: TemplateVersion) -> list[Question]:
    """Every question in the order the return asks them: key areas, then the case."""
    return [q for k in version.key_areas for q in k.questions] + version.case_questions


@dataclass
class Parsed(KeyAreaForm):
    """The page's form read: answers, grades and evidence for the returns service, and
    what the page itself found wrong (a date that is not one, say)."""

    overall: tuple[bool, str | None] = (False, None)

    def page_field(self, service_field: str) -> str:
        """The page's field for one of ``save_draft``'s error fields (answers[2].value)."""
        index = _index(service_field)
        if service_field.startswith("answers[") and index < len(self.field_of_answer):
            return self.field_of_answer[index]
        if service_field.startswith("grades[") and index < len(self.grades):
            return f"grade-{self.grades[index].key_area_id}"
        if service_field.startswith("evidence[") and index < len(self.evidence):
            box = service_field.rsplit(".", 1)[-1]
            area = self.evidence[index].key_area_id
            return f"ev-{area}-{box}" if "." in service_field else f"ev-{area}-went_well"
        if service_field == "overall_grade":
            return "overall"
        return service_field


def _index(name: str) -> int:
    try:
        return int(name[name.index("[") + 1 : name.index("]")])
    except ValueError:
        return -1


def parse(posted: Posted, version: TemplateVersion) -> Parsed:
    """Read the whole page into the service's input."""
    parsed = Parsed()
    parse_questions(posted, asked(version), parsed)
    boxes = [b.box for b in version.evidence_box_list]
    for key_area in version.key_areas:
        if boxes:
            given = {box: posted.one(f"ev-{key_area.id}-{box}") for box in boxes}
            try:
                parsed.evidence.append(EvidenceIn(key_area_id=key_area.id, **given))
            except ValidationError as exc:
                for error in exc.errors():
                    box = str(error["loc"][-1]) if error.get("loc") else boxes[0]
                    parsed.errors[f"ev-{key_area.id}-{box}"] = (
                        error["msg"].removeprefix("Value error, ").capitalize()
                    )
        if key_area.graded and version.scale is not None:
            level = posted.one(f"grade-{key_area.id}") or None
            parsed.grades.append(GradeIn(key_area_id=key_area.id, level=level))
    if version.has_overall_grade:
        parsed.overall = (True, posted.one("overall") or None)
    return parsed


def saved_values(found: dict, version: TemplateVersion) -> dict[str, Any]:
    """What is saved in the return, as the page's fields (``reading.detail``'s dict)."""
    answers = {a["question_id"]: a["value"] for a in found["answers"]}
    values: dict[str, Any] = {}
    for question in asked(version):
        saved = answers.get(question.id)
        if saved and question.answer_type == AnswerType.DATE:
            values |= date_values(f"q-{question.id}", date.fromisoformat(saved))
        elif saved is not None:
            values[f"q-{question.id}"] = saved
    for evidence in found["evidence"]:
        for box in ("went_well", "could_be_better", "impact_on_child"):
            values[f"ev-{evidence['key_area_id']}-{box}"] = evidence.get(box) or ""
    for grade in found["grades"]:
        values[f"grade-{grade['key_area_id']}"] = grade["level"] or ""
    values["overall"] = found["overall_grade"] or ""
    return values


@dataclass
class Missing:
    """What stands between the return and being sent, in the page's words."""

    errors: dict[str, str] = field(default_factory=dict)
    anchors: dict[str, str] = field(default_factory=dict)


def missing(fields: list[FieldError], version: TemplateVersion) -> Missing:
    """``submit``'s list of what is missing (question:ID, grade:ID, evidence:ID:BOX,
    overall_grade), as the page's fields and messages."""
    questions = {q.id: q for q in asked(version)}
    areas = {k.id: k for k in version.key_areas}
    labels = {b.box: b.label for b in version.evidence_box_list}
    found = Missing()
    for problem in fields:
        kind, _, ident = problem.field.partition(":")
        if kind == "question" and ident.isdigit() and int(ident) in questions:
            question = questions[int(ident)]
            name = f"q-{question.id}"
            found.errors[name] = _unanswered(question)
            if question.answer_type == AnswerType.DATE:
                found.anchors[name] = f"#{name}-day"
        elif kind == "grade" and ident.isdigit() and int(ident) in areas:
            found.errors[f"grade-{ident}"] = f"Choose a grade for {areas[int(ident)].title}"
        elif kind == "evidence":
            area_id, _, box = ident.partition(":")
            title = areas[int(area_id)].title if area_id.isdigit() and int(area_id) in areas else ""
            found.errors[f"ev-{area_id}-{box}"] = (
                f"Enter ‘{labels.get(box, box)}’ for {title}" if title else problem.message
            )
        elif problem.field == "overall_grade":
            found.errors["overall"] = "Choose an overall grade"
        else:
            found.errors[problem.field] = problem.message
    return found


def _unanswered(question: Question) -> str:
    prompt = question.prompt.rstrip("?").rstrip()
    match question.answer_type:
        case AnswerType.YES_PARTLY_NO:
            return f"Select yes, partly or no for ‘{prompt}’"
        case AnswerType.YES_NO:
            return f"Select yes or no for ‘{prompt}’"
        case AnswerType.SINGLE_CHOICE:
            return f"Select an answer for ‘{prompt}’"
        case AnswerType.DATE:
            return f"Enter a date for ‘{prompt}’"
        case _:
            return f"Enter an answer for ‘{prompt}’"


def flagged(fields: list[FieldError]) -> dict[str, str]:
    """The identification guard's refusal (question:ID, evidence:ID:BOX and the
    confirmation), as the page's fields."""
    errors: dict[str, str] = {}
    for problem in fields:
        kind, _, ident = problem.field.partition(":")
        if kind == "question":
            errors[f"q-{ident}"] = problem.message
        elif kind == "evidence":
            area_id, _, box = ident.partition(":")
            errors[f"ev-{area_id}-{box}"] = problem.message
        else:
            errors[problem.field] = problem.message
    return errors


def ordered(errors: dict[str, str], version: TemplateVersion) -> dict[str, str]:
    """The errors in the page's order (the error summary follows it)."""
    order = []
    for key_area in version.key_areas:
        order += [f"q-{q.id}" for q in key_area.questions]
        order += [f"ev-{key_area.id}-{b.box}" for b in version.evidence_box_list]
        order.append(f"grade-{key_area.id}")
    order += [f"q-{q.id}" for q in version.case_questions] + ["overall"]
    place = {name: n for n, name in enumerate(order)}
    return dict(sorted(errors.items(), key=lambda item: place.get(item[0], len(order))))


def state(
    values: dict[str, Any], errors: dict[str, str], version: TemplateVersion, anchors=None
) -> FormState:
    """The page's form: what is in its fields, and what is wrong, in page order (a
    date question's message links to its day box)."""
    dates = {
        f"q-{q.id}": f"#q-{q.id}-day" for q in asked(version) if q.answer_type == AnswerType.DATE
    }
    return FormState(
        values=values,
        errors=ordered(errors, version),
        anchors={**dates, **(anchors or {})},
    )


@dataclass(frozen=True)
class Shown:
    """A question as the page shows it: the template's, without the guidance meant for
    a practitioner asking a family (a family reads the question as it is asked)."""

    question: Question
    guidance: str | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.question, name)


def shown_questions(questions: list[Question], *, family: bool) -> list[Shown]:
    return [Shown(q, None if family else q.guidance) for q in questions]


def sections(version: TemplateVersion, *, family: bool) -> list[tuple[KeyArea, list[Shown]]]:
    """Each key area with its questions as shown (the case's last, if any)."""
    found = [(k, shown_questions(k.questions, family=family)) for k in version.key_areas]
    if version.case_section is not None and version.case_questions:
        found.append((version.case_section, shown_questions(version.case_questions, family=family)))
    return found


def conditions(version: TemplateVersion, answers: dict[int, str]) -> dict[int, AskedWhen]:
    """For each conditional question, when it is asked (every question is on the page)."""
    questions = asked(version)
    _hidden, when = on_page(questions, questions, answers)
    return when
