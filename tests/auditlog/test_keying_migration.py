"""The keying migration (5d2f0b8c3e21) carries an existing log forward: every row
chained again with the key and given its place, a checkpoint written, a break in the
old chain kept visible; and its downgrade gives back the very rows it started from.

(An empty database, upgraded and downgraded: tests/test_migrations.py.)"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import JSON, Engine, Integer, String, column, insert, select, table, text
from sqlalchemy.orm import Session

from app import migrate
from app.auditlog import chain
from app.auditlog.checkpoints import parse
from app.auditlog.models import AuditEvent
from app.config import get_settings
from app.db import UTCDateTime
from tests.conftest import BACKEND

BEFORE_KEYING = "4c1e9a7b2d10"
KEYING = "5d2f0b8c3e21"
AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def plain_hash(prev_hash: str, row: dict) -> str:
    """The row's hash as the service wrote it before the keying: SHA-256, no key, no
    place in the chain (app/auditlog/service.py as it was)."""
    payload = {"prev": prev_hash, "at": row["at"].isoformat()} | {
        k: row[k]
        for k in (
            "user_id",
            "user_label",
            "action",
            "object_type",
            "object_id",
            "before",
            "after",
            "request_id",
            "client_address",
        )
    }
    text_ = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text_.encode()).hexdigest()


def old_rows(n: int) -> list[dict]:
    """``n`` rows chained as the old service chained them (synthetic people; the
    accented name checks the JSON is hashed as stored, not escaped)."""
    rows, prev = [], "0" * 64
    for i in range(n):
        row = {
            "at": AT + timedelta(minutes=i),
            "user_id": 1 + i % 2,
            "user_label": "Siân Example" if i % 2 else "Ann Example",
            "action": "return.save",
            "object_type": "return",
            "object_id": 10 + i,
            "before": {"answer": None} if i else None,
            "after": {"answer": f"Child A, visit {i}", "n": i},
            "request_id": f"req-{i}",
            "client_address": "192.0.2.10",  # an address reserved for documentation
        }
        row["prev_hash"], row["hash"] = prev, plain_hash(prev, row)
        prev = row["hash"]
        rows.append(row)
    return rows


# audit_event as it was before the keying (no seq).
old_event = table(
    "audit_event",
    column("at", UTCDateTime()),
    column("user_id", Integer()),
    column("user_label", String()),
    column("action", String()),
    column("object_type", String()),
    column("object_id", Integer()),
    column("before", JSON()),
    column("after", JSON()),
    column("request_id", String()),
    column("client_address", String()),
    column("prev_hash", String()),
    column("hash", String()),
)


@pytest.fixture
def checkpoint_file(tmp_path, monkeypatch) -> Iterator[Path]:
    path = tmp_path / "audit.log"
    monkeypatch.setenv("AUDIT_AUDIT_CHECKPOINT_PATH", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


@pytest.fixture
def old_log(migrated_engine, checkpoint_file) -> Engine:
    """A database back at the revision before the keying, holding five rows the old
    service wrote."""
    engine = migrated_engine()
    with engine.begin() as connection:
        migrate.downgrade(connection, BEFORE_KEYING)
        connection.execute(insert(old_event), old_rows(5))
    return engine


def upgrade(engine: Engine) -> None:
    with engine.begin() as connection:
        migrate.upgrade(connection)


def hashes(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(text("SELECT hash FROM audit_event ORDER BY id")))


class TestUpgrade:
    def test_every_row_is_chained_with_the_key_and_given_its_place(self, old_log):
        upgrade(old_log)
        with Session(old_log) as session:
            result = chain.verify(session)
            assert result.intact and result.checked == 5
            rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
            assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
            assert [r.after for r in rows] == [r["after"] for r in old_rows(5)]
            assert not chain.verify(session, key=b"another key").intact

    def test_a_checkpoint_of_the_chained_log_is_written(self, old_log, checkpoint_file):
        upgrade(old_log)
        [line] = checkpoint_file.read_text().splitlines()
        written = parse(line, chain.chain_key())
        with Session(old_log) as session:
            head = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (written.rows, written.head_id, written.head_hash) == (5, head.id, head.hash)

    def test_a_break_in_the_old_chain_is_kept_visible(self, old_log, capfd):
        with old_log.begin() as connection:
            if BACKEND == "postgresql":  # as the owner, as a forger would
                connection.execute(
                    text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_or_delete")
                )
            ids = list(connection.scalars(text("SELECT id FROM audit_event ORDER BY id")))
            connection.execute(
                text("UPDATE audit_event SET object_id = 99 WHERE id = :id"), {"id": ids[2]}
            )
            if BACKEND == "postgresql":
                connection.execute(
                    text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update_or_delete")
                )
        upgrade(old_log)
        assert f"unkeyed chain was already broken at rows [{ids[2]}]" in capfd.readouterr().err
        with Session(old_log) as session:
            result = chain.verify(session)
        assert result.broken_id == ids[2] and "before it was keyed" in result.problem


class TestDowngrade:
    def test_gives_back_the_rows_as_they_were_and_upgrading_again_the_same_chain(self, old_log):
        written = hashes(old_log)
        assert written == [r["hash"] for r in old_rows(5)]
        upgrade(old_log)
        keyed = hashes(old_log)
        assert set(keyed).isdisjoint(written)
        with old_log.begin() as connection:
            migrate.downgrade(connection, BEFORE_KEYING)
        assert hashes(old_log) == written
        upgrade(old_log)
        assert hashes(old_log) == keyed
