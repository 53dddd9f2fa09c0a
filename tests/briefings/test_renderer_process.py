"""``audit-tools renderer``: briefings rendered in a process of its own, beside web
processes that do not render (AUDIT_RENDER_IN_BACKGROUND=false), on both databases."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from sqlalchemy import func, select
from typer.testing import CliRunner

from app.briefings.models import BriefingDocument, BriefingVersion, RenderStatus
from app.config import Settings
from app.db import make_sessionmaker, session_scope
from audit_tools.cli import app as cli
from tests.briefings.test_publishing import published_report
from tests.conftest import clock_offset
from tests.helpers import served
from tests.helpers.sessions import engine_on

SETTINGS = Settings(database_url="sqlite://", small_count_threshold=3)


def _render_status(factory, version_id: int) -> RenderStatus:
    with session_scope(factory) as session:
        return session.scalar(
            select(BriefingVersion.render_status).where(BriefingVersion.id == version_id)
        )


def test_the_renderer_renders_what_is_queued_below_the_web_and_stops_when_asked(
    request, migrated_database, tmp_path
):
    url = migrated_database()
    with engine_on(url) as engine:
        factory = make_sessionmaker(engine)
        version_id = published_report(factory, SETTINGS)
        assert _render_status(factory, version_id) == RenderStatus.QUEUED
        log = tmp_path / "renderer.log"
        with log.open("wb") as out:
            renderer = subprocess.Popen(
                served.command(
                    "renderer",
                    "--every",
                    "0.2",
                    clock_seconds=clock_offset(request.config).total_seconds(),
                ),
                env=served.environment(url, AUDIT_SMALL_COUNT_THRESHOLD="3"),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 120
            while (status := _render_status(factory, version_id)) != RenderStatus.DONE:
                assert status != RenderStatus.FAILED, log.read_text()
                assert renderer.poll() is None, log.read_text()
                assert time.monotonic() < deadline, f"not rendered: {status}\n{log.read_text()}"
                time.sleep(0.2)
            # Below the web processes: the process building the HTML is niced (its
            # render workers run at the idle priority: tests/briefings/test_render.py).
            assert os.getpriority(os.PRIO_PROCESS, renderer.pid) == 10
            renderer.send_signal(signal.SIGTERM)
            assert renderer.wait(timeout=30) == 0, log.read_text()
        finally:
            if renderer.poll() is None:
                renderer.kill()
                renderer.wait()
        with session_scope(factory) as session:
            stored = session.scalar(
                select(func.count())
                .select_from(BriefingDocument)
                .where(BriefingDocument.version_id == version_id)
            )
            assert stored == 1
        assert "Rendering published briefings from" in log.read_text()
        assert "Traceback" not in log.read_text()


def test_the_renderer_refuses_a_database_that_is_not_migrated(tmp_path, monkeypatch):
    from app.config import get_settings

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["renderer"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    assert "audit-tools db upgrade" in result.output
