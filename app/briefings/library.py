"""The library: the published briefings practitioners browse, search and download
(anyone not signed in sees only the public ones), and the count of each download and
of each "was this useful?" answer, kept as evidence of how the learning was
disseminated and whether it helped.
"""

from __future__ import annotations

import csv
import io
import math
import re
import threading
import zlib
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.access.policy import SYSTEM, Actor, Permission
from app.agencies.models import Agency
from app.audits.models import Audit
from app.briefings import search
from app.briefings.models import (
    Briefing,
    BriefingDocument,
    BriefingDownload,
    BriefingFeedback,
    BriefingKind,
    BriefingVersion,
    VersionStatus,
)
from app.briefings.service import get_version, section_headings
from app.clock import LONDON, utcnow
from app.db import after_read
from app.errors import AppError, NotFound, StateError
from app.formatting import csv_cell, plural


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
        # An inspection pack is its editors' evidence for inspectors, not the library's.
        or briefing.kind == BriefingKind.INSPECTION_PACK
    ):
        raise NotFound(f"There is no published briefing with id {briefing_id}.")
    for version in briefing.versions:
        # Each version's briefing is this one (what the web version's context reads from
        # the version, service.document_context), known without asking the database.
        set_committed_value(version, "briefing", briefing)
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
        or (
            version.briefing.kind == BriefingKind.INSPECTION_PACK
            and not actor.may(Permission.BRIEFING_EDIT)
        )
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


# --- what the library shows of each briefing (its page's and the API's) ---------------

SUMMARY_LENGTH = 200
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+", re.M)
# A PDF's page tree: the dictionary of /Type /Pages with its /Count (the root's counts
# every page, an intermediate node's fewer), none of << >> between them.
_PAGE_TREE = re.compile(
    rb"/Type\s*/Pages\b[^<>]*?/Count\s+(\d+)|/Count\s+(\d+)[^<>]*?/Type\s*/Pages\b"
)
# An object stream's dictionary (PDF 1.5: objects packed and compressed together, as
# WeasyPrint writes them), then its data.
_OBJECT_STREAM = re.compile(rb"<<([^<>]*?/Type\s*/ObjStm\b[^<>]*?)>>\s*stream\r?\n")
_PAGE_COUNTS: dict[str, int | None] = {}  # by SHA-256: a published PDF never changes
_PAGE_COUNTS_KEPT = 10_000


def page_count(pdf: bytes) -> int | None:
    """How many pages a PDF has, read from its page tree (in the file itself or in its
    compressed object streams), without a PDF library; None if it has none to read."""
    readable = [pdf]
    for found in _OBJECT_STREAM.finditer(pdf):
        if b"/FlateDecode" not in found.group(1):
            continue
        try:
            # The stream's end is where the compressed data ends: no need for /Length.
            readable.append(zlib.decompressobj().decompress(pdf[found.end() :]))
        except zlib.error:
            continue
    counts = [int(a or b) for text in readable for a, b in _PAGE_TREE.findall(text)]
    return max(counts) if counts else None


def summary_of(kind: BriefingKind, sections: dict[str, str]) -> str:
    """A line or two to show in a list: the version's own summary if it has one, or the
    start of its first section with words in it (in the document's order), its bullets
    and line breaks run together, cut at a word near SUMMARY_LENGTH characters."""
    ordered = list(section_headings(kind))
    keys = ["summary", *ordered, *(k for k in sections if k not in ordered)]
    text = next((sections[k] for k in keys if (sections.get(k) or "").strip()), "")
    text = " ".join(_BULLET.sub("", text).split())
    if len(text) <= SUMMARY_LENGTH:
        return text
    cut = text[:SUMMARY_LENGTH].rsplit(" ", 1)[0].rstrip(",;:.-–—")
    return cut + "…"


@dataclass(frozen=True)
class Stored:
    """What the library tells of a version's stored PDF."""

    size: int
    pages: int | None
    sha256: str


def stored(session: Session, *, version_ids: list[int]) -> dict[int, Stored]:
    """Each published version's PDF: its size in bytes and its pages (as counted when
    it was stored; for a PDF stored before that was done, counted once per PDF, by its
    SHA-256, as the file is read the first time)."""
    if not version_ids:
        return {}
    found = session.execute(
        select(
            BriefingDocument.version_id,
            BriefingDocument.size,
            BriefingDocument.sha256,
            BriefingDocument.pages,
        ).where(BriefingDocument.version_id.in_(version_ids))
    ).all()
    uncounted = [
        version_id
        for version_id, _size, sha, pages in found
        if pages is None and sha not in _PAGE_COUNTS
    ]
    if uncounted:
        if len(_PAGE_COUNTS) > _PAGE_COUNTS_KEPT:
            _PAGE_COUNTS.clear()
        for sha, pdf in session.execute(
            select(BriefingDocument.sha256, BriefingDocument.pdf).where(
                BriefingDocument.version_id.in_(uncounted)
            )
        ):
            _PAGE_COUNTS[sha] = page_count(pdf)
    return {
        version_id: Stored(size, pages if pages is not None else _PAGE_COUNTS.get(sha), sha)
        for version_id, size, sha, pages in found
    }


def listed(session: Session, found: list[tuple[Briefing, BriefingVersion]]) -> list[dict]:
    """What the library shows of each briefing it lists (its page and the API alike),
    with its current version: title, theme and audit, when it was published, a summary,
    and its PDF's size and pages."""
    pdfs = stored(session, version_ids=[v.id for _b, v in found])
    items = []
    for b, v in found:
        pdf = pdfs.get(v.id)
        items.append(
            {
                "briefing_id": b.id,
                "title": b.title,
                "kind": b.kind,
                "public": b.public,
                "theme": b.drafted_from.theme,
                "audit_id": b.drafted_from.id,
                "audit_title": b.drafted_from.title,
                "version_id": v.id,
                "version": v.number,
                "published_on": v.published_on,
                "summary": summary_of(b.kind, v.sections),
                "size": pdf.size if pdf else None,
                "pages": pdf.pages if pdf else None,
            }
        )
    return items


def file_size(size: int) -> str:
    """A file's size as GOV.UK writes it beside a link: "412 KB", "1.2 MB"."""
    if size < 1024:
        return plural(size, "byte")
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def pdf_description(size: int | None, pages: int | None) -> str:
    """What a link to a PDF says of it: "PDF, 412 KB, 2 pages" (what is known of it)."""
    described = ["PDF"]
    if size is not None:
        described.append(file_size(size))
    if pages:
        described.append(plural(pages, "page"))
    return ", ".join(described)


def shown_versions(briefing: Briefing) -> list[BriefingVersion]:
    """The versions a briefing's library entry lists, newest first: those published
    (current or superseded) and withdrawn; never a draft."""
    return [
        v
        for v in reversed(briefing.versions)
        if v.status in (VersionStatus.PUBLISHED, VersionStatus.WITHDRAWN)
    ]


def current_version(briefing: Briefing) -> BriefingVersion | None:
    """The version the library serves, or None when the briefing has been withdrawn."""
    return next(
        (
            v
            for v in reversed(briefing.versions)
            if v.status == VersionStatus.PUBLISHED and v.superseded_at is None
        ),
        None,
    )


def downloadable(briefing: Briefing, version: BriefingVersion) -> bool:
    """Whether ``download`` serves the version: published, and no later one withdrawn
    (withdrawing withdraws the briefing)."""
    return version.status == VersionStatus.PUBLISHED and not any(
        v.number > version.number and v.status == VersionStatus.WITHDRAWN for v in briefing.versions
    )


def filename(briefing: Briefing, version: BriefingVersion) -> str:
    """The PDF's file name: the briefing's title, as letters and digits, and the version."""
    slug = re.sub(r"[^a-z0-9]+", "-", briefing.title.lower()).strip("-")[:80] or "briefing"
    return f"{slug}-v{version.number}.pdf"


def version_by_number(session: Session, *, briefing_id: int, number: int) -> int:
    """The id of a briefing's version ``number`` (``download`` decides if it is served)."""
    found = session.scalar(
        select(BriefingVersion.id).where(
            BriefingVersion.briefing_id == briefing_id, BriefingVersion.number == number
        )
    )
    if found is None:
        raise NotFound(f"There is no published version {number} of briefing {briefing_id}.")
    return found


# --- "was this useful?" ---------------------------------------------------------------

# Feedback from one address (an IPv6 address's /64, as signing in counts them), in each
# server process: anyone may give it, so it must not be an easy way to flood the counts.
FEEDBACK_PER_HOUR = 10
_FEEDBACK_WINDOW = timedelta(hours=1)
_FEEDBACK_SENT: dict[str, deque[datetime]] = {}
_FEEDBACK_SOURCES_KEPT = 10_000
_feedback_lock = threading.Lock()


class TooMuchFeedback(AppError):
    status_code = 429
    code = "too_many_attempts"


def _admit_feedback(source: str) -> None:
    """Count one feedback from ``source``, or refuse it (TooMuchFeedback) when that
    source has given FEEDBACK_PER_HOUR in the last hour."""
    now = utcnow()
    since = now - _FEEDBACK_WINDOW
    with _feedback_lock:
        if len(_FEEDBACK_SENT) > _FEEDBACK_SOURCES_KEPT:
            for stale in [k for k, sent in _FEEDBACK_SENT.items() if not sent or sent[-1] <= since]:
                del _FEEDBACK_SENT[stale]
            if len(_FEEDBACK_SENT) > _FEEDBACK_SOURCES_KEPT:
                _FEEDBACK_SENT.clear()
        sent = _FEEDBACK_SENT.setdefault(source, deque())
        while sent and sent[0] <= since:
            sent.popleft()
        if len(sent) >= FEEDBACK_PER_HOUR:
            retry_after = max(1, math.ceil((sent[0] + _FEEDBACK_WINDOW - now).total_seconds()))
            minutes = -(-retry_after // 60)
            raise TooMuchFeedback(
                "A lot of feedback has been sent from your network in the last hour. Try "
                f"again in {plural(minutes, 'minute')}.",
                retry_after=retry_after,
            )
        sent.append(now)


def forget_feedback_limits() -> None:
    """Start every source's count of feedback afresh (for tests)."""
    with _feedback_lock:
        _FEEDBACK_SENT.clear()


def give_feedback(
    session: Session,
    *,
    briefing_id: int,
    useful: bool,
    comment: str,
    actor: Actor,
    source: str,
) -> BriefingFeedback:
    """Whether the briefing's current version was useful, from anyone who can see it in
    the library, counted beside its downloads (by the agency of whoever is signed in;
    the person is not kept). Refused for a withdrawn briefing (409), and past
    FEEDBACK_PER_HOUR from one ``source`` (429)."""
    signed_in = actor.user_id is not None or actor is SYSTEM
    briefing = library_entry(session, briefing_id=briefing_id, signed_in=signed_in)
    version = current_version(briefing)
    if version is None:
        raise StateError("This briefing has been withdrawn: there is nothing to give feedback on.")
    _admit_feedback(source)
    given = BriefingFeedback(
        briefing_id=briefing.id,
        version_id=version.id,
        useful=useful,
        comment=comment,
        agency_id=actor.agency_id,
        signed_in=actor.user_id is not None,
    )
    session.add(given)
    session.flush()
    return given


# --- the counts of downloads and feedback -------------------------------------------------

NOT_SIGNED_IN = "Not signed in"
NO_AGENCY = "Signed in with no agency"


def _who(signed_in: bool, agency_name: str | None) -> str:
    if not signed_in:
        return NOT_SIGNED_IN
    return agency_name if agency_name is not None else NO_AGENCY


def download_counts(session: Session, *, briefing_id: int) -> dict:
    """How often a briefing was downloaded (every version): in all, by the agency of the
    people signed in, and by month (in England), each month by agency too; those not
    signed in, and people with no agency, counted apart. Beside them, how many readers
    said it was useful and not useful (in all and by month), and their comments."""
    briefing = session.get(Briefing, briefing_id)
    if briefing is None:
        raise NotFound(f"There is no briefing with id {briefing_id}.")
    rows = session.execute(
        select(BriefingDownload.at, BriefingDownload.signed_in, Agency.id, Agency.name)
        .outerjoin(Agency, Agency.id == BriefingDownload.agency_id)
        .where(BriefingDownload.briefing_id == briefing_id)
        .order_by(BriefingDownload.at, BriefingDownload.id)
    ).all()
    agencies: Counter[tuple[int, str]] = Counter()
    months: dict[str, Counter[str]] = defaultdict(Counter)
    not_signed_in = no_agency = 0
    for at, signed_in, agency_id, agency_name in rows:
        month = at.astimezone(LONDON).strftime("%Y-%m")
        who = _who(signed_in, agency_name if agency_id is not None else None)
        if not signed_in:
            not_signed_in += 1
        elif agency_id is None:
            no_agency += 1
        else:
            agencies[(agency_id, agency_name)] += 1
        months[month][who] += 1
    said = session.execute(
        select(
            BriefingFeedback.at,
            BriefingFeedback.useful,
            BriefingFeedback.comment,
            BriefingFeedback.signed_in,
            Agency.name,
            BriefingVersion.number,
        )
        .join(BriefingVersion, BriefingVersion.id == BriefingFeedback.version_id)
        .outerjoin(Agency, Agency.id == BriefingFeedback.agency_id)
        .where(BriefingFeedback.briefing_id == briefing_id)
        .order_by(BriefingFeedback.at, BriefingFeedback.id)
    ).all()
    # (month, who) -> [useful, not useful]
    feedback: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for at, useful, _comment, signed_in, agency_name, _number in said:
        month = at.astimezone(LONDON).strftime("%Y-%m")
        feedback[(month, _who(signed_in, agency_name))][0 if useful else 1] += 1
    every_month = sorted(set(months) | {month for month, _ in feedback})
    return {
        "briefing_id": briefing.id,
        "title": briefing.title,
        "total": len(rows),
        "not_signed_in": not_signed_in,
        "signed_in_without_agency": no_agency,
        "by_agency": [
            {"agency_id": agency_id, "agency": name, "downloads": n}
            for (agency_id, name), n in sorted(agencies.items(), key=lambda i: i[0][1])
        ],
        "by_month": [
            {
                "month": month,
                "downloads": sum(months[month].values()),
                "useful": sum(n[0] for (m, _w), n in feedback.items() if m == month),
                "not_useful": sum(n[1] for (m, _w), n in feedback.items() if m == month),
                "by_agency": [
                    {"agency": who, "downloads": n} for who, n in sorted(months[month].items())
                ],
                "feedback_by_agency": [
                    {"agency": who, "useful": n[0], "not_useful": n[1]}
                    for (m, who), n in sorted(feedback.items())
                    if m == month
                ],
            }
            for month in every_month
        ],
        "useful": sum(1 for row in said if row.useful),
        "not_useful": sum(1 for row in said if not row.useful),
        "comments": [
            {"at": at, "version": number, "useful": useful, "comment": comment}
            for at, useful, comment, _signed_in, _agency, number in reversed(said)
            if comment
        ],
    }


def download_counts_csv(counts: dict) -> bytes:
    """The counts by month and agency as CSV (UTF-8 with a BOM, for Excel): a row per
    month and agency that downloaded or said whether it was useful, those not signed in
    as "Not signed in"."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Briefing", "Month", "Agency", "Downloads", "Useful", "Not useful"])
    for month in counts["by_month"]:
        downloads = {row["agency"]: row["downloads"] for row in month["by_agency"]}
        said = {row["agency"]: row for row in month["feedback_by_agency"]}
        for who in sorted(set(downloads) | set(said)):
            useful = said[who]["useful"] if who in said else 0
            not_useful = said[who]["not_useful"] if who in said else 0
            writer.writerow(
                [
                    csv_cell(counts["title"]),
                    month["month"],
                    csv_cell(who),
                    downloads.get(who, 0),
                    useful,
                    not_useful,
                ]
            )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
