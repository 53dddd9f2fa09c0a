"""What moderation shows, for one audit or pooled across audits: how agencies' own
grades compare with the moderated ones (distribution, share changed, direction and
mean shift, agreement, weighted kappa and Gwet's AC1, each with n and a 95% interval),
overall and by agency and key area.

Pairs are the current decisions on cells that had a self-grade. The overall grade is
left out of the figures unless asked for by itself, so no cell is counted twice; it
has its own row, last, in the key areas' breakdown, which follows the template's
order. Pairs on different scales are never pooled: each scale is its own group.

The database hands over the pairs counted by agency, key area and the two grades
(``counted``: a few hundred lines, however many audits there are), and every figure
is computed from those tables of counts (app/moderation/stats.py), exactly as it was
from the pairs one by one (tests/moderation/test_counted_figures.py). For a
partnership-wide view across audits, the decisions of audits that have left
moderation come already counted, by month, from the tally (app/moderation/tally.py),
and only the rest are grouped live: the same counts, at a cost that does not grow
with the history (tests/moderation/test_tally.py). An agency-bound actor's view (the
audits their agency took part in) and one audit's figures are grouped live.

Small counts: a viewer outside the partnership-wide roles sees a row (an agency, a key
area, or the whole set) of fewer than ``threshold`` grades only when every grade in it
is their own agency's; otherwise the row says "fewer than N" and nothing else.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Row,
    Select,
    True_,
    cast,
    func,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from app.access.policy import MODERATED_STATUSES, Actor, Via, audit_scope
from app.agencies.models import Agency
from app.audit_templates.models import (
    GradeLevel,
    GradingScale,
    KeyArea,
    TemplateFamily,
    TemplateVersion,
)
from app.audits.models import Audit, audit_agency
from app.formatting import interval, number, percentage, signed
from app.identify import suppress
from app.moderation import reading, stats, tally
from app.moderation.models import AuditTally, ModeratedGrade, ModerationTally
from app.returns.models import Return
from app.tables import Cell, Table, cells

OVERALL = "overall"
OVERALL_TITLE = "Overall grade"


@dataclass(frozen=True)
class Filters:
    audit_id: int | None = None
    agency_id: int | None = None
    template_id: int | None = None  # a template family: every version of it
    key_area: str | None = None  # a key area's title (across versions), or "overall"
    moderated_from: date | None = None  # by the day moderation opened
    moderated_to: date | None = None
    weights: str = stats.WEIGHTS[0]  # for the weighted kappa and AC2: quadratic or linear
    theme: str | None = None  # the audit's theme (Audit.theme), as written
    subgroup_id: int | None = None  # the audit's lead subgroup


@dataclass(frozen=True)
class Scale:
    """A grading scale as the figures group by it: scales of the same name and levels
    (one per template version) are one group; any other difference keeps them apart."""

    name: str
    labels: tuple[str, ...]


@dataclass
class Tally:
    """Pairs counted by level, ``counts[own][moderated]``, and the agencies whose grades
    they are (for the small-count rule). Every figure is computed from the counts."""

    counts: list[list[int]]
    agency_ids: set[int] = field(default_factory=set)
    n: int = 0
    order: tuple = ()  # where its row goes in a breakdown: the least of its parts'

    @classmethod
    def empty(cls, k: int) -> Tally:
        return cls([[0] * k for _ in range(k)])

    def add(self, own: int, moderated: int, agency_id: int, count: int, order: tuple) -> None:
        self.counts[own][moderated] += count
        self.agency_ids.add(agency_id)
        self.n += count
        self.order = min(self.order, order) if self.order else order


@dataclass(frozen=True)
class Counted:
    """One line of the grouped query: how many current decisions on one agency's grades
    for one key area (None: the overall grade) went from ``own`` to ``moderated``."""

    scale: Scale
    agency_id: int
    agency: str
    key_area: str | None
    key_area_position: int | None
    own: int
    moderated: int
    count: int


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _versions(template_id: int) -> Select[int]:
    return select(TemplateVersion.id).where(TemplateVersion.family_id == template_id)


def _titled(title: str) -> Select[int]:
    return select(KeyArea.id).where(KeyArea.title == title)


def _audits_seen(actor: Actor, filters: Filters) -> list[ColumnElement[bool]]:
    """The audits whose decisions count: moderated, the actor may see them, and the
    audit, template and date filters hold."""
    f = filters
    found: list[ColumnElement[bool]] = [Audit.status.in_(MODERATED_STATUSES), audit_scope(actor)]
    if f.audit_id:
        found.append(Audit.id == f.audit_id)
    if f.template_id:
        found.append(Audit.template_version_id.in_(_versions(f.template_id)))
    if f.theme:
        found.append(Audit.theme == f.theme)
    if f.subgroup_id:
        found.append(Audit.lead_subgroup_id == f.subgroup_id)
    if f.moderated_from:
        found.append(Audit.moderation_started_at >= _day_start(f.moderated_from))
    if f.moderated_to:
        found.append(Audit.moderation_started_at < _day_start(f.moderated_to + timedelta(days=1)))
    return found


def _decisions(filters: Filters, *, overall: bool | None) -> list[ColumnElement[bool]]:
    """Current decisions on cells with a self-grade, as the agency and key area filters
    say (the agency's is on the Return, which the query must join); ``overall``: True
    the overall grade only, False key areas only, None both (a key area filter, when
    set, decides instead)."""
    f = filters
    found: list[ColumnElement[bool]] = [
        ModeratedGrade.superseded_at.is_(None),
        ModeratedGrade.self_level_id.is_not(None),
    ]
    if f.agency_id:
        found.append(Return.agency_id == f.agency_id)
    if f.key_area == OVERALL or (overall and not f.key_area):
        found.append(ModeratedGrade.key_area_id.is_(None))
    elif f.key_area:
        found.append(ModeratedGrade.key_area_id.in_(_titled(f.key_area)))
    elif overall is False:
        found.append(ModeratedGrade.key_area_id.is_not(None))
    return found


@dataclass(frozen=True)
class _Tallied:
    """What the tally answers for a view: its whole months, and the conditions that
    pick the audits counted live beside it (one per part of the live query)."""

    span: tally.Span
    untallied: list[list[ColumnElement[bool]]]


def _tallied(session: Session, actor: Actor, filters: Filters) -> _Tallied | None:
    """What the tally answers for the view, or None when it cannot: an agency-bound
    actor sees only the audits their agency took part in, which the tally does not
    record, nor an audit's theme or lead subgroup (app/trends filters by them), and
    one audit's decisions are few (see the module's note)."""
    by_audit = filters.audit_id or filters.theme or filters.subgroup_id
    if by_audit or not isinstance(audit_scope(actor), True_):
        return None
    span = tally.Span.of(filters.moderated_from, filters.moderated_to)
    return _Tallied(span, tally.live(session, span))


def _tallied_decisions(filters: Filters) -> list[ColumnElement[bool]]:
    """``_decisions`` (both the key areas and the overall grade) on the tally."""
    f, t = filters, ModerationTally
    found: list[ColumnElement[bool]] = []
    if f.template_id:
        found.append(t.template_version_id.in_(_versions(f.template_id)))
    if f.agency_id:
        found.append(t.agency_id == f.agency_id)
    if f.key_area == OVERALL:
        found.append(t.cell == 0)
    elif f.key_area:
        found.append(t.cell.in_(_titled(f.key_area)))
    return found


def _tallied_audits(filters: Filters) -> list[ColumnElement[bool]]:
    """``_decisions`` (the key areas only, unless the filter picks the overall grade) on
    the tally of audits, whose rows for any agency or any key area have no id there.
    A key area is picked by title, and a template version's titles differ, so an
    audit has at most one key area of the title: its counts add up."""
    f, a = filters, AuditTally
    found: list[ColumnElement[bool]] = [
        a.agency_id == f.agency_id if f.agency_id else a.agency_id.is_(None)
    ]
    if f.template_id:
        found.append(a.template_version_id.in_(_versions(f.template_id)))
    if f.key_area == OVERALL:
        found.append(a.cell == 0)
    elif f.key_area:
        found.append(a.cell.in_(_titled(f.key_area)))
    else:
        found.append(a.cell.is_(None))
    return found


def _with_tally(
    session: Session, live: Select, tallied: Select | None, view: _Tallied
) -> list[Row]:
    """``live`` (grouped, on ``Audit``; its last column a count) over the audits the
    tally does not count, beside ``tallied``, the tally's rows of the same shape, summed
    by the other columns. One statement, so that both are read at one moment: an audit
    settling meanwhile is counted once, in one or the other."""
    parts = [live.where(*untallied) for untallied in view.untallied]
    found = union_all(*parts, *([tallied] if tallied is not None else [])).subquery()
    *key, n = found.c
    # PostgreSQL sums big integers as numerics: whole numbers here, read back as ints.
    return list(session.execute(select(*key, cast(func.sum(n), BigInteger)).group_by(*key)))


Grouped = tuple[int, int | None, int | None, int, int]  # agency, key area, own, moderated, n


def _grouped_counts(
    session: Session, actor: Actor, filters: Filters, view: _Tallied | None
) -> list[Grouped]:
    """The decisions grouped by agency, key area and the two grades: from the tally
    where it answers, the rest live (``view`` None: all live)."""
    stmt = (
        select(
            Return.agency_id,
            ModeratedGrade.key_area_id,
            ModeratedGrade.self_level_id,
            ModeratedGrade.level_id,
            func.count(),
        )
        .select_from(ModeratedGrade)
        .join(Return, Return.id == ModeratedGrade.return_id)
        .group_by(
            Return.agency_id,
            ModeratedGrade.key_area_id,
            ModeratedGrade.self_level_id,
            ModeratedGrade.level_id,
        )
    )
    stmt = stmt.join(Audit, Audit.id == ModeratedGrade.audit_id).where(
        *_audits_seen(actor, filters), *_decisions(filters, overall=None)
    )
    rows = (
        session.execute(stmt)
        if view is None
        else _with_tally(
            session, stmt, tally.decisions(view.span, _tallied_decisions(filters)), view
        )
    )
    return [(a, k, o, m, n) for a, k, o, m, n in rows]


def counted(
    session: Session, *, actor: Actor, filters: Filters, tallied: bool = True
) -> list[Counted]:
    """The current decisions the actor may see, as the filters say, counted by agency,
    key area and the two grades: a few hundred lines however many audits there are.
    Without a key area filter the overall grade's lines come too (``key_area`` None).
    ``tallied`` False groups every decision live, ignoring the tally (for the tests
    that prove both give the same lines)."""
    view = _tallied(session, actor, filters) if tallied else None
    return _counted(session, actor, filters, view)


def _counted(
    session: Session, actor: Actor, filters: Filters, view: _Tallied | None
) -> list[Counted]:
    rows = _grouped_counts(session, actor, filters, view)
    levels = _levels(session, {level for row in rows for level in row[2:4] if level is not None})
    areas = dict.fromkeys(row[1] for row in rows if row[1] is not None)
    titles = {
        key_area_id: (title, position)
        for key_area_id, title, position in session.execute(
            select(KeyArea.id, KeyArea.title, KeyArea.position).where(KeyArea.id.in_(areas))
        )
    }
    agencies = dict(
        session.execute(
            select(Agency.id, Agency.name).where(Agency.id.in_({row[0] for row in rows}))
        ).all()
    )
    found = []
    for agency_id, key_area_id, own_id, moderated_id, count in rows:
        assert own_id is not None  # the query asks for decisions with a self-grade
        scale, moderated = levels[moderated_id]
        title, position = titles[key_area_id] if key_area_id is not None else (None, None)
        found.append(
            Counted(
                scale,
                agency_id,
                agencies[agency_id],
                title,
                position,
                levels[own_id][1],
                moderated,
                count,
            )
        )
    return found


def _scales(session: Session, scale_ids: Iterable[int]) -> dict[int, Scale]:
    labels: dict[int, list[str]] = defaultdict(list)
    names: dict[int, str] = {}
    for scale_id, name, label in session.execute(
        select(GradingScale.id, GradingScale.name, GradeLevel.label)
        .join(GradeLevel, GradeLevel.scale_id == GradingScale.id)
        .where(GradingScale.id.in_(set(scale_ids)))
        .order_by(GradingScale.id, GradeLevel.position)
    ):
        names[scale_id] = name
        labels[scale_id].append(label)
    return {scale_id: Scale(names[scale_id], tuple(found)) for scale_id, found in labels.items()}


def _levels(session: Session, level_ids: set[int]) -> dict[int, tuple[Scale, int]]:
    """Each grade level's scale and position (0 the best)."""
    rows = session.execute(
        select(GradeLevel.id, GradeLevel.scale_id, GradeLevel.position).where(
            GradeLevel.id.in_(level_ids)
        )
    ).all()
    scales = _scales(session, {scale_id for _, scale_id, _ in rows})
    return {level_id: (scales[scale_id], position) for level_id, scale_id, position in rows}


def _audits(
    session: Session, actor: Actor, filters: Filters, view: _Tallied | None
) -> dict[Scale, int]:
    """How many audits have key-area grades (or those the key area filter picks) in the
    figures, by scale: the tally's count where it answers; each other audit seen asked
    once whether it has such a decision (an index look-up), rather than every decision
    read again. An audit's decisions are on its template version's one scale, and the
    counts of scales grouped together add up."""
    decided = select(ModeratedGrade.id).where(
        ModeratedGrade.audit_id == Audit.id, *_decisions(filters, overall=False)
    )
    if filters.agency_id:
        decided = decided.join(Return, Return.id == ModeratedGrade.return_id)
    stmt = (
        select(GradingScale.id, func.count())
        .select_from(Audit)
        .join(GradingScale, GradingScale.template_version_id == Audit.template_version_id)
        .where(*_audits_seen(actor, filters), decided.exists())
        .group_by(GradingScale.id)
    )
    rows = (
        list(session.execute(stmt))
        if view is None
        else _with_tally(session, stmt, tally.audits(view.span, _tallied_audits(filters)), view)
    )
    scales = _scales(session, {scale_id for scale_id, _ in rows})
    found: dict[Scale, int] = defaultdict(int)
    for scale_id, audits in rows:
        found[scales[scale_id]] += audits
    return found


def tables(session: Session, *, actor: Actor, filters: Filters) -> dict[Scale, list[list[int]]]:
    """The pairs' counts by scale (the key areas', or those the key area filter picks)."""
    found: dict[Scale, Tally] = {}
    for c in counted(session, actor=actor, filters=filters):
        if c.key_area is None and filters.key_area != OVERALL:
            continue
        tally = found.setdefault(c.scale, Tally.empty(len(c.scale.labels)))
        tally.add(c.own, c.moderated, c.agency_id, c.count, ())
    return {scale: tally.counts for scale, tally in found.items()}


class Viewer:
    """Who is looking, for the small-count rule."""

    def __init__(self, actor: Actor, threshold: int) -> None:
        self.actor, self.threshold = actor, threshold

    def may_see(self, found: Tally) -> bool:
        wide = self.actor.partnership_wide or self.actor.via == Via.SYSTEM
        if wide or found.n >= self.threshold:
            return True
        return self.owns(found)

    def owns(self, found: Tally) -> bool:
        """Every grade counted is the viewer's own agency's."""
        own = self.actor.agency_id
        return own is not None and found.agency_ids <= {own}

    def hidden(self, label: str, *, small: bool = True) -> dict:
        """A row not shown: a small count, or (``small=False``) one that would give a
        small count away."""
        shown_as = suppress.fewer_than(self.threshold) if small else suppress.NOT_SHOWN
        return {"label": label, "suppressed": True, "n": None, "shown_as": shown_as}

    def figures(self, label: str, found: Tally, weights: str) -> dict:
        """A row's figures (every coefficient with its reading), or "fewer than N"."""
        if not self.may_see(found):
            return self.hidden(label)
        summary = stats.summary_of(found.counts, weights)
        return {"label": label, "suppressed": False, **reading.annotate(summary)}


def _breakdown(by: dict[str, Tally], viewer: Viewer, weights: str) -> tuple[list[dict], bool]:
    """The rows, in order, and whether the whole set must be hidden too. A row hidden
    alone could be worked out as the whole set less the rows shown, so others are hidden
    with it (the smallest shown that are not the viewer's own agency's:
    app.identify.suppress); where there are none, the whole set is hidden instead."""
    ranked = sorted(by.items(), key=lambda item: item[1].order)
    hidden = {label for label, found in ranked if not viewer.may_see(found)}
    others, hide_total = suppress.complementary(
        {label: found.n for label, found in ranked},
        hidden,
        threshold=viewer.threshold,
        may_hide=lambda label: not viewer.owns(by[label]),
    )
    hidden |= others
    rows = [
        viewer.hidden(label, small=not viewer.may_see(found))
        if label in hidden
        else viewer.figures(label, found, weights)
        for label, found in ranked
    ]
    return rows, hide_total


@dataclass
class _Group:
    """One scale's tallies: the whole set, by key area and by agency, and the overall
    grades (counted apart, so no cell is counted twice)."""

    whole: Tally
    by_key_area: dict[str, Tally] = field(default_factory=dict)
    by_agency: dict[str, Tally] = field(default_factory=dict)
    overall: Tally | None = None


def _grouped(found: list[Counted], key_area: str | None) -> dict[Scale, _Group]:
    groups: dict[Scale, _Group] = {}
    overall: dict[Scale, Tally] = {}
    for c in found:
        k = len(c.scale.labels)
        if c.key_area is None and not key_area:
            tally = overall.setdefault(c.scale, Tally.empty(k))
            tally.add(c.own, c.moderated, c.agency_id, c.count, ())
            continue
        group = groups.setdefault(c.scale, _Group(Tally.empty(k)))
        group.whole.add(c.own, c.moderated, c.agency_id, c.count, ())
        area = c.key_area or OVERALL_TITLE
        # The template's order, the overall grade last.
        area_order = (c.key_area_position is None, c.key_area_position or 0, area)
        for by, label, order in (
            (group.by_key_area, area, area_order),
            (group.by_agency, c.agency, (c.agency,)),
        ):
            by.setdefault(label, Tally.empty(k)).add(
                c.own, c.moderated, c.agency_id, c.count, order
            )
    for scale, group in groups.items():
        group.overall = overall.get(scale)
    return groups


def report(session: Session, *, actor: Actor, filters: Filters, threshold: int = 5) -> dict:
    """Every figure, per scale: the whole set, then by agency (by name) and by key area
    (in the template's order, the overall grade last); headline sentences first, and
    rows of fewer than ``threshold`` (settings.small_count_threshold) grades suppressed
    for viewers outside them (see the module's note)."""
    view = _tallied(session, actor, filters)  # one look at what is tallied, for both
    groups = _grouped(_counted(session, actor, filters, view), filters.key_area)
    audits = _audits(session, actor, filters, view) if groups else {}
    viewer, weights = Viewer(actor, threshold), filters.weights
    out = []
    # The largest group first; scales of equal size by name, then levels.
    for scale, group in sorted(groups.items(), key=lambda g: (-g[1].whole.n, g[0].name)):
        by_key_area, hide_a = _breakdown(group.by_key_area, viewer, weights)
        by_agency, hide_b = _breakdown(group.by_agency, viewer, weights)
        if group.overall is not None:
            row = viewer.figures(OVERALL_TITLE, group.overall, weights)
            by_key_area.append({**row, "overall": True})
        whole = (
            viewer.hidden("All grades", small=False)
            if (hide_a or hide_b) and viewer.may_see(group.whole)
            else viewer.figures("All grades", group.whole, weights)
        )
        out.append(
            {
                "scale": scale.name,
                "levels": list(scale.labels),
                "audits": audits.get(scale, 0),
                "overall": whole,
                "by_agency": by_agency,
                "by_key_area": by_key_area,
            }
        )
    return {
        "pairs": sum(group.whole.n for group in groups.values()),
        "weights": weights,
        "threshold": threshold,
        "headlines": reading.headlines(out, threshold=threshold),
        "explanation": reading.EXPLANATION,
        "groups": out,
    }


def choices(session: Session, *, actor: Actor) -> dict:
    """What the filters can be set to: the agencies, templates and key areas of the
    moderated audits the actor may see. Each is asked whether such an audit exists (an
    index look-up per agency, template and template version), so the lists cost the
    same however many audits there are."""
    seen = [Audit.status.in_(MODERATED_STATUSES), audit_scope(actor)]
    # The agencies taking part: a few rows an audit, where their returns were a hundred
    # thousand an agency to look through at a million returns (50 ms). An alias: the
    # scope check reads audit_agency too, and must not correlate to this.
    taking_part = audit_agency.alias()
    took_part = (
        select(taking_part.c.audit_id)
        .join(Audit, Audit.id == taking_part.c.audit_id)
        .where(taking_part.c.agency_id == Agency.id, *seen)
    )
    agencies = session.execute(
        select(Agency.id, Agency.name).where(took_part.exists()).order_by(Agency.name)
    ).all()
    used = select(Audit.id).where(Audit.template_version_id == TemplateVersion.id, *seen)
    families = session.execute(
        select(TemplateFamily.id, TemplateFamily.name)
        .where(
            select(TemplateVersion.id)
            .where(TemplateVersion.family_id == TemplateFamily.id, used.exists())
            .exists()
        )
        .order_by(TemplateFamily.name)
    ).all()
    in_use = select(Audit.id).where(Audit.template_version_id == KeyArea.template_version_id, *seen)
    areas = session.scalars(
        select(KeyArea.title)
        .where(KeyArea.graded, in_use.exists())
        .group_by(KeyArea.title)
        .order_by(func.min(KeyArea.position), KeyArea.title)
    ).all()
    return {"agencies": agencies, "templates": families, "key_areas": areas}


def agreement_table(overall: dict, caption: str, *, readings: bool = False) -> Table:
    """How far moderation agreed with the agencies' own grades, with 95% intervals: the
    same table on the analytics page and in the subgroup report (``readings``: a last
    column with the Landis and Koch reading of each coefficient)."""
    shifts, n = overall["shifts"], overall["n"]
    last = ("",) if readings else ()

    def share(label: str, found: dict) -> tuple[Cell, ...]:
        return cells(
            label,
            percentage(found["estimate"]),
            interval(found["ci"], as_percentage=True),
            n,
            *last,
        )

    def coefficient(label: str, found: dict) -> tuple[Cell, ...]:
        said = (f"{found['band']} agreement" if found.get("band") else "–",) if readings else ()
        return cells(label, number(found["estimate"]), interval(found["ci"]), n, *said)

    notes = (
        (f"Kappa: {overall['weighted_kappa']['note']}",)
        if overall["weighted_kappa"].get("note")
        else ()
    )
    return Table(
        caption=caption,
        head=cells(
            "Measure", "Value", "95% interval", "Grades", *(("Reading",) if readings else ())
        ),
        rows=(
            share("Exact agreement with the agency's own grade", overall["agreement"]),
            share("Grades changed", shifts["changed"]),
            share("Lowered by the moderator", shifts["lowered"]),
            share("Raised by the moderator", shifts["raised"]),
            cells(
                "Mean shift in levels (+ means own grades were higher)",
                signed(shifts["mean_shift"]),
                interval(shifts["mean_shift_ci"]),
                n,
                *last,
            ),
            coefficient(
                f"Weighted kappa ({overall['weighted_kappa']['weights']})",
                overall["weighted_kappa"],
            ),
            coefficient("Gwet's AC1", overall["ac1"]),
        ),
        notes=notes,
    )


def levels_table(levels: list[str], own: list[int], moderated: list[int], caption: str) -> Table:
    """The agencies' own and the moderated grades, by level."""
    return Table(
        caption=caption,
        head=cells("Grade", "Own", "Moderated"),
        rows=tuple(cells(label, o, m) for label, o, m in zip(levels, own, moderated, strict=True)),
    )


def _with_reading(coefficient: dict) -> str:
    shown = number(coefficient["estimate"])
    if coefficient["estimate"] is None:
        return shown
    return f"{shown} ({interval(coefficient['ci'])}): {coefficient['band']}"


def breakdown_table(rows: list[dict], title: str, heading: str, weights: str) -> Table:
    """One row per agency or key area; a suppressed row says only "fewer than N"."""
    body = []
    for b in rows:
        if b["suppressed"]:
            body.append(cells(b["label"], b["shown_as"], *("–",) * 6))
            continue
        shifts = b["shifts"]
        body.append(
            cells(
                b["label"],
                b["n"],
                f"{percentage(b['agreement']['estimate'])} "
                f"({interval(b['agreement']['ci'], as_percentage=True)})",
                percentage(shifts["lowered"]["estimate"]),
                percentage(shifts["raised"]["estimate"]),
                signed(shifts["mean_shift"]),
                _with_reading(b["weighted_kappa"]),
                _with_reading(b["ac1"]),
            )
        )
    suppressed = sorted({b["shown_as"] for b in rows if b["suppressed"]})
    return Table(
        caption=f"{title}: agreement and shifts",
        head=cells(
            heading,
            "Grades",
            "Agreement (95% interval)",
            "Lowered",
            "Raised",
            "Mean shift",
            f"Weighted kappa, {weights} (95% interval): reading",
            "AC1 (95% interval): reading",
        ),
        rows=tuple(body),
        notes=tuple(
            f"Rows marked {said} are not shown: they hold another agency's grades, and so "
            "few that people could be recognised."
            for said in suppressed
        ),
    )
