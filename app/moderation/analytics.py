"""What moderation shows, for one audit or pooled across audits: how agencies' own
grades compare with the moderated ones (distribution, share changed, direction and
mean shift, agreement, weighted kappa and Gwet's AC1, each with n and a 95% interval),
overall and by agency and key area.

Pairs are the current decisions on cells that had a self-grade. The overall grade is
left out of the figures unless asked for by itself, so no cell is counted twice; it
has its own row, last, in the key areas' breakdown, which follows the template's
order. Pairs on different scales are never pooled: each scale is its own group.

Small counts: a viewer outside the partnership-wide roles sees a row (an agency, a key
area, or the whole set) of fewer than ``threshold`` grades only when every grade in it
is their own agency's; otherwise the row says "fewer than N" and nothing else.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.access.policy import MODERATED_STATUSES, Actor, Via, audit_scope
from app.agencies.models import Agency
from app.audit_templates.models import (
    GradeLevel,
    GradingScale,
    KeyArea,
    TemplateFamily,
    TemplateVersion,
)
from app.audits.models import Audit
from app.formatting import interval, number, percentage, signed
from app.identify import suppress
from app.moderation import reading, stats
from app.moderation.models import ModeratedGrade
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


@dataclass(frozen=True)
class Pair:
    audit_id: int
    agency: str
    key_area: str
    own: int
    moderated: int
    scale: str
    labels: tuple[str, ...]
    agency_id: int = 0
    position: int | None = None  # the key area's place in its template; None: overall


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def pairs(session: Session, *, actor: Actor, filters: Filters) -> list[Pair]:
    """The (own, moderated) grade positions the actor may see, as the filters say."""
    own, moderated = aliased(GradeLevel), aliased(GradeLevel)
    stmt = (
        select(
            Audit.id,
            Agency.name,
            KeyArea.title,
            own.position,
            moderated.position,
            GradingScale.id,
            GradingScale.name,
            Agency.id,
            KeyArea.position,
        )
        .select_from(ModeratedGrade)
        .join(own, own.id == ModeratedGrade.self_level_id)
        .join(moderated, moderated.id == ModeratedGrade.level_id)
        .join(GradingScale, GradingScale.id == moderated.scale_id)
        .join(Return, Return.id == ModeratedGrade.return_id)
        .join(Agency, Agency.id == Return.agency_id)
        .join(Audit, Audit.id == ModeratedGrade.audit_id)
        .join(TemplateVersion, TemplateVersion.id == Audit.template_version_id)
        .outerjoin(KeyArea, KeyArea.id == ModeratedGrade.key_area_id)
        .where(
            ModeratedGrade.superseded_at.is_(None),
            Audit.status.in_(MODERATED_STATUSES),
            audit_scope(actor),
        )
        .order_by(ModeratedGrade.id)
    )
    f = filters
    if f.audit_id:
        stmt = stmt.where(Audit.id == f.audit_id)
    if f.agency_id:
        stmt = stmt.where(Return.agency_id == f.agency_id)
    if f.template_id:
        stmt = stmt.where(TemplateVersion.family_id == f.template_id)
    if f.key_area == OVERALL:
        stmt = stmt.where(ModeratedGrade.key_area_id.is_(None))
    elif f.key_area:
        stmt = stmt.where(KeyArea.title == f.key_area)
    else:
        stmt = stmt.where(ModeratedGrade.key_area_id.is_not(None))
    if f.moderated_from:
        stmt = stmt.where(Audit.moderation_started_at >= _day_start(f.moderated_from))
    if f.moderated_to:
        stmt = stmt.where(
            Audit.moderation_started_at < _day_start(f.moderated_to + timedelta(days=1))
        )
    rows = session.execute(stmt).all()
    labels = _scale_labels(session, {row[5] for row in rows})
    return [
        Pair(
            audit_id,
            agency,
            area or OVERALL_TITLE,
            o,
            m,
            scale,
            labels[scale_id],
            agency_id,
            position,
        )
        for audit_id, agency, area, o, m, scale_id, scale, agency_id, position in rows
    ]


def _scale_labels(session: Session, scale_ids: set[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = defaultdict(list)
    if scale_ids:
        for scale_id, label in session.execute(
            select(GradeLevel.scale_id, GradeLevel.label)
            .where(GradeLevel.scale_id.in_(scale_ids))
            .order_by(GradeLevel.scale_id, GradeLevel.position)
        ):
            found[scale_id].append(label)
    return {k: tuple(v) for k, v in found.items()}


class Viewer:
    """Who is looking, for the small-count rule."""

    def __init__(self, actor: Actor, threshold: int) -> None:
        self.actor, self.threshold = actor, threshold

    def may_see(self, found: list[Pair]) -> bool:
        wide = self.actor.partnership_wide or self.actor.via == Via.SYSTEM
        if wide or len(found) >= self.threshold:
            return True
        own = self.actor.agency_id
        return own is not None and all(p.agency_id == own for p in found)

    def hidden(self, label: str, *, small: bool = True) -> dict:
        """A row not shown: a small count, or (``small=False``) one that would give a
        small count away."""
        shown_as = suppress.fewer_than(self.threshold) if small else suppress.NOT_SHOWN
        return {"label": label, "suppressed": True, "n": None, "shown_as": shown_as}

    def figures(self, label: str, found: list[Pair], k: int, weights: str) -> dict:
        """A row's figures (every coefficient with its reading), or "fewer than N"."""
        if not self.may_see(found):
            return self.hidden(label)
        summary = stats.summary([(p.own, p.moderated) for p in found], k, weights)
        return {"label": label, "suppressed": False, **reading.annotate(summary)}


def _area_order(p: Pair) -> tuple:
    return (p.position is None, p.position or 0, p.key_area)


def _breakdown(
    group: list[Pair], key: Callable[[Pair], str], order, viewer: Viewer, k: int, weights: str
) -> tuple[list[dict], bool]:
    """The rows, and whether the whole set must be hidden too. A row hidden alone
    could be worked out as the whole set less the rows shown, so others are hidden with
    it (the smallest shown that are not the viewer's own agency's: app.identify.suppress);
    where there are none, the whole set is hidden instead."""
    by: dict[str, list[Pair]] = defaultdict(list)
    for p in group:
        by[key(p)].append(p)
    ranked = sorted(by.items(), key=lambda item: min(order(p) for p in item[1]))
    hidden = {label for label, found in ranked if not viewer.may_see(found)}
    own = viewer.actor.agency_id
    others, hide_total = suppress.complementary(
        {label: len(found) for label, found in ranked},
        hidden,
        threshold=viewer.threshold,
        may_hide=lambda label: not all(p.agency_id == own for p in by[label]),
    )
    hidden |= others
    rows = [
        viewer.hidden(label, small=not viewer.may_see(found))
        if label in hidden
        else viewer.figures(label, found, k, weights)
        for label, found in ranked
    ]
    return rows, hide_total


def report(session: Session, *, actor: Actor, filters: Filters, threshold: int = 5) -> dict:
    """Every figure, per scale: the whole set, then by agency (by name) and by key area
    (in the template's order, the overall grade last); headline sentences first, and
    rows of fewer than ``threshold`` (settings.small_count_threshold) grades suppressed
    for viewers outside them (see the module's note)."""
    found = pairs(session, actor=actor, filters=filters)
    overall_grades: dict[tuple[str, tuple[str, ...]], list[Pair]] = defaultdict(list)
    if not filters.key_area:
        for p in pairs(session, actor=actor, filters=replace(filters, key_area=OVERALL)):
            overall_grades[(p.scale, p.labels)].append(p)
    groups: dict[tuple[str, tuple[str, ...]], list[Pair]] = defaultdict(list)
    for p in found:
        groups[(p.scale, p.labels)].append(p)
    viewer, weights = Viewer(actor, threshold), filters.weights
    out = []
    for (scale, labels), group in sorted(groups.items(), key=lambda g: -len(g[1])):
        k = len(labels)
        by_key_area, hide_a = _breakdown(
            group, lambda p: p.key_area, _area_order, viewer, k, weights
        )
        by_agency, hide_b = _breakdown(
            group, lambda p: p.agency, lambda p: p.agency, viewer, k, weights
        )
        if overall_grades[(scale, labels)]:
            row = viewer.figures(OVERALL_TITLE, overall_grades[(scale, labels)], k, weights)
            by_key_area.append({**row, "overall": True})
        whole = (
            viewer.hidden("All grades", small=False)
            if (hide_a or hide_b) and viewer.may_see(group)
            else viewer.figures("All grades", group, k, weights)
        )
        out.append(
            {
                "scale": scale,
                "levels": list(labels),
                "audits": len({p.audit_id for p in group}),
                "overall": whole,
                "by_agency": by_agency,
                "by_key_area": by_key_area,
            }
        )
    return {
        "pairs": len(found),
        "weights": weights,
        "threshold": threshold,
        "headlines": reading.headlines(out, threshold=threshold),
        "explanation": reading.EXPLANATION,
        "groups": out,
    }


def choices(session: Session, *, actor: Actor) -> dict:
    """What the filters can be set to: the agencies, templates and key areas that have
    moderated grades the actor may see."""
    visible = (
        select(Audit.id)
        .where(Audit.status.in_(MODERATED_STATUSES), audit_scope(actor))
        .scalar_subquery()
    )
    agencies = session.execute(
        select(Agency.id, Agency.name)
        .join(Return, Return.agency_id == Agency.id)
        .where(Return.audit_id.in_(visible))
        .distinct()
        .order_by(Agency.name)
    ).all()
    families = session.execute(
        select(TemplateFamily.id, TemplateFamily.name)
        .join(TemplateVersion, TemplateVersion.family_id == TemplateFamily.id)
        .join(Audit, Audit.template_version_id == TemplateVersion.id)
        .where(Audit.id.in_(visible))
        .distinct()
        .order_by(TemplateFamily.name)
    ).all()
    areas = session.scalars(
        select(KeyArea.title)
        .join(Audit, Audit.template_version_id == KeyArea.template_version_id)
        .where(Audit.id.in_(visible), KeyArea.graded)
        .group_by(KeyArea.title)
        .order_by(func.min(KeyArea.position), KeyArea.title)
    ).all()
    audits_ = session.execute(
        select(Audit.id, Audit.title).where(Audit.id.in_(visible)).order_by(Audit.title)
    ).all()
    return {
        "agencies": agencies,
        "templates": families,
        "key_areas": areas,
        "audits": audits_,
    }


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
