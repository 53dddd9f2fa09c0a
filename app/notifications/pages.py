"""Pages: what each person has been told (their notifications, newest first), and for
admins every notification's e-mail as it reads, drawn from the project's templates
with sample values."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.access.policy import Actor
from app.deps import PostedForm, SessionDep, transactional
from app.forms import Form, FormInvalid, FormState
from app.notifications import service, subscriptions
from app.notifications.api import own_user_id, themes_of
from app.notifications.schemas import ThemesFollow
from app.templating import came_from, flash, redirect, render, url

router = APIRouter(include_in_schema=False)

# Invented values for the previews: the synthetic demo's kind of names, no real ones.
SAMPLE = {
    "name": "Sam Auditor",
    "partnership": "Westshire Safeguarding Children Partnership",
    "audit_title": "Neglect: multi-agency audit, spring",
    "agency": "Westshire Police",
    "returns": 3,
    "due_on": "31 March 2027",
    "meeting_on": "14 April 2027",
    "child": "Child A",
    "note": "Please add the date of the strategy discussion.",
    "title": "Learning from the neglect audit",
    "number": 2,
    "submitted_by": "Morgan Moderator",
    "action_title": "Refresh strategy discussion training for front-line staff",
    "owner": "Alex Lead",
    "days_overdue": 30,
    "subgroup": "Quality Assurance and Performance subgroup",
    "themes": "Voice of the child, Strategy discussions",
    "updated": False,
    "subscriptions": "https://case-audit.example.org/notifications/themes",
    "invited_by": "Alex Admin",
    "person": "Robin Officer",
    "email": "robin.officer@police.westshire.example",
    "sso": "Westshire Police",
    "expires": "9:30am on 8 December 2026",
    "link": "https://case-audit.example.org/my-work",
    "unused_days": 76,
    "disable_on": "21 December 2026",
}


@router.get("/notifications", name="notifications.mine")
@transactional
def mine(session: SessionDep, request: Request, actor: Actor) -> Response:
    """What I have been told, and whether each e-mail has gone."""
    found = service.mine(session, user_id=actor.user_id) if actor.user_id else []
    back = came_from(request, url(request, "access.home"))
    return render(request, "notifications/mine.html", {"notifications": found, "back": back})


@router.get("/admin/notification-emails", name="notifications.previews")
@transactional
def previews(session: SessionDep, request: Request) -> Response:
    """Every notification's e-mail as it reads, with sample values."""
    emails = [(kind, *service.render(kind, SAMPLE)) for kind in service.kinds()]
    back = came_from(request, url(request, "access.home"))
    return render(request, "notifications/previews.html", {"emails": emails, "back": back})


# --- the themes a person follows ------------------------------------------------------

THEMES = Form(
    ThemesFollow,
    fields=("theme_ids",),
    lists=frozenset({"theme_ids"}),
    messages={("theme_ids", "invalid"): "Choose themes from the list"},
    refusals={"theme_ids": "Choose themes from the list"},
)


def _themes_page(request, session, actor, *, form=None, status_code=200) -> Response:
    found = themes_of(session, own_user_id(actor))
    if form is None:
        form = THEMES.state({"theme_ids": [str(t.id) for t in found.themes if t.followed]})
    back = came_from(request, url(request, "briefings.library"))
    return render(
        request,
        "notifications/themes.html",
        {
            "form": form,
            "themes": [(str(t.id), t.name) for t in found.themes],
            "back": back,
        },
        status_code=status_code,
    )


@router.get("/notifications/themes", name="notifications.themes")
@transactional
def themes(session: SessionDep, request: Request, actor: Actor) -> Response:
    """Choose the themes whose new learning briefings you are e-mailed about."""
    return _themes_page(request, session, actor)


@router.post("/notifications/themes", name="notifications.themes_save")
@transactional
def themes_save(
    session: SessionDep, request: Request, actor: Actor, posted: PostedForm
) -> Response:
    try:
        body = THEMES.read(posted)
        with THEMES.submitting(session, posted):
            followed = subscriptions.follow(
                session, user_id=own_user_id(actor), theme_ids=body.theme_ids
            )
    except FormInvalid as invalid:
        state: FormState = invalid.state(posted.shown(THEMES.lists))
        return _themes_page(request, session, actor, form=state, status_code=422)
    names = ", ".join(t.name for t in followed)
    flash(
        f"You will be e-mailed when a learning briefing on {names} is published."
        if followed
        else "You will not be e-mailed about new learning briefings."
    )
    return redirect(request, "notifications.themes")
