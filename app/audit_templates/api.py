from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from app.audit_templates import editing, files, service, sheets
from app.audit_templates.models import TemplateStatus
from app.audit_templates.schemas import (
    KeyAreaCreate,
    KeyAreaPatch,
    QuestionCreate,
    QuestionPatch,
    ScaleIn,
    TemplateContent,
    TemplateFamilyOut,
    TemplateVersionOut,
    VersionPatch,
)
from app.deps import IdPath, RawBody, SessionDep, transactional
from app.errors import InvalidInput
from app.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1", tags=["templates"])

VersionOut = TemplateVersionOut.model_validate


@router.get("/templates", name="api.templates.list")
@transactional
def list_templates(
    session: SessionDep,
    params: PageDep,
    status_: Annotated[
        TemplateStatus | None,
        Query(alias="status", description="Only templates with a version in this state."),
    ] = None,
) -> Page[TemplateFamilyOut]:
    items, total = service.list_families(session, params=params, status=status_)
    return Page[TemplateFamilyOut].build(items, total, params)


@router.post("/templates", name="api.templates.create", status_code=status.HTTP_201_CREATED)
@transactional
def create_template(session: SessionDep, body: TemplateContent) -> TemplateVersionOut:
    """Start a new template: its version 1 is a draft with the content given. The answer
    is that version: its ``id`` is the version's, ``template_id`` the template's."""
    return VersionOut(service.create_draft(session, content=body))


@router.post(
    "/templates/import",
    name="api.templates.import",
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/yaml": {"schema": {"type": "string"}}},
        }
    },
)
@transactional
def import_template(session: SessionDep, request: Request, raw: RawBody) -> TemplateVersionOut:
    """Import a template file (YAML, docs/template-format.md) as a draft version. The
    answer is that version: its ``id`` is the version's, ``template_id`` the template's.
    (A workbook sent here is imported too; /templates/import-workbook is its own.)"""
    if sheets.is_workbook(raw, request.headers.get("content-type")):
        return VersionOut(sheets.import_workbook(session, raw))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("The template file must be UTF-8 text.") from None
    return VersionOut(files.import_text(session, text=text))


@router.post(
    "/templates/import-workbook",
    name="api.templates.import_workbook",
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {sheets.MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
@transactional
def import_workbook(session: SessionDep, raw: RawBody) -> TemplateVersionOut:
    """Import a template laid out in an Excel workbook (XLSX, docs/template-format.md) as
    a draft version, with the same checks and errors as a YAML file."""
    return VersionOut(sheets.import_workbook(session, raw))


# ":int": /templates/import is another route's path (POST), so a GET of it is a 405,
# not a template id that is not a number.
@router.get("/templates/{template_id:int}", name="api.templates.get")
@transactional
def get_template(session: SessionDep, template_id: IdPath) -> TemplateFamilyOut:
    return _family_out(session, template_id)


@router.get("/templates/{template_id}/versions", name="api.templates.versions")
@transactional
def list_versions(session: SessionDep, template_id: IdPath) -> TemplateFamilyOut:
    return _family_out(session, template_id)


def _family_out(session, template_id: IdPath) -> TemplateFamilyOut:
    return TemplateFamilyOut.model_validate(service.get_family(session, family_id=template_id))


@router.get("/template-versions/{version_id}", name="api.template_versions.get")
@transactional
def get_version(session: SessionDep, version_id: IdPath) -> TemplateVersionOut:
    return VersionOut(service.get_version(session, version_id=version_id))


@router.patch("/template-versions/{version_id}", name="api.template_versions.update")
@transactional
def update_version(
    session: SessionDep, version_id: IdPath, body: VersionPatch
) -> TemplateVersionOut:
    version = service.get_version(session, version_id=version_id)
    changes = body.model_dump(exclude_unset=True)
    return VersionOut(service.update_version(session, version=version, changes=changes))


@router.get(
    "/template-versions/{version_id}/export",
    name="api.template_versions.export",
    response_class=Response,
    responses={200: {"content": {"application/yaml": {}, sheets.MEDIA_TYPE: {}}}},
)
@transactional
def export_version(
    session: SessionDep,
    version_id: IdPath,
    file_format: Annotated[
        Literal["yaml", "xlsx"],
        Query(
            alias="format",
            description="yaml: a template file; xlsx: an Excel workbook, laid out as "
            "docs/template-format.md describes. Either imports back as the same template.",
        ),
    ] = "yaml",
) -> Response:
    """The version as a file to share or edit and import again."""
    version = service.get_version(session, version_id=version_id)
    filename = f"{version.slug}-v{version.number}.{file_format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if file_format == "xlsx":
        return Response(
            sheets.write_workbook(version), media_type=sheets.MEDIA_TYPE, headers=headers
        )
    return Response(files.export_text(version), media_type="application/yaml", headers=headers)


@router.put("/template-versions/{version_id}/scale", name="api.template_versions.scale")
@transactional
def set_scale(session: SessionDep, version_id: IdPath, body: ScaleIn) -> TemplateVersionOut:
    version = service.get_version(session, version_id=version_id)
    return VersionOut(editing.set_scale(session, version=version, scale=body))


@router.post("/template-versions/{version_id}/publish", name="api.template_versions.publish")
@transactional
def publish(session: SessionDep, version_id: IdPath) -> TemplateVersionOut:
    version = service.get_version(session, version_id=version_id)
    return VersionOut(service.publish(session, version=version))


@router.post("/template-versions/{version_id}/retire", name="api.template_versions.retire")
@transactional
def retire(session: SessionDep, version_id: IdPath) -> TemplateVersionOut:
    version = service.get_version(session, version_id=version_id)
    return VersionOut(service.retire(session, version=version))


@router.post(
    "/template-versions/{version_id}/new-version",
    name="api.template_versions.new_version",
    status_code=status.HTTP_201_CREATED,
)
@transactional
def new_version(session: SessionDep, version_id: IdPath) -> TemplateVersionOut:
    """Copy a published version into a new draft, the only way to change a template."""
    version = service.get_version(session, version_id=version_id)
    return VersionOut(service.start_new_version(session, version=version))


@router.post(
    "/template-versions/{version_id}/key-areas",
    name="api.key_areas.create",
    status_code=status.HTTP_201_CREATED,
)
@transactional
def add_key_area(
    session: SessionDep, version_id: IdPath, body: KeyAreaCreate
) -> TemplateVersionOut:
    version = service.get_version(session, version_id=version_id)
    return VersionOut(
        editing.add_key_area(session, version=version, data=body, position=body.position)
    )


@router.patch("/key-areas/{key_area_id}", name="api.key_areas.update")
@transactional
def update_key_area(
    session: SessionDep, key_area_id: IdPath, body: KeyAreaPatch
) -> TemplateVersionOut:
    version, key_area = editing.get_key_area(session, key_area_id=key_area_id)
    changes = body.model_dump(exclude_unset=True)
    return VersionOut(
        editing.update_key_area(session, version=version, key_area=key_area, changes=changes)
    )


@router.delete("/key-areas/{key_area_id}", name="api.key_areas.delete")
@transactional
def delete_key_area(session: SessionDep, key_area_id: IdPath) -> TemplateVersionOut:
    version, key_area = editing.get_key_area(session, key_area_id=key_area_id)
    return VersionOut(editing.delete_key_area(session, version=version, key_area=key_area))


@router.post(
    "/key-areas/{key_area_id}/questions",
    name="api.questions.create",
    status_code=status.HTTP_201_CREATED,
)
@transactional
def add_question(
    session: SessionDep, key_area_id: IdPath, body: QuestionCreate
) -> TemplateVersionOut:
    version, key_area = editing.get_key_area(session, key_area_id=key_area_id)
    return VersionOut(
        editing.add_question(
            session, version=version, key_area=key_area, data=body, position=body.position
        )
    )


@router.post(
    "/template-versions/{version_id}/case-questions",
    name="api.questions.create_case",
    status_code=status.HTTP_201_CREATED,
)
@transactional
def add_case_question(
    session: SessionDep, version_id: IdPath, body: QuestionCreate
) -> TemplateVersionOut:
    """Add a question about the whole case, answered once per return beside the overall
    grade. Change or remove it as any question, by its id."""
    version = service.get_version(session, version_id=version_id)
    section = editing.case_section(session, version=version)
    return VersionOut(
        editing.add_question(
            session, version=version, key_area=section, data=body, position=body.position
        )
    )


@router.patch("/questions/{question_id}", name="api.questions.update")
@transactional
def update_question(
    session: SessionDep, question_id: IdPath, body: QuestionPatch
) -> TemplateVersionOut:
    version, key_area, question = editing.get_question(session, question_id=question_id)
    changes = body.model_dump(exclude_unset=True)
    return VersionOut(
        editing.update_question(
            session, version=version, key_area=key_area, question=question, changes=changes
        )
    )


@router.delete("/questions/{question_id}", name="api.questions.delete")
@transactional
def delete_question(session: SessionDep, question_id: IdPath) -> TemplateVersionOut:
    version, key_area, question = editing.get_question(session, question_id=question_id)
    return VersionOut(
        editing.delete_question(session, version=version, key_area=key_area, question=question)
    )
