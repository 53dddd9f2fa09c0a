"""The library: practitioners browse and search published briefings and download
them; public ones can be read without signing in. Downloads are counted (by agency
for people signed in) as evidence of how the learning was disseminated, and so is
each reader's "was this useful?".

"Was this useful?" is public, as the entry is: one answer per version from each
browser (a cookie lists the versions it has answered for, until the browser closes),
and at most ``FEEDBACK_PER_HOUR`` from one network in each server process
(app/briefings/library.py). Its thanks is the success banner: a flash message for
someone signed in; for anyone else, who has no web session to keep one in, a short-lived
cookie naming which of the two messages to show."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.browser import client_address, is_secure
from app.access.csrf import CSRF_FIELD, sent_from_elsewhere
from app.access.policy import Actor, Forbidden, Via
from app.access.signin import counted_as
from app.agencies.models import Subgroup
from app.briefings import library as briefing_library
from app.briefings import service
from app.briefings.models import Briefing, BriefingKind, BriefingVersion
from app.briefings.schemas import COMMENT_LENGTH, Feedback
from app.deps import FilterId, IdPath, PostedForm, SessionDep, check_csrf, transactional
from app.errors import StateError
from app.forms import DATE_PARTS, Form, FormInvalid, FormState, Posted, date_values, read_date
from app.schemas_base import DATE_RANGE, EARLIEST_DATE, LATEST_DATE
from app.templating import flash, redirect, render

router = APIRouter(include_in_schema=False)


LIBRARY_DATES = {"published_from": "The start date", "published_to": "The end date"}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

FEEDBACK = Form(
    Feedback,
    fields=("useful", "comment"),
    messages={
        "useful": "Select yes if the briefing was useful, or no if it was not",
        ("comment", "string_too_long"): (
            f"Your comment must be {COMMENT_LENGTH} characters or fewer"
        ),
        ("comment", "invalid"): "Your comment must not contain control characters",
    },
)
# The versions this browser has said were useful or not (ids joined by dots), kept
# until the browser closes; and which thanks to show on the next page, for a minute.
FEEDBACK_COOKIE = "case_audit_feedback"
FEEDBACK_THANKS_COOKIE = "case_audit_feedback_thanks"
_GIVEN_KEPT = 50
THANKS = {
    "thanks": "Thank you for your feedback.",
    "again": "You have already told us whether this briefing was useful. Thank you.",
}


# --- the list -----------------------------------------------------------------------------


def _library_date(query: Posted, name: str, label: str) -> tuple[date | None, str | None, dict]:
    """A date filter: its GOV.UK date input's three boxes, or, when none of them was
    sent, the ISO date a link carries (``published_from=2026-04-01``, as the API takes
    it), shown in the boxes. (The date, what is wrong, the boxes' values.)"""
    if any(f"{name}-{part}" in query for part in DATE_PARTS):
        day, problem = read_date(query, name, label)
        return day, problem, {}
    written = query.one(name).strip()
    if not written:
        return None, None, {}
    try:
        if not _ISO_DATE.fullmatch(written):
            raise ValueError(written)
        day = date.fromisoformat(written)
    except ValueError:
        return None, f"{label} must be a real date", {}
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        return None, f"{label} must be {DATE_RANGE}", {}
    return day, None, date_values(name, day)


@router.get("/library", name="briefings.library")
@transactional
def library(
    session: SessionDep,
    request: Request,
    actor: Actor,
    q: Annotated[str, Query(max_length=200)] = "",
    theme: Annotated[str, Query(max_length=200)] = "",
    subgroup_id: FilterId = None,
    audit_id: FilterId = None,
) -> Response:
    """Published briefings, searched (in their whole text) and filtered (a GET form, so
    a search can be bookmarked), each with its summary, theme, date and its PDF's size
    and pages; the dates are GOV.UK date inputs."""
    signed_in = actor.user_id is not None
    query = Posted(request.query_params.multi_items())
    errors: dict[str, str] = {}
    dates: dict[str, date | None] = {}
    shown = query.shown()
    for name, label in LIBRARY_DATES.items():
        dates[name], problem, boxes = _library_date(query, name, label)
        shown.update(boxes)
        if problem:
            errors[name] = problem
    start, end = dates["published_from"], dates["published_to"]
    if start and end and end < start:
        errors["published_to"] = "The end date must be the same as or after the start date"
    found = []
    if not errors:
        found = briefing_library.listed(
            session,
            briefing_library.library(
                session,
                signed_in=signed_in,
                q=q.strip(),
                theme=theme,
                subgroup_id=subgroup_id,
                audit_id=audit_id,
                published_from=start,
                published_to=end,
            ),
        )
    for item in found:
        item["described"] = briefing_library.pdf_description(item["size"], item["pages"])
    everything = briefing_library.library(session, signed_in=signed_in)
    audits = {b.drafted_from.id: b.drafted_from for b, _v in everything}
    subgroup_ids = {a.lead_subgroup_id for a in audits.values() if a.lead_subgroup_id}
    subgroups = (
        session.scalars(select(Subgroup).where(Subgroup.id.in_(subgroup_ids))).all()
        if subgroup_ids
        else []
    )
    return render(
        request,
        "briefings/library.html",
        {
            "found": found,
            "themes": sorted({a.theme for a in audits.values() if a.theme}),
            "subgroups": sorted(subgroups, key=lambda s: s.name),
            "audits": sorted(audits.values(), key=lambda a: a.title),
            "signed_in": signed_in,
            "form": FormState(
                values=shown,
                errors=errors,
                anchors={name: f"#{name}-day" for name in LIBRARY_DATES},
            ),
        },
        status_code=422 if errors else 200,
    )


# --- a briefing's entry, and "was this useful?" ---------------------------------------------


def _cookie_name(request: Request, name: str) -> str:
    return f"__Host-{name}" if is_secure(request) else name


def _given(request: Request) -> list[int]:
    """The versions this browser has said were useful or not (its cookie)."""
    value = request.cookies.get(_cookie_name(request, FEEDBACK_COOKIE), "")
    return [int(part) for part in value.split(".") if part.isascii() and part.isdigit()][
        -_GIVEN_KEPT:
    ]


def _set_cookie(response: Response, request: Request, name: str, value: str, **kept) -> None:
    response.set_cookie(
        _cookie_name(request, name),
        value,
        path="/",
        secure=is_secure(request),
        httponly=True,
        samesite="lax",
        **kept,
    )


def _thanks(request: Request, briefing_id: int) -> str | None:
    """The thanks waiting for someone not signed in on this briefing's entry, if any."""
    value = request.cookies.get(_cookie_name(request, FEEDBACK_THANKS_COOKIE), "")
    found, _, which = value.partition(".")
    return THANKS.get(which) if found == str(briefing_id) else None


def _web_version(
    session: Session, request: Request, briefing: Briefing, current: BriefingVersion | None
) -> dict | None:
    """The current version of a learning briefing as its web version shows it: the
    context its PDF was printed from (content.briefing_context), dated as published;
    None for a withdrawn briefing, a subgroup report, or an audit that can no longer be
    drawn."""
    if current is None or briefing.kind != BriefingKind.BRIEFING:
        return None
    try:
        # The entry read the briefing with its versions and audit: nothing to read again.
        return service.document_context(
            session,
            version=current,
            settings=request.app.state.settings,
            dated=current.published_on,
        )
    except StateError:
        return None


def _entry_page(
    request: Request,
    briefing: Briefing,
    *,
    form: FormState | None = None,
    status_code: int = 200,
    session: Session | None = None,
) -> Response:
    current = briefing_library.current_version(briefing)
    feedback = None
    if current is not None:  # a withdrawn briefing asks for none
        feedback = {"version_id": current.id, "given": current.id in _given(request)}
    context: dict = {
        "briefing": briefing,
        "versions": briefing_library.shown_versions(briefing),
        "feedback": feedback,
        "form": form,
        # Its web version (the same content as its PDF), for the page that has a session.
        "web": _web_version(session, request, briefing, current) if session is not None else None,
    }
    thanks = _thanks(request, briefing.id) if status_code < 400 else None
    if thanks:
        context["flashed"] = thanks
    response = render(request, "briefings/entry.html", context, status_code=status_code)
    if thanks:
        response.delete_cookie(
            _cookie_name(request, FEEDBACK_THANKS_COOKIE),
            path="/",
            secure=is_secure(request),
            httponly=True,
            samesite="lax",
        )
    return response


@router.get("/library/{briefing_id}", name="briefings.library_entry")
@transactional
def entry(session: SessionDep, request: Request, actor: Actor, briefing_id: IdPath) -> Response:
    briefing = briefing_library.library_entry(
        session, briefing_id=briefing_id, signed_in=actor.user_id is not None
    )
    return _entry_page(request, briefing, session=session)


def _thanked(request: Request, actor: Actor, briefing_id: int, which: str) -> Response:
    """Back to the entry, thanking them there (``THANKS``)."""
    response = redirect(request, "briefings.library_entry", briefing_id=briefing_id)
    if actor.via == Via.SESSION:
        flash(THANKS[which])
    else:
        _set_cookie(response, request, FEEDBACK_THANKS_COOKIE, f"{briefing_id}.{which}", max_age=60)
    return response


@router.post("/library/{briefing_id}/feedback", name="briefings.feedback")
@transactional
def feedback(
    session: SessionDep, request: Request, actor: Actor, briefing_id: IdPath, posted: PostedForm
) -> Response:
    """Whether the briefing was useful, and an optional comment: recorded for its
    current version, once from each browser (a second answer is thanked, not kept)."""
    # A public route, so the permission layer checks no token: checked here, for a
    # browser signed in; for anyone else, only that it came from the service's page.
    if actor.via == Via.SESSION:
        check_csrf(request, posted.one(CSRF_FIELD))
    elif sent_from_elsewhere(request, [request.app.state.settings.public_url]):
        raise Forbidden("This feedback came from another website, so it was not kept.")
    briefing = briefing_library.library_entry(
        session, briefing_id=briefing_id, signed_in=actor.user_id is not None
    )
    current = briefing_library.current_version(briefing)
    given = _given(request)
    if current is not None and current.id in given:
        return _thanked(request, actor, briefing_id, "again")
    try:
        body = FEEDBACK.read(posted)
    except FormInvalid as invalid:
        return _entry_page(
            request, briefing, form=invalid.state(), status_code=422, session=session
        )
    made = briefing_library.give_feedback(
        session,
        briefing_id=briefing_id,
        useful=body.useful,
        comment=body.comment,
        actor=actor,
        source=counted_as(client_address(request)),
    )
    response = _thanked(request, actor, briefing_id, "thanks")
    _set_cookie(
        response,
        request,
        FEEDBACK_COOKIE,
        ".".join(str(v) for v in [*given, made.version_id][-_GIVEN_KEPT:]),
    )
    return response


@router.get("/library/versions/{version_id}/download", name="briefings.download")
@transactional
def download(session: SessionDep, actor: Actor, version_id: IdPath) -> Response:
    """The stored PDF, byte for byte as published (its SHA-256 in the ETag)."""
    version, document = briefing_library.download(session, version_id=version_id, actor=actor)
    name = briefing_library.filename(version.briefing, version)
    return Response(
        document.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "ETag": f'"{document.sha256}"',
            "X-Content-SHA256": document.sha256,
        },
    )
