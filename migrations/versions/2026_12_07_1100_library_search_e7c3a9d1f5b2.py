"""library search: full-text search over published briefings

``briefing_version.search_text`` holds what the library's search reads (the title, the
audit's title and theme, every section's words: app/briefings/search.py), set when a
version is published; this migration fills it in for every version published before.

SQLite: an FTS5 table over that column (external content: the words are not stored
twice), stemming English words (porter), kept in step by triggers. PostgreSQL: an
expression index on its English tsvector. Neither is in the models (app/migrate.py
NOT_IN_MODELS). On a large PostgreSQL database the index builds while the table is
locked for writes (seconds per 100,000 versions; a partnership has hundreds).

Revision ID: e7c3a9d1f5b2
Revises: d4a7c2e9f1b3
Create Date: 2026-12-07 11:00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e7c3a9d1f5b2"
down_revision: str | None = "d4a7c2e9f1b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FTS = "briefing_version_fts"


def _text_of(title: str, audit_title: str, theme: str, sections) -> str:
    # As app/briefings/search.py text_of (kept here: a migration never imports the app).
    if isinstance(sections, str):
        sections = json.loads(sections)
    words = [v for v in (sections or {}).values() if v]
    return "\n".join([title or "", audit_title or "", theme or "", *words])


def upgrade() -> None:
    op.add_column("briefing_version", sa.Column("search_text", sa.Text(), nullable=True))
    bind = op.get_bind()
    published = bind.execute(
        sa.text(
            "SELECT v.id, v.sections, b.title, a.title, a.theme FROM briefing_version v "
            "JOIN briefing b ON b.id = v.briefing_id JOIN audit a ON a.id = b.audit_id "
            "WHERE v.published_at IS NOT NULL"
        )
    ).all()
    for version_id, sections, title, audit_title, theme in published:
        bind.execute(
            sa.text("UPDATE briefing_version SET search_text = :text WHERE id = :id"),
            {"text": _text_of(title, audit_title, theme, sections), "id": version_id},
        )
    if bind.dialect.name == "sqlite":
        op.execute(
            f"CREATE VIRTUAL TABLE {FTS} USING fts5(search_text, content='briefing_version', "
            "content_rowid='id', tokenize='porter unicode61')"
        )
        op.execute(
            f"CREATE TRIGGER {FTS}_insert AFTER INSERT ON briefing_version BEGIN "
            f"INSERT INTO {FTS}(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
        op.execute(
            f"CREATE TRIGGER {FTS}_delete AFTER DELETE ON briefing_version BEGIN "
            f"INSERT INTO {FTS}({FTS}, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); END"
        )
        op.execute(
            f"CREATE TRIGGER {FTS}_update AFTER UPDATE OF search_text ON briefing_version BEGIN "
            f"INSERT INTO {FTS}({FTS}, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); "
            f"INSERT INTO {FTS}(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
        op.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")
    else:
        op.execute(
            "CREATE INDEX ix_briefing_version_search ON briefing_version "
            "USING gin (to_tsvector('english', coalesce(search_text, '')))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER {FTS}_{trigger}")
        op.execute(f"DROP TABLE {FTS}")
    else:
        op.execute("DROP INDEX ix_briefing_version_search")
    op.drop_column("briefing_version", "search_text")  # SQLite 3.35 and later
