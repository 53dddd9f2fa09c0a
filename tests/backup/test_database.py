"""Finding PostgreSQL's programs for backups (app/backup/database.py)."""

from __future__ import annotations

import pytest

from app.backup import database


def test_without_pg_dump_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setattr(database.shutil, "which", lambda _name: None)
    monkeypatch.setattr(database.glob, "glob", lambda _pattern: [])
    with pytest.raises(database.BackupError, match="pg_dump was not found.*postgresql-client"):
        database.pg_binary("pg_dump")


def test_the_newest_installed_version_when_not_on_path(monkeypatch):
    monkeypatch.setattr(database.shutil, "which", lambda _name: None)
    found = [
        "/usr/lib/postgresql/9.6/bin/pg_dump",
        "/usr/lib/postgresql/16/bin/pg_dump",
        "/usr/lib/postgresql/15/bin/pg_dump",
    ]
    monkeypatch.setattr(database.glob, "glob", lambda _pattern: found)
    assert database.pg_binary("pg_dump") == "/usr/lib/postgresql/16/bin/pg_dump"
