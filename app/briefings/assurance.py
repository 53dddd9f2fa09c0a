"""Did the learning land? Publishing a briefing can launch a short single-agency
assurance questionnaire to each agency that took part: the shipped *Learning
assurance questionnaire* template, run by the same audit engine as a new audit about
agencies, each agency its own case. Each agency's auditors get a return due on
the date chosen (reminders included); the subgroup report summarises the answers."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.access.policy import SYSTEM, Actor, may_answer_questionnaire, return_scope
from app.audit_templates import files
from app.audit_templates import service as templates
from app.audit_templates.models import TemplateFamily, TemplateStatus, TemplateVersion
from app.auditlog import service as auditlog
from app.audits import lifecycle
from app.audits import service as audits
from app.audits.cohort import lock_audit
from app.audits.models import Audit, AuditStatus
from app.briefings.models import Briefing, BriefingKind, VersionStatus
from app.errors import Conflict, FieldError, InvalidInput, NotFound, StateError
from app.formatting import format_date
from app.notifications import notices
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
    if briefing.audit_id is None:
        raise StateError("An inspection pack asks no assurance questionnaire: it has no audit.")
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


# --- launching it after publication, and reading the answers ---------------------------


def launch_for(session: Session, *, briefing_id: int, due_on: date, today: date) -> Audit:
    """Launch a published briefing's questionnaire (as publishing with a due date does):
    a learning briefing only, once, its answers due after ``today``. Logged on the
    briefing's current version, as publishing logs it."""
    briefing = _briefing(session, briefing_id=briefing_id)
    if briefing.kind != BriefingKind.BRIEFING:
        raise StateError("Only a learning briefing has an assurance questionnaire.")
    current = next(
        (
            v
            for v in reversed(briefing.versions)
            if v.status == VersionStatus.PUBLISHED and v.superseded_at is None
        ),
        None,
    )
    if current is None:
        raise StateError(
            "The briefing is not published: publish it first (publishing can send the "
            "questionnaire too)."
        )
    # One launch at a time: the briefing's row, locked, as committed now.
    session.refresh(briefing, ["assurance_audit_id"], with_for_update=True)
    if briefing.assurance_audit_id is not None:
        raise Conflict("This briefing's assurance questionnaire has already been launched.")
    if due_on <= today:
        raise InvalidInput(
            "The answers must be due in the future.",
            fields=[FieldError("due_on", "Choose a date in the future")],
        )
    launched = launch(session, briefing=briefing, due_on=due_on)
    # As briefings.service.log_step logs each step (which this module cannot import:
    # the service's documents read the questionnaire's answers from here).
    auditlog.record(
        session,
        action="briefing.assurance_launched",
        object_type="briefing_version",
        object_id=current.id,
        after={"briefing_id": briefing.id, "number": current.number, "audit_id": launched.id},
    )
    notices.questionnaire_sent(session, title=briefing.title, questionnaire=launched)
    return launched


def _briefing(session: Session, *, briefing_id: int) -> Briefing:
    briefing = session.scalar(
        select(Briefing)
        .where(Briefing.id == briefing_id)
        .options(selectinload(Briefing.versions), selectinload(Briefing.audit))
    )
    if briefing is None:
        raise NotFound(f"There is no briefing with id {briefing_id}.")
    return briefing


def questionnaire_of(session: Session, *, briefing_id: int) -> Audit:
    """The briefing's questionnaire audit; 404 if it was never launched."""
    briefing = _briefing(session, briefing_id=briefing_id)
    if briefing.assurance_audit_id is None:
        raise NotFound(f"Briefing {briefing_id} has no assurance questionnaire.")
    return audits.get_audit(session, audit_id=briefing.assurance_audit_id, actor=SYSTEM)


def answers(session: Session, *, briefing_id: int) -> dict:
    """The questionnaire as the subgroup report shows it (``summary``), with where it
    stands: open, or closed and why."""
    audit = questionnaire_of(session, briefing_id=briefing_id)
    return {
        **summary(session, audit_id=audit.id),
        "briefing_id": briefing_id,
        "audit_id": audit.id,
        "status": audit.status,
        "closed_at": audit.closed_at,
        "close_reason": audit.close_reason or None,
    }


# --- closing it: every agency answered, or the answers were due -------------------------

log = logging.getLogger(__name__)
# The questionnaire is answered while its audit is open (or, were a moderator to open
# moderation on it, in moderation); it is closed from either.
ANSWERING = (AuditStatus.OPEN, AuditStatus.MODERATION)
ANSWERED = (ReturnStatus.SUBMITTED, ReturnStatus.MODERATED)


def is_questionnaire(session: Session, *, audit_id: int) -> bool:
    """Whether the audit is a briefing's assurance questionnaire."""
    return (
        session.scalar(select(Briefing.id).where(Briefing.assurance_audit_id == audit_id).limit(1))
        is not None
    )


def _tally(session: Session, *, audit_id: int) -> tuple[int, int]:
    """(answered, asked): the agencies' returns submitted, of those not left out."""
    statuses = session.scalars(
        select(Return.status).where(Return.audit_id == audit_id, Return.excluded_at.is_(None))
    ).all()
    return sum(s in ANSWERED for s in statuses), len(statuses)


def close_if_answered(session: Session, *, audit: Audit) -> bool:
    """After a return is submitted: close the audit if it is a questionnaire that every
    agency has now answered. True if it closed. (Called from the returns service for
    every audit: anything else is left as it is.)"""
    if not is_questionnaire(session, audit_id=audit.id):
        return False
    # Under the audit's lock, so that of two agencies answering last at once, the one
    # that takes it second sees the other's answer and closes it.
    status = lock_audit(session, audit)
    if status not in ANSWERING:
        return False
    answered, asked = _tally(session, audit_id=audit.id)
    if not asked or answered < asked:
        return False
    _close(session, audit=audit, status=status, reason=EVERY_AGENCY_ANSWERED)
    return True


EVERY_AGENCY_ANSWERED = "Every agency answered."


def close_overdue(session: Session, *, today: date) -> list[Audit]:
    """Close every questionnaire whose answers were due before ``today`` (the daily
    reminders job runs this first), saying when they were due and how many agencies
    answered. Returns those closed."""
    due = session.scalars(
        select(Audit)
        .join(Briefing, Briefing.assurance_audit_id == Audit.id)
        .where(Audit.status.in_(ANSWERING), Audit.returns_due_on < today)
        .order_by(Audit.id)
    ).all()
    closed = []
    for audit in due:
        status = lock_audit(session, audit)
        if status not in ANSWERING or audit.returns_due_on is None:
            continue  # closed meanwhile (every agency answered); a due date always, as selected
        answered, asked = _tally(session, audit_id=audit.id)
        reason = (
            f"The answers were due on {format_date(audit.returns_due_on)}; "
            f"{answered} of {asked} agencies answered."
        )
        _close(session, audit=audit, status=status, reason=reason)
        closed.append(audit)
    return closed


def _close(session: Session, *, audit: Audit, status: AuditStatus, reason: str) -> None:
    """Close the questionnaire (its audit is locked, in ``status``) as the audits'
    lifecycle closes an audit (``lifecycle.close_audit``, which a questionnaire, never
    moderated, does not reach), logged as it logs it."""
    lifecycle.mark_closed(session, audit=audit, was=status, reason=reason, questionnaire=True)
    log.info("assurance questionnaire %s closed: %s", audit.id, reason)


def return_to_answer(session: Session, *, briefing_id: int, actor: Actor) -> Return:
    """The caller's agency's return in the briefing's questionnaire, if they may answer
    it (its auditors, or its lead: ``may_answer_questionnaire``); otherwise 404, as if
    there were none."""
    briefing = session.get(Briefing, briefing_id)
    found = None
    if briefing is not None and briefing.assurance_audit_id is not None and actor.agency_id:
        found = session.scalar(
            select(Return).where(
                Return.audit_id == briefing.assurance_audit_id,
                Return.agency_id == actor.agency_id,
                return_scope(actor),
            )
        )
    if found is None or not may_answer_questionnaire(actor, found.agency_id):
        raise NotFound(
            f"Your agency has no assurance questionnaire to answer for briefing {briefing_id}."
        )
    return found
