"""Whatever ends a render, the version does not stay "rendering" for ever and the
dispatcher's thread lives on: WeasyPrint (or the worker process it runs in) may raise
something that is not an Exception."""

from __future__ import annotations

import threading
import time

import pytest

from app.briefings import jobs
from app.briefings.models import BriefingVersion, RenderStatus
from app.config import Settings
from app.db import make_sessionmaker, session_scope
from tests.briefings.test_publishing import published_report


class RendererCrashed(BaseException):
    """What a C library's binding or a dying worker might raise: not an Exception."""


SETTINGS = Settings(database_url="sqlite://", small_count_threshold=3)


@pytest.fixture
def queued(migrated_engine):
    """A published version waiting in the render queue, and the session factory."""
    factory = make_sessionmaker(migrated_engine())
    version_id = published_report(factory, SETTINGS)
    return factory, version_id


def _render_of(factory, version_id) -> tuple[RenderStatus, str | None]:
    with session_scope(factory) as session:
        version = session.get(BriefingVersion, version_id)
        return version.render_status, version.render_error


def test_a_base_exception_marks_the_render_failed(queued, monkeypatch):
    factory, version_id = queued

    def crash(*_args):
        raise RendererCrashed("the renderer died")

    monkeypatch.setattr(jobs, "render_version", crash)
    assert jobs.process_pending(factory, SETTINGS) == 0
    status, error = _render_of(factory, version_id)
    assert status == RenderStatus.FAILED
    assert error == "RendererCrashed: the renderer died"


def test_stopping_the_process_marks_it_failed_and_still_stops(queued, monkeypatch):
    factory, version_id = queued

    def interrupted(*_args):
        raise KeyboardInterrupt

    monkeypatch.setattr(jobs, "render_version", interrupted)
    with pytest.raises(KeyboardInterrupt):
        jobs.process_pending(factory, SETTINGS)
    assert _render_of(factory, version_id)[0] == RenderStatus.FAILED


def test_the_dispatcher_thread_outlives_a_base_exception(monkeypatch):
    calls: list[int] = []
    second = threading.Event()

    def pending(*_args):
        calls.append(1)
        if len(calls) == 1:
            raise RendererCrashed("first")
        second.set()
        return 0

    monkeypatch.setattr(jobs, "process_pending", pending)
    dispatcher = jobs.Dispatcher(factory=None, settings=SETTINGS)  # type: ignore[arg-type]
    dispatcher.start()  # its first round raises
    try:
        for _ in range(50):
            if calls:
                break
            time.sleep(0.05)
        dispatcher.kick()
        assert second.wait(timeout=10), "the thread died with the first round"
        assert dispatcher._thread is not None and dispatcher._thread.is_alive()
    finally:
        dispatcher.stop()
