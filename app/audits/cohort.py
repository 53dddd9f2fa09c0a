"""The cohort: the children an audit looks at, the agencies involved with each, and the
return each involvement expects.

A return is created for each involvement as soon as it is recorded, so "returns
expected" is simply a count of returns, and progress never has to guess. The cohort
(and the audit's agencies) change only while the audit is planned or open, checked
under the audit's row lock, which opening the audit and its moderation take too.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.access.policy import Actor, child_scope, involvement_scope
from app.agencies.models import Agency
from app.auditlog import service as auditlog
from app.audits import sampling
from app.audits.models import AgeBand, Audit, AuditStatus, Child, Involvement, audit_agency
from app.db import get_or_404
from app.errors import Conflict, FieldError, InvalidInput, NotFound, StateError
from app.identify import entry
from app.pagination import PageParams, page_of
from app.returns.models import Return, ReturnStatus

COHORT_EDITABLE = frozenset({AuditStatus.PLANNED, AuditStatus.OPEN})


def lock_audit(session: Session, audit: Audit) -> AuditStatus:
    """Lock the audit's row and read its status as committed now.

    Every change to an audit's agencies or cohort, and opening it, takes this lock
    first (FOR UPDATE on PostgreSQL; SQLite's writers hold the database lock), so
    "remove this agency" and "involve this agency" cannot both pass their checks.
    """
    return session.scalars(select(Audit.status).where(Audit.id == audit.id).with_for_update()).one()


def require_cohort_editable(session: Session, audit: Audit) -> None:
    """Take the audit's lock, then refuse if its agencies and cohort may no longer change."""
    status = lock_audit(session, audit)
    if status not in COHORT_EDITABLE:
        raise StateError(
            f"The audit is in {status.value}: its agencies and cohort can no longer change."
        )


def _child_log(child: Child) -> dict:
    if child.agency_id is not None:  # a case that is an agency: its name, and which
        return {
            "audit_id": child.audit_id,
            "pseudonym": child.pseudonym,
            "agency_id": child.agency_id,
        }
    return {
        "audit_id": child.audit_id,
        "pseudonym": child.pseudonym,
        "age_band": child.age_band,
        "context_tags": list(child.context_tags),
    }


def require_children(audit: Audit) -> None:
    """Refuse to add, change or draw children in an audit about agencies, whose cases
    are the agencies taking part (``sync_agency_cases``)."""
    if audit.about_agencies:
        raise StateError(
            "This audit is about agencies: each agency taking part assesses itself, so "
            "there are no children to add. Change the agencies taking part instead."
        )


def sync_agency_cases(session: Session, *, audit: Audit) -> None:
    """In an audit about agencies, make each agency taking part one case, involving only
    itself (so one return, its own), and remove the case of an agency no longer taking
    part (refused, as ``remove_child`` refuses, once its return has been started)."""
    if not audit.about_agencies:
        return
    cases = {
        c.agency_id: c for c in session.scalars(select(Child).where(Child.audit_id == audit.id))
    }
    # Who takes part as the database has it now, under the audit's lock (not as this
    # request first read the audit: another change may have committed since).
    taking_part = {
        a.id: a
        for a in session.scalars(
            select(Agency)
            .join(audit_agency, audit_agency.c.agency_id == Agency.id)
            .where(audit_agency.c.audit_id == audit.id)
        )
    }
    for agency_id, case in cases.items():
        if agency_id not in taking_part:
            _remove_case(session, audit=audit, child=case)
    labels = {c.pseudonym.lower() for a, c in cases.items() if a in taking_part}
    for agency_id, agency in taking_part.items():
        if agency_id in cases:
            continue
        # Named as the agency is; another case already so named (an agency renamed since,
        # whose old name a new agency took) is told apart by the new one's number.
        label = agency.name
        if label.lower() in labels:
            label = f"{agency.name} ({agency_id})"
        labels.add(label.lower())
        case = _new_case(
            session, audit_id=audit.id, pseudonym=label, agency_id=agency_id, context_tags=[]
        )
        _involve(session, audit=audit, child=case, agency_id=agency_id)


def _new_case(session: Session, **fields) -> Child:
    """A new case (a child, or an agency assessing itself), in the audit log."""
    case = Child(**fields)
    session.add(case)
    session.flush()
    auditlog.record(
        session,
        action="child.create",
        object_type="child",
        object_id=case.id,
        after=_child_log(case),
    )
    return case


def list_children(session: Session, *, audit: Audit) -> list[Child]:
    return list(
        session.scalars(
            select(Child)
            .where(Child.audit_id == audit.id)
            .order_by(Child.pseudonym)
            .options(selectinload(Child.involvements).joinedload(Involvement.agency))
        )
    )


def page_children(
    session: Session, *, actor: Actor, audit: Audit, params: PageParams
) -> tuple[list[Child], int]:
    stmt = (
        select(Child)
        .where(Child.audit_id == audit.id, child_scope(actor))
        .order_by(Child.pseudonym, Child.id)
    )
    return page_of(session, stmt, params)


def involvement_rows(
    session: Session, *, actor: Actor, child_ids: list[int]
) -> dict[int, list[dict]]:
    """Each child's involvements with the agency name and its return's id and status."""
    rows = session.execute(
        select(
            Involvement.id, Involvement.child_id, Agency.id, Agency.name, Return.id, Return.status
        )
        .join(Agency, Agency.id == Involvement.agency_id)
        .join(Return, Return.involvement_id == Involvement.id)
        .where(Involvement.child_id.in_(child_ids), involvement_scope(actor))
        .order_by(Agency.name)
    )
    out: dict[int, list[dict]] = defaultdict(list)
    for inv_id, child_id, agency_id, agency_name, return_id, status in rows:
        out[child_id].append(
            {
                "id": inv_id,
                "agency_id": agency_id,
                "agency_name": agency_name,
                "return_id": return_id,
                "return_status": status,
            }
        )
    return out


def child_in_audit(session: Session, *, audit: Audit, child_id: int) -> Child:
    """The child named in a request body: unknown or elsewhere is bad input (422)."""
    child = session.get(Child, child_id)
    if child is None or child.audit_id != audit.id:
        raise InvalidInput(
            "The child is not in this audit.",
            fields=[FieldError("child_id", f"Audit {audit.id} has no child with id {child_id}")],
        )
    return child


def get_child(session: Session, *, child_id: int, actor: Actor) -> Child:
    child = session.scalar(select(Child).where(Child.id == child_id, child_scope(actor)))
    if child is None:
        raise NotFound(f"There is no child with id {child_id}.")
    return child


def _check_pseudonym_free(
    session: Session, audit_id: int, pseudonym: str, exclude: int | None
) -> None:
    stmt = select(Child.id).where(
        Child.audit_id == audit_id, func.lower(Child.pseudonym) == pseudonym.lower()
    )
    if exclude is not None:
        stmt = stmt.where(Child.id != exclude)
    if session.scalar(stmt) is not None:
        raise Conflict(
            f"This audit already has a child called '{pseudonym}'.",
            fields=[
                FieldError(
                    "pseudonym",
                    f"This audit already has a child called {pseudonym}: use another pseudonym",
                )
            ],
        )


def _refuse_identifying(session: Session, values: dict) -> None:
    """A pseudonym and context tags are structured: "Child A", "5-9", "SEND", never a
    name, a number, an address or a date of birth. Such a value is refused outright
    (each tag named by its position, as the request's own validation names it)."""
    fields: dict[str, str | None] = {}
    if values.get("pseudonym") is not None:
        fields["pseudonym"] = values["pseudonym"]
    for index, tag in enumerate(values.get("context_tags") or []):
        fields[f"context_tags[{index}]"] = tag
    entry.refuse(session, fields)


def add_child(
    session: Session,
    *,
    audit: Audit,
    pseudonym: str,
    age_band=None,
    context_tags: list[str] | None = None,
    agency_ids: list[int] | None = None,
) -> Child:
    """Add a child to the cohort, with the agencies involved (a return is expected from
    each). A pseudonym or context tag that looks identifying is refused (422)."""
    require_children(audit)
    require_cohort_editable(session, audit)
    _refuse_identifying(session, {"pseudonym": pseudonym, "context_tags": context_tags})
    _check_pseudonym_free(session, audit.id, pseudonym, None)
    taking_part = {a.id for a in audit.agencies}
    outsiders = [
        FieldError(f"agency_ids[{i}]", f"Agency {agency_id} is not taking part in this audit")
        for i, agency_id in enumerate(agency_ids or [])
        if agency_id not in taking_part
    ]
    if outsiders:
        raise InvalidInput(
            "Only participating agencies can be involved with a child.", fields=outsiders
        )
    # One row for the child, then one per involvement (add_involvement logs each).
    child = _new_case(
        session,
        audit_id=audit.id,
        pseudonym=pseudonym,
        age_band=age_band,
        context_tags=list(dict.fromkeys(context_tags or [])),
    )
    for agency_id in dict.fromkeys(agency_ids or []):
        add_involvement(session, audit=audit, child=child, agency_id=agency_id)
    return child


def update_child(session: Session, *, audit: Audit, child: Child, changes: dict) -> Child:
    """Change a child's pseudonym, age band or context tags, refused as ``add_child``
    refuses them."""
    require_children(audit)
    require_cohort_editable(session, audit)
    _refuse_identifying(session, changes)
    if "pseudonym" in changes:
        if changes["pseudonym"] != child.pseudonym:
            _refuse_if_surveyed(session, audit, "renamed")
        _check_pseudonym_free(session, audit.id, changes["pseudonym"], child.id)
    if "context_tags" in changes:
        changes["context_tags"] = list(dict.fromkeys(changes["context_tags"]))
    with auditlog.changing(
        session, child, action="child.update", object_type="child", view=_child_log
    ):
        for key, value in changes.items():
            setattr(child, key, value)
    return child


def remove_child(session: Session, *, audit: Audit, child: Child) -> None:
    """Remove a child from the cohort, only while none of its returns has been started,
    and none of its family has been asked in a family survey."""
    require_children(audit)
    require_cohort_editable(session, audit)
    _refuse_if_surveyed(session, audit, "removed")
    _remove_case(session, audit=audit, child=child)


def _refuse_if_surveyed(session: Session, audit: Audit, done: str) -> None:
    """A family survey of the audit (app/respond/survey.py) asks each child's family by
    the child's pseudonym, and its answers are shown beside that child's grades: a child
    removed or renamed then could have another child's family's answers shown beside it."""
    surveyed = session.scalar(select(Audit.id).where(Audit.survey_of_audit_id == audit.id).limit(1))
    if surveyed is not None:
        raise Conflict(
            f"The families of this audit's children have been asked in a family survey, by "
            f"the children's pseudonyms, so a child can no longer be {done}: their family's "
            "answers would be shown beside another child's grades."
        )


def _remove_case(session: Session, *, audit: Audit, child: Child) -> None:
    require_cohort_editable(session, audit)
    # Lock the returns: an auditor saving one at this moment must either finish
    # first (and this refuses) or wait until the child is gone.
    statuses = session.scalars(
        select(Return.status).where(Return.child_id == child.id).with_for_update()
    ).all()
    started = sum(1 for status in statuses if status != ReturnStatus.NOT_STARTED)
    if started:
        raise Conflict(
            f"{child.pseudonym} has {started} return(s) already started; they cannot be deleted."
        )
    # One row: the child's involvements and unstarted returns go with it.
    agency_ids = session.scalars(
        select(Involvement.agency_id).where(Involvement.child_id == child.id)
    ).all()
    with auditlog.changing(
        session,
        child,
        action="child.delete",
        object_type="child",
        view=lambda c: {**_child_log(c), "agency_ids": sorted(agency_ids)},
    ):
        session.delete(child)


def add_involvement(session: Session, *, audit: Audit, child: Child, agency_id: int) -> Involvement:
    require_children(audit)
    return _involve(session, audit=audit, child=child, agency_id=agency_id)


def _involve(session: Session, *, audit: Audit, child: Child, agency_id: int) -> Involvement:
    require_cohort_editable(session, audit)
    if child.audit_id != audit.id:
        raise InvalidInput(
            "The child is not in this audit.",
            fields=[FieldError("child_id", f"Child {child.id} is not in audit {audit.id}")],
        )
    if agency_id not in {a.id for a in audit.agencies}:
        raise InvalidInput(
            "Only participating agencies can be involved with a child.",
            fields=[
                FieldError("agency_id", f"Agency {agency_id} is not taking part in this audit")
            ],
        )
    exists = session.scalar(
        select(Involvement.id).where(
            Involvement.child_id == child.id, Involvement.agency_id == agency_id
        )
    )
    if exists is not None:
        raise Conflict(
            "That agency is already recorded as involved with this child.",
            fields=[FieldError("agency_id", "Already involved with this child")],
        )
    involvement = Involvement(audit_id=audit.id, child_id=child.id, agency_id=agency_id)
    session.add(involvement)
    session.flush()
    session.add(
        Return(
            audit_id=audit.id,
            involvement_id=involvement.id,
            child_id=child.id,
            agency_id=agency_id,
            status=ReturnStatus.NOT_STARTED,
            version=1,
        )
    )
    session.flush()
    auditlog.record(
        session,
        action="involvement.create",
        object_type="involvement",
        object_id=involvement.id,
        after={"audit_id": audit.id, "child_id": child.id, "agency_id": agency_id},
    )
    return involvement


def get_involvement(session: Session, *, involvement_id: int) -> Involvement:
    return get_or_404(session, Involvement, involvement_id, what="involvement")


def remove_involvement(session: Session, *, audit: Audit, involvement: Involvement) -> None:
    """Remove an involvement and its return, only while that return is not started."""
    require_children(audit)
    require_cohort_editable(session, audit)
    status = session.scalar(  # locked, as in remove_child
        select(Return.status).where(Return.involvement_id == involvement.id).with_for_update()
    )
    if status is not None and status != ReturnStatus.NOT_STARTED:
        raise Conflict(
            f"This agency's return has been {status.value.replace('_', ' ')}; "
            "the involvement cannot be removed."
        )
    with auditlog.changing(
        session,
        involvement,
        action="involvement.delete",
        object_type="involvement",
        view=lambda i: {"audit_id": i.audit_id, "child_id": i.child_id, "agency_id": i.agency_id},
    ):
        session.delete(involvement)


def draw_cohort(
    session: Session,
    *,
    audit: Audit,
    eligible: int,
    count: int,
    seed: str | None = None,
    agency_ids: list[int] | None = None,
    age_band: AgeBand | None = None,
) -> tuple[sampling.Drawn, list[Child]]:
    """Draw the cohort fairly (app/audits/sampling.py): ``count`` of the ``eligible``
    children's positions, with ``seed`` (a new one if none), become children "Child A",
    "Child B", ... in ascending order of position (pseudonyms taken already skipped),
    each involving ``agency_ids``. Stratified by ``age_band``: ``eligible`` counts that
    band's own list, and each child drawn has the band. The seed, the numbers and the
    positions drawn are in the audit log, so anyone can draw again and check."""
    require_children(audit)
    require_cohort_editable(session, audit)
    drawn = sampling.draw(
        eligible=eligible,
        count=count,
        seed=seed or sampling.new_seed(),
        stratum=age_band.value if age_band else None,
    )
    taken = {c.pseudonym for c in list_children(session, audit=audit)}
    names = sampling.labels(len(drawn.positions), taken)
    auditlog.record(
        session,
        action="audit.cohort_drawn",
        object_type="audit",
        object_id=audit.id,
        after={
            "seed": drawn.seed,
            **({"age_band": drawn.stratum} if drawn.stratum else {}),
            "eligible": drawn.eligible,
            "draw": len(drawn.positions),
            "positions": drawn.positions,
            "pseudonyms": dict(zip(names, drawn.positions, strict=True)),
        },
    )
    children = [
        add_child(session, audit=audit, pseudonym=name, age_band=age_band, agency_ids=agency_ids)
        for name in names
    ]
    return drawn, children
