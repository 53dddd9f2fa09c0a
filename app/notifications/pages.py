"""Pages: what each person has been told (their notifications, newest first), and for
admins every notification's e-mail as it reads, drawn from the project's templates
with sample values."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.access.policy import Actor
from app.deps import SessionDep, transactional
from app.notifications import service
from app.templating import came_from, render, url

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
    "link": "https://case-audit.example.org/my-work",
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
