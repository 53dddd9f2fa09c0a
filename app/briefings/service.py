"""A briefing version as every step finds it: loaded with its briefing and audit,
locked (steps run one at a time), each step written to the audit log; its sections'
headings; what its document prints; and the editors' list of briefings.

The steps themselves are in ``workflow``, the rendering of a published version in
``render_queue``, what practitioners browse and download in ``library``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from app import clock
from app.auditlog import service as auditlog
from app.audits.models import Audit
from app.briefings import content, drafting
from app.briefings.models import Briefing, BriefingKind, BriefingVersion, VersionStatus
from app.config import Settings
from app.errors import NotFound, StateError

SUBGROUP_SECTIONS = {"commentary": "Commentary for the subgroup"}


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


def section_headings(kind: BriefingKind) -> dict[str, str]:
    if kind == BriefingKind.BRIEFING:
        return {key: heading for key, heading in drafting.SECTIONS}
    return dict(SUBGROUP_SECTIONS)


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
        .join(Audit, Audit.id == Briefing.audit_id)
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
