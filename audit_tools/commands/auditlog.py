"""``audit-tools audit-log``: prove the audit log is unaltered (its keyed chain and its
signed checkpoints), and export it as CSV."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session

from app.auditlog import checkpoints, pending, visibility
from app.auditlog import service as auditlog
from app.db import SQLITE_BEGIN
from audit_tools.context import console, err_console, fail, unit_of_work

app = typer.Typer(help="Verify and export the append-only audit log.", no_args_is_help=True)

# Below this many rows the check takes well under a second: no bar to flicker.
PROGRESS_FROM = 10_000


def _read_only(session: Session) -> None:
    # Both commands only read: on SQLite, begin DEFERRED rather than IMMEDIATE so a
    # long walk over the log does not hold the write lock the service needs.
    session.connection(execution_options={SQLITE_BEGIN: "DEFERRED"})


def _seal_waiting() -> None:
    """Chain the reads waiting to be chained first (app/auditlog/pending.py), so the
    log checked or exported is the whole log."""
    with unit_of_work() as session:
        sealed = pending.seal(session)
    if sealed.chained:
        err_console.print(
            f"{sealed.chained} logged read{'' if sealed.chained == 1 else 's'} waiting to "
            f"be chained {'was' if sealed.chained == 1 else 'were'} chained first.",
            highlight=False,
        )


@app.command()
def verify(
    checkpoints_file: Path | None = typer.Option(
        None,
        "--checkpoints",
        help="The checkpoint file to check against (default: AUDIT_AUDIT_CHECKPOINT_PATH; "
        "where that is syslog, export the lines to a file and name it here).",
    ),
    require_checkpoint: bool = typer.Option(
        False,
        "--require-checkpoint",
        help="Exit 1, rather than warn, when there is no checkpoint to check against.",
    ),
) -> None:
    """Check the log: recompute every row's keyed hash from the row before it, and
    check it against every signed checkpoint. Exit 1 naming what was found (a row
    altered, the chain rewritten, rows deleted from its end, a forged checkpoint);
    with no checkpoint file, warn (a deleted tail cannot be seen) and exit 0 if the
    chain is intact."""
    _seal_waiting()
    with unit_of_work() as session:
        _read_only(session)
        total = auditlog.count(session)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(
            *columns, console=err_console, transient=True, disable=total < PROGRESS_FROM
        ) as bar:
            task = bar.add_task("Checking the audit log", total=total)
            source = str(checkpoints_file) if checkpoints_file else None
            # Where the kept chain starts, once retention has removed the oldest rows.
            start = checkpoints.chain_start(source)
            result = auditlog.verify(session, start=start, progress=lambda n: bar.advance(task, n))
        report = checkpoints.check(session, source=source, start=start)
    problems = _outcome(result, report, require_checkpoint=require_checkpoint)
    if problems:
        err_console.print("[red]The audit log failed verification:[/]", highlight=False)
        for problem in problems:
            err_console.print(f"[red]  - {problem}[/]", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


def _outcome(
    result: auditlog.VerifyResult, report: checkpoints.Report, *, require_checkpoint: bool
) -> list[str]:
    """Print what checked out (and the notes and warnings); return what did not."""
    problems = list(report.problems)
    if result.intact:
        console.print(f"{result.checked} rows, chain intact (keyed).", highlight=False)
    else:
        problems.insert(
            0,
            f"The chain is broken at row {result.broken_id}: {result.problem}. "
            f"({result.checked} rows checked.)",
        )
    if report.latest is not None and not report.problems:
        latest = report.latest
        console.print(
            f"{report.lines} checkpoint{'' if report.lines == 1 else 's'} in "
            f"{report.source}, every one signed and matching "
            f"the log; the latest: {latest.rows} rows, head row {latest.head_id}, "
            f"written {latest.at:%Y-%m-%d %H:%M:%S} UTC.",
            highlight=False,
            soft_wrap=True,
        )
    for note in report.notes:
        console.print(note, highlight=False, soft_wrap=True)
    if report.latest is None and not report.problems:
        missing = (
            f"The checkpoint file {report.source} holds no checkpoint"
            if report.found
            else f"No checkpoint file at {report.source}"
        ) + ": rows deleted from the end of the log could not be seen."
        if require_checkpoint:
            problems.append(missing)
        else:
            err_console.print(f"[yellow]Warning: {missing}[/]", highlight=False, soft_wrap=True)
    return problems


def _when(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date or date and time, as 2024-03-31 or 2024-03-31T17:00.")


@app.command()
def export(
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file (default: standard output)."
    ),
    user_id: int | None = typer.Option(None, "--user-id", min=1, help="Who did it."),
    action: str | None = typer.Option(None, "--action", help="e.g. return.read"),
    object_type: str | None = typer.Option(None, "--object-type", help="e.g. return"),
    object_id: int | None = typer.Option(None, "--object-id", min=1),
    since: str | None = typer.Option(
        None, "--from", help="On or after (ISO 8601; UTC unless an offset is given)."
    ),
    until: str | None = typer.Option(None, "--to", help="On or before (ISO 8601)."),
) -> None:
    """Write the matching rows as CSV, oldest first: when, user, action, object, the
    values before and after (compact JSON), request id and client address."""
    since_at, until_at = _when(since, "--from"), _when(until, "--to")
    _seal_waiting()
    with unit_of_work() as session:
        _read_only(session)
        filters = auditlog.LogFilter(
            user_id=user_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            since=since_at,
            until=until_at,
        )
        events = auditlog.matching(session, filters=filters)
        if output is None:
            visibility.write_csv(events, sys.stdout)
            return
        try:
            # utf-8-sig: the byte-order mark makes Excel read the file as UTF-8.
            with output.open("w", encoding="utf-8-sig", newline="") as out:
                written = visibility.write_csv(events, out)
        except OSError as exc:
            fail(f"Could not write {output}: {exc.strerror}.")
    err_console.print(f"Wrote {written} rows to {output}.", highlight=False)
