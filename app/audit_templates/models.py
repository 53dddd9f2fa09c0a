"""Audit templates: a family has numbered versions; a published version is frozen.

Audits pin a version by id, so a template can move on (a new draft, then a new
published version) while every audit keeps the questions it started with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import utcnow
from app.db import Base, UTCDateTime, str_enum


class TemplateStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class AnswerType(StrEnum):
    FREE_TEXT = "free_text"
    YES_NO = "yes_no"
    YES_PARTLY_NO = "yes_partly_no"
    SINGLE_CHOICE = "single_choice"
    DATE = "date"
    INTEGER = "integer"  # a whole number
    NUMBER = "number"  # a decimal number


# The answer types whose answers are one of a few values: these may offer "not
# applicable", and a condition may depend on them.
CHOICE_TYPES = frozenset({AnswerType.YES_NO, AnswerType.YES_PARTLY_NO, AnswerType.SINGLE_CHOICE})
NUMBER_TYPES = frozenset({AnswerType.INTEGER, AnswerType.NUMBER})
# How a "not applicable" answer is stored, whatever the template calls it.
NOT_APPLICABLE = "not_applicable"


class AuditSubject(StrEnum):
    """What an audit on the template looks at, one return per agency for each: a child
    (a case audit, known by a pseudonym), or an agency itself (a Section 11 or section
    175 self-assessment, the learning assurance questionnaire)."""

    CHILD = "child"
    AGENCY = "agency"


@dataclass(frozen=True)
class SubjectWords:
    """How pages name an audit's subjects: "child", "children" or "agency", "agencies"."""

    one: str
    many: str


SUBJECT_WORDS = {
    AuditSubject.CHILD: SubjectWords("child", "children"),
    AuditSubject.AGENCY: SubjectWords("agency", "agencies"),
}


class SectionKind(StrEnum):
    KEY_AREA = "key_area"
    # The questions about the whole case, answered once per return beside the overall
    # grade: kept as a key area of this kind so answers refer to questions as any
    # other answer does, but never listed among the key areas.
    CASE = "case"


@dataclass(frozen=True)
class EvidenceBox:
    """One of a key area's boxes of evidence, as the template declares it."""

    box: str  # went_well, could_be_better or impact_on_child: where it is kept
    label: str
    required: bool = False


# The three boxes every key area had before templates could say otherwise, in order:
# a template that says nothing about its boxes has these, none required.
DEFAULT_BOXES = (
    EvidenceBox("went_well", "What went well"),
    EvidenceBox("could_be_better", "What could have been better"),
    EvidenceBox("impact_on_child", "The impact on the child"),
)
BOX_NAMES = tuple(b.box for b in DEFAULT_BOXES)


class TemplateFamily(Base):
    __tablename__ = "template_family"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list[TemplateVersion]] = relationship(
        back_populates="family", lazy="raise", order_by="TemplateVersion.number"
    )


class TemplateVersion(Base):
    __tablename__ = "template_version"
    __table_args__ = (UniqueConstraint("family_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("template_family.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[TemplateStatus] = mapped_column(
        str_enum(TemplateStatus, "template_status"), default=TemplateStatus.DRAFT
    )
    theme: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    method: Mapped[str] = mapped_column(String(100), default="")
    subject: Mapped[AuditSubject] = mapped_column(
        str_enum(AuditSubject, "audit_subject"),
        default=AuditSubject.CHILD,
        server_default=AuditSubject.CHILD.value,
    )
    has_overall_grade: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Each key area's three boxes of evidence (what went well, what could have been
    # better, the impact on the child); a questionnaire leaves them out.
    has_evidence_boxes: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Which boxes, their wording and whether each must be filled in: None for the
    # default three (DEFAULT_BOXES), else a list of {box, label, required}.
    evidence_box_spec: Mapped[list[dict] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    family: Mapped[TemplateFamily] = relationship(back_populates="versions", lazy="raise")
    key_areas: Mapped[list[KeyArea]] = relationship(
        back_populates="template_version",
        lazy="raise",
        order_by="KeyArea.position",
        cascade="all, delete-orphan",
        primaryjoin=lambda: and_(
            TemplateVersion.id == KeyArea.template_version_id,
            KeyArea.kind == SectionKind.KEY_AREA,
        ),
    )
    # The questions about the whole case, if the template has any.
    case_section: Mapped[KeyArea | None] = relationship(
        lazy="raise",
        cascade="all, delete-orphan",
        primaryjoin=lambda: and_(
            TemplateVersion.id == KeyArea.template_version_id, KeyArea.kind == SectionKind.CASE
        ),
        overlaps="key_areas,template_version",
    )
    scale: Mapped[GradingScale | None] = relationship(
        back_populates="template_version", lazy="raise", cascade="all, delete-orphan"
    )

    @property
    def name(self) -> str:
        return self.family.name

    @property
    def slug(self) -> str:
        return self.family.slug

    @property
    def label(self) -> str:
        return f"{self.family.name} (version {self.number})"

    @property
    def case_questions(self) -> list[Question]:
        return self.case_section.questions if self.case_section else []

    @property
    def evidence_box_list(self) -> list[EvidenceBox]:
        """The boxes of evidence each key area has, in order (none: no boxes)."""
        if not self.has_evidence_boxes:
            return []
        if self.evidence_box_spec is None:
            return list(DEFAULT_BOXES)
        return [EvidenceBox(**box) for box in self.evidence_box_spec]

    @property
    def grade_levels(self) -> list[GradeLevel]:
        """The scale's levels, best first; none if the template has no scale."""
        return self.scale.levels if self.scale else []


class GradingScale(Base):
    __tablename__ = "grading_scale"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_version_id: Mapped[int] = mapped_column(
        ForeignKey("template_version.id", ondelete="CASCADE"), unique=True
    )
    name: Mapped[str] = mapped_column(String(200))

    template_version: Mapped[TemplateVersion] = relationship(back_populates="scale", lazy="raise")
    levels: Mapped[list[GradeLevel]] = relationship(
        back_populates="scale",
        lazy="raise",
        order_by="GradeLevel.position",
        cascade="all, delete-orphan",
    )


class GradeLevel(Base):
    """One step of a scale; position 0 is the best grade."""

    __tablename__ = "grade_level"
    __table_args__ = (UniqueConstraint("scale_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scale_id: Mapped[int] = mapped_column(ForeignKey("grading_scale.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(8))
    label: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")

    scale: Mapped[GradingScale] = relationship(back_populates="levels", lazy="raise")


class KeyArea(Base):
    __tablename__ = "key_area"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_version_id: Mapped[int] = mapped_column(
        ForeignKey("template_version.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    graded: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    kind: Mapped[SectionKind] = mapped_column(
        str_enum(SectionKind, "section_kind"),
        default=SectionKind.KEY_AREA,
        server_default=SectionKind.KEY_AREA.value,
    )

    template_version: Mapped[TemplateVersion] = relationship(
        back_populates="key_areas", lazy="raise"
    )
    questions: Mapped[list[Question]] = relationship(
        back_populates="key_area",
        lazy="raise",
        order_by="Question.position",
        cascade="all, delete-orphan",
    )


class Question(Base):
    __tablename__ = "question"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_area_id: Mapped[int] = mapped_column(
        ForeignKey("key_area.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    prompt: Mapped[str] = mapped_column(Text)
    answer_type: Mapped[AnswerType] = mapped_column(str_enum(AnswerType, "answer_type"))
    required: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    guidance: Mapped[str] = mapped_column(Text, default="")
    # Only for single choice: the option labels, in order. Stored with the question
    # because a published version never changes, so they never need their own rows.
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A name for the question that other questions' conditions use; unique in the
    # version. None: nothing refers to it.
    key: Mapped[str | None] = mapped_column(String(60))
    # For yes/no, yes/partly/no and single choice: the label of a "not applicable"
    # answer (stored as NOT_APPLICABLE); None: not offered.
    not_applicable: Mapped[str | None] = mapped_column(String(100))
    # Asked (shown, and required if required) only when another question's answer is
    # one of some values: {"question": its key, "answers": [stored values]}.
    condition: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    # For numbers: the smallest and largest answer allowed, as canonical text.
    minimum: Mapped[str | None] = mapped_column(String(40))
    maximum: Mapped[str | None] = mapped_column(String(40))
    # For dates: not after today; not outside the audit's period.
    not_in_future: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    within_audit_period: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )

    key_area: Mapped[KeyArea] = relationship(back_populates="questions", lazy="raise")
