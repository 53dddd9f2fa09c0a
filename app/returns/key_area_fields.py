"""A key area's page as a form: its fields, read into the returns service's input, and
the service's field errors put back on the page's fields.

The page's fields are the key area's own questions, so unlike other forms they are
not fixed: ``q-<question id>`` (a date question has the GOV.UK date input's three
boxes, read by ``app.forms.read_date``), ``ev-<box>`` for the three evidence boxes,
``grade`` for the key area's grade, and ``overall`` for the overall grade.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from app.audit_templates.models import BOX_NAMES, AnswerType, KeyArea, Question
from app.formatting import format_date
from app.forms import FormState, Posted, date_values, read_date, whole_number
from app.returns.schemas import AnswerIn, EvidenceIn, GradeIn
from app.returns.validation import asked_now
from app.returns.wording import answer_text

BOXES = BOX_NAMES
# What a date question's messages call it: its prompt is a question, not a label.
DATE_LABEL = "The date"


@dataclass
class KeyAreaForm:
    answers: list[AnswerIn] = field(default_factory=list)
    grades: list[GradeIn] = field(default_factory=list)
    evidence: list[EvidenceIn] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # page field -> message
    field_of_answer: list[str] = field(default_factory=list)  # answers[i] -> page field
    dates: set[str] = field(default_factory=set)  # the date questions' fields

    def state(self, posted: Posted, errors: dict[str, str] | None = None) -> FormState:
        """The page again, with what was typed and what is wrong (a date question's
        message links to its day box)."""
        return FormState(
            values=posted.shown(),
            errors=self.errors if errors is None else errors,
            anchors={name: f"#{name}-day" for name in self.dates},
        )


def read_version(posted: Posted) -> int:
    """The return version the page was showing. Anything unreadable counts as 0, which
    never matches, so the save is refused as stale rather than failing."""
    return whole_number(posted.one("version")) or 0


@dataclass
class AskedWhen:
    """A question on the page asked only on another answer: what its hint says, and the
    field and values that decide it (the page hides it while they do not hold)."""

    text: str
    field: str
    values: list[str]


def conditions(
    shown: list[Question], asked: list[Question], answers: dict[int, str]
) -> tuple[set[int], dict[int, AskedWhen]]:
    """For a page showing ``shown`` (of a template asking ``asked``, in order) with the
    return's saved ``answers``: the questions not to show at all (their condition is
    decided on another page, and not met) and, for each other conditional question,
    when it is asked."""
    on_page = {q.id for q in shown}
    by_key = {q.key: q for q in asked if q.key}
    now = asked_now(asked, answers)
    hidden: set[int] = set()
    when: dict[int, AskedWhen] = {}
    for question in shown:
        condition = question.condition
        target = by_key.get(condition["question"]) if condition else None
        if condition is None or target is None:
            continue
        if target.id not in on_page:
            if not now[question.id]:
                hidden.add(question.id)
            continue
        words = " or ".join(answer_text(target, a) for a in condition["answers"])
        when[question.id] = AskedWhen(
            f"Answer this if your answer to ‘{target.prompt}’ is {words}.",
            f"q-{target.id}",
            list(condition["answers"]),
        )
    return hidden, when


def parse_questions(posted: Posted, questions: list[Question], parsed: KeyAreaForm) -> None:
    """Read the questions' fields into ``parsed`` (answers, or a date's problem)."""
    for question in questions:
        name = f"q-{question.id}"
        value: str | None
        if question.answer_type == AnswerType.DATE:
            parsed.dates.add(name)
            day, problem = read_date(posted, name, DATE_LABEL)
            if problem:
                parsed.errors[name] = problem
                continue
            value = day.isoformat() if day else None
        else:
            value = posted.one(name) or None
        parsed.answers.append(AnswerIn(question_id=question.id, value=value))
        parsed.field_of_answer.append(name)


def parse_key_area(
    posted: Posted,
    key_area: KeyArea,
    *,
    graded_scale: bool,
    boxes: tuple[str, ...] = BOXES,
    hidden: set[int] = frozenset(),  # type: ignore[assignment]
) -> KeyAreaForm:
    """The key area's form: its questions (except ``hidden`` ones, not on the page),
    the boxes of evidence the template has (``boxes``: none, and nothing saved is
    cleared) and its grade."""
    parsed = KeyAreaForm()
    parse_questions(posted, [q for q in key_area.questions if q.id not in hidden], parsed)
    try:
        if boxes:
            given = {box: posted.one(f"ev-{box}") for box in boxes}
            parsed.evidence.append(EvidenceIn(key_area_id=key_area.id, **given))
    except ValidationError as exc:
        for error in exc.errors():
            box = str(error["loc"][-1]) if error.get("loc") else "went_well"
            parsed.errors[f"ev-{box}"] = error["msg"].removeprefix("Value error, ").capitalize()
    if key_area.graded and graded_scale:
        parsed.grades.append(GradeIn(key_area_id=key_area.id, level=posted.one("grade") or None))
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


def saved_values(found: dict, key_area: KeyArea) -> dict[str, str]:
    """What is saved for the key area, as the values of its page's fields."""
    answers = {a["question_id"]: a["value"] for a in found["answers"]}
    values: dict[str, str] = {}
    for question in key_area.questions:
        saved = answers.get(question.id)
        if saved and question.answer_type == AnswerType.DATE:
            values |= date_values(f"q-{question.id}", date.fromisoformat(saved))
        elif saved is not None:
            values[f"q-{question.id}"] = saved
    evidence: dict[str, Any] = next(
        (e for e in found["evidence"] if e["key_area_id"] == key_area.id), {}
    )
    values |= {f"ev-{box}": evidence.get(box, "") for box in BOXES}
    grade = next((g["level"] for g in found["grades"] if g["key_area_id"] == key_area.id), None)
    values["grade"] = grade or ""
    return values


# --- a conflict, resolved field by field ----------------------------------------------
# When someone else saved the return while this page was open, the page is shown again
# with, under each field whose words differ from what is saved, a choice of which to
# keep (``keep-<field>``: "mine" or "theirs"); saving then takes the saved words for
# each "theirs".


def fields_of(key_area: KeyArea) -> list[str]:
    """The page's fields, one per thing to keep or not: each question, each box of
    evidence, the grade (a date question's three boxes are one field)."""
    return [f"q-{q.id}" for q in key_area.questions] + [f"ev-{b}" for b in BOXES] + ["grade"]


def _part_of(name: str, field_name: str) -> bool:
    return name == field_name or name.startswith(f"{field_name}-")


def differing(posted: Posted, saved: dict[str, str], key_area: KeyArea) -> list[str]:
    """The page's fields where what this page sent differs from what is saved now."""
    out = []
    for name in fields_of(key_area):
        mine = {k: v.strip() for k, v in posted.items() if _part_of(k, name) and v.strip()}
        theirs = {k: v.strip() for k, v in saved.items() if _part_of(k, name) and v.strip()}
        if mine != theirs:
            out.append(name)
    return out


def merged(posted: Posted, saved: dict[str, str]) -> Posted:
    """The page's form with each field whose ``keep-<field>`` is "theirs" replaced by
    what is saved now (``saved_values``); the choices themselves dropped."""
    theirs = [
        name.removeprefix("keep-")
        for name in posted.names()
        if name.startswith("keep-") and posted.one(name) == "theirs"
    ]

    def taken(name: str) -> bool:
        return any(_part_of(name, field_name) for field_name in theirs)

    kept = [(k, v) for k, v in posted.items() if not k.startswith("keep-") and not taken(k)]
    return Posted(kept + [(k, v) for k, v in saved.items() if taken(k)])


def shown_answers(found: dict, key_area: KeyArea) -> dict[int, str]:
    """The saved answers as a reader sees them (a date as 27 March 2024)."""
    answers = {a["question_id"]: a["value"] for a in found["answers"]}
    shown = {}
    for question in key_area.questions:
        saved = answers.get(question.id) or ""
        if saved and question.answer_type == AnswerType.DATE:
            saved = format_date(date.fromisoformat(saved))
        shown[question.id] = saved
    return shown
