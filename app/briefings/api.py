"""Briefings over JSON.

Everything the briefing pages do, by the same workflow: the editors' list (each
briefing's newest version, searched, filtered and sorted as the page is), drafting a
briefing from a moderated audit, a briefing with every version, and a version: reading
where it stands (who drafted it, who approved it, what the identification check found,
its sections), saving its sections (under the editor's optimistic lock), showing a
table's small counts of children as "fewer than N" (and every number again),
submitting it, approving it, sending it back, publishing it (queued: the PDF is made by
the renderer, never in a request), withdrawing it, starting the next version, and its
HTML preview.

The library, as its pages show it: published briefings searched and filtered (public
ones without signing in, every one signed in), a briefing with its versions, and its
PDFs, each download counted as the pages count it; "was this useful?" on a briefing.
The counts of a briefing's downloads and of its readers' answers (by agency and by
month, JSON and CSV) and its assurance questionnaire (launched, its answers read, and
answered by each agency's auditors or its lead) for those who see them in the subgroup
report.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app import clock
from app.access.browser import client_address
from app.access.csrf import CSRF_HEADER
from app.access.policy import Actor, Via, may_lead_agency
from app.access.signin import counted_as
from app.audits import service as audits
from app.briefings import (
    assurance,
    content,
    drafting,
    library,
    pack,
    service,
    suppression,
    workflow,
)
from app.briefings.models import Briefing, BriefingKind, BriefingVersion, VersionStatus
from app.briefings.schemas import (
    Approve,
    AssuranceLaunch,
    AssuranceOut,
    BriefingCreate,
    BriefingOut,
    BriefingRowOut,
    BriefingSort,
    BriefingSubmit,
    BriefingVersionOut,
    DownloadCountsOut,
    Feedback,
    FeedbackOut,
    LibraryEntryOut,
    LibraryItemOut,
    LibraryVersionOut,
    PackCreate,
    PublishIn,
    SectionsSave,
    SendBack,
    SuppressTable,
    Withdraw,
)
from app.config import Settings
from app.deps import IdPath, IdQuery, SessionDep, check_csrf, transactional
from app.errors import NotFound
from app.middleware import PREVIEW_CSP
from app.pagination import Page, PageDep
from app.returns import reading
from app.returns import service as returns
from app.returns.schemas import DraftSave, ReturnOut, Submit
from app.schemas_base import OneLine, WrittenDate

router = APIRouter(prefix="/api/v1", tags=["briefings"])

# OpenAPI descriptions of a step's refusals, in the shape FastAPI's `responses` takes.
STEP_REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"description": "The version is not in a status that allows this step."},
}
CHECKED: dict[int | str, dict[str, Any]] = {
    409: {"description": "The version is not a draft."},
    422: {
        "description": "The identification check refused it: ``errors`` lists every "
        "problem (``document``: something identifying, to fix; ``table-<key>``: a "
        'table\'s small counts of children, to show as "fewer than N"; '
        "``confirm_small_counts``: something in the text to check, then confirm)."
    },
}


def _section_texts(version: BriefingVersion) -> dict[str, str]:
    """The version's saved text by section, as the editor shows it: a learning briefing
    saved before its seven boxes as ``drafting.current_sections`` maps it."""
    if version.briefing.kind == BriefingKind.BRIEFING:
        return drafting.current_sections(version.sections)
    return dict(version.sections)


def _page_one_percent(version: BriefingVersion, texts: dict[str, str]) -> int | None:
    """How much of a learning briefing's page 1 its text fills, as the editor shows it."""
    if version.briefing.kind != BriefingKind.BRIEFING:
        return None
    return content.page_one_fill(texts, version.briefing.title).percent


def _out(
    session: Session, version: BriefingVersion, actor: Actor, settings: Settings
) -> BriefingVersionOut:
    check = workflow.check_as_read(session, version=version, actor=actor, settings=settings)
    texts = _section_texts(version)
    headings = service.section_headings(version.briefing.kind)
    return BriefingVersionOut.model_validate(
        {
            "id": version.id,
            "briefing_id": version.briefing_id,
            "number": version.number,
            "title": version.briefing.title,
            "kind": version.briefing.kind,
            "status": version.status,
            "marking": version.marking,
            "drafted_by": version.drafted_by,
            "approvals": [
                {"approver": a.approver, "approved_at": a.approved_at}
                for a in service.approvals(session, version=version)
            ],
            "approvals_needed": settings.briefing_approvers,
            "approved_by": version.approved_by,
            "approved_at": version.approved_at,
            "submitted_at": version.submitted_at,
            "published_on": version.published_on,
            "render_status": version.render_status,
            "suppressed_tables": version.suppressed_tables,
            "check_report": check,
            "check_digest": service.report_digest(check),
            "lock_version": version.lock_version,
            "sections": [
                {"key": key, "heading": heading, "text": texts.get(key, "")}
                for key, heading in headings.items()
            ],
            "page_one_percent": _page_one_percent(version, texts),
            "withdrawn_reason": version.withdrawn_reason,
        }
    )


# --- the editors' list, a new briefing, and a briefing with its versions -------------


@router.get("/briefings", name="api.briefings.list")
@transactional
def list_briefings(
    session: SessionDep,
    actor: Actor,
    params: PageDep,
    audit_id: Annotated[IdQuery, Query(description="One audit's briefings.")] = None,
    q: Annotated[str, Query(max_length=200, description="Words in the title."), OneLine] = "",
    status_: Annotated[
        VersionStatus | None,
        Query(alias="status", description="The newest version's status."),
    ] = None,
    kind: BriefingKind | None = None,
    sort: Annotated[
        BriefingSort,
        Query(description='A column; "-" first for descending. Newest first by default.'),
    ] = BriefingSort.CREATED_DESC,
) -> Page[BriefingRowOut]:
    """Every briefing's newest version, as the editors' list shows them: of one audit
    (404 for an audit you may not see), with ``q`` in the title, in one status, of one
    kind."""
    if audit_id is not None:
        audits.get_audit(session, audit_id=audit_id, actor=actor)
    found = service.latest_versions(
        session,
        audit_id=audit_id,
        q=q.strip() or None,
        status=status_,
        kind=kind,
        sort=sort.value,
    )
    shown = found[params.offset : params.offset + params.per_page]
    items = [
        {
            "briefing_id": v.briefing_id,
            "version_id": v.id,
            "number": v.number,
            "title": v.briefing.title,
            "kind": v.briefing.kind,
            "public": v.briefing.public,
            "audit_id": v.briefing.audit_id,
            "audit_title": v.briefing.audit.title if v.briefing.audit else None,
            "status": v.status,
            "render_status": v.render_status,
            "created_at": v.created_at,
            "submitted_at": v.submitted_at,
            "published_on": v.published_on,
        }
        for v in shown
    ]
    return Page[BriefingRowOut].build(items, len(found), params)


@router.post(
    "/audits/{audit_id}/briefings",
    name="api.briefings.create",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "The audit is not moderated yet (learning or closed)."}},
)
@transactional
def create_briefing(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, body: BriefingCreate
) -> BriefingVersionOut:
    """Draft a briefing from a moderated audit (in learning, or closed: 409 otherwise):
    its version 1, a draft whose sections are drafted from the audit's findings and
    actions (a subgroup report's summary and decisions from its figures), written by
    you."""
    settings = request.app.state.settings
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    version = workflow.create(
        session,
        audit=audit,
        kind=body.kind,
        title=body.title,
        marking=body.marking,
        public=body.public,
        actor=actor,
        settings=settings,
    )
    return _out(session, version, actor, settings)


@router.post(
    "/inspection-packs",
    name="api.briefings.pack_create",
    status_code=status.HTTP_201_CREATED,
)
@transactional
def create_pack(
    session: SessionDep, request: Request, actor: Actor, body: PackCreate
) -> BriefingVersionOut:
    """Draft an inspection-readiness pack for a period (both days included) and
    optionally one audit theme: its version 1, a draft whose three self-evaluation
    answers (what do we know about the quality and impact of practice; how do we know
    it; what are we doing about it) are drafted from the figures, written by you. It
    goes through the identification check, four-eyes approval and publishing as a
    briefing does; it is never public and never in the library. 422 for a period that
    ends before it starts, or is longer than the trends allow."""
    settings = request.app.state.settings
    period = pack.period_of(body.period_from, body.period_to, body.theme)
    version = workflow.create_pack(
        session,
        period=period,
        title=body.title,
        marking=body.marking,
        actor=actor,
        settings=settings,
    )
    return _out(session, version, actor, settings)


@router.get(
    "/briefings/versions/{version_id}/figures.xlsx",
    name="api.briefings.pack_figures",
    response_class=Response,
    responses={200: {"content": {pack.XLSX: {}}}, 404: {"description": "Not a pack."}},
)
@transactional
def pack_figures(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath
) -> Response:
    """An inspection pack's figures as a spreadsheet: a sheet for each table the PDF
    prints, with the same rows (counts as numbers, shares as fractions, intervals as
    two columns). A published version's is the one made with its PDF, from the same
    reading of the data; any other version's is as the figures stand now."""
    version = service.get_version(session, version_id=version_id)
    if version.briefing.kind != BriefingKind.INSPECTION_PACK:
        raise NotFound(f"Briefing version {version_id} is not an inspection pack.")
    if version.status == VersionStatus.WITHDRAWN:
        raise NotFound(f"Version {version.number} of this pack was withdrawn.")
    stored = pack.stored_figures(session, version=version)
    if stored is None:
        context = service.document_context(
            session, version=version, settings=request.app.state.settings
        )
        stored = pack.to_xlsx(context["trends"], context["doc"])
    name = pack.filename(version)
    return Response(
        stored,
        media_type=pack.XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _briefing(session: Session, briefing_id: int) -> Briefing:
    briefing = session.scalar(
        select(Briefing)
        .where(Briefing.id == briefing_id)
        .options(selectinload(Briefing.versions), selectinload(Briefing.audit))
    )
    if briefing is None:
        raise NotFound(f"There is no briefing with id {briefing_id}.")
    return briefing


@router.get("/briefings/{briefing_id}", name="api.briefings.get")
@transactional
def get_briefing(session: SessionDep, briefing_id: IdPath) -> BriefingOut:
    """A briefing and every version of it, newest first, whatever its status (the
    library shows only the published ones: ``/library/{briefing_id}``)."""
    briefing = _briefing(session, briefing_id)
    return BriefingOut.model_validate(
        {
            "id": briefing.id,
            "title": briefing.title,
            "kind": briefing.kind,
            "public": briefing.public,
            "audit_id": briefing.audit_id,
            "audit_title": briefing.audit.title if briefing.audit else None,
            "theme": (briefing.audit.theme if briefing.audit else briefing.theme) or "",
            "period_from": briefing.period_from,
            "period_to": briefing.period_to,
            "created_at": briefing.created_at,
            "assurance_audit_id": briefing.assurance_audit_id,
            "versions": sorted(briefing.versions, key=lambda v: v.number, reverse=True),
        }
    )


# --- a version ------------------------------------------------------------------------


@router.get("/briefings/versions/{version_id}", name="api.briefings.version")
@transactional
def get_version(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath
) -> BriefingVersionOut:
    """Where a version stands; whoever may approve it reads its identification check as
    it runs now, with the ``check_digest`` to approve what they read."""
    version = service.get_version(session, version_id=version_id)
    return _out(session, version, actor, request.app.state.settings)


@router.post("/briefings/versions/{version_id}/approve", name="api.briefings.approve")
@transactional
def approve(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, body: Approve
) -> BriefingVersionOut:
    """Approve a submitted version: never by one of its authors (403, four_eyes), once
    per person, with ``check_read`` true (422 naming it otherwise); with ``check_seen``,
    only if the check still finds what the approver read (409 otherwise)."""
    settings = request.app.state.settings
    version = service.get_version(session, version_id=version_id)
    workflow.approve(
        session,
        version=version,
        actor=actor,
        settings=settings,
        check_read=body.check_read,
        confirm_small_counts=body.confirm_small_counts,
        check_seen=body.check_seen,
    )
    return _out(session, version, actor, settings)


@router.put(
    "/briefings/versions/{version_id}/sections",
    name="api.briefings.save",
    responses={
        409: {
            "description": "Stale: someone saved the version since you read its "
            "lock_version (nothing was saved: read it again), or it is not a draft."
        },
        422: {"description": "A section the kind does not have, or a value not valid."},
    },
)
@transactional
def save_sections(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, body: SectionsSave
) -> BriefingVersionOut:
    """Save a draft's sections and marking, as the editor saves them: the sections given
    (the others are kept), under the ``lock_version`` you read. You become one of the
    version's authors, so you may not approve it."""
    version = service.get_version(session, version_id=version_id)
    saved = workflow.save(
        session,
        version=version,
        sections=body.sections,
        marking=body.marking,
        read_lock=body.lock_version,
        actor=actor,
    )
    return _out(session, saved, actor, request.app.state.settings)


@router.post(
    "/briefings/versions/{version_id}/submit", name="api.briefings.submit", responses=CHECKED
)
@transactional
def submit(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, body: BriefingSubmit
) -> BriefingVersionOut:
    """Submit a draft for approval; the identification check runs first, and refuses it
    (422, every problem listed) while it finds anything that identifies a child, a
    table's small counts of children not shown as "fewer than N", or things in the text
    to check that are not confirmed (``confirm_small_counts``). The approvers are told."""
    settings = request.app.state.settings
    version = service.get_version(session, version_id=version_id)
    workflow.submit(
        session,
        version=version,
        actor=actor,
        settings=settings,
        confirm_small_counts=body.confirm_small_counts,
    )
    return _out(session, version, actor, settings)


@router.post(
    "/briefings/versions/{version_id}/send-back",
    name="api.briefings.send_back",
    responses={
        409: {"description": "The version is not submitted or approved, or is being published."}
    },
)
@transactional
def send_back(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, body: SendBack
) -> BriefingVersionOut:
    """Send a submitted or approved version back to draft, with a note for its authors;
    its approvals are removed."""
    version = service.get_version(session, version_id=version_id)
    workflow.send_back(session, version=version, note=body.note)
    return _out(session, version, actor, request.app.state.settings)


@router.post(
    "/briefings/versions/{version_id}/publish",
    name="api.briefings.publish",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        409: {
            "description": "The version is not approved, or the briefing's assurance "
            "questionnaire was launched already."
        },
        422: {"description": "The answers would be due today or earlier."},
    },
)
@transactional
def publish(
    session: SessionDep,
    request: Request,
    actor: Actor,
    version_id: IdPath,
    body: PublishIn,
    background: BackgroundTasks,
) -> BriefingVersionOut:
    """Publish an approved version, as the editor does: it is queued
    (``render_status`` queued) and this returns at once (202); the renderer makes the
    PDF, checks it as printed and publishes it (``status`` published, ``render_status``
    done), or sends it back to draft with what the check found. Read the version again
    to see which. Asking again while it is queued changes nothing."""
    version = service.get_version(session, version_id=version_id)
    workflow.publish(session, version=version, assurance_due_on=body.assurance_due_on)
    renders = getattr(request.app.state, "renders", None)
    if renders is not None:
        # Runs once the response is sent, so after this request has committed.
        background.add_task(renders.kick)
    return _out(session, version, actor, request.app.state.settings)


@router.post(
    "/briefings/versions/{version_id}/withdraw",
    name="api.briefings.withdraw",
    responses={
        409: {"description": "The version is not published."},
        422: {"description": "No reason given."},
    },
)
@transactional
def withdraw(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, body: Withdraw
) -> BriefingVersionOut:
    """Withdraw a published version, saying why: the library no longer serves it (nor
    the briefing's earlier versions)."""
    version = service.get_version(session, version_id=version_id)
    workflow.withdraw(session, version=version, reason=body.reason)
    return _out(session, version, actor, request.app.state.settings)


@router.post(
    "/briefings/versions/{version_id}/new-version",
    name="api.briefings.new_version",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "Another version of the briefing is still being worked on."}},
)
@transactional
def new_version(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath
) -> BriefingVersionOut:
    """Start the briefing's next version: a draft copied from this one, drafted by you
    (409 while another version is a draft, submitted or approved)."""
    version = service.get_version(session, version_id=version_id)
    draft = workflow.new_version(session, version=version, actor=actor)
    return _out(session, draft, actor, request.app.state.settings)


@router.get(
    "/briefings/versions/{version_id}/preview",
    name="api.briefings.preview",
    response_class=Response,
    responses={
        200: {
            "description": "The document as HTML, as the editor's preview shows it.",
            "content": {"text/html": {}},
        }
    },
)
@transactional
def preview(session: SessionDep, request: Request, version_id: IdPath) -> Response:
    """The document as it will print, as HTML, made in this request as the editor's
    preview is (from the version's sections and the audit as it stands now). No PDF:
    a PDF is only ever made by the renderer, once, when the version is published."""
    from app.briefings import render as rendering

    version = service.get_version(session, version_id=version_id)
    context = service.document_context(
        session, version=version, settings=request.app.state.settings
    )
    html = rendering.html_for(version.briefing.kind.value, context)
    return HTMLResponse(html, headers={"Content-Security-Policy": PREVIEW_CSP})


@router.post(
    "/briefings/versions/{version_id}/suppressed-tables", name="api.briefings.suppress_table"
)
@transactional
def suppress_table(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, body: SuppressTable
) -> BriefingVersionOut:
    """Show a table's small counts of children as "fewer than N" (a draft only: 409
    otherwise; 422 for a table the document does not have)."""
    settings = request.app.state.settings
    version = service.get_version(session, version_id=version_id)
    suppression.suppress_table(
        session, version=version, table=body.table, settings=settings, actor=actor
    )
    return _out(session, version, actor, settings)


@router.delete(
    "/briefings/versions/{version_id}/suppressed-tables/{table}",
    name="api.briefings.show_table_numbers",
)
@transactional
def show_table_numbers(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, table: str
) -> BriefingVersionOut:
    """Show every number of the table again (a draft only)."""
    settings = request.app.state.settings
    version = service.get_version(session, version_id=version_id)
    suppression.show_table_numbers(
        session, version=version, table=table, settings=settings, actor=actor
    )
    return _out(session, version, actor, settings)


# --- the library ----------------------------------------------------------------------

PDF = "application/pdf"
# A generated client reads no PDF (openapi-python-client takes JSON, text and
# octet-stream): the same bytes are declared as octet-stream too, for it to hand over.
PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The PDF, byte for byte as published (its SHA-256 in the ETag).",
        "content": {PDF: {}, "application/octet-stream": {}},
    }
}
CSV = "text/csv; charset=utf-8"


def _signed_in(actor: Actor) -> bool:
    return actor.user_id is not None


def _pdf_url(request: Request, briefing_id: int, number: int) -> str:
    return request.app.url_path_for("api.library.download", briefing_id=briefing_id, number=number)


@router.get("/library", name="api.library.list")
@transactional
def library_list(
    session: SessionDep,
    request: Request,
    actor: Actor,
    params: PageDep,
    q: Annotated[
        str,
        Query(
            max_length=200,
            description='Words (all must appear) or "phrases in quotes", searched in the '
            "whole text of each briefing.",
        ),
    ] = "",
    theme: Annotated[str, Query(max_length=200, description="The audit's theme.")] = "",
    subgroup_id: Annotated[IdQuery, Query(description="The audit's lead subgroup.")] = None,
    audit_id: IdQuery = None,
    published_from: Annotated[
        WrittenDate | None, Query(description="Published on or after.")
    ] = None,
    published_to: Annotated[
        WrittenDate | None, Query(description="Published on or before.")
    ] = None,
) -> Page[LibraryItemOut]:
    """Published briefings, newest first, each with its current version: public ones
    for anyone, every one for anyone signed in."""
    found = library.library(
        session,
        signed_in=_signed_in(actor),
        q=q.strip(),
        theme=theme,
        subgroup_id=subgroup_id,
        audit_id=audit_id,
        published_from=published_from,
        published_to=published_to,
    )
    shown = found[params.offset : params.offset + params.per_page]
    items = [
        {**item, "download_url": _pdf_url(request, item["briefing_id"], item["version"])}
        for item in library.listed(session, shown)
    ]
    return Page[LibraryItemOut].build(items, len(found), params)


def _version_out(
    request: Request, briefing: Briefing, version: BriefingVersion, pdfs: dict
) -> LibraryVersionOut:
    served = library.downloadable(briefing, version)
    pdf = pdfs.get(version.id)
    return LibraryVersionOut.model_validate(
        {
            "id": version.id,
            "number": version.number,
            "status": version.status,
            "superseded": version.superseded_at is not None,
            "published_on": version.published_on,
            "downloadable": served,
            "size": pdf.size if pdf else None,
            "pages": pdf.pages if pdf else None,
            "download_url": _pdf_url(request, briefing.id, version.number) if served else None,
        }
    )


@router.get("/library/{briefing_id}", name="api.library.entry")
@transactional
def library_entry(
    session: SessionDep, request: Request, actor: Actor, briefing_id: IdPath
) -> LibraryEntryOut:
    """A published briefing (public, or any when signed in) with its published and
    withdrawn versions, newest first; a withdrawn briefing serves nothing."""
    briefing = library.library_entry(session, briefing_id=briefing_id, signed_in=_signed_in(actor))
    current = library.current_version(briefing)
    shown = library.shown_versions(briefing) if current else []
    pdfs = library.stored(session, version_ids=[v.id for v in shown])
    return LibraryEntryOut.model_validate(
        {
            "briefing_id": briefing.id,
            "title": briefing.title,
            "kind": briefing.kind,
            "public": briefing.public,
            "theme": briefing.drafted_from.theme,
            "audit_id": briefing.drafted_from.id,
            "audit_title": briefing.drafted_from.title,
            "withdrawn": current is None,
            "summary": library.summary_of(briefing.kind, current.sections) if current else "",
            "current": _version_out(request, briefing, current, pdfs) if current else None,
            "versions": [_version_out(request, briefing, v, pdfs) for v in shown],
        }
    )


@router.get(
    "/library/{briefing_id}/versions/{number}.pdf",
    name="api.library.download",
    response_class=Response,
    responses=PDF_RESPONSE,
)
@transactional
def library_download(
    session: SessionDep,
    actor: Actor,
    briefing_id: IdPath,
    number: IdPath,
) -> Response:
    """A version's PDF, counted as a download (by the agency of whoever is signed in),
    exactly as the library's page counts it: a withdrawn briefing's are not served."""
    version_id = library.version_by_number(session, briefing_id=briefing_id, number=number)
    version, document = library.download(session, version_id=version_id, actor=actor)
    name = library.filename(version.briefing, version)
    return Response(
        document.pdf,
        media_type=PDF,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "ETag": f'"{document.sha256}"',
            "X-Content-SHA256": document.sha256,
        },
    )


@router.post(
    "/library/{briefing_id}/feedback",
    name="api.library.feedback",
    status_code=status.HTTP_201_CREATED,
)
@transactional
def library_feedback(
    session: SessionDep, request: Request, actor: Actor, briefing_id: IdPath, body: Feedback
) -> FeedbackOut:
    """Say whether a briefing was useful (its current version), with an optional comment
    that must not name anyone: anyone who can read the briefing, counted by the agency
    of whoever is signed in, as its downloads are. At most
    ``FEEDBACK_PER_HOUR`` (10) an hour from one network (429); 409 for a withdrawn
    briefing."""
    if actor.via == Via.SESSION:  # a public route: the cookie's CSRF token is checked here
        check_csrf(request, request.headers.get(CSRF_HEADER))
    given = library.give_feedback(
        session,
        briefing_id=briefing_id,
        useful=body.useful,
        comment=body.comment,
        actor=actor,
        source=counted_as(client_address(request)),
    )
    return FeedbackOut.model_validate(
        {
            "briefing_id": given.briefing_id,
            "version_id": given.version_id,
            "useful": given.useful,
            "comment": given.comment,
        }
    )


# --- the counts of downloads and feedback ---------------------------------------------


@router.get("/briefings/{briefing_id}/downloads", name="api.briefings.downloads")
@transactional
def downloads(session: SessionDep, briefing_id: IdPath) -> DownloadCountsOut:
    """How often the briefing was downloaded (every version), in all, by the agency of
    the people signed in and by month, and how many readers said it was useful or not
    (in all and by month, with their comments): as the subgroup report shows it."""
    return DownloadCountsOut.model_validate(
        library.download_counts(session, briefing_id=briefing_id)
    )


@router.get(
    "/briefings/{briefing_id}/downloads.csv",
    name="api.briefings.downloads_csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
@transactional
def downloads_csv(session: SessionDep, briefing_id: IdPath) -> Response:
    """The counts as CSV, a row per month and agency: downloads, useful and not useful
    (UTF-8 with a BOM, for Excel)."""
    counts = library.download_counts(session, briefing_id=briefing_id)
    return Response(
        library.download_counts_csv(counts),
        media_type=CSV,
        headers={
            "Content-Disposition": f'attachment; filename="briefing-{briefing_id}-downloads.csv"'
        },
    )


# --- the assurance questionnaire ------------------------------------------------------


def _assurance_out(session: Session, briefing_id: int) -> AssuranceOut:
    found = assurance.answers(session, briefing_id=briefing_id)
    found["agencies"] = [
        {**row, "answers": [{"question": q, "answer": a} for q, a in row["answers"]]}
        for row in found["agencies"]
    ]
    return AssuranceOut.model_validate(found)


@router.get("/briefings/{briefing_id}/assurance", name="api.briefings.assurance")
@transactional
def get_assurance(session: SessionDep, briefing_id: IdPath) -> AssuranceOut:
    """The briefing's assurance questionnaire: each agency's answers so far (those the
    subgroup report quotes), and whether it is open or closed, and why."""
    return _assurance_out(session, briefing_id)


@router.post(
    "/briefings/{briefing_id}/assurance",
    name="api.briefings.assurance_launch",
    status_code=status.HTTP_201_CREATED,
)
@transactional
def launch_assurance(
    session: SessionDep, briefing_id: IdPath, body: AssuranceLaunch
) -> AssuranceOut:
    """Send the assurance questionnaire for a published learning briefing, as publishing
    it with a due date does: each agency that took part in its audit answers by
    ``due_on`` (after today: 422 otherwise); 409 if it was sent already, or the briefing
    is not a published learning briefing."""
    assurance.launch_for(session, briefing_id=briefing_id, due_on=body.due_on, today=clock.today())
    return _assurance_out(session, briefing_id)


@router.get("/briefings/{briefing_id}/assurance/return", name="api.briefings.assurance_return")
@transactional
def assurance_return(session: SessionDep, actor: Actor, briefing_id: IdPath) -> ReturnOut:
    """Your agency's return in the questionnaire (its questions are the template
    version's, ``/template-versions/{id}``), for its auditors and its lead. Every read is
    logged, as a return's is."""
    return_ = assurance.return_to_answer(session, briefing_id=briefing_id, actor=actor)
    return ReturnOut.model_validate(reading.read(session, return_id=return_.id, actor=actor))


@router.put(
    "/briefings/{briefing_id}/assurance/return",
    name="api.briefings.assurance_save",
    responses={409: {"description": "Stale version, or the questionnaire has closed."}},
)
@transactional
def save_assurance(
    session: SessionDep, actor: Actor, briefing_id: IdPath, body: DraftSave
) -> ReturnOut:
    """Save your agency's answers, as a return's draft is saved (send the ``version``
    you read): by its auditors, or by its lead."""
    return_ = assurance.return_to_answer(session, briefing_id=briefing_id, actor=actor)
    returns.save_draft(session, return_=return_, **body.saved())
    return ReturnOut.model_validate(reading.detail(session, return_id=return_.id, actor=actor))


@router.post(
    "/briefings/{briefing_id}/assurance/return/submit",
    name="api.briefings.assurance_submit",
    responses={409: {"description": "Stale version, or the questionnaire has closed."}},
)
@transactional
def submit_assurance(
    session: SessionDep, actor: Actor, briefing_id: IdPath, body: Submit
) -> ReturnOut:
    """Submit your agency's answers (422 lists what is missing, or what looks
    identifying unless ``confirm_identifying``). The lead's submission is its own
    sign-off. Once every agency has answered, the questionnaire closes."""
    return_ = assurance.return_to_answer(session, briefing_id=briefing_id, actor=actor)
    returns.submit(
        session,
        return_=return_,
        read_version=body.version,
        signed_off=may_lead_agency(actor, return_.agency_id),
        confirmed=body.confirm_identifying,
    )
    return ReturnOut.model_validate(reading.detail(session, return_id=return_.id, actor=actor))
