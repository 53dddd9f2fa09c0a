"""Did the learning reach practice: briefings downloaded by agency and month, what
readers said to "was this useful?", and the agencies' answers to the assurance
questionnaires.

Briefings (learning briefings and subgroup reports) count when their audit matches the
filters and the reader may see it; downloads and answers to "was this useful?" by the
day they were made, in England (as a briefing's own counts: app/briefings/library.py);
questionnaires by the day they were sent (in England), an agency's answer counted as
its return submitted (as app/briefings/assurance.py closes a questionnaire), so far. With the
agency filter: that agency's people's downloads and answers, and its questionnaires.
The key area filter does not apply here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from app.access.policy import SUBMITTED_STATUSES, Actor, audit_scope
from app.agencies.models import Agency
from app.audits.models import Audit
from app.briefings.models import Briefing, BriefingDownload, BriefingFeedback
from app.clock import LONDON
from app.formatting import percentage
from app.programme import calendar
from app.returns.models import Return
from app.trends.figures import Chart, Column, Count, Figure, Filters, Value, Viewer, counted
from app.trends.figures import figure as make_figure
from app.trends.periods import Bucket, bucket_of
from app.trends.scope import audit_filters, london_span

# As a briefing's own download counts word them (app/briefings/library.py).
NOT_SIGNED_IN = "Not signed in"
NO_AGENCY = "Signed in with no agency"
ALL_DOWNLOADS = "All downloads"
KEY_AREA_NOTE = "The key area filter does not apply to briefings."


def _period(filters: Filters) -> tuple[date, date]:
    assert filters.date_from is not None and filters.date_to is not None
    return filters.date_from, filters.date_to


def _notes(filters: Filters, *more: str) -> tuple[str, ...]:
    return (*more, *((KEY_AREA_NOTE,) if filters.key_area else ()))


# --- downloads by agency and month -------------------------------------------------------

DOWNLOAD_COLUMNS = (
    Column("Month", "text", 16),
    Column("Downloaded by", "text", 34),
    Column("Downloads"),
)


def _of_briefings(
    stmt: Select,
    counted: type[BriefingDownload] | type[BriefingFeedback],
    actor: Actor,
    filters: Filters,
) -> Select:
    """``stmt`` on ``counted`` (downloads, or answers to "was this useful?") limited to
    the briefings of the audits the actor may see and the filters pick, made in the
    period (a day in England), by the agency filtered on if any."""
    stmt = (
        stmt.join(Briefing, Briefing.id == counted.briefing_id)
        .join(Audit, Audit.id == Briefing.audit_id)
        .where(
            audit_scope(actor),
            *london_span(counted.at, *_period(filters)),
            *audit_filters(filters),
        )
    )
    return stmt.where(counted.agency_id == filters.agency_id) if filters.agency_id else stmt


def _downloads(session: Session, actor: Actor, filters: Filters):
    stmt = select(
        BriefingDownload.at, BriefingDownload.signed_in, Agency.id, Agency.name
    ).outerjoin(Agency, Agency.id == BriefingDownload.agency_id)
    return session.execute(_of_briefings(stmt, BriefingDownload, actor, filters)).all()


def downloads_figure(session: Session, viewer: Viewer, *, actor: Actor, filters: Filters) -> Figure:
    """Each month's downloads by the agency of the people signed in (those not signed
    in, and people with no agency, apart), and the month's whole."""
    months: dict[date, dict[str, Count]] = defaultdict(lambda: defaultdict(Count))
    for at, signed_in, agency_id, name in _downloads(session, actor, filters):
        who = name if signed_in and agency_id is not None else None
        label = who or (NO_AGENCY if signed_in else NOT_SIGNED_IN)
        months[calendar.month_of(at.astimezone(LONDON).date())][label] += counted(
            agency_id if who else None
        )
    rows: list[tuple[Value, ...]] = []
    charted: list[tuple[str, int]] = []
    by_agency: dict[str, list[Value]] = defaultdict(list)
    for month in sorted(months):
        found = months[month]
        order = sorted(set(found) - {NOT_SIGNED_IN, NO_AGENCY}) + [
            who for who in (NOT_SIGNED_IN, NO_AGENCY) if who in found
        ]
        line = viewer.line({who: found[who] for who in order})
        label = calendar.month_label(month)
        rows += [(label, who, line.parts[who]) for who in order]
        rows.append((label, ALL_DOWNLOADS, line.total))
        for who in order:
            by_agency[who].append(line.parts[who])
        if isinstance(line.total, int):
            # "Nov 2025" under its bar: a month's full name is wider than a year of
            # months leaves it, and neighbours would run into each other.
            charted.append((f"{month:%b %Y}", line.total))
    chart = Chart(
        "grouped_bars",
        "Briefing downloads by month",
        categories=tuple(label for label, _n in charted),
        series=({"name": "Downloads", "values": [n for _l, n in charted]},),
    )
    return make_figure(
        "downloads",
        "Briefings downloaded, by agency and month",
        _downloads_sentence(len(months), charted, by_agency),
        DOWNLOAD_COLUMNS,
        rows,
        chart=chart if charted else None,
        notes=_notes(filters),
    )


def _downloads_sentence(months: int, charted, by_agency: dict[str, list[Value]]) -> str:
    if not months:
        return "No briefing was downloaded in this period."
    if len(charted) < months:
        return "Briefings were downloaded in this period; some counts are too small to show."
    total = sum(n for _l, n in charted)
    agencies = {
        who: sum(v for v in values if isinstance(v, int))
        for who, values in by_agency.items()
        if who not in (NOT_SIGNED_IN, NO_AGENCY) and all(isinstance(v, int) for v in values)
    }
    said = f"Briefings were downloaded {total} time{'s' if total != 1 else ''} in this period"
    if not agencies or not max(agencies.values()):
        return said + "."
    top = max(agencies.values())
    most = " and ".join(sorted(who for who, n in agencies.items() if n == top))
    return f"{said}, most often by people in {most} ({top})."


# --- "was this useful?" -------------------------------------------------------------------

USEFUL_PARTS = ("Useful", "Not useful")
USEFUL_COLUMNS = (
    Column("Period", "text", 12),
    Column("Answers"),
    Column("Useful"),
    Column("Not useful"),
    Column("Useful: share of answers", "share"),
)


def useful_figure(
    session: Session, viewer: Viewer, *, actor: Actor, filters: Filters, buckets: list[Bucket]
) -> Figure:
    """Each period's answers to "was this useful?"."""
    stmt = _of_briefings(
        select(BriefingFeedback.at, BriefingFeedback.useful, BriefingFeedback.agency_id),
        BriefingFeedback,
        actor,
        filters,
    )
    said: dict[tuple[str, str], Count] = defaultdict(Count)
    for at, useful, agency_id in session.execute(stmt):
        bucket = bucket_of(at.astimezone(LONDON).date(), buckets)
        if bucket is not None:
            said[(bucket.label, USEFUL_PARTS[0 if useful else 1])] += counted(agency_id)
    rows: list[tuple[Value, ...]] = []
    charted: list[tuple[str, list[Value]]] = []
    sentence = "No reader said whether a briefing was useful in this period."
    for bucket in buckets:
        line = viewer.line({p: said[(bucket.label, p)] for p in USEFUL_PARTS})
        if line.total == 0:
            continue
        yes, no = line.parts[USEFUL_PARTS[0]], line.parts[USEFUL_PARTS[1]]
        rows.append((bucket.label, line.total, yes, no, viewer.share(yes, line.total)))
        if line.hidden:
            sentence = f"Readers answered in {bucket.label}; some counts are too small to show."
            continue
        charted.append((bucket.label, [yes, no]))
        share = viewer.share(yes, line.total)
        sentence = (
            f"In {bucket.label}, readers said a briefing was useful {yes} time"
            f"{'s' if yes != 1 else ''} out of {line.total} ({percentage(share)})."
        )
    chart = Chart(
        "grouped_bars",
        "Was this useful? Readers' answers",
        categories=tuple(label for label, _v in charted),
        series=tuple(
            {"name": name, "values": [v[i] for _l, v in charted]}
            for i, name in enumerate(USEFUL_PARTS)
        ),
    )
    return make_figure(
        "useful",
        "Was this useful? Readers' answers",
        sentence,
        USEFUL_COLUMNS,
        rows,
        chart=chart if charted else None,
        notes=_notes(filters),
    )


# --- assurance questionnaires --------------------------------------------------------------

ASSURANCE_PARTS = ("Answered", "Not answered")
ASSURANCE_COLUMNS = (
    Column("Period (sent)", "text", 14),
    Column("Questionnaires"),
    Column("Agencies asked"),
    Column("Answered"),
    Column("Not answered"),
    Column("Answered: share of asked", "share"),
)


def assurance_figure(
    session: Session, viewer: Viewer, *, actor: Actor, filters: Filters, buckets: list[Bucket]
) -> Figure:
    """Each period's assurance questionnaires (by the day they were sent): how many
    agencies were asked and how many have answered."""
    source = aliased(Audit)
    stmt = (
        select(Audit.id, Audit.opened_at, Return.agency_id, Return.status)
        .join(Briefing, Briefing.assurance_audit_id == Audit.id)
        .join(source, source.id == Briefing.audit_id)
        .join(Return, Return.audit_id == Audit.id)
        .where(
            audit_scope(actor),
            Return.excluded_at.is_(None),
            *london_span(Audit.opened_at, *_period(filters)),
            *audit_filters(filters, source),
        )
    )
    if filters.agency_id:
        stmt = stmt.where(Return.agency_id == filters.agency_id)
    asked: dict[tuple[str, str], Count] = defaultdict(Count)
    questionnaires: dict[str, set[int]] = defaultdict(set)
    for audit_id, sent_at, agency_id, status in session.execute(stmt):
        sent = sent_at.astimezone(LONDON).date() if sent_at else None
        bucket = bucket_of(sent, buckets) if sent else None
        if bucket is None:
            continue
        part = ASSURANCE_PARTS[0 if status in SUBMITTED_STATUSES else 1]
        asked[(bucket.label, part)] += counted(agency_id)
        questionnaires[bucket.label].add(audit_id)
    rows: list[tuple[Value, ...]] = []
    charted: list[tuple[str, list[Value]]] = []
    sentence = "No assurance questionnaire was sent in this period."
    for bucket in buckets:
        line = viewer.line({p: asked[(bucket.label, p)] for p in ASSURANCE_PARTS})
        if line.total == 0:
            continue
        yes, no = (line.parts[p] for p in ASSURANCE_PARTS)
        share = viewer.share(yes, line.total)
        rows.append((bucket.label, len(questionnaires[bucket.label]), line.total, yes, no, share))
        if line.hidden:
            sentence = f"Agencies were asked in {bucket.label}; some counts are too small to show."
            continue
        charted.append((bucket.label, [line.total, yes]))
        many = len(questionnaires[bucket.label]) != 1
        sentence = (
            f"Of the agencies sent an assurance questionnaire in {bucket.label}, {yes} of "
            f"{line.total} ({percentage(share)}) have answered{' them' if many else ' it'}."
        )
    chart = Chart(
        "grouped_bars",
        "Assurance questionnaires: agencies asked and agencies that answered",
        categories=tuple(label for label, _v in charted),
        series=tuple(
            {"name": name, "values": [v[i] for _l, v in charted]}
            for i, name in enumerate(("Agencies asked", "Answered"))
        ),
    )
    return make_figure(
        "assurance",
        "Assurance questionnaires answered",
        sentence,
        ASSURANCE_COLUMNS,
        rows,
        chart=chart if charted else None,
        notes=_notes(filters),
    )
