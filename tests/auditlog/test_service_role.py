"""On PostgreSQL the service runs as ``case_audit_app`` (created and granted by the
keying migration), which does not own the log: it writes what the service writes,
appends to the log, and can neither change the log nor switch its trigger off.

The test connects as the cluster's superuser (the owner of every table, as the
migrating role is) and takes the service's role with SET ROLE, as a deployment's
login role for the service would have it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from app.auditlog import chain
from app.auditlog.checkpoints import parse
from app.auditlog.models import AuditEvent
from app.audits import cohort
from app.config import get_settings
from tests.conftest import BACKEND
from tests.helpers.factories import make_audit

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="roles are PostgreSQL's")

ROLE = "case_audit_app"
TRIGGER = "audit_event_no_update_or_delete"


@pytest.fixture
def checkpoint_file(tmp_path, monkeypatch) -> Iterator[Path]:
    path = tmp_path / "audit.log"
    monkeypatch.setenv("AUDIT_AUDIT_CHECKPOINT_PATH", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


@pytest.fixture
def owner(migrated_engine) -> Iterator[Connection]:
    """A connection as the owner, on a new database holding a logged audit."""
    engine = migrated_engine()
    with Session(engine) as session:
        make_audit(session, children=1, agencies_count=1)
        session.commit()
    with engine.connect() as connection:
        yield connection


@pytest.fixture
def service(owner: Connection) -> Iterator[Connection]:
    """The same connection as the service's role (SET ROLE lasts for the connection
    once its transaction commits)."""
    owner.execute(text(f"SET ROLE {ROLE}"))
    owner.commit()
    yield owner
    owner.rollback()
    owner.execute(text("RESET ROLE"))
    owner.commit()


def refused(connection: Connection, sql: str, message: str) -> None:
    with pytest.raises(ProgrammingError, match=message), connection.begin_nested():
        connection.execute(text(sql))


class TestTheRole:
    def test_exists_without_login_and_does_not_own_the_log(self, owner):
        assert (
            owner.scalar(text(f"SELECT rolcanlogin FROM pg_roles WHERE rolname = '{ROLE}'"))
            is False
        )
        table_owner = owner.scalar(
            text("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_event'")
        )
        assert table_owner == owner.scalar(text("SELECT current_user")) != ROLE

    def test_may_read_and_append_to_the_log_and_nothing_more(self, owner):
        def may(table: str, privilege: str) -> bool:
            return owner.scalar(
                text("SELECT has_table_privilege(:role, :table, :privilege)"),
                {"role": ROLE, "table": table, "privilege": privilege},
            )

        assert may("audit_event", "SELECT") and may("audit_event", "INSERT")
        for privilege in ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES"):
            assert not may("audit_event", privilege), privilege
        assert may("alembic_version", "SELECT") and not may("alembic_version", "UPDATE")

    def test_every_other_table_is_granted_those_of_later_migrations_too(self, owner):
        tables = owner.scalars(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename NOT IN ('audit_event', 'alembic_version')"
            )
        ).all()
        missing = owner.scalars(
            text(
                "SELECT t FROM unnest(CAST(:tables AS text[])) AS t WHERE NOT "
                "has_table_privilege(:role, t, 'SELECT, INSERT, UPDATE, DELETE')"
            ),
            {"tables": tables, "role": ROLE},
        ).all()
        assert len(tables) > 20 and missing == []


class TestTheServiceRole:
    def test_cannot_switch_the_trigger_off_or_drop_it(self, service):
        refused(service, f"ALTER TABLE audit_event DISABLE TRIGGER {TRIGGER}", "must be owner")
        refused(service, "ALTER TABLE audit_event DISABLE TRIGGER ALL", "must be owner")
        refused(service, f"DROP TRIGGER {TRIGGER} ON audit_event", "must be owner")
        refused(service, "DROP TABLE audit_event", "must be owner")

    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE audit_event SET action = 'x'",
            "DELETE FROM audit_event",
            "TRUNCATE audit_event",
        ],
        ids=["update", "delete", "truncate"],
    )
    def test_cannot_change_the_log(self, service, sql):
        refused(service, sql, "permission denied for table audit_event")

    def test_cannot_lift_the_guard_through_the_maintenance_path(self, service):
        from app.auditlog.maintenance import append_only_lifted

        session = Session(bind=service, join_transaction_mode="create_savepoint")
        with pytest.raises(ProgrammingError, match="must be owner"), append_only_lifted(session):
            pass
        session.close()

    def test_the_services_own_writes_work_and_the_log_stays_whole(self, service, checkpoint_file):
        session = Session(bind=service, autoflush=False)
        assert session.scalar(text("SELECT current_user")) == ROLE
        audit = make_audit(session, children=2, agencies_count=2, open_=False)
        first, second = cohort.list_children(session, audit=audit)
        cohort.update_child(
            session, audit=audit, child=first, changes={"pseudonym": "Child Z"}
        )  # UPDATE
        cohort.remove_child(session, audit=audit, child=second)  # SELECT FOR UPDATE, DELETE
        session.commit()
        assert chain.verify(session).intact
        head = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert head is not None and head.action == "child.delete"
        [line] = checkpoint_file.read_text().splitlines()
        assert parse(line, chain.chain_key()).head_id == head.id
        session.close()
