"""Pages for people without an account: the administrator's (an audit's one-time
links, a family survey) and the respondent's (the form a link opens)."""

from fastapi import APIRouter

from app.respond.pages import admin, respondent

router = APIRouter(include_in_schema=False)
router.include_router(admin.router)
router.include_router(respondent.router)
