"""Briefings over JSON.

A briefing version: reading where it stands (who drafted it, who approved it, what the
identification check found), showing a table's small counts of children as "fewer than
N" (and every number again), and approving it. The rest of that workflow is on the pages.

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

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.orm import Session

from app import clock
from app.access.browser import client_address
from app.access.csrf import CSRF_HEADER
from app.access.policy import Actor, Via, may_lead_agency
from app.access.signin import counted_as
from app.briefings import assurance, library, service, suppression, workflow
from app.briefings.models import Briefing, BriefingVersion
from app.briefings.schemas import (
    Approve,
    AssuranceLaunch,
    AssuranceOut,
    BriefingVersionOut,
    DownloadCountsOut,
    Feedback,
    FeedbackOut,
    LibraryEntryOut,
    LibraryItemOut,
    LibraryVersionOut,
    SuppressTable,
)
from app.config import Settings
from app.deps import IdPath, IdQuery, SessionDep, check_csrf, transactional
from app.pagination import Page, PageDep
from app.returns import reading
from app.returns import service as returns
from app.returns.schemas import DraftSave, ReturnOut, Submit
from app.schemas_base import WrittenDate

router = APIRouter(prefix="/api/v1", tags=["briefings"])


def _out(
    session: Session, version: BriefingVersion, actor: Actor, settings: Settings
) -> BriefingVersionOut:
    check = workflow.check_as_read(session, version=version, actor=actor, settings=settings)
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
        }
    )


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
            "theme": briefing.audit.theme,
            "audit_id": briefing.audit.id,
            "audit_title": briefing.audit.title,
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
    returns.save_draft(
        session,
        return_=return_,
        read_version=body.version,
        answers=body.answers,
        grades=body.grades,
        evidence=body.evidence,
        overall_grade=("overall_grade" in body.model_fields_set, body.overall_grade),
        auditor_name=body.auditor_name,
    )
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
