"""Moderation request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

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
