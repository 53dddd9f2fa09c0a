"""Learning actions: creating and editing them, and moving them through their lifecycle.

The allowed status changes are the table in ``lifecycle.LIFECYCLE``; anything else
is refused with 409 naming the current status and the allowed next steps. Every
change of status (and every progress note) appends an ``ActionStatusChange`` row:
who, when, from, to, the note and any evidence or reason. Changes take the action's
row lock and bump its version, so two people cannot both move it, and a form read
before someone else's change is refused rather than overwriting it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.access.models import User
from app.access.policy import Actor, Forbidden, Permission, audit_scope, may_update_action
from app.actions import lifecycle
from app.actions.lifecycle import FINISHED, STATUS_LABELS, Clock
from app.actions.models import ActionStatus, ActionStatusChange, LearningAction
from app.auditlog import service as auditlog
from app.audits.models import Audit, AuditStatus
from app.clock import utcnow
from app.errors import Conflict, FieldError, InvalidInput, NotFound, StateError
from app.findings.models import Finding
from app.findings.service import findings_in_audit
from app.identify import entry

ACTION_LOAD = (
    joinedload(LearningAction.audit).joinedload(Audit.lead_subgroup),
    joinedload(LearningAction.owning_agency),
    selectinload(LearningAction.findings).selectinload(Finding.themes),
    selectinload(LearningAction.history),
)


def action_scope(actor: Actor):
    """Actions of the audits the actor may see (actions name no child)."""
    return LearningAction.audit_id.in_(select(Audit.id).where(audit_scope(actor)))


def get_action(
    session: Session, *, action_id: int, actor: Actor, options=ACTION_LOAD
) -> LearningAction:
    action = session.scalar(
        select(LearningAction)
        .where(LearningAction.id == action_id, action_scope(actor))
        .options(*options)
    )
    if action is None:
        raise NotFound(f"There is no learning action with id {action_id}.")
    return action


def view(action: LearningAction, clock: Clock) -> dict:
    """The action with where it stands today and what may happen next (``ACTION_LOAD``)."""
    standing = lifecycle.assess(action, clock.today, clock.executive_after_days)
    subgroup = action.audit.lead_subgroup
    return {
        **{c.key: getattr(action, c.key) for c in LearningAction.__table__.columns},
        "audit_title": action.audit.title,
        "owning_agency": action.owning_agency,
        "findings": [
            {
                "id": f.id,
                "kind": f.kind,
                "statement": f.statement,
                "themes": [t.name for t in f.themes],
            }
            for f in action.findings
        ],
        "rag": standing.rag,
        "overdue_days": standing.overdue_days,
        "escalated_to": lifecycle.escalated_to(
            standing.escalation, subgroup.name if subgroup else None
        ),
        "allowed_next": lifecycle.allowed_next(action.status),
        "history": action.history,
        "standing": standing,
    }


# --- checks ---------------------------------------------------------------------------

CREATABLE = frozenset({AuditStatus.OPEN, AuditStatus.MODERATION, AuditStatus.LEARNING})
# What people write about the case, screened by the identification guard as it is
# saved. Never the owner: an action has a named owner, so that field holds a person's
# name on purpose.
WRITTEN = ("title", "description", "success_measure")


def _check_owner(
    session: Session, owning_agency_id: int, owner_user_id: int | None
) -> list[FieldError]:
    if owner_user_id is None:
        return []
    user = session.get(User, owner_user_id)
    if user is None or not user.active or user.agency_id != owning_agency_id:
        return [
            FieldError(
                "owner_user_id",
                f"User {owner_user_id} is not an active person in the owning agency",
            )
        ]
    return []


def _check_agency(audit: Audit, agency_id: int) -> list[FieldError]:
    if agency_id not in {a.id for a in audit.agencies}:
        return [
            FieldError("owning_agency_id", f"Agency {agency_id} is not taking part in this audit")
        ]
    return []


def _lock(session: Session, action: LearningAction, version: int | None) -> None:
    """Re-read the action's status and version under its row lock; a caller who read
    an older version is told to reload (409)."""
    session.refresh(action, ["status", "version"], with_for_update=True)
    if version is not None and version != action.version:
        raise Conflict(
            "This action has changed since you opened it. Reload it and try again; "
            "nothing was saved.",
            current_version=action.version,
            current_status=action.status.value,
        )


def _touch(action: LearningAction, *, bump: bool = True) -> None:
    action.updated_at = utcnow()
    if bump:
        action.version += 1


def _log(action: LearningAction) -> dict:
    return {
        "audit_id": action.audit_id,
        "title": action.title,
        "description": action.description,
        "finding_ids": sorted(f.id for f in action.findings),
        "owning_agency_id": action.owning_agency_id,
        "owner_name": action.owner_name,
        "owner_user_id": action.owner_user_id,
        "due_on": action.due_on,
        "success_measure": action.success_measure,
        "status": action.status,
    }


def _history(
    session: Session,
    actor: Actor,
    action: LearningAction,
    from_status: ActionStatus | None,
    *,
    note: str = "",
    evidence: str = "",
    reason: str = "",
) -> ActionStatusChange:
    row = ActionStatusChange(
        action_id=action.id,
        from_status=from_status,
        to_status=action.status,
        note=note,
        evidence=evidence,
        reason=reason,
        changed_by_id=actor.user_id,
        changed_by_label=actor.label,
        changed_at=utcnow(),
    )
    session.add(row)
    return row


# --- changes --------------------------------------------------------------------------


def create_action(
    session: Session,
    *,
    actor: Actor,
    audit: Audit,
    title: str,
    owning_agency_id: int,
    owner_name: str,
    due_on: date,
    success_measure: str,
    description: str = "",
    finding_ids: list[int] | None = None,
    owner_user_id: int | None = None,
    confirm_identifying: bool = False,
) -> LearningAction:
    """Propose a learning action for the audit (``audit.agencies`` loaded), owned by
    one of its agencies, for the reasons its linked findings give. Text (``WRITTEN``)
    that looks identifying is refused unless ``confirm_identifying``; then the
    confirmation is logged."""
    if audit.status not in CREATABLE:
        raise StateError(
            f"This audit is {audit.status.value}: learning actions are agreed from when it "
            "opens until it closes."
        )
    findings, problems = findings_in_audit(session, audit=audit, finding_ids=finding_ids or [])
    problems += _check_agency(audit, owning_agency_id)
    problems += _check_owner(session, owning_agency_id, owner_user_id)
    if problems:
        raise InvalidInput("The action cannot be created as it is.", fields=problems)
    written = {"title": title, "description": description, "success_measure": success_measure}
    confirmed = entry.screen(session, written, confirmed=confirm_identifying)
    now = utcnow()
    action = LearningAction(
        audit_id=audit.id,
        title=title,
        description=description,
        findings=findings,
        owning_agency_id=owning_agency_id,
        owner_name=owner_name,
        owner_user_id=owner_user_id,
        due_on=due_on,
        success_measure=success_measure,
        status=ActionStatus.PROPOSED,
        version=1,
        created_by_id=actor.user_id,
        created_by_label=actor.label,
        created_at=now,
        updated_at=now,
    )
    session.add(action)
    session.flush()
    _history(session, actor, action, None, note="Action proposed.")
    session.flush()
    auditlog.record(
        session,
        action="learning_action.create",
        object_type="learning_action",
        object_id=action.id,
        after=_log(action),
    )
    entry.record_confirmation(
        session, confirmed, object_type="learning_action", object_id=action.id
    )
    return get_action(session, action_id=action.id, actor=actor)


def update_action(
    session: Session,
    *,
    actor: Actor,
    action: LearningAction,
    changes: dict,
    version: int | None = None,
    confirm_identifying: bool = False,
) -> LearningAction:
    """Change what the action is, why, who owns it, when it is due or how success is
    measured (``ACTION_LOAD``ed). A closed or not accepted action no longer changes.
    Changed text is screened as ``create_action`` screens it (text saved again as it
    was is not: it was screened when it was written)."""
    _lock(session, action, version)
    if action.status in FINISHED:
        raise StateError(
            f"This action is {STATUS_LABELS[action.status].lower()}: it can no longer change."
        )
    audit = session.scalars(
        select(Audit).where(Audit.id == action.audit_id).options(selectinload(Audit.agencies))
    ).one()
    agency_id = changes.get("owning_agency_id", action.owning_agency_id)
    owner_user_id = changes.get("owner_user_id", action.owner_user_id)
    problems: list[FieldError] = []
    findings = None
    if "finding_ids" in changes:
        findings, problems = findings_in_audit(
            session, audit=audit, finding_ids=changes["finding_ids"]
        )
    if "owning_agency_id" in changes:
        problems += _check_agency(audit, agency_id)
    if {"owning_agency_id", "owner_user_id"} & changes.keys():
        problems += _check_owner(session, agency_id, owner_user_id)
    if problems:
        raise InvalidInput("The action cannot be changed like this.", fields=problems)
    written = {
        key: changes[key]
        for key in WRITTEN
        if changes.get(key) is not None and changes[key] != getattr(action, key)
    }
    confirmed = entry.screen(session, written, confirmed=confirm_identifying)
    with auditlog.changing(
        session,
        action,
        action="learning_action.update",
        object_type="learning_action",
        view=_log,
    ) as change:
        if "due_on" in changes and changes["due_on"] != action.due_on:
            # A new due date: its lateness, if it comes, is news again.
            action.escalation_told = "none"
        for key, value in changes.items():
            if key != "finding_ids":
                setattr(action, key, value)
        if findings is not None:
            action.findings = findings
        # Saving a form unchanged is no change, nor a new version.
        if _log(action) != change.before:
            _touch(action)
    entry.record_confirmation(
        session, confirmed, object_type="learning_action", object_id=action.id
    )
    session.expire(action, ["owning_agency", "findings"])
    return get_action(session, action_id=action.id, actor=actor)


def _refuse_other_agency(actor: Actor, action: LearningAction) -> None:
    if not may_update_action(actor, action.owning_agency_id):
        raise Forbidden("You can update only your own agency's learning actions.")


def change_status(
    session: Session,
    *,
    actor: Actor,
    action: LearningAction,
    to: ActionStatus,
    note: str = "",
    evidence: str = "",
    reason: str = "",
    version: int | None = None,
    confirm_identifying: bool = False,
) -> LearningAction:
    """Move the action to ``to`` if ``LIFECYCLE`` allows it from its current status and
    the actor may make that step: completing needs the evidence of completion,
    recording impact the evidence of impact, not accepting a reason. The note, evidence
    and reason are screened as ``create_action`` screens its text."""
    _refuse_other_agency(actor, action)
    _lock(session, action, version)
    current = action.status
    step = lifecycle.step(current, to)
    if step is None:
        allowed = lifecycle.allowed_next(current)
        names = " or ".join(STATUS_LABELS[s].lower() for s in allowed) or "nothing: it is final"
        raise StateError(
            f"This action is {STATUS_LABELS[current].lower()}; it cannot become "
            f"{STATUS_LABELS[to].lower()}. From here it can move to {names}.",
            current_status=current.value,
            allowed=[s.value for s in allowed],
        )
    if step.permission == Permission.ACTION_MANAGE and not actor.may(Permission.ACTION_MANAGE):
        raise Forbidden(
            f"Only moderators and the business unit can make an action {STATUS_LABELS[to].lower()}."
        )
    given = {"evidence": evidence.strip(), "reason": reason.strip()}
    if step.requires and not given[step.requires]:
        message = {
            ActionStatus.COMPLETED: "Enter the evidence that the action has been completed",
            ActionStatus.IMPACT_EVIDENCED: "Enter the evidence of the action's impact",
            ActionStatus.NOT_ACCEPTED: "Enter why the action is not accepted",
        }[to]
        raise InvalidInput(message + ".", fields=[FieldError(step.requires, message)])
    written = {"note": note.strip(), **given}
    confirmed = entry.screen(session, written, confirmed=confirm_identifying)
    action.status = to
    if to == ActionStatus.COMPLETED:
        action.evidence_of_completion = given["evidence"]
    elif to == ActionStatus.IMPACT_EVIDENCED:
        action.evidence_of_impact = given["evidence"]
    elif to == ActionStatus.NOT_ACCEPTED:
        action.not_accepted_reason = given["reason"]
    _touch(action)
    _history(
        session,
        actor,
        action,
        current,
        note=note.strip(),
        evidence=given["evidence"],
        reason=given["reason"],
    )
    session.flush()
    auditlog.record(
        session,
        action="learning_action.status",
        object_type="learning_action",
        object_id=action.id,
        before={"status": current},
        after={"status": to, "note": note.strip(), **{k: v for k, v in given.items() if v}},
    )
    entry.record_confirmation(
        session, confirmed, object_type="learning_action", object_id=action.id
    )
    session.expire(action, ["history"])
    return get_action(session, action_id=action.id, actor=actor)


def add_note(
    session: Session,
    *,
    actor: Actor,
    action: LearningAction,
    note: str,
    confirm_identifying: bool = False,
) -> LearningAction:
    """A progress note: a history row that keeps the status (from = to). It changes no
    field a form edits, so it does not make anyone's open form stale. A note that looks
    identifying is refused unless ``confirm_identifying``, as other text is."""
    _refuse_other_agency(actor, action)
    _lock(session, action, None)
    if action.status in FINISHED:
        raise StateError(
            f"This action is {STATUS_LABELS[action.status].lower()}: notes can no longer be added."
        )
    confirmed = entry.screen(session, {"note": note.strip()}, confirmed=confirm_identifying)
    _touch(action, bump=False)
    row = _history(session, actor, action, action.status, note=note.strip())
    session.flush()
    auditlog.record(
        session,
        action="learning_action.note",
        object_type="learning_action",
        object_id=action.id,
        after={"status": action.status, "note": row.note},
    )
    entry.record_confirmation(
        session, confirmed, object_type="learning_action", object_id=action.id
    )
    session.expire(action, ["history"])
    return get_action(session, action_id=action.id, actor=actor)


def people(session: Session, *, agency_ids: list[int]) -> list[User]:
    """Active people in these agencies: who may be named as an action's owner."""
    return list(
        session.scalars(
            select(User)
            .where(User.agency_id.in_(agency_ids), User.active.is_(True))
            .order_by(User.display_name)
        )
    )
