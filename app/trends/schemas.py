"""Trends response models."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from app.schemas_base import ResponseModel

# A figure's plain value: a count, a share from 0 to 1, a share's interval [low, high],
# a date (YYYY-MM-DD) or text (a label, or a count not shown: "fewer than 5").
TrendValue = int | float | list[float] | str | None


class TrendColumn(ResponseModel):
    heading: str
    kind: Literal["text", "count", "share", "interval", "date", "mixed"] = Field(
        description="How to read the column's values: a count; a share from 0 to 1; a "
        "share's 95% interval as [low, high]; a date; text; or several of these, each "
        "read by its type (a whole number a count, any other number a share)."
    )


class TrendTable(ResponseModel):
    """The figure's table as a page or a printed document words it."""

    caption: str
    head: list[str]
    rows: list[list[str]] = Field(description="Each row's first cell is its header.")
    notes: list[str]


class TrendChart(ResponseModel):
    """The data the page's chart draws (the table holds the same and more)."""

    kind: Literal["grouped_bars", "stacked_bars", "interval_dots"]
    title: str
    categories: list[str] = Field(
        description="grouped_bars: the groups along the axis; stacked_bars: the levels."
    )
    series: list[dict] = Field(description='grouped_bars: [{"name", "values"}].')
    rows: list[dict] = Field(
        description='stacked_bars: [{"label", "values", "n"}]; interval_dots: '
        '[{"label", "estimate", "low", "high", "n"}].'
    )


class TrendFigure(ResponseModel):
    key: str = Field(
        description="A stable name: grades (grades-<scale> for a second scale), agreement, "
        "repeat-themes, findings, actions, downloads, useful, assurance."
    )
    heading: str
    headline: str = Field(description="One plain sentence: what the figure shows.")
    columns: list[TrendColumn]
    rows: list[list[TrendValue]] = Field(description="Plain values, in the columns' order.")
    table: TrendTable
    chart: TrendChart | None
    suppressed: bool = Field(
        description='Whether some count is shown as "fewer than N" or "not shown": a small '
        "count, or one that would give a small count away, for a reader outside the "
        "partnership-wide roles."
    )


class TrendPeriod(ResponseModel):
    label: str = Field(description='"2025-26" (April to March), or "Apr-Jun 2026".')
    start: date
    end: date
    partial: bool = Field(description="The period asked for starts or ends inside it.")


class TrendsOut(ResponseModel):
    date_from: date
    date_to: date
    by: Literal["year", "quarter"]
    threshold: int = Field(description="The small-count threshold.")
    periods: list[TrendPeriod]
    notes: list[str]
    figures: list[TrendFigure]
