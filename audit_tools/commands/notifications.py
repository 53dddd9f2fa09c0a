"""``audit-tools notifications send``: one round of the courier, for cron where the web
processes do not send (AUDIT_NOTIFICATIONS_EVERY_SECONDS=0)."""

from __future__ import annotations

import typer

from app.config import get_settings
from app.db import make_sessionmaker
from app.notifications import service
from audit_tools.context import console, err_console, migrated_engine

app = typer.Typer(help="E-mails telling people something needs them.", no_args_is_help=True)


@app.command()
def send() -> None:
    """Send every queued notification that is due (each once); one that cannot be sent
    is tried again at a later run."""
    settings = get_settings()
    if service.channel(settings) is None:
        err_console.print(
            "[red]No way to send e-mail is set: AUDIT_NOTIFY_API_KEY (GOV.UK Notify) or "
            "AUDIT_SMTP_HOST.[/] Nothing was sent."
        )
        raise typer.Exit(1)
    with migrated_engine() as engine:
        done = service.send_due(make_sessionmaker(engine), settings=settings)
    console.print(
        f"Sent {len(done.sent)}; {len(done.failed)} to try again; {len(done.given_up)} given up."
    )
    for notification_id, error in done.failed:
        err_console.print(f"  - notification {notification_id}: {error}")
    if done.failed or done.given_up:
        raise typer.Exit(1)
