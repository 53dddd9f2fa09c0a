"""What moderation shows, for one audit or pooled across audits: how agencies' own
grades compare with the moderated ones (distribution, share changed, direction and
mean shift, agreement, weighted kappa and Gwet's AC1, each with n and a 95% interval),
overall and by agency and key area.

Pairs are the current decisions on cells that had a self-grade. The overall grade is
left out unless asked for by itself, so no cell is counted twice. Pairs on different
scales are never pooled: each scale is its own group.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.access.policy import MODERATED_STATUSES, Actor, audit_scope
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
from app.moderation import stats
from app.moderation.models import ModeratedGrade
from app.returns.models import Return
from app.tables import Cell, Table, cells

OVERALL = "overall"


@dataclass(frozen=True)
class Filters:
    audit_id: int | None = None
    agency_id: int | None = None
    template_id: int | None = None  # a template family: every version of it
    key_area: str | None = None  # a key area's title (across versions), or "overall"
    moderated_from: date | None = None  # by the day moderation opened
    moderated_to: date | None = None


@dataclass(frozen=True)
class Pair:
    audit_id: int
    agency: str
    key_area: str
    own: int
    moderated: int
    scale: str
    labels: tuple[str, ...]


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
        Pair(audit_id, agency, area or "Overall grade", o, m, scale, labels[scale_id])
        for audit_id, agency, area, o, m, scale_id, scale in rows
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


def _breakdown(group: list[Pair], key, k: int) -> list[dict]:
    by: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for p in group:
        by[key(p)].append((p.own, p.moderated))
    return [{"label": label, **stats.summary(found, k)} for label, found in sorted(by.items())]


def report(session: Session, *, actor: Actor, filters: Filters) -> dict:
    """Every figure, per scale: the whole set, then by agency and by key area."""
    found = pairs(session, actor=actor, filters=filters)
    groups: dict[tuple[str, tuple[str, ...]], list[Pair]] = defaultdict(list)
    for p in found:
        groups[(p.scale, p.labels)].append(p)
    out = []
    for (scale, labels), group in sorted(groups.items(), key=lambda g: -len(g[1])):
        k = len(labels)
        out.append(
            {
                "scale": scale,
                "levels": list(labels),
                "audits": len({p.audit_id for p in group}),
                "overall": stats.summary([(p.own, p.moderated) for p in group], k),
                "by_agency": _breakdown(group, lambda p: p.agency, k),
                "by_key_area": _breakdown(group, lambda p: p.key_area, k),
            }
        )
    return {"pairs": len(found), "groups": out}


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
        .distinct()
        .order_by(KeyArea.title)
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


def agreement_table(overall: dict, caption: str) -> Table:
    """How far moderation agreed with the agencies' own grades, with 95% intervals: the
    same table on the analytics page and in the subgroup report."""
    shifts, n = overall["shifts"], overall["n"]

    def share(label: str, found: dict) -> tuple[Cell, ...]:
        return cells(
            label, percentage(found["estimate"]), interval(found["ci"], as_percentage=True), n
        )

    def coefficient(label: str, found: dict) -> tuple[Cell, ...]:
        return cells(label, number(found["estimate"]), interval(found["ci"]), n)

    notes = (
        (f"Kappa: {overall['weighted_kappa']['note']}",)
        if overall["weighted_kappa"].get("note")
        else ()
    )
    return Table(
        caption=caption,
        head=cells("Measure", "Value", "95% interval", "Grades"),
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
            ),
            coefficient("Weighted kappa (quadratic)", overall["weighted_kappa"]),
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
