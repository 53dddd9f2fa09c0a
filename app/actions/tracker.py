"""The action tracker: learning actions filtered across audits, their counts, and the
rows the page, the API and the exports all show (the same rows, by construction).

Rows carry no child: an action is about practice, and even a linked finding about a
child contributes only its themes, never the child's pseudonym.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    case,
    func,
    literal,
    or_,
    select,
    union,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased, load_only
from sqlalchemy.sql.expression import True_

from app.access.policy import Actor, audit_scope
from app.actions import lifecycle
from app.actions.lifecycle import DONE, DUE_SOON_DAYS, OPEN, Clock, Standing
from app.actions.models import ActionStatus, LearningAction, action_finding
from app.agencies.models import Agency, Subgroup
from app.audits.models import Audit, AuditStatus
from app.findings.models import Theme, finding_theme
from app.pagination import PageParams


@dataclass(frozen=True)
class TrackerFilter:
    audit_id: int | None = None
    agency_id: int | None = None  # the owning agency
    subgroup_id: int | None = None  # the audit's lead subgroup
    status: ActionStatus | None = None
    overdue: bool = False
    theme_id: int | None = None  # a theme of a linked finding
    q: str | None = None  # words in the action's title or description

    def query(self) -> dict[str, str]:
        """The filters as query parameters (only those set), for links such as the exports."""
        out = {}
        for key, value in asdict(self).items():
            if value in (None, False):
                continue
            out[key] = "yes" if value is True else str(value)
        return out


@dataclass
class ActionRow:
    id: int
    audit_id: int
    audit_title: str
    title: str
    owning_agency_id: int
    owning_agency: str
    owner_name: str
    due_on: date
    status: ActionStatus
    standing: Standing
    escalated_to: list[str]
    success_measure: str
    updated_on: date
    themes: list[str] = field(default_factory=list)

    @property
    def rag(self):
        return self.standing.rag

    @property
    def overdue_days(self) -> int:
        return self.standing.overdue_days


def _narrowed(stmt: Select, actor: Actor, filters: TrackerFilter, today: date) -> Select:
    """``stmt``, a query over learning actions, narrowed to the filters and to the audits
    the actor may see. The audit is joined only when the actor's scope or the subgroup
    filter needs it (``stmt`` must not join it already): across every audit, counting
    actions needs no audit row."""
    scope = audit_scope(actor)
    if not isinstance(scope, True_) or filters.subgroup_id is not None:
        stmt = stmt.join(Audit, Audit.id == LearningAction.audit_id).where(scope)
    if filters.subgroup_id is not None:
        stmt = stmt.where(Audit.lead_subgroup_id == filters.subgroup_id)
    return stmt.where(*_conditions(filters, today))


def _conditions(filters: TrackerFilter, today: date) -> list[ColumnElement[bool]]:
    """The filters on the action itself (the subgroup is the audit's: ``_narrowed``)."""
    found: list[ColumnElement[bool]] = []
    if filters.audit_id is not None:
        found.append(LearningAction.audit_id == filters.audit_id)
    if filters.agency_id is not None:
        found.append(LearningAction.owning_agency_id == filters.agency_id)
    if filters.status is not None:
        found.append(LearningAction.status == filters.status)
    if filters.overdue:
        # The same rule as lifecycle.assess: open and due before today.
        found += [LearningAction.status.in_(OPEN), LearningAction.due_on < today]
    if filters.theme_id is not None:
        found.append(
            select(action_finding.c.action_id)
            .join(finding_theme, finding_theme.c.finding_id == action_finding.c.finding_id)
            .where(
                action_finding.c.action_id == LearningAction.id,
                finding_theme.c.theme_id == filters.theme_id,
            )
            .exists()
        )
    if filters.q:
        words = filters.q.lower()
        found.append(
            or_(
                func.lower(LearningAction.title).contains(words, autoescape=True),
                func.lower(LearningAction.description).contains(words, autoescape=True),
            )
        )
    return found


# An audit's stages before it closes, listed so that an index on its status finds them.
NOT_CLOSED = tuple(status for status in AuditStatus if status != AuditStatus.CLOSED)

# The tracker's sortable columns (a key, descending with a leading "-"); soonest due
# first unless sorted. Status sorts in the action's life order; RAG from the most
# pressing (overdue) to the least (not accepted), by the same rule as lifecycle.assess.
SORTS = ("due_on", "title", "agency", "status", "rag")
_STATUS_ORDER = {status: n for n, status in enumerate(ActionStatus)}


def _sort_column(key: str, today: date) -> ColumnElement | InstrumentedAttribute:
    if key == "title":
        return func.lower(LearningAction.title)
    if key == "agency":
        return func.lower(Agency.name)
    if key == "status":
        return case(_STATUS_ORDER, value=LearningAction.status)
    if key == "rag":
        return case(
            (LearningAction.status.in_(DONE), 3),
            (LearningAction.status.not_in(OPEN), 4),
            (LearningAction.due_on < today, 0),
            (LearningAction.due_on <= today + timedelta(days=DUE_SOON_DAYS), 1),
            else_=2,
        )
    return LearningAction.due_on


def _order(sort: str, today: date) -> list[ColumnElement]:
    key = sort.removeprefix("-")
    if key not in SORTS:
        raise ValueError(f"not a sort: {sort!r}")
    column = _sort_column(key, today)
    first = column.desc() if sort.startswith("-") else column.asc()
    return [first, LearningAction.due_on.asc(), LearningAction.id.asc()]


# The action's columns a row shows, not its longer texts (its description, evidence
# and reasons); any other column raises rather than being loaded action by action.
ROW_COLUMNS = load_only(
    LearningAction.audit_id,
    LearningAction.title,
    LearningAction.owning_agency_id,
    LearningAction.owner_name,
    LearningAction.due_on,
    LearningAction.status,
    LearningAction.success_measure,
    LearningAction.updated_at,
    raiseload=True,
)


def rows(
    session: Session,
    *,
    actor: Actor,
    filters: TrackerFilter,
    clock: Clock,
    params: PageParams | None = None,
    sort: str = "due_on",
    themes: bool = True,
    total: int | None = None,
) -> tuple[list[ActionRow], int]:
    """The filtered actions, soonest due first unless ``sort`` names another of
    SORTS (a leading "-" for descending), and how many there are; every row when
    ``params`` is None (the exports). The tracker page shows no themes, so asks for
    none (``themes=False``): each row's are then an empty list; it has counted the
    filtered actions already (``counts``), so gives their ``total``, not counted again."""
    if total is None:
        total = session.scalar(
            _narrowed(select(func.count()).select_from(LearningAction), actor, filters, clock.today)
        )
    stmt = (
        select(LearningAction, Audit.title, Subgroup.name, Agency.name)
        .options(ROW_COLUMNS)
        .join(Audit, Audit.id == LearningAction.audit_id)
        .outerjoin(Subgroup, Subgroup.id == Audit.lead_subgroup_id)
        .join(Agency, Agency.id == LearningAction.owning_agency_id)
        .where(audit_scope(actor), *_conditions(filters, clock.today))
        .order_by(*_order(sort, clock.today))
    )
    if filters.subgroup_id is not None:
        stmt = stmt.where(Audit.lead_subgroup_id == filters.subgroup_id)
    if params is not None:
        stmt = stmt.limit(params.per_page).offset(params.offset)
    found: list[ActionRow] = []
    for action, audit_title, subgroup, agency in session.execute(stmt):
        standing = lifecycle.assess(action, clock.today, clock.executive_after_days)
        found.append(
            ActionRow(
                id=action.id,
                audit_id=action.audit_id,
                audit_title=audit_title,
                title=action.title,
                owning_agency_id=action.owning_agency_id,
                owning_agency=agency,
                owner_name=action.owner_name,
                due_on=action.due_on,
                status=action.status,
                standing=standing,
                escalated_to=lifecycle.escalated_to(standing.escalation, subgroup),
                success_measure=action.success_measure,
                updated_on=action.updated_at.date(),
            )
        )
    if themes:
        named = _themes(session, [r.id for r in found])
        for row in found:
            row.themes = named.get(row.id, [])
    return found, total or 0


def _themes(session: Session, action_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    stmt = (
        select(action_finding.c.action_id, Theme.name)
        .join(finding_theme, finding_theme.c.finding_id == action_finding.c.finding_id)
        .join(Theme, Theme.id == finding_theme.c.theme_id)
        .where(action_finding.c.action_id.in_(action_ids))
        .distinct()
        .order_by(action_finding.c.action_id, Theme.name)
    )
    for action_id, name in session.execute(stmt):
        out[action_id].append(name)
    return out


def counts(session: Session, *, actor: Actor, filters: TrackerFilter, today: date) -> dict:
    """How many of the filtered actions are in each status (every status, zeros too)
    and owned by each agency, and how many in all: one GROUP BY over the actions
    themselves, by status and owning agency. Unfiltered, it reads every action there
    has been, as the index (status, owning_agency_id) holds them (three passes before)."""
    by_status = {status: 0 for status in ActionStatus}
    owned: dict[int, int] = defaultdict(int)
    for status, agency_id, n in session.execute(
        _narrowed(
            select(LearningAction.status, LearningAction.owning_agency_id, func.count()).group_by(
                LearningAction.status, LearningAction.owning_agency_id
            ),
            actor,
            filters,
            today,
        )
    ):
        by_status[status] += n
        owned[agency_id] += n
    by_agency = [
        {"agency_id": agency_id, "agency_name": name, "count": owned[agency_id]}
        for agency_id, name in session.execute(
            select(Agency.id, Agency.name).where(Agency.id.in_(owned)).order_by(Agency.name)
        )
    ]
    return {"total": sum(by_status.values()), "by_status": by_status, "by_agency": by_agency}


def choices(session: Session, *, actor: Actor, filters: TrackerFilter) -> dict:
    """What the tracker's filters offer: the audits in hand that the actor may see (see
    ``_in_hand``), the agencies owning actions in audits they may see, the subgroups
    leading those audits, and every theme; a filter already chosen is always offered,
    so the form shows it."""
    scope = audit_scope(actor)
    audits = session.execute(
        select(Audit.id, Audit.title)
        .where(scope, Audit.id.in_(_in_hand(filters.audit_id)))
        .order_by(Audit.title)
    ).all()
    owning = select(LearningAction.id).where(LearningAction.owning_agency_id == Agency.id)
    if not isinstance(scope, True_):
        owning = owning.join(Audit, Audit.id == LearningAction.audit_id).where(scope)
    agencies = session.execute(_offered(Agency, owning.exists(), filters.agency_id)).all()
    leading = select(Audit.id).where(Audit.lead_subgroup_id == Subgroup.id, scope)
    subgroups = session.execute(_offered(Subgroup, leading.exists(), filters.subgroup_id)).all()
    themes = session.execute(select(Theme.id, Theme.name).order_by(Theme.name)).all()
    return {"audits": audits, "agencies": agencies, "subgroups": subgroups, "themes": themes}


def _offered(
    table: type[Agency] | type[Subgroup], used: ColumnElement[bool], chosen: int | None
) -> Select:
    """(id, name) of the agencies or subgroups that ``used`` (an EXISTS) finds, and the
    one ``chosen`` in the filter, by name. A union, not one condition: with ``used OR
    id = chosen`` PostgreSQL tested each subgroup by reading the audits until one led
    by it turned up, all of them for a subgroup that leads none (about 4 ms at a
    million returns); alone, the EXISTS is a look-up in the index for each."""
    offered = select(table.id, table.name).where(used)
    if chosen is None:
        return offered.order_by(table.name)
    both = union(offered, select(table.id, table.name).where(table.id == chosen)).subquery()
    return select(both.c.id, both.c.name).order_by(both.c.name)


def _in_hand(chosen: int | None) -> CompoundSelect:
    """The ids of the audits whose actions people are still working on: those with an
    action still open, and those not yet closed that have actions; and the audit
    ``chosen`` in the filter, if any. The list stays as long as the work in hand, not
    the partnership's history; an older audit's actions are one link away, from the
    audit's own page (which names it in the filter).

    A union of small sets, each found by an index (actions by status, audits by
    status), so that its cost stays that of the work in hand too: as one condition
    (an action open OR not closed with actions OR chosen), PostgreSQL read every
    audit and every action's audit id to test it, a cost that grew with the history."""
    audit = aliased(Audit)
    found: list[Select] = [
        select(LearningAction.audit_id).where(LearningAction.status.in_(OPEN)),
        select(audit.id).where(
            audit.status.in_(NOT_CLOSED),
            select(LearningAction.id).where(LearningAction.audit_id == audit.id).exists(),
        ),
    ]
    if chosen is not None:
        found.append(select(literal(chosen, Integer)))
    return union(*found)
