"""Briefing pages: the editors' list, drafting a briefing from a moderated audit, the
editor (sections, the identification check, submit, approve, publish, withdraw, new
version) and an HTML preview of the document."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from app.access.policy import Actor, Permission
from app.audits import service as audits
from app.audits.models import AuditStatus
from app.briefings import service, workflow
from app.briefings.models import BriefingKind, Marking, VersionStatus
from app.deps import FormData, IdPath, SessionDep, transactional
from app.errors import Conflict, InvalidInput
from app.forms import attempt, errors_from, form_context
from app.middleware import PREVIEW_CSP
from app.pagination import PageParams
from app.templating import render

router = APIRouter(include_in_schema=False)

DONE = {
    "created": "The briefing has been drafted from the audit. Check and edit each section.",
    "saved": "Your changes have been saved.",
    "submitted": "The briefing has been submitted for approval.",
    "approved": "The briefing has been approved. It can now be published.",
    "sent_back": "The briefing has been sent back to draft.",
    "publishing": "The briefing is being published: its PDF is being made. Refresh this page "
    "to see when it is ready.",
    "withdrawn": "The briefing has been withdrawn.",
    "new_version": "A new draft version has been started from the published one.",
}
KINDS = {
    BriefingKind.BRIEFING: "Learning briefing for practitioners (7 minute briefing)",
    BriefingKind.SUBGROUP_REPORT: "Report for a subgroup",
}
MARKINGS = {
    Marking.OFFICIAL: "OFFICIAL",
    Marking.OFFICIAL_SENSITIVE: "OFFICIAL-SENSITIVE",
}


def _settings(request: Request):
    return request.app.state.settings


def _to_version(version_id: int, done: str) -> RedirectResponse:
    return RedirectResponse(f"/briefings/versions/{version_id}?done={done}", status_code=303)


# --- the editors' list and a new briefing ------------------------------------------------


def _moderated_audits(session, actor: Actor) -> list:
    found = []
    for status in workflow.MODERATED:
        items, _ = audits.list_audits(
            session, actor=actor, params=PageParams(1, 200), status=status
        )
        found += items
    return found


@router.get("/briefings", name="briefings.list")
@transactional
def briefings(session: SessionDep, request: Request, actor: Actor) -> Response:
    return render(
        request,
        "briefings/list.html",
        {
            "versions": service.latest_versions(session),
            "moderated": _moderated_audits(session, actor),
        },
    )


def _new_page(request, audit, values, errors, status_code=200) -> Response:
    return render(
        request,
        "briefings/new.html",
        {"audit": audit, "kinds": KINDS, "markings": MARKINGS, **form_context(values, errors)},
        status_code=status_code,
    )


@router.get("/audits/{audit_id}/briefings/new", name="briefings.new")
@transactional
def new_briefing(session: SessionDep, request: Request, actor: Actor, audit_id: IdPath):
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    values = {
        "kind": BriefingKind.BRIEFING.value,
        "title": f"Learning from {audit.title}"[:200],
        "marking": Marking.OFFICIAL.value,
        "public": "no",
    }
    return _new_page(request, audit, values, {})


@router.post("/audits/{audit_id}/briefings/new", name="briefings.create")
@transactional
def create_briefing(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, form: FormData
):
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    errors = {}
    title = form.get("title", "").strip()
    if not title or len(title) > 200 or "\n" in title:
        errors["title"] = "Enter a title of up to 200 characters"
    if form.get("kind") not in {k.value for k in BriefingKind}:
        errors["kind"] = "Choose what kind of document it is"
    if form.get("marking") not in {m.value for m in Marking}:
        errors["marking"] = "Choose the protective marking"
    if form.get("public") not in ("yes", "no"):
        errors["public"] = "Choose whether anyone may read it without signing in"
    if audit.status not in (AuditStatus.LEARNING, AuditStatus.CLOSED):
        errors["kind"] = "Briefings are drafted from a moderated audit: finish moderation first"
    if errors:
        return _new_page(request, audit, form, errors, 422)
    version = workflow.create(
        session,
        audit=audit,
        kind=BriefingKind(form["kind"]),
        title=title,
        marking=Marking(form["marking"]),
        public=form["public"] == "yes",
    )
    return _to_version(version.id, "created")


# --- the editor ------------------------------------------------------------------------


def _editor(
    request,
    session,
    actor: Actor,
    version,
    *,
    done="",
    values=None,
    errors=None,
    status=200,
    problems=None,
    headline="",
) -> Response:
    """The editor; ``problems`` (every one the check found) replace the error summary."""
    headings = service.section_headings(version.briefing.kind)
    values = values if values is not None else {**version.sections, "marking": version.marking}
    return render(
        request,
        "briefings/editor.html",
        {
            "version": version,
            "briefing": version.briefing,
            "headings": headings,
            "markings": MARKINGS,
            "editable": version.status == VersionStatus.DRAFT,
            "may_approve": actor.may(Permission.BRIEFING_APPROVE),
            "done": DONE.get(done, ""),
            "newer": [v for v in version.briefing.versions if v.number > version.number],
            **form_context(values, errors or {}, {"document": "check"}),
            **(
                {
                    "errors": [{"text": p, "href": "#check"} for p in problems],
                    "check_headline": headline,
                    "needs_confirmation": "confirm_small_counts" in (errors or {}),
                }
                if problems
                else {}
            ),
        },
        status_code=status,
    )


@router.get("/briefings/versions/{version_id}", name="briefings.editor")
@transactional
def editor(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, done: str = ""
) -> Response:
    version = service.get_version(session, version_id=version_id)
    return _editor(request, session, actor, version, done=done)


@router.post("/briefings/versions/{version_id}", name="briefings.save")
@transactional
def save(session: SessionDep, request: Request, actor: Actor, version_id: IdPath, form: FormData):
    version = service.get_version(session, version_id=version_id)
    headings = service.section_headings(version.briefing.kind)
    sections = {k: form.get(k, "") for k in headings}
    errors = {
        k: "Keep each section under 20,000 characters"
        for k, t in sections.items()
        if len(t) > 20_000
    }
    if form.get("marking") not in {m.value for m in Marking}:
        errors["marking"] = "Choose the protective marking"
    lock_text = form.get("lock_version", "")
    read_lock = int(lock_text) if lock_text.isdigit() and len(lock_text) < 10 else -1
    if errors:
        return _editor(request, session, actor, version, values=form, errors=errors, status=422)
    try:
        with attempt(session):
            workflow.save(
                session,
                version=version,
                sections=sections,
                marking=Marking(form["marking"]),
                read_lock=read_lock,
            )
    except Conflict as exc:
        version = service.get_version(session, version_id=version_id)
        errors = {"document": exc.message}
        return _editor(request, session, actor, version, values=form, errors=errors, status=409)
    then = form.get("then", "")
    if then == "submit":
        return _step(request, session, actor, version_id, "submit", form)
    return _to_version(version_id, "saved")


def _step(request, session, actor, version_id: int, step: str, form: dict) -> Response:
    version = service.get_version(session, version_id=version_id)
    settings = _settings(request)
    confirm = form.get("confirm_small_counts") == "yes"
    try:
        with attempt(session):
            if step == "submit":
                workflow.submit(
                    session,
                    version=version,
                    actor=actor,
                    settings=settings,
                    confirm_small_counts=confirm,
                )
            elif step == "approve":
                workflow.approve(
                    session,
                    version=version,
                    actor=actor,
                    settings=settings,
                    confirm_small_counts=confirm,
                )
    except InvalidInput as exc:
        version = service.get_version(session, version_id=version_id)
        errors = errors_from(exc.fields, {})
        # Every problem the check found, not only the first per field.
        problems = [f.message for f in exc.fields]
        return _editor(
            request,
            session,
            actor,
            version,
            errors=errors,
            status=422,
            problems=problems,
            headline=exc.message,
        )
    return _to_version(version_id, {"submit": "submitted", "approve": "approved"}[step])


@router.post("/briefings/versions/{version_id}/submit", name="briefings.submit")
@transactional
def submit(session: SessionDep, request: Request, actor: Actor, version_id: IdPath, form: FormData):
    return _step(request, session, actor, version_id, "submit", form)


@router.post("/briefings/versions/{version_id}/approve", name="briefings.approve")
@transactional
def approve(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, form: FormData
):
    return _step(request, session, actor, version_id, "approve", form)


@router.post("/briefings/versions/{version_id}/send-back", name="briefings.send_back")
@transactional
def send_back(session: SessionDep, version_id: IdPath, form: FormData):
    version = service.get_version(session, version_id=version_id)
    workflow.send_back(session, version=version, note=form.get("note", "").strip()[:2000])
    return _to_version(version_id, "sent_back")


@router.post("/briefings/versions/{version_id}/publish", name="briefings.publish")
@transactional
def publish(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, form: FormData
):
    """Queue the render and return at once: the PDF is made in a worker process."""
    version = service.get_version(session, version_id=version_id)
    due_on, errors = None, {}
    if form.get("assurance") == "yes":
        try:
            due_on = date.fromisoformat(form.get("assurance_due_on", ""))
        except ValueError:
            errors["assurance_due_on"] = (
                "Enter the date the answers are due, for example 2027-01-31"
            )
    if not errors:
        try:
            with attempt(session):
                workflow.publish(session, version=version, assurance_due_on=due_on)
        except InvalidInput as exc:
            errors = errors_from(exc.fields, {})
    if errors:
        version = service.get_version(session, version_id=version_id)
        return _editor(request, session, actor, version, values=form, errors=errors, status=422)
    response = _to_version(version_id, "publishing")
    renders = getattr(request.app.state, "renders", None)
    if renders is not None:
        # Runs once the response is sent, so after this request has committed.
        response.background = BackgroundTask(renders.kick)
    return response


@router.post("/briefings/versions/{version_id}/withdraw", name="briefings.withdraw")
@transactional
def withdraw(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, form: FormData
):
    version = service.get_version(session, version_id=version_id)
    try:
        with attempt(session):
            workflow.withdraw(session, version=version, reason=form.get("reason", "")[:2000])
    except InvalidInput as exc:
        version = service.get_version(session, version_id=version_id)
        errors = errors_from(exc.fields, {})
        return _editor(request, session, actor, version, values=form, errors=errors, status=422)
    return _to_version(version_id, "withdrawn")


@router.post("/briefings/versions/{version_id}/new-version", name="briefings.new_version")
@transactional
def new_version(session: SessionDep, version_id: IdPath):
    version = service.get_version(session, version_id=version_id)
    draft = workflow.new_version(session, version=version)
    return _to_version(draft.id, "new_version")


@router.get("/briefings/versions/{version_id}/preview", name="briefings.preview")
@transactional
def preview(session: SessionDep, request: Request, version_id: IdPath) -> Response:
    """The document as it will print, as HTML in the browser (no PDF is made here)."""
    from app.briefings import render as rendering

    version = service.get_version(session, version_id=version_id)
    context = service.document_context(session, version=version, settings=_settings(request))
    html = rendering.html_for(version.briefing.kind.value, context)
    return HTMLResponse(html, headers={"Content-Security-Policy": PREVIEW_CSP})
