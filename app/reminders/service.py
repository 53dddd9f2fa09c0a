"""The daily reminder digest: each person gets one e-mail listing their agency's
returns due within 7 days or overdue (auditors) and their learning actions due within
14 days or overdue (the named owner, or the owning agency's leads when no one is
named), with links. A person already sent a digest today is skipped, so running the
command twice in a day sends nothing the second time, even when the two runs overlap
(on two hosts, say): each person's row for the day is claimed before their e-mail goes."""

from __future__ import annotations

import smtplib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.access.models import Role, User, UserRole
from app.actions.models import ActionStatus, LearningAction
from app.audits.models import Audit, AuditStatus, Child
from app.briefings import assurance
from app.config import Settings
from app.reminders.models import ReminderSent
from app.returns.models import EDITABLE_STATUSES, Return

RETURNS_WITHIN_DAYS = 7
ACTIONS_WITHIN_DAYS = 14
OPEN_ACTIONS = (ActionStatus.AGREED, ActionStatus.IN_PROGRESS)


@dataclass
class Item:
    kind: str  # "return" | "action"
    id: int
    title: str
    due_on: date
    url: str

    def line(self, today: date) -> str:
        days = (self.due_on - today).days
        when = (
            f"overdue by {-days} day{'s' if days != -1 else ''}"
            if days < 0
            else "due today"
            if days == 0
            else f"due in {days} day{'s' if days != 1 else ''}"
        )
        return f"- {self.title}: {when} ({self.due_on:%-d %B %Y})\n  {self.url}"

    def record(self) -> dict:
        return {"kind": self.kind, "id": self.id, "due_on": self.due_on.isoformat()}


@dataclass
class Digest:
    user_id: int
    email: str
    name: str
    returns: list[Item] = field(default_factory=list)
    actions: list[Item] = field(default_factory=list)

    @property
    def items(self) -> list[Item]:
        return self.returns + self.actions

    def subject(self) -> str:
        parts = []
        if self.returns:
            parts.append(f"{len(self.returns)} return{'s' if len(self.returns) != 1 else ''}")
        if self.actions:
            parts.append(f"{len(self.actions)} action{'s' if len(self.actions) != 1 else ''}")
        return f"Case audit: {' and '.join(parts)} due soon or overdue"

    def body(self, today: date, partnership: str) -> str:
        lines = [f"Dear {self.name},", ""]
        for heading, items in (
            ("Returns your agency has still to submit", self.returns),
            ("Learning actions you own", self.actions),
        ):
            if items:
                lines += [f"{heading}:", ""]
                lines += [item.line(today) for item in sorted(items, key=lambda i: i.due_on)]
                lines.append("")
        lines += [
            "You get this reminder at most once a day while something is due within "
            f"{RETURNS_WITHIN_DAYS} days (returns) or {ACTIONS_WITHIN_DAYS} days (actions), "
            "or overdue.",
            "",
            partnership,
        ]
        return "\n".join(lines)


def _people(session: Session, role: Role) -> dict[int, list[User]]:
    """Active people with ``role``, by their agency."""
    found: dict[int, list[User]] = defaultdict(list)
    for user in session.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == role, User.active, User.agency_id.is_not(None))
        .order_by(User.id)
    ):
        if user.agency_id is not None:  # always, as selected: for the type checker
            found[user.agency_id].append(user)
    return found


def digests(session: Session, *, today: date, base_url: str) -> list[Digest]:
    """Who should hear about what today (before leaving out anyone already told)."""
    base_url = base_url.rstrip("/")
    by_user: dict[int, Digest] = {}

    def digest_for(user: User) -> Digest:
        if user.id not in by_user:
            by_user[user.id] = Digest(user.id, user.email, user.display_name)
        return by_user[user.id]

    auditors = _people(session, Role.AUDITOR)
    due_returns = session.execute(
        select(Return.id, Return.agency_id, Audit.title, Audit.returns_due_on, Child.pseudonym)
        .join(Audit, Audit.id == Return.audit_id)
        .join(Child, Child.id == Return.child_id)
        .where(
            Return.status.in_(EDITABLE_STATUSES),
            Audit.returns_due_on <= today + timedelta(days=RETURNS_WITHIN_DAYS),
            Return.excluded_at.is_(None),
            Audit.status.in_((AuditStatus.OPEN, AuditStatus.MODERATION)),
            # A family survey's returns are the families' to answer, by one-time link.
            Audit.survey_of_audit_id.is_(None),
        )
        .order_by(Audit.returns_due_on, Return.id)
    ).all()
    for return_id, agency_id, audit_title, due_on, pseudonym in due_returns:
        if due_on is None:  # never: the query compared it with a date
            continue
        item = Item(
            "return",
            return_id,
            f"{audit_title}: {pseudonym}",
            due_on,
            f"{base_url}/returns/{return_id}",
        )
        for user in auditors.get(agency_id, []):
            digest_for(user).returns.append(item)

    leads = _people(session, Role.AGENCY_LEAD)
    owners = {u.id: u for u in session.scalars(select(User).where(User.active))}
    due_actions = session.execute(
        select(
            LearningAction.id,
            LearningAction.title,
            LearningAction.due_on,
            LearningAction.owner_user_id,
            LearningAction.owning_agency_id,
        )
        .where(
            LearningAction.status.in_(OPEN_ACTIONS),
            LearningAction.due_on <= today + timedelta(days=ACTIONS_WITHIN_DAYS),
        )
        .order_by(LearningAction.due_on, LearningAction.id)
    ).all()
    for action_id, title, due_on, owner_id, agency_id in due_actions:
        item = Item("action", action_id, title, due_on, f"{base_url}/actions/{action_id}")
        owner = owners.get(owner_id) if owner_id else None
        for user in [owner] if owner else leads.get(agency_id, []):
            digest_for(user).actions.append(item)
    return sorted(by_user.values(), key=lambda d: d.user_id)


@dataclass
class Outcome:
    sent: list[Digest] = field(default_factory=list)
    skipped: list[Digest] = field(default_factory=list)  # already told today
    failed: list[tuple[Digest, str]] = field(default_factory=list)
    # Briefings' assurance questionnaires closed first, their answers due before today.
    closed: list[Audit] = field(default_factory=list)


def send(
    session: Session,
    *,
    settings: Settings,
    today: date,
    dry_run: bool = False,
    deliver: Callable[[EmailMessage], None] | None = None,
) -> Outcome:
    """Send today's digests; each person at most once a day, however many processes
    send at once (the same cron job on two hosts, say). With ``dry_run`` nothing is
    sent or recorded.

    Each person's row for the day is claimed, and the claim committed, before their
    e-mail goes (``_claim``): an e-mail cannot be taken back, so every other sender must
    see the claim first, and one that finds it skips the person. This is why, unlike
    other services, this one commits. A digest that cannot be delivered is reported and
    its claim released, so the next run tries again; the others still go. A sender that
    stops between its claim and the e-mail leaves the claim: that person misses the
    day's digest rather than getting two."""
    outcome = Outcome()
    if not dry_run:
        # A questionnaire whose answers were due closes (and its returns stop being due).
        outcome.closed = assurance.close_overdue(session, today=today)
    told = set(session.scalars(select(ReminderSent.user_id).where(ReminderSent.sent_on == today)))
    deliver = deliver or smtp_sender(settings)
    for digest in digests(session, today=today, base_url=settings.public_url):
        if digest.user_id in told:
            outcome.skipped.append(digest)
            continue
        if dry_run:
            outcome.sent.append(digest)
            continue
        claim = _claim(session, digest=digest, today=today)
        if claim is None:  # another sender claimed this person since ``told`` was read
            outcome.skipped.append(digest)
            continue
        message = EmailMessage()
        message["From"] = settings.mail_from
        message["To"] = digest.email
        message["Subject"] = digest.subject()
        message.set_content(digest.body(today, settings.partnership_name))
        try:
            deliver(message)
        except (OSError, smtplib.SMTPException) as exc:
            session.delete(claim)
            session.commit()
            outcome.failed.append((digest, str(exc) or exc.__class__.__name__))
            continue
        outcome.sent.append(digest)
    return outcome


def _claim(session: Session, *, digest: Digest, today: date) -> ReminderSent | None:
    """Record, and commit, that ``digest`` goes today; None if another sender has
    recorded it (the unique (user, day) constraint). On PostgreSQL an insert racing
    another sender's uncommitted one waits for it, then fails or goes ahead as that one
    commits or is released; on SQLite writers take turns."""
    claim = ReminderSent(
        user_id=digest.user_id,
        sent_on=today,
        email=digest.email,
        items=[item.record() for item in digest.items],
    )
    try:
        with session.begin_nested():
            session.add(claim)
    except IntegrityError:
        return None
    session.commit()
    return claim


def smtp_sender(settings: Settings) -> Callable[[EmailMessage], None]:
    """Deliver through the SMTP server in the settings (STARTTLS and login if set)."""

    def deliver(message: EmailMessage) -> None:
        if not settings.smtp_host:
            raise smtplib.SMTPException(
                "no SMTP server is set (AUDIT_SMTP_HOST); use --dry-run to see the digests"
            )
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(message)

    return deliver
