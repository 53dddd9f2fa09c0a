"""Moderation's figures as they were computed pair by pair, before they came from
tables of counts: app/moderation/stats.py (the statistics) and
app/moderation/analytics.py (the query and the report) at commit 75c1ce4, kept as the
reference the counted path must agree with, figure for figure.

Not used by the service. What did not change (the Wilson and t intervals, the weight
matrices, rounding for JSON, the filters, the readings, small-count suppression) is
imported rather than copied.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from statistics import fmean, stdev

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
from app.identify import suppress
from app.moderation import reading
from app.moderation.analytics import OVERALL, OVERALL_TITLE, Filters
from app.moderation.models import ModeratedGrade
from app.moderation.stats import (
    CONFIDENCE,
    WEIGHTS,
    Coefficient,
    Distribution,
    Proportion,
    Shifts,
    Weights,
    _interval,
    _jsonable,
    _undefined,
    _zero_se,
    t_quantile,
    weight_matrix,
    wilson_interval,
)
from app.returns.models import Return

Positions = tuple[int, int]


def _check(pairs: Sequence[Positions], k: int) -> None:
    if k < 1:
        raise ValueError("k must be at least 1")
    for pair in pairs:
        if not all(0 <= position < k for position in pair):
            raise ValueError(f"position outside 0..{k - 1}: {pair}")


def _table(pairs: Sequence[Positions], k: int) -> list[list[float]]:
    """Proportions: rows the self grade, columns the moderated grade."""
    table = [[0.0] * k for _ in range(k)]
    for own, moderated in pairs:
        table[own][moderated] += 1 / len(pairs)
    return table


def agreement(pairs: Sequence[Positions], k: int) -> Proportion:
    """Share of pairs where the moderator kept the agency's grade, Wilson 95% interval."""
    _check(pairs, k)
    n = len(pairs)
    agreed = sum(own == moderated for own, moderated in pairs)
    return Proportion(agreed, n, agreed / n if n else None, wilson_interval(agreed, n))


def shifts(pairs: Sequence[Positions]) -> Shifts:
    n = len(pairs)
    moves = [moderated - own for own, moderated in pairs]

    def share(count: int) -> Proportion:
        return Proportion(count, n, count / n if n else None, wilson_interval(count, n))

    mean = fmean(moves) if n else None
    sd = stdev(moves) if n >= 2 else None
    ci = None
    if sd is not None and mean is not None:
        half = t_quantile(0.5 + CONFIDENCE / 2, n - 1) * sd / math.sqrt(n)
        ci = (mean - half, mean + half)
    return Shifts(
        n=n,
        changed=share(sum(move != 0 for move in moves)),
        raised=share(sum(move < 0 for move in moves)),
        lowered=share(sum(move > 0 for move in moves)),
        mean_shift=mean,
        sd=sd,
        mean_shift_ci=ci,
    )


def distribution(positions: Sequence[int], k: int) -> Distribution:
    counts = [0] * k
    for position in positions:
        if not 0 <= position < k:
            raise ValueError(f"position outside 0..{k - 1}: {position}")
        counts[position] += 1
    return Distribution(len(positions), tuple(counts))


def weighted_kappa(
    pairs: Sequence[Positions], k: int, weights: Weights = "quadratic"
) -> Coefficient:
    """Cohen's kappa (weighted unless ``weights`` is "unweighted"/None) with the
    Fleiss, Cohen & Everitt (1969) large-sample standard error and a 95% interval."""
    _check(pairs, k)
    label, w = weight_matrix(weights, k)
    name = "Cohen's kappa" if label == "unweighted" else "Weighted kappa"
    n = len(pairs)
    if n == 0:
        return _undefined(name, label, 0, "No pairs to compare.")
    p = _table(pairs, k)
    rows = [sum(p[i]) for i in range(k)]
    cols = [sum(p[i][j] for i in range(k)) for j in range(k)]
    po = sum(w[i][j] * p[i][j] for i in range(k) for j in range(k))
    pe = sum(w[i][j] * rows[i] * cols[j] for i in range(k) for j in range(k))
    if 1 - pe < 1e-12:
        return _undefined(
            name,
            label,
            n,
            "Undefined: every grade, self and moderated, is in one category, so "
            "agreement expected by chance is 100%. Read the raw agreement and AC1 instead.",
            po,
            pe,
        )
    kappa = (po - pe) / (1 - pe)
    # w-bar_i. and w-bar_.j of Fleiss, Cohen & Everitt: each row's (column's) weights
    # averaged over the other rater's margin.
    row_bar = [sum(cols[j] * w[i][j] for j in range(k)) for i in range(k)]
    col_bar = [sum(rows[i] * w[i][j] for i in range(k)) for j in range(k)]
    inner = sum(
        p[i][j] * (w[i][j] * (1 - pe) - (row_bar[i] + col_bar[j]) * (1 - po)) ** 2
        for i in range(k)
        for j in range(k)
    )
    variance = (inner - (po * pe - 2 * pe + po) ** 2) / (n * (1 - pe) ** 4)
    se = math.sqrt(max(variance, 0.0))
    return Coefficient(name, label, n, kappa, se, _interval(kappa, se), po, pe, _zero_se(se))


def _gwet(pairs: Sequence[Positions], k: int, weights: Weights, name: str) -> Coefficient:
    """Gwet's AC1 (identity weights) or AC2 and its two-rater variance (Gwet 2008;
    the weighted form as in Gwet's Handbook and his irrCAC package), N infinite."""
    _check(pairs, k)
    label, w = weight_matrix(weights, k)
    n = len(pairs)
    if n == 0:
        return _undefined(name, label, 0, "No pairs to compare.")
    if k < 2:
        return _undefined(name, label, n, "Undefined: the scale has a single level.")
    p = _table(pairs, k)
    pi = [(sum(p[i]) + sum(p[j][i] for j in range(k))) / 2 for i in range(k)]
    total_w = sum(map(sum, w))
    scale = total_w / (k * (k - 1))
    pa = sum(w[i][j] * p[i][j] for i in range(k) for j in range(k))
    pe = scale * sum(q * (1 - q) for q in pi)
    if 1 - pe < 1e-12:
        return _undefined(name, label, n, "Undefined: chance agreement is 100%.", pa, pe)
    gamma = (pa - pe) / (1 - pe)
    inner = sum(
        p[i][j] * (w[i][j] - 2 * (1 - gamma) * scale * (1 - (pi[i] + pi[j]) / 2)) ** 2
        for i in range(k)
        for j in range(k)
    )
    variance = (inner - (pa - 2 * (1 - gamma) * pe) ** 2) / (n * (1 - pe) ** 2)
    se = math.sqrt(max(variance, 0.0))
    return Coefficient(name, label, n, gamma, se, _interval(gamma, se), pa, pe, _zero_se(se))


def gwet_ac1(pairs: Sequence[Positions], k: int) -> Coefficient:
    """Gwet's AC1: chance-corrected like kappa, but stable when one grade dominates
    (the "kappa paradox"), which is common when most practice is graded Good."""
    return _gwet(pairs, k, "unweighted", "Gwet's AC1")


def gwet_ac2(pairs: Sequence[Positions], k: int, weights: Weights = "quadratic") -> Coefficient:
    return _gwet(pairs, k, weights, "Gwet's AC2")


def summary(pairs: Sequence[Positions], k: int, weights: str = WEIGHTS[0]) -> dict:
    """Every statistic for one set of pairs, as plain JSON values (floats to 4 places,
    intervals as [low, high], None where a figure cannot be given); ``weights``
    ("quadratic" or "linear") for the weighted kappa and AC2."""
    _check(pairs, k)
    if weights not in WEIGHTS:
        raise ValueError(f"unknown weights: {weights}")
    return {
        "n": len(pairs),
        "k": k,
        "agreement": _jsonable(agreement(pairs, k)),
        "shifts": _jsonable(shifts(pairs)),
        "self_distribution": _jsonable(distribution([own for own, _ in pairs], k)),
        "moderated_distribution": _jsonable(distribution([mod for _, mod in pairs], k)),
        "weighted_kappa": _jsonable(weighted_kappa(pairs, k, weights)),
        "kappa": _jsonable(weighted_kappa(pairs, k, "unweighted")),
        "ac1": _jsonable(gwet_ac1(pairs, k)),
        "ac2": _jsonable(gwet_ac2(pairs, k, weights)),
        "confidence": CONFIDENCE,
    }


# -- the report, from pairs loaded one by one (app/moderation/analytics.py at 75c1ce4) --


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
        figures = summary([(p.own, p.moderated) for p in found], k, weights)
        return {"label": label, "suppressed": False, **reading.annotate(figures)}


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
