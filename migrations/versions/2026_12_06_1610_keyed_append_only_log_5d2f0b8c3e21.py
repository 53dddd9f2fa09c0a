"""the audit log keyed (HMAC) and append-only on both databases, written by a role that does not own it

Every existing row gets its place in the chain (``seq``, 1 for the oldest) and is
chained again, in id order, with HMAC-SHA256 under the log's key (over each before
and after value's keyed digest, so that a value can later be removed under the
retention schedule and the chain still fit): the settings of
the process running the migration (AUDIT_AUDIT_LOG_KEY, or a key derived from
AUDIT_SECRET_KEY), which must be the service's own. Where the old, unkeyed chain was
already broken, the row is marked (its prev_hash becomes "broken before keying")
rather than hidden under a new chain that fits, and a warning names it. A signed
checkpoint of the re-chained log is written to the settings' checkpoint path.

SQLite gets BEFORE UPDATE and BEFORE DELETE triggers that refuse (PostgreSQL has had
its trigger since the log began). On PostgreSQL the service's role ``case_audit_app``
is created NOLOGIN (where the migrating role may create roles; otherwise a notice
says what to run) and granted SELECT, INSERT, UPDATE and DELETE on the tables, and
on tables later migrations create (default privileges of the migrating role), but
only SELECT and INSERT on audit_event and only SELECT on alembic_version. The
migrating role stays the owner: only it can switch the trigger off.

Downgrade chains the rows again with plain SHA-256 and drops ``seq``, the SQLite
triggers and the grants; the role stays (roles belong to the whole cluster).

Revision ID: 5d2f0b8c3e21
Revises: 4c1e9a7b2d10
Create Date: 2026-12-06 16:10:00
"""

import hashlib
import hmac
import json
import sys
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "5d2f0b8c3e21"
down_revision: str | None = "4c1e9a7b2d10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
BROKEN_BEFORE_KEYING = "broken before keying"
# The key's derivation and the row's hash as this revision defines them (copied, not
# imported: a later change to the app's must not change what this migration does).
KEY_LABEL = b"case-audit: audit-log chain and checkpoints, v1"
PG_TRIGGER = "audit_event_no_update_or_delete"
SQLITE_TRIGGERS = {
    "audit_event_no_update": "UPDATE",
    "audit_event_no_delete": "DELETE",
}
SERVICE_ROLE = "case_audit_app"
BATCH = 2000

events = sa.table(
    "audit_event",
    sa.column("id", sa.Integer()),
    sa.column("seq", sa.Integer()),
    sa.column("at", app.db.UTCDateTime()),
    sa.column("user_id", sa.Integer()),
    sa.column("user_label", sa.String()),
    sa.column("action", sa.String()),
    sa.column("object_type", sa.String()),
    sa.column("object_id", sa.Integer()),
    sa.column("before", sa.JSON()),
    sa.column("after", sa.JSON()),
    sa.column("request_id", sa.String()),
    sa.column("client_address", sa.String()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def _log_key() -> bytes:
    from app.config import get_settings

    settings = get_settings()
    if settings.audit_log_key:
        return settings.audit_log_key.encode()
    return hmac.new(settings.secret_key.encode(), KEY_LABEL, hashlib.sha256).hexdigest().encode()


def _digests(values, key: bytes | None):
    """Keyed, each before or after value is covered by its keyed digest."""
    if key is None or not isinstance(values, dict):
        return values
    return {
        k: hmac.new(
            key,
            json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(),
            hashlib.sha256,
        ).hexdigest()
        for k, v in values.items()
    }


def _payload(prev_hash: str, row, seq: int | None, key: bytes | None = None) -> bytes:
    payload = {
        "prev": prev_hash,
        "at": row.at.isoformat(),
        "user_id": row.user_id,
        "user_label": row.user_label,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "before": _digests(row.before, key),
        "after": _digests(row.after, key),
        "request_id": row.request_id,
        "client_address": row.client_address,
    }
    if seq is not None:
        payload["seq"] = seq
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode()


def _plain(prev_hash: str, row, seq: int | None) -> str:
    return hashlib.sha256(_payload(prev_hash, row, None)).hexdigest()


def _keyed(key: bytes) -> Callable[[str, object, int | None], str]:
    def hash_(prev_hash: str, row, seq: int | None) -> str:
        return hmac.new(key, _payload(prev_hash, row, seq, key), hashlib.sha256).hexdigest()

    return hash_


def _notice(message: str) -> None:
    print(f"NOTICE (migration {revision}): {message}", file=sys.stderr)


def _rechain(old: Callable[..., str], new: Callable[..., str]) -> tuple[int, int, list[int]]:
    """Chain every row again with ``new``, in id order, checking each against ``old``
    as it goes: a row that did not fit the old chain gets a prev_hash that cannot fit
    the new one either, so the break stays visible. Returns how many rows, the last
    row's id and the ids where the old chain was broken."""
    bind = op.get_bind()
    update = (
        events.update()
        .where(events.c.id == sa.bindparam("b_id"))
        .values(
            seq=sa.bindparam("b_seq"),
            prev_hash=sa.bindparam("b_prev"),
            hash=sa.bindparam("b_hash"),
        )
    )
    old_prev, new_prev, seq, last_id, broken = GENESIS, GENESIS, 0, 0, []
    while True:
        rows = bind.execute(
            sa.select(events).where(events.c.id > last_id).order_by(events.c.id).limit(BATCH)
        ).all()
        if not rows:
            return seq, last_id, broken
        changes = []
        for row in rows:
            seq += 1
            prev = new_prev
            if row.prev_hash != old_prev or old(old_prev, row, row.seq) != row.hash:
                broken.append(row.id)
                prev = BROKEN_BEFORE_KEYING
            new_hash = new(prev, row, seq)
            changes.append({"b_id": row.id, "b_seq": seq, "b_prev": prev, "b_hash": new_hash})
            old_prev, new_prev, last_id = row.hash, new_hash, row.id
        bind.execute(update, changes)


def _rechain_around_guard(
    old: Callable[..., str], new: Callable[..., str]
) -> tuple[int, int, list[int]]:
    if op.get_bind().dialect.name != "postgresql":
        return _rechain(old, new)  # SQLite's triggers are not there (yet, or any more)
    # The migration runs as the table's owner, who alone may switch the trigger off;
    # it is on again before this transaction commits.
    op.execute(f"ALTER TABLE audit_event DISABLE TRIGGER {PG_TRIGGER}")
    result = _rechain(old, new)
    op.execute(f"ALTER TABLE audit_event ENABLE TRIGGER {PG_TRIGGER}")
    return result


def _grants(schema: str) -> list[str]:
    role = SERVICE_ROLE
    return [
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        f"REVOKE UPDATE, DELETE ON audit_event FROM {role}",
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {role}",
    ]


def _service_role_granted() -> None:
    bind = op.get_bind()
    schema = bind.scalar(sa.text("SELECT current_schema()"))
    exists = bind.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": SERVICE_ROLE})
    if not exists:
        may_create = bind.scalar(
            sa.text("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
        )
        if not may_create:
            _notice(
                f"this role may not create roles, so the service's role {SERVICE_ROLE} was "
                "not created or granted. As a role that may, run: "
                f"CREATE ROLE {SERVICE_ROLE} NOLOGIN; then, as this role: "
                + "; ".join(_grants(schema))
                + ". Until then the service must not run as the table's owner."
            )
            return
        # NOLOGIN: a deployment gives it a password and LOGIN (README).
        op.execute(f"CREATE ROLE {SERVICE_ROLE} NOLOGIN")
    for statement in _grants(schema):
        op.execute(statement)


def _service_role_revoked() -> None:
    bind = op.get_bind()
    if not bind.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": SERVICE_ROLE}):
        return
    schema = bind.scalar(sa.text("SELECT current_schema()"))
    role = SERVICE_ROLE
    for statement in (
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
        f"REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE USAGE, SELECT ON SEQUENCES FROM {role}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}",
        f"REVOKE USAGE ON SCHEMA {schema} FROM {role}",
    ):
        op.execute(statement)


def _write_checkpoint(key: bytes, rows: int, head_id: int) -> None:
    """Bind the re-chained rows to a checkpoint at once (else a deleted tail of the
    existing log could not be seen until the service next writes). The chain is the
    same whenever it is computed with the same key, so a checkpoint written by a run
    that then fails still fits the next run's."""
    from app.auditlog import checkpoints
    from app.clock import utcnow
    from app.config import get_settings

    head_hash = op.get_bind().scalar(sa.select(events.c.hash).where(events.c.id == head_id))
    checkpoint = checkpoints.Checkpoint(
        rows=rows, head_id=head_id, head_hash=head_hash, at=utcnow()
    )
    destination = get_settings().audit_checkpoint_path
    try:
        checkpoints.write(checkpoint, key=key, destination=destination)
    except OSError as exc:
        _notice(f"could not write the audit log's checkpoint to {destination}: {exc}")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # Plain ADD COLUMN; the NOT NULL comes once every row has its place.
    op.add_column("audit_event", sa.Column("seq", sa.Integer(), nullable=True))
    has_rows = op.get_bind().scalar(sa.select(events.c.id).limit(1)) is not None
    if has_rows:
        key = _log_key()
        rows, head_id, broken = _rechain_around_guard(_plain, _keyed(key))
        if broken:
            _notice(
                f"the audit log's unkeyed chain was already broken at rows {broken[:10]}"
                f"{' and more' if len(broken) > 10 else ''}: they are marked "
                f"'{BROKEN_BEFORE_KEYING}', and audit-tools audit-log verify reports them."
            )
    # Nothing refers to audit_event, so on SQLite this batch may copy it.
    with op.batch_alter_table("audit_event") as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
    op.create_index(op.f("ix_audit_event_seq"), "audit_event", ["seq"], unique=True)
    if dialect == "sqlite":
        for name, operation in SQLITE_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {operation} ON audit_event BEGIN "
                f"SELECT RAISE(ABORT, 'audit_event is append-only: {operation} is not "
                "allowed'); END"
            )
    else:
        _service_role_granted()
    if has_rows:
        _write_checkpoint(key, rows, head_id)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        _service_role_revoked()
    if op.get_bind().scalar(sa.select(events.c.id).limit(1)) is not None:
        _rechain_around_guard(_keyed(_log_key()), _plain)
    op.drop_index(op.f("ix_audit_event_seq"), table_name="audit_event")
    op.drop_column("audit_event", "seq")  # SQLite 3.35 and later
