"""Moderation: the chair opens it (the audit stops being blind), moderators agree or
change each agency's own grade with a rationale, send returns back for amendment,
and finish when every child is moderated (the audit moves to *learning*).

The grid has a cell for each return (child x agency) and each graded key area, plus
the overall grade when the template has one. A cell is moderated when it has a current
decision made against the grade the agency gives now; a return is *moderated* when all
its cells are, and a child when all its returns are.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from app.access.policy import REVEALED, Actor, Via
from app.agencies.models import Agency
from app.audit_templates.models import GradeLevel, TemplateVersion
from app.audit_templates.service import get_version
from app.auditlog import service as auditlog
from app.audits.cohort import lock_audit
from app.audits.models import Audit, AuditStatus, Child
from app.clock import utcnow
from app.errors import FieldError, InvalidInput, NotFound, StateError
from app.identify import entry
from app.moderation.models import ModeratedGrade
from app.returns.models import Grade, Return, ReturnStatus

OVERALL = 0  # the cell number of the overall grade; other cells are key-area ids
MODERATABLE = frozenset({ReturnStatus.SUBMITTED, ReturnStatus.MODERATED})


class CellState:
    NOT_SUBMITTED = "not submitted"
    TO_MODERATE = "to moderate"
    AGREED = "agreed"
    CHANGED = "changed"
    REGRADED = "self-grade changed"  # the agency changed its grade after the decision
    LEFT_OUT = "not received"  # the chair left the return out of moderation, with a reason


@dataclass
class Cell:
    return_id: int
    child_id: int
    agency_id: int
    cell: int  # key-area id, or OVERALL
    return_status: ReturnStatus
    self_level: GradeLevel | None
    decision: ModeratedGrade | None
    moderated_level: GradeLevel | None = None
    left_out: bool = False

    @property
    def state(self) -> str:
        if self.left_out:
            return CellState.LEFT_OUT
        if self.return_status not in MODERATABLE:
            return CellState.NOT_SUBMITTED
        if self.decision is None:
            return CellState.TO_MODERATE
        if self.decision.self_level_id != (self.self_level.id if self.self_level else None):
            return CellState.REGRADED
        if self.decision.level_id == self.decision.self_level_id:
            return CellState.AGREED
        return CellState.CHANGED

    @property
    def done(self) -> bool:
        """Nothing more to do: decided against the grade the agency gives now, or the
        return was left out of moderation."""
        return self.state in (CellState.AGREED, CellState.CHANGED, CellState.LEFT_OUT)


@dataclass
class Grid:
    audit: Audit
    version: TemplateVersion
    areas: list[tuple[int, str]]  # (cell, title) in template order; the overall grade last
    children: list[Child]
    agencies: list[Agency]
    returns: dict[int, Return]
    cells: dict[tuple[int, int, int], Cell] = field(default_factory=dict)  # child, agency, cell

    def cell(self, child_id: int, agency_id: int, cell: int) -> Cell | None:
        return self.cells.get((child_id, agency_id, cell))

    def return_for(self, child_id: int, agency_id: int) -> Return | None:
        return next(
            (
                r
                for r in self.returns.values()
                if r.child_id == child_id and r.agency_id == agency_id
            ),
            None,
        )

    def child_done(self, child_id: int) -> bool:
        """Every return of the child is in (or left out) and each of its cells is done
        (a template with nothing graded has no cells, only the returns to wait for)."""
        return all(
            r.status in MODERATABLE or r.excluded_at is not None
            for r in self.returns.values()
            if r.child_id == child_id
        ) and all(c.done for (child, _a, _c), c in self.cells.items() if child == child_id)

    @property
    def counts(self) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        for c in self.cells.values():
            totals[c.state] += 1
        totals["cells"] = len(self.cells)
        totals["children"] = len(self.children)
        totals["children_moderated"] = sum(self.child_done(c.id) for c in self.children)
        return dict(totals)


# --- who may see it ------------------------------------------------------------------


def check_visible(actor: Actor, audit: Audit) -> None:
    """Moderators and scrutineers see the grid once returns are in; each participating
    agency sees it, read-only, while the audit is in moderation (not before: until then
    every agency grades its own practice without seeing the others'; and not after,
    when the moderated figures and the briefing carry the learning)."""
    if audit.status == AuditStatus.PLANNED:
        raise NotFound("This audit has not opened yet, so there is nothing to moderate.")
    if actor.partnership_wide or actor.via == Via.SYSTEM:
        return
    if audit.status != REVEALED:
        raise NotFound("The moderation grid is open to agencies only while in moderation.")


# --- the grid ------------------------------------------------------------------------


def _cells_of(version: TemplateVersion) -> list[tuple[int, str]]:
    areas = [(k.id, k.title) for k in version.key_areas if k.graded]
    if version.has_overall_grade:
        areas.append((OVERALL, "Overall"))
    return areas


def grid(session: Session, *, actor: Actor, audit: Audit) -> Grid:
    """Every cell of the audit with the agency's own grade and the current decision.
    The caller has found the audit through the actor's scope; this checks the stage."""
    check_visible(actor, audit)
    version = get_version(session, version_id=audit.template_version_id)
    levels = {lv.id: lv for lv in (version.scale.levels if version.scale else [])}
    returns = {
        r.id: r
        for r in session.scalars(
            select(Return).where(Return.audit_id == audit.id).order_by(Return.id)
        )
    }
    children = list(
        session.scalars(select(Child).where(Child.audit_id == audit.id).order_by(Child.pseudonym))
    )
    agency_ids = {r.agency_id for r in returns.values()}
    agencies = [a for a in audit.agencies if a.id in agency_ids]
    own: dict[tuple[int, int], int] = {
        (g.return_id, g.key_area_id): g.level_id
        for g in session.scalars(
            select(Grade)
            .join(Return, Return.id == Grade.return_id)
            .where(Return.audit_id == audit.id)
        )
    }
    decisions = {
        (d.return_id, d.cell): d
        for d in session.scalars(
            select(ModeratedGrade).where(
                ModeratedGrade.audit_id == audit.id, ModeratedGrade.superseded_at.is_(None)
            )
        )
    }
    found = Grid(audit, version, _cells_of(version), children, agencies, returns)
    for r in returns.values():
        for cell, _title in found.areas:
            level_id = r.overall_grade_id if cell == OVERALL else own.get((r.id, cell))
            found.cells[(r.child_id, r.agency_id, cell)] = Cell(
                return_id=r.id,
                child_id=r.child_id,
                agency_id=r.agency_id,
                cell=cell,
                return_status=r.status,
                # A grade in a return not yet in is a draft: no one else's to see.
                self_level=levels.get(level_id) if level_id and r.status in MODERATABLE else None,
                decision=(decision := decisions.get((r.id, cell))),
                moderated_level=levels[decision.level_id] if decision else None,
                left_out=r.excluded_at is not None,
            )
    return found


def history(session: Session, *, return_id: int, cell: int) -> list[ModeratedGrade]:
    """Every decision on a cell, newest first, superseded ones included."""
    return decisions_of(session, return_id=return_id, cell=cell)


def decisions_of(
    session: Session, *, return_id: int, cell: int | None = None
) -> list[ModeratedGrade]:
    """Every decision on the return (or one of its cells), newest first."""
    where = [ModeratedGrade.return_id == return_id]
    if cell is not None:
        where.append(ModeratedGrade.cell == cell)
    return list(
        session.scalars(
            select(ModeratedGrade)
            .where(*where)
            .options(selectinload(ModeratedGrade.level), selectinload(ModeratedGrade.self_level))
            .order_by(ModeratedGrade.id.desc())
        )
    )


# --- opening, deciding, finishing ------------------------------------------------------


def require_status(session: Session, audit: Audit, *allowed: AuditStatus) -> None:
    status = lock_audit(session, audit)
    if status not in allowed:
        wanted = " or ".join(s.value for s in allowed)
        raise StateError(
            f"The audit is {status.value}; this can only be done while it is {wanted}."
        )


def _cell_of(session: Session, version: TemplateVersion, return_: Return, cell: int):
    """The self-grade's level id for ``cell`` of the return, checking the cell exists."""
    if cell == OVERALL:
        if not version.has_overall_grade:
            raise NotFound("This audit's template has no overall grade.")
        return return_.overall_grade_id
    key_area = next((k for k in version.key_areas if k.id == cell and k.graded), None)
    if key_area is None:
        raise NotFound(f"There is no graded key area {cell} in this audit's template.")
    return session.scalar(
        select(Grade.level_id).where(Grade.return_id == return_.id, Grade.key_area_id == cell)
    )


def get_return(session: Session, *, audit: Audit, return_id: int) -> Return:
    return_ = session.scalar(
        select(Return).where(Return.id == return_id, Return.audit_id == audit.id)
    )
    if return_ is None:
        raise NotFound(f"There is no return {return_id} in this audit.")
    return return_


def decide(
    session: Session,
    *,
    audit: Audit,
    return_: Return,
    cell: int,
    level_code: str,
    rationale: str,
    actor: Actor,
    confirmed: bool = False,
) -> ModeratedGrade:
    """Record the moderated grade for one cell. Agreeing needs no rationale; changing
    the agency's grade does. A decision already there is superseded, never changed.
    A rationale that looks identifying (a name, a number, an address, a date of birth)
    is refused unless its writer ``confirmed`` it is not; the confirmation is logged."""
    require_status(session, audit, AuditStatus.MODERATION)
    version = get_version(session, version_id=audit.template_version_id)
    session.refresh(return_, with_for_update=True)
    if return_.status not in MODERATABLE:
        raise StateError(
            f"This return is {return_.status.value.replace('_', ' ')}; only a submitted "
            "return can be moderated."
        )
    self_level_id = _cell_of(session, version, return_, cell)
    levels = {lv.code: lv for lv in version.grade_levels}
    level = levels.get(level_code)
    if level is None:
        raise InvalidInput(
            "Choose a grade from the scale.",
            fields=[FieldError("level", f"Choose one of {', '.join(levels)}")],
        )
    rationale = rationale.strip()
    if level.id != self_level_id and not rationale:
        raise InvalidInput(
            "Say why the grade is changed.",
            fields=[FieldError("rationale", "Give the reason for changing the agency's own grade")],
        )
    # An agreement usually has no rationale: no need to read the vocabulary for it.
    flagged = (
        entry.screen(session, {"rationale": rationale}, confirmed=confirmed) if rationale else []
    )
    by_id = {lv.id: lv for lv in version.grade_levels}
    self_level = by_id.get(self_level_id) if self_level_id else None
    now = utcnow()
    current = session.scalar(
        select(ModeratedGrade).where(
            ModeratedGrade.return_id == return_.id,
            ModeratedGrade.cell == cell,
            ModeratedGrade.superseded_at.is_(None),
        )
    )
    if current is not None:
        current.superseded_at = now
        session.flush()  # the unique index allows one current decision per cell
    decision = ModeratedGrade(
        audit_id=audit.id,
        return_id=return_.id,
        key_area_id=None if cell == OVERALL else cell,
        cell=cell,
        self_level_id=self_level_id,
        level_id=level.id,
        rationale=rationale,
        decided_by_id=actor.user_id,
        decided_by_label=actor.label,
        decided_at=now,
        shift=(level.position - self_level.position) if self_level else None,
    )
    session.add(decision)
    session.flush()
    auditlog.record(
        session,
        action="moderation.decide",
        object_type="moderated_grade",
        object_id=decision.id,
        before={"level": _code(by_id, current.level_id), "rationale": current.rationale}
        if current
        else None,
        after={
            "return_id": return_.id,
            "cell": "overall" if cell == OVERALL else cell,
            "self_level": self_level.code if self_level else None,
            "level": level.code,
            "rationale": rationale,
        },
    )
    entry.record_confirmation(
        session, flagged, object_type="moderated_grade", object_id=decision.id
    )
    refresh_return(session, audit=audit, return_=return_, version=version)
    return decision


def _code(by_id: dict[int, GradeLevel], level_id: int | None) -> str | None:
    return by_id[level_id].code if level_id in by_id else None


def refresh_return(
    session: Session, *, audit: Audit, return_: Return, version: TemplateVersion | None = None
) -> None:
    """Mark the return moderated when every cell has a decision made against the grade
    the agency gives now (or submitted again when one no longer has)."""
    if return_.status not in MODERATABLE:
        return
    version = version or get_version(session, version_id=audit.template_version_id)
    own: dict[int, int | None] = dict(
        session.execute(
            select(Grade.key_area_id, Grade.level_id).where(Grade.return_id == return_.id)
        ).all()
    )
    own[OVERALL] = return_.overall_grade_id
    decided = dict(
        session.execute(
            select(ModeratedGrade.cell, ModeratedGrade.self_level_id).where(
                ModeratedGrade.return_id == return_.id, ModeratedGrade.superseded_at.is_(None)
            )
        ).all()
    )
    cells = [cell for cell, _title in _cells_of(version)]
    done = all(cell in decided and decided[cell] == own.get(cell) for cell in cells)
    status = ReturnStatus.MODERATED if done else ReturnStatus.SUBMITTED
    if status != return_.status:
        # The version moves too, so an auditor's stale tab cannot overwrite it.
        session.execute(
            update(Return)
            .where(Return.id == return_.id)
            .values(status=status, version=Return.version + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        session.expire(return_)
        auditlog.record(
            session,
            action="return.moderated" if done else "return.moderation_reopened",
            object_type="return",
            object_id=return_.id,
            after={"status": status.value},
        )
