"""Findings and the theme list they are tagged with.

A finding belongs to one audit and may be about one key area of the audit's own
template version, one agency taking part, or one child of its cohort: anything else
is refused field by field (422). A finding about a child is seen only by those who
may see that child (``child_scope``), like the child's returns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.access.policy import Actor, audit_scope, child_scope
from app.actions.models import action_finding
from app.audit_templates.models import KeyArea, SectionKind
from app.auditlog import service as auditlog
from app.audits.models import Audit, AuditStatus, Child
from app.clock import utcnow
from app.db import get_or_404
from app.errors import Conflict, FieldError, InvalidInput, NotFound, StateError
from app.findings.models import Finding, FindingKind, Theme, finding_theme
from app.identify import entry

# Findings are drawn from returns: not before there are any, nor once the audit closes.
FINDINGS_OPEN = frozenset({AuditStatus.OPEN, AuditStatus.MODERATION, AuditStatus.LEARNING})

# --- themes ---------------------------------------------------------------------------


def list_themes(session: Session, *, active: bool | None = None) -> list[Theme]:
    stmt = select(Theme).order_by(Theme.name)
    if active is not None:
        stmt = stmt.where(Theme.active == active)
    return list(session.scalars(stmt))


def get_theme(session: Session, *, theme_id: int) -> Theme:
    return get_or_404(session, Theme, theme_id, what="theme")


def _check_theme_name(session: Session, name: str, exclude: int | None = None) -> None:
    stmt = select(Theme.id).where(func.lower(Theme.name) == name.lower())
    if exclude is not None:
        stmt = stmt.where(Theme.id != exclude)
    if session.scalar(stmt) is not None:
        raise Conflict(
            f"There is already a theme called '{name}'.",
            fields=[FieldError("name", "A theme with this name already exists")],
        )


def create_theme(session: Session, *, name: str) -> Theme:
    """Add a theme to the list; names are unique whatever their case."""
    _check_theme_name(session, name)
    theme = Theme(name=name, active=True)
    session.add(theme)
    session.flush()
    auditlog.record(
        session,
        action="theme.create",
        object_type="theme",
        object_id=theme.id,
        after={"name": theme.name, "active": True},
    )
    return theme


def update_theme(session: Session, *, theme: Theme, changes: dict) -> Theme:
    """Rename or (de)activate a theme. Findings keep a deactivated theme; it is only
    no longer offered for new tags."""
    if "name" in changes:
        _check_theme_name(session, changes["name"], exclude=theme.id)
    with auditlog.changing(
        session,
        theme,
        action="theme.update",
        object_type="theme",
        view=lambda t: {"name": t.name, "active": t.active},
    ):
        for key, value in changes.items():
            setattr(theme, key, value)
    return theme


# --- findings -------------------------------------------------------------------------

FINDING_LOAD = (
    selectinload(Finding.themes),
    joinedload(Finding.key_area),
    joinedload(Finding.agency),
    joinedload(Finding.child),
)


def _child_visible(actor: Actor):
    return or_(
        Finding.child_id.is_(None), Finding.child_id.in_(select(Child.id).where(child_scope(actor)))
    )


# The findings list's sortable columns (a key, descending with a leading "-"); by kind
# (areas for improvement first), then as recorded, unless sorted.
FINDING_SORTS = {
    "id": Finding.id,
    "kind": Finding.kind,
    "statement": func.lower(Finding.statement),
}


def list_findings(
    session: Session,
    *,
    actor: Actor,
    audit: Audit,
    kind: FindingKind | None = None,
    theme_id: int | None = None,
    q: str | None = None,
    sort: str = "kind",
) -> list[Finding]:
    """The audit's findings the actor may see, of one kind, tagged with one theme, or
    with ``q`` in their statement when asked; sorted by a key of FINDING_SORTS."""
    key = sort.removeprefix("-")
    column = FINDING_SORTS[key]
    stmt = select(Finding).where(Finding.audit_id == audit.id, _child_visible(actor))
    if kind is not None:
        stmt = stmt.where(Finding.kind == kind)
    if theme_id is not None:
        stmt = stmt.where(
            select(finding_theme.c.finding_id)
            .where(finding_theme.c.finding_id == Finding.id, finding_theme.c.theme_id == theme_id)
            .exists()
        )
    if q:
        stmt = stmt.where(func.lower(Finding.statement).contains(q.lower(), autoescape=True))
    return list(
        session.scalars(
            stmt.order_by(
                column.desc() if sort.startswith("-") else column.asc(), Finding.id
            ).options(*FINDING_LOAD)
        )
    )


def count_findings(session: Session, *, actor: Actor, audit: Audit) -> int:
    """How many of the audit's findings the actor may see."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Finding)
            .where(Finding.audit_id == audit.id, _child_visible(actor))
        )
        or 0
    )


def get_finding(session: Session, *, finding_id: int, actor: Actor) -> Finding:
    finding = session.scalar(
        select(Finding)
        .join(Audit, Audit.id == Finding.audit_id)
        .where(Finding.id == finding_id, audit_scope(actor), _child_visible(actor))
        .options(*FINDING_LOAD)
    )
    if finding is None:
        raise NotFound(f"There is no finding with id {finding_id}.")
    return finding


def action_ids(session: Session, *, finding_ids: list[int]) -> dict[int, list[int]]:
    """The learning actions linked to each finding."""
    out: dict[int, list[int]] = defaultdict(list)
    rows = session.execute(
        select(action_finding.c.finding_id, action_finding.c.action_id)
        .where(action_finding.c.finding_id.in_(finding_ids))
        .order_by(action_finding.c.action_id)
    )
    for finding_id, action_id in rows:
        out[finding_id].append(action_id)
    return out


def _require_open(audit: Audit) -> None:
    if audit.status not in FINDINGS_OPEN:
        raise StateError(
            f"This audit is {audit.status.value}: findings are recorded from when it opens "
            "until it closes."
        )


def _check_about(
    session: Session,
    audit: Audit,
    *,
    key_area_id: int | None,
    agency_id: int | None,
    child_id: int | None,
) -> list[FieldError]:
    """What the finding is about must belong to the audit (``audit.agencies`` loaded)."""
    problems = []
    if key_area_id is not None:
        key_area = session.get(KeyArea, key_area_id)
        if (
            key_area is None
            or key_area.template_version_id != audit.template_version_id
            or key_area.kind != SectionKind.KEY_AREA  # the questions about the whole case
        ):
            problems.append(
                FieldError("key_area_id", f"Key area {key_area_id} is not in this audit's template")
            )
    if agency_id is not None and agency_id not in {a.id for a in audit.agencies}:
        problems.append(
            FieldError("agency_id", f"Agency {agency_id} is not taking part in this audit")
        )
    if child_id is not None:
        child = session.get(Child, child_id)
        if child is None or child.audit_id != audit.id:
            problems.append(
                FieldError("child_id", f"Child {child_id} is not in this audit's cohort")
            )
    return problems


def _themes(
    session: Session, theme_ids: list[int], *, keep: Collection[int] = frozenset()
) -> tuple[list[Theme], list[FieldError]]:
    """The themes for ``theme_ids``: each must exist and be active (a deactivated one
    already on the finding, in ``keep``, may stay)."""
    wanted = list(dict.fromkeys(theme_ids))
    found = {t.id: t for t in session.scalars(select(Theme).where(Theme.id.in_(wanted)))}
    problems = []
    for index, theme_id in enumerate(theme_ids):
        theme = found.get(theme_id)
        if theme is None:
            problems.append(
                FieldError(f"theme_ids[{index}]", f"There is no theme with id {theme_id}")
            )
        elif not theme.active and theme_id not in keep:
            problems.append(FieldError(f"theme_ids[{index}]", f"{theme.name} is no longer in use"))
    return sorted(found.values(), key=lambda t: t.name), problems


def _log(finding: Finding) -> dict:
    return {
        "audit_id": finding.audit_id,
        "kind": finding.kind,
        "statement": finding.statement,
        "theme_ids": sorted(t.id for t in finding.themes),
        "key_area_id": finding.key_area_id,
        "agency_id": finding.agency_id,
        "child_id": finding.child_id,
    }


def create_finding(
    session: Session,
    *,
    actor: Actor,
    audit: Audit,
    kind: FindingKind,
    statement: str,
    theme_ids: list[int] | None = None,
    key_area_id: int | None = None,
    agency_id: int | None = None,
    child_id: int | None = None,
    confirm_identifying: bool = False,
) -> Finding:
    """Record a finding about the audit (``audit.agencies`` loaded). A statement that
    looks identifying is refused unless ``confirm_identifying``; then the confirmation
    is logged."""
    _require_open(audit)
    about = {"key_area_id": key_area_id, "agency_id": agency_id, "child_id": child_id}
    themes, problems = _themes(session, theme_ids or [])
    problems += _check_about(session, audit, **about)
    if problems:
        raise InvalidInput("The finding cannot be recorded as it is.", fields=problems)
    confirmed = entry.screen(session, {"statement": statement}, confirmed=confirm_identifying)
    finding = Finding(
        audit_id=audit.id,
        kind=kind,
        statement=statement,
        themes=themes,
        created_by_id=actor.user_id,
        created_by_label=actor.label,
        **about,
    )
    session.add(finding)
    session.flush()
    auditlog.record(
        session,
        action="finding.create",
        object_type="finding",
        object_id=finding.id,
        after=_log(finding),
    )
    entry.record_confirmation(session, confirmed, object_type="finding", object_id=finding.id)
    return get_finding(session, finding_id=finding.id, actor=actor)


def update_finding(
    session: Session,
    *,
    actor: Actor,
    audit: Audit,
    finding: Finding,
    changes: dict,
    confirm_identifying: bool = False,
) -> Finding:
    """Change a finding; what it is about is checked against its audit again. A changed
    statement is screened as ``create_finding`` screens one (the same statement saved
    again is not: it was screened when it was written)."""
    _require_open(audit)
    about = {
        key: changes.get(key, getattr(finding, key))
        for key in ("key_area_id", "agency_id", "child_id")
    }
    problems = _check_about(session, audit, **about)
    themes = None
    if "theme_ids" in changes:
        themes, theme_problems = _themes(
            session, changes["theme_ids"], keep={t.id for t in finding.themes}
        )
        problems = theme_problems + problems
    if problems:
        raise InvalidInput("The finding cannot be changed like this.", fields=problems)
    statement = changes.get("statement")
    written = {"statement": statement} if statement not in (None, finding.statement) else {}
    confirmed = entry.screen(session, written, confirmed=confirm_identifying)
    with auditlog.changing(
        session, finding, action="finding.update", object_type="finding", view=_log
    ):
        for key in ("kind", "statement", "key_area_id", "agency_id", "child_id"):
            if key in changes:
                setattr(finding, key, changes[key])
        if themes is not None:
            finding.themes = themes
        finding.updated_at = utcnow()
    entry.record_confirmation(session, confirmed, object_type="finding", object_id=finding.id)
    session.expire(finding, ["key_area", "agency", "child"])
    return get_finding(session, finding_id=finding.id, actor=actor)


def findings_in_audit(
    session: Session, *, audit: Audit, finding_ids: list[int], field: str = "finding_ids"
) -> tuple[list[Finding], list[FieldError]]:
    """The findings for ``finding_ids``: each must be one of this audit's."""
    wanted = list(dict.fromkeys(finding_ids))
    found = {
        f.id: f
        for f in session.scalars(
            select(Finding).where(Finding.id.in_(wanted)).options(selectinload(Finding.themes))
        )
    }
    problems = [
        FieldError(f"{field}[{index}]", f"Finding {finding_id} is not one of this audit's")
        for index, finding_id in enumerate(finding_ids)
        if finding_id not in found or found[finding_id].audit_id != audit.id
    ]
    return sorted(found.values(), key=lambda f: f.id), problems
