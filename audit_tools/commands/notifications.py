"""``audit-tools notifications send``: one round of the courier, for cron where the web
processes do not send (AUDIT_NOTIFICATIONS_EVERY_SECONDS=0)."""

from __future__ import annotations

import typer

from app.config import get_settings
from app.db import make_sessionmaker
from app.notifications import courier, service
from audit_tools.context import console, err_console, migrated_engine

app = typer.Typer(help="E-mails telling people something needs them.", no_args_is_help=True)


@app.command()
def send() -> None:
    """Queue what today makes news (learning actions newly overdue or escalated), then
    send every queued notification that is due (each once); one that cannot be sent is
    tried again at a later run."""
    settings = get_settings()
    if service.channel(settings) is None:
        err_console.print(
            "[red]No way to send e-mail is set: AUDIT_NOTIFY_API_KEY (GOV.UK Notify) or "
            "AUDIT_SMTP_HOST.[/] Nothing was sent."
        )
        raise typer.Exit(1)
    with migrated_engine() as engine:
        done = courier.run_round(make_sessionmaker(engine), settings=settings)
    console.print(
        f"Overdue or escalated actions told: {len(done.told)}. Sent {len(done.sent.sent)}; "
        f"{len(done.sent.failed)} to try again; {len(done.sent.given_up)} given up."
    )
    for notification_id, error in done.sent.failed:
        err_console.print(f"  - notification {notification_id}: {error}")
    if done.sent.failed or done.sent.given_up:
        raise typer.Exit(1)
