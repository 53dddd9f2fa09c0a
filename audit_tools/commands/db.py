"""``audit-tools db``: schema migrations (Alembic), the only way the schema changes."""

from __future__ import annotations

import typer
from alembic import command
from alembic.util.exc import CommandError
from sqlalchemy.exc import SQLAlchemyError

from app.config import get_settings
from app.db import make_engine
from app.migrate import alembic_config
from audit_tools.context import console, database_label, fail

app = typer.Typer(help="Create and migrate the database.", no_args_is_help=True)


def _run(action, revision: str) -> None:
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with engine.begin() as connection:
            action(alembic_config(connection), revision)
    except CommandError as exc:
        fail(f"Alembic refused: {exc}.")
    except SQLAlchemyError as exc:
        fail(
            f"The database at {database_label(settings.database_url)} could not be used: {getattr(exc, 'orig', None) or exc}"
        )
    finally:
        engine.dispose()


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Bring the database schema up to date (safe to run at every start)."""
    _run(command.upgrade, revision)
    console.print(f"Database {database_label(get_settings().database_url)} is at {revision}.")


@app.command()
def downgrade(revision: str = typer.Argument(..., help="Target revision, or 'base'.")) -> None:
    """Undo migrations down to REVISION. Data in dropped tables is lost."""
    _run(command.downgrade, revision)
    console.print(f"Database downgraded to {revision}.")


@app.command()
def current() -> None:
    """Show the database's current revision."""
    _run(lambda config, _rev: command.current(config), "")
