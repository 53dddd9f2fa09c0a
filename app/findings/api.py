"""Findings and the themes they are tagged with, over JSON."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from app.access.policy import Actor
from app.audits import service as audits
from app.deps import IdPath, SessionDep, transactional
from app.findings import service as findings
from app.findings.models import Finding
from app.findings.schemas import (
    FindingCreate,
    FindingOut,
    FindingPatch,
    ThemeCreate,
    ThemeOut,
    ThemePatch,
)
from app.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1", tags=["findings and learning actions"])


# --- themes ---------------------------------------------------------------------------


@router.get("/themes", name="api.themes.list")
@transactional
def list_themes(session: SessionDep, params: PageDep, active: bool | None = None) -> Page[ThemeOut]:
    items = findings.list_themes(session, active=active)
    page = items[params.offset : params.offset + params.per_page]
    return Page[ThemeOut].build(page, len(items), params)


@router.post("/themes", name="api.themes.create", status_code=status.HTTP_201_CREATED)
@transactional
def create_theme(session: SessionDep, body: ThemeCreate) -> ThemeOut:
    return ThemeOut.model_validate(findings.create_theme(session, name=body.name))


@router.patch("/themes/{theme_id}", name="api.themes.update")
@transactional
def update_theme(session: SessionDep, theme_id: IdPath, body: ThemePatch) -> ThemeOut:
    theme = findings.get_theme(session, theme_id=theme_id)
    changes = body.model_dump(exclude_unset=True)
    return ThemeOut.model_validate(findings.update_theme(session, theme=theme, changes=changes))


# --- findings -------------------------------------------------------------------------


def _finding_out(session: Session, finding: Finding) -> FindingOut:
    linked = findings.action_ids(session, finding_ids=[finding.id])
    return FindingOut.model_validate({**_finding_dict(finding), "action_ids": linked[finding.id]})


def _finding_dict(finding: Finding) -> dict:
    return {
        "id": finding.id,
        "audit_id": finding.audit_id,
        "kind": finding.kind,
        "statement": finding.statement,
        "themes": finding.themes,
        "key_area": finding.key_area,
        "agency": finding.agency,
        "child": finding.child,
        "created_by_label": finding.created_by_label,
        "created_at": finding.created_at,
        "updated_at": finding.updated_at,
    }


@router.get("/audits/{audit_id}/findings", name="api.findings.list")
@transactional
def list_findings(
    session: SessionDep, actor: Actor, audit_id: IdPath, params: PageDep
) -> Page[FindingOut]:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor, options=())
    items = findings.list_findings(session, actor=actor, audit=audit)
    page = items[params.offset : params.offset + params.per_page]
    linked = findings.action_ids(session, finding_ids=[f.id for f in page])
    out = [
        FindingOut.model_validate({**_finding_dict(f), "action_ids": linked.get(f.id, [])})
        for f in page
    ]
    return Page[FindingOut].build(out, len(items), params)


@router.post(
    "/audits/{audit_id}/findings", name="api.findings.create", status_code=status.HTTP_201_CREATED
)
@transactional
def create_finding(
    session: SessionDep, actor: Actor, audit_id: IdPath, body: FindingCreate
) -> FindingOut:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor, options=audits.WITH_AGENCIES)
    finding = findings.create_finding(session, actor=actor, audit=audit, **body.model_dump())
    return _finding_out(session, finding)


@router.get("/findings/{finding_id}", name="api.findings.get")
@transactional
def get_finding(session: SessionDep, actor: Actor, finding_id: IdPath) -> FindingOut:
    return _finding_out(session, findings.get_finding(session, finding_id=finding_id, actor=actor))


@router.patch("/findings/{finding_id}", name="api.findings.update")
@transactional
def update_finding(
    session: SessionDep, actor: Actor, finding_id: IdPath, body: FindingPatch
) -> FindingOut:
    finding = findings.get_finding(session, finding_id=finding_id, actor=actor)
    audit = audits.get_audit(
        session, audit_id=finding.audit_id, actor=actor, options=audits.WITH_AGENCIES
    )
    changes = body.model_dump(exclude_unset=True)
    confirmed = changes.pop("confirm_identifying", False)
    finding = findings.update_finding(
        session,
        actor=actor,
        audit=audit,
        finding=finding,
        changes=changes,
        confirm_identifying=confirmed,
    )
    return _finding_out(session, finding)
