"""The identification check's allowed words (admin): the partnership's own words that
the check must never take for a name, an address or a number, and a box to try the
check on any text."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.access.policy import Actor
from app.deps import IdPath, PostedForm, SessionDep, transactional
from app.forms import Form, FormInvalid, FormState
from app.identify import service as identify
from app.identify.check import Problem
from app.identify.schemas import AllowedTermCreate, TryText
from app.templating import flash, redirect, render

router = APIRouter(include_in_schema=False)

ALLOW = Form(
    AllowedTermCreate,
    fields=("term",),
    messages={
        "term": "Enter the word or phrase, up to 200 characters",
        ("term", "invalid"): "The word or phrase must be on one line",
    },
    refusals={"term": "That word or phrase is already on the list"},
)
TRY = Form(
    TryText,
    fields=("text",),
    messages={
        "text": "Enter some text to check",
        ("text", "string_too_long"): "Keep the text to 20,000 characters or fewer",
    },
)


def _page(
    request: Request,
    session,
    *,
    form: FormState | None = None,
    trial: FormState | None = None,
    found: list[Problem] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "identify/allowed.html",
        {
            "terms": identify.allowed_terms(session),
            "form": form or ALLOW.state(),
            "trial": trial or TRY.state(),
            "found": found,
        },
        status_code=status_code,
    )


@router.get("/admin/identification", name="identify.allowed")
@transactional
def allowed(session: SessionDep, request: Request) -> Response:
    return _page(request, session)


@router.post("/admin/identification", name="identify.allow")
@transactional
def allow(session: SessionDep, request: Request, actor: Actor, posted: PostedForm) -> Response:
    try:
        body = ALLOW.read(posted)
        with ALLOW.submitting(session, posted):
            identify.add_term(session, term=body.term, added_by=actor.label)
    except FormInvalid as invalid:
        return _page(request, session, form=invalid.state(), status_code=invalid.status_code)
    flash(f"“{body.term}” will no longer be flagged.")
    return redirect(request, "identify.allowed")


@router.post("/admin/identification/{term_id}/remove", name="identify.disallow")
@transactional
def disallow(session: SessionDep, request: Request, term_id: IdPath) -> Response:
    identify.remove_term(session, term_id=term_id)
    flash("The word has been taken off the list: the check will flag it again.")
    return redirect(request, "identify.allowed")


@router.post("/admin/identification/try", name="identify.try")
@transactional
def try_text(session: SessionDep, request: Request, posted: PostedForm) -> Response:
    """Show what the check flags in the text typed; nothing is saved."""
    try:
        body = TRY.read(posted)
    except FormInvalid as invalid:
        return _page(request, session, trial=invalid.state(), status_code=invalid.status_code)
    found = identify.tried(session, body.text)
    return _page(request, session, trial=FormState(values=posted.shown()), found=found)
