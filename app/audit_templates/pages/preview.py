"""The template builder's preview: the template as an auditor will see it, with the
very key-area fields a return page shows (templates/returns/_key_area_fields.html),
and the page about the whole case (its questions, templates/returns/_question.html,
and the overall grade)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.audit_templates import service
from app.deps import IdPath, SessionDep, transactional
from app.errors import NotFound
from app.forms import FormState
from app.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/admin/template-versions/{version_id}/preview", name="audit_templates.preview")
@transactional
def preview(session: SessionDep, request: Request, version_id: IdPath) -> Response:
    version = service.get_version(session, version_id=version_id)
    return render(request, "audit_templates/preview.html", {"version": version})


@router.get(
    "/admin/template-versions/{version_id}/preview/whole-case",
    name="audit_templates.preview_case",
)
@transactional
def preview_case(session: SessionDep, request: Request, version_id: IdPath) -> Response:
    version = service.get_version(session, version_id=version_id)
    if not (version.has_overall_grade or version.case_questions):
        raise NotFound(f"{version.label} has no overall grade or questions about the whole case.")
    return render(
        request,
        "audit_templates/preview_case.html",
        {"version": version, "form": FormState()},
    )


@router.get(
    "/admin/template-versions/{version_id}/preview/{key_area_id}",
    name="audit_templates.preview_area",
)
@transactional
def preview_area(
    session: SessionDep, request: Request, version_id: IdPath, key_area_id: IdPath
) -> Response:
    version = service.get_version(session, version_id=version_id)
    key_area = next((k for k in version.key_areas if k.id == key_area_id), None)
    if key_area is None:
        raise NotFound(f"{version.label} has no key area with id {key_area_id}.")
    return render(
        request,
        "audit_templates/preview_area.html",
        {"version": version, "key_area": key_area, "form": FormState(), "shown_answers": {}},
    )
