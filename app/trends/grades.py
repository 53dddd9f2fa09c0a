"""Grades over time: the agencies' own and the moderated grades by level, each agency's
agreement with moderation and the grades moderators lowered and raised, and a theme's
latest audit against the one before.

The pairs are the moderation analytics' (``analytics.counted``: current decisions on
cells with a self-grade, the key areas' unless the key area filter picks the overall
grade), an audit's counted in the bucket of the day its moderation started. Grades
stay ordinal: counted by level and shared out, never averaged. Levels of different
scales are never pooled (a figure per scale); agreeing, lowering and raising mean the
same on any scale, so an agency's shares pool its pairs across scales.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.policy import MODERATED_STATUSES, Actor, audit_scope
from app.audits.models import Audit
from app.formatting import percentage
from app.identify import suppress
from app.moderation import analytics, stats
from app.moderation.analytics import Scale
from app.moderation.models import ModeratedGrade
from app.trends.figures import (
    Chart,
    Column,
    Count,
    Figure,
    Filters,
    Line,
    Value,
    Viewer,
    counted,
    figure,
    not_shown,
)
from app.trends.periods import Bucket
from app.trends.scope import audit_filters, took_part, utc_start

ALL_AGENCIES = "All agencies"
ALL_GRADES = "All grades"


@dataclass
class Moves:
    """One agency's pairs in a bucket: how many, and how many kept, lowered, raised."""

    agency_id: int
    n: int = 0
    kept: int = 0
    lowered: int = 0
    raised: int = 0

    def add(self, own: int, moderated: int, count: int) -> None:
        self.n += count
        # Position 0 is the best grade: a larger moderated position is a lower grade.
        if moderated == own:
            self.kept += count
        elif moderated > own:
            self.lowered += count
        else:
            self.raised += count


@dataclass
class Period:
    """A bucket's pairs: levels by scale (own and moderated), moves by agency."""

    own: dict[Scale, list[Count]] = field(default_factory=dict)
    moderated: dict[Scale, list[Count]] = field(default_factory=dict)
    agencies: dict[str, Moves] = field(default_factory=dict)


def _filters(f: Filters, **picked) -> analytics.Filters:
    return analytics.Filters(
        agency_id=f.agency_id,
        template_id=f.template_id,
        key_area=f.key_area,
        theme=f.theme,
        subgroup_id=f.subgroup_id,
        **picked,
    )


def _pairs(session: Session, actor: Actor, filters: analytics.Filters) -> list[analytics.Counted]:
    found = analytics.counted(session, actor=actor, filters=filters)
    # The overall grade only when the key area filter picks it (never counted twice).
    overall = filters.key_area == analytics.OVERALL
    return [c for c in found if (c.key_area is None) == overall]


def periods(session: Session, *, actor: Actor, filters: Filters, buckets: list[Bucket]):
    """Each bucket's pairs, by the day its audits' moderation started."""
    found: dict[str, Period] = {}
    for bucket in buckets:
        period = found[bucket.label] = Period()
        picked = _filters(filters, moderated_from=bucket.start, moderated_to=bucket.end)
        for c in _pairs(session, actor, picked):
            k = len(c.scale.labels)
            own = period.own.setdefault(c.scale, [Count() for _ in range(k)])
            moderated = period.moderated.setdefault(c.scale, [Count() for _ in range(k)])
            own[c.own] += counted(c.agency_id, c.count)
            moderated[c.moderated] += counted(c.agency_id, c.count)
            period.agencies.setdefault(c.agency, Moves(c.agency_id)).add(
                c.own, c.moderated, c.count
            )
    return found


def better(scale: Scale) -> tuple[str, int]:
    """The words for a scale's good grades and how many levels they are: "Good or
    better" (the top two) on a scale of four or more levels, else its top level."""
    if len(scale.labels) >= 4:
        return f"{scale.labels[1]} or better", 2
    return scale.labels[0], 1


def _share_of_better(levels: dict[str, Value], total: Value, top: int) -> float | None:
    picked = list(levels.values())[:top]
    if not isinstance(total, int) or not total or any(not isinstance(v, int) for v in picked):
        return None
    return sum(v for v in picked if isinstance(v, int)) / total


# --- 1. own and moderated grades by level ----------------------------------------------

LEVEL_COLUMNS = (
    Column("Period", "text", 12),
    Column("Grade", "text", 34),
    Column("Agencies' own grades"),
    Column("Own: share", "share"),
    Column("Moderated grades"),
    Column("Moderated: share", "share"),
)


def _level_lines(
    viewer: Viewer, period: Period, scale: Scale, whole_hidden: bool
) -> tuple[Line, Line]:
    k = len(scale.labels)
    own = dict(zip(scale.labels, period.own.get(scale, [Count()] * k), strict=True))
    moderated = dict(zip(scale.labels, period.moderated.get(scale, [Count()] * k), strict=True))
    lines = viewer.line(own), viewer.line(moderated)
    if not sum(c.n for c in own.values()):
        return lines  # nothing on this scale in the period
    # Both lines share one total: if either must hide it (or the agencies' breakdown
    # must), the whole period is left out, as the analytics leaves out a whole set.
    if whole_hidden or any(line.withheld for line in lines):
        gone = Line(not_shown(scale.labels), suppress.NOT_SHOWN, True)
        return gone, gone
    return lines


def level_figures(
    viewer: Viewer, buckets: list[Bucket], found: dict[str, Period], withheld: set[str]
) -> list[Figure]:
    """A figure per scale (the largest first): each period's grades by level, own and
    moderated, each a count and a share of the period's grades."""
    sizes: dict[Scale, int] = defaultdict(int)
    for period in found.values():
        for scale, levels in period.own.items():
            sizes[scale] += sum(c.n for c in levels)
    scales = sorted(sizes, key=lambda s: (-sizes[s], s.name))
    if not scales:
        return [
            figure(
                "grades",
                "Agencies' own and moderated grades",
                "No grades were moderated in this period.",
                LEVEL_COLUMNS,
                (),
            )
        ]
    return [
        _level_figure(viewer, buckets, found, withheld, scale, first=i == 0, several=len(scales))
        for i, scale in enumerate(scales)
    ]


def _level_figure(viewer, buckets, found, withheld, scale: Scale, *, first: bool, several: int):
    rows: list[tuple[Value, ...]] = []
    bars, left_out = [], False
    better_words, top = better(scale)
    shares: list[tuple[str, float]] = []
    for bucket in buckets:
        own, moderated = _level_lines(viewer, found[bucket.label], scale, bucket.label in withheld)
        if own.total == 0:
            continue
        for label in scale.labels:
            o, m = own.parts[label], moderated.parts[label]
            rows.append(
                (bucket.label, label, o, viewer.share(o, own.total), m, viewer.share(m, own.total))
            )
        rows.append((bucket.label, ALL_GRADES, own.total, None, moderated.total, None))
        if own.hidden or moderated.hidden:
            left_out = True
            continue
        for whose, line in (("own", own), ("moderated", moderated)):
            bars.append(
                {
                    "label": f"{bucket.label}: {whose}",
                    "values": list(line.parts.values()),
                    "n": line.total,
                }
            )
        share = _share_of_better(moderated.parts, moderated.total, top)
        if share is not None:
            shares.append((bucket.label, share))
    heading = "Agencies' own and moderated grades" + (f" ({scale.name})" if several > 1 else "")
    chart = Chart(
        "stacked_bars",
        f"Grades by level, each period's own and moderated ({scale.name})",
        categories=scale.labels,
        rows=tuple(bars),
    )
    notes = ["Periods with a count not shown are left out of the chart."] if left_out else []
    return figure(
        "grades" if first else f"grades-{_slug(scale.name)}",
        heading,
        trend_sentence(
            f"Moderated grades of {better_words}",
            f"of moderated grades were {better_words}",
            shares,
        ),
        LEVEL_COLUMNS,
        rows,
        chart=chart if bars else None,
        notes=notes,
    )


def _slug(text: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


def trend_sentence(subject: str, single: str, shares: list[tuple[str, float]]) -> str:
    """ "<subject> rose from 48% in 2025-26 to 61% in 2026-27." between the first and
    the last period shown; with one, "In 2026-27, 61% <single>."."""
    if not shares:
        return "No grades can be shown for this period."
    (first, was), (last, now) = shares[0], shares[-1]
    if len(shares) == 1:
        return f"In {last}, {percentage(now)} {single}."
    if percentage(now) == percentage(was):
        return f"{subject} stayed at {percentage(now)} from {first} to {last}."
    moved = "rose" if now > was else "fell"
    return f"{subject} {moved} from {percentage(was)} in {first} to {percentage(now)} in {last}."


# --- 2. each agency's agreement and moves -----------------------------------------------

AGENCY_COLUMNS = (
    Column("Agency", "text", 30),
    Column("Period", "text", 12),
    Column("Grades"),
    Column("Kept as the agency graded", "share"),
    Column("Kept: 95% interval", "interval"),
    Column("Lowered by the moderator", "share"),
    Column("Lowered: 95% interval", "interval"),
    Column("Raised by the moderator", "share"),
    Column("Raised: 95% interval", "interval"),
)


def _moves_row(agency: str, bucket: str, n: Value, moves: Moves) -> tuple[Value, ...]:
    if not isinstance(n, int) or not n:
        return (agency, bucket, n, None, None, None, None, None, None)
    values: list[Value] = [agency, bucket, n]
    for count in (moves.kept, moves.lowered, moves.raised):
        values += [count / n, stats.wilson_interval(count, n)]
    return tuple(values)


def agency_figure(
    viewer: Viewer, buckets: list[Bucket], found: dict[str, Period]
) -> tuple[Figure, set[str]]:
    """Each agency's pairs over time (all agencies first): the share kept as the agency
    graded, lowered and raised, each with its Wilson 95% interval (as the analytics);
    and the periods whose total would give a small count away (left out of the
    grades by level too)."""
    by_agency: dict[str, list[tuple[Value, ...]]] = defaultdict(list)
    withheld: set[str] = set()
    dots: list[dict[str, Any]] = []
    kept: list[tuple[str, float]] = []
    for bucket in buckets:
        period = found[bucket.label]
        if not period.agencies:
            continue
        line = viewer.line({name: counted(m.agency_id, m.n) for name, m in period.agencies.items()})
        if line.withheld:
            withheld.add(bucket.label)
        whole = Moves(0)
        for m in period.agencies.values():
            whole.n, whole.kept = whole.n + m.n, whole.kept + m.kept
            whole.lowered, whole.raised = whole.lowered + m.lowered, whole.raised + m.raised
        by_agency[ALL_AGENCIES].append(_moves_row(ALL_AGENCIES, bucket.label, line.total, whole))
        for name in sorted(period.agencies):
            by_agency[name].append(
                _moves_row(name, bucket.label, line.parts[name], period.agencies[name])
            )
    rows = [
        row
        for name in [ALL_AGENCIES, *sorted(set(by_agency) - {ALL_AGENCIES})]
        for row in by_agency.get(name, [])
    ]
    for row in rows:
        if isinstance(row[3], float) and isinstance(row[4], tuple):
            dots.append(
                {
                    "label": f"{row[0]}, {row[1]}",
                    "estimate": row[3],
                    "low": row[4][0],
                    "high": row[4][1],
                    "n": row[2],
                }
            )
            if row[0] == ALL_AGENCIES:
                kept.append((str(row[1]), row[3]))
    notes: list[str] = []
    if len(dots) > 24:
        dots = [d for d in dots if d["label"].startswith(ALL_AGENCIES)]
        notes.append("The chart shows all agencies together; each agency is in the table.")
    chart = Chart(
        "interval_dots",
        "Share of agencies' own grades kept by moderators, with 95% intervals",
        rows=tuple(dots),
    )
    return (
        figure(
            "agreement",
            "Each agency's agreement with moderation over time",
            trend_sentence(
                "The share of agencies' own grades that moderators kept",
                "of agencies' own grades were kept by moderators",
                kept,
            ),
            AGENCY_COLUMNS,
            rows,
            chart=chart if dots else None,
            notes=notes,
        ),
        withheld,
    )


# --- 3. a theme audited again -------------------------------------------------------------


REPEAT_COLUMNS = (
    Column("Theme", "text", 30),
    Column("Measure", "text", 34),
    Column("The audit before", "mixed", 40),
    Column("The latest audit", "mixed", 40),
)
AUDIT, STARTED, GRADED = "Audit", "Moderation started", "Moderated grades"
KEPT, KEPT_CI = "Kept as graded", "Kept: 95% interval"


def _measures(scale: Scale) -> list[str]:
    """The rows of a theme's comparison, on its scale."""
    return [AUDIT, STARTED, GRADED, *scale.labels, better(scale)[0], KEPT, KEPT_CI]


@dataclass(frozen=True)
class Audited:
    id: int
    title: str
    theme: str
    started: datetime


def repeated(session: Session, *, actor: Actor, filters: Filters) -> list[tuple[Audited, Audited]]:
    """For each theme (by name) whose latest moderated audit the actor may see started
    moderation in the period: that audit and the one before it (any time before). Only
    audits with moderated grades count."""
    assert filters.date_from is not None and filters.date_to is not None
    stmt = select(Audit.id, Audit.title, Audit.theme, Audit.moderation_started_at).where(
        Audit.status.in_(MODERATED_STATUSES),
        audit_scope(actor),
        Audit.theme != "",
        Audit.moderation_started_at < utc_start(filters.date_to + timedelta(days=1)),
        # With grades to compare: a decision on a self-graded cell.
        select(ModeratedGrade.id)
        .where(
            ModeratedGrade.audit_id == Audit.id,
            ModeratedGrade.superseded_at.is_(None),
            ModeratedGrade.self_level_id.is_not(None),
        )
        .exists(),
        *audit_filters(filters),
    )
    if filters.agency_id:
        stmt = stmt.where(took_part(filters.agency_id))
    by_theme: dict[str, list[Audited]] = defaultdict(list)
    for row in session.execute(
        stmt.order_by(Audit.theme, Audit.moderation_started_at.desc(), Audit.id.desc())
    ):
        by_theme[row.theme].append(Audited(row.id, row.title, row.theme, row.moderation_started_at))
    return [
        (audits[1], audits[0])
        for theme, audits in sorted(by_theme.items())
        if len(audits) >= 2 and audits[0].started >= utc_start(filters.date_from)
    ]


@dataclass
class _Compared:
    """One audit's figures by measure; its scale (None: no grades the filters pick),
    share of good grades and chart bar (None where a count is not shown)."""

    audit: Audited
    values: dict[str, Value]
    scale: Scale | None = None
    share: float | None = None
    bar: dict | None = None


def repeat_figures(
    session: Session, viewer: Viewer, *, actor: Actor, filters: Filters
) -> list[Figure]:
    """Each theme audited again: its latest audit's moderated grades by level and
    agreement beside the audit before's; a figure per scale (the most themes first)."""
    pairs = [
        (
            _compared(session, viewer, actor, filters, earlier),
            _compared(session, viewer, actor, filters, latest),
        )
        for earlier, latest in repeated(session, actor=actor, filters=filters)
    ]
    by_scale: dict[Scale, list[tuple[_Compared, _Compared]]] = defaultdict(list)
    for pair in pairs:
        scale = pair[1].scale or pair[0].scale
        if scale is not None:  # None: neither has grades the filters pick
            by_scale[scale].append(pair)
    scales = sorted(by_scale, key=lambda s: (-len(by_scale[s]), s.name))
    heading = "Themes audited again: the latest audit against the one before"
    if not scales:
        return [figure("repeat-themes", heading, _repeat_sentence([]), REPEAT_COLUMNS, ())]
    found = []
    for i, scale in enumerate(scales):
        compared = by_scale[scale]
        bars = [c.bar for pair in compared for c in pair if c.bar is not None]
        rows = [
            (earlier.audit.theme, measure, earlier.values.get(measure), latest.values.get(measure))
            for earlier, latest in compared
            for measure in _measures(scale)
        ]
        found.append(
            figure(
                "repeat-themes" if i == 0 else f"repeat-themes-{_slug(scale.name)}",
                heading + (f" ({scale.name})" if len(scales) > 1 else ""),
                _repeat_sentence(compared),
                REPEAT_COLUMNS,
                rows,
                chart=Chart(
                    "stacked_bars",
                    f"Moderated grades by level, each theme's audits ({scale.name})",
                    categories=scale.labels,
                    rows=tuple(bars),
                )
                if bars
                else None,
                notes=(f"{KEPT}: the share of agencies' own grades moderators kept.",),
            )
        )
    return found


def _compared(session, viewer: Viewer, actor, filters: Filters, audit: Audited) -> _Compared:
    """The audit's figures, as the viewer may see them."""
    pairs = _pairs(session, actor, _filters(filters, audit_id=audit.id))
    named: dict[str, Value] = {AUDIT: audit.title, STARTED: audit.started.date()}
    if not pairs:  # none of its grades pass the filters (another agency's, say)
        return _Compared(audit, {**named, GRADED: 0})
    scale = pairs[0].scale  # an audit's grades are on its template version's one scale
    k = len(scale.labels)
    levels = [Count() for _ in range(k)]
    table = [[0] * k for _ in range(k)]
    for c in pairs:
        levels[c.moderated] += counted(c.agency_id, c.count)
        table[c.own][c.moderated] += c.count
    line = viewer.line(dict(zip(scale.labels, levels, strict=True)))
    if line.withheld:
        line = Line(not_shown(scale.labels), line.total, True)
    n = line.total
    agreement = stats.agreement_of(table) if isinstance(n, int) else None
    share = _share_of_better(line.parts, n, better(scale)[1])
    values: dict[str, Value] = {
        **named,
        GRADED: n,
        **line.parts,
        better(scale)[0]: share,
        KEPT: agreement.estimate if agreement else None,
        KEPT_CI: agreement.ci if agreement else None,
    }
    bar = (
        None
        if line.hidden
        else {
            "label": f"{audit.theme} ({audit.started:%b %Y})",
            "values": list(line.parts.values()),
            "n": n,
        }
    )
    return _Compared(audit, values, scale, share, bar)


def _repeat_sentence(compared: list[tuple[_Compared, _Compared]]) -> str:
    if not compared:
        return "No theme's latest audit in this period follows an earlier one on the same theme."
    earlier, latest = max(compared, key=lambda pair: pair[1].audit.started)
    more = len(compared) - 1
    also = f" ({more} more theme{'s' if more != 1 else ''} below)" if more else ""
    theme = latest.audit.theme
    if earlier.share is None or latest.share is None or latest.scale is None:
        return f"\u2018{theme}\u2019 was audited again{also}; some of its counts are not shown."
    return (
        f"On \u2018{theme}\u2019, moderated grades of {better(latest.scale)[0]} went from "
        f"{percentage(earlier.share)} in \u2018{earlier.audit.title}\u2019 to "
        f"{percentage(latest.share)} in \u2018{latest.audit.title}\u2019{also}."
    )
