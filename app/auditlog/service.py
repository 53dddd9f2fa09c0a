"""Writing and checking the audit log.

``record`` inserts one row in the caller's transaction, so a change and its log row
commit or vanish together. Each row's hash is SHA-256 over the previous row's hash
and this row's content; rows are chained in id order. To keep the chain a single
line under concurrency, ``record`` first locks the newest row (FOR UPDATE on
PostgreSQL; SQLite's writers already hold the database lock).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auditlog.models import AuditEvent
from app.context import current
from app.db import utcnow

GENESIS = "0" * 64


def _canonical(value: Any) -> Any:
    """JSON-safe values, the same before storing and after reading back."""
    return json.loads(json.dumps(value, default=_default, sort_keys=True))


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    return str(value)


def content_hash(prev_hash: str, event: AuditEvent) -> str:
    payload = {
        "prev": prev_hash,
        "at": event.at.isoformat(),
        "user_id": event.user_id,
        "user_label": event.user_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
        "client_address": event.client_address,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def record(
    session: Session,
    *,
    action: str,
    object_type: str,
    object_id: int | None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Append one row saying the current actor did ``action`` to the object."""
    context = current()
    last = session.execute(
        select(AuditEvent.id, AuditEvent.hash)
        .order_by(AuditEvent.id.desc())
        .limit(1)
        .with_for_update()
    ).first()
    prev_hash = last.hash if last else GENESIS
    event = AuditEvent(
        at=utcnow(),
        user_id=context.actor.user_id,
        user_label=context.actor.label,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=_canonical(before) if before is not None else None,
        after=_canonical(after) if after is not None else None,
        request_id=context.request_id,
        client_address=context.client_address,
        prev_hash=prev_hash,
    )
    event.hash = content_hash(prev_hash, event)
    session.add(event)
    session.flush()
    return event


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose values differ, for a compact before/after pair."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}
