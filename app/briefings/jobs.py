"""Rendering published briefings in the background.

Publishing only queues a version (``render_status = queued``) and returns. A
dispatcher thread in each web process takes queued versions one at a time, builds
the HTML from the database, hands it to a render worker *process* (app.briefings.
render: WeasyPrint never runs in the web process), and stores the PDF. A version left
queued by a stopped server is picked up when the next one starts. Before the PDF
is stored, the identification check reads it as printed (its pages' text and its
metadata); a refusal sends the version back to draft. The tests call
``process_pending`` directly.
"""

from __future__ import annotations

import logging
import threading
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app import clock
from app.briefings import pack, render_queue, service, workflow
from app.briefings.models import BriefingVersion, RenderStatus, VersionStatus
from app.config import Settings
from app.db import session_scope

log = logging.getLogger(__name__)
RENDER_TIMEOUT_SECONDS = 120
# A claim this old belongs to a renderer that stopped: every render ends (or times out
# and is marked failed) well within it.
ABANDONED_AFTER = timedelta(seconds=RENDER_TIMEOUT_SECONDS * 5)


def _claim(factory: sessionmaker[Session]) -> int | None:
    """Mark the oldest queued version as rendering, so no other dispatcher takes it
    (after queueing again any whose renderer stopped long ago)."""
    with session_scope(factory) as session:
        render_queue.requeue_abandoned(session, older_than=ABANDONED_AFTER)
        version_id = session.scalar(
            select(BriefingVersion.id)
            .where(BriefingVersion.render_status == RenderStatus.QUEUED)
            .order_by(BriefingVersion.id)
            .limit(1)
        )
        if version_id is None:
            return None
        return version_id if render_queue.start_render(session, version_id=version_id) else None


def render_version(
    factory: sessionmaker[Session], settings: Settings, version_id: int, today: date
) -> bool:
    """Render a claimed version, check the PDF as printed, and publish it; or, if the
    identification check refuses it, send it back to draft. True if it was published."""
    from app.briefings import render

    with session_scope(factory) as session:
        version = service.get_version(session, version_id=version_id)
        if version.status != VersionStatus.APPROVED:
            raise RuntimeError(f"version {version_id} is {version.status.value}, not approved")
        context = service.document_context(session, version=version, settings=settings, dated=today)
        html = render.html_for(version.briefing.kind.value, context)
        title = version.briefing.title
        figures = pack.to_xlsx(context["trends"], context["doc"]) if "trends" in context else None
        against = workflow.version_check_inputs(session, version=version, settings=settings)
    # The check reads what is published: the PDF's text and metadata (and the HTML it
    # was printed from). Figures, actions and answers drawn in from the audit may have
    # changed since approval; nothing is visible until this passes. It runs in the
    # render worker, beside the render, not in this (web) process.
    pdf, report = (
        render.pool(settings)
        .submit_checked(html, title, check=workflow.check_printed, against=against)
        .result(timeout=RENDER_TIMEOUT_SECONDS)
    )
    with session_scope(factory) as session:
        return render_queue.publish_checked(
            session, version_id=version_id, pdf=pdf, checked=report, today=today, figures=figures
        )


def process_pending(
    factory: sessionmaker[Session], settings: Settings, *, today: date | None = None
) -> int:
    """Render every queued version; returns how many were published (a version the
    identification check refused as printed went back to draft instead)."""
    done = 0
    while (version_id := _claim(factory)) is not None:
        try:
            if render_version(factory, settings, version_id, today or clock.today()):
                done += 1
            else:
                log.warning("briefing version %s was refused as printed", version_id)
        except BaseException as exc:
            # Whatever ended the render (WeasyPrint, or the worker process, may raise
            # something that is not an Exception), the claim must not stay "rendering"
            # for ever: the failure is recorded, and the version can be published again.
            log.exception("rendering briefing version %s failed", version_id)
            with session_scope(factory) as session:
                render_queue.fail_render(
                    session, version_id=version_id, error=f"{exc.__class__.__name__}: {exc}"
                )
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise  # the process is stopping: recorded, then let it stop
    return done


class Dispatcher:
    """Renders queued versions when kicked, and every ``every`` seconds in case a kick
    was missed (or, in a renderer process of its own, as the way it hears of them).

    A web process runs one in a thread (``start``); ``audit-tools renderer`` runs one
    in its main thread (``run``), for web processes started without
    (``AUDIT_RENDER_IN_BACKGROUND=false``)."""

    def __init__(
        self, factory: sessionmaker[Session], settings: Settings, *, every: float = 60
    ) -> None:
        self.factory, self.settings, self.every = factory, settings, every
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="briefing-renders", daemon=True)
        self._thread.start()

    def kick(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def run(self) -> None:
        """Until stopped: render whatever is queued (first anything left queued by a
        stopped server), then wait for a kick or ``every`` seconds."""
        while not self._stop.is_set():
            try:
                process_pending(self.factory, self.settings)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException:  # never let the loop die: the next round tries again
                log.exception("the briefing dispatcher failed")
            self._wake.wait(timeout=self.every)
            self._wake.clear()


def shutdown_render_pool() -> None:
    """Stop the render worker processes, if any were started."""
    import sys

    render = sys.modules.get("app.briefings.render")
    if render is not None and hasattr(render, "shutdown"):
        render.shutdown()
