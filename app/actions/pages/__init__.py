"""Pages: the action tracker, one action with its history and next steps, and the forms
to propose or change an action."""

from fastapi import APIRouter

from app.actions.pages import action, editing, tracker

router = APIRouter(include_in_schema=False)
router.include_router(tracker.router)
router.include_router(action.router)
router.include_router(editing.router)
