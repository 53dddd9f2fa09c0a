"""Signed checkpoints of the audit log, kept where the database cannot reach.

A keyed chain proves no row was altered, but not that none was removed from its end:
the rows left still fit. So after every transaction that appended to the log commits,
one line is appended outside the database (``AUDIT_AUDIT_CHECKPOINT_PATH``: a file,
opened for appending only, or ``syslog``) saying how many rows the chain held, which
row was its head and that row's hash, signed with an HMAC under the log's key::

    case-audit-checkpoint v1 rows=1234 head_id=1240 head_hash=<64 hex> at=<UTC> mac=<64 hex>

``check`` reads them back: every line's signature, and whether each checkpoint's head
row is still in the log at the same place with the same hash. A deleted tail, a chain
rewritten since the checkpoint, and a forged line each show up there.

The line is written after the commit (a rolled-back transaction writes none) and only
for the newest row of the transaction (a batch of appends, one line). A failure to
write is logged, never raised: the change is already committed, and the next
checkpoint covers its rows.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from hashlib import sha256
from logging.handlers import SysLogHandler
from pathlib import Path

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from app.auditlog.chain import ChainStart, Head, chain_key
from app.auditlog.models import AuditEvent
from app.clock import utcnow
from app.config import get_settings

SYSLOG = "syslog"
MARK = "case-audit-checkpoint v1"
_LINE = re.compile(re.escape(MARK) + r" rows=(\d+) head_id=(\d+) head_hash=([0-9a-f]{64}) at=(\S+)")
# Whitespace or a NUL (syslog's) may follow.
_MAC = re.compile(r" mac=([0-9a-f]{64})[\s\x00]*$")

log = logging.getLogger(__name__)

# Where the kept chain starts once a retention run has removed the oldest rows: the seq
# and hash of the last row removed, signed like a checkpoint, in the same place.
START_MARK = "case-audit-chain-start v1"
_START = re.compile(re.escape(START_MARK) + r" seq=(\d+) hash=([0-9a-f]{64}) at=(\S+)")


def start_line(start: ChainStart, *, key: bytes) -> str:
    body = f"{START_MARK} seq={start.seq} hash={start.hash} at={utcnow().isoformat()}"
    return f"{body} mac={_mac(key, body)}"


def chain_start(source: str | None = None, *, key: bytes | None = None) -> ChainStart:
    """Where the kept chain starts: the furthest signed start line in ``source`` (the
    settings' checkpoint path by default), or the beginning of the log. A line with a
    bad signature is ignored here (``check`` reports it as forged)."""
    settings = get_settings()
    source = source or settings.audit_checkpoint_path
    key = key if key is not None else chain_key(settings)
    found = ChainStart()
    path = Path(source)
    if source == SYSLOG or not path.is_file():
        return found
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            at = line.find(START_MARK)
            body = _START.match(line, at) if at >= 0 else None
            mac = _MAC.match(line, body.end()) if body else None
            if body and mac and hmac.compare_digest(_mac(key, body.group(0)), mac.group(1)):
                seq = int(body.group(1))
                if seq > found.seq:
                    found = ChainStart(seq=seq, hash=body.group(2))
    return found


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head when a transaction committed: ``rows`` is how many rows the
    chain had held up to it (the head's seq)."""

    rows: int
    head_id: int
    head_hash: str
    at: datetime

    def body(self) -> str:
        return (
            f"{MARK} rows={self.rows} head_id={self.head_id} head_hash={self.head_hash} "
            f"at={self.at.isoformat()}"
        )

    def signed(self, key: bytes) -> str:
        body = self.body()
        return f"{body} mac={_mac(key, body)}"


def _mac(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode(), sha256).hexdigest()


class BadLine(ValueError):
    """A line that is not a checkpoint, or one whose signature does not fit."""


def parse(line: str, key: bytes) -> Checkpoint:
    """The checkpoint in ``line`` (which may carry a syslog prefix), its signature
    checked; BadLine says why not."""
    start = line.find(MARK)
    body = _LINE.match(line, start) if start >= 0 else None
    mac = _MAC.match(line, body.end()) if body else None
    if body is None or mac is None:
        raise BadLine("not a checkpoint")
    if not hmac.compare_digest(_mac(key, body.group(0)), mac.group(1)):
        raise BadLine("bad signature")
    try:
        at = datetime.fromisoformat(body.group(4))
    except ValueError:
        raise BadLine("not a checkpoint") from None
    return Checkpoint(
        rows=int(body.group(1)), head_id=int(body.group(2)), head_hash=body.group(3), at=at
    )


# --- writing ---------------------------------------------------------------------------


def write(checkpoint: Checkpoint, *, key: bytes, destination: str) -> None:
    """Append ``checkpoint``, signed, to the file ``destination`` (its folder made if
    missing; opened for appending only, so nothing before it can be overwritten
    through this path) or send it to syslog."""
    write_line(checkpoint.signed(key), destination=destination)


def write_start(start: ChainStart) -> None:
    """Sign where the kept chain starts, to the checkpoint file, on disk before this
    returns (a retention run writes it before its commit, and stops if it cannot)."""
    settings = get_settings()
    write_line(
        start_line(start, key=chain_key(settings)),
        destination=settings.audit_checkpoint_path,
        durable=True,
    )


def write_line(line: str, *, destination: str, durable: bool = False) -> None:
    if destination == SYSLOG:
        _syslog().info(line)
        return
    path = Path(destination)
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write() of one short line with O_APPEND: lines from several processes
    # never interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (line + "\n").encode())
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


# Where syslog listens: None for the local daemon's socket (/dev/log), else UDP to
# localhost:514; a (host, port) pair to send elsewhere.
SYSLOG_ADDRESS: str | tuple[str, int] | None = None


@lru_cache(maxsize=1)
def _syslog() -> logging.Logger:
    logger = logging.getLogger("case_audit.audit_log_checkpoint")
    address = SYSLOG_ADDRESS or ("/dev/log" if Path("/dev/log").exists() else ("localhost", 514))
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()
    # LOG_AUTHPRIV: the facility most systems keep apart, readable by administrators.
    handler = SysLogHandler(address=address, facility=SysLogHandler.LOG_AUTHPRIV)
    handler.setFormatter(logging.Formatter("case-audit: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


_APPENDED = "audit_log_appended"
_PENDING = "audit_log_checkpoint"


def appended(session: Session) -> None:
    """Note that this transaction appended to the log (``record`` calls it): its
    commit writes a checkpoint."""
    session.info[_APPENDED] = True


@event.listens_for(Session, "before_commit")
def _take(session: Session) -> None:
    # The head is read here, inside the transaction (which still holds the chain's
    # lock), because after the commit the session can no longer query. A savepoint's
    # commit is not the transaction's: skip it.
    if not session.info.get(_APPENDED) or session.in_nested_transaction():
        return
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.id, AuditEvent.hash)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    if head is not None:
        settings = get_settings()
        checkpoint = Checkpoint(rows=head.seq, head_id=head.id, head_hash=head.hash, at=utcnow())
        session.info[_PENDING] = (checkpoint, chain_key(settings), settings.audit_checkpoint_path)


@event.listens_for(Session, "after_commit")
def _write_taken(session: Session) -> None:
    if session.in_nested_transaction():
        return
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    checkpoint, key, destination = pending
    try:
        write(checkpoint, key=key, destination=destination)
    except Exception:  # noqa: BLE001 - committed already: log it, never fail the request
        log.exception("Could not write the audit log's checkpoint to %s", destination)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the transaction itself ended, committed or not
        session.info.pop(_APPENDED, None)
        session.info.pop(_PENDING, None)


# --- checking ----------------------------------------------------------------------


@dataclass
class _Kind:
    """Lines that share a problem: how many, and the first one's line number."""

    count: int = 0
    first_line: int = 0
    example: str = ""

    def add(self, line_no: int, example: str = "") -> None:
        self.count += 1
        if self.count == 1:
            self.first_line, self.example = line_no, example


@dataclass
class Report:
    """What the checkpoints say about the log. ``problems`` name tampering (each one a
    sentence); ``notes`` are for information; ``found`` is False when there was no
    checkpoint to check against."""

    source: str
    found: bool = False
    lines: int = 0
    latest: Checkpoint | None = None
    latest_line: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check(
    session: Session,
    *,
    source: str | None = None,
    key: bytes | None = None,
    restored_copy: bool = False,
    start: ChainStart = ChainStart(),
    batch: int = 1000,
) -> Report:
    """Check the log against every checkpoint in ``source`` (a file; default: the
    settings' checkpoint path). The latest is the one naming the most rows (lines
    from several processes may land slightly out of order).

    Each line must carry a good signature, and its head row must still be in the
    log with the same seq and hash: otherwise rows were deleted (the head is gone) or
    the chain was rewritten (the head changed). The log must hold at least as many
    rows as the latest checkpoint says. With ``restored_copy`` (a backup restored
    for a drill), checkpoints written after the copy's newest row are only counted.
    Checkpoints from before ``start`` (rows a retention run removed) are skipped.
    Reads the file once and looks the heads up in batches: little memory whatever
    its length.
    """
    settings = get_settings()
    source = source or settings.audit_checkpoint_path
    key = key if key is not None else chain_key(settings)
    report = Report(source=source)
    if source == SYSLOG:
        report.notes.append(
            "Checkpoints are sent to syslog: export their lines to a file and pass it "
            "with --checkpoints."
        )
        return report
    path = Path(source)
    if not path.is_file():
        return report
    report.found = True
    log_head = _log_head(session)
    kinds = {name: _Kind() for name in ("unreadable", "forged", "missing", "changed", "newer")}
    pending: list[tuple[int, Checkpoint]] = []
    for line_no, checkpoint in _lines(path, key, kinds):
        report.lines += 1
        if report.latest is None or checkpoint.rows >= report.latest.rows:
            report.latest, report.latest_line = checkpoint, line_no
        if checkpoint.rows <= start.seq:
            continue
        if restored_copy and (log_head is None or checkpoint.rows > log_head.seq):
            kinds["newer"].add(line_no)
            continue
        pending.append((line_no, checkpoint))
        if len(pending) >= batch:
            _compare(session, pending, kinds)
            pending = []
    _compare(session, pending, kinds)
    _describe(report, kinds, log_head, restored_copy=restored_copy)
    return report


def _lines(path: Path, key: bytes, kinds: dict[str, _Kind]) -> Iterator[tuple[int, Checkpoint]]:
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line_no, line in enumerate(lines, start=1):
            if not line.strip() or START_MARK in line:
                continue  # a start line: chain_start reads it
            try:
                yield line_no, parse(line, key)
            except BadLine as exc:
                kinds["forged" if str(exc) == "bad signature" else "unreadable"].add(line_no)


def _log_head(session: Session) -> Head | None:
    row = session.execute(
        select(AuditEvent.seq, AuditEvent.id, AuditEvent.hash)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    return Head(seq=row.seq, id=row.id, hash=row.hash) if row else None


def _compare(
    session: Session, pending: list[tuple[int, Checkpoint]], kinds: dict[str, _Kind]
) -> None:
    if not pending:
        return
    ids = {checkpoint.head_id for _, checkpoint in pending}
    found = {
        row.id: row
        for row in session.execute(
            select(AuditEvent.id, AuditEvent.seq, AuditEvent.hash).where(AuditEvent.id.in_(ids))
        )
    }
    for line_no, checkpoint in pending:
        row = found.get(checkpoint.head_id)
        if row is None:
            kinds["missing"].add(line_no, f"row {checkpoint.head_id}")
        elif row.seq != checkpoint.rows or row.hash != checkpoint.head_hash:
            kinds["changed"].add(line_no, f"row {checkpoint.head_id}")


def _describe(
    report: Report, kinds: dict[str, _Kind], log_head: Head | None, *, restored_copy: bool
) -> None:
    where = f"in {report.source}"
    latest = report.latest
    if latest is not None:
        held = log_head.seq if log_head else 0
        named = f"the latest checkpoint (line {report.latest_line} {where})"
        if held < latest.rows and not restored_copy:
            report.problems.append(
                f"The log holds {held} rows but {named} says {latest.rows}, ending at row "
                f"{latest.head_id}: rows were deleted from the end of the log."
            )
        elif log_head is not None and held > latest.rows:
            report.notes.append(
                f"{held - latest.rows} rows were written after {named}; no checkpoint "
                "covers them yet."
            )
    wording = {
        "missing": "Checkpoints naming a head row that is no longer in the log: {count} "
        "{where} (first: {example}, line {line}): rows were deleted.",
        "changed": "Checkpoints naming a head row whose hash or place in the chain has "
        "changed: {count} {where} (first: {example}, line {line}): the chain was rewritten, "
        "or rows were deleted and others written in their place.",
        "forged": "Checkpoint lines with a bad signature: {count} {where} (first: line "
        "{line}): forged or altered, or signed with another key.",
        "unreadable": "Lines that are not checkpoints: {count} {where} (first: line {line}): "
        "the file was altered.",
    }
    for name, sentence in wording.items():
        kind = kinds[name]
        if kind.count:
            report.problems.append(
                sentence.format(
                    count=kind.count, where=where, example=kind.example, line=kind.first_line
                )
            )
    if kinds["newer"].count:
        report.notes.append(
            f"Checkpoints newer than this copy's newest row: {kinds['newer'].count}, as "
            "expected of a restored backup."
        )
