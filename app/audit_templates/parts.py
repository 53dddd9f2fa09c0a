"""A template version's parts and their shapes: built from the schema a draft is made
from (``TemplateContent``), turned back into it (``content_of``, for files and new
versions), and what the audit log records of each part.

Kept apart from the rules so both the version's lifecycle and the editing of its
parts build and log them the same way.
"""

from __future__ import annotations

from app.audit_templates.models import GradeLevel, GradingScale, KeyArea, Question, TemplateVersion
from app.audit_templates.schemas import KeyAreaIn, LevelIn, QuestionIn, ScaleIn, TemplateContent


def build_key_area(data: KeyAreaIn, position: int) -> KeyArea:
    return KeyArea(
        position=position,
        title=data.title,
        description=data.description,
        graded=data.graded,
        questions=[build_question(q, i) for i, q in enumerate(data.questions)],
    )


def build_question(data: QuestionIn, position: int) -> Question:
    return Question(
        position=position,
        prompt=data.prompt,
        answer_type=data.type,
        required=data.required,
        guidance=data.guidance,
        options=list(data.options),
    )


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
        overall_grade=version.has_overall_grade,
        evidence_boxes=version.has_evidence_boxes,
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
                questions=[
                    QuestionIn(
                        prompt=q.prompt,
                        type=q.answer_type,
                        required=q.required,
                        guidance=q.guidance,
                        options=q.options,
                    )
                    for q in k.questions
                ],
            )
            for k in version.key_areas
        ],
    )


def version_log(version: TemplateVersion) -> dict:
    return {
        "status": version.status,
        "theme": version.theme,
        "description": version.description,
        "method": version.method,
        "overall_grade": version.has_overall_grade,
        "evidence_boxes": version.has_evidence_boxes,
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
    }
