"""Briefing pages: drafting a briefing from a moderated audit, the
editor (sections, how much of a learning briefing's two pages they fill, the
identification check, submit, approve, publish, withdraw, new version) and an HTML
preview of the document."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.background import BackgroundTask

from app.access.policy import Actor, Permission
from app.audits import service as audits
from app.audits.models import AuditStatus
from app.briefings import content, drafting, pack, service, suppression, workflow
from app.briefings.models import BriefingKind, Marking, VersionStatus
from app.briefings.schemas import (
    BriefingCreate,
    PackCreate,
    Publish,
    SendBack,
    Withdraw,
    sections_model,
)
from app.briefings.workflow import FourEyes
from app.deps import IdPath, PostedForm, SessionDep, transactional
from app.errors import AppError, Conflict, InvalidInput
from app.forms import (
    Form,
    FormInvalid,
    FormState,
    Posted,
    date_values,
    undone_if_refused,
    whole_number,
)
from app.middleware import PREVIEW_CSP
from app.templating import flash, redirect, render
from app.trends import service as trends

router = APIRouter(include_in_schema=False)

KINDS = {
    BriefingKind.BRIEFING: "Learning briefing for practitioners (7 minute briefing)",
    BriefingKind.SUBGROUP_REPORT: "Report for a subgroup",
}
MARKINGS = {
    Marking.OFFICIAL: "OFFICIAL",
    Marking.OFFICIAL_SENSITIVE: "OFFICIAL-SENSITIVE",
}
NEW_BRIEFING = Form(
    BriefingCreate,
    fields=("kind", "title", "marking", "public"),
    messages={
        "kind": "Choose what kind of document it is",
        "title": "Enter a title of up to 200 characters",
        "marking": "Choose the protective marking",
        "public": "Choose whether anyone may read it without signing in",
    },
)
SEND_BACK = Form(
    SendBack,
    fields=("note",),
    messages={
        ("note", "string_too_long"): "Keep what needs changing to 2,000 characters or fewer",
        ("note", "invalid"): "What needs changing must not contain control characters",
    },
)
WITHDRAW = Form(
    Withdraw,
    fields=("reason",),
    messages={
        "reason": "Give the reason for withdrawing the briefing",
        ("reason", "string_too_long"): "Keep the reason to 2,000 characters or fewer",
        ("reason", "invalid"): "The reason must not contain control characters",
    },
)
PUBLISH = Form(
    Publish,
    fields=("assurance", "assurance_due_on"),
    lists=frozenset(),
    dates={"assurance_due_on": "The date answers are due"},
)


def _editor_form(kind: BriefingKind) -> Form:
    headings = service.section_headings(kind)
    return Form(
        sections_model(tuple(headings)),
        fields=(*headings, "marking"),
        messages={
            **{
                (key, "string_too_long"): "Keep each section under 20,000 characters"
                for key in headings
            },
            **{
                (key, "invalid"): "A section must not contain control characters"
                for key in headings
            },
            "marking": "Choose the protective marking",
        },
    )


def _settings(request: Request):
    return request.app.state.settings


def _section_values(version) -> dict[str, str]:
    """The version's saved text for each of its sections, as the editor shows them: a
    learning briefing saved before its seven boxes as ``drafting.current_sections``
    maps it (saving it then saves it under the sections it has now)."""
    if version.briefing.kind == BriefingKind.BRIEFING:
        return drafting.current_sections(version.sections)
    return dict(version.sections)


def _fill(version, form: FormState) -> dict | None:
    """How much of a learning briefing's page 1 the text in the editor fills (what was
    typed, if the page shows it again), each box's share of it in characters, and the
    sections that still hold a prompt for the author: None for a subgroup report."""
    if version.briefing.kind != BriefingKind.BRIEFING:
        return None
    keys = [s.key for s in drafting.SECTIONS]
    typed = any(key in form.values for key in keys)
    saved = _section_values(version)
    texts = {key: form.value(key) if typed else saved[key] for key in keys}
    headings = dict(drafting.SECTIONS)
    return {
        "fill": content.page_one_fill(texts, version.briefing.title),
        "limits": content.LIMITS,
        "prompts": [headings[key] for key in drafting.prompts_left(texts)],
        "numbers": {s.key: n for n, s in enumerate(drafting.NUMBERED, 1)},
    }


def too_long_warning(version) -> str:
    """What to add to the message after submitting a learning briefing that the
    estimate says will not fit on its two pages (nothing if it fits)."""
    if version.briefing.kind != BriefingKind.BRIEFING:
        return ""
    fill = content.page_one_fill(_section_values(version), version.briefing.title)
    if not fill.over:
        return ""
    return (
        f" It is too long for its two pages: its text needs about {fill.percent}% of page 1,"
        " so its boxes run on to page 2. Shorten it before it is approved."
    )


def _to_version(request: Request, version_id: int, done: str) -> Response:
    flash(done)
    return redirect(request, "briefings.editor", version_id=version_id)


# --- the editors' list and a new briefing ------------------------------------------------


def _new_page(request, audit, form: FormState, status_code=200) -> Response:
    return render(
        request,
        "briefings/new.html",
        {
            "audit": audit,
            "kinds": [(k.value, label) for k, label in KINDS.items()],
            "markings": [(m.value, label) for m, label in MARKINGS.items()],
            "form": form,
        },
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
    return _new_page(request, audit, NEW_BRIEFING.state(values))


@router.post("/audits/{audit_id}/briefings/new", name="briefings.create")
@transactional
def create_briefing(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, posted: PostedForm
):
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    try:
        if audit.status not in (AuditStatus.LEARNING, AuditStatus.CLOSED):
            raise NEW_BRIEFING.invalid(
                {"kind": "Briefings are drafted from a moderated audit: finish moderation first"},
                posted=posted,
            )
        body = NEW_BRIEFING.read(posted)
        with NEW_BRIEFING.submitting(session, posted):
            version = workflow.create(
                session,
                audit=audit,
                kind=body.kind,
                title=body.title,
                marking=body.marking,
                public=body.public,
                actor=actor,
            )
    except FormInvalid as invalid:
        return _new_page(request, audit, invalid.state(), invalid.status_code)
    return _to_version(
        request,
        version.id,
        "The briefing has been drafted from the audit. Check and edit each section.",
    )


NEW_PACK = Form(
    PackCreate,
    fields=("title", "period_from", "period_to", "theme", "marking"),
    dates={"period_from": "The period's first day", "period_to": "The period's last day"},
    messages={
        "title": "Enter a title of up to 200 characters",
        "marking": "Choose the protective marking",
        "theme": "Choose a theme from the list, or all themes",
    },
)


def _new_pack_page(request, session, actor: Actor, form: FormState, status_code=200) -> Response:
    themes = trends.choices(session, actor=actor)["themes"]
    return render(
        request,
        "briefings/pack_new.html",
        {
            "themes": [("", "Every theme"), *((t, t) for t in themes)],
            "markings": [(m.value, label) for m, label in MARKINGS.items()],
            "form": form,
        },
        status_code=status_code,
    )


@router.get("/briefings/inspection-pack/new", name="briefings.pack_new")
@transactional
def new_pack(session: SessionDep, request: Request, actor: Actor) -> Response:
    # The last two partnership years to today, as the trends page starts.
    found = trends.resolved(trends.Filters())
    assert found.date_from is not None and found.date_to is not None
    values = {
        "title": pack.TITLE,
        "marking": Marking.OFFICIAL_SENSITIVE.value,
        "theme": "",
        **date_values("period_from", found.date_from),
        **date_values("period_to", found.date_to),
    }
    return _new_pack_page(request, session, actor, NEW_PACK.state(values))


@router.post("/briefings/inspection-pack/new", name="briefings.pack_create")
@transactional
def create_pack(session: SessionDep, request: Request, actor: Actor, posted: PostedForm):
    try:
        body = NEW_PACK.read(posted)
        with NEW_PACK.submitting(session, posted):
            version = workflow.create_pack(
                session,
                period=pack.period_of(body.period_from, body.period_to, body.theme),
                title=body.title,
                marking=body.marking,
                actor=actor,
                settings=_settings(request),
            )
    except FormInvalid as invalid:
        return _new_pack_page(request, session, actor, invalid.state(), invalid.status_code)
    return _to_version(
        request,
        version.id,
        "The pack has been drafted from the figures. Check and edit each answer.",
    )


# --- the editor ------------------------------------------------------------------------


def _editor(
    request,
    session,
    actor: Actor,
    version,
    *,
    form: FormState | None = None,
    status=200,
    problems=None,
    headline="",
    needs_confirmation=False,
) -> Response:
    """The editor; ``problems`` (every one the check found, as (message, anchor))
    replace the error summary."""
    headings = service.section_headings(version.briefing.kind)
    approvals = service.approvals(session, version=version)
    editable = version.status == VersionStatus.DRAFT
    if form is None:
        form = FormState(values={**_section_values(version), "marking": version.marking.value})
    if problems:
        form = FormState(
            values=form.values,
            errors=form.errors,
            listed=tuple({"text": text, "href": href} for text, href in problems),
        )
    # The tables of children with small numbers, or shown as "fewer than N": on a draft,
    # or wherever a refused step points at one.
    child_tables = (
        [
            t
            for t in suppression.child_tables(session, version=version, settings=_settings(request))
            if t.problem or t.suppressed
        ]
        if editable or any(f.startswith("table-") for f in form.errors)
        else []
    )
    shown_check = workflow.check_as_read(
        session, version=version, actor=actor, settings=_settings(request)
    )
    return render(
        request,
        "briefings/editor.html",
        {
            "version": version,
            "briefing": version.briefing,
            "pack": version.briefing.kind == BriefingKind.INSPECTION_PACK,
            "headings": headings,
            "markings": [(m.value, label) for m, label in MARKINGS.items()],
            "editable": editable,
            "child_tables": child_tables,
            "threshold": _settings(request).small_count_threshold,
            "may_approve": actor.may(Permission.BRIEFING_APPROVE),
            # Four eyes: an author never approves; each approver approves once.
            "wrote_it": actor.user_id in version.author_ids,
            "approved_it": any(a.user_id == actor.user_id for a in approvals),
            "approvals": approvals,
            "approvals_needed": _settings(request).briefing_approvers,
            "check_problems": shown_check,
            "check_seen": service.report_digest(shown_check),
            "newer": [v for v in version.briefing.versions if v.number > version.number],
            "form": form,
            "check_headline": headline,
            "needs_confirmation": needs_confirmation,
            "page_fill": _fill(version, form),
            "saved_sections": _section_values(version),
        },
        status_code=status,
    )


@router.get("/briefings/versions/{version_id}", name="briefings.editor")
@transactional
def editor(session: SessionDep, request: Request, actor: Actor, version_id: IdPath) -> Response:
    version = service.get_version(session, version_id=version_id)
    return _editor(request, session, actor, version)


@router.post("/briefings/versions/{version_id}", name="briefings.save")
@transactional
def save(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, posted: PostedForm
):
    version = service.get_version(session, version_id=version_id)
    submitting = posted.one("then") == "submit"
    try:
        # "Save and submit" is one change: if the submission is refused, the save is
        # undone with it, and the page shows what was typed.
        with undone_if_refused(session):
            _save_typed(session, actor, version, posted)
            if submitting:
                done = _take_step(request, session, actor, version, "submit", posted)
    except (FormInvalid, Conflict) as exc:
        version = service.get_version(session, version_id=version_id)
        errors = exc.errors if isinstance(exc, FormInvalid) else {"document": exc.message}
        state = FormState(values=posted.shown(), errors=errors)
        return _editor(request, session, actor, version, form=state, status=exc.status_code)
    except InvalidInput as exc:
        return _step_refused(request, session, actor, version_id, exc, typed=posted)
    if submitting:
        return _to_version(request, version_id, done)
    return _to_version(request, version_id, "Your changes have been saved.")


STEP_DONE = {
    "submit": "The briefing has been submitted for approval.",
    "approve": "The briefing has been approved. It can now be published.",
}


def _take_step(request, session, actor, version, step: str, posted: Posted) -> str:
    """Submit or approve (the identification check runs again either way); returns
    what to tell the person."""
    settings = _settings(request)
    confirmed = posted.one("confirm_small_counts") == "yes"
    if step == "submit":
        workflow.submit(
            session,
            version=version,
            actor=actor,
            settings=settings,
            confirm_small_counts=confirmed,
        )
        return STEP_DONE["submit"] + too_long_warning(version)
    workflow.approve(
        session,
        version=version,
        actor=actor,
        settings=settings,
        check_read=posted.one("check_read") == "yes",
        confirm_small_counts=confirmed,
        check_seen=posted.one("check_seen") or None,
    )
    if version.status == VersionStatus.APPROVED:
        return STEP_DONE["approve"]
    given = len(service.approvals(session, version=version))
    return (
        f"Your approval has been recorded: {given} of {settings.briefing_approvers} "
        "approvals. It needs another person's approval before it can be published."
    )


# Where a refused step's problem is on the page: the tick box it needs, or the check.
ANCHORS = {"check_read": "#check_read", "confirm_small_counts": "#confirm_small_counts"}


def _anchor(field: str) -> str:
    """A table's small counts link to the table's group (``table-<key>``)."""
    return f"#{field}" if field.startswith("table-") else ANCHORS.get(field, "#check")


def _step_refused(
    request, session, actor, version_id: int, exc: AppError, *, typed: Posted | None = None
) -> Response:
    """The editor with every problem the check found (or the refusal's one message);
    with what was ``typed`` when the refused step came with a save (which was undone)."""
    version = service.get_version(session, version_id=version_id)
    errors: dict[str, str] = {}
    for problem in exc.fields:
        errors.setdefault(problem.field, problem.message)
    values = (
        typed.shown()
        if typed is not None
        else {**_section_values(version), "marking": version.marking.value}
    )
    # Every problem the check found, not only the first per field.
    problems = [(f.message, _anchor(f.field)) for f in exc.fields]
    return _editor(
        request,
        session,
        actor,
        version,
        form=FormState(values=values, errors=errors),
        status=exc.status_code,
        problems=problems or [(exc.message, "#check")],
        headline=exc.message,
        needs_confirmation="confirm_small_counts" in errors,
    )


def _step(request, session, actor, version_id: int, step: str, posted: Posted) -> Response:
    version = service.get_version(session, version_id=version_id)
    try:
        with undone_if_refused(session):
            done = _take_step(request, session, actor, version, step, posted)
    except (InvalidInput, FourEyes, Conflict) as exc:
        return _step_refused(request, session, actor, version_id, exc)
    return _to_version(request, version_id, done)


@router.post("/briefings/versions/{version_id}/submit", name="briefings.submit")
@transactional
def submit(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, posted: PostedForm
):
    return _step(request, session, actor, version_id, "submit", posted)


@router.post("/briefings/versions/{version_id}/approve", name="briefings.approve")
@transactional
def approve(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, posted: PostedForm
):
    return _step(request, session, actor, version_id, "approve", posted)


def _table_step(request, session, actor, version_id: int, posted: Posted, *, show: bool):
    """Show a table's small numbers as "fewer than N", or (``show``) every number again.
    The editor's buttons for it belong to its sections' form, so what was typed comes
    too, and is saved first: nothing typed is lost by using them."""
    version = service.get_version(session, version_id=version_id)
    step = suppression.show_table_numbers if show else suppression.suppress_table
    typed = bool(posted.one("lock_version"))
    try:
        with undone_if_refused(session):
            if typed:
                _save_typed(session, actor, version, posted)
            caption = step(
                session,
                version=version,
                table=posted.one("table"),
                settings=_settings(request),
                actor=actor,
            )
    except (FormInvalid, Conflict) as exc:
        version = service.get_version(session, version_id=version_id)
        errors = exc.errors if isinstance(exc, FormInvalid) else {"document": exc.message}
        state = FormState(values=posted.shown(), errors=errors)
        return _editor(request, session, actor, version, form=state, status=exc.status_code)
    except InvalidInput as exc:
        return _step_refused(
            request, session, actor, version_id, exc, typed=posted if typed else None
        )
    fewer = f"“fewer than {_settings(request).small_count_threshold}”"
    done = (
        f"{caption} shows every number again."
        if show
        else f"{caption} now shows its small numbers as {fewer}."
    )
    return _to_version(request, version_id, done)


def _save_typed(session, actor, version, posted: Posted) -> None:
    """Save the sections and marking posted (by Save, or with a table's button)."""
    headings = service.section_headings(version.briefing.kind)
    body = _editor_form(version.briefing.kind).read(posted)
    lock = posted.one("lock_version")
    workflow.save(
        session,
        version=version,
        sections={key: getattr(body, key) for key in headings},
        marking=body.marking,
        # An unreadable lock version never matches, so the save is refused as stale.
        read_lock=-1 if (number := whole_number(lock)) is None else number,
        actor=actor,
    )


@router.post("/briefings/versions/{version_id}/small-numbers", name="briefings.suppress_table")
@transactional
def suppress_table(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, posted: PostedForm
):
    return _table_step(request, session, actor, version_id, posted, show=False)


@router.post(
    "/briefings/versions/{version_id}/small-numbers/show", name="briefings.show_table_numbers"
)
@transactional
def show_table_numbers(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, posted: PostedForm
):
    return _table_step(request, session, actor, version_id, posted, show=True)


@router.post("/briefings/versions/{version_id}/send-back", name="briefings.send_back")
@transactional
def send_back(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, posted: PostedForm
):
    version = service.get_version(session, version_id=version_id)
    try:
        body = SEND_BACK.read(posted)
    except FormInvalid as invalid:
        return _editor(request, session, actor, version, form=invalid.state(), status=422)
    workflow.send_back(session, version=version, note=body.note)
    return _to_version(request, version_id, "The briefing has been sent back to draft.")


@router.post("/briefings/versions/{version_id}/publish", name="briefings.publish")
@transactional
def publish(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, posted: PostedForm
):
    """Queue the render and return at once: the PDF is made in a worker process."""
    version = service.get_version(session, version_id=version_id)
    try:
        body = PUBLISH.read(posted)
        if body.assurance and body.assurance_due_on is None:
            raise PUBLISH.invalid(
                {"assurance_due_on": "Enter the date the answers are due"}, posted=posted
            )
        with PUBLISH.submitting(session, posted):
            workflow.publish(
                session,
                version=version,
                assurance_due_on=body.assurance_due_on if body.assurance else None,
            )
    except FormInvalid as invalid:
        version = service.get_version(session, version_id=version_id)
        return _editor(request, session, actor, version, form=invalid.state(), status=422)
    response = _to_version(
        request,
        version_id,
        "The briefing is being published: its PDF is being made. Refresh this page to see "
        "when it is ready.",
    )
    renders = getattr(request.app.state, "renders", None)
    if renders is not None:
        # Runs once the response is sent, so after this request has committed.
        response.background = BackgroundTask(renders.kick)
    return response


@router.post("/briefings/versions/{version_id}/withdraw", name="briefings.withdraw")
@transactional
def withdraw(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, posted: PostedForm
):
    version = service.get_version(session, version_id=version_id)
    try:
        body = WITHDRAW.read(posted)
        with WITHDRAW.submitting(session, posted):
            workflow.withdraw(session, version=version, reason=body.reason)
    except FormInvalid as invalid:
        version = service.get_version(session, version_id=version_id)
        return _editor(request, session, actor, version, form=invalid.state(), status=422)
    return _to_version(request, version_id, "The briefing has been withdrawn.")


@router.post("/briefings/versions/{version_id}/new-version", name="briefings.new_version")
@transactional
def new_version(session: SessionDep, request: Request, actor: Actor, version_id: IdPath):
    version = service.get_version(session, version_id=version_id)
    draft = workflow.new_version(session, version=version, actor=actor)
    return _to_version(
        request, draft.id, "A new draft version has been started from the published one."
    )


@router.get("/briefings/versions/{version_id}/preview", name="briefings.preview")
@transactional
def preview(session: SessionDep, request: Request, version_id: IdPath) -> Response:
    """The document as it will print, as HTML in the browser (no PDF is made here)."""
    from app.briefings import render as rendering

    version = service.get_version(session, version_id=version_id)
    context = service.document_context(session, version=version, settings=_settings(request))
    html = rendering.html_for(version.briefing.kind.value, context)
    return HTMLResponse(html, headers={"Content-Security-Policy": PREVIEW_CSP})
