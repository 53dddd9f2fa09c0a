"""``audit-tools tokens``: personal access tokens for the API (scripts, integrations)."""

from __future__ import annotations

import typer

from app.access import service
from app.access.models import ApiToken
from app.config import get_settings
from audit_tools.attribution import as_cli
from audit_tools.context import console, fail, unit_of_work

app = typer.Typer(help="Create and revoke API tokens.", no_args_is_help=True)


@app.command()
def create(
    email: str = typer.Argument(..., help="Whose token: it acts with their rights."),
    name: str = typer.Option(..., "--name", help="What it is for, to tell tokens apart."),
    days: int = typer.Option(90, "--days", min=1, help="Days until it expires."),
) -> None:
    """Create a token and print it once: it is stored hashed and cannot be shown again."""
    limit = get_settings().api_token_max_days
    if days > limit:
        fail(f"A token may last at most {limit} days (AUDIT_API_TOKEN_MAX_DAYS).")
    name = name.strip()
    if not name or len(name) > 100:
        fail("The name must be 1 to 100 characters.")
    with as_cli(), unit_of_work() as session:
        user = service.find_user(session, email=email)
        if not user.active:
            fail(f"{user.email} is disabled.")
        row, plain = service.create_token(session, user=user, name=name, days=days)
        expires = row.expires_at
        token_id = row.id
    console.print(
        f"Token {token_id} for {email}, expiring {expires:%Y-%m-%d %H:%M} UTC. "
        "Copy it now: it will not be shown again."
    )
    typer.echo(plain)


@app.command()
def revoke(token_id: int = typer.Argument(..., metavar="TOKEN_ID", min=1)) -> None:
    """Revoke a token: it stops working at once."""
    with as_cli(), unit_of_work() as session:
        token = session.get(ApiToken, token_id)
        if token is None:
            fail(f"There is no token with id {token_id}.")
        if token.revoked_at is not None:
            fail(f"Token {token_id} was already revoked.")
        service.revoke_token(session, token=token)
        console.print(f"Revoked token {token_id} ({token.name}).")
