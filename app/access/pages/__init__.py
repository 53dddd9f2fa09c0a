"""Pages: signing in and out, and the admins' pages for people's accounts."""

from fastapi import APIRouter

from app.access.pages import signin, users

router = APIRouter(include_in_schema=False)
router.include_router(signin.router)
router.include_router(users.router)
