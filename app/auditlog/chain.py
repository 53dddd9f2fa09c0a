"""The audit log's keyed chain: the key, each row's hash, and the walk that proves it.

Each row's ``hash`` is an HMAC-SHA256, keyed with the log's key, over the previous
row's hash, the row's place in the chain (``seq``: 1, 2, 3 ...) and its content, its
before and after values each by their keyed digest: a value the retention schedule
removes is replaced by that digest (``without``) and the chain still fits.
Without the key nobody can write a hash that fits: editing a row and recomputing the
hashes after it (with plain SHA-256, or with any other key) breaks the chain at the
first row touched. The key is never in the database: it is ``AUDIT_AUDIT_LOG_KEY``
or, when that is empty, derived from ``AUDIT_SECRET_KEY``. Deleting rows from the
end of the log leaves a chain that fits; the signed checkpoints kept outside the
database catch that (app/auditlog/checkpoints.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auditlog.models import AuditEvent
from app.config import Settings, get_settings

GENESIS = "0" * 64
# The label the key is derived under when AUDIT_AUDIT_LOG_KEY is empty: a key for this
# one purpose, so the log's key says nothing about the secret key's other uses (CSRF).
KEY_LABEL = b"case-audit: audit-log chain and checkpoints, v1"
# What the keying migration (5d2f0b8c3e21) put in the prev_hash of the row where the
# old, unkeyed chain was already broken: keying it must not hide the break.
BROKEN_BEFORE_KEYING = "broken before keying"


def chain_key(settings: Settings | None = None) -> bytes:
    """The key of the chain and of the checkpoints' signatures, from the settings."""
    settings = settings or get_settings()
    return _key(settings.audit_log_key, settings.secret_key)


@lru_cache(maxsize=8)
def _key(audit_log_key: str, secret_key: str) -> bytes:
    if audit_log_key:
        return audit_log_key.encode()
    # As hex text, so that the same key can later be set as AUDIT_AUDIT_LOG_KEY (and
    # AUDIT_SECRET_KEY then rotated) without a word of the log changing.
    return hmac.new(secret_key.encode(), KEY_LABEL, hashlib.sha256).hexdigest().encode()


class Hashed(Protocol):
    """What a row's hash covers: an AuditEvent, or a row of its chain columns."""

    seq: int
    at: datetime
    user_id: int | None
    user_label: str
    action: str
    object_type: str
    object_id: int | None
    before: dict | None
    after: dict | None
    request_id: str
    client_address: str


# A value removed from a row under the retention schedule: its keyed digest is kept in
# its place, so the row's hash still fits (app/retention: the log's case text).
REMOVED = "removed under the retention schedule"
# What a reader sees in place of removed text, in the log and in the records alike.
REMOVED_SHOWN = "[removed under the retention schedule]"


def value_digest(value: Any, *, key: bytes) -> str:
    """The keyed digest the chain covers in place of one logged value: without the key
    nobody can tell what a removed value was, however few values it could have been."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def removed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {REMOVED}


def _digests(values: dict | None, key: bytes) -> dict | None:
    """What a row's hash covers of its before or after: each value's keyed digest (a
    removed value carries its own), so a value can be removed and the chain still fit."""
    if not isinstance(values, dict):
        return values
    return {k: v[REMOVED] if removed(v) else value_digest(v, key=key) for k, v in values.items()}


def without(
    values: dict | None, keys: Callable[[str], bool], *, key: bytes
) -> tuple[dict | None, int]:
    """``values`` with every value whose name ``keys`` picks (and that holds something)
    replaced by its digest, and how many were."""
    if not isinstance(values, dict):
        return values, 0
    out, count = dict(values), 0
    for name, value in values.items():
        if keys(name) and value not in (None, "", []) and not removed(value):
            out[name] = {REMOVED: value_digest(value, key=key)}
            count += 1
    return out, count


def _payload(
    prev_hash: str, event: Hashed, *, with_seq: bool = True, key: bytes | None = None
) -> bytes:
    """What the hash covers. Keyed, the values are their digests (``_digests``); the
    plain form (``key`` None) is how the log was hashed before it was keyed."""
    before = _digests(event.before, key) if key is not None else event.before
    after = _digests(event.after, key) if key is not None else event.after
    payload = {
        "prev": prev_hash,
        "at": event.at.isoformat(),
        "user_id": event.user_id,
        "user_label": event.user_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": before,
        "after": after,
        "request_id": event.request_id,
        "client_address": event.client_address,
    }
    if with_seq:
        payload["seq"] = event.seq
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode()


def content_hash(prev_hash: str, event: Hashed, *, key: bytes) -> str:
    """The row's hash: HMAC-SHA256 under ``key`` of the previous hash and the row."""
    return hmac.new(key, _payload(prev_hash, event, key=key), hashlib.sha256).hexdigest()


# What a waiting row's MAC covers in place of a previous hash: never a hash's value.
PENDING = "waiting to be chained"


def pending_mac(row: Any, *, key: bytes) -> str:
    """The keyed MAC of a row waiting to be chained (app/auditlog/pending.py): its
    content as the chain would cover it, without a place in the chain. Without the key
    nobody can write a waiting row the chain would take."""
    payload = _payload(PENDING, row, with_seq=False, key=key)
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def _unkeyed(prev_hash: str, event: Hashed) -> set[str]:
    """Plain SHA-256 hashes of the row, as the log was chained before it was keyed
    (without ``seq``) and as someone without the key might forge it now (with it)."""
    return {
        hashlib.sha256(_payload(prev_hash, event, with_seq=seq)).hexdigest()
        for seq in (False, True)
    }


# Columns the hash covers (and the id and hashes), read without building ORM objects:
# content_hash reads them by attribute, so a row serves as well as an AuditEvent.
_CHAIN_COLUMNS = (
    AuditEvent.id,
    AuditEvent.seq,
    AuditEvent.at,
    AuditEvent.user_id,
    AuditEvent.user_label,
    AuditEvent.action,
    AuditEvent.object_type,
    AuditEvent.object_id,
    AuditEvent.before,
    AuditEvent.after,
    AuditEvent.request_id,
    AuditEvent.client_address,
    AuditEvent.prev_hash,
    AuditEvent.hash,
)


@dataclass(frozen=True)
class ChainStart:
    """Where the chain starts: before the first row ever written (seq 0, the genesis
    hash), or, once a documented retention run has removed the oldest rows, the seq
    and hash of the last row it removed (app/auditlog/maintenance.py)."""

    seq: int = 0
    hash: str = GENESIS


@dataclass(frozen=True)
class Head:
    """A row of the chain as a checkpoint names it."""

    seq: int
    id: int
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    checked: int  # rows checked, the broken one included
    broken_id: int | None = None
    problem: str = ""
    head: Head | None = None  # the last row that fitted

    @property
    def intact(self) -> bool:
        return self.broken_id is None


def verify(
    session: Session,
    *,
    key: bytes | None = None,
    batch: int = 2000,
    progress: Callable[[int], None] | None = None,
    start: ChainStart = ChainStart(),
) -> VerifyResult:
    """Walk the log in id order and recompute every row's keyed hash from the previous
    row's hash and the row's content; stop at the first row that does not fit.

    A row edited in place fails its own hash, and so does a row whose hash was
    recomputed by someone without the key (the problem says so when the hash is a
    plain SHA-256); a row removed, inserted or reordered fails the next row's
    ``prev_hash`` and ``seq``. Rows are read in batches by id, so a long log needs
    little memory; ``progress`` is told how many rows each batch checked.
    """
    key = key if key is not None else chain_key()
    # Every row must be in the chain: one at or before its start (a row slipped in
    # with a seq of its own, or the rows of a retention run that did not commit) is not.
    outside = session.execute(
        select(func.count(AuditEvent.id), func.min(AuditEvent.id)).where(
            AuditEvent.seq <= start.seq
        )
    ).one()
    if outside[0]:
        return VerifyResult(
            checked=0,
            broken_id=outside[1],
            problem=f"{outside[0]} row{'' if outside[0] == 1 else 's'} at or before the "
            f"chain's start (seq {start.seq}) {'is' if outside[0] == 1 else 'are'} in the log: "
            "inserted outside the chain, or left by a retention run that did not complete "
            "(run it again)",
        )
    prev_hash, prev_seq, prev_id, checked = start.hash, start.seq, None, 0
    head: Head | None = None
    while True:
        stmt = (
            select(*_CHAIN_COLUMNS)
            .where(AuditEvent.seq > start.seq)
            .order_by(AuditEvent.id)
            .limit(batch)
        )
        if prev_id is not None:
            stmt = stmt.where(AuditEvent.id > prev_id)
        rows = session.execute(stmt).all()
        if not rows:
            return VerifyResult(checked=checked, head=head)
        for row in rows:
            checked += 1
            problem = _misfit(row, prev_hash, prev_seq, prev_id, key)
            if problem:
                return VerifyResult(checked=checked, broken_id=row.id, problem=problem, head=head)
            prev_hash, prev_seq, prev_id = row.hash, row.seq, row.id
            head = Head(seq=row.seq, id=row.id, hash=row.hash)
        if progress is not None:
            progress(len(rows))


def _misfit(row, prev_hash: str, prev_seq: int, prev_id: int | None, key: bytes) -> str:
    """Why ``row`` does not follow the row before it, or ""."""
    after = "the start of the log" if prev_id is None else f"row {prev_id}"
    if row.prev_hash == BROKEN_BEFORE_KEYING:
        return (
            "the log was already broken here before it was keyed (its unkeyed chain did "
            "not fit at this row when the keying migration ran): a row before it was "
            "altered, removed or inserted before then"
        )
    if row.prev_hash != prev_hash or row.seq != prev_seq + 1:
        return (
            f"its prev_hash or place in the chain does not follow {after}: a row before "
            "it was removed, inserted or altered"
        )
    if not hmac.compare_digest(content_hash(prev_hash, row, key=key), row.hash):
        if row.hash in _unkeyed(prev_hash, row):
            return (
                "its hash is a plain SHA-256, not the log's keyed hash: the chain was "
                "rewritten by someone without the key"
            )
        return (
            "its content does not match its keyed hash: the row was altered, or the "
            "chain was rewritten without the key"
        )
    return ""
