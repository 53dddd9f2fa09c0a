"""The administrator's pages for people without an account: an audit's one-time links
(``respond.links``: each return that may be answered by link, where its link stands; a
link made is shown once, to pass on by the administrator's own channel, and never
again), and asking the families of an audit's children with a family survey
(``respond.survey_new``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app import clock
from app.access.browser import settings_of
from app.access.policy import Actor
from app.audits import service as audits
from app.audits.models import Audit
from app.deps import IdPath, PostedForm, SessionDep, transactional
from app.errors import StateError
from app.forms import Form, FormInvalid, FormState
from app.respond import service, survey
from app.respond.schemas import LinkChoice, SurveyCreate
from app.templating import flash, redirect, render

router = APIRouter(include_in_schema=False)


LINK = Form(LinkChoice, fields=("return_id",), messages={"return_id": "Choose a return"})
SURVEY = Form(
    SurveyCreate,
    fields=("template_version_id", "agency_id", "returns_due_on"),
    dates={"returns_due_on": "The date the answers are due"},
    messages={
        "template_version_id": "Choose the survey to use",
        "agency_id": "Choose the agency that carries the survey",
        "returns_due_on": "Enter the date the answers are due",
    },
)


def _links_page(
    request: Request, session: Session, audit: Audit, *, form=None, status_code: int = 200
) -> Response:
    return render(
        request,
        "respond/links.html",
        {
            "audit": audit,
            "by_link": service.by_link(audit),
            "links": service.link_rows(session, audit=audit),
            "days": settings_of(request).respondent_link_days,
            "form": form,
        },
        status_code=status_code,
    )


def _links_refused(
    request: Request, session: Session, audit: Audit, invalid: FormInvalid
) -> Response:
    # The return is chosen by a button, not a field: the summary points at the table.
    listed = tuple({"text": m, "href": "#links"} for m in invalid.errors.values())
    return _links_page(
        request, session, audit, form=FormState(listed=listed), status_code=invalid.status_code
    )


@router.get("/audits/{audit_id}/respondent-links", name="respond.links")
@transactional
def links(session: SessionDep, request: Request, actor: Actor, audit_id: IdPath) -> Response:
    """The audit's returns that may be answered by one-time link, each with where its
    link stands: none, sent, answered or expired."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    return _links_page(request, session, audit)


@router.post("/audits/{audit_id}/respondent-links", name="respond.issue")
@transactional
def issue(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, posted: PostedForm
) -> Response:
    """Make a link for one return and show it, once: it is not kept, so it cannot be
    shown again (a new one can be made, which stops this one working)."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    try:
        body = LINK.read(posted)
        with LINK.submitting(session, posted):
            link, plain = service.issue(
                session,
                audit=audit,
                return_id=body.return_id,
                actor=actor,
                settings=settings_of(request),
            )
    except FormInvalid as invalid:
        return _links_refused(request, session, audit, invalid)
    row = next(r for r in service.link_rows(session, audit=audit) if r.return_id == link.return_id)
    return render(
        request,
        "respond/issued.html",
        {
            "audit": audit,
            "row": row,
            "link": link,
            "address": service.link_url(plain, settings_of(request)),
            "family": audit.survey_of_audit_id is not None,
        },
    )


@router.post("/audits/{audit_id}/respondent-links/void", name="respond.void")
@transactional
def void(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, posted: PostedForm
) -> Response:
    """Stop a return's link working (given to the wrong person, say)."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    try:
        body = LINK.read(posted)
    except FormInvalid as invalid:
        return _links_refused(request, session, audit, invalid)
    voided = service.void(session, audit=audit, return_id=body.return_id)
    flash("The link no longer works." if voided else "There was no link working to stop.")
    return redirect(request, "respond.links", audit_id=audit.id)


# --- the administrator's pages: asking the families -------------------------------------


def _survey_page(
    request: Request,
    session: Session,
    audit: Audit,
    *,
    form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    found = survey.survey_templates(session)
    problem = None
    try:
        survey.may_survey(audit)
    except StateError as refused:
        problem = refused.message
    if form is None:
        chosen = survey.preselected(found)
        form = SURVEY.state({"template_version_id": str(chosen) if chosen else ""})
    return render(
        request,
        "respond/survey_new.html",
        {
            "audit": audit,
            "problem": problem,
            "versions": [(t.version_id, t.label) for t in found],
            "agencies": [(a.id, a.name) for a in audit.agencies],
            "children": survey.cohort_size(session, audit=audit),
            "form": form,
        },
        status_code=status_code,
    )


@router.get("/audits/{audit_id}/family-survey", name="respond.survey_new")
@transactional
def survey_new(session: SessionDep, request: Request, actor: Actor, audit_id: IdPath) -> Response:
    """Ask the families of this audit's children: which survey, which agency carries
    it, and when the answers are due."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    return _survey_page(request, session, audit)


@router.post("/audits/{audit_id}/family-survey", name="respond.survey_create")
@transactional
def survey_create(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, posted: PostedForm
) -> Response:
    """Make the survey (a new audit with the same children, opened), then its links."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    try:
        body = SURVEY.read(posted)
        with SURVEY.submitting(session, posted):
            made = survey.create_survey(
                session,
                audit=audit,
                template_version_id=body.template_version_id,
                agency_id=body.agency_id,
                returns_due_on=body.returns_due_on,
                today=clock.today(),
            )
    except FormInvalid as invalid:
        return _survey_page(
            request, session, audit, form=invalid.state(), status_code=invalid.status_code
        )
    flash(
        "The family survey has been made and opened. Make a one-time link for each family "
        "below, or the agency's auditors can fill it in with a family by telephone."
    )
    return redirect(request, "respond.links", audit_id=made.id)
