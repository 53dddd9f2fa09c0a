"""Template request/response models; the YAML file format is ``TemplateFile``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, StringConstraints, field_validator, model_validator

from app.audit_templates.models import AnswerType, TemplateStatus
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

    @model_validator(mode="after")
    def _options_fit_type(self) -> QuestionIn:
        if self.type == AnswerType.SINGLE_CHOICE:
            if len(self.options) < 2:
                raise ValueError("a single choice question needs at least two options")
            if len(set(self.options)) != len(self.options):
                raise ValueError("the options must all be different")
        elif self.options:
            raise ValueError("options are only for single choice questions")
        return self


class QuestionPatch(RequestModel):
    prompt: Prompt | None = None
    type: AnswerType | None = None
    required: bool | None = None
    guidance: LongText | None = None
    options: list[Option] | None = Field(default=None, json_schema_extra={"uniqueItems": True})
    position: int | None = Field(default=None, ge=0)

    _not_null = reject_null("prompt", "type", "required", "guidance", "options", "position")


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


class TemplateContent(RequestModel):
    """A template version's whole content: used to create a draft and in files."""

    name: Name
    slug: Slug | None = None
    theme: ShortText = ""
    description: LongText = ""
    method: Method = ""
    overall_grade: bool = True
    evidence_boxes: bool = True
    scale: ScaleIn | None = None
    key_areas: list[KeyAreaIn] = Field(
        default_factory=list,
        max_length=30,
        description="Each key area's title must be different from the others' (in any case).",
    )

    @field_validator("key_areas")
    @classmethod
    def _unique_titles(cls, key_areas: list[KeyAreaIn]) -> list[KeyAreaIn]:
        titles = [k.title.casefold() for k in key_areas]
        if len(set(titles)) != len(titles):
            raise ValueError("each key area needs a different title")
        return key_areas


class TemplateFile(TemplateContent):
    format: Literal["case-audit-template/1"]
    key_areas: list[KeyAreaIn] = Field(min_length=1, max_length=30)


class VersionPatch(RequestModel):
    theme: ShortText | None = None
    description: LongText | None = None
    method: Method | None = None
    overall_grade: bool | None = None
    evidence_boxes: bool | None = None

    _not_null = reject_null("theme", "description", "method", "overall_grade", "evidence_boxes")


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


class QuestionOut(ResponseModel):
    id: int
    position: int
    prompt: str
    type: AnswerType = Field(validation_alias="answer_type")
    required: bool
    guidance: str
    options: list[str]


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
    overall_grade: bool = Field(validation_alias="has_overall_grade")
    evidence_boxes: bool = Field(validation_alias="has_evidence_boxes")
    created_at: datetime
    published_at: datetime | None
    retired_at: datetime | None
    scale: ScaleOut | None
    key_areas: list[KeyAreaOut]


class TemplateFamilyOut(ResponseModel):
    id: int
    name: str
    slug: str
    created_at: datetime
    versions: list[VersionSummary]
