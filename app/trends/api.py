"""Trends across audits and years over JSON, and as XLSX and CSV."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from app.access.policy import Actor
from app.deps import IdQuery, SessionDep, transactional
from app.schemas_base import WrittenDate
from app.trends import export, service
from app.trends.figures import Figure, Filters, Trends
from app.trends.schemas import TrendsOut

router = APIRouter(prefix="/api/v1", tags=["trends"])

Words = Annotated[str | None, Query(max_length=200)]


async def trend_filters(  # async: parsing only
    date_from: Annotated[
        WrittenDate | None,
        Query(description="The period's first day; the start of last year (April) if left out."),
    ] = None,
    date_to: Annotated[
        WrittenDate | None, Query(description="The period's last day; today if left out.")
    ] = None,
    by: Annotated[
        Literal["year", "quarter"],
        Query(description="Partnership years (April to March) or their quarters."),
    ] = "year",
    agency_id: Annotated[IdQuery, Query(description="One agency's grades and records.")] = None,
    theme: Annotated[Words, Query(description="The audits' theme, as written.")] = None,
    subgroup_id: Annotated[IdQuery, Query(description="The audits' lead subgroup.")] = None,
    template_id: Annotated[IdQuery, Query(description="A template (every version).")] = None,
    key_area: Annotated[
        Words, Query(description='A key area\'s title, or "overall" for the overall grade.')
    ] = None,
) -> Filters:
    return Filters(
        date_from,
        date_to,
        by,
        agency_id,
        (theme or "").strip() or None,
        subgroup_id,
        template_id,
        (key_area or "").strip() or None,
    )


TrendFilters = Annotated[Filters, Depends(trend_filters)]


def _report(session, request: Request, actor: Actor, filters: Filters) -> Trends:
    threshold = request.app.state.settings.small_count_threshold
    return service.report(session, actor=actor, filters=filters, threshold=threshold)


def _plain(value):
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _figure_out(figure: Figure) -> dict:
    chart = figure.chart
    return {
        "key": figure.key,
        "heading": figure.heading,
        "headline": figure.headline,
        "columns": [{"heading": c.heading, "kind": c.kind} for c in figure.columns],
        "rows": [[_plain(v) for v in row] for row in figure.rows],
        "table": {
            "caption": figure.table.caption,
            "head": [c.text for c in figure.table.head],
            "rows": [[c.text for c in row] for row in figure.table.rows],
            "notes": list(figure.table.notes),
        },
        "chart": None
        if chart is None
        else {
            "kind": chart.kind,
            "title": chart.title,
            "categories": list(chart.categories),
            "series": list(chart.series),
            "rows": list(chart.rows),
        },
        "suppressed": figure.suppressed,
    }


@router.get("/trends", name="api.trends.report", response_model=TrendsOut)
@transactional
def trends(session: SessionDep, request: Request, actor: Actor, filters: TrendFilters) -> dict:
    """Trends across audits and years, every figure in order: each with its headline
    sentence, its columns and plain values, the same as a worded table, and its
    chart's data. Grades are counted by level, never averaged. Only audits the caller
    may see count; a count from 1 to the small-count threshold less one that is not
    wholly the caller's own agency's is "fewer than N" (others "not shown" with it) for
    callers outside the partnership-wide roles. A period that ends before it starts,
    or is longer than ten years, is a 422."""
    found = _report(session, request, actor, filters)
    return {
        "date_from": found.date_from,
        "date_to": found.date_to,
        "by": found.filters.by,
        "threshold": found.threshold,
        "periods": [
            {"label": b.label, "start": b.start, "end": b.end, "partial": b.partial}
            for b in found.buckets
        ],
        "notes": list(found.notes),
        "figures": [_figure_out(f) for f in found.figures],
    }


def _download(content: bytes, media_type: str, name: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/trends.xlsx",
    name="api.trends.xlsx",
    response_class=Response,
    responses={200: {"content": {export.XLSX: {}}}},
)
@transactional
def trends_xlsx(
    session: SessionDep, request: Request, actor: Actor, filters: TrendFilters
) -> Response:
    """The trend figures as an Excel workbook: a sheet saying what they cover, then a
    sheet per figure with typed numbers (the same filters, the same rows)."""
    found = _report(session, request, actor, filters)
    return _download(export.to_xlsx(found), export.XLSX, export.filename(found, "xlsx"))


@router.get(
    "/trends.csv",
    name="api.trends.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
@transactional
def trends_csv(
    session: SessionDep, request: Request, actor: Actor, filters: TrendFilters
) -> Response:
    """The trend figures as CSV (UTF-8 with a BOM, for Excel): each figure's rows with
    its header row, a "Figure" column first."""
    found = _report(session, request, actor, filters)
    return _download(export.to_csv(found), export.CSV, export.filename(found, "csv"))
