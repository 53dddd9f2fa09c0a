"""The library: the published briefings practitioners browse, search and download
(anyone not signed in sees only the public ones), and the count of each download,
kept as evidence of how the learning was disseminated.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.access.policy import SYSTEM, Actor
from app.audits.models import Audit
from app.briefings import search
from app.briefings.models import (
    Briefing,
    BriefingDocument,
    BriefingDownload,
    BriefingVersion,
    VersionStatus,
)
from app.briefings.service import get_version
from app.db import after_read
from app.errors import NotFound


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
    if q and (found := search.matching(session, q)) is not None:
        current = current.where(found)
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
    if (
        briefing is None
        or not any(
            v.status in (VersionStatus.PUBLISHED, VersionStatus.WITHDRAWN)
            for v in briefing.versions
        )
        or (not signed_in and not briefing.public)
    ):
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
    document = session.scalars(  # publishing stored it
        select(BriefingDocument).where(BriefingDocument.version_id == version.id)
    ).one()
    # Counted after the read (app.db.after_read): downloading changes nothing else.
    counted = BriefingDownload(
        briefing_id=version.briefing_id,
        version_id=version.id,
        agency_id=actor.agency_id,
        signed_in=actor.user_id is not None,
    )
    after_read(session, lambda s: s.add(counted))
    return version, document
