"""Briefings from draft to publication: create (sections drafted from the audit), edit,
the identification check, submit, send back, approve, publish (which only queues the
version: it is rendered once, in a worker process, never in a web request), withdraw,
and start the next version.

Every step is in the audit log. Versions are never changed once submitted: editing is
for drafts, under an optimistic lock.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import clock
from app.access.models import User
from app.access.policy import Actor
from app.actions.models import LearningAction
from app.audits.models import Audit, AuditStatus, Child
from app.briefings import drafting
from app.identify import check as identify
from app.briefings.models import (
    Briefing,
    BriefingKind,
    BriefingVersion,
    Marking,
    RenderStatus,
    VersionStatus,
)
from app.briefings.service import (
    SUBGROUP_SECTIONS,
    document_context,
    get_version,
    log_step,
    require_status,
    section_headings,
)
from app.clock import utcnow
from app.config import Settings
from app.db import rows_matched
from app.errors import Conflict, FieldError, InvalidInput, StateError
from app.returns.models import Return

MODERATED = (AuditStatus.LEARNING, AuditStatus.CLOSED)
OPEN_STEPS = (VersionStatus.DRAFT, VersionStatus.SUBMITTED, VersionStatus.APPROVED)


# --- creating and editing ----------------------------------------------------------------


def create(
    session: Session,
    *,
    audit: Audit,
    kind: BriefingKind,
    title: str,
    marking: Marking,
    public: bool,
) -> BriefingVersion:
    """A new briefing whose version 1 is a draft, its sections drafted from the audit."""
    if audit.status not in MODERATED:
        raise StateError(
            "A briefing is drafted from a moderated audit; this one is "
            f"{audit.status.value}. Finish moderation first."
        )
    sections = (
        drafting.draft_sections(session, audit=audit)
        if kind == BriefingKind.BRIEFING
        else {key: "" for key in SUBGROUP_SECTIONS}
    )
    briefing = Briefing(audit_id=audit.id, kind=kind, title=title, public=public)
    version = BriefingVersion(number=1, marking=marking, sections=sections)
    briefing.versions = [version]
    session.add(briefing)
    session.flush()
    log_step(session, "briefing.create", version, title=title, kind=kind.value, public=public)
    return get_version(session, version_id=version.id)


def save(
    session: Session,
    *,
    version: BriefingVersion,
    sections: dict[str, str],
    marking: Marking,
    read_lock: int,
) -> BriefingVersion:
    """Save the editor's sections (a draft only), refusing a stale page."""
    require_status(session, version, VersionStatus.DRAFT)
    known = section_headings(version.briefing.kind)
    unknown = set(sections) - set(known)
    if unknown:
        raise InvalidInput(
            "Unknown sections.", fields=[FieldError(k, "Not a section of it") for k in unknown]
        )
    too_long = [k for k, text in sections.items() if len(text) > 20_000]
    if too_long:
        raise InvalidInput(
            "A section is too long.",
            fields=[FieldError(k, "Keep each section under 20,000 characters") for k in too_long],
        )
    result = session.execute(
        update(BriefingVersion)
        .where(BriefingVersion.id == version.id, BriefingVersion.lock_version == read_lock)
        .values(
            sections={**version.sections, **sections},
            marking=marking,
            lock_version=read_lock + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if rows_matched(result) != 1:
        raise Conflict(
            "Someone else saved this briefing while you had it open. Nothing was saved: "
            "reload it to see their changes, then make yours again."
        )
    session.expire(version)
    log_step(session, "briefing.edit", version, sections=sorted(sections))
    return get_version(session, version_id=version.id)


# --- the identification check ---------------------------------------------------------


def _names(session: Session, audit: Audit, *, action_owners: bool = True) -> list[str]:
    """People's names in the audit's records: auditors, action owners, accounts. A
    subgroup report names each action's owner on purpose (it holds them to account),
    so for it the owners are left out."""
    names = set(
        session.scalars(
            select(Return.auditor_name).where(
                Return.audit_id == audit.id, Return.auditor_name.is_not(None)
            )
        )
    )
    if action_owners:
        names |= set(
            session.scalars(
                select(LearningAction.owner_name).where(LearningAction.audit_id == audit.id)
            )
        )
    names |= set(session.scalars(select(User.display_name)))
    return sorted(n for n in names if n)


def check(
    session: Session,
    *,
    version: BriefingVersion,
    settings: Settings,
    html: str | None = None,
    context: dict | None = None,
) -> identify.Report:
    """Scan the whole document: its title, each editable section by its heading, then
    everything drafted around them (tables, charts, lists) as it will be printed, or as
    ``html`` was printed (the worker checks the very HTML it renders)."""
    from app.briefings import render

    audit = version.briefing.audit
    headings = section_headings(version.briefing.kind)
    sections = [("Title", version.briefing.title)]
    sections += [(headings.get(k, k), text) for k, text in version.sections.items() if text]
    if context is None:
        context = document_context(session, version=version, settings=settings)
    if html is None:
        html = render.html_for(version.briefing.kind.value, context)
    sections.append(("the document as printed", _text_of(html)))
    pseudonyms = list(session.scalars(select(Child.pseudonym).where(Child.audit_id == audit.id)))
    return identify.check(
        sections,
        pseudonyms=pseudonyms,
        names=_names(session, audit, action_owners=version.briefing.kind == BriefingKind.BRIEFING),
        counts=context.get("counts", []),
        small_count_threshold=settings.small_count_threshold,
    )


def _text_of(html: str) -> str:
    import re
    from html import unescape

    text = re.sub(r"(?is)<(style|script|title)[^>]*>.*?</\1>", " ", html)
    text = re.sub(r"(?i)<br\s*/?>|</(p|li|tr|h[1-6]|div|td|th)>", "\n", text)
    return unescape(re.sub(r"<[^>]+>", " ", text))


def _problems_as_fields(problems: list[identify.Problem]) -> list[FieldError]:
    return [FieldError("document", f"{p.message} ({p.where}: {p.excerpt})") for p in problems]


def _checked(
    session: Session,
    *,
    version: BriefingVersion,
    settings: Settings,
    actor: Actor,
    confirm_small_counts: bool,
) -> identify.Report:
    report = check(session, version=version, settings=settings)
    version.check_report = [
        {
            "kind": p.kind,
            "where": p.where,
            "excerpt": p.excerpt,
            "message": p.message,
            "blocking": p.blocking,
        }
        for p in report.problems
    ]
    if report.refusals:
        session.flush()
        raise InvalidInput(
            f"The briefing could identify a child: {len(report.refusals)} problem(s) to fix "
            "before it can go further.",
            fields=_problems_as_fields(report.refusals),
        )
    if report.warnings and not confirm_small_counts:
        raise InvalidInput(
            "Some figures are small enough to identify someone. Check them, then confirm.",
            fields=[
                FieldError("confirm_small_counts", f"{p.message} ({p.where})")
                for p in report.warnings
            ],
        )
    if report.warnings:
        version.small_counts_confirmed_by = actor.label
    return report


# --- the steps -------------------------------------------------------------------------


def submit(
    session: Session,
    *,
    version: BriefingVersion,
    actor: Actor,
    settings: Settings,
    confirm_small_counts: bool = False,
) -> BriefingVersion:
    """Ask for approval. Refused while the check finds anything that identifies a child;
    small counts need ``confirm_small_counts``."""
    require_status(session, version, VersionStatus.DRAFT)
    _checked(
        session,
        version=version,
        settings=settings,
        actor=actor,
        confirm_small_counts=confirm_small_counts,
    )
    version.status = VersionStatus.SUBMITTED
    version.submitted_at = utcnow()
    session.flush()
    log_step(session, "briefing.submit", version, warnings_confirmed=confirm_small_counts)
    return version


def send_back(session: Session, *, version: BriefingVersion, note: str) -> BriefingVersion:
    require_status(session, version, VersionStatus.SUBMITTED, VersionStatus.APPROVED)
    if version.render_status in (RenderStatus.QUEUED, RenderStatus.RENDERING):
        # What is being printed is what was approved; it cannot change underneath.
        raise StateError("This version is being published and can no longer be sent back.")
    version.status = VersionStatus.DRAFT
    version.lock_version += 1
    session.flush()
    log_step(session, "briefing.send_back", version, note=note)
    return version


def approve(
    session: Session,
    *,
    version: BriefingVersion,
    actor: Actor,
    settings: Settings,
    confirm_small_counts: bool = False,
) -> BriefingVersion:
    """A moderator or the QAPP chair approves it; the check runs again first."""
    require_status(session, version, VersionStatus.SUBMITTED)
    _checked(
        session,
        version=version,
        settings=settings,
        actor=actor,
        confirm_small_counts=confirm_small_counts or bool(version.small_counts_confirmed_by),
    )
    version.status = VersionStatus.APPROVED
    version.approved_at = utcnow()
    version.approved_by = actor.label
    session.flush()
    log_step(session, "briefing.approve", version)
    return version


def publish(
    session: Session,
    *,
    version: BriefingVersion,
    assurance_due_on: date | None = None,
    today: date | None = None,
) -> BriefingVersion:
    """Queue the approved version for rendering; it is published when its PDF is made
    (``finish_render``), by a worker process, never inside this request. With
    ``assurance_due_on``, publishing also launches the assurance questionnaire."""
    require_status(session, version, VersionStatus.APPROVED)
    if version.render_status in (RenderStatus.QUEUED, RenderStatus.RENDERING):
        return version
    if assurance_due_on is not None:
        if version.briefing.assurance_audit_id is not None:
            raise Conflict("This briefing's assurance questionnaire has already been launched.")
        if assurance_due_on <= (today or clock.today()):
            raise InvalidInput(
                "The answers must be due in the future.",
                fields=[FieldError("assurance_due_on", "Choose a date in the future")],
            )
    version.assurance_due_on = assurance_due_on
    version.render_status = RenderStatus.QUEUED
    version.render_error = None
    session.flush()
    log_step(session, "briefing.publish_requested", version)
    return version


def withdraw(session: Session, *, version: BriefingVersion, reason: str) -> BriefingVersion:
    require_status(session, version, VersionStatus.PUBLISHED)
    reason = reason.strip()
    if not reason:
        raise InvalidInput(
            "Say why it is withdrawn.",
            fields=[FieldError("reason", "Give the reason for withdrawing the briefing")],
        )
    version.status = VersionStatus.WITHDRAWN
    version.withdrawn_at = utcnow()
    version.withdrawn_reason = reason
    session.flush()
    log_step(session, "briefing.withdraw", version, reason=reason)
    return version


def new_version(session: Session, *, version: BriefingVersion) -> BriefingVersion:
    """Start the next version as a draft copied from this one."""
    briefing = version.briefing
    busy = [v for v in briefing.versions if v.status in OPEN_STEPS]
    if busy:
        raise Conflict(
            f"Version {busy[0].number} is still {busy[0].status.value}: finish or change that "
            "one instead of starting another."
        )
    number = max(v.number for v in briefing.versions) + 1
    draft = BriefingVersion(
        briefing_id=briefing.id,
        number=number,
        marking=version.marking,
        sections=dict(version.sections),
    )
    session.add(draft)
    session.flush()
    log_step(session, "briefing.new_version", draft, from_version=version.number)
    return get_version(session, version_id=draft.id)
