"""Where an audit is in its life (planned, open, moderation, learning, closed), and the
tabs of every page about one audit: only those the viewer may use, by the route's rule
(``app.access.rules``) and the audit's stage. Not a page module: every domain's pages
draw it through the ``audit_navigation`` template global (``templates/audits/_audit_nav.html``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.access.policy import MODERATED_STATUSES, Actor, Permission
from app.access.rules import ROUTE_RULES
from app.audits.models import LIFE, Audit, AuditStatus
from app.errors import NotFound
from app.moderation import service as moderation

STAGE_LABELS = {
    AuditStatus.PLANNED: "Planned",
    AuditStatus.OPEN: "Open for returns",
    AuditStatus.MODERATION: "Moderation",
    AuditStatus.LEARNING: "Learning",
    AuditStatus.CLOSED: "Closed",
}
STARTED = frozenset(LIFE) - {AuditStatus.PLANNED}  # returns, findings and actions exist
LEARNT = frozenset({AuditStatus.LEARNING, AuditStatus.CLOSED})  # briefings are drafted


@dataclass(frozen=True)
class Stage:
    label: str
    state: str  # "done", "current" or "to_come"


def stages(audit: Audit) -> list[Stage]:
    """Each stage of the audit's life, marked done, current or to come."""
    at = LIFE.index(audit.status)
    return [
        Stage(STAGE_LABELS[s], "done" if n < at else "current" if n == at else "to_come")
        for n, s in enumerate(LIFE)
    ]


def moderation_visible(actor: Actor, audit: Audit) -> bool:
    """Whether the actor may see the audit's moderation grid now (its route's rule, and
    the moderation service's stage rule)."""
    if not actor.may(ROUTE_RULES["moderation.workspace"]):
        return False
    try:
        moderation.check_visible(actor, audit)
    except NotFound:
        return False
    return True


@dataclass(frozen=True)
class Tab:
    label: str
    route: str
    params: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    current: bool = False


def _in(statuses: frozenset[AuditStatus]) -> Callable[[Actor, Audit], bool]:
    return lambda _actor, audit: audit.status in statuses


# (label, the route it links to, whether the audit is a path parameter or a filter,
# the routes it is current for (a name, or a prefix ending in "."; the closest match
# wins), when the audit has it)
_TABS: tuple[tuple[str, str, str, tuple[str, ...], Callable[[Actor, Audit], bool]], ...] = (
    ("Overview", "audits.overview", "path", ("audits.overview",), lambda _a, _b: True),
    ("Returns", "audits.returns", "path", ("audits.returns",), _in(STARTED)),
    (
        "Moderation",
        "moderation.workspace",
        "path",
        ("moderation.",),  # the grid, a cell, the meeting, opening and finishing
        moderation_visible,
    ),
    ("Findings", "findings.list", "path", ("findings.",), _in(STARTED)),
    ("Actions", "actions.tracker", "filter", ("actions.tracker",), _in(STARTED)),
    # Editors find the audit's drafts; everyone else its published briefings.
    ("Briefings", "briefings.list", "filter", ("briefings.list", "briefings.new"), _in(LEARNT)),
    (
        "Briefings",
        "briefings.library",
        "filter",
        ("briefings.library",),
        lambda actor, audit: audit.status in LEARNT and not actor.may(Permission.BRIEFING_EDIT),
    ),
    (
        "Analytics",
        "moderation.audit_analytics",
        "path",
        ("moderation.audit_analytics",),
        _in(frozenset(MODERATED_STATUSES)),
    ),
)


def _closeness(route: str, current_for: tuple[str, ...]) -> int:
    return max(
        (len(p) for p in current_for if route == p or (p.endswith(".") and route.startswith(p))),
        default=0,
    )


def tabs(actor: Actor, audit: Audit, route: str) -> list[Tab]:
    """The tabs of the audit's pages this actor may use at its stage; the one whose
    routes match ``route`` (the page's route name) most closely is current."""
    shown = [
        entry for entry in _TABS if actor.may(ROUTE_RULES[entry[1]]) and entry[4](actor, audit)
    ]
    closest = max((_closeness(route, entry[3]) for entry in shown), default=0)
    where = {"audit_id": audit.id}
    return [
        Tab(
            label,
            name,
            params=where if by == "path" else {},
            query=where if by == "filter" else {},
            current=closest > 0 and _closeness(route, current_for) == closest,
        )
        for label, name, by, current_for, _shown in shown
    ]
