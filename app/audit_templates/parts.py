"""A template version's parts and their shapes: built from the schema a draft is made
from (``TemplateContent``), turned back into it (``content_of``, for files and new
versions), and what the audit log records of each part.

Kept apart from the rules so both the version's lifecycle and the editing of its
parts build and log them the same way.
"""

from __future__ import annotations

from app.audit_templates.models import (
    GradeLevel,
    GradingScale,
    KeyArea,
    Question,
    SectionKind,
    TemplateVersion,
)
from app.audit_templates.schemas import (
    ConditionIn,
    EvidenceBoxIn,
    KeyAreaIn,
    LevelIn,
    QuestionIn,
    ScaleIn,
    TemplateContent,
    allowed_answers,
    bound_value,
    canonical_bound,
    condition_problems,
)
from app.errors import FieldError


def build_key_area(data: KeyAreaIn, position: int) -> KeyArea:
    return KeyArea(
        position=position,
        title=data.title,
        description=data.description,
        graded=data.graded,
        questions=[build_question(q, i) for i, q in enumerate(data.questions)],
    )


# The title of the section holding the questions about the whole case; never shown as
# a key area (its questions are shown beside the overall grade).
CASE_SECTION_TITLE = "About the whole case"


def build_case_section(questions: list[QuestionIn]) -> KeyArea | None:
    if not questions:
        return None
    return KeyArea(
        position=0,
        title=CASE_SECTION_TITLE,
        graded=False,
        kind=SectionKind.CASE,
        questions=[build_question(q, i) for i, q in enumerate(questions)],
    )


def build_question(data: QuestionIn, position: int) -> Question:
    question = Question(position=position)
    fill_question(question, data)
    return question


def fill_question(question: Question, data: QuestionIn) -> None:
    """Set every part of a question from ``data`` (condition answers as stored)."""
    question.prompt = data.prompt
    question.answer_type = data.type
    question.required = data.required
    question.guidance = data.guidance
    question.options = list(data.options)
    question.key = data.key
    question.not_applicable = data.not_applicable
    question.condition = (
        {"question": data.condition.question, "answers": list(data.condition.answers)}
        if data.condition is not None
        else None
    )
    question.minimum = canonical_bound(data.minimum)
    question.maximum = canonical_bound(data.maximum)
    question.not_in_future = data.not_in_future
    question.within_audit_period = data.within_audit_period


def stored_conditions(questions: list[Question]) -> None:
    """Each condition's answers as the stored values ("Yes" becomes "yes", an option
    as the option is written); run once the whole template's conditions are checked."""
    by_key = {q.key: q for q in questions if q.key}
    for q in questions:
        if q.condition is None or q.condition["question"] not in by_key:
            continue
        allowed = allowed_answers(by_key[q.condition["question"]]) or {}
        answers = [allowed.get(a.casefold(), a) for a in q.condition["answers"]]
        if answers != q.condition["answers"]:
            q.condition = {"question": q.condition["question"], "answers": answers}


def asked_questions(version: TemplateVersion) -> list[tuple[str, Question]]:
    """The version's questions in the order a return asks them, each with where it is."""
    found = [
        (f"key_areas[{i}].questions[{j}]", q)
        for i, k in enumerate(version.key_areas)
        for j, q in enumerate(k.questions)
    ]
    return found + [(f"case_questions[{j}]", q) for j, q in enumerate(version.case_questions)]


def version_condition_problems(version: TemplateVersion) -> list[FieldError]:
    return condition_problems(asked_questions(version))


def question_in(q: Question) -> QuestionIn:
    return QuestionIn(
        prompt=q.prompt,
        type=q.answer_type,
        required=q.required,
        guidance=q.guidance,
        options=q.options,
        key=q.key,
        not_applicable=q.not_applicable,
        condition=ConditionIn(**q.condition) if q.condition else None,
        minimum=bound_value(q.minimum),
        maximum=bound_value(q.maximum),
        not_in_future=q.not_in_future,
        within_audit_period=q.within_audit_period,
    )


def box_spec(boxes: bool | list[EvidenceBoxIn] | list[dict]) -> tuple[bool, list[dict] | None]:
    """(has_evidence_boxes, evidence_box_spec) for what a template says of its boxes
    (each box as the model, or as a PATCH body's dict of it)."""
    if isinstance(boxes, bool):
        return boxes, None
    given = [EvidenceBoxIn.model_validate(b) for b in boxes]
    if not given:  # an empty list says what false says
        return False, None
    spec = [{"box": b.box, "label": b.wording, "required": b.required} for b in given]
    return True, spec


def boxes_in(version: TemplateVersion) -> bool | list[EvidenceBoxIn]:
    if version.evidence_box_spec is None:
        return version.has_evidence_boxes
    return [EvidenceBoxIn(**box) for box in version.evidence_box_spec]


def build_scale(data: ScaleIn) -> GradingScale:
    return GradingScale(
        name=data.name,
        levels=[
            GradeLevel(position=i, code=lv.code, label=lv.label, description=lv.description)
            for i, lv in enumerate(data.levels)
        ],
    )


def content_of(version: TemplateVersion) -> TemplateContent:
    """The version's content as the schema files and drafts are made from."""
    return TemplateContent(
        name=version.name,
        slug=version.slug,
        theme=version.theme,
        description=version.description,
        method=version.method,
        subject=version.subject,
        overall_grade=version.has_overall_grade,
        evidence_boxes=boxes_in(version),
        scale=ScaleIn(
            name=version.scale.name,
            levels=[
                LevelIn(code=lv.code, label=lv.label, description=lv.description)
                for lv in version.scale.levels
            ],
        )
        if version.scale
        else None,
        key_areas=[
            KeyAreaIn(
                title=k.title,
                description=k.description,
                graded=k.graded,
                questions=[question_in(q) for q in k.questions],
            )
            for k in version.key_areas
        ],
        case_questions=[question_in(q) for q in version.case_questions],
    )


def version_log(version: TemplateVersion) -> dict:
    return {
        "status": version.status,
        "theme": version.theme,
        "description": version.description,
        "method": version.method,
        "subject": version.subject,
        "overall_grade": version.has_overall_grade,
        "evidence_boxes": version.has_evidence_boxes,
        **({"evidence_box_spec": version.evidence_box_spec} if version.evidence_box_spec else {}),
        "published_at": version.published_at,
        "retired_at": version.retired_at,
    }


def scale_log(scale: GradingScale | None) -> dict | None:
    if scale is None:
        return None
    return {
        "name": scale.name,
        "levels": [
            {"code": lv.code, "label": lv.label, "description": lv.description}
            for lv in scale.levels
        ],
    }


def key_area_log(key_area: KeyArea) -> dict:
    return {
        "template_version_id": key_area.template_version_id,
        "position": key_area.position,
        "title": key_area.title,
        "description": key_area.description,
        "graded": key_area.graded,
    }


def question_log(question: Question) -> dict:
    return {
        "key_area_id": question.key_area_id,
        "position": question.position,
        "prompt": question.prompt,
        "type": question.answer_type,
        "required": question.required,
        "guidance": question.guidance,
        "options": list(question.options),
        **{
            name: value for name in RULES if (value := getattr(question, name)) not in (None, False)
        },
    }


# A question's rules, logged only when set so that a plain question logs as before.
RULES = (
    "key",
    "not_applicable",
    "condition",
    "minimum",
    "maximum",
    "not_in_future",
    "within_audit_period",
)
