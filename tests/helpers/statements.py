"""Counting the SQL statements a request executes: a list page must cost as many
queries for 25 rows as for 5, never a query a row (N+1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session


@contextmanager
def statements(db: Session) -> Iterator[list[str]]:
    """The statements executed on the test's database while the block runs. The
    session is expired first, so nothing is answered from objects an earlier request
    or a factory left loaded, as in production, where each request has a new session."""
    db.expire_all()
    engine = db.get_bind().engine
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def page_and_statements(client, db: Session, path: str) -> tuple[str, int]:
    """A page's HTML (it must answer 200) and how many statements drawing it took."""
    with statements(db) as seen:
        response = client.get(path)
    assert response.status_code == 200, response.text
    return response.text, len(seen)
