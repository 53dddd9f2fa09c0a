"""Pages: signing in and out, and the admins' pages for people's accounts and for
requests to give someone the administrator or moderator role."""

from fastapi import APIRouter

from app.access.pages import grants, links, reviews, signin, sso, users

router = APIRouter(include_in_schema=False)
router.include_router(signin.router)
# Before the users pages: /admin/users/invite is not /admin/users/{user_id}.
router.include_router(links.router)
router.include_router(users.router)
router.include_router(grants.router)
router.include_router(sso.router)
router.include_router(reviews.router)
