"""Pages: the template builder and its preview."""

from fastapi import APIRouter

from app.audit_templates.pages import builder

router = APIRouter(include_in_schema=False)
router.include_router(builder.router)
