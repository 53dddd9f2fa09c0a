"""The schema, through Alembic only: the configuration, upgrading a database, and
whether a database is at the revision this code needs.

Used by the CLI (``audit-tools db``), the tests and the benchmarks, so each builds
its databases exactly as a deployment does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from app.config import PROJECT_ROOT
from app.db import make_engine

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


# What the migrations make that the models do not describe: the library's full-text
# search (SQLite's FTS5 table and its shadow tables, PostgreSQL's expression index).
NOT_IN_MODELS = ("briefing_version_fts", "ix_briefing_version_search")


def include_object(object_, name, type_, reflected, compare_to) -> bool:
    """For comparing the database with the models: leave out what NOT_IN_MODELS names."""
    return not (name or "").startswith(NOT_IN_MODELS)


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration; with ``connection``, migrations run in its transaction."""
    config = Config(str(ALEMBIC_INI))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection, revision: str = "head") -> None:
    command.upgrade(alembic_config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    command.downgrade(alembic_config(connection), revision)


def migrated_engine(url: str) -> Engine:
    """An engine on ``url`` with the schema brought up to date."""
    engine = make_engine(url)
    with engine.begin() as connection:
        upgrade(connection)
    return engine


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def schema_problem(engine: Engine) -> str | None:
    """Why the database's schema is not the one this code needs, or None."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    head = head_revision()
    if current is None:
        return "has no tables yet"
    if current != head:
        return f"is at revision {current} but this version of the service needs {head}"
    return None


# --- helpers the migrations share -------------------------------------------------------


def set_check_values(
    op, *, table: str, column: str, constraint: str, old: Sequence[str], new: Sequence[str]
) -> None:
    """Change the values a CHECK ``column IN (...)`` allows, from ``old`` to ``new``.

    PostgreSQL replaces the constraint. SQLite cannot alter a CHECK, and copying the
    table (batch mode) would trip the references to it inside the migration's
    transaction; so the table's stored definition is rewritten in place, the procedure
    SQLite documents for changing constraints
    (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema
    Changes"), with the schema version bumped so every connection reads it again. Only
    ever a widening, or a narrowing the caller has checked every row meets."""

    def listed(values: Sequence[str]) -> str:
        return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"

    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        # op.f: the name as it stands (the naming convention would prefix it again).
        op.drop_constraint(op.f(constraint), table, type_="check")
        op.create_check_constraint(op.f(constraint), table, listed(new))
        return
    # The constraint as SQLAlchemy wrote it.
    _rewrite_sqlite_table(bind, table, listed(old), listed(new), what=f"CHECK on {column}")


def widen_string(op, *, table: str, column: str, old: int, new: int, nullable: bool) -> None:
    """Let a VARCHAR ``column`` hold ``new`` characters where it held ``old`` (or the
    reverse, for a downgrade the caller has checked every row meets). SQLite does not
    enforce the length, so only its stored definition changes (as ``set_check_values``
    changes a CHECK), where batch mode would copy a table others refer to."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.alter_column(
            table,
            column,
            type_=sa.String(length=new),
            existing_type=sa.String(length=old),
            existing_nullable=nullable,
        )
        return
    _rewrite_sqlite_table(
        bind, table, f"{column} VARCHAR({old})", f"{column} VARCHAR({new})", what=column
    )


def set_nullable(
    op, *, table: str, column: str, sqlite_type: str, type_: sa.types.TypeEngine, nullable: bool
) -> None:
    """Let ``column`` hold NULL (``nullable``) or not (a downgrade the caller has
    checked every row meets). SQLite's stored definition changes in place (as
    ``set_check_values``); ``sqlite_type`` is the column's type as it is written there."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.alter_column(table, column, existing_type=type_, nullable=nullable)
        return
    strict, loose = f"{column} {sqlite_type} NOT NULL,", f"{column} {sqlite_type},"
    before, after = (strict, loose) if nullable else (loose, strict)
    # The column's own name, not the end of another's ("audit_id" in "assurance_audit_id").
    _rewrite_sqlite_table(bind, table, before, after, what=f"NOT NULL on {column}", whole_name=True)


def _rewrite_sqlite_table(
    bind, table: str, before: str, after: str, *, what: str, whole_name: bool = False
) -> None:
    """Replace ``before`` with ``after`` in SQLite's stored CREATE TABLE of ``table``
    (``whole_name``: only where ``before`` starts a name, and exactly once)."""
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?", (table,)
    ).scalar_one()
    if whole_name:
        found = re.compile(r'(?<![\w"])' + re.escape(before))
        if len(found.findall(sql)) != 1:
            raise RuntimeError(f"{table}'s {what} is not as expected: {sql}")
        replaced = found.sub(lambda _m: after, sql)
    elif before not in sql:
        raise RuntimeError(f"{table}'s {what} is not as expected: {sql}")
    else:
        replaced = sql.replace(before, after)
    schema_version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_schema SET sql = ? WHERE type = 'table' AND name = ?",
        (replaced, table),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {schema_version + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
