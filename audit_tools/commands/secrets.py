"""``audit-tools secrets``: the data keys that encrypt authenticator secrets and
backups (AUDIT_DATA_KEYS), and re-encrypting the secrets when a key is rotated."""

from __future__ import annotations

import typer
from cryptography.fernet import Fernet

from app import crypto
from app.access import sealed
from audit_tools.attribution import as_cli
from audit_tools.context import console, err_console, fail, unit_of_work

app = typer.Typer(
    help="Rotate the keys that encrypt authenticator secrets and backups.", no_args_is_help=True
)


@app.command("new-key")
def new_key() -> None:
    """Print AUDIT_DATA_KEYS with a new key first and the current ones after it (the
    value to set before `secrets rotate`). It holds secrets: keep it out of logs."""
    try:
        current = [k.decode() for k in crypto.key_list()]
    except crypto.DataKeyError as exc:
        fail(str(exc))
    print(f"AUDIT_DATA_KEYS={','.join([Fernet.generate_key().decode(), *current])}")
    err_console.print(
        "Set this in the service's environment and restart it, run audit-tools secrets "
        "rotate, and drop an old key only once no backup you keep still needs it "
        "(audit-tools backup --check FILE says which key a backup needs).",
        highlight=False,
    )


@app.command()
def rotate() -> None:
    """Encrypt every authenticator secret again with the first of AUDIT_DATA_KEYS."""
    try:
        with as_cli(), unit_of_work() as session:
            count = sealed.rotate(session)
    except crypto.DataKeyError as exc:
        fail(str(exc))
    console.print(
        f"{count} authenticator secrets encrypted again with the first of AUDIT_DATA_KEYS.",
        highlight=False,
    )
