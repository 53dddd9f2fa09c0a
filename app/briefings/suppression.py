"""Small numbers in a document's tables of children: which of a version's tables the
identification check flags, and the step that shows a table's small counts as "fewer
than N" instead (with the counts that would give them away hidden too: see
app.identify.suppress), or shows its numbers again, while the version is a draft.

A suppressed table's small counts are no longer printed, so the check no longer finds
them; the confirmation at submission covers only what the text says.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.access.policy import Actor
from app.briefings import content
from app.briefings.models import BriefingVersion, VersionStatus
from app.briefings.service import authors_with, document_context, log_step, require_status
from app.config import Settings
from app.errors import FieldError, InvalidInput
from app.identify import check as identify


@dataclass(frozen=True)
class ChildTable:
    """A table of children in a version's document, as the editor lists it."""

    key: str
    caption: str
    suppressed: bool  # its small counts are shown as "fewer than N"
    problem: identify.Problem | None  # what the check finds in it, if anything


def child_tables(
    session: Session, *, version: BriefingVersion, settings: Settings
) -> list[ChildTable]:
    """The document's tables of children, in the order it prints them, each with the
    check's grouped problem (one per table, naming its small cells) when it has one."""
    context = document_context(session, version=version, settings=settings)
    found = identify.check(
        [],
        counts=content.checked_counts(context["counts"]),
        small_count_threshold=settings.small_count_threshold,
    )
    problems = {p.table: p for p in found.problems if p.table}
    return [
        ChildTable(key, caption, key in version.suppressed_tables, problems.get(key))
        for key, caption in context["child_tables"].items()
    ]


def suppress_table(
    session: Session, *, version: BriefingVersion, table: str, settings: Settings, actor: Actor
) -> str:
    """Show the table's small counts as "fewer than N" (a draft only); returns the
    table's caption."""
    caption = _caption(session, version=version, table=table, settings=settings)
    if table not in version.suppressed_tables:
        version.suppressed_tables = [*version.suppressed_tables, table]
        version.author_ids = authors_with(version.author_ids, actor)
        session.flush()
        log_step(session, "briefing.suppress_table", version, table=table, caption=caption)
    return caption


def show_table_numbers(
    session: Session, *, version: BriefingVersion, table: str, settings: Settings, actor: Actor
) -> str:
    """Undo ``suppress_table``: the table shows every number again (a draft only, and
    the check will flag its small counts again); returns the table's caption."""
    caption = _caption(session, version=version, table=table, settings=settings)
    if table in version.suppressed_tables:
        version.suppressed_tables = [t for t in version.suppressed_tables if t != table]
        version.author_ids = authors_with(version.author_ids, actor)
        session.flush()
        log_step(session, "briefing.show_table_numbers", version, table=table, caption=caption)
    return caption


def _caption(session: Session, *, version: BriefingVersion, table: str, settings: Settings) -> str:
    """Lock the draft (steps run one at a time) and find the table in its document."""
    require_status(session, version, VersionStatus.DRAFT)
    session.refresh(version, ["suppressed_tables"])
    tables = document_context(session, version=version, settings=settings)["child_tables"]
    if table not in tables and table not in version.suppressed_tables:
        raise InvalidInput(
            "There is no such table of children in this document.",
            fields=[FieldError("table", "Choose a table of children in this document")],
        )
    return tables.get(table, table)
