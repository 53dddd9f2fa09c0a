"""The authenticator secrets as stored (sealed: ``app.crypto``), for key rotation and
for the backup drill, which read the column without the model's type so that one
value that does not open does not stop the rest."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import crypto
from app.auditlog import service as auditlog

_users = sa.table("app_user", sa.column("id", sa.Integer), sa.column("totp_secret", sa.String))


def _stored(session: Session) -> list[sa.Row]:
    return list(
        session.execute(
            sa.select(_users.c.id, _users.c.totp_secret)
            .where(_users.c.totp_secret.is_not(None))
            .order_by(_users.c.id)
        )
    )


@dataclass(frozen=True)
class SecretsCheck:
    total: int
    unreadable: list[int]  # ids of the accounts whose secret no key opens, or plain

    @property
    def readable(self) -> int:
        return self.total - len(self.unreadable)


def check(session: Session) -> SecretsCheck:
    """How many authenticator secrets the current data keys open, and which do not."""
    unreadable = []
    rows = _stored(session)
    for row in rows:
        try:
            crypto.unseal(row.totp_secret)
        except crypto.DataKeyError:
            unreadable.append(row.id)
    return SecretsCheck(total=len(rows), unreadable=unreadable)


def rotate(session: Session) -> int:
    """Encrypt every authenticator secret again under the first data key (the secrets
    themselves are unchanged), and log it; how many were. Raises DataKeyError, having
    changed nothing the caller commits, when any secret opens under no key."""
    found = check(session)
    if found.unreadable:
        ids = ", ".join(str(i) for i in found.unreadable[:10])
        raise crypto.DataKeyError(
            f"{len(found.unreadable)} authenticator secret(s) open under no key in "
            f"AUDIT_DATA_KEYS (accounts {ids}): put back the key they were written with."
        )
    rows = _stored(session)
    for row in rows:
        session.execute(
            _users.update()
            .where(_users.c.id == row.id)
            .values(totp_secret=crypto.reseal(row.totp_secret))
        )
    # No values in the log: only that the secrets were encrypted again, and how many.
    auditlog.record(
        session,
        action="secrets.rotate",
        object_type="user",
        object_id=None,
        after={"authenticator_secrets": len(rows)},
    )
    return len(rows)
