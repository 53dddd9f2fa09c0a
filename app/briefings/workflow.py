"""Briefings from draft to publication: create (sections drafted from the audit), edit,
the identification check, submit, send back, approve, publish (which only queues the
version: it is rendered once, in a worker process, never in a web request), withdraw,
and start the next version.

Every step is in the audit log. Versions are never changed once submitted: editing is
for drafts, under an optimistic lock. Four eyes: everyone who writes in a version is
one of its authors, and none of them may approve it; a version is approved once
``briefing_approvers`` other people have each approved it, saying they read the
identification check. Going back to draft removes its approvals.
"""

from __future__ import annotations

import re
import subprocess
from datetime import date
from html import unescape

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import clock
from app.access.models import User
from app.access.policy import Actor, Permission
from app.actions.models import LearningAction
from app.audits.models import Audit, AuditStatus, Child
from app.briefings import content, drafting, pack, printed
from app.briefings.models import (
    Briefing,
    BriefingApproval,
    BriefingKind,
    BriefingVersion,
    Marking,
    RenderStatus,
    VersionStatus,
)
from app.briefings.service import (
    approvals,
    authors_with,
    back_to_draft,
    document_context,
    get_version,
    log_step,
    report_digest,
    report_rows,
    require_status,
    section_headings,
)
from app.clock import utcnow
from app.config import Settings, get_settings
from app.db import rows_matched
from app.errors import AppError, Conflict, FieldError, InvalidInput, StateError
from app.identify import check as identify
from app.identify import service as identify_service
from app.notifications import notices
from app.returns.models import Return

MODERATED = (AuditStatus.LEARNING, AuditStatus.CLOSED)
OPEN_STEPS = (VersionStatus.DRAFT, VersionStatus.SUBMITTED, VersionStatus.APPROVED)


class FourEyes(AppError):
    """An author (or no one in particular) tried to approve: someone else must."""

    status_code = 403
    code = "four_eyes"


# --- creating and editing ----------------------------------------------------------------


def create(
    session: Session,
    *,
    audit: Audit,
    kind: BriefingKind,
    title: str,
    marking: Marking,
    public: bool,
    actor: Actor,
    settings: Settings | None = None,
) -> BriefingVersion:
    """A new briefing whose version 1 is a draft, its sections drafted from the audit (a
    subgroup report's summary and decisions from its figures as they stand today, under
    ``settings``, the app's if not given); the actor drafted it, and is its first author."""
    if kind == BriefingKind.INSPECTION_PACK:
        raise InvalidInput(
            "An inspection readiness pack covers a period of the partnership's audits, "
            "not one audit: draft it from the briefings page (or POST /api/v1/inspection-packs).",
            fields=[FieldError("kind", "Choose a learning briefing or a subgroup report")],
        )
    if audit.status not in MODERATED:
        raise StateError(
            "A briefing is drafted from a moderated audit; this one is "
            f"{audit.status.value}. Finish moderation first."
        )
    if kind == BriefingKind.BRIEFING:
        sections = drafting.draft_sections(session, audit=audit)
    else:
        today = clock.today()
        sections = content.subgroup_report_context(
            session,
            audits=[audit],
            subgroup_name=None,
            marking=marking.value,
            version_label="Version 1",
            dated=today,
            today=today,
            settings=settings or get_settings(),
        )["drafted"]
    briefing = Briefing(audit_id=audit.id, kind=kind, title=title, public=public)
    version = BriefingVersion(
        number=1,
        marking=marking,
        sections=sections,
        drafted_by=actor.label,
        author_ids=authors_with([], actor),
    )
    briefing.versions = [version]
    session.add(briefing)
    session.flush()
    log_step(session, "briefing.create", version, title=title, kind=kind.value, public=public)
    return get_version(session, version_id=version.id)


def create_pack(
    session: Session,
    *,
    period: pack.Period,
    title: str,
    marking: Marking,
    actor: Actor,
    settings: Settings | None = None,
) -> BriefingVersion:
    """A new inspection-readiness pack for ``period`` whose version 1 is a draft, its
    three answers drafted from the figures as they stand today; never public (it is the
    partnership's evidence for its inspectors, not the library's). The actor drafted it
    and is its first author."""
    settings = settings or get_settings()
    found = pack.figures(session, period=period, settings=settings)
    briefing = Briefing(
        audit_id=None,
        kind=BriefingKind.INSPECTION_PACK,
        title=title,
        public=False,
        period_from=period.date_from,
        period_to=period.date_to,
        theme=period.theme,
    )
    version = BriefingVersion(
        number=1,
        marking=marking,
        sections=pack.draft_sections(found, period),
        drafted_by=actor.label,
        author_ids=authors_with([], actor),
    )
    briefing.versions = [version]
    session.add(briefing)
    session.flush()
    log_step(
        session,
        "briefing.create",
        version,
        title=title,
        kind=briefing.kind.value,
        public=False,
        period_from=period.date_from.isoformat(),
        period_to=period.date_to.isoformat(),
        theme=period.theme,
    )
    return get_version(session, version_id=version.id)


def save(
    session: Session,
    *,
    version: BriefingVersion,
    sections: dict[str, str],
    marking: Marking,
    read_lock: int,
    actor: Actor,
) -> BriefingVersion:
    """Save the editor's sections (a draft only), refusing a stale page. Whoever saves
    becomes one of the version's authors. The version keeps only its kind's sections:
    text under a key it no longer has (a learning briefing's from before its seven
    boxes, as ``drafting.current_sections`` shows it) is saved under the key it shows
    in, or dropped."""
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
            sections={**_kept_sections(version), **sections},
            marking=marking,
            lock_version=read_lock + 1,
            author_ids=authors_with(version.author_ids, actor),
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


def _kept_sections(version: BriefingVersion) -> dict[str, str]:
    """A version's saved text under its kind's section keys only, to save the editor's
    over: a learning briefing's as ``drafting.current_sections`` reads it; a subgroup
    report's or a pack's without the keys it no longer has (a section it does not have
    yet stays missing: it shows the text drafted from the figures)."""
    if version.briefing.kind == BriefingKind.BRIEFING:
        return drafting.current_sections(version.sections)
    known = section_headings(version.briefing.kind)
    return {k: v for k, v in version.sections.items() if k in known}


# --- the identification check ---------------------------------------------------------


def _names(session: Session, audit_ids: list[int], *, action_owners: bool = True) -> list[str]:
    """People's names in the audits' records: auditors, action owners, accounts. A
    subgroup report names each action's owner on purpose (it holds them to account),
    so for it the owners are left out."""
    names = set(
        session.scalars(
            select(Return.auditor_name).where(
                Return.audit_id.in_(audit_ids), Return.auditor_name.is_not(None)
            )
        )
    )
    if action_owners:
        names |= set(
            session.scalars(
                select(LearningAction.owner_name).where(LearningAction.audit_id.in_(audit_ids))
            )
        )
    names |= set(session.scalars(select(User.display_name)))
    return sorted(n for n in names if n)


def check_inputs(
    session: Session,
    *,
    audit: Audit | None,
    settings: Settings,
    action_owners: bool = True,
    audits: list[Audit] | None = None,
) -> dict:
    """What the identification check reads a document against, as its keyword
    arguments: the pseudonyms and the names in the records of its audit (or ``audits``,
    an inspection pack's; none without one), every account's name, the partnership's
    own words (never taken for a name or an address) and the small-count threshold."""
    known: dict = {
        "small_count_threshold": settings.small_count_threshold,
        # The partnership's own words; its name comes from the settings there.
        "allowed": identify_service.vocabulary(session),
    }
    ids = [a.id for a in audits] if audits is not None else [audit.id] if audit else []
    if audit is None and audits is None:
        return known
    pseudonyms = list(session.scalars(select(Child.pseudonym).where(Child.audit_id.in_(ids))))
    # "We looked at 3 children": the cohort's size is stated, and picks out no one.
    known["cohort_size"] = len(pseudonyms)
    known["pseudonyms"] = sorted(set(pseudonyms))
    known["names"] = _names(session, ids, action_owners=action_owners)
    if not action_owners:
        # A subgroup report names each action's owner on purpose: not an alarm.
        owners = session.scalars(
            select(LearningAction.owner_name).where(LearningAction.audit_id.in_(ids))
        )
        known["allowed"] = known["allowed"] | {o for o in owners if o}
    return known


def version_check_inputs(session: Session, *, version: BriefingVersion, settings: Settings) -> dict:
    """``check_inputs`` for a version's document: an inspection pack's against every
    audit it covers, its action owners' names included (it names no one)."""
    briefing = version.briefing
    if briefing.kind == BriefingKind.INSPECTION_PACK:
        period = pack.period_of(briefing.period_from, briefing.period_to, briefing.theme)
        return check_inputs(
            session, audit=None, settings=settings, audits=pack.audits_in(session, period)
        )
    return check_inputs(
        session,
        audit=briefing.audit,
        settings=settings,
        action_owners=briefing.kind == BriefingKind.BRIEFING,
    )


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
    ``html`` was printed."""
    from app.briefings import render

    headings = section_headings(version.briefing.kind)
    sections = [("Title", version.briefing.title)]
    sections += [(headings.get(k, k), text) for k, text in version.sections.items() if text]
    if context is None:
        context = document_context(session, version=version, settings=settings)
    if html is None:
        html = render.html_for(version.briefing.kind.value, context)
    against = version_check_inputs(session, version=version, settings=settings)
    typed = identify.check(
        sections, counts=content.checked_counts(context.get("counts", [])), **against
    )
    # The printed text holds the sections again: what they show is reported once, where
    # it was typed (which is where it is put right).
    return _once(typed, identify.check([(PRINTED_HTML, _text_of(html))], **against))


PRINTED_HTML = "the document as printed"


def check_as_read(
    session: Session, *, version: BriefingVersion, actor: Actor, settings: Settings
) -> list[dict]:
    """The check's problems as ``actor`` reads them (``report_rows``): whoever may
    approve the version reads the check as it runs now (what the document draws from
    the audit may have changed since it was submitted); anyone else, as it was stored."""
    if (
        version.status == VersionStatus.SUBMITTED
        and actor.may(Permission.BRIEFING_APPROVE)
        and actor.user_id not in version.author_ids
    ):
        return report_rows(check(session, version=version, settings=settings).problems)
    return version.check_report


def check_printed(pdf: bytes, *, against: dict, html: str | None = None) -> identify.Report:
    """Scan a rendered PDF as its readers get it: the text of each page, its properties
    and its XMP metadata (``printed.sections``), ``against`` what ``check_inputs``
    gives. This decides whether a version is published. With the ``html`` it was
    printed from, that is read too: text the PDF's layout splits (a table cell's
    words wrapped between other columns' words) is whole there; what both show is
    reported once, where the PDF shows it."""
    try:
        pages = printed.sections(pdf)
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeError(
            "the identification check could not read the PDF, so nothing was published. "
            "Try publishing again; if it happens again, tell the service's support team"
        ) from exc
    report = identify.check(pages, **against)
    if html is None:
        return report
    return _once(report, identify.check([(PRINTED_HTML, _text_of(html))], **against))


def _once(first: identify.Report, then: identify.Report) -> identify.Report:
    """``first``'s problems, then those of ``then`` that ``first`` has not reported."""
    seen = {_marked(p) for p in first.problems}
    return identify.Report(first.problems + [p for p in then.problems if _marked(p) not in seen])


def _marked(problem: identify.Problem) -> tuple[str, tuple[str, ...]]:
    """What a problem points at: its kind and the words marked in its excerpt, spaces
    left out (the PDF's text may space them differently: "4010232137", "401 023 2137")."""
    marked = re.findall(r"»(.*?)«", problem.excerpt, re.S)
    return problem.kind, tuple("".join(m.split()).lower() for m in marked)


def _text_of(html: str) -> str:
    """The printed HTML's text: a line per paragraph, item or table row, a blank line
    after each heading and caption (a sentence of its own). A row's cells
    stay on its line, kept apart by " | ": a pseudonym and an age in one row are in one
    sentence, but figures in neighbouring cells never read as one number (the check
    joins digits a line break splits)."""
    text = re.sub(r"(?is)<(style|script|title)[^>]*>.*?</\1>", " ", html)
    text = re.sub(r"(?i)</t[dh]>", " | ", text)
    # A heading, or a table's or chart's caption, is a sentence of its own.
    text = re.sub(r"(?i)</(h[1-6]|caption)>", "\n\n", text)
    text = re.sub(r"(?i)<br\s*/?>|</(p|li|tr|div)>", "\n", text)
    return unescape(re.sub(r"<[^>]+>", " ", text))


def _problems_as_fields(problems: list[identify.Problem]) -> list[FieldError]:
    return [
        FieldError("document", f"{p.message} ({p.where}: {p.excerpt}){_where_to_fix(p)}")
        for p in problems
    ]


def _where_to_fix(problem: identify.Problem) -> str:
    """Text no section holds was drawn into the document from the audit: it is put right
    there, not in the editor."""
    if problem.where.startswith((PRINTED_HTML, "page ")):
        return (
            " This is drawn from the audit itself (its title, findings, actions or "
            "figures): change it there, then check the briefing again."
        )
    return ""


def _checked(
    session: Session,
    *,
    version: BriefingVersion,
    settings: Settings,
    actor: Actor,
    confirm_small_counts: bool,
    confirmed_before: bool = False,
) -> identify.Report:
    """Refused while the check finds anything that identifies a child, or a table with
    small counts of children (they are shown as "fewer than N" with ``suppression``,
    never confirmed); what the text has to check (small groups, ten-digit numbers,
    postcode districts) needs ``confirm_small_counts``, or ``confirmed_before`` (at
    submission). Only a person who ticked is recorded as having confirmed."""
    confirmed = confirm_small_counts or confirmed_before
    report = check(session, version=version, settings=settings)
    version.check_report = report_rows(report.problems)
    in_tables = [p for p in report.warnings if p.table]
    in_text = [p for p in report.warnings if not p.table]
    small = _small_counts_as_fields(in_tables, [] if confirmed else in_text)
    if report.refusals:
        session.flush()
        raise InvalidInput(
            f"The briefing could identify a child: {len(report.refusals)} problem(s) to fix "
            "before it can go further.",
            fields=_problems_as_fields(report.refusals) + small,
        )
    if small:
        said = []
        if in_tables:
            said.append(
                "Some tables show numbers of children small enough to identify a child: "
                f"show them as “fewer than {settings.small_count_threshold}”."
            )
        if in_text and not confirmed:
            said.append(
                "The text has things to check (small groups, long numbers, postcode "
                "districts): check each one listed, then confirm."
            )
        raise InvalidInput(" ".join(said), fields=small)
    if in_text and confirm_small_counts:
        version.small_counts_confirmed_by = actor.label
    return report


def _small_counts_as_fields(
    in_tables: list[identify.Problem], in_text: list[identify.Problem]
) -> list[FieldError]:
    """A table's small counts are put right on the table (``table-<key>``: show them as
    "fewer than N"); a small group the text names needs the confirmation."""
    return [FieldError(f"table-{p.table}", p.message) for p in in_tables] + [
        FieldError("confirm_small_counts", f"{p.message} ({p.where})") for p in in_text
    ]


# --- the steps -------------------------------------------------------------------------


def submit(
    session: Session,
    *,
    version: BriefingVersion,
    actor: Actor,
    settings: Settings,
    confirm_small_counts: bool = False,
) -> BriefingVersion:
    """Ask for approval. Refused while the check finds anything that identifies a child,
    or a table's small counts of children not yet shown as "fewer than N"; small groups
    the text names need ``confirm_small_counts``."""
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
    # A draft whose publication was stopped by the check of its PDF: that is history now.
    version.render_status = RenderStatus.NONE
    version.render_error = None
    session.flush()
    log_step(session, "briefing.submit", version, warnings_confirmed=confirm_small_counts)
    notices.briefing_awaiting_approval(
        session,
        version_id=version.id,
        title=version.briefing.title,
        number=version.number,
        submitted_by=actor.name or actor.label,
        authors={*version.author_ids, *([actor.user_id] if actor.user_id else [])},
    )
    return version


def send_back(session: Session, *, version: BriefingVersion, note: str) -> BriefingVersion:
    """Back to draft, for its authors to change; its approvals are removed."""
    require_status(session, version, VersionStatus.SUBMITTED, VersionStatus.APPROVED)
    if version.render_status in (RenderStatus.QUEUED, RenderStatus.RENDERING):
        # What is being printed is what was approved; it cannot change underneath.
        raise StateError("This version is being published and can no longer be sent back.")
    removed = back_to_draft(session, version)
    session.flush()
    log_step(session, "briefing.send_back", version, note=note, approvals_removed=removed)
    return version


def approve(
    session: Session,
    *,
    version: BriefingVersion,
    actor: Actor,
    settings: Settings,
    check_read: bool,
    confirm_small_counts: bool = False,
    check_seen: str | None = None,
) -> BriefingVersion:
    """A moderator or the QAPP chair approves it: never one of its authors, never a
    system actor, each person once, confirming ``check_read`` (they read the
    identification check, which runs again first). The version is approved once it
    has ``settings.briefing_approvers`` approvals; until then it stays submitted."""
    require_status(session, version, VersionStatus.SUBMITTED)
    if actor.user_id is None:
        raise FourEyes(
            "A briefing is approved by a person, signed in as themselves; "
            f"{actor.label} cannot approve it."
        )
    if actor.user_id in version.author_ids:
        raise FourEyes("You wrote this version, so someone else must approve it (four eyes).")
    given = approvals(session, version=version)
    if any(a.user_id == actor.user_id for a in given):
        raise Conflict(
            "You have already approved this version: it needs another person's approval."
        )
    if not check_read:
        raise InvalidInput(
            "Confirm you have read the identification check.",
            fields=[FieldError("check_read", "Confirm you have read the identification check")],
        )
    _checked(
        session,
        version=version,
        settings=settings,
        actor=actor,
        confirm_small_counts=confirm_small_counts,
        confirmed_before=bool(version.small_counts_confirmed_by),
    )
    if check_seen is not None and check_seen != report_digest(version.check_report):
        # What the audit draws into the document changed since the page was read.
        raise Conflict(
            "The identification check now finds something different from what you read. "
            "Nothing was approved: read its results again, then approve."
        )
    approval = BriefingApproval(
        version_id=version.id,
        user_id=actor.user_id,
        approver=actor.label,
        approved_at=utcnow(),
        check_read=True,
    )
    session.add(approval)
    given.append(approval)
    if len(given) >= settings.briefing_approvers:
        version.status = VersionStatus.APPROVED
        version.approved_at = approval.approved_at
        version.approved_by = " and ".join(a.approver for a in given)
    session.flush()
    log_step(
        session,
        "briefing.approve",
        version,
        approver=actor.label,
        approvals=len(given),
        needed=settings.briefing_approvers,
        check_read=True,
        approved=version.status == VersionStatus.APPROVED,
    )
    return version


def publish(
    session: Session,
    *,
    version: BriefingVersion,
    assurance_due_on: date | None = None,
    today: date | None = None,
) -> BriefingVersion:
    """Queue the approved version for rendering; it is published when its PDF is made
    (``render_queue.publish_checked``), by a worker process, never inside this request. With
    ``assurance_due_on``, publishing also launches the assurance questionnaire."""
    require_status(session, version, VersionStatus.APPROVED)
    if version.render_status in (RenderStatus.QUEUED, RenderStatus.RENDERING):
        return version
    if assurance_due_on is not None:
        if version.briefing.audit_id is None:
            raise InvalidInput(
                "An inspection readiness pack asks no assurance questionnaire.",
                fields=[FieldError("assurance_due_on", "Publish the pack without one")],
            )
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


def new_version(session: Session, *, version: BriefingVersion, actor: Actor) -> BriefingVersion:
    """Start the next version as a draft copied from this one; the actor drafted it (the
    authors of the version it copies are not its authors: what they wrote was approved)."""
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
        suppressed_tables=list(version.suppressed_tables),
        drafted_by=actor.label,
        author_ids=authors_with([], actor),
    )
    session.add(draft)
    session.flush()
    log_step(session, "briefing.new_version", draft, from_version=version.number)
    return get_version(session, version_id=draft.id)
