from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.access.policy import Actor
from app.audits import cohort, lifecycle, service, workbook
from app.audits import progress as returns_progress
from app.audits.models import AuditStatus
from app.audits.schemas import (
    AgencyIds,
    AuditCreate,
    AuditOut,
    AuditPatch,
    ChildCreate,
    ChildOut,
    ChildPatch,
    CloseAudit,
    CohortDraw,
    CohortDrawn,
    DrawnChild,
    InvolvementCreate,
    InvolvementOut,
    OpenAudit,
    Progress,
    ReopenAudit,
)
from app.deps import ClockDep, IdPath, IdQuery, SessionDep, transactional
from app.pagination import Page, PageDep
from app.schemas_base import OneLine, WrittenDate

router = APIRouter(prefix="/api/v1", tags=["audits and cohorts"])


def _audit_out(session, actor, audit) -> AuditOut:
    return AuditOut.model_validate(service.view(session, actor=actor, audit=audit))


def _child_out(child, rows: dict[int, list[dict]]) -> ChildOut:
    return ChildOut.model_validate(
        {
            "id": child.id,
            "audit_id": child.audit_id,
            "pseudonym": child.pseudonym,
            "agency_id": child.agency_id,
            "age_band": child.age_band,
            "context_tags": child.context_tags,
            "involvements": rows.get(child.id, []),
        }
    )


@router.get("/audits", name="api.audits.list")
@transactional
def list_audits(
    session: SessionDep,
    actor: Actor,
    params: PageDep,
    status_: Annotated[AuditStatus | None, Query(alias="status")] = None,
    theme: Annotated[str | None, Query(max_length=200), OneLine] = None,
    subgroup_id: Annotated[IdQuery, Query(description="Lead subgroup.")] = None,
    template_id: Annotated[IdQuery, Query(description="Template family.")] = None,
    agency_id: Annotated[IdQuery, Query(description="A participating agency.")] = None,
    due_before: Annotated[
        WrittenDate | None, Query(description="Returns due on or before.")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Words in the title or theme."), OneLine
    ] = None,
    sort: Annotated[
        service.AuditSort,
        Query(description='A column; "-" first for descending. Newest first by default.'),
    ] = service.AuditSort.CREATED_DESC,
) -> Page[AuditOut]:
    items, total = service.list_audits(
        session,
        actor=actor,
        params=params,
        status=status_,
        theme=theme,
        subgroup_id=subgroup_id,
        template_id=template_id,
        agency_id=agency_id,
        due_before=due_before,
        q=q,
        sort=sort,
    )
    return Page[AuditOut].build(items, total, params)


@router.post("/audits", name="api.audits.create", status_code=status.HTTP_201_CREATED)
@transactional
def create_audit(session: SessionDep, actor: Actor, body: AuditCreate) -> AuditOut:
    audit = service.create_audit(session, **body.model_dump())
    return _audit_out(session, actor, audit)


@router.get("/audits/{audit_id}", name="api.audits.get")
@transactional
def get_audit(session: SessionDep, actor: Actor, audit_id: IdPath) -> AuditOut:
    return _audit_out(session, actor, service.get_audit(session, actor=actor, audit_id=audit_id))


@router.patch("/audits/{audit_id}", name="api.audits.update")
@transactional
def update_audit(session: SessionDep, actor: Actor, audit_id: IdPath, body: AuditPatch) -> AuditOut:
    audit = service.get_audit(session, actor=actor, audit_id=audit_id)
    audit = service.update_audit(session, audit=audit, changes=body.model_dump(exclude_unset=True))
    return _audit_out(session, actor, audit)


@router.put("/audits/{audit_id}/agencies", name="api.audits.agencies")
@transactional
def set_agencies(session: SessionDep, actor: Actor, audit_id: IdPath, body: AgencyIds) -> AuditOut:
    audit = service.get_audit(session, actor=actor, audit_id=audit_id)
    audit = service.set_agencies(session, audit=audit, agency_ids=body.agency_ids)
    return _audit_out(session, actor, audit)


@router.post("/audits/{audit_id}/open", name="api.audits.open")
@transactional
def open_audit(
    session: SessionDep, actor: Actor, audit_id: IdPath, body: OpenAudit | None = None
) -> AuditOut:
    """Open a planned audit for returns. A warning (an agency asked for returns with no
    active auditor, say) answers 422 naming each, unless the body says ``confirm``;
    with ``warnings`` too, 409 if there are warnings and they are not exactly those."""
    audit = service.get_audit(session, actor=actor, audit_id=audit_id)
    body = body or OpenAudit()
    audit = lifecycle.open_audit(session, audit=audit, confirm=body.confirm, warnings=body.warnings)
    return _audit_out(session, actor, audit)


@router.post("/audits/{audit_id}/close", name="api.audits.close")
@transactional
def close_audit(session: SessionDep, actor: Actor, audit_id: IdPath, body: CloseAudit) -> AuditOut:
    """Close an audit in learning; the reason is required while a learning action is open."""
    audit = service.get_audit(session, actor=actor, audit_id=audit_id)
    return _audit_out(
        session, actor, lifecycle.close_audit(session, audit=audit, reason=body.reason)
    )


@router.post("/audits/{audit_id}/reopen", name="api.audits.reopen")
@transactional
def reopen_audit(
    session: SessionDep, actor: Actor, audit_id: IdPath, body: ReopenAudit
) -> AuditOut:
    """Put a closed audit back in learning, with the reason."""
    audit = service.get_audit(session, actor=actor, audit_id=audit_id)
    audit = lifecycle.reopen_audit(session, audit=audit, reason=body.reason)
    return _audit_out(session, actor, audit)


@router.get("/audits/{audit_id}/progress", name="api.audits.progress")
@transactional
def progress(session: SessionDep, actor: Actor, audit_id: IdPath) -> Progress:
    return Progress.model_validate(
        returns_progress.progress_of(session, actor=actor, audit_id=audit_id)
    )


@router.get(
    "/audits/{audit_id}/export.xlsx",
    name="api.audits.export_xlsx",
    response_class=Response,
    responses={200: {"content": {workbook.XLSX: {}}}},
)
@transactional
def export_xlsx(session: SessionDep, actor: Actor, audit_id: IdPath, clock: ClockDep) -> Response:
    """The whole audit as one Excel workbook, holding only what the caller may see:
    *About* (the audit, who it was exported for, and what their need to know leaves
    out), *Cohort* (pseudonyms, age bands, context, the agencies involved), *Returns*
    (every return the caller may read, each answer as the pages word it, as
    ``answers.xlsx``), *Grades* (one row per return and graded key area, then the
    overall grade: the agency's own grade and evidence and, where the caller may see
    moderation, the moderated grade, the moderator's rationale, who decided and when),
    *Progress* (returns by agency and how far they have got), *Findings* and *Actions*
    (as the action tracker lists them). Dates are Excel dates and counts numbers; each
    sheet has a frozen header and a filter. The download is logged as an export."""
    audit = service.get_audit(session, actor=actor, audit_id=audit_id)
    sheets = workbook.whole_audit(session, actor=actor, audit=audit, clock=clock)
    return workbook.download(sheets, audit_id=audit.id, today=clock.today)


@router.get("/audits/{audit_id}/children", name="api.children.list")
@transactional
def list_children(
    session: SessionDep, actor: Actor, audit_id: IdPath, params: PageDep
) -> Page[ChildOut]:
    audit = service.get_audit(session, actor=actor, audit_id=audit_id, options=())
    children, total = cohort.page_children(session, actor=actor, audit=audit, params=params)
    rows = cohort.involvement_rows(session, actor=actor, child_ids=[c.id for c in children])
    return Page[ChildOut].build([_child_out(c, rows) for c in children], total, params)


@router.post(
    "/audits/{audit_id}/children", name="api.children.create", status_code=status.HTTP_201_CREATED
)
@transactional
def add_child(session: SessionDep, actor: Actor, audit_id: IdPath, body: ChildCreate) -> ChildOut:
    audit = service.get_audit(session, actor=actor, audit_id=audit_id)
    child = cohort.add_child(session, audit=audit, **body.model_dump())
    return _child_out(child, cohort.involvement_rows(session, actor=actor, child_ids=[child.id]))


@router.post(
    "/audits/{audit_id}/cohort/draw",
    name="api.children.draw",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "The cohort can no longer change (the audit is open)."}},
)
@transactional
def draw_cohort(
    session: SessionDep, actor: Actor, audit_id: IdPath, body: CohortDraw
) -> CohortDrawn:
    """Draw the cohort fairly and reproducibly: ``count`` of the positions 1 to
    ``eligible`` in the partnership's own list of eligible children (the rule is in
    the README, under "A fair sample", so anyone can check it), each a new child
    "Child A", "Child B", ... in ascending order of position. The seed and the result
    are in the audit log."""
    audit = service.get_audit(session, actor=actor, audit_id=audit_id)
    drawn, children = cohort.draw_cohort(session, audit=audit, **body.model_dump())
    rows = cohort.involvement_rows(session, actor=actor, child_ids=[c.id for c in children])
    return CohortDrawn(
        seed=drawn.seed,
        age_band=body.age_band,
        eligible=drawn.eligible,
        positions=drawn.positions,
        children=[
            DrawnChild(position=p, child=_child_out(c, rows))
            for p, c in zip(drawn.positions, children, strict=True)
        ],
    )


@router.patch("/children/{child_id}", name="api.children.update")
@transactional
def update_child(session: SessionDep, actor: Actor, child_id: IdPath, body: ChildPatch) -> ChildOut:
    child = cohort.get_child(session, actor=actor, child_id=child_id)
    audit = service.get_audit(session, actor=actor, audit_id=child.audit_id)
    changes = body.model_dump(exclude_unset=True)
    child = cohort.update_child(session, audit=audit, child=child, changes=changes)
    return _child_out(child, cohort.involvement_rows(session, actor=actor, child_ids=[child.id]))


@router.delete(
    "/children/{child_id}", name="api.children.delete", status_code=status.HTTP_204_NO_CONTENT
)
@transactional
def remove_child(session: SessionDep, actor: Actor, child_id: IdPath) -> Response:
    child = cohort.get_child(session, actor=actor, child_id=child_id)
    audit = service.get_audit(session, actor=actor, audit_id=child.audit_id)
    cohort.remove_child(session, audit=audit, child=child)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/audits/{audit_id}/involvements",
    name="api.involvements.create",
    status_code=status.HTTP_201_CREATED,
)
@transactional
def add_involvement(
    session: SessionDep, actor: Actor, audit_id: IdPath, body: InvolvementCreate
) -> InvolvementOut:
    audit = service.get_audit(session, actor=actor, audit_id=audit_id)
    child = cohort.child_in_audit(session, audit=audit, child_id=body.child_id)
    involvement = cohort.add_involvement(
        session, audit=audit, child=child, agency_id=body.agency_id
    )
    rows = cohort.involvement_rows(session, actor=actor, child_ids=[child.id])[child.id]
    return InvolvementOut.model_validate(next(r for r in rows if r["id"] == involvement.id))


@router.delete(
    "/involvements/{involvement_id}",
    name="api.involvements.delete",
    status_code=status.HTTP_204_NO_CONTENT,
)
@transactional
def remove_involvement(session: SessionDep, actor: Actor, involvement_id: IdPath) -> Response:
    involvement = cohort.get_involvement(session, involvement_id=involvement_id)
    audit = service.get_audit(session, actor=actor, audit_id=involvement.audit_id)
    cohort.remove_involvement(session, audit=audit, involvement=involvement)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
