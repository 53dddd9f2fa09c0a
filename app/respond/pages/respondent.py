"""The pages a one-time link opens (``respond.form``): the whole return on one page, in
a layout of its own with no service navigation and no link anywhere in the service. It
needs no sign-in and sets no cookie. Its form carries a token bound to the link
(``answering.form_token``: an HMAC of the link under the secret key) and must come from
the service's own origin, so another site cannot post it for someone. Every link that
does not work is one page, "This link cannot be used" (404 unknown, 410 used, voided
or expired), and counts against the client address (``answering.admit``: 429 past the
hourly allowance); those counts are kept although the request is refused
(``transactional(keep_refusals=True)``), and what a refused send had saved as a draft
is kept too (each service call in a savepoint of its own: ``undone_if_refused``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.access.browser import client_address, settings_of
from app.access.csrf import CSRF_FIELD, sent_from_elsewhere
from app.access.policy import ANONYMOUS
from app.audit_templates import service as templates
from app.context import RequestContext, bound, current
from app.deps import PostedForm, SessionDep, transactional
from app.errors import AppError, InvalidInput, StateError
from app.forms import FormState, undone_if_refused, whole_number
from app.identify.entry import CONFIRM_FIELD
from app.respond import answering, answers
from app.respond.service import FORM_PATH
from app.returns import reading
from app.returns import service as returns
from app.returns.key_area_fields import read_version
from app.templating import render

router = APIRouter(include_in_schema=False)

FAMILY_TITLE = "Your experience of the help you were given"
FAMILY_INTRO = (
    "We would like to know what you think of the help you and your family were given by "
    "the agencies working together to support you and keep your child safe. What you tell "
    "us helps the agencies learn what works and what they should do better."
)


def _respondent_page(
    request: Request, template: str, context: dict, *, status_code: int = 200
) -> Response:
    """A page of the respondent's own layout, drawn as no one: whoever else the browser
    may be signed in as, nothing of theirs (a waiting message, their name) is on it."""
    found = current()
    with bound(
        RequestContext(
            actor=ANONYMOUS,
            request_id=found.request_id,
            client_address=found.client_address,
            session=None,
        )
    ):
        return render(request, template, context, status_code=status_code)


def _refused(request: Request, refusal: AppError) -> Response:
    if isinstance(refusal, answering.TooManyTries):
        page = _respondent_page(
            request, "respond/too_many.html", {"message": refusal.message}, status_code=429
        )
        page.headers.update(refusal.headers)
        return page
    return _respondent_page(request, "respond/refused.html", {}, status_code=refusal.status_code)


def _opened(session: Session, request: Request, token: str) -> answering.Opened:
    """The link's return, once the address is admitted; a link that does not work is
    counted against the address (and the refusal raised)."""
    settings = settings_of(request)
    answering.admit(session, client_address=client_address(request), settings=settings)
    try:
        return answering.open_link(session, token=token)
    except (answering.LinkUnknown, answering.LinkGone):
        answering.count_failure(session, client_address=client_address(request))
        raise


def _nothing_saved(
    request: Request,
    session: Session,
    opened: answering.Opened,
    token: str,
    shown: dict,
    why: str,
    *,
    status_code: int,
) -> Response:
    """The form again with what was posted, the whole post refused (``why``, linked to
    the answers), at the return's version as it is now."""
    return _form_page(
        request,
        session,
        opened,
        token=token,
        form=FormState(values=shown, listed=({"text": why, "href": "#answers"},)),
        version_number=opened.return_.version,
        status_code=status_code,
    )


def _form_page(
    request: Request,
    session: Session,
    opened: answering.Opened,
    *,
    token: str,
    form: FormState,
    version_number: int,
    saved: bool = False,
    flagged: bool = False,
    status_code: int = 200,
) -> Response:
    version = templates.get_version(session, version_id=opened.audit.template_version_id)
    family = opened.family
    values = form.values
    asked = {q.id for k in version.key_areas for q in k.questions} | {
        q.id for q in version.case_questions
    }
    answers_now = {
        number: value
        for name, value in values.items()
        if name.startswith("q-")
        and (number := whole_number(name[2:])) in asked
        and isinstance(value, str)
        and value
    }
    return _respondent_page(
        request,
        "respond/form.html",
        {
            "title": FAMILY_TITLE if family else opened.audit.title,
            "caption": None if family else opened.agency,
            "intro": FAMILY_INTRO if family else _first_paragraph(version.description),
            "family": family,
            "version": version,
            "sections": answers.sections(version, family=family),
            "when": answers.conditions(version, answers_now),
            "form": form,
            "token": token,
            "form_token": answering.form_token(opened.link, settings_of(request).secret_key),
            "read_version": version_number,
            "expires_at": opened.link.expires_at,
            "saved": saved,
            "flagged": flagged,
        },
        status_code=status_code,
    )


def _first_paragraph(text: str) -> str:
    return " ".join((text or "").strip().split("\n\n")[0].split())


@router.get(FORM_PATH, name="respond.form")
@transactional(writes=True, keep_refusals=True)
def form(session: SessionDep, request: Request, token: str) -> Response:
    """The return the link opens, to answer: what is saved so far in its fields.
    Opening it uses nothing up (a mail scanner may open links too); the read is logged
    as the link's holder's."""
    try:
        opened = _opened(session, request, token)
    except (answering.LinkUnknown, answering.LinkGone, answering.TooManyTries) as refusal:
        return _refused(request, refusal)
    with answering.answering_as(opened) as respondent:
        found = reading.read(session, return_id=opened.return_.id, actor=respondent)
    version = templates.get_version(session, version_id=opened.audit.template_version_id)
    return _form_page(
        request,
        session,
        opened,
        token=token,
        form=answers.state(answers.saved_values(found, version), {}, version),
        version_number=found["version"],
    )


@router.post(FORM_PATH, name="respond.answer")
@transactional(keep_refusals=True)
def answer(session: SessionDep, request: Request, token: str, posted: PostedForm) -> Response:
    """ "Save and come back later" saves a draft (the same link opens it again); "Send
    your answers" saves, then submits: what is missing, or looks identifying and is not
    confirmed, is shown in the error summary with the draft kept; once sent, the link
    is used up and a confirmation shows."""
    try:
        opened = _opened(session, request, token)
    except (answering.LinkUnknown, answering.LinkGone, answering.TooManyTries) as refusal:
        return _refused(request, refusal)
    settings = settings_of(request)
    version = templates.get_version(session, version_id=opened.audit.template_version_id)
    shown = posted.shown()
    read = read_version(posted)
    if sent_from_elsewhere(request, [settings.public_url]) or not answering.form_token_valid(
        opened.link, settings.secret_key, posted.one(CSRF_FIELD)
    ):
        return _nothing_saved(
            request,
            session,
            opened,
            token,
            shown,
            "This page had expired or did not come from this service, so nothing was saved. "
            "Check your answers and try again.",
            status_code=400,
        )
    parsed = answers.parse(posted, version)
    if parsed.errors:
        return _again(request, session, opened, token, version, shown, parsed.errors, read)
    try:
        with undone_if_refused(session):
            read = answering.save(
                session,
                opened=opened,
                read_version=read,
                answers=parsed.answers,
                grades=parsed.grades,
                evidence=parsed.evidence,
                overall_grade=parsed.overall,
            )
    except returns.VersionConflict:
        return _nothing_saved(
            request,
            session,
            opened,
            token,
            shown,
            "Someone else saved answers here while you had this page open, so nothing was "
            "saved. Your answers are still below: check them, then save or send them again.",
            status_code=409,
        )
    except InvalidInput as refused:
        version = _version(session, opened)  # read again: the refusal expired it
        errors = {parsed.page_field(f.field): f.message for f in refused.fields}
        return _again(request, session, opened, token, version, shown, errors, read)
    if posted.one("then") != "send":
        # What is saved now (an answer to a question the return no longer asks is gone).
        with answering.answering_as(opened) as respondent:
            found = reading.detail(session, return_id=opened.return_.id, actor=respondent)
        return _form_page(
            request,
            session,
            opened,
            token=token,
            form=answers.state(answers.saved_values(found, version), {}, version),
            version_number=found["version"],
            saved=True,
        )
    try:
        with undone_if_refused(session):
            answering.send(
                session,
                opened=opened,
                read_version=read,
                # A family changes what looks identifying: they are not asked to judge it,
                # as staff are, since it is shown to every agency beside the grades.
                confirmed=not opened.family and posted.one(CONFIRM_FIELD) == "yes",
            )
    except returns.LooksIdentifying as refused:
        version = _version(session, opened)
        errors = answers.flagged(refused.fields)
        return _again(request, session, opened, token, version, shown, errors, read, flagged=True)
    except returns.ReturnIncomplete as refused:
        version = _version(session, opened)
        missing = answers.missing(refused.fields, version)
        return _again(
            request, session, opened, token, version, shown, missing.errors, read, missing.anchors
        )
    except (answering.LinkGone, returns.VersionConflict, StateError) as refusal:
        return _refused(request, answering.LinkGone(str(refusal)))
    return _respondent_page(request, "respond/sent.html", {"family": opened.family})


def _version(session: Session, opened: answering.Opened):
    return templates.get_version(session, version_id=opened.audit.template_version_id)


def _again(
    request: Request,
    session: Session,
    opened: answering.Opened,
    token: str,
    version,
    shown: dict,
    errors: dict[str, str],
    read: int,
    anchors: dict[str, str] | None = None,
    *,
    flagged: bool = False,
) -> Response:
    """The form again, as it was sent, with what is wrong (422)."""
    return _form_page(
        request,
        session,
        opened,
        token=token,
        form=answers.state(shown, errors, version, anchors),
        version_number=read,
        flagged=flagged,
        status_code=422,
    )
