"""Briefings from draft to library: create (sections drafted from the audit), edit,
the identification check, submit, approve, publish (rendered once, in a worker
process, never in a web request), supersede, withdraw, download.

Every step is in the audit log. A published PDF is never re-rendered: downloads serve
the stored bytes, whose SHA-256 was taken when they were made.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from app import clock
from app.access.models import User
from app.access.policy import SYSTEM, Actor
from app.actions.models import LearningAction
from app.auditlog import service as auditlog
from app.audits.models import Audit, AuditStatus, Child
from app.briefings import assurance, content, identify
from app.briefings.models import (
    Briefing,
    BriefingDocument,
    BriefingDownload,
    BriefingKind,
    BriefingVersion,
    Marking,
    RenderStatus,
    VersionStatus,
)
from app.clock import utcnow
from app.config import Settings
from app.errors import Conflict, FieldError, InvalidInput, NotFound, StateError
from app.returns.models import Return

MODERATED = (AuditStatus.LEARNING, AuditStatus.CLOSED)
OPEN_STEPS = (VersionStatus.DRAFT, VersionStatus.SUBMITTED, VersionStatus.APPROVED)
SUBGROUP_SECTIONS = {"commentary": "Commentary for the subgroup"}


def _log(session: Session, action: str, version: BriefingVersion, **after) -> None:
    auditlog.record(
        session,
        action=action,
        object_type="briefing_version",
        object_id=version.id,
        after={"briefing_id": version.briefing_id, "number": version.number, **after},
    )


def get_version(session: Session, *, version_id: int) -> BriefingVersion:
    version = session.scalar(
        select(BriefingVersion)
        .where(BriefingVersion.id == version_id)
        .options(
            selectinload(BriefingVersion.briefing).selectinload(Briefing.audit),
            selectinload(BriefingVersion.briefing).selectinload(Briefing.versions),
        )
    )
    if version is None:
        raise NotFound(f"There is no briefing version with id {version_id}.")
    return version


LOCKED_COLUMNS = ["status", "render_status", "lock_version", "assurance_due_on", "sections"]


def _lock(session: Session, version: BriefingVersion) -> VersionStatus:
    """Re-read the whole version as committed now, under a row lock (steps run one at a
    time), and return its status."""
    session.refresh(version, LOCKED_COLUMNS, with_for_update=True)
    return version.status


def _require(session: Session, version: BriefingVersion, *allowed: VersionStatus) -> None:
    status = _lock(session, version)
    if status not in allowed:
        wanted = " or ".join(s.value for s in allowed)
        raise StateError(
            f"This is {version.label}, {status.value}; this can only be done when it is {wanted}."
        )


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
        content.draft_sections(session, audit=audit)
        if kind == BriefingKind.BRIEFING
        else {key: "" for key in SUBGROUP_SECTIONS}
    )
    briefing = Briefing(audit_id=audit.id, kind=kind, title=title, public=public)
    version = BriefingVersion(number=1, marking=marking, sections=sections)
    briefing.versions = [version]
    session.add(briefing)
    session.flush()
    _log(session, "briefing.create", version, title=title, kind=kind.value, public=public)
    return get_version(session, version_id=version.id)


def section_headings(kind: BriefingKind) -> dict[str, str]:
    if kind == BriefingKind.BRIEFING:
        return {key: heading for key, heading in content.SECTIONS}
    return dict(SUBGROUP_SECTIONS)


def save(
    session: Session,
    *,
    version: BriefingVersion,
    sections: dict[str, str],
    marking: Marking,
    read_lock: int,
) -> BriefingVersion:
    """Save the editor's sections (a draft only), refusing a stale page."""
    _require(session, version, VersionStatus.DRAFT)
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
    if result.rowcount != 1:
        raise Conflict(
            "Someone else saved this briefing while you had it open. Nothing was saved: "
            "reload it to see their changes, then make yours again."
        )
    session.expire(version)
    _log(session, "briefing.edit", version, sections=sorted(sections))
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
    _require(session, version, VersionStatus.DRAFT)
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
    _log(session, "briefing.submit", version, warnings_confirmed=confirm_small_counts)
    return version


def send_back(session: Session, *, version: BriefingVersion, note: str) -> BriefingVersion:
    _require(session, version, VersionStatus.SUBMITTED, VersionStatus.APPROVED)
    if version.render_status in (RenderStatus.QUEUED, RenderStatus.RENDERING):
        # What is being printed is what was approved; it cannot change underneath.
        raise StateError("This version is being published and can no longer be sent back.")
    version.status = VersionStatus.DRAFT
    version.lock_version += 1
    session.flush()
    _log(session, "briefing.send_back", version, note=note)
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
    _require(session, version, VersionStatus.SUBMITTED)
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
    _log(session, "briefing.approve", version)
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
    _require(session, version, VersionStatus.APPROVED)
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
    _log(session, "briefing.publish_requested", version)
    return version


def start_render(session: Session, *, version_id: int) -> bool:
    """Claim a queued version for rendering; False if someone else claimed it first."""
    claimed = session.execute(
        update(BriefingVersion)
        .where(
            BriefingVersion.id == version_id,
            BriefingVersion.render_status == RenderStatus.QUEUED,
        )
        .values(render_status=RenderStatus.RENDERING, render_claimed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return claimed.rowcount == 1


def requeue_abandoned(session: Session, *, older_than: timedelta) -> int:
    """Queue again every version whose render was claimed longer ago than any render
    takes: the process rendering it stopped (a restart, a crash). Returns how many."""
    stale = session.execute(
        update(BriefingVersion)
        .where(
            BriefingVersion.render_status == RenderStatus.RENDERING,
            BriefingVersion.render_claimed_at < utcnow() - older_than,
        )
        .values(render_status=RenderStatus.QUEUED)
        .execution_options(synchronize_session=False)
    )
    return stale.rowcount


def finish_render(
    session: Session, *, version_id: int, pdf: bytes, today: date
) -> BriefingDocument:
    """Store the PDF and publish the version; an earlier published version of the same
    briefing is superseded (and stays downloadable)."""
    version = get_version(session, version_id=version_id)
    _require(session, version, VersionStatus.APPROVED)
    if version.render_status != RenderStatus.RENDERING:
        raise StateError(f"{version.label} is not being rendered; nothing was published.")
    digest = hashlib.sha256(pdf).hexdigest()
    document = BriefingDocument(version_id=version.id, pdf=pdf, sha256=digest, size=len(pdf))
    session.add(document)
    now = utcnow()
    for earlier in version.briefing.versions:
        if earlier.status == VersionStatus.PUBLISHED and earlier.superseded_at is None:
            earlier.superseded_at = now
            _log(session, "briefing.supersede", earlier, by_version=version.number)
    version.status = VersionStatus.PUBLISHED
    version.published_at = now
    version.published_on = today
    version.render_status = RenderStatus.DONE
    session.flush()
    _log(session, "briefing.publish", version, sha256=digest, bytes=len(pdf))
    briefing = version.briefing
    if version.assurance_due_on is not None and briefing.assurance_audit_id is None:
        launched = assurance.launch(session, briefing=briefing, due_on=version.assurance_due_on)
        _log(session, "briefing.assurance_launched", version, audit_id=launched.id)
    return document


def fail_render(session: Session, *, version_id: int, error: str) -> None:
    version = get_version(session, version_id=version_id)
    _lock(session, version)
    if version.render_status != RenderStatus.RENDERING:
        return  # someone else finished it: a published version is never marked failed
    version.render_status = RenderStatus.FAILED
    version.render_error = error[:2000]
    session.flush()
    _log(session, "briefing.render_failed", version, error=error[:500])


def withdraw(session: Session, *, version: BriefingVersion, reason: str) -> BriefingVersion:
    _require(session, version, VersionStatus.PUBLISHED)
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
    _log(session, "briefing.withdraw", version, reason=reason)
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
    _log(session, "briefing.new_version", draft, from_version=version.number)
    return get_version(session, version_id=draft.id)


# --- the document ------------------------------------------------------------------------


def document_context(
    session: Session, *, version: BriefingVersion, settings: Settings, dated: date | None = None
) -> dict:
    """What the templates need to print this version."""
    briefing = version.briefing
    dated = dated or version.published_on or clock.today()
    label = f"Version {version.number}"
    if briefing.kind == BriefingKind.BRIEFING:
        return content.briefing_context(
            session,
            audit=briefing.audit,
            sections=version.sections,
            title=briefing.title,
            marking=version.marking.value,
            version_label=label,
            dated=dated,
            settings=settings,
        )
    return content.subgroup_report_context(
        session,
        audits=[briefing.audit],
        subgroup_name=None,
        marking=version.marking.value,
        version_label=label,
        dated=dated,
        today=dated,
        settings=settings,
    )


# --- the library -------------------------------------------------------------------------


def library(
    session: Session,
    *,
    signed_in: bool,
    q: str = "",
    theme: str = "",
    subgroup_id: int | None = None,
    audit_id: int | None = None,
    published_from: date | None = None,
    published_to: date | None = None,
) -> list[tuple[Briefing, BriefingVersion]]:
    """Published briefings, each with its current version (newest first); anyone not
    signed in sees only the public ones."""
    current = (
        select(BriefingVersion)
        .join(Briefing, Briefing.id == BriefingVersion.briefing_id)
        .join(Audit, Audit.id == Briefing.audit_id)
        .where(
            BriefingVersion.status == VersionStatus.PUBLISHED,
            BriefingVersion.superseded_at.is_(None),
        )
        .options(selectinload(BriefingVersion.briefing).selectinload(Briefing.audit))
        .order_by(BriefingVersion.published_at.desc())
    )
    if not signed_in:
        current = current.where(Briefing.public)
    if q:
        like = f"%{q.lower()}%"
        current = current.where(
            or_(func.lower(Briefing.title).like(like), func.lower(Audit.title).like(like))
        )
    if theme:
        current = current.where(Audit.theme == theme)
    if subgroup_id:
        current = current.where(Audit.lead_subgroup_id == subgroup_id)
    if audit_id:
        current = current.where(Audit.id == audit_id)
    if published_from:
        current = current.where(BriefingVersion.published_on >= published_from)
    if published_to:
        current = current.where(BriefingVersion.published_on <= published_to)
    return [(v.briefing, v) for v in session.scalars(current)]


def library_entry(session: Session, *, briefing_id: int, signed_in: bool) -> Briefing:
    briefing = session.scalar(
        select(Briefing)
        .where(Briefing.id == briefing_id)
        .options(selectinload(Briefing.versions), selectinload(Briefing.audit))
    )
    visible = briefing is not None and any(
        v.status in (VersionStatus.PUBLISHED, VersionStatus.WITHDRAWN) for v in briefing.versions
    )
    if not visible or (not signed_in and not briefing.public):
        raise NotFound(f"There is no published briefing with id {briefing_id}.")
    return briefing


def download(
    session: Session, *, version_id: int, actor: Actor
) -> tuple[BriefingVersion, BriefingDocument]:
    """The stored PDF of a published (or superseded) version, counting the download.
    A withdrawn version is not served."""
    version = get_version(session, version_id=version_id)
    signed_in = actor.user_id is not None or actor is SYSTEM
    withdrawn_later = any(
        v.number > version.number and v.status == VersionStatus.WITHDRAWN
        for v in version.briefing.versions
    )
    if (
        version.status != VersionStatus.PUBLISHED
        or withdrawn_later
        or (not signed_in and not version.briefing.public)
    ):
        raise NotFound(f"There is no published briefing version with id {version_id}.")
    document = session.scalar(
        select(BriefingDocument).where(BriefingDocument.version_id == version.id)
    )
    session.add(
        BriefingDownload(
            briefing_id=version.briefing_id,
            version_id=version.id,
            agency_id=actor.agency_id,
            signed_in=actor.user_id is not None,
        )
    )
    session.flush()
    return version, document


def latest_versions(session: Session) -> list[BriefingVersion]:
    """Every briefing's newest version, for the editors' list."""
    newest = (
        select(BriefingVersion.briefing_id, func.max(BriefingVersion.number).label("n"))
        .group_by(BriefingVersion.briefing_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(BriefingVersion)
            .join(
                newest,
                (newest.c.briefing_id == BriefingVersion.briefing_id)
                & (newest.c.n == BriefingVersion.number),
            )
            .options(selectinload(BriefingVersion.briefing).selectinload(Briefing.audit))
            .order_by(BriefingVersion.id.desc())
        )
    )


def when(value: datetime | None) -> str:
    return value.strftime("%-d %B %Y") if value else ""
