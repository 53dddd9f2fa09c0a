"""The render queue: publishing queues an approved version (``service.publish``); the
dispatcher (``jobs``) claims it, and the PDF made in a worker process is stored here,
which publishes the version, or the failure is recorded so it can be tried again, or,
when the identification check refuses the PDF as printed, the version goes back to
draft with the problems listed.

A claim is an UPDATE from queued to rendering, so two processes never take the same
version; a claim older than any render (a server stopped mid-render) is queued again.
A published PDF is never re-rendered: downloads serve the stored bytes, whose SHA-256
was taken when they were made.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.briefings import assurance, library, search
from app.briefings.models import (
    BriefingDocument,
    BriefingKind,
    BriefingVersion,
    RenderStatus,
    VersionStatus,
)
from app.briefings.service import (
    back_to_draft,
    get_version,
    lock,
    log_step,
    report_rows,
    require_status,
)
from app.clock import utcnow
from app.db import rows_matched
from app.errors import StateError
from app.identify.check import Problem, Report
from app.notifications import notices


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
    return rows_matched(claimed) == 1


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
    return rows_matched(stale)


def _finish_render(
    session: Session, *, version_id: int, pdf: bytes, today: date, figures: bytes | None = None
) -> BriefingDocument:
    """Store the PDF and publish the version; an earlier published version of the same
    briefing is superseded (and stays downloadable)."""
    version = get_version(session, version_id=version_id)
    require_status(session, version, VersionStatus.APPROVED)
    if version.render_status != RenderStatus.RENDERING:
        raise StateError(f"{version.label} is not being rendered; nothing was published.")
    digest = hashlib.sha256(pdf).hexdigest()
    document = BriefingDocument(
        version_id=version.id,
        pdf=pdf,
        sha256=digest,
        size=len(pdf),
        pages=library.page_count(pdf),
        figures_xlsx=figures,
    )
    session.add(document)
    now = utcnow()
    updated = False
    for earlier in version.briefing.versions:
        if earlier.status == VersionStatus.PUBLISHED and earlier.superseded_at is None:
            earlier.superseded_at = now
            updated = True
            log_step(session, "briefing.supersede", earlier, by_version=version.number)
    version.status = VersionStatus.PUBLISHED
    version.published_at = now
    version.published_on = today
    audit = version.briefing.audit
    version.search_text = search.text_of(
        title=version.briefing.title,
        audit_title=audit.title if audit else "",
        theme=(audit.theme if audit else version.briefing.theme) or "",
        sections=version.sections,
    )
    version.render_status = RenderStatus.DONE
    session.flush()
    log_step(session, "briefing.publish", version, sha256=digest, bytes=len(pdf))
    briefing = version.briefing
    if briefing.kind == BriefingKind.BRIEFING:
        notices.briefing_published(session, version=version, updated=updated)
    if version.assurance_due_on is not None and briefing.assurance_audit_id is None:
        launched = assurance.launch(session, briefing=briefing, due_on=version.assurance_due_on)
        log_step(session, "briefing.assurance_launched", version, audit_id=launched.id)
        notices.questionnaire_sent(session, title=briefing.title, questionnaire=launched)
    return document


def fail_render(session: Session, *, version_id: int, error: str) -> None:
    version = get_version(session, version_id=version_id)
    lock(session, version)
    if version.render_status != RenderStatus.RENDERING:
        return  # someone else finished it: a published version is never marked failed
    version.render_status = RenderStatus.FAILED
    version.render_error = error[:2000]
    session.flush()
    log_step(session, "briefing.render_failed", version, error=error[:500])


def publish_checked(
    session: Session,
    *,
    version_id: int,
    pdf: bytes,
    checked: Report,
    today: date,
    figures: bytes | None = None,
) -> bool:
    """The one way a rendered PDF becomes visible: published if the identification
    check of it as printed (``checked``: ``workflow.check_printed``) refused nothing,
    otherwise sent back to draft with its problems (``refuse_printed``). True if it was
    published."""
    if checked.refusals:
        refuse_printed(session, version_id=version_id, refusals=checked.refusals)
        return False
    _finish_render(session, version_id=version_id, pdf=pdf, today=today, figures=figures)
    return True


def refuse_printed(
    session: Session, *, version_id: int, refusals: list[Problem]
) -> BriefingVersion:
    """The identification check refused the PDF as printed: nothing is published. The
    version goes back to draft (its approvals removed, so it must be approved again once
    fixed), keeping the problems as its ``check_report`` for the editor to list."""
    version = get_version(session, version_id=version_id)
    require_status(session, version, VersionStatus.APPROVED)
    if version.render_status != RenderStatus.RENDERING:
        raise StateError(f"{version.label} is not being rendered; nothing was changed.")
    removed = back_to_draft(session, version)
    version.render_status = RenderStatus.FAILED
    version.render_error = (
        f"The identification check found {len(refusals)} problem(s) in the printed PDF."
    )
    version.check_report = report_rows(refusals)
    session.flush()
    log_step(
        session,
        "briefing.refused_as_printed",
        version,
        problems=[{"kind": p.kind, "where": p.where} for p in refusals],
        approvals_removed=removed,
    )
    return version
