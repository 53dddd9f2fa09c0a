"""New databases on the backend under test, and copies of one.

``Databases()`` makes a new empty database and returns its URL; ``copy(url)`` makes a
new database holding what the one at ``url`` holds. A copy is how the tests get the
demo partnership without loading it again (loading it takes seconds, copying it a
fraction of one): SQLite's online backup on SQLite, ``CREATE DATABASE ... TEMPLATE``
on PostgreSQL (the database copied must have no connections open).
"""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
from typing import Protocol


class Databases(Protocol):
    def __call__(self) -> str: ...

    def copy(self, url: str) -> str: ...

    def close(self) -> None: ...


def _sqlite_path(url: str) -> str:
    return url.split("///", 1)[1]


class SqliteDatabases:
    """Files in a temporary folder of their own, removed at the end."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="case-audit-test-")
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        return f"sqlite:///{self._folder.name}/test_{next(self._counter)}.db"

    def copy(self, url: str) -> str:
        new = self()
        source = sqlite3.connect(_sqlite_path(url))
        target = sqlite3.connect(_sqlite_path(new))
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return new

    def close(self) -> None:
        self._folder.cleanup()


class PostgresDatabases:
    """Databases in a throwaway cluster of their own (tests/helpers/pg_cluster.py)."""

    def __init__(self) -> None:
        from tests.helpers import pg_cluster

        self._cluster = pg_cluster.start()
        self._counter = itertools.count(1)

    def _name(self) -> str:
        return f"case_audit_test_{next(self._counter)}"

    def __call__(self) -> str:
        return self._cluster.create_database(self._name())

    def copy(self, url: str) -> str:
        from sqlalchemy.engine import make_url

        return self._cluster.create_database(self._name(), template=make_url(url).database)

    def close(self) -> None:
        self._cluster.stop()


def for_backend(backend: str) -> Databases:
    return PostgresDatabases() if backend == "postgresql" else SqliteDatabases()
