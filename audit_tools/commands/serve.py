"""``audit-tools serve``: run the web service."""

from __future__ import annotations

import typer
import uvicorn

from app.config import get_settings
from audit_tools.context import console


def serve(
    host: str | None = typer.Option(None, help="Address to listen on (default from settings)."),
    port: int | None = typer.Option(None, help="Port (default from settings)."),
    workers: int = typer.Option(1, min=1, max=32, help="Worker processes."),
    reload: bool = typer.Option(False, help="Restart when code changes (development)."),
) -> None:
    """Serve the API (and, later, the pages) with uvicorn."""
    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    console.print(
        f"Case audit service on [bold]http://{host}:{port}/[/] "
        f"(API docs at http://{host}:{port}/docs). Press Ctrl+C to stop."
    )
    uvicorn.run(
        "app.asgi:app",
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
        log_level="info",
        proxy_headers=True,
    )
