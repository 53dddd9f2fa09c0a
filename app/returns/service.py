"""Returns: saving drafts, submitting, and sending back for amendment. What a request
may say (answers of the right type, known key areas and grades) is checked in
``validation``; reading returns (lists, one return, My work) is in ``reading``.

Concurrency: every change to a return first runs
``UPDATE audit_return SET version = version + 1 ... WHERE id = :id AND version = :read``.
If another person saved in between, no row matches and the caller gets 409 with
the current version. SQLAlchemy's own version counter is not used: it compares the
version it loaded in *this* request, so a stale number sent by a browser would
pass and silently overwrite the other person's work.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.access.models import User
from app.access.policy import (
    SYSTEM,
    Actor,
    may_answer_questionnaire,
    may_edit_return,
    return_scope,
)
from app.agencies.models import Agency
from app.auditlog import service as auditlog
from app.auditlog.models import AuditEvent
from app.audits.models import Audit, AuditStatus
from app.briefings import assurance
from app.clock import utcnow
from app.context import current as current_context
from app.db import get_or_404, rows_matched
from app.errors import AppError, FieldError, InvalidInput, NotFound, StateError
from app.formatting import format_date, format_datetime, format_time
from app.identify import entry
from app.moderation import service as moderation
from app.notifications import notices
from app.returns import versions
from app.returns.models import (
    EDITABLE_STATUSES,
    Answer,
    Grade,
    KeyAreaEvidence,
    Return,
    ReturnStatus,
)
from app.returns.reading import detail
from app.returns.schemas import AnswerIn, EvidenceIn, GradeIn, ReturnOut
from app.returns.validation import (
    AuditTemplate,
    asked_after,
    check_inputs,
    missing_items,
    template_for,
    written,
)


class VersionConflict(AppError):
    status_code = 409
    code = "version_conflict"


class ReturnIncomplete(InvalidInput):
    code = "return_incomplete"


class LooksIdentifying(InvalidInput):
    """Something the return says looks like a name, a number, an address or a date of
    birth, and whoever submits it has not confirmed it identifies no one. Each field's
    message starts with where it is (``where``, by field: a page lists them apart)."""

    code = "looks_identifying"

    def __init__(self, message: str, *, fields: list[FieldError], where: dict[str, str]):
        super().__init__(message, fields=fields)
        self.where = where


def get_return(session: Session, *, return_id: int, actor: Actor, to_edit: bool = False) -> Return:
    """The return, if the actor may see it (and, with ``to_edit``, write in it:
    ``may_write``); otherwise 404, exactly as if it did not exist."""
    return_ = session.scalar(select(Return).where(Return.id == return_id, return_scope(actor)))
    if return_ is None or (
        to_edit
        and not may_write(session, actor, agency_id=return_.agency_id, audit_id=return_.audit_id)
    ):
        raise NotFound(f"There is no return with id {return_id}.")
    return return_


def may_write(session: Session, actor: Actor, *, agency_id: int, audit_id: int) -> bool:
    """Who writes in a return of ``agency_id`` in ``audit_id``: the agency's auditors, in
    any; its lead too in a briefing's assurance questionnaire, which they answer for
    the agency as a whole (``may_answer_questionnaire``)."""
    if may_edit_return(actor, agency_id):
        return True
    return may_answer_questionnaire(actor, agency_id) and assurance.is_questionnaire(
        session, audit_id=audit_id
    )


def _require_editable(audit: Audit, return_: Return) -> None:
    # During moderation a return not yet in (a late one the chair waits for, or one sent
    # back for amendment) can still be worked on and submitted; nothing else can.
    if audit.status not in (AuditStatus.OPEN, AuditStatus.MODERATION):
        raise StateError(
            f"The audit is {audit.status.value}; returns can only be edited while it is open."
        )
    if return_.excluded_at is not None:
        raise StateError(
            "This return was left out of moderation"
            + (f" ({return_.excluded_reason})" if return_.excluded_reason else "")
            + ". Ask the chair to include it again before changing it."
        )
    if return_.status not in EDITABLE_STATUSES:
        raise StateError(
            f"This return has been {return_.status.value.replace('_', ' ')} and is locked. "
            "A moderator can send it back for amendment."
        )


def _bump_version(session: Session, *, return_: Return, read_version: int, **values) -> int:
    """Claim the return for this change, or raise 409 if someone saved since it was read."""
    new_version = read_version + 1
    result = session.execute(
        update(Return)
        .where(Return.id == return_.id, Return.version == read_version)
        .values(version=new_version, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if rows_matched(result) != 1:
        _raise_conflict(session, return_=return_, read_version=read_version)
    session.expire(return_)
    return new_version


def _raise_conflict(session: Session, *, return_: Return, read_version: int):
    current = session.scalar(select(Return.version).where(Return.id == return_.id))
    saved_by = last_saved_by(session, return_id=return_.id)
    actor = current_context().actor
    if saved_by is None:
        who = "someone else"
    else:
        at = saved_by["at"]
        when = format_time(at) if format_date(at) == format_date(utcnow()) else format_datetime(at)
        if saved_by["user_id"] is not None and saved_by["user_id"] == actor.user_id:
            who = f"you, in another tab or window, at {when}"
        else:
            named = ", ".join(part for part in (saved_by["name"], saved_by["agency"]) if part)
            who = f"{named}, at {when}"
    raise VersionConflict(
        f"This return was saved by {who}, after you opened it. Nothing you sent was saved: "
        "reload it to see their changes, then make yours again.",
        current_version=current,
        your_version=read_version,
        saved_by=saved_by
        and {
            "name": saved_by["name"],
            "agency": saved_by["agency"],
            "at": saved_by["at"].isoformat(),
        },
        current=ReturnOut.model_validate(
            detail(session, return_id=return_.id, actor=actor)
        ).model_dump(mode="json"),
    )


def last_saved_by(session: Session, *, return_id: int) -> dict | None:
    """Who last changed the return, and when, from the audit log: their name and
    agency (a person is named by name, not by e-mail address), or None if nobody has."""
    row = session.execute(
        select(
            AuditEvent.user_id, AuditEvent.user_label, AuditEvent.at, User.display_name, Agency.name
        )
        .outerjoin(User, User.id == AuditEvent.user_id)
        .outerjoin(Agency, Agency.id == User.agency_id)
        .where(
            AuditEvent.object_type == "return",
            AuditEvent.object_id == return_id,
            AuditEvent.action.in_(CHANGES),
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return {
        "user_id": row.user_id,
        "name": row.display_name or row.user_label,
        "agency": row.name,
        "at": row.at,
    }


# The audit log's actions that change a return's version.
CHANGES = ("return.save_draft", "return.submit", "return.reopen")


def snapshot(session: Session, *, return_id: int) -> dict:
    """The return flattened for the audit log: one key per answer, grade and evidence
    box, so a log row can hold only what changed."""
    found = detail(session, return_id=return_id, actor=SYSTEM)
    flat = {
        "status": found["status"],
        "version": found["version"],
        "auditor_name": found["auditor_name"],
        "overall_grade": found["overall_grade"],
        "amendment_note": found["amendment_note"],
    }
    flat.update({f"answer:{a['question_id']}": a["value"] for a in found["answers"]})
    flat.update({f"grade:{g['key_area_id']}": g["level"] for g in found["grades"]})
    for e in found["evidence"]:
        for box in ("went_well", "could_be_better", "impact_on_child"):
            flat[f"evidence:{e['key_area_id']}:{box}"] = e[box]
    return flat


def _changing(
    session: Session, return_: Return, action: str
) -> AbstractContextManager[auditlog.Change]:
    """Log the change a ``with`` block makes to the return. The snapshot reads columns
    straight from the database, so the change is flushed before it is taken again."""
    return auditlog.changing(
        session,
        return_,
        action=action,
        object_type="return",
        view=lambda r: snapshot(session, return_id=r.id),
    )


def save_draft(
    session: Session,
    *,
    return_: Return,
    read_version: int,
    answers: list[AnswerIn],
    grades: list[GradeIn],
    evidence: list[EvidenceIn],
    overall_grade: tuple[bool, str | None] = (False, None),
    auditor_name: str | None = None,
) -> Return:
    """Save part or all of a return as a draft. Only what is sent changes; a blank value
    clears it. Bad values give 422 naming each one; a stale ``read_version`` gives 409."""
    audit, tpl = template_for(session, return_.audit_id)
    _require_editable(audit, return_)
    clean_answers, clean_grades, problems = check_inputs(
        tpl, answers, grades, evidence, overall_grade
    )
    asked = asked_after(session, return_id=return_.id, tpl=tpl, changes=clean_answers)
    if asked is not None:
        # An answer to a question the return does not ask (its condition's answer says
        # not, or has changed) goes, whatever it was: not kept, and not refused either.
        problems = [
            p
            for p in problems
            if (question_id := _question_of(p, answers)) is None or asked.get(question_id, True)
        ]
        for question_id, is_asked in asked.items():
            if not is_asked:
                clean_answers[question_id] = None
    if problems:
        raise InvalidInput("Some answers are not valid. Nothing was saved.", fields=problems)

    now = utcnow()
    # A change withdraws a request for the lead's sign-off: it was for what was sent.
    values: dict = {"sign_off_requested_at": None, "sign_off_version": None}
    if return_.status == ReturnStatus.NOT_STARTED:
        values.update(status=ReturnStatus.DRAFT, started_at=now)
    if auditor_name:
        values["auditor_name"] = auditor_name
    given, code = overall_grade
    if given:
        values["overall_grade_id"] = tpl.levels[code].id if code else None
    with _changing(session, return_, "return.save_draft"):
        _bump_version(session, return_=return_, read_version=read_version, **values)
        _put_values(
            session,
            model=Answer,
            key="question_id",
            column="value",
            return_id=return_.id,
            values=clean_answers,
            now=now,
        )
        _put_values(
            session,
            model=Grade,
            key="key_area_id",
            column="level_id",
            return_id=return_.id,
            values={k: level.id if level else None for k, level in clean_grades.items()},
            now=now,
        )
        _write_evidence(session, return_id=return_.id, evidence=evidence, now=now)
    return return_


def _question_of(problem: FieldError, answers: list[AnswerIn]) -> int | None:
    """The question an error about ``answers[i]`` is about; None for any other error."""
    if not problem.field.startswith("answers["):
        return None
    index = int(problem.field[len("answers[") : problem.field.index("]")])
    return answers[index].question_id


def _put_values(
    session: Session, *, model, key: str, column: str, return_id: int, values: dict, now
) -> None:
    """Set or clear one row per ``key`` (a question or a key area) of a return: a None
    value deletes the row, a changed value updates it, a new one inserts it."""
    if not values:
        return
    key_column = getattr(model, key)
    existing = {
        getattr(row, key): row
        for row in session.scalars(
            select(model).where(model.return_id == return_id, key_column.in_(values))
        )
    }
    for key_value, value in values.items():
        row = existing.get(key_value)
        if value is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(
                model(return_id=return_id, updated_at=now, **{key: key_value, column: value})
            )
        elif getattr(row, column) != value:
            setattr(row, column, value)
            row.updated_at = now


def _write_evidence(session: Session, *, return_id: int, evidence: list[EvidenceIn], now) -> None:
    if not evidence:
        return
    ids = [e.key_area_id for e in evidence]
    existing = {
        e.key_area_id: e
        for e in session.scalars(
            select(KeyAreaEvidence).where(
                KeyAreaEvidence.return_id == return_id, KeyAreaEvidence.key_area_id.in_(ids)
            )
        )
    }
    for item in evidence:
        row = existing.get(item.key_area_id)
        if row is None:
            row = KeyAreaEvidence(
                return_id=return_id,
                key_area_id=item.key_area_id,
                went_well="",
                could_be_better="",
                impact_on_child="",
            )
            session.add(row)
            existing[item.key_area_id] = row
        for box in ("went_well", "could_be_better", "impact_on_child"):
            value = getattr(item, box)
            if value is not None:
                setattr(row, box, value)
        row.updated_at = now


def screen(
    session: Session, *, return_: Return, tpl: AuditTemplate, confirmed: bool
) -> list[entry.Flag]:
    """The identification guard on what is submitted (not on drafts: they are saved as
    the auditor types). A free-text answer or box of evidence that looks identifying
    refuses the submission (LooksIdentifying, 422, naming each one and where it is)
    unless ``confirmed``; returns what was confirmed, to log."""
    words = written(session, return_=return_, tpl=tpl)
    try:
        return entry.screen(
            session, {name: text for name, (_where, text) in words.items()}, confirmed=confirmed
        )
    except InvalidInput as refused:
        where = {name: place for name, (place, _text) in words.items()}
        raise LooksIdentifying(
            refused.message,
            fields=[
                FieldError(f.field, f"{where[f.field]}: {f.message}") if f.field in where else f
                for f in refused.fields
            ],
            where=where,
        ) from None


def submit(
    session: Session,
    *,
    return_: Return,
    read_version: int,
    signed_off: bool = False,
    confirmed: bool = False,
) -> Return:
    """Lock a return for moderation. Every required question must be answered and every
    graded key area graded; otherwise 422 lists each missing item. What it says that
    looks identifying must be ``confirmed`` by whoever submits it (``screen``). In an
    audit whose agency leads sign off returns, an auditor's submission instead sends it
    to the lead (``signoff.sign_off`` then submits it, ``signed_off``)."""
    audit, tpl = template_for(session, return_.audit_id)
    _require_editable(audit, return_)
    if return_.version != read_version:
        # Checked again atomically by the UPDATE below; a stale client hears of the
        # conflict before being told about missing answers it may already have given.
        _raise_conflict(session, return_=return_, read_version=read_version)
    missing = missing_items(session, return_=return_, tpl=tpl)
    if missing:
        raise ReturnIncomplete(
            f"The return cannot be submitted: {len(missing)} item(s) are missing.",
            fields=missing,
        )
    flagged = screen(session, return_=return_, tpl=tpl, confirmed=confirmed)
    if audit.lead_sign_off and not signed_off:
        sender = current_context().actor
        named = {} if return_.auditor_name else {"auditor_name": sender.name or sender.label}
        with _changing(session, return_, "return.sign_off_request"):
            _bump_version(
                session,
                return_=return_,
                read_version=read_version,
                sign_off_requested_at=utcnow(),
                sign_off_version=read_version + 1,
                **named,
            )
        entry.record_confirmation(session, flagged, object_type="return", object_id=return_.id)
        return return_
    with _changing(session, return_, "return.submit"):
        _bump_version(
            session,
            return_=return_,
            read_version=read_version,
            status=ReturnStatus.SUBMITTED,
            submitted_at=utcnow(),
            amendment_note=None,
            sign_off_requested_at=None,
            sign_off_version=None,
        )
    entry.record_confirmation(session, flagged, object_type="return", object_id=return_.id)
    # Never changed in place: each submission is kept as a version of its own.
    actor = current_context().actor
    versions.record(session, return_=return_, submitted_by=actor.name or actor.label)
    if audit.status == AuditStatus.MODERATION:
        # Amended during moderation: cells whose grade did not change stay moderated.
        moderation.refresh_return(session, audit=audit, return_=return_)
    assurance.close_if_answered(session, audit=audit)  # a questionnaire: all in, it closes
    return return_


def reopen(session: Session, *, return_: Return, read_version: int, note: str) -> Return:
    """Send a submitted return back to its auditor for amendment, with a note saying why."""
    audit = get_or_404(session, Audit, return_.audit_id, what="audit")
    if audit.status not in (AuditStatus.OPEN, AuditStatus.MODERATION):
        raise StateError(
            f"The audit is {audit.status.value}; its returns can no longer be reopened."
        )
    sendable = {ReturnStatus.SUBMITTED}
    if audit.status == AuditStatus.MODERATION:
        sendable.add(ReturnStatus.MODERATED)  # its decisions stay, to be looked at again
    if return_.status not in sendable:
        raise StateError(
            f"Only a submitted return can be sent back; this one is "
            f"{return_.status.value.replace('_', ' ')}."
        )
    with _changing(session, return_, "return.reopen"):
        _bump_version(
            session,
            return_=return_,
            read_version=read_version,
            status=ReturnStatus.RETURNED,
            returned_at=utcnow(),
            amendment_note=note,
        )
    notices.return_sent_back(session, return_=return_, note=note)
    return return_
