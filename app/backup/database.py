"""A database's snapshot, taken and loaded: SQLite through its online backup API,
PostgreSQL through ``pg_dump -Fc`` and ``pg_restore``; and its tables' row counts,
taken from the very state the snapshot holds."""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, create_engine, func, inspect, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

SQLITE, POSTGRESQL = "sqlite", "postgresql"


class BackupError(Exception):
    """The database cannot be backed up or restored: said for the person running it."""


@dataclass(frozen=True)
class Snapshot:
    kind: str
    counts: dict[str, int]  # rows in each table when the snapshot was taken
    revision: str | None  # the schema's Alembic revision


def kind_of(url: str) -> str:
    return SQLITE if url.startswith("sqlite") else POSTGRESQL


def table_counts(connection: Connection) -> dict[str, int]:
    """Rows in every table (Alembic's included), by name."""
    names = sorted(inspect(connection).get_table_names())
    return {n: connection.scalar(select(func.count()).select_from(table(n))) or 0 for n in names}


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("DATABASE_URL names no SQLite file.")
    return Path(database)


def _summarise(url: str, kind: str) -> Snapshot:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return Snapshot(kind, table_counts(connection), _revision(connection))
    finally:
        engine.dispose()


def take(url: str, into: Path, *, progress: Callable[[int], None] | None = None) -> Snapshot:
    """Write a consistent snapshot of the database at ``url`` to the file ``into``,
    and the row counts of that same state. ``progress`` is told the file's size as it
    grows (PostgreSQL)."""
    if kind_of(url) == SQLITE:
        source = _sqlite_path(url)
        if not source.is_file():
            raise BackupError(f"There is no database at {source}.")
        # One step: the copy is of one moment, and with WAL the service's writers do
        # not wait for it (a copy in steps starts again whenever one of them writes).
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(into)) as dst:
            src.backup(dst)
            # One file, no write-ahead log beside it (the service turns WAL on again).
            dst.execute("PRAGMA journal_mode = DELETE")
        snapshot = _summarise(f"sqlite:///{into}", SQLITE)
        if not snapshot.counts:
            raise BackupError(f"The database at {source} has no tables yet: nothing to back up.")
        return snapshot
    return _take_postgresql(url, into, progress)


def _take_postgresql(url: str, into: Path, progress: Callable[[int], None] | None) -> Snapshot:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            with connection.begin():
                # pg_dump reads the snapshot this transaction exported, so the counts
                # below are of exactly what it dumps, however busy the service is.
                exported = connection.scalar(select(func.pg_export_snapshot()))
                snapshot = Snapshot(POSTGRESQL, table_counts(connection), _revision(connection))
                if not snapshot.counts:
                    raise BackupError("The database has no tables yet: nothing to back up.")
                _run(
                    "pg_dump",
                    ["--format=custom", f"--snapshot={exported}", f"--file={into}"],
                    url,
                    watch=into,
                    progress=progress,
                )
        return snapshot
    finally:
        engine.dispose()


def pg_binary(name: str) -> str:
    """PostgreSQL's ``name`` on PATH or under /usr/lib/postgresql/<version>/bin."""
    installed = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    found = shutil.which(name) or max(installed, key=_version, default=None)
    if not found:
        raise BackupError(
            f"PostgreSQL's {name} was not found on PATH or in /usr/lib/postgresql/*/bin: "
            "install PostgreSQL's client programs (apt-get install postgresql-client), of "
            "the server's version or later."
        )
    return found


def _version(path: str) -> tuple[int, ...]:
    """(16,) for /usr/lib/postgresql/16/bin/pg_dump, (9, 6) for .../9.6/...: newest by
    number, not by spelling."""
    folder = Path(path).parent.parent.name
    return tuple(int(p) for p in folder.split(".") if p.isdigit())


def _run(
    name: str,
    arguments: list[str],
    url: str,
    *,
    watch: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    parsed = make_url(url)
    environment = dict(os.environ)
    if parsed.password:
        # In the environment rather than the command line, where `ps` would show it.
        environment["PGPASSWORD"] = parsed.password
    conninfo = parsed.set(drivername="postgresql", password=None).render_as_string(
        hide_password=False
    )
    command = [pg_binary(name), "--no-password", f"--dbname={conninfo}", *arguments]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment
    )
    while True:
        try:
            _, errors = process.communicate(timeout=0.25)
            break
        except subprocess.TimeoutExpired:
            if progress is not None and watch is not None and watch.exists():
                progress(watch.stat().st_size)
    if process.returncode != 0:
        lines = errors.decode(errors="replace").strip().splitlines()
        said = "; ".join(lines[-3:]) or f"exit status {process.returncode}"
        hint = ""
        if "role" in said and "does not exist" in said:
            hint = " Create the database roles first (README: Backups), then restore again."
        raise BackupError(f"{name} failed: {said}.{hint}")


def tables_in(url: str) -> list[str]:
    """The tables (and views) of the database at ``url``; none for a new SQLite file."""
    if kind_of(url) == SQLITE and not _sqlite_path(url).exists():
        return []
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            found = inspect(connection)
            return sorted(found.get_table_names() + found.get_view_names())
    finally:
        engine.dispose()


def load(url: str, snapshot: Path) -> None:
    """Put the snapshot into the empty database at ``url``: all of it or, on a failure,
    nothing (PostgreSQL restores in one transaction)."""
    if kind_of(url) == SQLITE:
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(snapshot)) as src, closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
        return
    _run("pg_restore", ["--exit-on-error", "--single-transaction", str(snapshot)], url)
