"""A whole audit's answers: what its returns answered to each question, counted, and
every return as one row of a spreadsheet (XLSX) or CSV.

``answer_summary`` counts the submitted returns (moderated ones too, and not those
left out of moderation) that the reader may read: for each yes/no, yes/partly/no or
single choice question, how many gave each answer, each as a share of the applicable
answers only ("not applicable" and unanswered are counted apart, never in a
percentage's denominator); for each number question, the count, smallest, largest
and mean. A question a return does not ask (its condition is not met) is not counted
for that return at all.

``audit_rows`` is every return of the audit the reader may read, by child then
agency: each answer as a page words it (empty where the return does not ask the
question), each key area's boxes of evidence and grade, the overall grade and, where
the reader may see moderation, the moderated grades. Both read the audit's returns in
a fixed, small number of queries whatever their number, and each records one read in
the audit log: reading a whole audit's answers is reading its returns.

The files are built as moderation's are (app/moderation/export.py): xlsxwriter, a
bold frozen header and an autofilter; the CSV starts with a BOM so Excel reads it as
UTF-8, and a cell a spreadsheet would run as a formula is quoted. They name children
by pseudonym only, as every page does.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import xlsxwriter
from sqlalchemy import Select, bindparam, literal, null, select, union_all
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.access.policy import SUBMITTED_STATUSES, Actor, per_scope, return_scope
from app.agencies.models import Agency
from app.audit_templates.models import (
    CHOICE_TYPES,
    NOT_APPLICABLE,
    NUMBER_TYPES,
    AnswerType,
    AuditSubject,
    GradeLevel,
    KeyArea,
    Question,
    TemplateVersion,
)
from app.audit_templates.service import get_version
from app.auditlog import service as auditlog
from app.audits.models import Audit, Child
from app.errors import NotFound
from app.formatting import csv_cell
from app.moderation import service as moderation
from app.moderation.export import MEDIA_TYPES
from app.moderation.models import ModeratedGrade
from app.returns.models import Answer, Grade, KeyAreaEvidence, Return, ReturnStatus
from app.returns.validation import YES_NO, YES_PARTLY_NO, asked_now
from app.returns.wording import answer_text

# Where the questions about the whole case are, as the return pages head them.
CASE_SECTION = "The whole case"
# A return's status as the pages word it (templates/_macros/status.html).
STATUS_WORDS = {
    ReturnStatus.NOT_STARTED: "Not started",
    ReturnStatus.DRAFT: "In progress",
    ReturnStatus.RETURNED: "Sent back",
    ReturnStatus.SUBMITTED: "Submitted",
    ReturnStatus.MODERATED: "Moderated",
}
NOT_RECEIVED = "Not received"  # left out of moderation by the chair
READ_ACTION = "audit.answers_read"


# --- the template's questions ------------------------------------------------------------


def _sections(version: TemplateVersion) -> list[tuple[KeyArea | None, str, list[Question]]]:
    """Each key area with its questions, then the questions about the whole case (no
    key area of their own), in the order a return asks them."""
    found: list[tuple[KeyArea | None, str, list[Question]]] = [
        (k, k.title, list(k.questions)) for k in version.key_areas
    ]
    if version.case_questions:
        found.append((None, CASE_SECTION, list(version.case_questions)))
    return found


def _asked(version: TemplateVersion) -> list[Question]:
    return [q for k in version.key_areas for q in k.questions] + version.case_questions


def choices(question: Question) -> tuple[str, ...]:
    """The stored values of a choice question's answers, in the question's order."""
    if question.answer_type == AnswerType.YES_NO:
        return YES_NO
    if question.answer_type == AnswerType.YES_PARTLY_NO:
        return YES_PARTLY_NO
    return tuple(question.options)


# --- the summary ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """One answer to a choice question: how many gave it, and as a share of the
    applicable answers (None when there are none)."""

    value: str  # as stored: "yes", "partly", an option's label
    label: str  # as a page words it
    count: int
    proportion: float | None

    @property
    def percentage(self) -> float | None:
        """The share as a percentage to one decimal place (as moderation's files)."""
        return None if self.proportion is None else round(self.proportion * 100, 1)


@dataclass(frozen=True)
class NumberFigures:
    """A number question's applicable answers: how many, the smallest, the largest and
    their mean (None when there are none)."""

    count: int
    minimum: Decimal | None
    maximum: Decimal | None
    mean: Decimal | None


@dataclass
class QuestionFigures:
    question: Question
    section: str  # the key area's title, or CASE_SECTION
    key_area_id: int | None  # None for a question about the whole case
    asked: int  # returns counted that ask it
    answered: int  # of those, how many gave an applicable answer
    not_applicable: int
    not_answered: int
    answers: list[Share] = field(default_factory=list)  # choice questions
    numbers: NumberFigures | None = None  # number questions

    @property
    def about_the_case(self) -> bool:
        return self.key_area_id is None


@dataclass
class AnswerSummary:
    audit: Audit
    version: TemplateVersion
    returns: int  # the returns counted
    questions: list[QuestionFigures]


def _counted_returns(actor: Actor) -> Select:
    """The audit's submitted returns the actor may read, not left out of moderation,
    each with its answers (a row per answer; one row of NULLs for a return with none)."""
    return (
        select(Return.id, Answer.question_id, Answer.value)
        .outerjoin(Answer, Answer.return_id == Return.id)
        .where(
            Return.audit_id == bindparam("audit_id"),
            Return.status.in_(SUBMITTED_STATUSES),
            Return.excluded_at.is_(None),
            return_scope(actor),
        )
        .order_by(Return.id)
    )


def answer_summary(session: Session, *, actor: Actor, audit: Audit) -> AnswerSummary:
    """Each choice and number question's answers across the audit's submitted returns
    that ``actor`` may read (the caller found ``audit`` through their scope). Two
    queries whatever the number of returns: the template, then every counted return
    with its answers. The read is logged."""
    version = get_version(session, version_id=audit.template_version_id)
    stmt = per_scope("returns.audit_data.counted", actor, _counted_returns)
    answers: dict[int, dict[int, str]] = {}
    for row in session.connection().execute(stmt, {"audit_id": audit.id}):
        given = answers.setdefault(row.id, {})
        if row.question_id is not None:
            given[row.question_id] = row.value
    questions = _asked(version)
    asked = {return_id: asked_now(questions, given) for return_id, given in answers.items()}
    figures = []
    for key_area, title, section in _sections(version):
        for question in section:
            if question.answer_type not in CHOICE_TYPES | NUMBER_TYPES:
                continue
            values = [
                answers[return_id].get(question.id)
                for return_id in answers
                if asked[return_id].get(question.id)
            ]
            figures.append(_figures(question, title, key_area.id if key_area else None, values))
    _log_read(session, audit, view="summary", return_ids=list(answers))
    return AnswerSummary(audit, version, len(answers), figures)


def _figures(
    question: Question, section: str, key_area_id: int | None, values: list[str | None]
) -> QuestionFigures:
    """One question's figures from the answers of the returns that ask it (None: not
    answered)."""
    given = [v for v in values if v is not None]
    applicable = [v for v in given if v != NOT_APPLICABLE]
    found = QuestionFigures(
        question=question,
        section=section,
        key_area_id=key_area_id,
        asked=len(values),
        answered=len(applicable),
        not_applicable=len(given) - len(applicable),
        not_answered=len(values) - len(given),
    )
    if question.answer_type in NUMBER_TYPES:
        numbers = [Decimal(v) for v in applicable]
        found.numbers = NumberFigures(
            count=len(numbers),
            minimum=min(numbers) if numbers else None,
            maximum=max(numbers) if numbers else None,
            mean=sum(numbers, Decimal(0)) / len(numbers) if numbers else None,
        )
        return found
    counts = dict.fromkeys(choices(question), 0)
    for value in applicable:  # a value no longer an option (never, once published) too
        counts[value] = counts.get(value, 0) + 1
    total = len(applicable)
    found.answers = [
        Share(value, answer_text(question, value), count, count / total if total else None)
        for value, count in counts.items()
    ]
    return found


# --- every return as a row ---------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    header: str
    width: int  # in characters, in the XLSX
    number: bool = False  # a number question's answers: numbers in the XLSX


@dataclass
class AuditRows:
    audit: Audit
    columns: list[Column]
    rows: list[list[str]]
    return_ids: list[int]
    # What the rows were made from, for the whole-audit workbook's sheet of grades
    # (app/audits/workbook.py): the template, whether the reader may see moderated
    # grades, each return read (as ``_READABLE`` reads it, in the rows' order), and each
    # return's own grades (return id -> key area id -> level) and boxes of evidence.
    version: TemplateVersion | None = None
    moderated: bool = False
    returns: list[Any] = field(default_factory=list)
    grades: dict[int, dict[int, str]] = field(default_factory=dict)
    evidence: dict[int, dict[int, Any]] = field(default_factory=dict)

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]


_READABLE: Select = (
    select(
        Return.id,
        Return.status,
        Return.excluded_at,
        Return.excluded_reason,
        Child.pseudonym,
        Agency.name.label("agency_name"),
        GradeLevel.label.label("overall_label"),
    )
    .join(Child, Child.id == Return.child_id)
    .join(Agency, Agency.id == Return.agency_id)
    .outerjoin(GradeLevel, GradeLevel.id == Return.overall_grade_id)
    .where(Return.audit_id == bindparam("audit_id"))
    .order_by(Child.pseudonym, Agency.name, Return.id)
)

# What the returns hold, told apart by ``part``, in the columns they share (as
# app/returns/reading.py reads one return's): answers, grades, evidence and, for a
# reader who may see moderation, the current moderated grades.
_ANSWER, _GRADE, _EVIDENCE, _DECISION = 1, 2, 3, 4


def _held(actor: Actor, decisions: bool) -> Any:
    readable = select(Return.id).where(
        Return.audit_id == bindparam("audit_id"), return_scope(actor)
    )
    parts = [
        select(
            literal(_ANSWER).label("part"),
            Answer.return_id.label("return_id"),
            Answer.question_id.label("key"),
            Answer.value.label("value"),
            null().label("went_well"),
            null().label("could_be_better"),
            null().label("impact_on_child"),
        ).where(Answer.return_id.in_(readable)),
        select(
            literal(_GRADE),
            Grade.return_id,
            Grade.key_area_id,
            GradeLevel.label,
            null(),
            null(),
            null(),
        )
        .join(GradeLevel, GradeLevel.id == Grade.level_id)
        .where(Grade.return_id.in_(readable)),
        select(
            literal(_EVIDENCE),
            KeyAreaEvidence.return_id,
            KeyAreaEvidence.key_area_id,
            null(),
            KeyAreaEvidence.went_well,
            KeyAreaEvidence.could_be_better,
            KeyAreaEvidence.impact_on_child,
        ).where(KeyAreaEvidence.return_id.in_(readable)),
    ]
    if decisions:
        parts.append(
            select(
                literal(_DECISION),
                ModeratedGrade.return_id,
                ModeratedGrade.cell,
                GradeLevel.label,
                null(),
                null(),
                null(),
            )
            .join(GradeLevel, GradeLevel.id == ModeratedGrade.level_id)
            .where(
                ModeratedGrade.audit_id == bindparam("audit_id"),
                ModeratedGrade.superseded_at.is_(None),
                ModeratedGrade.return_id.in_(readable),
            )
        )
    return union_all(*parts)


def _moderation_visible(actor: Actor, audit: Audit) -> bool:
    """Whether the reader may see the audit's moderated grades now (the grid's rule)."""
    try:
        moderation.check_visible(actor, audit)
    except NotFound:
        return False
    return True


def columns(version: TemplateVersion, *, moderated: bool) -> list[Column]:
    """The header: the return, then each key area's questions, boxes of evidence and
    grade (and moderated grade), the questions about the whole case, the overall grade
    (and moderated overall grade)."""
    # The case (a child's pseudonym) and the agency; an audit about agencies has the
    # agency alone, which is its case.
    found = [
        *([] if version.subject == AuditSubject.AGENCY else [Column("Child", 14)]),
        Column("Agency", 28),
        Column("Status", 14),
        Column("Reason not received", 30),
    ]
    boxes = version.evidence_box_list
    graded = version.scale is not None
    for key_area, title, section in _sections(version):
        for question in section:
            found.append(
                Column(f"{title}: {question.prompt}", 30, question.answer_type in NUMBER_TYPES)
            )
        if key_area is None:
            continue
        found += [Column(f"{title}: {box.label}", 40) for box in boxes]
        if key_area.graded and graded:
            found.append(Column(f"{title}: grade", 16))
            if moderated:
                found.append(Column(f"{title}: moderated grade", 16))
    if version.has_overall_grade and graded:
        found.append(Column("Overall grade", 16))
        if moderated:
            found.append(Column("Moderated overall grade", 16))
    return found


def audit_rows(session: Session, *, actor: Actor, audit: Audit, log: bool = True) -> AuditRows:
    """Every return of the audit that ``actor`` may read (the caller found ``audit``
    through their scope), by child then agency, as rows under ``columns``: three
    queries whatever the number of returns (the template, the returns, what they
    hold). A draft's answers are there as it stands, its status saying so. The read
    is logged, unless the caller logs it itself (``log=False``: the whole-audit
    workbook, one row for the whole download)."""
    version = get_version(session, version_id=audit.template_version_id)
    moderated = version.scale is not None and _moderation_visible(actor, audit)
    given = {"audit_id": audit.id}
    readable = per_scope(
        "returns.audit_data.rows", actor, lambda a: _READABLE.where(return_scope(a))
    )
    returns = session.connection().execute(readable, given).all()
    held = per_scope(f"returns.audit_data.held.{moderated}", actor, lambda a: _held(a, moderated))
    answers: dict[int, dict[int, str]] = {}
    grades: dict[int, dict[int, str]] = {}
    evidence: dict[int, dict[int, Any]] = {}
    decided: dict[int, dict[int, str]] = {}
    for part in session.connection().execute(held, given) if returns else ():
        if part.part == _ANSWER:
            answers.setdefault(part.return_id, {})[part.key] = part.value
        elif part.part == _GRADE:
            grades.setdefault(part.return_id, {})[part.key] = part.value
        elif part.part == _EVIDENCE:
            evidence.setdefault(part.return_id, {})[part.key] = part
        else:
            decided.setdefault(part.return_id, {})[part.key] = part.value
    questions = _asked(version)
    boxes = version.evidence_box_list
    graded = version.scale is not None
    rows = []
    for r in returns:
        given_answers = answers.get(r.id, {})
        asked = asked_now(questions, given_answers)
        own, moderated_grades = grades.get(r.id, {}), decided.get(r.id, {})
        left_out = r.excluded_at is not None
        row = [
            *([] if version.subject == AuditSubject.AGENCY else [r.pseudonym]),
            r.agency_name,
            NOT_RECEIVED if left_out else STATUS_WORDS[r.status],
            r.excluded_reason if left_out else "",
        ]
        for key_area, _title, section in _sections(version):
            row += [
                answer_text(q, given_answers.get(q.id)) if asked.get(q.id) else "" for q in section
            ]
            if key_area is None:
                continue
            boxed = evidence.get(r.id, {}).get(key_area.id)
            row += [(getattr(boxed, box.box) or "") if boxed else "" for box in boxes]
            if key_area.graded and graded:
                row.append(own.get(key_area.id, ""))
                if moderated:
                    row.append(moderated_grades.get(key_area.id, ""))
        if version.has_overall_grade and graded:
            row.append(r.overall_label or "")
            if moderated:
                row.append(moderated_grades.get(moderation.OVERALL, ""))
        rows.append(row)
    return_ids = [r.id for r in returns]
    if log:
        _log_read(session, audit, view="rows", return_ids=return_ids)
    return AuditRows(
        audit,
        columns(version, moderated=moderated),
        rows,
        return_ids,
        version=version,
        moderated=moderated,
        returns=list(returns),
        grades=grades,
        evidence=evidence,
    )


def _log_read(session: Session, audit: Audit, *, view: str, return_ids: list[int]) -> None:
    """One row in the audit log for the whole read, naming the returns read."""
    auditlog.record(
        session,
        action=READ_ACTION,
        object_type="audit",
        object_id=audit.id,
        after={"view": view, "return_ids": sorted(return_ids)},
    )


# --- the files -----------------------------------------------------------------------------


def filename(audit_id: int, today: date, extension: str) -> str:
    return f"audit-{audit_id}-answers-{today.isoformat()}.{extension}"


def download(found: AuditRows, extension: str, *, today: date) -> Response:
    """The rows as an attachment: ``extension`` "xlsx" or "csv"."""
    content = to_xlsx(found) if extension == "xlsx" else to_csv(found)
    name = filename(found.audit.id, today, extension)
    return Response(
        content,
        media_type=MEDIA_TYPES[extension],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _number(text: str) -> int | float:
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


def to_xlsx(found: AuditRows) -> bytes:
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    write_sheet(workbook, found)
    workbook.close()
    return out.getvalue()


def write_sheet(workbook: xlsxwriter.Workbook, found: AuditRows, name: str = "Answers") -> None:
    """The rows as a sheet of ``workbook`` (this file's, or the whole-audit workbook's):
    a bold frozen header, an autofilter, and number answers as numbers."""
    bold = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    top = workbook.add_format({"valign": "top"})
    sheet = workbook.add_worksheet(name)
    for col, column in enumerate(found.columns):
        sheet.write_string(0, col, column.header, bold)
        sheet.set_column(col, col, column.width)
    for index, row in enumerate(found.rows, start=1):
        for col, (column, cell) in enumerate(zip(found.columns, row, strict=True)):
            if not cell:
                sheet.write_blank(index, col, None, top)
            elif column.number:
                sheet.write_number(index, col, _number(cell), top)
            else:
                sheet.write_string(index, col, cell, top)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(found.rows), len(found.columns) - 1)


def to_csv(found: AuditRows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in found.headers])
    numbers = [column.number for column in found.columns]
    for row in found.rows:
        # A number answer is written as the number it is ("-3" is not a formula).
        writer.writerow(
            [
                csv_cell(Decimal(cell) if number and cell else cell)
                for number, cell in zip(numbers, row, strict=True)
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
