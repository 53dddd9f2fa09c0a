"""Moderation in the demo: decisions the way a QAPP meeting makes them. Most grades are
agreed; some are lowered (self-grades are often generous), a few raised, each change
with a rationale."""

from __future__ import annotations

import random

from sqlalchemy.orm import Session

from app.access.policy import Actor
from app.audits.models import Audit
from app.moderation import lifecycle, service

LOWERED = [
    "The record does not show the child was seen alone, so the practice cannot be judged good.",
    "No strategy discussion is recorded although the threshold was met; the agency's own "
    "evidence describes a delay of several days.",
    "The evidence describes what was planned but not whether it happened or made a difference.",
    "Information held by this agency was not shared with the lead agency until the conference.",
]
RAISED = [
    "The evidence shows consistently child-focused practice beyond what the agency credited "
    "itself with.",
    "The agency's record of the child's own words is exemplary and shaped the plan.",
]


def moderate(
    session: Session,
    *,
    audit: Audit,
    moderator: Actor,
    rng: random.Random,
    share: float = 1.0,
    finish: bool = False,
    lowered: float = 0.25,
) -> None:
    """Open moderation and decide ``share`` of the cells, about ``lowered`` of them a
    level lower than the agency's own grade; finish if asked (and done)."""
    lifecycle.open_moderation(session, audit=audit)
    found = service.grid(session, actor=moderator, audit=audit)
    levels = found.version.grade_levels
    cells = sorted(found.cells.values(), key=lambda c: (c.child_id, c.agency_id, c.cell))
    for cell in cells[: round(len(cells) * share)]:
        own = cell.self_level.position if cell.self_level else 1
        draw = rng.random()
        if draw < lowered and own < len(levels) - 1:
            position, rationale = own + 1, rng.choice(LOWERED)
        elif draw > 0.93 and own > 0:
            position, rationale = own - 1, rng.choice(RAISED)
        else:
            position, rationale = own, ""
        service.decide(
            session,
            audit=audit,
            return_=found.returns[cell.return_id],
            cell=cell.cell,
            level_code=levels[position].code,
            rationale=rationale,
            actor=moderator,
        )
    if finish:
        lifecycle.finish(session, actor=moderator, audit=audit)
