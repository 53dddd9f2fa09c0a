"""A briefing version as every step finds it: loaded with its briefing and audit,
locked (steps run one at a time), each step written to the audit log; its approvals,
and the way back to draft (which removes them); its sections' headings; what its
document prints; and the editors' list of briefings.

The steps themselves are in ``workflow``, the rendering of a published version in
``render_queue``, what practitioners browse and download in ``library``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session, selectinload

from app import clock
from app.access.policy import Actor
from app.auditlog import service as auditlog
from app.audits.models import Audit
from app.briefings import content, drafting, pack
from app.briefings.models import (
    Briefing,
    BriefingApproval,
    BriefingKind,
    BriefingVersion,
    RenderStatus,
    VersionStatus,
)
from app.config import Settings
from app.db import rows_matched
from app.errors import NotFound, StateError
from app.identify.check import Problem

# A subgroup report's sections, as the editor shows them: its executive summary and the
# decisions it asks of the subgroup (drafted from the figures), then a commentary.
SUBGROUP_SECTIONS = {key: heading for key, heading in drafting.REPORT_SECTIONS}


def log_step(session: Session, action: str, version: BriefingVersion, **after) -> None:
    """One audit-log row for a step: the version's briefing and number, and ``after``."""
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


def lock(session: Session, version: BriefingVersion) -> VersionStatus:
    """Re-read the whole version as committed now, under a row lock (steps run one at a
    time), and return its status."""
    session.refresh(version, LOCKED_COLUMNS, with_for_update=True)
    return version.status


def require_status(session: Session, version: BriefingVersion, *allowed: VersionStatus) -> None:
    """Lock the version, then refuse the step unless its status is one of ``allowed``."""
    status = lock(session, version)
    if status not in allowed:
        wanted = " or ".join(s.value for s in allowed)
        raise StateError(
            f"This is {version.label}, {status.value}; this can only be done when it is {wanted}."
        )


def approvals(session: Session, *, version: BriefingVersion) -> list[BriefingApproval]:
    """The version's approvals, first given first."""
    return list(
        session.scalars(
            select(BriefingApproval)
            .where(BriefingApproval.version_id == version.id)
            .order_by(BriefingApproval.approved_at, BriefingApproval.id)
        )
    )


def authors_with(authors: list[int], actor: Actor) -> list[int]:
    """``authors`` with the actor added (a system actor, with no user id, adds no one):
    whoever changes what a version prints is its author, and may not approve it."""
    if actor.user_id is None or actor.user_id in authors:
        return list(authors)
    return [*authors, actor.user_id]


def back_to_draft(session: Session, version: BriefingVersion) -> int:
    """Make a submitted or approved version a draft again: a page open on it is stale,
    and its approvals are removed (the audit log keeps them), so whatever changes next
    must be approved again. Returns how many approvals were removed."""
    removed = session.execute(
        delete(BriefingApproval)
        .where(BriefingApproval.version_id == version.id)
        .execution_options(synchronize_session=False)
    )
    version.status = VersionStatus.DRAFT
    version.lock_version += 1
    version.approved_by = None
    version.approved_at = None
    version.small_counts_confirmed_by = None  # confirmed again with what comes next
    version.render_status = RenderStatus.NONE
    version.render_error = None
    return rows_matched(removed)


def report_digest(rows: list[dict]) -> str:
    """A short fingerprint of a check's problems (``report_rows``): what an approver read,
    so approving what the check finds by then can be refused if it is not the same."""
    import hashlib
    import json

    seen = [[r["kind"], r["where"], r["excerpt"]] for r in rows]
    return hashlib.sha256(json.dumps(seen, ensure_ascii=False).encode()).hexdigest()[:16]


def report_rows(problems: Iterable[Problem]) -> list[dict]:
    """The identification check's problems as a version keeps them (``check_report``)."""
    return [
        {
            "kind": p.kind,
            "where": p.where,
            "excerpt": p.excerpt,
            "message": p.message,
            "blocking": p.blocking,
            "table": p.table,
        }
        for p in problems
    ]


def section_headings(kind: BriefingKind) -> dict[str, str]:
    if kind == BriefingKind.BRIEFING:
        return {key: heading for key, heading in drafting.SECTIONS}
    if kind == BriefingKind.INSPECTION_PACK:
        return dict(pack.HEADINGS)
    return dict(SUBGROUP_SECTIONS)


# --- the document ------------------------------------------------------------------------


def document_context(
    session: Session, *, version: BriefingVersion, settings: Settings, dated: date | None = None
) -> dict:
    """What the templates need to print this version, its tables of children with small
    counts shown as "fewer than N" where the version says so (``suppressed_tables``)."""
    briefing = version.briefing
    dated = dated or version.published_on or clock.today()
    label = f"Version {version.number}"
    if briefing.kind == BriefingKind.INSPECTION_PACK:
        return pack.context(
            session,
            period=pack.period_of(briefing.period_from, briefing.period_to, briefing.theme),
            title=briefing.title,
            sections=version.sections,
            marking=version.marking.value,
            version_label=label,
            dated=dated,
            settings=settings,
        )
    if briefing.kind == BriefingKind.BRIEFING:
        return content.briefing_context(
            session,
            audit=briefing.drafted_from,
            sections=version.sections,
            title=briefing.title,
            marking=version.marking.value,
            version_label=label,
            dated=dated,
            settings=settings,
            suppressed=version.suppressed_tables,
        )
    return content.subgroup_report_context(
        session,
        audits=[briefing.drafted_from],
        subgroup_name=None,
        marking=version.marking.value,
        version_label=label,
        dated=dated,
        today=dated,
        settings=settings,
        suppressed=version.suppressed_tables,
        sections=version.sections,
    )


# The editors' list's sortable columns (a key, descending with a leading "-"); the
# newest briefing first unless sorted.
VERSION_SORTS = {
    "title": func.lower(Briefing.title),
    "audit": func.lower(Audit.title),
    "kind": Briefing.kind,
    "status": case({s: n for n, s in enumerate(VersionStatus)}, value=BriefingVersion.status),
    "created": BriefingVersion.id,
}


def latest_versions(
    session: Session,
    *,
    audit_id: int | None = None,
    q: str | None = None,
    status: VersionStatus | None = None,
    kind: BriefingKind | None = None,
    sort: str = "-created",
) -> list[BriefingVersion]:
    """Every briefing's newest version, for the editors' list: of one audit, with
    ``q`` in the title, in one status or of one kind when asked; sorted by a key of
    VERSION_SORTS."""
    newest = (
        select(BriefingVersion.briefing_id, func.max(BriefingVersion.number).label("n"))
        .group_by(BriefingVersion.briefing_id)
        .subquery()
    )
    key = sort.removeprefix("-")
    column = VERSION_SORTS[key]
    stmt = (
        select(BriefingVersion)
        .join(
            newest,
            (newest.c.briefing_id == BriefingVersion.briefing_id)
            & (newest.c.n == BriefingVersion.number),
        )
        .join(Briefing, Briefing.id == BriefingVersion.briefing_id)
        .outerjoin(Audit, Audit.id == Briefing.audit_id)  # an inspection pack has none
    )
    if audit_id is not None:
        stmt = stmt.where(Briefing.audit_id == audit_id)
    if q:
        stmt = stmt.where(func.lower(Briefing.title).contains(q.lower(), autoescape=True))
    if status is not None:
        stmt = stmt.where(BriefingVersion.status == status)
    if kind is not None:
        stmt = stmt.where(Briefing.kind == kind)
    return list(
        session.scalars(
            stmt.options(
                selectinload(BriefingVersion.briefing).selectinload(Briefing.audit)
            ).order_by(
                column.desc() if sort.startswith("-") else column.asc(),
                BriefingVersion.id.desc(),
            )
        )
    )
