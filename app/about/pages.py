"""The accessibility statement, privacy notice, help and contact pages: public (the
library is public, and these say what anyone may need to know before signing in),
linked from every page's footer, their text kept by an admin (app/about/documents.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.about import documents
from app.deps import SessionDep, transactional
from app.templating import came_from, render, url

router = APIRouter(include_in_schema=False)

HEADINGS = {
    "accessibility": "Accessibility statement",
    "privacy": "Privacy notice",
    "help": "Help",
    "contact": "Contact",
}


def _page(request: Request, name: str) -> Response:
    settings = request.app.state.settings
    values = {
        "partnership": settings.partnership_name,
        "service_url": settings.public_url,
        "idle_minutes": str(settings.session_idle_minutes),
        "retention_case_text_years": str(settings.retention_case_text_years),
        "retention_session_days": str(settings.retention_session_days),
        "retention_log_years": str(settings.retention_log_years),
        "library": url(request, "briefings.library"),
        "sign_in": url(request, "access.sign_in"),
        **{page: url(request, f"about.{page}") for page in documents.NAMES},
    }
    document = documents.document(name, settings.content_dir, heading=HEADINGS[name], values=values)
    # Back to the page whose footer was followed (handed on as ?from=), else the start.
    back = came_from(request, url(request, "access.home"))
    return render(
        request, "about/page.html", {"document": document, "back": back, "footer_from": back}
    )


@router.get("/accessibility-statement", name="about.accessibility")
@transactional
def accessibility(session: SessionDep, request: Request) -> Response:
    """The accessibility statement (the 2018 accessibility regulations)."""
    return _page(request, "accessibility")


@router.get("/privacy", name="about.privacy")
@transactional
def privacy(session: SessionDep, request: Request) -> Response:
    """The privacy notice: what the service holds about whom, and for how long."""
    return _page(request, "privacy")


@router.get("/help", name="about.help")
@transactional
def help_page(session: SessionDep, request: Request) -> Response:
    """How to get started, by role."""
    return _page(request, "help")


@router.get("/contact", name="about.contact")
@transactional
def contact(session: SessionDep, request: Request) -> Response:
    """Who to contact about the service."""
    return _page(request, "contact")
