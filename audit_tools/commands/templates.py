"""``audit-tools templates``: share templates as YAML files or Excel workbooks
(docs/template-format.md)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.audit_templates import files, service, sheets
from app.audit_templates.models import TemplateVersion
from audit_tools.context import console, err_console, fail, unit_of_work

app = typer.Typer(help="Import, export and list audit templates.", no_args_is_help=True)


@app.command("import")
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    publish: bool = typer.Option(False, "--publish", help="Publish it straight away."),
) -> None:
    """Import a template file (YAML, or an Excel workbook ending .xlsx) as a new draft
    version (or publish it with --publish)."""
    workbook = file.suffix.lower() == ".xlsx"
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"Could not read {file}: {exc.strerror}.")
    if not workbook:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            err_console.print(f"[red]{file} is not UTF-8 text.[/]")
            raise typer.Exit(1) from None
    with unit_of_work() as session:
        if workbook:
            version = sheets.import_workbook(session, data)
        else:
            version = files.import_text(session, text=text)
        if publish:
            service.publish(session, version=version)
        console.print(
            f"Imported [bold]{version.label}[/] as template version id {version.id} "
            f"({version.status.value})."
        )


class FileFormat(StrEnum):
    YAML = "yaml"
    XLSX = "xlsx"


@app.command()
def export(
    version_id: int = typer.Argument(..., metavar="ID", help="Template version id."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
    file_format: FileFormat | None = typer.Option(
        None,
        "--format",
        "-f",
        help="yaml, or xlsx for an Excel workbook (needs --output). "
        "Default: xlsx if the output file ends .xlsx, else yaml.",
    ),
) -> None:
    """Write a template version as YAML (to standard output or a file) or as an Excel
    workbook (to a file)."""
    by_name = FileFormat.XLSX if output and output.suffix.lower() == ".xlsx" else None
    chosen = file_format or by_name or FileFormat.YAML
    if by_name and chosen != by_name:
        fail(f"{output} ends .xlsx but --format is {chosen}: use one or the other.")
    if chosen == FileFormat.XLSX and output is None:
        fail("An Excel workbook is written to a file: give --output FILE.xlsx.")
    with unit_of_work() as session:
        version = service.get_version(session, version_id=version_id)
        data = (
            sheets.write_workbook(version)
            if chosen == FileFormat.XLSX
            else files.export_text(version).encode("utf-8")
        )
    if output is None:
        typer.echo(data.decode("utf-8"), nl=False)
    else:
        try:
            output.write_bytes(data)
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


@app.command()
def schema() -> None:
    """Print the template file format's JSON Schema (docs/template-format.schema.json)."""
    print(json.dumps(files.json_schema(), indent=2, ensure_ascii=False))
