"""Pages: signing in and out, and the admins' pages for people's accounts and for
requests to give someone the administrator or moderator role."""

from fastapi import APIRouter

from app.access.pages import grants, signin, users

router = APIRouter(include_in_schema=False)
router.include_router(signin.router)
router.include_router(users.router)
router.include_router(grants.router)
