"""Findings and themes: request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from app.findings.models import FindingKind
from app.identify.schemas import ConfirmIdentifying
from app.schemas_base import Id, OneLine, PlainText, RequestModel, ResponseModel, reject_null

ThemeName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), OneLine
]
Statement = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), PlainText
]
ThemeIds = Annotated[list[Id], Field(max_length=20)]


# --- themes ---------------------------------------------------------------------------


class ThemeCreate(RequestModel):
    name: ThemeName


class ThemePatch(RequestModel):
    name: ThemeName | None = None
    active: bool | None = None

    _not_null = reject_null("name", "active")


class ThemeOut(ResponseModel):
    id: int
    name: str
    active: bool


# --- findings -------------------------------------------------------------------------


class FindingCreate(RequestModel):
    kind: FindingKind
    statement: Statement
    theme_ids: ThemeIds = Field(default_factory=list)
    key_area_id: Id | None = Field(None, description="A key area of the audit's template.")
    agency_id: Id | None = Field(None, description="An agency taking part in the audit.")
    child_id: Id | None = Field(None, description="A child of the audit's cohort.")
    confirm_identifying: ConfirmIdentifying = False


class FindingPatch(RequestModel):
    kind: FindingKind | None = None
    statement: Statement | None = None
    theme_ids: ThemeIds | None = None
    key_area_id: Id | None = None
    agency_id: Id | None = None
    child_id: Id | None = None
    confirm_identifying: ConfirmIdentifying = False

    _not_null = reject_null("kind", "statement", "theme_ids")


class KeyAreaRef(ResponseModel):
    id: int
    title: str


class NamedRef(ResponseModel):
    id: int
    name: str


class ChildRef(ResponseModel):
    id: int
    pseudonym: str


class FindingOut(ResponseModel):
    id: int
    audit_id: int
    kind: FindingKind
    statement: str
    themes: list[ThemeOut]
    key_area: KeyAreaRef | None
    agency: NamedRef | None
    child: ChildRef | None
    created_by_label: str
    created_at: datetime
    updated_at: datetime
    action_ids: list[int]
