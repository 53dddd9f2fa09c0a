"""The demo's published learning briefing: drafted from the moderated deep dive by the
business unit, checked, approved by the QAPP chair (four eyes: someone who did not
write it) and published as a public PDF once the check has read the PDF itself, so the
library has something in it; and its report to the GET SAFE group, a draft whose
executive summary and decisions are drafted from the figures, with the chair's
commentary written. Both show their tables' small numbers of children as "fewer than
N", as the identification check asks, so neither raises anything at all."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from app.access.policy import Actor
from app.audits.models import Audit
from app.briefings import render, render_queue, service, suppression, workflow
from app.briefings.models import (
    BriefingDownload,
    BriefingFeedback,
    BriefingKind,
    BriefingVersion,
    Marking,
    VersionStatus,
)
from app.config import Settings, get_settings

TITLE = "7 minute briefing: child protection procedures in exploitation cases"
REPORT_TITLE = "Report to GET SAFE: child protection procedures in exploitation cases"
COMMENTARY = (
    "The chair asks the group to give most of its time to the overdue actions: the "
    "learning from the deep dive changes practice only once they are done."
)


def show_small_numbers_as_fewer(
    session: Session, *, version: BriefingVersion, settings: Settings, actor: Actor
) -> None:
    """What an editor does on the check's word: each table whose small numbers of
    children the check flags shows them as "fewer than N"."""
    for table in suppression.child_tables(session, version=version, settings=settings):
        if table.problem and not table.suppressed:
            suppression.suppress_table(
                session, version=version, table=table.key, settings=settings, actor=actor
            )


def approve_briefing(
    session: Session,
    *,
    audit: Audit,
    title: str,
    public: bool,
    author: Actor,
    approver: Actor,
    settings: Settings,
) -> BriefingVersion:
    """A briefing drafted from the audit by ``author`` (its small numbers shown as
    "fewer than"), submitted, and approved by ``approver``: through the workflow and its
    identification check, as the demo's own and the load test's are."""
    version = workflow.create(
        session,
        audit=audit,
        kind=BriefingKind.BRIEFING,
        title=title,
        marking=Marking.OFFICIAL,
        public=public,
        actor=author,
    )
    show_small_numbers_as_fewer(session, version=version, settings=settings, actor=author)
    workflow.submit(
        session, version=version, actor=author, settings=settings, confirm_small_counts=True
    )
    workflow.approve(session, version=version, actor=approver, settings=settings, check_read=True)
    return version


def publish_demo_briefing(
    session: Session,
    *,
    audit: Audit,
    author: Actor,
    approver: Actor,
    today: date,
    settings: Settings | None = None,
    title: str = TITLE,
    assurance: bool = True,
) -> int:
    """Publish the drafted briefing (rendered in a worker process): ``author`` drafts and
    submits it, ``approver`` approves it; returns its version id. (The demo has one
    approver: with ``briefing_approvers`` at 2 it is left waiting for a second.) With
    ``assurance``, publishing launches its assurance questionnaire."""
    settings = settings or get_settings()
    version = approve_briefing(
        session,
        audit=audit,
        title=title,
        public=True,
        author=author,
        approver=approver,
        settings=settings,
    )
    if version.status != VersionStatus.APPROVED:
        return version.id  # two approvers asked for: it waits for the second
    # And ask each agency how it shared the learning, answers due in three weeks.
    due = today + timedelta(days=21) if assurance else None
    workflow.publish(session, version=version, assurance_due_on=due, today=today)
    render_queue.start_render(session, version_id=version.id)
    session.refresh(version, ["render_status"])
    context = service.document_context(session, version=version, settings=settings, dated=today)
    html = render.html_for("briefing", context)
    pdf = render.render_in_worker(html, TITLE)
    # The same check the dispatcher makes before anything is published.
    against = workflow.version_check_inputs(session, version=version, settings=settings)
    checked = workflow.check_printed(pdf, against=against, html=html)
    if not render_queue.publish_checked(
        session, version_id=version.id, pdf=pdf, checked=checked, today=today
    ):
        raise RuntimeError(f"the demo briefing's PDF was refused: {checked.refusals[0].message}")
    return version.id


FEEDBACK_COMMENTS = [
    "Used it in our team meeting; the questions at the end started a good discussion.",
    "Clear and short. Shared with the duty team.",
    "Would have liked more on what to do when a strategy discussion is not called.",
    "",
]


def add_demo_reach(
    session: Session,
    *,
    version_id: int,
    agency_ids: list[int],
    since: date,
    months: int,
    rng: random.Random,
) -> None:
    """A published briefing's reach over ``months`` months from ``since``: downloads by
    each agency's staff (and a few by people not signed in) on days through each month,
    fewer as the months go on, and "was this useful?" answers. Rows written as they
    would have been counted (the people are not kept), with the days they were given."""
    version = session.get(BriefingVersion, version_id)
    assert version is not None
    for month in range(months):
        for agency_id in [*agency_ids, None]:
            for _ in range(max(0, rng.randint(0, 6) - month // 3)):
                at = datetime.combine(
                    since + timedelta(days=30 * month + rng.randint(0, 29)), time(10), tzinfo=UTC
                )
                session.add(
                    BriefingDownload(
                        briefing_id=version.briefing_id,
                        version_id=version.id,
                        agency_id=agency_id,
                        signed_in=agency_id is not None,
                        at=at,
                    )
                )
                if rng.random() < 0.3:
                    session.add(
                        BriefingFeedback(
                            briefing_id=version.briefing_id,
                            version_id=version.id,
                            useful=rng.random() < 0.8,
                            comment=rng.choice(FEEDBACK_COMMENTS),
                            agency_id=agency_id,
                            signed_in=agency_id is not None,
                            at=at + timedelta(minutes=rng.randint(5, 90)),
                        )
                    )
    session.flush()


def draft_demo_report(
    session: Session,
    *,
    audit: Audit,
    author: Actor,
    settings: Settings | None = None,
) -> int:
    """The deep dive's report to its subgroup, drafted by ``author``: its executive
    summary and decisions as drafted from the figures, its commentary written and its
    small numbers shown as "fewer than N": a draft to submit; returns its version id."""
    settings = settings or get_settings()
    version = workflow.create(
        session,
        audit=audit,
        kind=BriefingKind.SUBGROUP_REPORT,
        title=REPORT_TITLE,
        marking=Marking.OFFICIAL_SENSITIVE,
        public=False,
        actor=author,
        settings=settings,
    )
    workflow.save(
        session,
        version=version,
        sections={"commentary": COMMENTARY},
        marking=Marking.OFFICIAL_SENSITIVE,
        read_lock=version.lock_version,
        actor=author,
    )
    show_small_numbers_as_fewer(session, version=version, settings=settings, actor=author)
    return version.id
