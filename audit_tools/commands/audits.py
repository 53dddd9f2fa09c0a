"""``audit-tools audits``: checking how an audit's cohort was chosen."""

from __future__ import annotations

import typer

from app.audits import sampling
from app.audits.models import AgeBand
from app.errors import InvalidInput
from audit_tools.context import console, err_console

app = typer.Typer(help="Audits: check how a cohort was drawn.", no_args_is_help=True)


@app.command()
def redraw(
    seed: str = typer.Option(..., "--seed", help="The seed the audit log records."),
    eligible: int = typer.Option(..., "--eligible", help="How many children were eligible."),
    draw: int = typer.Option(..., "--draw", help="How many were drawn."),
    age_band: str | None = typer.Option(
        None,
        "--age-band",
        help="A draw stratified by age band: the band the audit log records (e.g. 5-9).",
    ),
) -> None:
    """Draw again, as the service drew the cohort: prints the positions, one a line, in
    ascending order (compare them with the audit log's ``audit.cohort_drawn``). Needs no
    database."""
    bands = [band.value for band in AgeBand]
    if age_band is not None and age_band not in bands:
        err_console.print(f"[red]age_band:[/] use one of {', '.join(bands)}", highlight=False)
        raise typer.Exit(2)
    try:
        drawn = sampling.draw(eligible=eligible, count=draw, seed=seed, stratum=age_band)
    except InvalidInput as exc:
        for problem in exc.fields:
            err_console.print(f"[red]{problem.field}:[/] {problem.message}", highlight=False)
        raise typer.Exit(2) from None
    for position in drawn.positions:
        console.print(str(position), highlight=False)
