"""An audit's life past planning: opening it for returns (after a check that lists what
would stop it and what needs confirming), and closing and reopening it once its
learning is done.

Keyword-only functions that never commit, as in ``service``; each takes the audit's
row lock (``cohort.lock_audit``) before reading its status.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.access.models import AGENCY_ROLES, Role, User, UserRole
from app.actions.lifecycle import FINISHED
from app.actions.models import LearningAction
from app.agencies.models import Agency
from app.auditlog import service as auditlog
from app.audits.cohort import list_children, lock_audit
from app.audits.models import Audit, AuditStatus
from app.audits.service import asks_within_period, audit_log_view
from app.clock import today, utcnow
from app.errors import Conflict, FieldError, InvalidInput, StateError
from app.notifications import notices

# --- opening -------------------------------------------------------------------------


@dataclass
class AgencyToOpen:
    """An agency asked for returns when the audit opens, and who there will be told:
    its active auditors (who complete the returns) and agency leads."""

    agency: Agency
    returns: int = 0
    auditors: list[str] = field(default_factory=list)
    leads: list[str] = field(default_factory=list)


@dataclass
class OpeningCheck:
    """What opening would do and what stands in its way: ``problems`` stop it (a
    missing date, no agencies or children, a child no agency is involved with, no
    period the audit looks at when the template asks for dates within it);
    ``warnings`` need the opener's confirmation (an agency with no active auditor to
    complete its returns, no moderation meeting date, a due date already past). Each
    warning's ``field`` is its key (``agencies.<id>``, ``moderation_meeting_on``,
    ``returns_due_on``), which a confirmation names."""

    problems: list[FieldError]
    warnings: list[FieldError]
    agencies: list[AgencyToOpen]

    @property
    def returns(self) -> int:
        return sum(a.returns for a in self.agencies)

    @property
    def warning_keys(self) -> list[str]:
        return [w.field for w in self.warnings]


class NeedsConfirmation(InvalidInput):
    """Opening would leave someone unable to complete the audit: the opener must say
    they understand (``confirm``) first."""

    code = "needs_confirmation"


class WarningsChanged(Conflict):
    """The opener confirmed other warnings than there are now (one appeared, or went,
    after they were shown): nothing is confirmed unseen. ``fields`` are the warnings
    there are now; ``new`` those among them that were not confirmed."""

    code = "warnings_changed"

    def __init__(self, message: str, *, fields: list[FieldError], new: list[FieldError]):
        super().__init__(message, fields=fields)
        self.new = new


def _people(session: Session, agency_ids: list[int]) -> dict[int, dict[Role, list[str]]]:
    """The active auditors and agency leads of each agency, by name."""
    found: dict[int, dict[Role, list[str]]] = defaultdict(lambda: defaultdict(list))
    rows = session.execute(
        select(User.agency_id, UserRole.role, User.display_name)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.active, User.agency_id.in_(agency_ids), UserRole.role.in_(AGENCY_ROLES))
        .order_by(User.display_name)
    )
    for agency_id, role, name in rows:
        if agency_id is not None:  # (always: the query asks for the agency's people)
            found[agency_id][role].append(name)
    return found


def opening_check(session: Session, *, audit: Audit) -> OpeningCheck:
    """Everything opening checks, without opening: for the confirmation page, and for
    ``open_audit`` itself."""
    problems: list[FieldError] = []
    warnings: list[FieldError] = []
    if audit.returns_due_on is None:
        problems.append(FieldError("returns_due_on", "Set the date returns are due"))
    elif audit.returns_due_on < today():
        warnings.append(FieldError("returns_due_on", "The date returns are due has already passed"))
    if (audit.period_from is None or audit.period_to is None) and asks_within_period(
        session, audit=audit
    ):
        problems.append(
            FieldError(
                "period_from",
                "Set the period the audit looks at: the template asks for dates within it",
            )
        )
    if audit.moderation_meeting_on is None:
        warnings.append(
            FieldError("moderation_meeting_on", "The moderation meeting's date is not set")
        )
    if not audit.agencies:
        problems.append(FieldError("agency_ids", "Add the participating agencies"))
    children = list_children(session, audit=audit)
    if not children and not audit.about_agencies:  # there: each agency taking part
        problems.append(FieldError("children", "Add the children in the cohort"))
    if audit.about_agencies:
        assessed = {c.agency_id for c in children}
        problems += [
            FieldError("agency_ids", f"{a.name} has no return of its own: save the agencies again")
            for a in audit.agencies
            if a.id not in assessed
        ]
    for child in children:
        if not child.involvements:
            problems.append(
                FieldError(f"children.{child.id}", f"{child.pseudonym} has no involved agencies")
            )
    owed = Counter(i.agency_id for c in children for i in c.involvements)
    people = _people(session, [a.id for a in audit.agencies])
    agencies = []
    for agency in audit.agencies:
        staff = people.get(agency.id, {})
        entry = AgencyToOpen(
            agency,
            owed.get(agency.id, 0),
            list(staff.get(Role.AUDITOR, [])),
            list(staff.get(Role.AGENCY_LEAD, [])),
        )
        agencies.append(entry)
        if entry.returns and not entry.auditors:
            returns = f"{entry.returns} return{'s' if entry.returns != 1 else ''}"
            warnings.append(
                FieldError(
                    f"agencies.{agency.id}",
                    f"{agency.name} has no active auditor to complete its {returns}",
                )
            )
    return OpeningCheck(problems, warnings, agencies)


def open_audit(
    session: Session,
    *,
    audit: Audit,
    confirm: bool = False,
    warnings: Collection[str] | None = None,
) -> Audit:
    """Open a planned audit for returns. 422 lists what is missing first; then, unless
    ``confirm``, 422 (``needs_confirmation``) names each warning. ``warnings``, when
    given, are the keys of the warnings the opener was shown and confirms: if there are
    warnings now and they are not exactly those, 409 (``warnings_changed``) names the
    warnings there are now. (Without ``warnings``, ``confirm`` confirms whatever there
    is.) The warnings confirmed are in the audit log with the opening."""
    status = lock_audit(session, audit)
    if status != AuditStatus.PLANNED:
        raise StateError(f"Only a planned audit can be opened; this one is {status.value}.")
    check = opening_check(session, audit=audit)
    if check.problems:
        raise InvalidInput("The audit is not ready to open.", fields=check.problems)
    if check.warnings and not confirm:
        raise NeedsConfirmation(
            "Opening this audit needs confirmation: "
            + "; ".join(w.message for w in check.warnings)
            + ".",
            fields=check.warnings,
        )
    if check.warnings and warnings is not None and set(warnings) != set(check.warning_keys):
        new = [w for w in check.warnings if w.field not in set(warnings)]
        raise WarningsChanged(
            "The warnings have changed since they were confirmed"
            + (": " + "; ".join(w.message for w in new) if new else "")
            + ". Check them and confirm again.",
            fields=check.warnings,
            new=new,
        )
    before = audit_log_view(audit)
    audit.status = AuditStatus.OPEN
    audit.opened_at = utcnow()
    session.flush()
    old, new_values = auditlog.changes(before, audit_log_view(audit))
    if check.warnings:
        new_values["warnings_confirmed"] = [w.message for w in check.warnings]
    auditlog.record(
        session,
        action="audit.open",
        object_type="audit",
        object_id=audit.id,
        before=old,
        after=new_values,
    )
    notices.audit_opened(session, audit=audit)
    return audit


# --- closing and reopening -----------------------------------------------------------


def open_actions(session: Session, *, audit: Audit) -> tuple[int, int]:
    """(learning actions not yet closed, all the audit's learning actions); a refused
    action counts as closed: nothing more can happen to it."""
    finished = case((LearningAction.status.in_(FINISHED), 0), else_=1)
    total, still_open = session.execute(
        select(func.count(), func.coalesce(func.sum(finished), 0)).where(
            LearningAction.audit_id == audit.id
        )
    ).one()
    return still_open, total


def close_audit(session: Session, *, audit: Audit, reason: str = "") -> Audit:
    """Close an audit in learning: its learning is done. The reason is required unless
    every learning action is closed."""
    status = lock_audit(session, audit)
    if status != AuditStatus.LEARNING:
        raise StateError(f"Only an audit in learning can be closed; this one is {status.value}.")
    still_open, _total = open_actions(session, audit=audit)
    if still_open and not reason:
        actions = (
            "1 learning action is" if still_open == 1 else f"{still_open} learning actions are"
        )
        raise InvalidInput(
            "Say why the audit is closing before its learning actions are.",
            fields=[
                FieldError("reason", f"{actions} not closed yet: say why the audit closes now")
            ],
        )
    mark_closed(session, audit=audit, was=status, reason=reason, open_actions=still_open)
    return audit


def mark_closed(session: Session, *, audit: Audit, was: AuditStatus, reason: str, **logged) -> None:
    """Close the audit (locked, in status ``was``, its checks made by the caller), and
    log it as ``audit.close`` with ``logged`` beside the reason."""
    audit.status = AuditStatus.CLOSED
    audit.closed_at = utcnow()
    audit.close_reason = reason
    session.flush()
    auditlog.record(
        session,
        action="audit.close",
        object_type="audit",
        object_id=audit.id,
        before={"status": was.value},
        after={
            "status": audit.status.value,
            "closed_at": audit.closed_at,
            "reason": reason,
            **logged,
        },
    )


def reopen_audit(session: Session, *, audit: Audit, reason: str) -> Audit:
    """Put a closed audit back in learning, with the reason; its closing is cleared
    (and stays in the audit log)."""
    status = lock_audit(session, audit)
    if status != AuditStatus.CLOSED:
        raise StateError(f"Only a closed audit can be reopened; this one is {status.value}.")
    if not reason:
        raise InvalidInput(
            "Say why the audit is reopened.",
            fields=[FieldError("reason", "Say why the audit is reopened")],
        )
    before = {
        "status": status.value,
        "closed_at": audit.closed_at,
        "close_reason": audit.close_reason,
    }
    audit.status = AuditStatus.LEARNING
    audit.closed_at = None
    audit.close_reason = ""
    session.flush()
    auditlog.record(
        session,
        action="audit.reopen",
        object_type="audit",
        object_id=audit.id,
        before=before,
        after={"status": audit.status.value, "reason": reason},
    )
    return audit
