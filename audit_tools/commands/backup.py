"""``audit-tools backup`` and ``audit-tools restore``: an encrypted snapshot of the
database, and a restore into an empty database followed by the drill that proves it
(row counts table by table, the audit log's chain, the authenticator secrets) and
says how long it took (the recovery time)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    FileSizeColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy.exc import SQLAlchemyError

from app import crypto
from app.backup import archive, database, drill
from app.clock import utcnow
from app.config import get_settings
from audit_tools.context import console, database_label, err_console, fail


@contextmanager
def _step(description: str, total: int | None = None) -> Iterator[tuple[Progress, TaskID]]:
    """A line on standard error while a long step runs: a bar when its size is known,
    otherwise the bytes written so far."""
    columns: tuple[ProgressColumn, ...]
    if total is None:
        columns = (SpinnerColumn(), TextColumn("{task.description}"), FileSizeColumn())
    else:
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
    with Progress(*columns, TimeElapsedColumn(), console=err_console, transient=True) as bar:
        yield bar, bar.add_task(description, total=total)


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def _made(manifest: dict) -> str:
    made = datetime.fromisoformat(manifest["made_at"])
    return f"{made.day} {made:%B %Y %H:%M} UTC"


def _keys_or_fail() -> None:
    try:
        crypto.key_list()
    except crypto.DataKeyError as exc:
        fail(str(exc))


def backup(
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write the backup to this new file (never overwritten)."
    ),
    check: Path | None = typer.Option(
        None,
        "--check",
        help="Instead: read this backup through, proving it whole and that the data keys open it.",
    ),
) -> None:
    """Back up the database DATABASE_URL names, encrypted with the first of
    AUDIT_DATA_KEYS, to a new file; or (--check) prove a backup whole."""
    if (out is None) == (check is None):
        fail("Give either --out FILE (make a backup) or --check FILE (check one).")
    _keys_or_fail()
    if check is not None:
        _check(check)
        return
    assert out is not None
    _backup(out)


WORK_PREFIX = ".case-audit-backup-"


def _remove_leftovers(folder: Path) -> None:
    """A run killed mid-way (a cron timeout, the machine out of memory) leaves its plain
    snapshot behind in its work folder: the next run removes it, and says so."""
    for left in folder.glob(WORK_PREFIX + "*"):
        if left.is_dir():
            shutil.rmtree(left, ignore_errors=True)
            err_console.print(
                f"[yellow]Removed {left}, the unencrypted snapshot of a backup that did "
                "not finish.[/]",
                highlight=False,
            )


def _backup(out: Path) -> None:
    url = get_settings().database_url
    if out.exists():
        fail(f"{out} exists: a backup is never written over; choose a new name.")
    if not out.parent.is_dir():
        fail(f"There is no folder {out.parent}.")
    _remove_leftovers(out.parent)
    started = time.perf_counter()
    partial = out.with_name(out.name + ".partial")
    try:
        # The plain snapshot stays beside the backup (where the space was chosen), in a
        # folder only this account can read, and goes as soon as it is encrypted.
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=WORK_PREFIX) as work:
            plain = Path(work) / "snapshot"
            with _step("Taking a snapshot") as (bar, task):
                snapshot = database.take(
                    url, plain, progress=lambda size: bar.update(task, completed=size)
                )
            manifest = {
                "format": 1,
                "made_at": utcnow().isoformat(timespec="seconds"),
                "database": snapshot.kind,
                "source": database_label(url),
                "revision": snapshot.revision,
                "tables": snapshot.counts,
            }
            size = plain.stat().st_size
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with (
                _step("Encrypting", total=size) as (bar, task),
                os.fdopen(descriptor, "wb") as target,
                plain.open("rb") as source,
            ):
                archive.write(
                    target,
                    manifest=manifest,
                    snapshot=source,
                    progress=lambda n: bar.advance(task, n),
                    compress=snapshot.kind == database.SQLITE,
                )
                target.flush()
                os.fsync(target.fileno())
        os.replace(partial, out)
    except database.BackupError as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        fail(
            f"The database at {database_label(url)} could not be read: "
            f"{getattr(exc, 'orig', None) or exc}"
        )
    except OSError as exc:
        fail(f"Could not write the backup: {exc.strerror or exc}.")
    finally:
        partial.unlink(missing_ok=True)
    rows = sum(snapshot.counts.values())
    console.print(
        f"Backed up {database_label(url)} ({snapshot.kind}, revision {snapshot.revision}): "
        f"{len(snapshot.counts)} tables, {rows:,} rows, to {out} "
        f"({out.stat().st_size / 1e6:,.1f} MB) in {_seconds(time.perf_counter() - started)}. "
        "It opens only with the first of AUDIT_DATA_KEYS: keep the keys, apart from it.",
        highlight=False,
    )


def _check(path: Path) -> None:
    try:
        with path.open("rb") as source, open(os.devnull, "wb") as nowhere:
            opened = archive.extract(source, nowhere)
    except archive.ArchiveError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"Could not read {path}: {exc.strerror or exc}.")
    manifest = opened.manifest
    console.print(
        f"{path}: whole. A backup of {manifest['source']} ({manifest['database']}, revision "
        f"{manifest['revision']}) made {_made(manifest)}: {len(manifest['tables'])} "
        f"tables, {sum(manifest['tables'].values()):,} rows. It opens with key "
        f"{opened.key_number} of AUDIT_DATA_KEYS.",
        highlight=False,
    )


def restore(
    file: Path = typer.Argument(..., help="A file made by audit-tools backup."),
) -> None:
    """Restore FILE into the empty database DATABASE_URL names, then run the drill:
    row counts against the backup's, the audit log's chain and checkpoints, the
    authenticator secrets, and the time taken (RTO). Exit 1 when anything does not
    match."""
    _keys_or_fail()
    url = get_settings().database_url
    started = time.perf_counter()
    if not file.is_file():
        fail(f"There is no file {file}.")
    try:
        present = database.tables_in(url)
    except (SQLAlchemyError, database.BackupError) as exc:
        fail(
            f"The database at {database_label(url)} could not be used: "
            f"{getattr(exc, 'orig', None) or exc}"
        )
    if present:
        fail(
            f"The database at {database_label(url)} is not empty ({len(present)} tables, "
            f"{', '.join(present[:3])}...): a backup is restored only into a new, empty "
            "database, never over one."
        )
    try:
        with file.open("rb") as source:
            manifest = archive.read_manifest(source).manifest
        if manifest["database"] != database.kind_of(url):
            fail(
                f"This is a backup of a {manifest['database']} database; DATABASE_URL names a "
                f"{database.kind_of(url)} one. Restore it into a {manifest['database']} database."
            )
        with tempfile.TemporaryDirectory(prefix="case-audit-restore-") as work:
            plain = Path(work) / "snapshot"
            with (
                _step("Decrypting", total=file.stat().st_size) as (bar, task),
                file.open("rb") as source,
                plain.open("wb") as target,
            ):
                archive.extract(source, target, progress=lambda n: bar.advance(task, n))
            with _step("Restoring"):
                database.load(url, plain)
    except (archive.ArchiveError, database.BackupError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"Could not restore: {exc.strerror or exc}.")
    restored = time.perf_counter()
    with _step("Checking the restored database"):
        result = drill.run(url, expected=manifest["tables"])
    _report(result, manifest=manifest, url=url, started=started, restored=restored)
    if not result.ok:
        raise typer.Exit(1)


def _report(
    result: drill.DrillResult, *, manifest: dict, url: str, started: float, restored: float
) -> None:
    finished = time.perf_counter()
    say = console.print
    say(
        f"Restored the backup of {manifest['source']} made {_made(manifest)} into "
        f"{database_label(url)}.",
        highlight=False,
    )
    tables = f"tables {result.matched}/{len(result.tables)} match, parity {result.parity:g}%"
    say(f"Rows: {tables} ({result.rows:,} rows).", highlight=False)
    for t in result.tables:
        if not t.matches:
            expected = (
                "not in the backup" if t.expected is None else f"{t.expected:,} in the backup"
            )
            found = "not restored" if t.found is None else f"{t.found:,} restored"
            err_console.print(f"  [red]{t.name}: {expected}, {found}[/]", highlight=False)
    say(f"Audit log: {result.chain}; {result.checkpoints}.", highlight=False)
    for problem in result.checkpoint_problems:
        err_console.print(f"  [red]{problem}[/]", highlight=False)
    for note in result.notes:
        say(f"  {note}", highlight=False)
    secrets = result.secrets_total - result.secrets_unreadable
    say(
        f"Authenticator secrets: {secrets}/{result.secrets_total} open with AUDIT_DATA_KEYS.",
        highlight=False,
    )
    say(
        f"Restore took {_seconds(finished - started)} (RTO): "
        f"{_seconds(restored - started)} to restore, {_seconds(finished - restored)} to check.",
        highlight=False,
    )
    if result.revision != result.head:
        say(
            f"The backup is at revision {result.revision}; this version of the service needs "
            f"{result.head}: run audit-tools db upgrade before starting it.",
            highlight=False,
        )
    if result.ok:
        say("[green]Drill passed.[/]")
    else:
        err_console.print("[red]Drill failed: the restored database is not the one backed up.[/]")
