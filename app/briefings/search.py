"""Full-text search over the published briefings, one interface on both databases:
SQLite's FTS5 (an external-content index over ``briefing_version.search_text``, kept
in step by triggers) and PostgreSQL's full-text search (an expression index on
``to_tsvector('english', search_text)``). Both stem English words, so "discussions"
finds "discussion", and both take what a person types: words (all must appear) and
"phrases in quotes"; nothing typed is ever read as query syntax.

A version's text is set when it is published (``text_of``); the migration that made
the index filled it in for versions published before.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.orm import Session

from app.briefings.models import BriefingVersion

# The FTS5 table (migrations/versions/..._library_search_...py): its rowid is the
# version's id.
FTS_TABLE = "briefing_version_fts"
PG_CONFIG = "english"
_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+")


def text_of(*, title: str, audit_title: str, theme: str, sections: dict[str, str]) -> str:
    """What search reads of a version: its title, its audit's title and theme, and its
    sections' words, in one text."""
    return "\n".join([title, audit_title, theme, *(v for v in sections.values() if v)])


def terms(query: str) -> list[str]:
    """What was typed as search terms: each quoted phrase and each word outside
    quotes, as plain words (punctuation dropped), empty ones left out."""
    found = []
    for phrase, word in _TOKEN.findall(query):
        words = _WORD.findall(phrase or word)
        if words:
            found.append(" ".join(words))
    return found


def matching(session: Session, query: str) -> ColumnElement[bool] | None:
    """A condition on BriefingVersion: its text has every term of ``query`` (a phrase
    as a phrase); None when nothing searchable was typed."""
    found = terms(query)
    if not found:
        return None
    if session.get_bind().dialect.name == "postgresql":
        # Each term as a phrase query, all of them required: the same meaning as FTS5's.
        combined: ColumnElement = func.phraseto_tsquery(PG_CONFIG, found[0])
        for term in found[1:]:
            combined = combined.op("&&")(func.phraseto_tsquery(PG_CONFIG, term))
        return func.to_tsvector(PG_CONFIG, func.coalesce(BriefingVersion.search_text, "")).op("@@")(
            combined
        )
    # FTS5: each term quoted (a phrase), so nothing typed is query syntax; "AND" joins.
    fts_query = " AND ".join('"' + t.replace('"', "") + '"' for t in found)
    ids = (
        select(text("rowid"))
        .select_from(text(FTS_TABLE))
        .where(text(f"{FTS_TABLE} MATCH :fts_query").bindparams(fts_query=fts_query))
    )
    return BriefingVersion.id.in_(ids)
