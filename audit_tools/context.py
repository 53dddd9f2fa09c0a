"""What every command shares: settings, the engine, one unit of work, errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from rich.console import Console
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.config import get_settings
from app.crypto import DataKeyError
from app.db import make_engine, make_sessionmaker, session_scope
from app.errors import AppError
from app.migrate import schema_problem

console = Console()
err_console = Console(stderr=True)


def database_label(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def migrated_engine() -> Iterator[Engine]:
    """The settings' database, once it is known to be migrated (a clear message and
    exit status 1 if not); disposed of at the end."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        problem = schema_problem(engine)
        if problem:
            err_console.print(
                f"[red]The database at {database_label(settings.database_url)} {problem}.[/]"
                " Run [bold]audit-tools db upgrade[/] first."
            )
            raise typer.Exit(1)
        yield engine
    finally:
        engine.dispose()


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A session committed at the end, or rolled back with a clear message on an error."""
    settings = get_settings()
    try:
        with migrated_engine() as engine, session_scope(make_sessionmaker(engine)) as session:
            yield session
    except AppError as exc:
        err_console.print(f"[red]{exc.message}[/] Nothing was saved.")
        for field in exc.fields:
            err_console.print(f"  - {field.field}: {field.message}")
        raise typer.Exit(1) from None
    except SQLAlchemyError as exc:
        fail(
            f"The database at {database_label(settings.database_url)} could not be used: {getattr(exc, 'orig', None) or exc}"
        )
    except DataKeyError as exc:  # an encrypted value that the data keys do not open
        fail(str(exc))


def fail(message: str) -> NoReturn:
    """One clear line on standard error, exit status 1: never a traceback."""
    err_console.print(f"[red]{message}[/] Nothing was saved.", highlight=False)
    raise typer.Exit(1)
