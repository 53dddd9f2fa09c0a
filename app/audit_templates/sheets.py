"""Templates as Excel workbooks (XLSX), for partnerships whose audit tools are
spreadsheets: one row a question on a "Questions" sheet, with optional sheets for the
template's settings, its key areas, its scale and its boxes of evidence (the layout:
docs/template-format.md). A workbook says everything a YAML file can, so either can be
exported as the other; reading one gives the data a YAML file gives, checked by the
same rules (files.validate), each problem named by its sheet, row and column.
"""

from __future__ import annotations

import io
import math
import re
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import openpyxl
import xlsxwriter
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from app.audit_templates import files, parts, scales
from app.audit_templates.models import (
    DEFAULT_BOXES,
    SUBJECT_WORDS,
    AnswerType,
    AuditSubject,
    TemplateVersion,
)
from app.audit_templates.schemas import (
    FILE_FORMAT,
    EvidenceBoxIn,
    QuestionIn,
    ScaleIn,
    TemplateContent,
    TemplateFile,
)
from app.errors import Conflict, FieldError, InvalidInput

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 2_000  # under a sheet's headings: a template has at most 30 x 60 + 30 questions
# What the workbook's parts may unpack to (a small file can unpack to gigabytes).
MAX_UNPACKED_BYTES = 30_000_000
MAX_COLUMNS = 40  # read no further to the right
# Rows read, blank ones included, before a sheet is refused as too long.
MAX_SCANNED_ROWS = 10_000

# The key area of the rows that are the questions about the whole case.
WHOLE_CASE = "Whole case"

TEMPLATE, QUESTIONS, KEY_AREAS, SCALE, BOXES = (
    "Template",
    "Questions",
    "Key areas",
    "Scale",
    "Evidence boxes",
)
SHEETS = (TEMPLATE, QUESTIONS, KEY_AREAS, SCALE, BOXES)

# Each sheet's columns (the Template sheet's are Setting and Value) and those it needs.
COLUMNS: dict[str, tuple[str, ...]] = {
    QUESTIONS: (
        "Key area",
        "Question",
        "Type",
        "Options",
        "Required",
        "Guidance",
        "Not applicable",
        "Key",
        "Asked when",
        "Minimum",
        "Maximum",
        "Dates",
    ),
    KEY_AREAS: ("Title", "Description", "Graded"),
    SCALE: ("Code", "Label", "Description"),
    BOXES: ("Box", "Label", "Required"),
}
NEEDED: dict[str, tuple[str, ...]] = {
    QUESTIONS: ("Key area", "Question", "Type"),
    KEY_AREAS: ("Title",),
    SCALE: ("Code", "Label"),
    BOXES: ("Box",),
}
# The column of each part of a question.
QUESTION_COLUMN = {
    "prompt": "Question",
    "type": "Type",
    "options": "Options",
    "required": "Required",
    "guidance": "Guidance",
    "not_applicable": "Not applicable",
    "key": "Key",
    "condition": "Asked when",
    "minimum": "Minimum",
    "maximum": "Maximum",
    "not_in_future": "Dates",
    "within_audit_period": "Dates",
}
# The Template sheet's settings, by what is written in its Setting column.
SETTINGS = {
    "Name": "name",
    "Slug": "slug",
    "Theme": "theme",
    "Description": "description",
    "Method": "method",
    "Audit about": "subject",
    "Overall grade": "overall_grade",
    "Scale": "starting_scale",
    "Scale name": "scale_name",
}

# What the "Audit about" setting may say: the subject's words, and its own value.
SUBJECT_WORDS_READ = {
    word: subject.value
    for subject, words in SUBJECT_WORDS.items()
    for word in (words.one, words.many, subject.value)
}

# Each answer type in words, as the export writes it; the type's own value (yes_no)
# is read too.
TYPE_WORDS = {
    AnswerType.YES_NO: "Yes or no",
    AnswerType.YES_PARTLY_NO: "Yes, partly or no",
    AnswerType.SINGLE_CHOICE: "One choice from a list",
    AnswerType.FREE_TEXT: "Free text",
    AnswerType.DATE: "A date",
    AnswerType.INTEGER: "A whole number",
    AnswerType.NUMBER: "A number",
}
NOT_IN_FUTURE = "not in the future"
WITHIN_PERIOD = "within the audit period"

# What each column holds, shown when its heading is selected in Excel (255 characters
# at most).
HINTS = {
    "Key area": f"The key area the question is in. Keep a key area's questions together. "
    f"'{WHOLE_CASE}': a question about the whole case. Blank: as the row above.",
    "Question": "The question, as the auditor reads it.",
    "Type": "; ".join(TYPE_WORDS.values()) + ".",
    "Options": "One choice from a list only: the options, one a line (or separated by ;).",
    "Required": "Yes or No. Blank: Yes.",
    "Guidance": "What good looks like; what evidence to cite. Optional.",
    "Not applicable": "Yes/no, yes/partly/no and one choice only: the label of a 'not "
    "applicable' answer, such as Not applicable. Blank: none.",
    "Key": "A name other questions' 'Asked when' use: lower-case letters, digits and _.",
    "Asked when": "Ask only when an earlier question's answer is one of these, e.g. "
    "risk_level is High or Medium. Blank: always asked.",
    "Minimum": "Numbers only: the smallest answer.",
    "Maximum": "Numbers only: the largest answer.",
    "Dates": f"Dates only: {NOT_IN_FUTURE}; {WITHIN_PERIOD}; or both, separated by ;.",
    "Title": "The key area's title, as on the Questions sheet.",
    "Graded": "Yes or No: is the key area graded? Blank: Yes.",
    "Code": "A short code for the grade, such as G.",
    "Label": "The wording shown.",
    "Box": "; ".join(b.label for b in DEFAULT_BOXES) + ".",
}


def _fold(text: str) -> str:
    """Text compared as a person would: any case, any spacing."""
    return " ".join(text.casefold().split())


def _type_names() -> dict[str, AnswerType]:
    names: dict[str, AnswerType] = {}
    for kind, words in TYPE_WORDS.items():
        for name in (kind.value, kind.value.replace("_", " "), words):
            spoken = _fold(name.replace(",", " "))
            names[spoken] = kind
            names[spoken.removeprefix("a ")] = kind
    return names


TYPES = _type_names()
BOX_NAMES = {
    **{_fold(b.box.replace("_", " ")): b.box for b in DEFAULT_BOXES},
    **{_fold(b.label): b.box for b in DEFAULT_BOXES},
}
YES, NO = frozenset({"yes", "y", "true"}), frozenset({"no", "n", "false"})


def is_workbook(data: bytes, content_type: str | None) -> bool:
    """Whether a body is meant as a workbook: by its media type, or by its start (an
    XLSX file is a ZIP archive, which a YAML file, being text, can never start as)."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    return media_type == MEDIA_TYPE or data.startswith(b"PK\x03\x04")


# --- reading -----------------------------------------------------------------------------


@dataclass
class _Sheet:
    title: str
    # (row number, values) of each row with something in it, headings included.
    rows: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)


def _refused(detail: str, message: str) -> InvalidInput:
    return InvalidInput(detail, fields=[FieldError("file", message)])


NOT_A_WORKBOOK = (
    "The file is not an Excel workbook (.xlsx): save it from Excel as "
    "'Excel Workbook (.xlsx)' and import that."
)


def _sheets(data: bytes) -> dict[str, _Sheet]:
    """The workbook's sheets by their folded names, each with its rows' values."""
    if len(data) > files.MAX_FILE_BYTES:
        raise _refused(
            "The workbook is larger than 1 MB.", "Workbook: Larger than 1 MB: too big to read"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
    except Exception:  # any bytes: whatever zipfile raises, the file is not a workbook
        raise _refused(NOT_A_WORKBOOK, "Workbook: Not an Excel workbook (.xlsx)") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise _refused(
            "The workbook holds more than a template could: it is too big to read.",
            "Workbook: Unpacks to more than 30 MB: too big to read",
        )
    try:
        with warnings.catch_warnings():
            # openpyxl warns of parts it does not read (data validation, styles).
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                return {
                    _fold(sheet.title): _Sheet(sheet.title, list(_rows(sheet)))
                    for sheet in book.worksheets
                }
            finally:
                book.close()
    except InvalidInput:
        raise
    except Exception:  # any bytes: whatever openpyxl raises, the file is not a workbook
        raise _refused(NOT_A_WORKBOOK, "Workbook: Not an Excel workbook (.xlsx)") from None


def _rows(sheet: Any) -> Iterator[tuple[int, tuple[Any, ...]]]:
    values = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
    for number, row in enumerate(values, start=1):
        cells = tuple(_cell(value) for value in row)
        filled = any(cell is not None for cell in cells)
        if (filled and number > MAX_ROWS + 1) or number > MAX_SCANNED_ROWS:
            where = f"{sheet.title} sheet, row {number}"
            raise _refused(
                f"The {sheet.title} sheet has more than {MAX_ROWS:,} rows: a workbook may "
                f"have at most {MAX_ROWS:,} rows under its headings.",
                f"{where}: Delete the rows from here down; a sheet may have at most "
                f"{MAX_ROWS:,} rows under its headings",
            )
        if filled:
            yield number, cells


# How a cell's text keeps characters such as a carriage return (_x000D_).
_ESCAPED = re.compile(r"_x(00[01][0-9A-Fa-f])_")


def _cell(value: Any) -> Any:
    """A cell's value: None when blank; text unescaped; a date as its ISO text."""
    if isinstance(value, str):
        value = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), value)
        return value if value.strip() else None
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return value


def _text(value: Any) -> str:
    """A cell as text: a number as written (12, 2.5), TRUE and FALSE as words."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _yes_no(value: Any) -> bool | None:
    """Yes or No (or TRUE/FALSE) as a bool; None when it is neither."""
    if isinstance(value, bool):
        return value
    word = _fold(_text(value))
    return True if word in YES else False if word in NO else None


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _number(value: Any) -> int | float | None:
    """A bound: a number cell as it is, or text written as a number (12, -2.5, 1e3);
    None if it is not a number (the format checks its size)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    text = _text(value).strip()
    if not _NUMBER.fullmatch(text):
        return None
    try:
        number = int(text) if text.lstrip("+-").isdigit() else float(text)
    except ValueError:  # more digits than Python reads
        return None
    return number if math.isfinite(number) else None


def _split_options(text: str) -> list[str]:
    parts_ = text.splitlines() if "\n" in text or "\r" in text else text.split(";")
    return [part.strip() for part in parts_ if part.strip()]


_CONDITION = re.compile(r"^\s*(\S+)\s+is\s+(.*\S)\s*$", re.IGNORECASE | re.DOTALL)
_QUOTED = re.compile(r'"((?:[^"]|"")*)"')
_OR = re.compile(r"\s+or\s+", re.IGNORECASE)
_OR_WORD = re.compile(r"(?:^|\s)or(?:\s|$)", re.IGNORECASE)


def parse_condition(text: str) -> dict | None:
    """``risk_level is High or Medium`` as a condition; an answer with ' or ' in it is
    in double quotes (``contact is "Phone or email" or Letter``). None if unreadable."""
    match = _CONDITION.match(text)
    if match is None:
        return None
    answers: list[str] = []
    rest = match.group(2)
    while rest:
        if rest.startswith('"'):
            quoted = _QUOTED.match(rest)
            if quoted is None:
                return None
            answers.append(quoted.group(1).replace('""', '"'))
            rest = rest[quoted.end() :].lstrip()
            if rest:
                separator = re.match(r"or\s+", rest, re.IGNORECASE)
                if separator is None:
                    return None
                rest = rest[separator.end() :]
        else:
            separator = _OR.search(rest)
            end = separator.start() if separator else len(rest)
            answers.append(rest[:end].strip())
            rest = rest[separator.end() :] if separator else ""
    return {"question": match.group(1), "answers": answers}


def condition_text(condition: dict) -> str:
    def written(answer: str) -> str:
        if _OR_WORD.search(answer) or answer.startswith('"'):
            return '"' + answer.replace('"', '""') + '"'
        return answer

    return f"{condition['question']} is " + " or ".join(written(a) for a in condition["answers"])


_DATE_RULES = {
    _fold(NOT_IN_FUTURE): "not_in_future",
    "not in future": "not_in_future",
    "not in_future": "not_in_future",
    "not_in_future": "not_in_future",
    _fold(WITHIN_PERIOD): "within_audit_period",
    "within audit period": "within_audit_period",
    "within_audit_period": "within_audit_period",
}


Loc = tuple[str | int, ...]


class _Reader:
    """Turns a workbook's sheets into a template file's data, noting where each part
    came from (``places``) and what could not be read at all (``problems``)."""

    def __init__(self, sheets: dict[str, _Sheet]) -> None:
        self.sheets = sheets
        self.problems: list[FieldError] = []
        self.setting_rows: dict[str, str] = {}  # where each setting is
        self.places: dict[Loc, str] = {
            ("key_areas",): f"{QUESTIONS} sheet",
            ("case_questions",): f"{QUESTIONS} sheet",
            ("evidence_boxes",): f"{BOXES} sheet",
            ("scale",): f"{SCALE} sheet",
        }

    def problem(self, where: str, path: str, message: str) -> None:
        self.problems.append(FieldError(path, f"{where}: {message[:1].upper()}{message[1:]}"))

    def refusal(self, more: list[FieldError] | None = None) -> InvalidInput:
        fields = self.problems + (more or [])
        return InvalidInput(f"The workbook has {_count(len(fields))}.", fields=fields)

    def locate(self, loc: tuple) -> str | None:
        for end in range(len(loc), 0, -1):
            if (place := self.places.get(loc[:end])) is not None:
                return place
        return None

    # The sheets.

    def read(self) -> dict[str, Any]:
        for name, sheet in self.sheets.items():
            if name not in {_fold(s) for s in SHEETS} and sheet.rows:
                self.problem(
                    "Workbook",
                    "file",
                    f"the sheet '{sheet.title}' is not one a template has: name it "
                    + ", ".join(SHEETS[:-1])
                    + f" or {SHEETS[-1]}, or delete it",
                )
        if _fold(QUESTIONS) not in self.sheets:
            raise _refused(
                "The workbook has no Questions sheet.",
                "Workbook: Add a sheet called Questions, with the headings Key area, "
                "Question and Type in its first row and a question on each row below",
            )
        data: dict[str, Any] = {"format": FILE_FORMAT}
        settings = self._settings()
        for name in ("name", "slug", "theme", "description", "method", "subject", "overall_grade"):
            if name in settings:
                data[name] = settings[name]
        if "name" not in data:
            self.places.setdefault(("name",), f"{TEMPLATE} sheet")
            self.problem(
                self.places[("name",)],
                "name",
                "write the template's name here"
                if "name" in self.setting_rows
                else "add a row with the Setting 'Name' and the template's name as its Value"
                if _fold(TEMPLATE) in self.sheets
                else "add a sheet called Template with a row whose Setting is 'Name' and "
                "whose Value is the template's name",
            )
        key_areas, case = self._questions()
        self._key_areas(key_areas)
        data["key_areas"] = [area for area, _index in key_areas.values()]
        if case:
            data["case_questions"] = case
        scale = self._scale(settings)
        if scale is not None:
            data["scale"] = scale
        boxes = self._boxes()
        if boxes is not None:
            data["evidence_boxes"] = boxes
        return data

    def _table(self, name: str) -> list[tuple[int, dict[str, Any]]] | None:
        """A sheet's rows under its headings, each as (row number, {heading: value});
        None if the workbook has no such sheet."""
        sheet = self.sheets.get(_fold(name))
        if sheet is None:
            return None
        if not sheet.rows:
            return []
        known = {_fold(c): c for c in COLUMNS[name]}
        (heading_row, headings), *rows = sheet.rows
        columns: dict[int, str] = {}
        unnamed: set[int] = set()
        for index, heading in enumerate(headings):
            where = f"{name} sheet, row {heading_row}, column {get_column_letter(index + 1)}"
            if heading is None:
                unnamed.add(index)
                continue
            column = known.get(_fold(_text(heading)))
            if column is None:
                self.problem(
                    where,
                    "file",
                    f"'{_text(heading)}' is not a column of this sheet: head it one of "
                    + ", ".join(COLUMNS[name])
                    + ", or delete the column",
                )
            elif column in columns.values():
                self.problem(where, "file", f"'{column}' is already a column: delete one of them")
            else:
                columns[index] = column
        missing = [column for column in NEEDED[name] if column not in columns.values()]
        for column in missing:
            self.problem(
                f"{name} sheet, row {heading_row}",
                "file",
                f"add a column headed '{column}' (the headings are "
                + ", ".join(COLUMNS[name])
                + ")",
            )
        if missing:  # every row would say the same: the headings come first
            raise self.refusal()
        table = []
        reported: set[int] = set()
        for number, values in rows:
            for index in unnamed - reported:
                if index < len(values) and values[index] is not None:
                    reported.add(index)
                    self.problem(
                        f"{name} sheet, row {number}, column {get_column_letter(index + 1)}",
                        "file",
                        "this column has no heading: head it one of "
                        + ", ".join(COLUMNS[name])
                        + ", or clear it",
                    )
            cells = {
                column: values[index]
                for index, column in columns.items()
                if index < len(values) and values[index] is not None
            }
            if cells:
                table.append((number, cells))
        return table

    def _settings(self) -> dict[str, Any]:
        sheet = self.sheets.get(_fold(TEMPLATE))
        if sheet is None:
            return {}
        names = {_fold(s): s for s in SETTINGS}
        found: dict[str, Any] = {}
        rows = sheet.rows
        if rows and [_fold(_text(v)) if v is not None else "" for v in rows[0][1][:2]] == [
            "setting",
            "value",
        ]:
            rows = rows[1:]
        for number, values in rows:
            where = f"{TEMPLATE} sheet, row {number}"
            setting, value = values[0], values[1] if len(values) > 1 else None
            for index in range(2, len(values)):
                if values[index] is not None:
                    self.problem(
                        f"{where}, column {get_column_letter(index + 1)}",
                        "file",
                        "a setting has one value, in column B: move or delete this",
                    )
            if setting is None:
                self.problem(f"{where}, column A", "file", "write the setting this value is for")
                continue
            label = names.get(_fold(_text(setting)))
            if label is None:
                self.problem(
                    f"{where}, column A",
                    "file",
                    f"'{_text(setting)}' is not a setting: use one of " + ", ".join(SETTINGS),
                )
                continue
            key = SETTINGS[label]
            if key in self.setting_rows:
                self.problem(f"{where}, column A", "file", f"'{label}' is given twice")
                continue
            place = f"{where}, column Value"
            if key not in ("starting_scale", "scale_name"):
                self.places[(key,)] = place
            self.setting_rows[key] = place
            if value is None:
                continue
            if key == "overall_grade":
                grade = _yes_no(value)
                if grade is None:
                    self.problem(place, key, "write Yes or No")
                    continue
                found[key] = grade
            elif key == "subject":
                subject = SUBJECT_WORDS_READ.get(_text(value).strip().lower())
                if subject is None:
                    self.problem(place, key, "write Children or Agencies")
                    continue
                found[key] = subject
            else:
                found[key] = _text(value)
        return found

    def _questions(self) -> tuple[dict[str, tuple[dict[str, Any], int]], list[dict[str, Any]]]:
        """The key areas by folded title (each with its index) and the questions about
        the whole case."""
        rows = self._table(QUESTIONS) or []
        areas: dict[str, tuple[dict[str, Any], int]] = {}
        case: list[dict[str, Any]] = []
        if not rows:
            self.problem(
                f"{QUESTIONS} sheet",
                "key_areas",
                "add the questions, one a row under the headings Key area, Question and Type",
            )
        current: str | None = None
        last: str | None = None  # the key area of the row above, the whole case aside
        for number, cells in rows:
            where = f"{QUESTIONS} sheet, row {number}"
            if "Key area" in cells:
                current = _text(cells["Key area"]).strip()
            elif current is None:
                self.problem(
                    f"{where}, column Key area",
                    "key_areas",
                    "write the key area this question is in",
                )
                continue
            assert current is not None
            folded = _fold(current)
            loc: Loc
            if folded == _fold(WHOLE_CASE):
                loc = ("case_questions", len(case))
                case.append(self._question(where, loc, cells))
                continue
            if folded not in areas:
                index = len(areas)
                areas[folded] = ({"title": current, "questions": []}, index)
                self.places[("key_areas", index)] = where
                self.places[("key_areas", index, "title")] = f"{where}, column Key area"
                self.places[("key_areas", index, "questions")] = where
            area, index = areas[folded]
            if last is not None and folded != last and area["questions"]:
                self.problem(
                    f"{where}, column Key area",
                    f"key_areas[{index}]",
                    f"keep the questions of '{area['title']}' together: move this row up "
                    "to just below its other questions",
                )
            last = folded
            loc = ("key_areas", index, "questions", len(area["questions"]))
            area["questions"].append(self._question(where, loc, cells))
        return areas, case

    def _question(self, where: str, loc: Loc, cells: dict[str, Any]) -> dict[str, Any]:
        path = _path(loc)
        self.places[loc] = where
        for name, column in QUESTION_COLUMN.items():
            self.places[(*loc, name)] = f"{where}, column {column}"

        def problem(name: str, message: str) -> None:
            self.problem(f"{where}, column {QUESTION_COLUMN[name]}", f"{path}.{name}", message)

        question: dict[str, Any] = {"prompt": _text(cells.get("Question", ""))}
        if "Type" not in cells:
            problem("type", "choose the type of answer: " + _type_list())
        else:
            kind = TYPES.get(_fold(_text(cells["Type"]).replace(",", " ")).rstrip("."))
            if kind is None:
                problem(
                    "type",
                    f"'{_text(cells['Type'])}' is not a type of answer: use one of " + _type_list(),
                )
            else:
                question["type"] = kind.value
        if "Options" in cells:
            question["options"] = _split_options(_text(cells["Options"]))
        if "Required" in cells:
            required = _yes_no(cells["Required"])
            if required is None:
                problem("required", "write Yes or No (blank: Yes)")
            else:
                question["required"] = required
        for name in ("guidance", "not_applicable", "key"):
            if (value := cells.get(QUESTION_COLUMN[name])) is not None:
                question[name] = _text(value)
        if "Asked when" in cells:
            condition = parse_condition(_text(cells["Asked when"]))
            if condition is None:
                problem(
                    "condition",
                    "write the condition as '<key> is <answer>', with more answers "
                    "joined by 'or': for example risk_level is High or Medium",
                )
            else:
                question["condition"] = condition
        for name in ("minimum", "maximum"):
            if (value := cells.get(QUESTION_COLUMN[name])) is not None:
                if (number := _number(value)) is None:
                    problem(name, "write a number, such as 0 or 2.5")
                else:
                    question[name] = number
        if "Dates" in cells:
            for rule in re.split(r"[;\n\r]", _text(cells["Dates"])):
                if not rule.strip():
                    continue
                rule_name = _DATE_RULES.get(_fold(rule))
                if rule_name is None:
                    problem(
                        "not_in_future",
                        f"'{rule.strip()}' is not a rule for dates: write {NOT_IN_FUTURE}, "
                        f"{WITHIN_PERIOD}, or both separated by ;",
                    )
                else:
                    question[rule_name] = True
        return question

    def _key_areas(self, areas: dict[str, tuple[dict[str, Any], int]]) -> None:
        rows = self._table(KEY_AREAS)
        if rows is None:
            return
        seen: set[str] = set()
        for number, cells in rows:
            where = f"{KEY_AREAS} sheet, row {number}"
            if "Title" not in cells:
                self.problem(f"{where}, column Title", "key_areas", "write the key area's title")
                continue
            title = _text(cells["Title"]).strip()
            folded = _fold(title)
            if folded == _fold(WHOLE_CASE):
                self.problem(
                    f"{where}, column Title",
                    "key_areas",
                    f"'{WHOLE_CASE}' marks the questions about the whole case on the "
                    "Questions sheet: a key area cannot have that title",
                )
                continue
            if folded in seen:
                self.problem(f"{where}, column Title", "key_areas", f"'{title}' is listed twice")
                continue
            seen.add(folded)
            if folded not in areas:
                self.problem(
                    f"{where}, column Title",
                    "key_areas",
                    f"no question on the Questions sheet is in the key area '{title}': "
                    "add its questions there, or delete this row",
                )
                continue
            area, index = areas[folded]
            self.places[("key_areas", index, "description")] = f"{where}, column Description"
            self.places[("key_areas", index, "graded")] = f"{where}, column Graded"
            if "Description" in cells:
                area["description"] = _text(cells["Description"])
            if "Graded" in cells:
                graded = _yes_no(cells["Graded"])
                if graded is None:
                    self.problem(
                        f"{where}, column Graded",
                        f"key_areas[{index}].graded",
                        "write Yes or No (blank: Yes)",
                    )
                else:
                    area["graded"] = graded

    def _scale(self, settings: dict[str, Any]) -> dict[str, Any] | None:
        rows = self._table(SCALE) or []
        name, starting = settings.get("scale_name"), settings.get("starting_scale")
        if starting is not None:
            where = self.setting_rows["starting_scale"]
            self.places[("scale",)] = where
            if rows:
                self.problem(
                    where,
                    "scale",
                    "give either a starting scale here or a Scale sheet, not both: clear "
                    "this or delete the Scale sheet",
                )
                return None
            if name is not None:
                self.problem(
                    self.setting_rows["scale_name"],
                    "scale.name",
                    "a starting scale keeps its own name: clear the Scale name, or give "
                    "the scale's levels on a Scale sheet",
                )
                return None
            chosen = _starting_scale(starting)
            if chosen is None:
                self.problem(
                    where,
                    "scale",
                    f"'{starting}' is not a starting scale: use one of "
                    + ", ".join(scales.starting_scales())
                    + ", or give the levels on a Scale sheet",
                )
                return None
            return chosen.model_dump()
        if not rows:
            if name is not None:
                self.problem(
                    self.setting_rows["scale_name"],
                    "scale",
                    "add a Scale sheet with the scale's levels (Code, Label, Description), "
                    "best first; or clear the Scale name",
                )
            return None
        if name is None:
            self.problem(
                f"{TEMPLATE} sheet",
                "scale.name",
                "add a row with the Setting 'Scale name' and the name of the scale on the "
                "Scale sheet as its Value",
            )
        else:
            self.places[("scale", "name")] = self.setting_rows["scale_name"]
        levels: list[dict[str, str]] = []
        self.places[("scale", "levels")] = f"{SCALE} sheet"
        for number, cells in rows:
            where = f"{SCALE} sheet, row {number}"
            loc = ("scale", "levels", len(levels))
            self.places[loc] = where
            level = {"code": _text(cells.get("Code", "")), "label": _text(cells.get("Label", ""))}
            if "Description" in cells:
                level["description"] = _text(cells["Description"])
            for part, column in (
                ("code", "Code"),
                ("label", "Label"),
                ("description", "Description"),
            ):
                self.places[(*loc, part)] = f"{where}, column {column}"
            levels.append(level)
        return {"name": name or "", "levels": levels}

    def _boxes(self) -> list[dict[str, Any]] | bool | None:
        rows = self._table(BOXES)
        if rows is None:
            return None
        if not rows:
            return False
        boxes: list[dict[str, Any]] = []
        for number, cells in rows:
            where = f"{BOXES} sheet, row {number}"
            loc = ("evidence_boxes", len(boxes))
            path = _path(loc)
            self.places[loc] = where
            for part, column in (("box", "Box"), ("label", "Label"), ("required", "Required")):
                self.places[(*loc, part)] = f"{where}, column {column}"
            box: dict[str, Any] = {}
            name = BOX_NAMES.get(_fold(_text(cells.get("Box", "")).replace("_", " ")))
            if name is None:
                self.problem(
                    f"{where}, column Box",
                    f"{path}.box",
                    (
                        f"'{_text(cells['Box'])}' is not a box of evidence"
                        if "Box" in cells
                        else "write which box this is"
                    )
                    + ": use one of "
                    + "; ".join(b.label for b in DEFAULT_BOXES),
                )
            else:
                box["box"] = name
            if "Label" in cells:
                box["label"] = _text(cells["Label"])
            if "Required" in cells:
                required = _yes_no(cells["Required"])
                if required is None:
                    self.problem(
                        f"{where}, column Required",
                        f"{path}.required",
                        "write Yes or No (blank: No)",
                    )
                else:
                    box["required"] = required
            boxes.append(box)
        return boxes


def _path(loc: Loc) -> str:
    """A place in the data as the errors name it: key_areas[1].questions[0]."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def _type_list() -> str:
    return ", ".join(f"'{words}'" for words in TYPE_WORDS.values())


def _starting_scale(name: str) -> ScaleIn | None:
    found = scales.starting_scales()
    by_name = {_fold(key): scale for key, scale in found.items()}
    by_name |= {_fold(scale.name): scale for scale in found.values()}
    return by_name.get(_fold(name))


def _count(n: int) -> str:
    return "a problem" if n == 1 else f"{n} problems"


def read_workbook(data: bytes) -> TemplateFile:
    """Read and check a workbook: every problem is reported with its sheet, row and
    column, in the words a YAML file's would be."""
    reader = _Reader(_sheets(data))
    found = reader.read()
    try:
        content = files.validate(found, reader.locate)
    except InvalidInput as exc:
        # What could not be read is reported once: as read, not as then checked.
        mine = {problem.field for problem in reader.problems}
        raise reader.refusal([f for f in exc.fields if f.field not in mine]) from None
    if reader.problems:
        raise reader.refusal()
    return content


def import_workbook(session: Session, data: bytes) -> TemplateVersion:
    """Load a workbook as a draft, as files.import_text loads a YAML file."""
    return files.import_content(session, read_workbook(data))


# --- writing -----------------------------------------------------------------------------


def write_workbook(version: TemplateVersion) -> bytes:
    """The version as a workbook that reads back as the same content."""
    return workbook_of(parts.content_of(version))


def _yes(value: bool) -> str:
    return "Yes" if value else "No"


def _question_row(title: str, q: QuestionIn) -> list[Any]:
    dates = [
        rule
        for rule, on in ((NOT_IN_FUTURE, q.not_in_future), (WITHIN_PERIOD, q.within_audit_period))
        if on
    ]
    return [
        title,
        q.prompt,
        TYPE_WORDS[q.type],
        "\n".join(q.options),
        _yes(q.required),
        q.guidance,
        q.not_applicable,
        q.key,
        condition_text(q.condition.model_dump()) if q.condition else None,
        q.minimum,
        q.maximum,
        "; ".join(dates),
    ]


# Column widths in characters (14 if not given); 24 or more wrap their text.
WIDTHS = {
    "Setting": 16,
    "Value": 60,
    "Key area": 24,
    "Question": 50,
    "Type": 22,
    "Options": 24,
    "Guidance": 40,
    "Not applicable": 16,
    "Asked when": 28,
    "Description": 40,
    "Title": 30,
    "Label": 30,
    "Dates": 24,
    "Box": 28,
}


def workbook_of(content: TemplateContent) -> bytes:
    for area in content.key_areas:
        if _fold(area.title) == _fold(WHOLE_CASE):
            raise Conflict(
                f"The key area '{area.title}' cannot be written to a workbook, where "
                f"'{WHOLE_CASE}' marks the questions about the whole case: rename the key "
                "area, or export the template as YAML."
            )
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    heading = book.add_format({"bold": True, "bg_color": "#DEE0E2", "text_wrap": True})
    wrapped = book.add_format({"text_wrap": True, "valign": "top"})
    top = book.add_format({"valign": "top"})

    def sheet(name: str, headings: tuple[str, ...], rows: list[list[Any]]) -> None:
        ws = book.add_worksheet(name)
        ws.freeze_panes(1, 0)
        for col, title in enumerate(headings):
            ws.set_column(
                col, col, WIDTHS.get(title, 14), wrapped if WIDTHS.get(title, 0) >= 24 else top
            )
            ws.write_string(0, col, title, heading)
            if title in HINTS:
                ws.data_validation(
                    0,
                    col,
                    0,
                    col,
                    {
                        "validate": "any",
                        "input_title": title[:32],
                        "input_message": HINTS[title][:255],
                    },
                )
        for r, row in enumerate(rows, start=1):
            for col, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, bool):
                    ws.write_string(r, col, _yes(value))
                elif isinstance(value, int | float):
                    # A number Excel would keep to fewer digits than given is written
                    # as its text, which reads back the same.
                    if float(f"{value:.16g}") == value:
                        ws.write_number(r, col, value)
                    else:
                        ws.write_string(r, col, repr(value))
                else:
                    ws.write_string(r, col, str(value))

    settings: list[list[Any]] = [
        ["Name", content.name],
        ["Slug", content.slug],
        ["Theme", content.theme],
        ["Description", content.description],
        ["Method", content.method],
        ["Overall grade", _yes(content.overall_grade)],
        ["Scale name", content.scale.name if content.scale else None],
    ]
    if content.subject != AuditSubject.CHILD:  # written only for an audit of agencies
        settings.insert(5, ["Audit about", SUBJECT_WORDS[content.subject].many.capitalize()])
    sheet(TEMPLATE, ("Setting", "Value"), settings)
    questions = [_question_row(a.title, q) for a in content.key_areas for q in a.questions]
    questions += [_question_row(WHOLE_CASE, q) for q in content.case_questions]
    sheet(QUESTIONS, COLUMNS[QUESTIONS], questions)
    sheet(
        KEY_AREAS,
        COLUMNS[KEY_AREAS],
        [[a.title, a.description, _yes(a.graded)] for a in content.key_areas],
    )
    if content.scale is not None:
        sheet(
            SCALE,
            COLUMNS[SCALE],
            [[lv.code, lv.label, lv.description] for lv in content.scale.levels],
        )
    boxes = content.evidence_boxes
    if boxes is not True:
        listed: list[EvidenceBoxIn] = boxes if isinstance(boxes, list) else []
        sheet(
            BOXES,
            COLUMNS[BOXES],
            [[_box_words(b.box), b.label, _yes(b.required)] for b in listed],
        )
    book.close()
    return buffer.getvalue()


def _box_words(box: str) -> str:
    return next(b.label for b in DEFAULT_BOXES if b.box == box)
