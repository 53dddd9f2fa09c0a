"""Pages: the template builder (templates, a version's details and grading scale, its
key areas and questions) and its preview as an auditor will see it."""

from fastapi import APIRouter

from app.audit_templates.pages import builder, preview, structure

router = APIRouter(include_in_schema=False)
router.include_router(builder.router)
router.include_router(structure.router)
router.include_router(preview.router)
