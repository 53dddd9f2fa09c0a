"""Did the learning land? Publishing a briefing can launch a short single-agency
assurance questionnaire to each agency that took part: the shipped *Learning
assurance questionnaire* template, run by the same audit engine as a new audit whose
one "case" is the briefing ("Briefing 12"). Each agency's auditors get a return due on
the date chosen (reminders included); the subgroup report summarises the answers."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.policy import SYSTEM
from app.audit_templates import files
from app.audit_templates import service as templates
from app.audit_templates.models import TemplateFamily, TemplateStatus, TemplateVersion
from app.audits import cohort, lifecycle
from app.audits import service as audits
from app.audits.models import Audit
from app.briefings.models import Briefing
from app.returns import reading
from app.returns.models import Return, ReturnStatus

SLUG = "learning-assurance-questionnaire"
# The questions the subgroup report quotes, by their place in the template.
SUMMARY_QUESTIONS = ("How did your agency share", "How will your agency know")


def questionnaire_version(session: Session) -> TemplateVersion:
    """The newest published version of the shipped questionnaire, imported and
    published from the library the first time it is needed."""
    found = session.scalar(
        select(TemplateVersion)
        .join(TemplateFamily, TemplateFamily.id == TemplateVersion.family_id)
        .where(TemplateFamily.slug == SLUG, TemplateVersion.status == TemplateStatus.PUBLISHED)
        .order_by(TemplateVersion.number.desc())
        .limit(1)
    )
    if found is not None:
        return found
    path = next(p for p in files.library_files() if p.stem == SLUG)
    draft = files.import_text(session, text=path.read_text(encoding="utf-8"))
    return templates.publish(session, version=draft)


def launch(session: Session, *, briefing: Briefing, due_on: date) -> Audit:
    """Open the questionnaire for every agency that took part in the briefing's audit."""
    source = audits.get_audit(session, audit_id=briefing.audit_id, actor=SYSTEM)
    version = questionnaire_version(session)
    audit = audits.create_audit(
        session,
        template_version_id=version.id,
        title=f"Learning assurance: {briefing.title}"[:200],
        theme=source.theme,
        description=f"How each agency shared the learning from '{briefing.title}', and how "
        "it will know practice has changed.",
        lead_subgroup_id=source.lead_subgroup_id,
        returns_due_on=due_on,
        agency_ids=[a.id for a in source.agencies],
    )
    cohort.add_child(
        session,
        audit=audit,
        pseudonym=f"Briefing {briefing.id}",
        agency_ids=[a.id for a in source.agencies],
    )
    # Opened by the service as the briefing is published: there is no meeting to date,
    # and no one to confirm a warning.
    lifecycle.open_audit(session, audit=audit, confirm=True)
    briefing.assurance_audit_id = audit.id
    session.flush()
    return audit


def summary(session: Session, *, audit_id: int) -> dict:
    """Each agency's answers so far, for the subgroup report."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=SYSTEM)
    version = templates.get_version(session, version_id=audit.template_version_id)
    quoted_questions = [
        q for k in version.key_areas for q in k.questions if q.prompt.startswith(SUMMARY_QUESTIONS)
    ]
    rows = []
    for return_id, status in session.execute(
        select(Return.id, Return.status).where(Return.audit_id == audit_id).order_by(Return.id)
    ):
        detail = reading.detail(session, return_id=return_id, actor=SYSTEM)
        answers = {a["question_id"]: a["value"] for a in detail["answers"]}
        quoted = [(q.prompt, answers.get(q.id, "")) for q in quoted_questions]
        rows.append(
            {
                "agency": detail["agency"]["name"],
                "status": status,
                "answered": status in (ReturnStatus.SUBMITTED, ReturnStatus.MODERATED),
                "answers": quoted,
            }
        )
    return {
        "title": audit.title,
        "due_on": audit.returns_due_on,
        "agencies": rows,
        "answered": sum(r["answered"] for r in rows),
    }
