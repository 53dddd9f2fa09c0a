"""``audit-tools programme create-due``: make the year's programme's audits that are
due, as the courier's rounds do, for cron where the web processes do not run them."""

from __future__ import annotations

from datetime import date

import typer

from app import clock
from app.programme import calendar, schedule
from audit_tools.attribution import as_cli
from audit_tools.context import console, err_console, unit_of_work

app = typer.Typer(help="The year's programme of audits.", no_args_is_help=True)


@app.command("create-due")
def create_due(
    today: str = typer.Option(
        "", "--today", metavar="YYYY-MM-DD", help="Act as if it were this day (default: today)."
    ),
) -> None:
    """Make a planned audit, for an administrator to confirm, for each month of the
    programme that starts within the next 28 days (or has started and not ended) and has
    none yet; prints each one made. Running it again makes nothing more."""
    try:
        day = date.fromisoformat(today) if today else clock.today()
    except ValueError:
        err_console.print(f"[red]--today must be a date like 2026-11-23, not {today!r}.[/]")
        raise typer.Exit(2) from None
    with as_cli(), unit_of_work() as session:
        made = schedule.plan_due(session, today=day)
    for planned in made:
        console.print(
            f"Planned audit {planned.audit_id} '{planned.title}' for "
            f"{calendar.month_label(planned.month)}.",
            highlight=False,
        )
    console.print(
        f"{len(made)} audit(s) planned from the programme, waiting to be confirmed."
        if made
        else "No audits of the programme are due: nothing was planned.",
        highlight=False,
    )
