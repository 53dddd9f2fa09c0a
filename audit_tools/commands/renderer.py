"""``audit-tools renderer``: render published briefings in a process of its own."""

from __future__ import annotations

import os
import signal

import typer

from app.config import get_settings
from app.db import make_sessionmaker
from audit_tools.context import console, database_label, migrated_engine


def renderer(
    every: float = typer.Option(
        2.0, min=0.1, max=600, help="Seconds between looks for newly published briefings."
    ),
) -> None:
    """Render published briefings until stopped (Ctrl+C or SIGTERM).

    By default each web process renders its own (audit-tools serve). A deployment may
    instead start its web processes with AUDIT_RENDER_IN_BACKGROUND=false and run this
    beside them, so that making a briefing takes no time from a web process serving
    people. Any number may run on one database: each briefing is claimed by one."""
    from app.briefings import render
    from app.briefings.jobs import Dispatcher, shutdown_render_pool

    settings = get_settings()
    with migrated_engine() as engine:
        # Below the web processes on a shared machine: this process builds each
        # briefing's HTML and stores the PDF; its render workers run at the idle
        # priority (render.give_way).
        os.nice(render.RENDER_NICENESS)
        dispatcher = Dispatcher(make_sessionmaker(engine), settings, every=every)
        signal.signal(signal.SIGTERM, lambda *_: dispatcher.stop())
        console.print(
            f"Rendering published briefings from {database_label(settings.database_url)}, "
            f"looking every {every:g} s. Press Ctrl+C to stop.",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        try:
            dispatcher.run()
        except KeyboardInterrupt:
            pass
        finally:
            shutdown_render_pool()
