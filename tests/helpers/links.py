"""One-time links in the tests: the token of the link an e-mail carries, read from the
notification queued for it (as the person would read it from the e-mail)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.models import User
from app.notifications.models import Notification

# 12:00 in London on a day of Greenwich Mean Time: every test of links runs at it.
NOON = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
NEW_PASSWORD = "a fresh and long passphrase 42"
_LINK = re.compile(r"https?://\S+/(?:invitation|reset-password)/([A-Za-z0-9_-]+)")


def emails(db: Session, kind: str, user: User | None = None) -> list[Notification]:
    stmt = select(Notification).where(Notification.kind == kind).order_by(Notification.id)
    if user is not None:
        stmt = stmt.where(Notification.user_id == user.id)
    return list(db.scalars(stmt))


def link_token(db: Session, user: User, kind: str = "invitation") -> str:
    """The token in the newest ``kind`` e-mail queued for ``user``."""
    sent = emails(db, kind, user)
    assert sent, f"no {kind} e-mail for {user.email}"
    found = _LINK.search(sent[-1].body)
    assert found, sent[-1].body
    return found[1]
