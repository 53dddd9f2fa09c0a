"""Pages: an audit's findings (list, add, change) and the admin's list of themes."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.policy import Actor, Permission, child_scope
from app.actions.forms import check, ordered, refusal
from app.audit_templates.models import KeyArea
from app.audits import service as audits
from app.audits.models import Audit, Child
from app.deps import FormData, FormLists, IdPath, SessionDep, transactional
from app.errors import Conflict, InvalidInput
from app.findings import service as findings
from app.findings.models import KIND_LABELS
from app.findings.schemas import FindingCreate, FindingPatch, ThemeCreate
from app.forms import attempt, form_context
from app.templating import render

router = APIRouter(include_in_schema=False)

FINDING_FIELDS = ("kind", "statement", "theme_ids", "key_area_id", "agency_id", "child_id")
FINDING_MESSAGES = {
    "kind": "Choose whether this is good practice or an area for improvement",
    "statement": "Enter the finding",
    "theme_ids": "Choose themes from the list",
    "key_area_id": "Choose a key area from the list",
    "agency_id": "Choose an agency from the list",
    "child_id": "Choose a child from the list",
}
FINDING_REFUSALS = {
    "theme_ids": "Choose themes that are still in use",
    "key_area_id": "Choose a key area of this audit's template",
    "agency_id": "Choose an agency taking part in this audit",
    "child_id": "Choose a child in this audit's cohort",
}
FINDING_NOTICES = {"added": "The finding has been added.", "saved": "The finding has been saved."}
Done = Annotated[str, Query(max_length=40)]


def _read_finding(form: dict[str, list[str]]) -> tuple[dict, dict | None, dict[str, str]]:
    """(the values to show again, the service's fields or None, the errors)."""
    values: dict = {key: items[0] for key, items in form.items()}
    values["theme_ids"] = form.get("theme_ids", [])
    data = {
        "kind": values.get("kind") or None,
        "statement": values.get("statement", ""),
        "theme_ids": values["theme_ids"],
        **{k: values.get(k) or None for k in ("key_area_id", "agency_id", "child_id")},
    }
    body, errors = check(FindingCreate, data, FINDING_MESSAGES)
    if body is None:
        return values, None, ordered(errors, FINDING_FIELDS)
    return values, body.model_dump(), {}


def _findings_page(
    session: Session,
    request: Request,
    actor: Actor,
    audit_id: int,
    *,
    template: str = "actions/findings.html",
    finding_id: int | None = None,
    values: dict | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    items = findings.list_findings(session, actor=actor, audit=audit)
    key_areas = session.scalars(
        select(KeyArea)
        .where(KeyArea.template_version_id == audit.template_version_id)
        .order_by(KeyArea.position)
    ).all()
    children = session.scalars(
        select(Child)
        .where(Child.audit_id == audit.id, child_scope(actor))
        .order_by(Child.pseudonym)
    ).all()
    return render(
        request,
        template,
        {
            "audit": audit,
            "findings": items,
            "finding_id": finding_id,
            "linked": findings.action_ids(session, finding_ids=[f.id for f in items]),
            "themes": findings.list_themes(session),
            "key_areas": key_areas,
            "children": children,
            "kinds": KIND_LABELS,
            "may_manage": actor.may(Permission.FINDING_MANAGE),
            "may_act": actor.may(Permission.ACTION_MANAGE),
            "editable": audit.status in findings.FINDINGS_OPEN,
            "notice": FINDING_NOTICES.get(notice, ""),
            **form_context(values or {"theme_ids": []}, errors or {}),
        },
        status_code=status_code,
    )


@router.get("/audits/{audit_id}/findings", name="findings.list")
@transactional
def findings_page(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, done: Done = ""
) -> Response:
    """The audit's findings, and (for moderators) the form to add one."""
    return _findings_page(session, request, actor, audit_id, notice=done)


@router.post("/audits/{audit_id}/findings", name="findings.create")
@transactional
def create_finding(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, form: FormLists
) -> Response:
    audit: Audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    values, data, errors = _read_finding(form)
    again = partial(_findings_page, session, request, actor, audit_id, values=values)
    if data is None:
        return again(errors=errors, status_code=422)
    try:
        with attempt(session):
            finding = findings.create_finding(session, actor=actor, audit=audit, **data)
    except InvalidInput as exc:
        errors = ordered(refusal(exc, FINDING_REFUSALS), FINDING_FIELDS)
        return again(errors=errors, status_code=422)
    return RedirectResponse(
        f"/audits/{audit_id}/findings?done=added#finding-{finding.id}", status_code=303
    )


@router.get("/findings/{finding_id}/edit", name="findings.edit")
@transactional
def edit_finding(
    session: SessionDep, request: Request, actor: Actor, finding_id: IdPath
) -> Response:
    finding = findings.get_finding(session, finding_id=finding_id, actor=actor)
    values = {
        "kind": finding.kind.value,
        "statement": finding.statement,
        "theme_ids": [str(t.id) for t in finding.themes],
        **{k: str(getattr(finding, k) or "") for k in ("key_area_id", "agency_id", "child_id")},
    }
    return _findings_page(
        session,
        request,
        actor,
        finding.audit_id,
        template="actions/finding_edit.html",
        finding_id=finding.id,
        values=values,
    )


@router.post("/findings/{finding_id}/edit", name="findings.save")
@transactional
def save_finding(
    session: SessionDep, request: Request, actor: Actor, finding_id: IdPath, form: FormLists
) -> Response:
    finding = findings.get_finding(session, finding_id=finding_id, actor=actor)
    audit = audits.get_audit(session, audit_id=finding.audit_id, actor=actor)
    values, data, errors = _read_finding(form)
    again = partial(
        _findings_page,
        session,
        request,
        actor,
        audit.id,
        template="actions/finding_edit.html",
        finding_id=finding_id,
        values=values,
    )
    if data is None:
        return again(errors=errors, status_code=422)
    try:
        with attempt(session):
            changes = FindingPatch.model_validate(data).model_dump()
            findings.update_finding(
                session, actor=actor, audit=audit, finding=finding, changes=changes
            )
    except InvalidInput as exc:
        errors = ordered(refusal(exc, FINDING_REFUSALS), FINDING_FIELDS)
        return again(errors=errors, status_code=422)
    return RedirectResponse(
        f"/audits/{audit.id}/findings?done=saved#finding-{finding_id}", status_code=303
    )


# --- themes (admin) -------------------------------------------------------------------

THEME_NOTICES = {
    "added": "The theme has been added.",
    "deactivated": "The theme has been deactivated: findings keep it, but it is no longer offered.",
    "activated": "The theme is in use again.",
}


def _themes_page(
    session: Session,
    request: Request,
    *,
    values: dict | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "actions/themes.html",
        {
            "themes": findings.list_themes(session),
            "notice": THEME_NOTICES.get(notice, ""),
            **form_context(values or {}, errors or {}),
        },
        status_code=status_code,
    )


@router.get("/admin/themes", name="findings.themes")
@transactional
def themes_page(session: SessionDep, request: Request, done: Done = "") -> Response:
    """The themes findings may be tagged with; add one, or stop offering one."""
    return _themes_page(session, request, notice=done)


@router.post("/admin/themes", name="findings.theme_create")
@transactional
def create_theme(session: SessionDep, request: Request, form: FormData) -> Response:
    body, errors = check(ThemeCreate, {"name": form.get("name", "")}, {"name": "Enter the theme"})
    again = partial(_themes_page, session, request, values=form)
    if body is None:
        return again(errors=errors, status_code=422)
    try:
        with attempt(session):
            findings.create_theme(session, name=body.name)
    except Conflict:
        return again(errors={"name": "There is already a theme with this name"}, status_code=409)
    return RedirectResponse("/admin/themes?done=added", status_code=303)


@router.post("/admin/themes/{theme_id}/deactivate", name="findings.theme_deactivate")
@transactional
def deactivate_theme(session: SessionDep, theme_id: IdPath) -> Response:
    theme = findings.get_theme(session, theme_id=theme_id)
    findings.update_theme(session, theme=theme, changes={"active": False})
    return RedirectResponse("/admin/themes?done=deactivated", status_code=303)


@router.post("/admin/themes/{theme_id}/activate", name="findings.theme_activate")
@transactional
def activate_theme(session: SessionDep, theme_id: IdPath) -> Response:
    theme = findings.get_theme(session, theme_id=theme_id)
    findings.update_theme(session, theme=theme, changes={"active": True})
    return RedirectResponse("/admin/themes?done=activated", status_code=303)
