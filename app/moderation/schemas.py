"""Moderation request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from app.audits.models import AuditStatus
from app.identify.schemas import ConfirmIdentifying
from app.returns.models import ReturnStatus
from app.schemas_base import Id, LongText, OneLine, RequestModel, ResponseModel

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=8), OneLine]


class DecisionIn(RequestModel):
    return_id: Id
    key_area_id: Id | None = Field(default=None, description="None: the overall grade.")
    level: Code = Field(description="The moderated grade's code on the template's scale.")
    rationale: LongText = Field(default="", description="Required when the grade changes.")
    confirm_identifying: ConfirmIdentifying = False


class AreaOut(ResponseModel):
    key_area_id: int | None
    title: str


class GridChild(ResponseModel):
    id: int
    pseudonym: str
    moderated: bool


class GridAgency(ResponseModel):
    id: int
    name: str


class CellOut(ResponseModel):
    child_id: int
    agency_id: int
    return_id: int
    return_status: ReturnStatus
    key_area_id: int | None
    self_grade: str | None
    moderated_grade: str | None
    state: str
    rationale: str | None
    decided_by: str | None
    decided_at: datetime | None


class GridOut(ResponseModel):
    audit_id: int
    status: AuditStatus
    scale: list[str] = Field(description="The level codes, best first.")
    areas: list[AreaOut]
    children: list[GridChild]
    agencies: list[GridAgency]
    cells: list[CellOut]
    counts: dict[str, int]


class DecisionOut(ResponseModel):
    id: int
    return_id: int
    key_area_id: int | None
    self_grade: str | None
    moderated_grade: str
    shift: int | None
    rationale: str
    decided_by: str
    decided_at: datetime
    superseded_at: datetime | None


class ReasonIn(RequestModel):
    reason: LongText = Field(description="Why: recorded in the audit log and shown in reports.")


class ExclusionOut(ResponseModel):
    return_id: int
    status: ReturnStatus
    excluded: bool
    excluded_at: datetime | None
    reason: str = Field(description="Why it was left out (empty when it is included).")


# --- analytics (GET /api/v1/moderation/analytics): the shape of analytics.report ---------
#
# Each model forbids what it does not declare: the report is a plain dict, and a key
# added there without being added here fails loudly rather than vanishing from the answer.

Interval = Annotated[list[float], Field(min_length=2, max_length=2)]


class _Figures(ResponseModel):
    model_config = ConfigDict(extra="forbid")


class Proportion(_Figures):
    count: int
    n: int
    estimate: float | None = Field(description="count / n; None when n is 0.")
    ci: Interval | None = Field(description="The 95% Wilson interval, [low, high].")


class Shifts(_Figures):
    """Moves made by moderation: ``raised``, a better grade than the agency's own;
    ``lowered``, a worse one. ``mean_shift``: the mean of moderated minus own position
    (positive: own grades were generous)."""

    n: int
    changed: Proportion
    raised: Proportion
    lowered: Proportion
    mean_shift: float | None
    sd: float | None
    mean_shift_ci: Interval | None


class Distribution(_Figures):
    n: int
    counts: list[int] = Field(description="How many grades at each level, best first.")


class Coefficient(_Figures):
    """A chance-corrected agreement coefficient, with its Landis and Koch reading."""

    name: str
    weights: str
    n: int
    estimate: float | None = Field(description="None when undefined; ``note`` says why.")
    se: float | None
    ci: Interval | None
    observed: float | None
    expected: float | None
    note: str | None
    band: str | None = Field(description="Landis and Koch's word: poor, slight ... almost perfect.")
    reading: str = Field(description="The figure and its band in words, or why there is none.")


class AnalyticsRow(_Figures):
    """A row's figures: the whole set, an agency's grades or a key area's."""

    label: str
    suppressed: Literal[False]
    n: int
    k: int = Field(description="The number of levels on the scale.")
    agreement: Proportion
    shifts: Shifts
    self_distribution: Distribution
    moderated_distribution: Distribution
    weighted_kappa: Coefficient
    kappa: Coefficient
    ac1: Coefficient
    ac2: Coefficient
    confidence: float


class SuppressedRow(_Figures):
    """A row not shown: too few grades ("fewer than N"), or it would give a small
    count away ("not shown")."""

    label: str
    suppressed: Literal[True]
    n: None
    shown_as: str


class OverallGradeRow(AnalyticsRow):
    """The overall grade's row, last in the key areas' breakdown."""

    overall: Literal[True]


class SuppressedOverallGradeRow(SuppressedRow):
    """The overall grade's row, not shown."""

    overall: Literal[True]


Row = AnalyticsRow | SuppressedRow
# The overall grade's variants first: a client that tries each in turn reads ``overall``.
KeyAreaRow = OverallGradeRow | SuppressedOverallGradeRow | AnalyticsRow | SuppressedRow


class AnalyticsGroup(_Figures):
    """The figures on one grading scale (scales are never pooled)."""

    scale: str
    levels: list[str] = Field(description="The scale's level labels, best first.")
    audits: int
    overall: Row = Field(description="All grades on this scale (the overall grade apart).")
    by_agency: list[Row]
    by_key_area: list[KeyAreaRow] = Field(
        description="In the template's order; the overall grade last (``overall``: true)."
    )


class AnalyticsOut(_Figures):
    pairs: int = Field(description="How many self-grade and moderated-grade pairs.")
    weights: Literal["quadratic", "linear"]
    threshold: int = Field(description="The small-count threshold.")
    headlines: list[str]
    explanation: str
    groups: list[AnalyticsGroup] = Field(description="The largest group first.")
