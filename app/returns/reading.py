"""Reading returns: a page of returns, one return with its answers, grades and
evidence (a person's read is logged). Hot paths select plain columns, not ORM objects,
and run them on the session's connection: the ORM's handling of a statement and its
rows costs a tenth or more of a read (bench/api.py) and gives plain columns nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    bindparam,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from app.access.policy import Actor, audit_scope, per_scope, return_scope
from app.agencies.models import Agency
from app.audit_templates.models import GradeLevel
from app.auditlog import service as auditlog
from app.audits.models import Audit, Child
from app.errors import NotFound
from app.pagination import PageParams
from app.returns.models import Answer, Grade, KeyAreaEvidence, Return, ReturnStatus

_SUMMARY: Select = (
    select(
        Return.id,
        Return.audit_id,
        Return.status,
        Return.version,
        Return.auditor_name,
        Return.updated_at,
        Return.submitted_at,
        Return.excluded_at,
        Return.excluded_reason,
        Child.id.label("child_id"),
        Child.pseudonym,
        Agency.id.label("agency_id"),
        Agency.name.label("agency_name"),
    )
    .join(Child, Child.id == Return.child_id)
    .join(Agency, Agency.id == Return.agency_id)
)  # built once: constructing a statement costs more than running this one


def _summary(row) -> dict:
    return {
        "id": row.id,
        "audit_id": row.audit_id,
        "status": row.status,
        "version": row.version,
        "auditor_name": row.auditor_name,
        "updated_at": row.updated_at,
        "submitted_at": row.submitted_at,
        # Left out of moderation by the chair: every report shows it as not received.
        "not_received": row.excluded_at is not None,
        "not_received_reason": row.excluded_reason if row.excluded_at is not None else None,
        "child": {"id": row.child_id, "pseudonym": row.pseudonym},
        "agency": {"id": row.agency_id, "name": row.agency_name},
    }


def list_returns(
    session: Session,
    *,
    actor: Actor,
    audit_id: int,
    params: PageParams,
    agency_id: int | None = None,
    child_id: int | None = None,
    status: ReturnStatus | None = None,
) -> tuple[list[dict], int]:
    """A page of the audit's returns the actor may read, and how many match in all; 404
    if the actor may not see the audit. The audit's own scope is part of the page's
    query, so a page with returns on it needs no look-up of the audit first."""
    wanted = {"audit_id": audit_id, "agency_id": agency_id, "child_id": child_id, "status": status}
    given = {name: value for name, value in wanted.items() if value is not None}
    filters = tuple(given)  # which are given: the statement's shape, built once each
    page = per_scope(f"returns.list{filters}", actor, lambda a: _page_of_returns(a, filters))
    rows = session.connection().execute(
        page, {**given, "limit": params.per_page, "offset": params.offset}
    )
    found = rows.all()
    if found:
        return [_summary(row) for row in found], found[0].total
    if not session.scalar(select(Audit.id).where(Audit.id == audit_id, audit_scope(actor))):
        raise NotFound(f"There is no audit with id {audit_id}.")
    total = 0
    if params.offset:  # past the end: count them
        counted = select(func.count(Return.id)).where(*_matching(actor, filters))
        total = session.scalar(counted, given) or 0
    return [], total


def _matching(actor: Actor, filters: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """The audit's returns the actor may read, filtered by the bind parameters named."""
    given = [getattr(Return, name) == bindparam(name) for name in filters]
    return [*given, audit_scope(actor), return_scope(actor)]


def _page_of_returns(actor: Actor, filters: tuple[str, ...]) -> Select:
    # The page and how many match in all, in one query (a window over the matches).
    return (
        _LISTED.where(*_matching(actor, filters))
        .order_by(Child.pseudonym, Agency.name)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


_LISTED = _SUMMARY.add_columns(func.count().over().label("total")).join(
    Audit, Audit.id == Return.audit_id
)


def read(session: Session, *, return_id: int, actor: Actor) -> dict:
    """A person reads a return: the read is logged, like every change."""
    found = detail(session, return_id=return_id, actor=actor)
    auditlog.record(session, action="return.read", object_type="return", object_id=return_id)
    return found


def read_many(session: Session, *, return_ids: list[int], actor: Actor) -> dict[int, dict]:
    """A person reads several returns at once (the meeting view's, one for each agency):
    each as ``read`` gives it, by id, in two queries for them all; each read logged.
    404 if the actor may not see one of them."""
    found = details(session, return_ids=return_ids, actor=actor)
    for return_id in return_ids:
        auditlog.record(session, action="return.read", object_type="return", object_id=return_id)
    return found


_WITH_DETAILS = (
    _SUMMARY.add_columns(
        Return.amendment_note,
        Return.created_at,
        Return.started_at,
        Return.returned_at,
        Audit.template_version_id,
        Audit.lead_sign_off,
        Audit.status.label("audit_status"),
        Return.sign_off_requested_at,
        Return.sign_off_version,
        GradeLevel.code.label("overall_code"),
    )
    .join(Audit, Audit.id == Return.audit_id)
    .outerjoin(GradeLevel, GradeLevel.id == Return.overall_grade_id)
)
_DETAIL = _WITH_DETAILS.where(Return.id == bindparam("return_id"))
_DETAILS = _WITH_DETAILS.where(Return.id.in_(bindparam("return_ids", expanding=True)))
# What a return holds (its answers, grades and evidence), in one query built once and
# run with the return's id (or, ``_HELD_BY_MANY``, several returns' ids): each part's
# rows, told apart by ``part``, in the columns they share (NULL where a part has nothing
# to put).
_ANSWER, _GRADE, _EVIDENCE = 1, 2, 3


def _held(of: Callable[[Any], ColumnElement[bool]]) -> CompoundSelect:
    """The parts of the returns whose ``return_id`` column ``of`` matches."""
    return union_all(
        select(
            Answer.return_id.label("return_id"),
            literal(_ANSWER).label("part"),
            Answer.question_id.label("key"),
            Answer.value,
            null().label("code"),
            null().label("went_well"),
            null().label("could_be_better"),
            null().label("impact_on_child"),
        ).where(of(Answer.return_id)),
        select(
            Grade.return_id,
            literal(_GRADE),
            Grade.key_area_id,
            null(),
            GradeLevel.code,
            null(),
            null(),
            null(),
        )
        .join(GradeLevel, GradeLevel.id == Grade.level_id)
        .where(of(Grade.return_id)),
        select(
            KeyAreaEvidence.return_id,
            literal(_EVIDENCE),
            KeyAreaEvidence.key_area_id,
            null(),
            null(),
            KeyAreaEvidence.went_well,
            KeyAreaEvidence.could_be_better,
            KeyAreaEvidence.impact_on_child,
        ).where(of(KeyAreaEvidence.return_id)),
    ).order_by("return_id", "part", "key")


_HELD = _held(lambda column: column == bindparam("return_id"))
_HELD_BY_MANY = _held(lambda column: column.in_(bindparam("return_ids", expanding=True)))


def detail(session: Session, *, return_id: int, actor: Actor) -> dict:
    """One return with its answers, grades and evidence, read in two plain queries;
    404 if the actor may not see it."""
    given = {"return_id": return_id}
    seen = per_scope("returns.detail", actor, lambda a: _DETAIL.where(return_scope(a)))
    row = session.connection().execute(seen, given).one_or_none()
    if row is None:
        raise NotFound(f"There is no return with id {return_id}.")
    return _detail_of(row, session.connection().execute(_HELD, given).all())


def details(session: Session, *, return_ids: list[int], actor: Actor) -> dict[int, dict]:
    """Several returns, each as ``detail`` gives it, by id, in two plain queries for
    them all; 404 if the actor may not see one of them."""
    if not return_ids:
        return {}
    given = {"return_ids": list(return_ids)}
    seen = per_scope("returns.details", actor, lambda a: _DETAILS.where(return_scope(a)))
    rows = {row.id: row for row in session.connection().execute(seen, given)}
    missing = [i for i in return_ids if i not in rows]
    if missing:
        raise NotFound(f"There is no return with id {missing[0]}.")
    parts: dict[int, list] = {i: [] for i in rows}
    for part in session.connection().execute(_HELD_BY_MANY, given):
        parts[part.return_id].append(part)
    return {i: _detail_of(rows[i], parts[i]) for i in return_ids}


def _detail_of(row, parts) -> dict:
    """A return as ``detail`` gives it: its row of ``_DETAIL`` and its ``_HELD`` parts."""
    held: dict[int, list] = {_ANSWER: [], _GRADE: [], _EVIDENCE: []}
    for part in parts:
        held[part.part].append(part)
    return {
        **_summary(row),
        "template_version_id": row.template_version_id,
        "lead_sign_off": row.lead_sign_off,
        "audit_status": row.audit_status,
        # Waiting for the lead's sign-off of this very version (a change withdraws it).
        "awaiting_sign_off": row.sign_off_requested_at is not None
        and row.sign_off_version == row.version,
        "sign_off_requested_at": row.sign_off_requested_at,
        "amendment_note": row.amendment_note,
        "created_at": row.created_at,
        "started_at": row.started_at,
        "returned_at": row.returned_at,
        "overall_grade": row.overall_code,
        "answers": [{"question_id": a.key, "value": a.value} for a in held[_ANSWER]],
        "grades": [{"key_area_id": g.key, "level": g.code} for g in held[_GRADE]],
        "evidence": [
            {
                "key_area_id": e.key,
                "went_well": e.went_well,
                "could_be_better": e.could_be_better,
                "impact_on_child": e.impact_on_child,
            }
            for e in held[_EVIDENCE]
        ],
    }
