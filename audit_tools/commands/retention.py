"""``audit-tools retention apply [--dry-run]``: remove what the retention schedule says
is due (app/retention/schedule.py; the periods are settings), or list it."""

from __future__ import annotations

from collections import defaultdict

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.config import Settings, get_settings
from app.db import SQLITE_BEGIN
from app.formatting import format_date, plural
from app.retention import service
from app.retention.schedule import AUDIT_LOG, CASE_TEXT, SIGN_IN, Rule
from audit_tools.attribution import as_cli
from audit_tools.context import console, err_console, unit_of_work

app = typer.Typer(
    help="Remove case text, sign-in records and the oldest audit-log rows past their time.",
    no_args_is_help=True,
)

# Below this many kinds to remove the run takes well under a second: no bar to flicker.
PROGRESS_FROM = 20


def _print(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True)


def _audit_name(audit: service.ClosedAudit) -> str:
    closed = format_date(audit.closed_at) if audit.closed_at else "date unknown"
    source = ", from the audit log" if audit.from_log else ""
    return f'audit {audit.id} "{escape(audit.title)}" (closed {closed}{source})'


def _unit(rule: Rule) -> str:
    return "value" if rule in CASE_TEXT else "row"


def _show_plan(found: service.Plan, settings: Settings, *, dry_run: bool) -> None:
    verb = "would be" if dry_run else "will be"
    _print(f"[bold]Retention on {format_date(found.now)}[/]")
    case_rule = CASE_TEXT[0]
    _print(f"\n[bold]Case text[/], kept {case_rule.describe(settings)}, then {verb} replaced:")
    audits = {d.audit.id for d in found.due if d.audit is not None}
    if not audits:
        _print("  nothing due.")
    for rule in CASE_TEXT:
        items = found.of(rule)
        if not items:
            continue
        total = sum(d.count for d in items)
        _print(f"  {rule.label}: {plural(total, _unit(rule))} in {plural(len(items), 'audit')}")
        _print(f"    fields: {', '.join(rule.fields)}")
        for item in items:
            assert item.audit is not None
            _print(f"    {_audit_name(item.audit)}: {item.count}")
    if found.waiting:
        audit, due_at = found.waiting[0]
        _print(
            f"  {plural(len(found.waiting), 'closed audit')} not due yet; the next is "
            f"{_audit_name(audit)}, due on {format_date(due_at)}."
        )
    for audit in found.undated:
        _print(f"  {_audit_name(audit)}: kept, as nothing records when it closed.")

    _print(f"\n[bold]Sign-in records[/], then {verb} deleted:")
    for rule in SIGN_IN:
        items = found.of(rule)
        count = sum(d.count for d in items)
        _print(f"  {rule.label} ({rule.describe(settings)}): {plural(count, 'row')}")

    log_period = AUDIT_LOG.describe(settings)
    _print(f"\n[bold]Audit log[/], kept {log_period}, then the oldest rows {verb} deleted:")
    if found.audit_log_due and found.audit_log_before is not None:
        _print(
            f"  {plural(found.audit_log_due, 'row')} written before "
            f"{format_date(found.audit_log_before)}; a signed line in the checkpoint file "
            "will say where the kept chain starts (on PostgreSQL, run this as the log's owner)."
        )
    else:
        _print("  nothing due.")


@app.command()
def apply(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="List what is due, per kind and audit; change nothing."
    ),
) -> None:
    """Remove what the retention schedule says is due (--dry-run: list it).

    Replaces the case text of audits closed longer ago than
    AUDIT_RETENTION_CASE_TEXT_YEARS with a marker (grades, figures and published
    briefings stay), deletes sign-in records older than AUDIT_RETENTION_SESSION_DAYS
    and the audit log's oldest rows older than AUDIT_RETENTION_LOG_YEARS. One
    transaction; each removal is in the audit log. On PostgreSQL, run it as the role
    that runs the migrations (the log's owner)."""
    settings = get_settings()
    with as_cli(), unit_of_work() as session:
        if dry_run:
            # Reads only: on SQLite, no write lock held while counting.
            session.connection(execution_options={SQLITE_BEGIN: "DEFERRED"})
        with err_console.status("Finding what is due", spinner="line"):
            found = service.plan(session, settings=settings)
        _show_plan(found, settings, dry_run=dry_run)
        if dry_run:
            session.rollback()
            _print("\nDry run: nothing was changed.")
            return
        if not found.due:
            _print("\nNothing to remove.")
            return
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(
            *columns,
            console=err_console,
            transient=True,
            disable=len(found.due) < PROGRESS_FROM,
        ) as bar:
            task = bar.add_task("Removing", total=len(found.due))
            removals = service.apply(session, plan=found, progress=lambda n: bar.advance(task, n))
        by_kind: dict[str, list[int]] = defaultdict(list)
        for removal in removals:
            by_kind[removal.kind].append(removal.removed_count)
    _print("\n[bold]Removed[/] (one transaction; each is in the audit log as retention.remove):")
    for rule in (*CASE_TEXT, *SIGN_IN, AUDIT_LOG):
        if rule.kind in by_kind:
            counts = by_kind[rule.kind]
            where = f" in {plural(len(counts), 'audit')}" if rule in CASE_TEXT else ""
            how = "replaced" if rule in CASE_TEXT else "deleted"
            _print(f"  {rule.label}: {plural(sum(counts), _unit(rule))} {how}{where}")
