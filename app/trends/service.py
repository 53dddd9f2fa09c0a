"""Trends across audits and years, for a period cut into partnership years or quarters:
what the trends page, its API and spreadsheets, and the inspection-readiness pack show.

``report`` gives every figure in order (app/trends/figures.py ``Figure``): the agencies'
own and moderated grades by level (a figure per grading scale), each agency's
agreement with moderation, themes audited again, findings by theme, learning actions,
briefing downloads, "was this useful?" and the assurance questionnaires.

Which bucket a record falls in (app/trends/periods.py names and cuts them): an audit's
grades and findings by the day its moderation started (a UTC day, as the moderation
analytics counts it, so the two agree for the same dates); a learning action by its
due date; a download or an answer to "was this useful?" by the day it was made, in
England (as a briefing's own counts); an assurance questionnaire by the day it was
sent, in England. Left out, the period is the partnership year before the current
one and the current one to today.

Need to know: the figures count only what the actor may see (an agency-bound reader:
the audits their agency took part in, ``audit_scope``), and counts from 1 to
``threshold`` - 1 are shown only to the partnership-wide roles, or to a reader whose
own agency's they wholly are; otherwise "fewer than N", with other counts hidden so
that none can be worked out from a total (``figures.Viewer``). Grades stay ordinal:
counts and shares by level, never a mean grade.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.access.policy import Actor, audit_scope
from app.agencies.models import Subgroup
from app.audits.models import Audit
from app.errors import FieldError, InvalidInput
from app.formatting import format_date
from app.moderation import analytics
from app.trends import grades, learning, periods, reach
from app.trends.figures import Chart, Column, Figure, Filters, Trends, Value, Viewer, cell_text

__all__ = [
    "Chart",
    "Column",
    "Figure",
    "Filters",
    "Trends",
    "Value",
    "cell_text",
    "choices",
    "report",
    "resolved",
    "texts_of",
]


def resolved(filters: Filters) -> Filters:
    """The filters with the period filled in (see the module's note), or InvalidInput
    naming the field: a period that ends before it starts or is too long, or ``by``
    neither "year" nor "quarter"."""
    if filters.by not in periods.BY:
        raise InvalidInput(
            "Trends are by year or by quarter.",
            fields=[FieldError("by", "Choose by year or by quarter")],
        )
    today = clock.today()
    date_to = filters.date_to or max(today, filters.date_from or today)
    date_from = filters.date_from or periods.default_period(date_to)[0]
    periods.check_period(date_from, date_to)
    return replace(filters, date_from=date_from, date_to=date_to)


def report(
    session: Session, *, actor: Actor, filters: Filters, threshold: int = 5, outside: bool = False
) -> Trends:
    """Every trend figure for the filters, as the actor may see them; ``threshold`` is
    settings.small_count_threshold. ``outside``: for a document read outside every
    agency (the inspection pack), every small count is "fewer than N"."""
    filters = resolved(filters)
    assert filters.date_from is not None and filters.date_to is not None
    buckets = periods.buckets(filters.date_from, filters.date_to, filters.by)
    viewer = Viewer(actor, threshold, outside=outside)
    found = grades.periods(session, actor=actor, filters=filters, buckets=buckets)
    agreement, withheld = grades.agency_figure(viewer, buckets, found)
    a, f, b = actor, filters, buckets
    figures: list[Figure] = [
        *grades.level_figures(viewer, buckets, found, withheld),
        agreement,
        *grades.repeat_figures(session, viewer, actor=a, filters=f),
        learning.findings_figure(session, viewer, actor=a, filters=f, buckets=b),
        learning.actions_figure(
            session, viewer, actor=a, filters=f, buckets=b, today=clock.today()
        ),
        reach.downloads_figure(session, viewer, actor=a, filters=f),
        reach.useful_figure(session, viewer, actor=a, filters=f, buckets=b),
        reach.assurance_figure(session, viewer, actor=a, filters=f, buckets=b),
    ]
    notes = tuple(
        f"{b.label} runs from {format_date(b.start)} to {format_date(b.end)} here: "
        "a part of it only."
        for b in buckets
        if b.partial
    )
    return Trends(
        filters=filters,
        date_from=filters.date_from,
        date_to=filters.date_to,
        buckets=tuple(buckets),
        threshold=threshold,
        figures=tuple(figures),
        notes=notes,
    )


def choices(session: Session, *, actor: Actor) -> dict:
    """What the filters can be set to: the moderation analytics' agencies, templates
    and key areas, and the themes and lead subgroups of the audits the actor may see."""
    found = analytics.choices(session, actor=actor)
    seen = [audit_scope(actor)]
    themes = session.scalars(
        select(Audit.theme)
        .where(Audit.theme != "", *seen)
        .group_by(Audit.theme)
        .order_by(Audit.theme)
    ).all()
    led = select(Audit.id).where(Audit.lead_subgroup_id == Subgroup.id, *seen)
    subgroups = session.execute(
        select(Subgroup.id, Subgroup.name).where(led.exists()).order_by(Subgroup.name)
    ).all()
    return {**found, "themes": list(themes), "subgroups": list(subgroups)}


def texts_of(figure: Figure) -> list[list[str]]:
    """A figure's table as text, head first: what a page or a PDF prints."""
    table = figure.table
    return [[c.text for c in table.head], *([c.text for c in row] for row in table.rows)]
