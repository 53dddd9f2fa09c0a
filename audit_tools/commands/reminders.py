"""``audit-tools reminders send``: the daily reminder digest (run it once a day)."""

from __future__ import annotations

from datetime import date

import typer

from app import clock
from app.config import get_settings
from app.reminders import service
from audit_tools.attribution import as_cli
from audit_tools.context import console, err_console, unit_of_work

app = typer.Typer(help="Reminder e-mails about returns and actions due.", no_args_is_help=True)


@app.command()
def send(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print each digest instead of sending it; record nothing."
    ),
    today: str = typer.Option(
        "", "--today", metavar="YYYY-MM-DD", help="Act as if it were this day (default: today)."
    ),
) -> None:
    """Send each person one digest of their returns due within 7 days or overdue and
    their learning actions due within 14 days or overdue. Anyone already sent one today
    is skipped, so running it twice in a day sends nothing more."""
    try:
        day = date.fromisoformat(today) if today else clock.today()
    except ValueError:
        err_console.print(f"[red]--today must be a date like 2026-11-23, not {today!r}.[/]")
        raise typer.Exit(2) from None
    settings = get_settings()
    with as_cli(), unit_of_work() as session:
        outcome = service.send(session, settings=settings, today=day, dry_run=dry_run)
        for digest in outcome.sent:
            if dry_run:
                console.print(f"[bold]To: {digest.email}[/]\nSubject: {digest.subject()}\n")
                console.print(digest.body(day, settings.partnership_name), markup=False)
                console.print("-" * 60)
        verb = "would send" if dry_run else "sent"
        console.print(
            f"{len(outcome.sent)} digest(s) {verb}; {len(outcome.skipped)} person(s) already "
            f"reminded on {day:%-d %B %Y}."
        )
        for questionnaire in outcome.closed:
            console.print(
                f"Closed the questionnaire {questionnaire.title}: {questionnaire.close_reason}"
            )
        for digest, problem in outcome.failed:
            err_console.print(f"[red]Could not send to {digest.email}: {problem}[/]")
    if outcome.failed:
        raise typer.Exit(1)
