"""Pages: an audit's findings (searched, filtered by kind and theme and sorted, the
choices kept in the address; add, change) and the admin's list of themes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.policy import Actor, Permission, child_scope
from app.audit_templates.models import KeyArea, SectionKind
from app.audits import service as audits
from app.audits.models import Audit, Child
from app.deps import FilterId, IdPath, PostedForm, SessionDep, transactional
from app.findings import service as findings
from app.findings.models import KIND_LABELS, FindingKind
from app.findings.schemas import FindingCreate, FindingPatch, ThemeCreate
from app.forms import Form, FormInvalid, FormState
from app.identify import entry
from app.templating import flash, redirect, render, sort_heads

router = APIRouter(include_in_schema=False)

FINDING = Form(
    FindingCreate,
    fields=(
        "kind",
        "statement",
        "theme_ids",
        "key_area_id",
        "agency_id",
        "child_id",
        entry.CONFIRM_FIELD,
    ),
    lists=frozenset({"theme_ids"}),
    messages={
        "kind": "Choose whether this is good practice or an area for improvement",
        "statement": "Enter the finding",
        ("statement", "string_too_long"): "The finding must be 2,000 characters or fewer",
        ("statement", "invalid"): "The finding must not contain control characters",
        "theme_ids": "Choose themes from the list",
        "key_area_id": "Choose a key area from the list",
        "agency_id": "Choose an agency from the list",
        "child_id": "Choose a child from the list",
    },
    refusals={
        "theme_ids": "Choose themes that are still in use",
        "key_area_id": "Choose a key area of this audit's template",
        "agency_id": "Choose an agency taking part in this audit",
        "child_id": "Choose a child in this audit's cohort",
    },
)
Word = Annotated[str, Query(max_length=40)]
Search = Annotated[str, Query(max_length=200)]
COLUMNS = (
    ("Finding", "id"),
    ("Kind", "kind"),
    ("What was found", "statement"),
    ("Themes", None),
    ("About", None),
    ("Learning actions", None),
)
# The filters' ids on the page: the form to add a finding has its own "kind".
FILTER_IDS = {"kind": "filter-kind", "theme_id": "filter-theme"}
NO_FILTERS: dict[str, str | int | None] = {}

THEME = Form(
    ThemeCreate,
    fields=("name",),
    messages={"name": "Enter the theme"},
    refusals={"name": "There is already a theme with this name"},
)


def _findings_page(
    session: Session,
    request: Request,
    actor: Actor,
    audit_id: int,
    *,
    template: str = "findings/list.html",
    finding_id: int | None = None,
    form: FormState | None = None,
    status_code: int = 200,
    chosen: dict[str, str | int | None] = NO_FILTERS,
) -> Response:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    themes = findings.list_themes(session)
    kind, theme_id = str(chosen.get("kind") or ""), chosen.get("theme_id")
    q, sort = str(chosen.get("q") or ""), str(chosen.get("sort") or "")
    kinds = {k.value: k for k in FindingKind}
    errors: dict[str, str] = {}
    if kind and kind not in kinds:
        errors[FILTER_IDS["kind"]] = "Choose a kind of finding from the list"
    if theme_id is not None and theme_id not in {t.id for t in themes}:
        errors[FILTER_IDS["theme_id"]] = "Choose a theme from the list"
    if sort and sort.removeprefix("-") not in findings.FINDING_SORTS:
        errors["sort"] = "Sort by one of the table's columns"
    items = []
    if not errors:
        items = findings.list_findings(
            session,
            actor=actor,
            audit=audit,
            kind=kinds.get(kind),
            theme_id=theme_id if isinstance(theme_id, int) else None,
            q=q.strip() or None,
            sort=sort or "kind",
        )
    filters = {"kind": kind, "theme_id": theme_id, "q": q}
    filtered = any(filters.values())
    key_areas = session.scalars(
        select(KeyArea)
        .where(
            KeyArea.template_version_id == audit.template_version_id,
            KeyArea.kind == SectionKind.KEY_AREA,
        )
        .order_by(KeyArea.position)
    ).all()
    children = session.scalars(
        select(Child)
        .where(Child.audit_id == audit.id, child_scope(actor))
        .order_by(Child.pseudonym)
    ).all()
    form = form or FINDING.state()
    shown = {FILTER_IDS.get(k, k): "" if v is None else str(v) for k, v in filters.items()}
    return render(
        request,
        template,
        {
            "audit": audit,
            "findings": items,
            "total": findings.count_findings(session, actor=actor, audit=audit)
            if filtered
            else len(items),
            "filtered": filtered,
            "sort": "" if "sort" in errors else sort,
            "head": sort_heads(
                request,
                "findings.list",
                columns=COLUMNS,
                sort=sort,
                query=filters,
                audit_id=audit.id,
            ),
            "finding_id": finding_id,
            "linked": findings.action_ids(session, finding_ids=[f.id for f in items]),
            "themes": themes,
            "key_areas": key_areas,
            "children": children,
            "kinds": list(KIND_LABELS.items()),
            "kind_labels": KIND_LABELS,
            "may_manage": actor.may(Permission.FINDING_MANAGE),
            "may_act": actor.may(Permission.ACTION_MANAGE),
            "editable": audit.status in findings.FINDINGS_OPEN,
            "form": FormState(
                values={**form.values, **shown},
                errors={**errors, **form.errors},
                anchors={**form.anchors, "sort": "#findings"},
                listed=form.listed,
            ),
        },
        status_code=422 if errors else status_code,
    )


@router.get("/audits/{audit_id}/findings", name="findings.list")
@transactional
def findings_page(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    kind: Word = "",
    theme_id: FilterId = None,
    q: Search = "",
    sort: Word = "",
) -> Response:
    """The audit's findings, searched by their words, filtered by kind and theme and
    sorted by a column (a GET form and links: the address keeps the choices); and
    (for moderators) the form to add one."""
    chosen = {"kind": kind, "theme_id": theme_id, "q": q, "sort": sort}
    return _findings_page(session, request, actor, audit_id, chosen=chosen)


@router.post("/audits/{audit_id}/findings", name="findings.create")
@transactional
def create_finding(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, posted: PostedForm
) -> Response:
    audit: Audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    try:
        body = FINDING.read(posted)
        with FINDING.submitting(session, posted):
            finding = findings.create_finding(
                session, actor=actor, audit=audit, **body.model_dump()
            )
    except FormInvalid as invalid:
        return _findings_page(
            session, request, actor, audit_id, form=invalid.state(), status_code=422
        )
    flash("The finding has been added.")
    return redirect(request, "findings.list", audit_id=audit_id, anchor=f"finding-{finding.id}")


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
        template="findings/edit.html",
        finding_id=finding.id,
        form=FINDING.state(values),
    )


@router.post("/findings/{finding_id}/edit", name="findings.save")
@transactional
def save_finding(
    session: SessionDep, request: Request, actor: Actor, finding_id: IdPath, posted: PostedForm
) -> Response:
    finding = findings.get_finding(session, finding_id=finding_id, actor=actor)
    audit = audits.get_audit(session, audit_id=finding.audit_id, actor=actor)
    try:
        body = FINDING.read(posted)
        changes = FindingPatch.model_validate(body.model_dump()).model_dump()
        confirmed = changes.pop(entry.CONFIRM_FIELD)
        with FINDING.submitting(session, posted):
            findings.update_finding(
                session,
                actor=actor,
                audit=audit,
                finding=finding,
                changes=changes,
                confirm_identifying=confirmed,
            )
    except FormInvalid as invalid:
        return _findings_page(
            session,
            request,
            actor,
            audit.id,
            template="findings/edit.html",
            finding_id=finding_id,
            form=invalid.state(),
            status_code=422,
        )
    flash("The finding has been saved.")
    return redirect(request, "findings.list", audit_id=audit.id, anchor=f"finding-{finding_id}")


# --- themes (admin) -------------------------------------------------------------------


def _themes_page(
    session: Session, request: Request, *, form: FormState | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "findings/themes.html",
        {"themes": findings.list_themes(session), "form": form or THEME.state()},
        status_code=status_code,
    )


@router.get("/admin/themes", name="findings.themes")
@transactional
def themes_page(session: SessionDep, request: Request) -> Response:
    """The themes findings may be tagged with; add one, or stop offering one."""
    return _themes_page(session, request)


@router.post("/admin/themes", name="findings.theme_create")
@transactional
def create_theme(session: SessionDep, request: Request, posted: PostedForm) -> Response:
    try:
        body = THEME.read(posted)
        with THEME.submitting(session, posted):
            findings.create_theme(session, name=body.name)
    except FormInvalid as invalid:
        return _themes_page(session, request, form=invalid.state(), status_code=invalid.status_code)
    flash("The theme has been added.")
    return redirect(request, "findings.themes")


@router.post("/admin/themes/{theme_id}/deactivate", name="findings.theme_deactivate")
@transactional
def deactivate_theme(session: SessionDep, request: Request, theme_id: IdPath) -> Response:
    theme = findings.get_theme(session, theme_id=theme_id)
    findings.update_theme(session, theme=theme, changes={"active": False})
    flash("The theme has been deactivated: findings keep it, but it is no longer offered.")
    return redirect(request, "findings.themes")


@router.post("/admin/themes/{theme_id}/activate", name="findings.theme_activate")
@transactional
def activate_theme(session: SessionDep, request: Request, theme_id: IdPath) -> Response:
    theme = findings.get_theme(session, theme_id=theme_id)
    findings.update_theme(session, theme=theme, changes={"active": True})
    flash("The theme is in use again.")
    return redirect(request, "findings.themes")
