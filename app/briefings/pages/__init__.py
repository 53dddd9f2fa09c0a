"""Pages: the editors' list of briefings (listing), the briefing editor (for editors
and approvers) and the library (for practitioners, and for anyone when a briefing is
public)."""

from fastapi import APIRouter

from app.briefings.pages import editor, library, listing

router = APIRouter(include_in_schema=False)
router.include_router(listing.router)
router.include_router(editor.router)
router.include_router(library.router)
