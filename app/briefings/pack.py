"""The inspection-readiness pack: how the partnership knows the quality and impact of
its practice, for a period (and optionally one theme), as inspectors ask when they
give notice of a joint targeted area inspection.

Page 1 answers the self-evaluation questions inspectors use (what do we know about
the quality and impact of practice; how do we know it; what are we doing about it),
drafted from the figures and edited by the business unit. The evidence follows, every
table a ``Figure`` (app/trends/figures.py): the audits the period ran, the children
and agencies in them, then the trends' own figures (grades and moderation, themes
audited again, findings, actions and their impact, briefings and their reach,
assurance answers) and the families' voices. The pack's spreadsheet holds exactly
these figures (``to_xlsx``), so each number in it is the PDF's.

A pack is a briefing of its own kind (``BriefingKind.INSPECTION_PACK``, of no one
audit): it is checked for anything that identifies a child, approved by someone other
than its authors and rendered to a tagged PDF as every briefing is (app/briefings/
workflow.py, render.py). Its figures are drawn as a reader outside every agency sees
them: counts from 1 to the small-count threshold less one are "fewer than N".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from app.access.policy import MODERATED_STATUSES, SYSTEM
from app.agencies.models import Subgroup
from app.audits.models import AgeBand, Audit, Child
from app.briefings import content, drafting
from app.briefings.models import BriefingDocument, BriefingVersion, VersionStatus
from app.config import Settings
from app.errors import FieldError, InvalidInput
from app.formatting import format_date
from app.identify import suppress
from app.respond import family
from app.returns.models import Return, ReturnStatus
from app.trends import export as trends_export
from app.trends import service as trends
from app.trends.figures import Column, Figure, Trends, figure

SECTIONS: tuple[drafting.Section, ...] = (
    drafting.Section("know", "What do we know about the quality and impact of practice?"),
    drafting.Section("how", "How do we know it?"),
    drafting.Section("doing", "What are we doing about it?"),
)
HEADINGS = dict(SECTIONS)
TITLE = "Inspection readiness: how we know the quality and impact of our practice"
SUBMITTED = (ReturnStatus.SUBMITTED, ReturnStatus.MODERATED)


@dataclass(frozen=True)
class Period:
    """What a pack covers: both days included; ``theme`` an audit theme as written."""

    date_from: date
    date_to: date
    theme: str | None = None

    @property
    def words(self) -> str:
        said = f"{format_date(self.date_from)} to {format_date(self.date_to)}"
        return f"{said}, {self.theme}" if self.theme else said


def period_of(date_from: date | None, date_to: date | None, theme: str | None) -> Period:
    """A period the pack can cover, or InvalidInput naming the field."""
    fields = []
    if date_from is None:
        fields.append(FieldError("period_from", "Enter the first day of the period"))
    if date_to is None:
        fields.append(FieldError("period_to", "Enter the last day of the period"))
    if date_from and date_to and date_to < date_from:
        fields.append(FieldError("period_to", "The last day must be on or after the first"))
    if fields:
        raise InvalidInput("Choose the period the pack covers.", fields=fields)
    assert date_from is not None and date_to is not None
    # The trends' own limit on a period's length applies, said of this form's field.
    try:
        trends.resolved(trends.Filters(date_from=date_from, date_to=date_to))
    except InvalidInput as refused:
        raise InvalidInput(
            refused.message,
            fields=[
                FieldError(f.field.replace("date_", "period_"), f.message) for f in refused.fields
            ],
        ) from refused
    return Period(date_from, date_to, (theme or "").strip() or None)


# --- the pack's own figures ---------------------------------------------------------------


def _audits_figure(session: Session, audits: list[Audit]) -> Figure:
    ids = [a.id for a in audits]
    children = dict(
        session.execute(
            select(Child.audit_id, func.count())
            .where(Child.audit_id.in_(ids), Child.agency_id.is_(None))
            .group_by(Child.audit_id)
        ).all()
    )
    returns = dict(
        session.execute(
            select(Return.audit_id, func.count())
            .where(Return.audit_id.in_(ids), Return.status.in_(SUBMITTED))
            .group_by(Return.audit_id)
        ).all()
    )
    subgroups = dict(session.execute(select(Subgroup.id, Subgroup.name)).all())
    rows = [
        (
            a.title,
            a.theme or "–",
            subgroups.get(a.lead_subgroup_id, "–") if a.lead_subgroup_id else "–",
            a.moderation_started_at.date() if a.moderation_started_at else None,
            children.get(a.id, 0),
            len(a.agencies),
            returns.get(a.id, 0),
        )
        for a in audits
    ]
    n, kids = len(rows), sum(children.get(a.id, 0) for a in audits)
    agencies = len({ag.id for a in audits for ag in a.agencies})
    headline = (
        f"{n} multi-agency {'audit was' if n == 1 else 'audits were'} moderated in the "
        f"period, looking at {kids} children's cases with {agencies} agencies."
        if n
        else "No audit was moderated in the period."
    )
    return figure(
        "audits",
        "The audits the programme ran",
        headline,
        (
            Column("Audit", "text", 50),
            Column("Theme", "text", 36),
            Column("Led by", "text", 16),
            Column("Moderation started", "date", 14),
            Column("Children audited"),
            Column("Agencies"),
            Column("Returns"),
        ),
        rows,
    )


def _cohort_figure(session: Session, threshold: int, audits: list[Audit]) -> Figure:
    """The children audited by age band, across the period's audits: every band (and
    "Not recorded" if any is), their total printed, as the audits' table prints it; so
    small counts, and any count that would give one away, are not shown
    (``suppress.suppress_line``), or no band at all where none can be safely."""
    counted = Counter(
        band
        for (band,) in session.execute(
            select(Child.age_band).where(
                Child.audit_id.in_([a.id for a in audits]), Child.agency_id.is_(None)
            )
        )
    )
    counts = {band.value: counted.get(band, 0) for band in AgeBand}
    if counted.get(None):
        counts["Not recorded"] = counted[None]
    total = sum(counted.values())
    line = suppress.suppress_line(counts, threshold=threshold)
    shown = [suppress.NOT_SHOWN if line.withheld else line.shown(k) for k in counts]
    return figure(
        "cohort",
        "The children audited, by age band",
        f"The audits looked at {total} children's cases."
        if total
        else "No child's case was audited in the period.",
        (Column("Children audited", "text", 20), *(Column(key) for key in counts), Column("All")),
        [("By age band", *shown, total)] if total else [],
    )


def _families_figure(session: Session, audits: list[Audit], threshold: int) -> Figure:
    rows = []
    for audit in audits:
        voice = family.voice_for(session, audit=audit, actor=SYSTEM, threshold=threshold)
        if voice is None or not voice.surveys:
            continue
        answered = voice.answered
        shown: int | str = voice.answered_shown if 0 < answered < threshold else answered
        rows.append((audit.title, shown))
    headline = (
        f"Families answered the survey of {len(rows)} of the period's audits."
        if rows
        else "No family survey was run with the period's audits."
    )
    return figure(
        "families",
        "Families' voices",
        headline,
        (Column("Audit", "text", 50), Column("Families who answered")),
        rows,
    )


# --- the whole pack -----------------------------------------------------------------------


def figures(session: Session, *, period: Period, settings: Settings) -> Trends:
    """Every figure of the pack, in the document's order, as a reader outside every
    agency sees them (small counts "fewer than N")."""
    threshold = settings.small_count_threshold
    found = trends.report(
        session,
        actor=SYSTEM,
        filters=trends.Filters(
            date_from=period.date_from, date_to=period.date_to, by="year", theme=period.theme
        ),
        threshold=threshold,
        outside=True,
    )
    audits = audits_in(session, period)
    own = (_audits_figure(session, audits), _cohort_figure(session, threshold, audits))
    return replace(
        found,
        figures=(*own, *found.figures, _families_figure(session, audits, threshold)),
    )


def audits_in(session: Session, period: Period) -> list[Audit]:
    """The audits a pack covers (``_moderated_in``)."""
    return list(session.scalars(_moderated_in(period)))


def _moderated_in(period: Period) -> Select[Audit]:
    """The audits whose moderation started in the period (a UTC day, as the trends
    count them), of its theme if it has one, in that order."""
    start = datetime.combine(period.date_from, time.min, tzinfo=UTC)
    end = datetime.combine(period.date_to + timedelta(days=1), time.min, tzinfo=UTC)
    stmt = (
        select(Audit)
        .where(
            Audit.status.in_(MODERATED_STATUSES),
            Audit.moderation_started_at >= start,
            Audit.moderation_started_at < end,
        )
        .options(selectinload(Audit.agencies))
        .order_by(Audit.moderation_started_at, Audit.id)
    )
    return stmt.where(Audit.theme == period.theme) if period.theme else stmt


def _sentences(found: Trends, *keys: str) -> list[str]:
    return [f.headline for f in found.figures if f.key.startswith(keys) and f.headline]


def draft_sections(found: Trends, period: Period) -> dict[str, str]:
    """Page 1's three answers, drafted from the figures' headlines for the author to
    edit: plain text, a paragraph a line."""
    know = [
        f"This pack covers {period.words}.",
        *_sentences(found, "audits", "grades"),
    ]
    how = [
        "Each audit asks every agency involved to grade its own practice on each "
        "child's case; a multi-agency moderation meeting then tests those grades "
        "against the evidence and agrees each one.",
        *_sentences(found, "cohort", "agreement", "repeat", "families"),
    ]
    doing = [
        *_sentences(found, "findings", "actions", "downloads", "useful", "assurance"),
    ]
    return {
        "know": "\n\n".join(know),
        "how": "\n\n".join(how),
        "doing": "\n\n".join(doing) or "No finding or action was recorded in the period.",
    }


def to_xlsx(found: Trends, doc: dict) -> bytes:
    """The pack's figures as a spreadsheet: a first sheet naming the pack (its title,
    marking, version and date, what it covers), then a sheet per figure, as the
    trends' own."""
    return trends_export.to_xlsx(
        found,
        title=f"{doc['marking']}: {doc['title']}",
        lines=[
            f"{doc['partnership_name']}. {doc['version_label']}, dated {format_date(doc['dated'])}.",
            f"The figures of the pack's PDF, from {format_date(found.date_from)} to "
            f"{format_date(found.date_to)}.",
            *found.notes,
            f"Protective marking: {doc['marking']}. Counts from 1 to {found.threshold - 1} are "
            "shown as \u201cfewer than\u201d a number, for every reader.",
        ],
    )


def context(
    session: Session,
    *,
    period: Period,
    title: str,
    sections: dict[str, str] | None,
    marking: str,
    version_label: str,
    dated: date,
    settings: Settings,
) -> dict:
    """Everything templates/briefings/inspection_pack.html shows: page 1's three
    answers (a section left blank shows its drafted text), then every figure."""
    found = figures(session, period=period, settings=settings)
    drafted = draft_sections(found, period)
    texts = {key: ((sections or {}).get(key) or "").strip() or drafted[key] for key in HEADINGS}
    return {
        "doc": content.document("inspection-pack", title, marking, version_label, dated, settings),
        "period": period,
        "answers": [
            {"key": key, "heading": heading, "blocks": content.blocks(texts[key])}
            for key, heading in SECTIONS
        ],
        "drafted": drafted,
        "trends": found,
        # The figures' counts are shown as a reader outside every agency sees them: none
        # is a small count of children the check must ask about.
        "counts": [],
        "child_tables": {},
    }


XLSX = trends_export.XLSX


def stored_figures(session: Session, *, version: BriefingVersion) -> bytes | None:
    """The spreadsheet made with a published version's PDF (None for any other)."""
    if version.status not in (VersionStatus.PUBLISHED, VersionStatus.WITHDRAWN):
        return None
    return session.scalar(
        select(BriefingDocument.figures_xlsx).where(BriefingDocument.version_id == version.id)
    )


def filename(version: BriefingVersion) -> str:
    briefing = version.briefing
    return (
        f"inspection-pack-{briefing.period_from}-to-{briefing.period_to}"
        f"-v{version.number}-figures.xlsx"
    )
