"""Pages: the audits and each audit's overview, and the admins' planning pages."""

from fastapi import APIRouter

from app.audits.pages import overview, planning

router = APIRouter(include_in_schema=False)
router.include_router(overview.router)
router.include_router(planning.router)
