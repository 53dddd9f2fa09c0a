"""Template request/response models; the YAML file format is ``TemplateFile``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal, Protocol, TypeVar

from pydantic import (
    AliasChoices,
    BeforeValidator,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.audit_templates.models import (
    CHOICE_TYPES,
    DEFAULT_BOXES,
    NOT_APPLICABLE,
    NUMBER_TYPES,
    AnswerType,
    AuditSubject,
    TemplateStatus,
)
from app.errors import FieldError
from app.schemas_base import (
    LongText,
    Name,
    OneLine,
    PlainText,
    RequestModel,
    ResponseModel,
    ShortText,
    reject_null,
)

FILE_FORMAT = "case-audit-template/1"

Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=8, pattern=r"^\S+$"),
    OneLine,
]
Prompt = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), PlainText
]
Option = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), OneLine
]
Method = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), OneLine]
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), OneLine
]
QuestionKey = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]*$", max_length=60),
    Field(
        description="A name for the question, for other questions' conditions: lower-case "
        "letters, digits and underscores, starting with a letter; unique in the template."
    ),
]


# A bound on a number answer: at most 15 significant digits, as the answers have.
def _bound_number(value: object) -> object:
    """A bound is a number as answers are: true is not 1, and no more precise than an
    answer can be (15 significant digits, 6 decimal places)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    if isinstance(value, int | float) and value == value and abs(value) != float("inf"):
        number = Decimal(str(value)).normalize()
        _sign, digits, exponent = number.as_tuple()
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if number and (len(digits) > 15 or places > 6):
            raise ValueError("must have at most 15 digits and 6 decimal places")
    return value


Bound = Annotated[
    int | float,
    BeforeValidator(_bound_number),
    Field(allow_inf_nan=False, ge=-(10**15), le=10**15),
]
Slug = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=120),
]


class LevelIn(RequestModel):
    code: Code
    label: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), OneLine
    ]
    description: LongText = ""


class ScaleIn(RequestModel):
    name: Name
    levels: list[LevelIn] = Field(
        min_length=2,
        max_length=10,
        description="Best first. Each level's code must be different from the others'.",
    )

    @model_validator(mode="after")
    def _unique_codes(self) -> ScaleIn:
        codes = [level.code for level in self.levels]
        if len(set(codes)) != len(codes):
            raise ValueError("each level needs a different code")
        return self


class ConditionIn(RequestModel):
    """Ask a question only when another question's answer is one of some values."""

    question: QuestionKey = Field(
        description="The key of the question whose answer decides: a yes/no, yes/partly/no "
        "or single choice question that comes earlier in the template."
    )
    answers: list[Option] = Field(
        min_length=1,
        max_length=30,
        description="The answers that make this question asked: yes, partly or no; one of "
        "a single choice's options; or not_applicable.",
    )


class QuestionIn(RequestModel):
    prompt: Prompt
    type: AnswerType
    required: bool = True
    guidance: LongText = ""
    options: list[Option] = Field(
        default_factory=list,
        max_length=30,
        json_schema_extra={"uniqueItems": True},
        description="A single choice question's options (at least two, all different); "
        "none for any other type.",
    )
    key: QuestionKey | None = None
    not_applicable: Label | None = Field(
        default=None,
        description='Offer a "not applicable" answer with this label (yes/no, '
        "yes/partly/no and single choice only). It counts as an answer, so a required "
        "question is satisfied, and is left out of percentages.",
    )
    condition: ConditionIn | None = Field(
        default=None,
        description="Ask this question only when another question's answer is one of "
        "these: otherwise it is not shown and not required.",
    )
    minimum: Bound | None = Field(default=None, description="Numbers only: the smallest answer.")
    maximum: Bound | None = Field(default=None, description="Numbers only: the largest answer.")
    not_in_future: bool = Field(default=False, description="Dates only: not after today.")
    within_audit_period: bool = Field(
        default=False, description="Dates only: within the period the audit looks at."
    )

    @model_validator(mode="after")
    def _rules_fit_type(self) -> QuestionIn:
        for problem in question_rule_problems(self):
            raise ValueError(problem)
        return self


def question_rule_problems(q: QuestionIn) -> Iterator[str]:
    """What in one question does not fit its type, each as a sentence saying what to do."""
    if q.type == AnswerType.SINGLE_CHOICE:
        if len(q.options) < 2:
            yield "a single choice question needs at least two options"
        if len({o.casefold() for o in q.options}) != len(q.options):
            yield "the options must all be different"
        if any(o.casefold() == NOT_APPLICABLE for o in q.options):
            yield f"'{NOT_APPLICABLE}' is kept for a 'not applicable' answer: word the option otherwise"
    elif q.options:
        yield "options are only for single choice questions: remove them or change the type"
    if q.not_applicable is not None:
        if q.type not in CHOICE_TYPES:
            yield (
                "A 'not applicable' answer is only for yes/no, yes/partly/no and single "
                "choice questions: remove not_applicable or change the type"
            )
        elif q.not_applicable.casefold() in taken_answers(q):
            yield "The not_applicable label must differ from every other answer"
    if q.minimum is not None or q.maximum is not None:
        if q.type not in NUMBER_TYPES:
            yield "Minimum and maximum are only for integer and number questions"
        elif q.type == AnswerType.INTEGER and any(
            b is not None and b != int(b) for b in (q.minimum, q.maximum)
        ):
            yield "an integer question's minimum and maximum must be whole numbers"
        elif q.minimum is not None and q.maximum is not None and q.minimum > q.maximum:
            yield "the minimum must not be more than the maximum"
    if (q.not_in_future or q.within_audit_period) and q.type != AnswerType.DATE:
        yield "not_in_future and within_audit_period are only for date questions"


def taken_answers(q: QuestionIn) -> set[str]:
    """The folded answers a choice question's "not applicable" label may not be: its
    other answers (yes, partly, no, or the options) and the stored name itself."""
    built_in = {
        AnswerType.YES_NO: ("yes", "no"),
        AnswerType.YES_PARTLY_NO: ("yes", "partly", "no"),
    }.get(q.type, ())
    return {a.casefold() for a in (*built_in, *q.options, NOT_APPLICABLE)}


def canonical_bound(value: int | float | None) -> str | None:
    """A bound as the canonical text numbers are kept in (``12``, ``2.5``)."""
    if value is None:
        return None
    number = Decimal(str(value)).normalize()
    return "0" if number == 0 else format(number, "f")


def bound_value(text: str | None) -> int | float | None:
    """A stored bound back as the number a file or response gives (12, 2.5)."""
    if text is None:
        return None
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else float(number)


class QuestionPatch(RequestModel):
    prompt: Prompt | None = None
    type: AnswerType | None = None
    required: bool | None = None
    guidance: LongText | None = None
    options: list[Option] | None = Field(default=None, json_schema_extra={"uniqueItems": True})
    position: int | None = Field(default=None, ge=0)
    # null takes these away: no key, no "not applicable", no condition, no bound.
    key: QuestionKey | None = None
    not_applicable: Label | None = None
    condition: ConditionIn | None = None
    minimum: Bound | None = None
    maximum: Bound | None = None
    not_in_future: bool | None = None
    within_audit_period: bool | None = None

    _not_null = reject_null(
        "prompt",
        "type",
        "required",
        "guidance",
        "options",
        "position",
        "not_in_future",
        "within_audit_period",
    )


class KeyAreaIn(RequestModel):
    title: Name
    description: LongText = ""
    graded: bool = True
    questions: list[QuestionIn] = Field(default_factory=list, max_length=60)


class KeyAreaCreate(KeyAreaIn):
    position: int | None = Field(default=None, ge=0, description="Insert here; default: last.")


class QuestionCreate(QuestionIn):
    position: int | None = Field(default=None, ge=0, description="Insert here; default: last.")


class KeyAreaPatch(RequestModel):
    title: Name | None = None
    description: LongText | None = None
    graded: bool | None = None
    position: int | None = Field(default=None, ge=0)

    _not_null = reject_null("title", "description", "graded", "position")


BoxName = Literal["went_well", "could_be_better", "impact_on_child"]
_DEFAULT_LABELS = {b.box: b.label for b in DEFAULT_BOXES}


class EvidenceBoxIn(RequestModel):
    """One box of evidence each key area has."""

    box: BoxName = Field(description="Which box: where its words are kept.")
    label: Label | None = Field(
        default=None, description="Its heading; default: the box's usual wording."
    )
    required: bool = Field(default=False, description="Must be filled in before submitting.")

    @property
    def wording(self) -> str:
        return self.label or _DEFAULT_LABELS[self.box]


_Boxes = TypeVar("_Boxes")


def _boxes_once(boxes: _Boxes) -> _Boxes:
    """Each box of evidence listed at most once."""
    if isinstance(boxes, list):
        names = [b.box for b in boxes]
        if len(set(names)) != len(names):
            raise ValueError("each box of evidence may be listed only once")
    return boxes


class TemplateContent(RequestModel):
    """A template version's whole content: used to create a draft and in files."""

    name: Name
    slug: Slug | None = None
    theme: ShortText = ""
    description: LongText = ""
    method: Method = ""
    subject: AuditSubject = Field(
        default=AuditSubject.CHILD,
        description="What an audit on the template looks at: a child (a case audit), or "
        "an agency assessing itself (a Section 11 or section 175 self-assessment).",
    )
    overall_grade: bool = True
    evidence_boxes: bool | list[EvidenceBoxIn] = Field(
        default=True,
        description="true: each key area has the three usual boxes of evidence (what went "
        "well, what could have been better, the impact on the child), none required; "
        "false: none; or a list saying which boxes, their headings and which are required.",
    )
    scale: ScaleIn | None = None
    key_areas: list[KeyAreaIn] = Field(
        default_factory=list,
        max_length=30,
        description="Each key area's title must be different from the others' (in any case).",
    )
    case_questions: list[QuestionIn] = Field(
        default_factory=list,
        max_length=30,
        description="Questions about the whole case, answered once per return beside the "
        "overall grade.",
    )

    @field_validator("key_areas")
    @classmethod
    def _unique_titles(cls, key_areas: list[KeyAreaIn]) -> list[KeyAreaIn]:
        titles = [k.title.casefold() for k in key_areas]
        if len(set(titles)) != len(titles):
            raise ValueError("each key area needs a different title")
        return key_areas

    @field_validator("evidence_boxes")
    @classmethod
    def _unique_boxes(cls, boxes: bool | list[EvidenceBoxIn]) -> bool | list[EvidenceBoxIn]:
        return _boxes_once(boxes)

    def all_questions(self) -> list[tuple[str, QuestionIn]]:
        """Every question with where it is, in the order a return asks them."""
        found = [
            (f"key_areas[{i}].questions[{j}]", q)
            for i, k in enumerate(self.key_areas)
            for j, q in enumerate(k.questions)
        ]
        return found + [(f"case_questions[{j}]", q) for j, q in enumerate(self.case_questions)]


class Asked(Protocol):
    """What conditions need of a question, as a request gives it or as stored."""

    key: str | None
    options: list[str]
    not_applicable: str | None


def _type(q: Asked) -> AnswerType:
    return q.type if isinstance(q, QuestionIn) else q.answer_type  # type: ignore[attr-defined]


def _condition(q: Asked) -> tuple[str, list[str]] | None:
    condition = q.condition  # type: ignore[attr-defined]
    if condition is None:
        return None
    if isinstance(condition, ConditionIn):
        return condition.question, list(condition.answers)
    return condition["question"], list(condition["answers"])


def allowed_answers(q: Asked) -> dict[str, str] | None:
    """A choice question's stored values by their folded spelling; None for any other."""
    match _type(q):
        case AnswerType.YES_NO:
            values = ["yes", "no"]
        case AnswerType.YES_PARTLY_NO:
            values = ["yes", "partly", "no"]
        case AnswerType.SINGLE_CHOICE:
            values = list(q.options)
        case _:
            return None
    if q.not_applicable is not None:
        values.append(NOT_APPLICABLE)
    return {v.casefold(): v for v in values}


def condition_problems(questions: Sequence[tuple[str, Asked]]) -> list[FieldError]:
    """Each key given twice and each condition that does not refer to an earlier choice
    question's answers, named by where it is; ``questions`` in the order a return asks
    them (key areas in order, then the questions about the whole case)."""
    problems: list[FieldError] = []
    earlier: dict[str, Asked] = {}
    for where, q in questions:
        if (condition := _condition(q)) is not None:
            key, answers = condition
            target = earlier.get(key)
            allowed = allowed_answers(target) if target is not None else None
            if target is None:
                problems.append(
                    FieldError(
                        f"{where}.condition.question",
                        f"No earlier question has the key '{key}': a condition refers to "
                        "a question that comes before it",
                    )
                )
            elif allowed is None:
                problems.append(
                    FieldError(
                        f"{where}.condition.question",
                        f"'{key}' is a {_type(target).value} question: a condition needs a "
                        "yes/no, yes/partly/no or single choice question",
                    )
                )
            else:
                for n, answer in enumerate(answers):
                    if answer.casefold() not in allowed:
                        problems.append(
                            FieldError(
                                f"{where}.condition.answers[{n}]",
                                f"'{answer}' is not an answer to '{key}': use one of "
                                + ", ".join(allowed.values()),
                            )
                        )
        if q.key is not None:
            if q.key in earlier:
                problems.append(FieldError(f"{where}.key", f"The key '{q.key}' is given twice"))
            earlier[q.key] = q
    return problems


class FileKeyArea(KeyAreaIn):
    questions: list[QuestionIn] = Field(min_length=1, max_length=60)


class TemplateFile(TemplateContent):
    """The file format (docs/template-format.md): a template's whole content, with at
    least one key area and at least one question in each."""

    format: Literal["case-audit-template/1"]
    key_areas: list[FileKeyArea] = Field(min_length=1, max_length=30)  # type: ignore[assignment]


class VersionPatch(RequestModel):
    theme: ShortText | None = None
    description: LongText | None = None
    method: Method | None = None
    subject: AuditSubject | None = None
    overall_grade: bool | None = None
    evidence_boxes: bool | list[EvidenceBoxIn] | None = None

    _not_null = reject_null(
        "theme", "description", "method", "subject", "overall_grade", "evidence_boxes"
    )

    @field_validator("evidence_boxes")
    @classmethod
    def _unique_boxes(
        cls, boxes: bool | list[EvidenceBoxIn] | None
    ) -> bool | list[EvidenceBoxIn] | None:
        return _boxes_once(boxes)


class LevelOut(ResponseModel):
    id: int
    position: int
    code: str
    label: str
    description: str


class ScaleOut(ResponseModel):
    id: int
    name: str
    levels: list[LevelOut]


class ConditionOut(ResponseModel):
    question: str
    answers: list[str]


class QuestionOut(ResponseModel):
    id: int
    position: int
    prompt: str
    type: AnswerType = Field(validation_alias="answer_type")
    required: bool
    guidance: str
    options: list[str]
    key: str | None
    not_applicable: str | None
    condition: ConditionOut | None
    minimum: int | float | None
    maximum: int | float | None
    not_in_future: bool
    within_audit_period: bool

    @field_validator("minimum", "maximum", mode="before")
    @classmethod
    def _number(cls, value: object) -> object:
        return bound_value(value) if isinstance(value, str) else value


class EvidenceBoxOut(ResponseModel):
    box: BoxName
    label: str
    required: bool


class KeyAreaOut(ResponseModel):
    id: int
    position: int
    title: str
    description: str
    graded: bool
    questions: list[QuestionOut]


class VersionSummary(ResponseModel):
    id: int
    number: int
    status: TemplateStatus
    created_at: datetime
    published_at: datetime | None


# A template's id, read from its versions' ``family_id``: the same for all its versions.
TemplateId = Annotated[
    int,
    Field(
        validation_alias=AliasChoices("template_id", "family_id"),
        description="The template's id, the same for all its versions: for "
        "/templates/{template_id}.",
    ),
]


class TemplateVersionOut(ResponseModel):
    """One version of a template. Its ``id`` is the version's; the template's, which
    all its versions share, is ``template_id``."""

    id: int = Field(
        description="This version's id: for /template-versions/{version_id} and an audit's "
        "template_version_id. Not the template's id (template_id)."
    )
    template_id: TemplateId
    family_id: int = Field(
        deprecated="The same as template_id, by its earlier name.",
        description="The same as template_id, by its earlier name.",
    )
    name: str
    slug: str
    number: int
    status: TemplateStatus
    theme: str
    description: str
    method: str
    subject: AuditSubject
    overall_grade: bool = Field(validation_alias="has_overall_grade")
    evidence_boxes: bool = Field(
        validation_alias="has_evidence_boxes",
        description="Whether each key area has boxes of evidence (evidence_box_list: which).",
    )
    evidence_box_list: list[EvidenceBoxOut] = Field(
        description="Each key area's boxes of evidence, in order: their headings and "
        "whether each must be filled in.",
    )
    created_at: datetime
    published_at: datetime | None
    retired_at: datetime | None
    scale: ScaleOut | None
    key_areas: list[KeyAreaOut]
    case_questions: list[QuestionOut] = Field(
        description="Questions about the whole case, answered once per return."
    )


class TemplateFamilyOut(ResponseModel):
    id: int
    name: str
    slug: str
    created_at: datetime
    versions: list[VersionSummary]
