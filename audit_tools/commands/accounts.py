"""``audit-tools accounts disable-inactive [--dry-run]``: tell the holders of accounts
nobody has used that theirs will be disabled, and disable those told long enough ago
(app/access/leavers.py), as the courier's rounds do each day; or list it."""

from __future__ import annotations

import typer
from rich.markup import escape

from app import clock
from app.access import leavers
from app.access.models import User
from app.config import get_settings
from app.formatting import format_date, plural
from audit_tools.attribution import as_cli
from audit_tools.context import console, unit_of_work

app = typer.Typer(help="Joiners, movers and leavers: accounts nobody uses.", no_args_is_help=True)


def _print(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True)


def _people(users: list[User]) -> None:
    for user in users:
        used = format_date(user.last_active_at or user.created_at)
        _print(f"  {escape(user.email)} ({escape(user.display_name)}), last used {used}")


@app.command("disable-inactive")
def disable_inactive(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="List whom it would tell and disable; change nothing."
    ),
) -> None:
    """Tell each person whose account has not been used for AUDIT_INACTIVE_AFTER_DAYS
    less AUDIT_INACTIVITY_NOTICE_DAYS that it will be disabled (once), and disable
    the accounts still unused AUDIT_INACTIVE_AFTER_DAYS after their last use and
    AUDIT_INACTIVITY_NOTICE_DAYS after the notice: their sessions end and their
    tokens stop. Never the last active administrator. The e-mails are sent by the
    courier (``audit-tools notifications send``). Each change is in the audit log."""
    settings = get_settings()

    def verb(count: int) -> str:
        return "would be" if dry_run else "was" if count == 1 else "were"

    with as_cli(), unit_of_work() as session:
        done = leavers.run_inactivity(session, today=clock.today(), settings=settings)
        _print(
            f"{plural(len(done.told), 'person', 'people')} {verb(len(done.told))} told that their account will be "
            f"disabled on {format_date(done.disable_on)} unless they sign in"
            + (":" if done.told else ".")
        )
        _people(done.told)
        _print(
            f"{plural(len(done.disabled), 'account')} {verb(len(done.disabled))} disabled for not being used"
            + (":" if done.disabled else ".")
        )
        _people(done.disabled)
        if done.kept:
            _print("Kept although unused, as the last active administrator:")
            _people(done.kept)
        if dry_run:
            session.rollback()  # what the run wrote, and the e-mails it queued, go
            _print("Dry run: nothing was changed.")
