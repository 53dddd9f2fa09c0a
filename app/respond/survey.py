"""Asking the families of an audit's children: a family survey is an audit of its own
on a survey template about children, linked to the audit it asks about
(``Audit.survey_of_audit_id``), with that audit's children under the same pseudonyms and
age bands. One agency carries it (its auditors may also fill a survey in by telephone);
each family answers by a one-time link (app/respond/service.py). Its answers appear
beside the linked audit's grades (app/respond/family.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit_templates.models import (
    AuditSubject,
    TemplateFamily,
    TemplateStatus,
    TemplateVersion,
)
from app.auditlog import service as auditlog
from app.audits import cohort, lifecycle
from app.audits import service as audits
from app.audits.models import Audit, AuditStatus, Child
from app.errors import FieldError, InvalidInput, StateError

SHIPPED_SURVEY = "family-feedback-survey"


@dataclass(frozen=True)
class SurveyTemplate:
    """A published template about children that a family survey may use."""

    version_id: int
    name: str
    number: int
    slug: str

    @property
    def label(self) -> str:
        return f"{self.name} (version {self.number})"


def survey_templates(session: Session) -> list[SurveyTemplate]:
    """The newest published version of each template about children, by name: what a
    family survey may use."""
    rows = session.execute(
        select(
            TemplateVersion.id,
            TemplateVersion.family_id,
            TemplateVersion.number,
            TemplateFamily.name,
            TemplateFamily.slug,
        )
        .join(TemplateFamily, TemplateFamily.id == TemplateVersion.family_id)
        .where(
            TemplateVersion.status == TemplateStatus.PUBLISHED,
            TemplateVersion.subject == AuditSubject.CHILD,
        )
        .order_by(TemplateFamily.name, TemplateVersion.number.desc())
    ).all()
    newest: dict[int, SurveyTemplate] = {}
    for row in rows:
        newest.setdefault(row.family_id, SurveyTemplate(row.id, row.name, row.number, row.slug))
    return list(newest.values())


def preselected(found: list[SurveyTemplate]) -> int | None:
    """The shipped family feedback survey's version among ``found``, if it is there."""
    return next((t.version_id for t in found if t.slug == SHIPPED_SURVEY), None)


def cohort_size(session: Session, *, audit: Audit) -> int:
    return session.scalar(select(func.count(Child.id)).where(Child.audit_id == audit.id)) or 0


def may_survey(audit: Audit) -> None:
    """Refuse an audit whose families cannot be surveyed: one about agencies, a survey
    itself, or one still being planned (its cohort may change)."""
    if audit.about_agencies:
        raise StateError("This audit is about agencies: it has no children's families to ask.")
    if audit.survey_of_audit_id is not None:
        raise StateError("This audit is a family survey itself.")
    if audit.status == AuditStatus.PLANNED:
        raise StateError(
            "Open the audit first: its cohort can still change while it is being planned."
        )


def create_survey(
    session: Session,
    *,
    audit: Audit,
    template_version_id: int,
    agency_id: int,
    returns_due_on: date,
    today: date,
) -> Audit:
    """Plan, fill and open a family survey of ``audit``'s children: a new audit on the
    chosen template (published, about children), carried by one of the audit's
    agencies, each child added under the same pseudonym and age band with that agency
    involved, then opened (its warnings, such as no moderation meeting, confirmed).
    Each step is logged as planning an audit by hand is; the link to the audit too."""
    may_survey(audit)
    version = session.get(TemplateVersion, template_version_id)
    problems = []
    if (
        version is None
        or version.status != TemplateStatus.PUBLISHED
        or version.subject != AuditSubject.CHILD
    ):
        problems.append(
            FieldError("template_version_id", "Choose a published survey about children")
        )
    if agency_id not in {a.id for a in audit.agencies}:
        problems.append(FieldError("agency_id", "Choose one of the agencies in this audit"))
    if returns_due_on <= today:
        problems.append(FieldError("returns_due_on", "The answers must be due in the future"))
    children = list(
        session.scalars(select(Child).where(Child.audit_id == audit.id).order_by(Child.pseudonym))
    )
    if not children:
        problems.append(FieldError("audit", "This audit has no children in its cohort"))
    if problems:
        raise InvalidInput("The family survey cannot be made.", fields=problems)
    survey = audits.create_audit(
        session,
        template_version_id=template_version_id,
        title=f"Family survey: {audit.title}"[:200],
        theme=audit.theme,
        description=f"The families of the children in '{audit.title}' on the help they were given.",
        lead_subgroup_id=audit.lead_subgroup_id,
        returns_due_on=returns_due_on,
        agency_ids=[agency_id],
    )
    survey.survey_of_audit_id = audit.id
    session.flush()
    auditlog.record(
        session,
        action="audit.survey_of",
        object_type="audit",
        object_id=survey.id,
        after={"survey_of_audit_id": audit.id},
    )
    for child in children:
        cohort.add_child(
            session,
            audit=survey,
            pseudonym=child.pseudonym,
            age_band=child.age_band,
            agency_ids=[agency_id],
        )
    lifecycle.open_audit(session, audit=survey, confirm=True)
    return survey
