"""``audit-tools templates``: share templates as YAML files (docs/template-format.md)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.audit_templates import files, service
from app.audit_templates.models import TemplateVersion
from audit_tools.context import console, err_console, fail, unit_of_work

app = typer.Typer(help="Import, export and list audit templates.", no_args_is_help=True)


@app.command("import")
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    publish: bool = typer.Option(False, "--publish", help="Publish it straight away."),
) -> None:
    """Import a template file as a new draft version (or publish it with --publish)."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        err_console.print(f"[red]{file} is not UTF-8 text.[/]")
        raise typer.Exit(1) from None
    with unit_of_work() as session:
        version = files.import_text(session, text=text)
        if publish:
            service.publish(session, version=version)
        console.print(
            f"Imported [bold]{version.label}[/] as template version id {version.id} "
            f"({version.status.value})."
        )


@app.command()
def export(
    version_id: int = typer.Argument(..., metavar="ID", help="Template version id."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
) -> None:
    """Write a template version as YAML to standard output or a file."""
    with unit_of_work() as session:
        text = files.export_text(service.get_version(session, version_id=version_id))
    if output is None:
        typer.echo(text, nl=False)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            fail(f"Could not write {output}: {exc.strerror}.")
        err_console.print(f"Wrote {output}.")


@app.command("list")
def list_() -> None:
    """List every template version with its id and state."""
    with unit_of_work() as session:
        versions = session.scalars(
            select(TemplateVersion)
            .options(joinedload(TemplateVersion.family))
            .order_by(TemplateVersion.family_id, TemplateVersion.number)
        ).all()
        table = Table("id", "template", "version", "status")
        for v in versions:
            table.add_row(str(v.id), v.name, str(v.number), v.status.value)
    console.print(table)
