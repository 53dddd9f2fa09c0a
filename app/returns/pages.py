"""Pages for auditors' returns."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.access.policy import Actor
from app.deps import SessionDep, transactional
from app.returns import service
from app.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/my-work", name="pages.my_work")
@transactional
def my_work(session: SessionDep, request: Request, actor: Actor) -> Response:
    """The returns expected from my agency, overdue ones first."""
    today = date.today()
    work = service.my_work(session, actor=actor, today=today)
    return render(request, "returns/my_work.html", {"work": work, "today": today})
