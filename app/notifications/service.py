"""Telling people when something needs them.

``queue`` is called by a service in the same transaction as the change it tells of: it
writes one Notification per person, worded from the project's e-mail templates
(templates/notifications/email/<kind>.txt, previewable by an admin), so a change that
is rolled back tells no one. Nothing is sent inside a request.

``send_due`` is the courier: after the change commits it claims each queued
notification (one UPDATE, so two couriers never take the same one), commits the claim,
sends it through GOV.UK Notify or SMTP (whichever the settings give), and records it
sent. One that fails goes back in the queue for a later run, with a growing wait, and
is given up after MAX_ATTEMPTS; one that was sent is never sent again. A courier that
stops between sending and recording leaves its claim: the notification is not sent
twice but reported as unconfirmed (stale claims are marked failed after a while), as
the daily digest does (app/reminders/service.py).

Each web process runs a courier in a thread when a channel is set
(``AUDIT_NOTIFY_API_KEY`` or ``AUDIT_SMTP_HOST``); ``audit-tools notifications send``
runs one round, for cron (app/notifications/courier.py).
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import inspect, select, update
from sqlalchemy.orm import Session

from app.access.models import Role, User, UserRole
from app.clock import utcnow
from app.config import PROJECT_ROOT, Settings
from app.db import rows_matched
from app.notifications.models import Notification, NotificationStatus

log = logging.getLogger(__name__)

EMAILS = PROJECT_ROOT / "templates" / "notifications" / "email"
# E-mails that carry a one-time link (an invitation, a password reset): once sent or
# given up, the link is taken out of the kept copy, so the database never holds a
# working link for longer than it waits to be sent.
SECRET_KINDS = frozenset({"invitation", "password_reset"})
LINK_REMOVED = "[the link was sent by e-mail and is not kept]"
MAX_ATTEMPTS = 5
# The wait before each retry: 1, 4, 16, 64 minutes.
RETRY_AFTER = (timedelta(minutes=1), timedelta(minutes=4), timedelta(minutes=16))
RETRY_LAST = timedelta(minutes=64)
# A claim older than this is from a courier that stopped: given up, never sent again.
STALE_CLAIM = timedelta(minutes=30)

_emails = Environment(
    loader=FileSystemLoader(str(EMAILS)),
    autoescape=False,  # plain text e-mails  # noqa: S701
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def kinds() -> list[str]:
    """Every notification the service sends, by its template's name."""
    return sorted(p.stem for p in Path(EMAILS).glob("*.txt"))


def render(kind: str, context: dict) -> tuple[str, str]:
    """(subject, body) of ``kind``'s e-mail: the template's first line is
    ``Subject: ...``, the body follows a blank line."""
    text = _emails.get_template(f"{kind}.txt").render(**context)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"templates/notifications/email/{kind}.txt must start with 'Subject: '")
    return first.removeprefix("Subject: ").strip(), body.strip() + "\n"


def queue(
    session: Session,
    *,
    kind: str,
    users: Iterable[User],
    context: dict,
    object_type: str,
    object_id: int | None,
) -> list[Notification]:
    """One notification of ``kind`` for each active person of ``users`` (once each),
    in the caller's transaction; each e-mail names its reader."""
    made = []
    seen: set[int] = set()
    for user in users:
        if not user.active or user.id in seen:
            continue
        seen.add(user.id)
        subject, body = render(kind, {**context, "name": user.display_name})
        notification = Notification(
            kind=kind,
            user_id=user.id,
            email=user.email,
            subject=subject[:300],
            body=body,
            object_type=object_type,
            object_id=object_id,
            status=NotificationStatus.QUEUED,
            next_attempt_at=utcnow(),
        )
        session.add(notification)
        made.append(notification)
    session.flush()
    return made


def people(
    session: Session, *, roles: Iterable[Role], agency_ids: Iterable[int] | None = None
) -> list[User]:
    """Active people with any of ``roles`` (in one of ``agency_ids``, if given)."""
    stmt = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_(list(roles)), User.active)
        .order_by(User.id)
        .distinct()
    )
    if agency_ids is not None:
        stmt = stmt.where(User.agency_id.in_(list(agency_ids)))
    return list(session.scalars(stmt))


def mine(session: Session, *, user_id: int, limit: int = 100) -> list[Notification]:
    """What the person has been told (or is about to be), newest first. An e-mail with a
    one-time link shows without it even before it is sent: the link goes by e-mail only
    (someone holding another's session or token must not read their reset link here).
    Those are copies for showing, never saved."""
    found = list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )
    return [_shown(n) if n.kind in SECRET_KINDS else n for n in found]


def _shown(notification: Notification) -> Notification:
    """A copy of ``notification`` without its links, never added to a session."""
    copy = Notification(
        **{c.key: getattr(notification, c.key) for c in inspect(Notification).column_attrs}
    )
    copy.body = _without_links(copy.body)
    return copy


# --- sending -----------------------------------------------------------------------


class SendFailed(Exception):
    """A channel could not deliver: the notification is tried again later."""


Sender = Callable[[Notification], None]


def channel(settings: Settings) -> tuple[str, Sender] | None:
    """GOV.UK Notify when its key is set, else SMTP when a server is set, else none (the
    notifications wait, visible to their readers, until a channel is set)."""
    if settings.notify_api_key:
        return "notify", notify_sender(settings)
    if settings.smtp_host:
        return "smtp", smtp_sender(settings)
    return None


def notify_sender(settings: Settings, client=None) -> Sender:
    """Through GOV.UK Notify: one template in the Notify account with ((subject)) and
    ((body)) (AUDIT_NOTIFY_TEMPLATE_ID); the notification's id is its reference."""
    if client is None:
        from notifications_python_client.notifications import NotificationsAPIClient

        client = NotificationsAPIClient(settings.notify_api_key)

    def send(notification: Notification) -> None:
        from notifications_python_client.errors import HTTPError

        try:
            client.send_email_notification(
                email_address=notification.email,
                template_id=settings.notify_template_id,
                personalisation={"subject": notification.subject, "body": notification.body},
                reference=f"notification-{notification.id}",
            )
        except (HTTPError, OSError) as exc:
            raise SendFailed(str(exc) or exc.__class__.__name__) from exc

    return send


def smtp_sender(settings: Settings) -> Sender:
    def send(notification: Notification) -> None:
        message = EmailMessage()
        message["From"] = settings.mail_from
        message["To"] = notification.email
        message["Subject"] = notification.subject
        message["Message-ID"] = f"<notification-{notification.id}@case-audit>"
        message.set_content(notification.body)
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls()
                if settings.smtp_username:
                    smtp.login(settings.smtp_username, settings.smtp_password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise SendFailed(str(exc) or exc.__class__.__name__) from exc

    return send


@dataclass
class Round:
    sent: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    given_up: list[int] = field(default_factory=list)


def send_due(
    factory: Callable[[], AbstractContextManager[Session]],
    *,
    settings: Settings,
    sender: tuple[str, Sender] | None = None,
    now: datetime | None = None,
    limit: int = 200,
) -> Round:
    """One round of the courier: every queued notification that is due, each claimed,
    sent and recorded in transactions of its own (``factory``: a sessionmaker, or
    anything that gives a session to use and close)."""
    done = Round()
    chosen = sender or channel(settings)
    if chosen is None:
        return done
    name, send = chosen
    now = now or utcnow()
    with factory() as session:
        stale = (
            Notification.status == NotificationStatus.SENDING,
            Notification.claimed_at < now - STALE_CLAIM,
        )
        for kept in session.scalars(
            select(Notification).where(*stale, Notification.kind.in_(SECRET_KINDS))
        ):
            kept.body = _without_links(kept.body)
        session.flush()
        session.execute(
            update(Notification)
            .where(*stale)
            .values(
                status=NotificationStatus.FAILED,
                last_error="The courier stopped while sending: not sent again, in case it went.",
            )
            .execution_options(synchronize_session=False)
        )
        session.commit()
        due = list(
            session.scalars(
                select(Notification.id)
                .where(
                    Notification.status == NotificationStatus.QUEUED,
                    Notification.next_attempt_at <= now,
                )
                .order_by(Notification.id)
                .limit(limit)
            )
        )
    for notification_id in due:
        with factory() as session:
            claimed = session.execute(
                update(Notification)
                .where(
                    Notification.id == notification_id,
                    Notification.status == NotificationStatus.QUEUED,
                )
                .values(status=NotificationStatus.SENDING, claimed_at=now, channel=name)
                .execution_options(synchronize_session=False)
            )
            session.commit()
            if not rows_matched(claimed):
                continue  # another courier has it
            notification = session.get(Notification, notification_id)
            assert notification is not None
            try:
                send(notification)
            except SendFailed as exc:
                notification.attempts += 1
                notification.last_error = str(exc)[:2000]
                if notification.attempts >= MAX_ATTEMPTS:
                    notification.status = NotificationStatus.FAILED
                    done.given_up.append(notification_id)
                else:
                    wait = (
                        RETRY_AFTER[notification.attempts - 1]
                        if notification.attempts <= len(RETRY_AFTER)
                        else RETRY_LAST
                    )
                    notification.status = NotificationStatus.QUEUED
                    notification.next_attempt_at = now + wait
                    done.failed.append((notification_id, notification.last_error))
            else:
                notification.attempts += 1
                notification.status = NotificationStatus.SENT
                notification.sent_at = now
                done.sent.append(notification_id)
            if notification.kind in SECRET_KINDS and notification.status != (
                NotificationStatus.QUEUED
            ):
                notification.body = _without_links(notification.body)
            session.commit()
    return done


def _without_links(body: str) -> str:
    """The e-mail as kept once its one-time link has gone: every address taken out."""
    return re.sub(r"https?://\S+", LINK_REMOVED, body)
