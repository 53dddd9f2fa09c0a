"""``audit-tools demo``: load the synthetic demonstration partnership."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app import demo as demo_data
from app.config import get_settings
from audit_tools.context import console, fail, unit_of_work


def demo(
    large: int = typer.Option(
        0, "--large", min=0, max=500, help="Also add this many synthetic audits (benchmarks)."
    ),
) -> None:
    """Load a realistic synthetic partnership: agencies, subgroups, the shipped templates
    and an open audit of 7 children across 5 agencies. Does nothing if already loaded."""
    if get_settings().environment == "production":
        fail(
            "The demo creates accounts whose passwords are published in the README; it "
            "cannot be loaded where AUDIT_ENVIRONMENT=production."
        )
    with unit_of_work() as session:
        if demo_data.demo_loaded(session):
            if large:
                with console.status(f"Adding {large} synthetic audits"):
                    demo_data.load_large(session, audits_count=large)
                console.print(f"The demo was already loaded; added {large} synthetic audits.")
            else:
                console.print("The demo partnership is already loaded; nothing to do.")
            return
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=True) as bar:
            steps = 2 + demo_data.headline_return_count()
            task = bar.add_task("Loading the demo partnership", total=steps)
            audit = demo_data.load_demo(session, progress=lambda _what, n: bar.advance(task, n))
            if large:
                big = bar.add_task(f"Adding {large} synthetic audits", total=None)
                demo_data.load_large(
                    session, audits_count=large, progress=lambda _w, n: bar.advance(big, n)
                )
        console.print(
            f"Loaded the demo partnership: audit {audit.id} '{audit.title}' is open with "
            f"{len(demo_data.COHORT)} children and {demo_data.headline_return_count()} returns."
        )
