"""The drill after a restore: is the restored database the one backed up?

Row counts table by table against the manifest (counted from the snapshot itself when
the backup was made); the audit log's keyed chain (``auditlog.verify``) and its signed
checkpoints (``checkpoints.check`` for a restored copy: those written after the
backup are expected, the rest must match); and whether the data keys open the
authenticator secrets (a copy restored without the key they were written with would
lock everyone out)."""

from __future__ import annotations

from dataclasses import dataclass, field

from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.access import sealed
from app.auditlog import checkpoints
from app.auditlog import service as auditlog
from app.backup.database import table_counts
from app.migrate import head_revision


@dataclass(frozen=True)
class TableParity:
    name: str
    expected: int | None  # None: not in the backup
    found: int | None  # None: not restored

    @property
    def matches(self) -> bool:
        return self.expected == self.found


@dataclass
class DrillResult:
    tables: list[TableParity]
    chain_intact: bool = False
    chain: str = ""  # what the chain's check said
    checkpoints: str = ""  # what the checkpoints' check said
    checkpoint_problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    secrets_total: int = 0
    secrets_unreadable: int = 0
    revision: str | None = None
    head: str | None = None

    @property
    def matched(self) -> int:
        return sum(t.matches for t in self.tables)

    @property
    def parity(self) -> float:
        """Share of the tables whose counts match, in per cent (100 only if all do)."""
        if not self.tables:
            return 0.0
        if self.matched == len(self.tables):
            return 100.0
        return int(1000 * self.matched / len(self.tables)) / 10  # rounded down

    @property
    def rows(self) -> int:
        return sum(t.found or 0 for t in self.tables)

    @property
    def ok(self) -> bool:
        return (
            self.parity == 100.0
            and self.chain_intact
            and not self.checkpoint_problems
            and not self.secrets_unreadable
        )


def _log(session: Session, result: DrillResult) -> None:
    start = checkpoints.chain_start()  # once retention has removed the oldest rows
    chain = auditlog.verify(session, start=start)
    result.chain_intact = chain.intact
    result.chain = (
        f"{chain.checked:,} rows, chain intact"
        if chain.intact
        else f"chain broken at row {chain.broken_id}: {chain.problem}"
    )
    report = checkpoints.check(session, restored_copy=True, start=start)
    result.checkpoint_problems = list(report.problems)
    result.notes += report.notes
    if report.problems:
        result.checkpoints = "checkpoints do not match"
    elif report.latest is not None:
        result.checkpoints = f"{report.lines} signed checkpoints in {report.source} checked"
    elif report.found:
        result.checkpoints = f"no checkpoint in {report.source}"
    else:
        result.checkpoints = f"no checkpoint file at {report.source}"


def run(url: str, *, expected: dict[str, int]) -> DrillResult:
    """Check the database at ``url`` against the counts in a backup's manifest."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            found = table_counts(connection)
            revision = MigrationContext.configure(connection).get_current_revision()
        names = sorted(set(expected) | set(found))
        result = DrillResult(
            tables=[TableParity(n, expected.get(n), found.get(n)) for n in names],
            revision=revision,
            head=head_revision(),
        )
        with Session(engine) as session:
            try:
                _log(session, result)
            except SQLAlchemyError as exc:  # a schema this version cannot read, say
                result.chain = f"could not be checked: {getattr(exc, 'orig', None) or exc}"
        with Session(engine) as session:
            try:
                secrets = sealed.check(session)
                result.secrets_total = secrets.total
                result.secrets_unreadable = len(secrets.unreadable)
            except SQLAlchemyError as exc:
                result.notes.append(f"Authenticator secrets could not be read: {exc}")
    finally:
        engine.dispose()
    return result
