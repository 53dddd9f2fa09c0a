"""``audit-tools``: the service's command line, thin over the app's services."""

from __future__ import annotations

import typer

from audit_tools.commands import (
    accounts,
    auditlog,
    audits,
    backup,
    briefings,
    db,
    demo,
    notifications,
    programme,
    reminders,
    renderer,
    retention,
    secrets,
    serve,
    templates,
    tokens,
    users,
)

app = typer.Typer(
    help="Case audit service: database, templates, users, demo data, reminders and the web server.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(templates.app, name="templates")
app.add_typer(users.app, name="users")
app.add_typer(audits.app, name="audits")
app.add_typer(accounts.app, name="accounts")
app.add_typer(tokens.app, name="tokens")
app.add_typer(auditlog.app, name="audit-log")
app.add_typer(reminders.app, name="reminders")
app.add_typer(notifications.app, name="notifications")
app.add_typer(programme.app, name="programme")
app.add_typer(briefings.app, name="briefings")
app.add_typer(retention.app, name="retention")
app.add_typer(secrets.app, name="secrets")
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.command("renderer")(renderer.renderer)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
