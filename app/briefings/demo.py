"""The demo's published learning briefing: drafted from the moderated deep dive,
checked, approved and published as a public PDF, so the library has something in it."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from app.access.policy import Actor
from app.audits.models import Audit
from app.briefings import render, render_queue, service, workflow
from app.briefings.models import BriefingKind, Marking
from app.config import Settings, get_settings

TITLE = "7 minute briefing: child protection procedures in exploitation cases"


def publish_demo_briefing(
    session: Session,
    *,
    audit: Audit,
    moderator: Actor,
    today: date,
    settings: Settings | None = None,
) -> int:
    """Publish the drafted briefing (rendered in a worker process); returns its version id."""
    settings = settings or get_settings()
    version = workflow.create(
        session,
        audit=audit,
        kind=BriefingKind.BRIEFING,
        title=TITLE,
        marking=Marking.OFFICIAL,
        public=True,
    )
    workflow.submit(
        session, version=version, actor=moderator, settings=settings, confirm_small_counts=True
    )
    workflow.approve(session, version=version, actor=moderator, settings=settings)
    # And ask each agency how it shared the learning, answers due in three weeks.
    workflow.publish(
        session, version=version, assurance_due_on=today + timedelta(days=21), today=today
    )
    render_queue.start_render(session, version_id=version.id)
    session.refresh(version, ["render_status"])
    context = service.document_context(session, version=version, settings=settings, dated=today)
    pdf = render.render_in_worker(render.html_for("briefing", context), TITLE)
    render_queue.finish_render(session, version_id=version.id, pdf=pdf, today=today)
    return version.id
