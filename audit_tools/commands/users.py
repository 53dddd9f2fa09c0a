"""``audit-tools users``: accounts, for the first administrator and for scripts.

Run on the server, these grant roles directly: admin and moderator need no second
administrator here (whoever can run it can reach the database anyway), and the audit
log names the command line (``cli:<account>``). The last active administrator still
keeps the role and stays enabled.

No account is made without a way in: ``create`` asks for the password at a terminal,
and without one needs ``--password-stdin`` or ``--invite`` (an e-mailed link, which
the courier sends: app/access/links.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import grants, links, service
from app.access.models import Role, User
from app.config import get_settings
from app.errors import AppError
from app.formatting import plural
from audit_tools.attribution import as_cli
from audit_tools.context import console, err_console, fail, unit_of_work

app = typer.Typer(
    help="Create, list and disable user accounts, and set their roles.", no_args_is_help=True
)


def _interactive() -> bool:
    return sys.stdin.isatty()


def _prompt_password() -> str:
    return typer.prompt("New password", hide_input=True, confirmation_prompt=True)


@app.command()
def create(
    email: str = typer.Argument(..., help="The person's e-mail address (their sign-in name)."),
    name: str = typer.Option(..., "--name", help="Their name as shown to others."),
    role: list[Role] = typer.Option(
        ..., "--role", help="A role; repeat for several.", case_sensitive=False
    ),
    agency_id: int | None = typer.Option(
        None, "--agency-id", help="Their agency (auditors and agency leads)."
    ),
    password: str | None = typer.Option(
        None,
        "--password",
        help="Their password. Better left out: you are then asked for it, and it does not "
        "end up in the shell's history.",
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read their password from standard input (scripts)."
    ),
    invite: bool = typer.Option(
        False,
        "--invite",
        help="Set no password: e-mail them an invitation to set their own instead.",
    ),
) -> None:
    """Add a person. They set up an authenticator app the first time they sign in.
    Without a terminal, give --password-stdin or --invite: an account nobody can sign
    in to is not made."""
    if sum([password is not None, password_stdin, invite]) > 1:
        fail("Give one of --password, --password-stdin and --invite.")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("No password was read from standard input.")
    if invite:
        _invite(email, name, set(role), agency_id)
        return
    if password is None:
        if not _interactive():
            fail(
                "There is no terminal to ask for a password: give --password-stdin (the "
                "password on standard input) or --invite (an e-mailed invitation)."
            )
        password = _prompt_password()
    with as_cli(), unit_of_work() as session:
        user = service.create_user(
            session,
            email=email,
            display_name=name,
            roles=set(role),
            agency_id=agency_id,
            password=password,
        )
        console.print(
            f"Created user {user.id} [bold]{user.email}[/] ({', '.join(sorted(user.roles))})."
        )


def _invite(email: str, name: str, roles: set[Role], agency_id: int | None) -> None:
    settings = get_settings()
    with as_cli(), unit_of_work() as session:
        made = links.invite(
            session,
            email=email,
            display_name=name,
            roles=roles,
            agency_id=agency_id,
            settings=settings,
        )
        what = "Sent a fresh invitation to" if made.again else "Invited"
        console.print(
            f"{what} [bold]{made.user.email}[/] ({', '.join(sorted(made.user.roles))}): the "
            f"link works once, for {settings.account_link_hours} hours. The e-mail goes "
            "when the courier next runs ([bold]audit-tools notifications send[/], or the "
            "web server's own)."
        )


@app.command("invite")
def invite_(
    email: str = typer.Argument(..., help="The person's e-mail address (their sign-in name)."),
    name: str = typer.Option(..., "--name", help="Their name as shown to others."),
    role: list[Role] = typer.Option(
        ..., "--role", help="A role; repeat for several.", case_sensitive=False
    ),
    agency_id: int | None = typer.Option(
        None, "--agency-id", help="Their agency (auditors and agency leads)."
    ),
) -> None:
    """E-mail someone an invitation: their account is made without a password, and a
    one-time link lets them set their own and their authenticator app. For an account
    never used, a fresh link (the older ones stop working)."""
    _invite(email, name, set(role), agency_id)


@app.command("import")
def import_(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="A CSV file: name, email, agency, roles."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every row and invite no one."),
) -> None:
    """Invite everyone in a CSV file (UTF-8; a header row naming the columns name, email,
    agency and roles; the agency by its name; several roles separated by semicolons).
    Every row's problems are printed; if any row has one, no one is invited (exit 1)."""
    settings = get_settings()
    try:
        text = links.read_csv(file.read_bytes())
    except AppError as exc:
        fail(exc.message)
    with as_cli(), unit_of_work() as session:
        rows = links.check_import(session, text=text)
        bad = [r for r in rows if r.problems]
        for row in bad:
            err_console.print(
                f"row {row.line} {escape(row.email or '(no email address)')}: "
                f"{escape('; '.join(row.problems))}",
                highlight=False,
            )
        if bad:
            fail(f"{len(bad)} of the {len(rows)} rows have problems: nobody was invited.")
        if dry_run:
            console.print(f"All {len(rows)} rows can be invited. Nobody was invited (dry run).")
            return
        _rows, made = links.import_invitations(session, text=text, settings=settings)
        console.print(
            f"Invited {plural(len(made), 'person', 'people')}: the e-mails go when the "
            "courier next runs."
        )


@app.command("list")
def list_() -> None:
    """List every account with its roles and whether it is active."""
    with unit_of_work() as session:
        users = session.scalars(select(User).order_by(User.email)).all()
        table = Table("id", "e-mail", "name", "roles", "agency", "active", "2FA")
        for u in users:
            table.add_row(
                str(u.id),
                u.email,
                u.display_name,
                ", ".join(sorted(u.roles)),
                str(u.agency_id or ""),
                "yes" if u.active else "no",
                "yes" if u.totp_confirmed_at else "no",
            )
    console.print(table)


@app.command()
def disable(email: str = typer.Argument(..., help="The person's e-mail address.")) -> None:
    """Stop the person signing in; their sessions end and their tokens stop working."""
    with as_cli(), unit_of_work() as session:
        user = service.find_user(session, email=email)
        if not user.active:
            fail(f"{user.email} is already disabled.")
        refused = _change(session, user, {"active": False})
        if refused is None:
            console.print(f"Disabled {user.email}; their sessions have ended.")
    if refused is not None:
        _refused(refused)


def _refused(message: str) -> NoReturn:
    err_console.print(
        f"[red]{message}[/] Nothing was changed; the refusal is in the audit log.",
        highlight=False,
    )
    raise typer.Exit(1)


def _change(session: Session, user: User, changes: dict) -> str | None:
    """Make the change, or say why not: a refusal is logged (and that row committed)."""
    try:
        with grants.refusals_logged(session):
            service.update_user(session, user=user, changes=changes)
    except grants.Refusal as refusal:
        return refusal.message
    return None


@app.command()
def roles(
    email: str = typer.Argument(..., help="The person's e-mail address."),
    role: list[Role] = typer.Option(
        ..., "--role", help="A role they will have; repeat for several.", case_sensitive=False
    ),
) -> None:
    """Set the person's roles (all of them, replacing those they have), at once: admin
    and moderator too, without a second administrator. Their sessions end."""
    with as_cli(), unit_of_work() as session:
        user = service.find_user(session, email=email)
        refused = _change(session, user, {"roles": set(role)})
        if refused is None:
            console.print(
                f"{user.email} now has the roles {', '.join(sorted(user.roles))}; "
                "their sessions have ended."
            )
    if refused is not None:
        _refused(refused)


@app.command("reset-password")
def reset_password(email: str = typer.Argument(..., help="The person's e-mail address.")) -> None:
    """Set a new password (asked for twice, not shown); their sessions end."""
    password = _prompt_password()
    with as_cli(), unit_of_work() as session:
        user = service.find_user(session, email=email)
        service.set_password(session, user=user, password=password)
        console.print(f"Set a new password for {user.email}; their sessions have ended.")
