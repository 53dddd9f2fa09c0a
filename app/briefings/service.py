"""A briefing version as every step finds it: loaded with its briefing and audit,
locked (steps run one at a time), each step written to the audit log; its sections'
headings; what its document prints; and the editors' list of briefings.

The steps themselves are in ``workflow``, the rendering of a published version in
``render_queue``, what practitioners browse and download in ``library``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app import clock
from app.auditlog import service as auditlog
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
