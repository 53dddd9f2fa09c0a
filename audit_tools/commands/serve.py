"""``audit-tools serve``: run the web service."""

from __future__ import annotations

import typer
import uvicorn

from app.config import get_settings
from audit_tools.context import console, database_label

# Seconds a worker process has to answer uvicorn's health check (a ping over a pipe)
# before its supervisor kills it and starts another. A new worker answers only once its
# interpreter has started and imported this command line (over a second of CPU); with
# several starting at once on a busy two-core machine that took longer than uvicorn's
# 5 s, so a worker was killed at every start, and its replacement could be too. A
# running worker answers in milliseconds: the cost of a long limit falls only on a
# worker that truly hangs, replaced a minute later rather than seconds (and meanwhile
# the supervisor, waiting on it, is as slow to act on a signal to stop).
WORKER_HEALTH_CHECK_SECONDS = 60


def serve(
    host: str | None = typer.Option(None, help="Address to listen on (default from settings)."),
    port: int | None = typer.Option(None, help="Port (default from settings)."),
    workers: int = typer.Option(1, min=1, max=32, help="Worker processes."),
    reload: bool = typer.Option(False, help="Restart when code changes (development)."),
) -> None:
    """Serve the API and the pages with uvicorn. Any number of instances may serve one
    database: sessions live in the database, and background work is claimed there."""
    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    processes = 1 if reload else workers
    console.print(
        f"Case audit service on [bold]http://{host}:{port}/[/] "
        f"(API docs at http://{host}:{port}/docs). Press Ctrl+C to stop.",
        soft_wrap=True,
    )
    console.print(
        f"Database: {database_label(settings.database_url)}; "
        f"{processes} worker process{'es' if processes != 1 else ''}.",
        markup=False,
        highlight=False,
        soft_wrap=True,  # one line, whatever its length: what a log is searched for
    )
    uvicorn.run(
        "app.asgi:app",
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
        log_level="info",
        proxy_headers=True,
        timeout_worker_healthcheck=WORKER_HEALTH_CHECK_SECONDS,
    )
