"""Annotated dependency aliases, and how every endpoint runs: signed in, permitted,
one transaction, one trip to the thread pool."""

import inspect
from collections.abc import Awaitable, Callable
from functools import partial, wraps
from typing import Annotated, Any, TypeVar, cast, overload
from urllib.parse import unquote_to_bytes

from fastapi import Depends, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BeforeValidator, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from app import clock as calendar
from app.access import kept
from app.access.auth import authenticate, session_token_from
from app.access.csrf import CSRF_FIELD, CSRF_HEADER, csrf_valid, sent_from_elsewhere
from app.access.policy import Actor, Forbidden, NotSignedIn, Permission, Via, require
from app.access.rules import ROUTE_RULES, rule_for
from app.actions.lifecycle import Clock
from app.context import RequestContext, bound
from app.db import RequestSession, Write, begin_writing, end_read, get_session, read_request
from app.errors import AppError, FieldError, InvalidInput
from app.forms import Posted
from app.schemas_base import MAX_ID

# scope="function": the session's exit runs when the endpoint returns, before the
# response is sent, so nothing of a request outlives its response.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def _blank_is_none(value):
    return None if value == "" else value


# A page's GET filter form sends an unchosen select as "agency_id=": that means "any".
FilterId = Annotated[
    Annotated[int, Field(ge=1, le=MAX_ID)] | None, BeforeValidator(_blank_is_none), Query()
]


async def credentials_first(request: Request) -> None:
    """A request that carries no credentials at all, to a route that needs someone
    signed in, is answered 401 before its body is read: what is wrong with a body
    nobody may send is not the question. (With credentials, who they belong to is
    found in the endpoint's own transaction: ``transactional``.)"""
    if request.headers.get("authorization") or session_token_from(request):
        return
    rule = ROUTE_RULES.get(getattr(request.scope.get("route"), "name", None) or "")
    if rule is None:
        return  # refused by ``transactional``, which fails closed
    # Without credentials ``authenticate`` reads nothing from the database: the actor
    # is no one (unless a test signed everyone in as the system).
    actor = authenticate(cast(Session, None), request, request.app.state.settings)
    require(actor, rule)


async def strict_query_string(request: Request) -> None:
    """Every route's query string must be UTF-8 once decoded: otherwise Starlette would
    put replacement characters in its place, and a search or a filter would quietly be
    for something other than what was sent. An API route refuses a parameter it does
    not have, as its bodies refuse a field they do not have: a misspelt filter would
    otherwise quietly list everything. (Every APIRoute: app.main.)"""
    raw = request.scope.get("query_string", b"")
    if not raw:
        return
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        raise AppError(
            "The address's query string is not valid UTF-8 once its %-escapes are decoded.",
            fields=[FieldError("query", "must be UTF-8 text, %-encoded")],
        ) from None
    if not request.url.path.startswith("/api/"):
        return  # pages read a few of their own (?from=, ?next=)
    known = _query_names(request.scope.get("route"))
    unknown = [name for name in dict.fromkeys(request.query_params) if name not in known]
    if unknown:
        raise InvalidInput(
            "The query string has parameters this route does not have.",
            fields=[FieldError(f"query.{name}", "is not a parameter here") for name in unknown],
        )


def _query_names(route: object) -> frozenset[str]:
    """The query parameters a route reads, its dependencies' included (worked out once
    per route, and kept on it)."""
    found = getattr(route, "_query_names", None)
    if found is None:
        names: set[str] = set()
        waiting = [getattr(route, "dependant", None)]
        while waiting:
            dependant = waiting.pop()
            if dependant is not None:
                names |= {param.alias for param in dependant.query_params}
                waiting += dependant.dependencies
        found = frozenset(names)
        if route is not None:
            route._query_names = found  # type: ignore[attr-defined]
    return found


async def _raw_body(request: Request) -> bytes:
    # Read on the event loop, before the endpoint's thread trip.
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


async def _posted(request: Request) -> Posted:
    # Pages check their own forms (to show them again with the GOV.UK error summary),
    # so they take the fields as text; read on the event loop; files are not accepted.
    form = await request.form()
    return Posted((key, value) for key, value in form.multi_items() if isinstance(value, str))


PostedForm = Annotated[Posted, Depends(_posted)]


async def tracker_clock(request: Request) -> Clock:  # async: no I/O, no thread
    """Today, with the escalation threshold: what an action's standing is judged by."""
    settings = request.app.state.settings
    return Clock(
        today=calendar.today(), executive_after_days=settings.escalate_to_executive_after_days
    )


ClockDep = Annotated[Clock, Depends(tracker_clock)]

T = TypeVar("T")
# What FastAPI is given for an endpoint: a coroutine function it calls with keyword
# arguments, whose signature (``__signature__``) is the endpoint's, adjusted.
Endpoint = Callable[..., Awaitable[T]]


def refused(result: object) -> bool:
    """Whether an endpoint's own response says no (a page re-shown with its error
    summary, a JSON 409): anything it wrote before refusing must not be kept."""
    return isinstance(result, Response) and result.status_code >= 400


def one_read(session: Session, work: Callable[[], T]) -> T:
    """Run ``work``, which changes nothing, as a read; then write what it recorded
    (``after_read``: a credential's last use, a session ended for sitting idle, a return
    read's log row), whether or not the read succeeded, before the response is sent
    (``app.db.end_read``). On SQLite the read never takes or waits for the write lock;
    the write holds it for a moment only."""
    waiting: list[Write] = []
    try:
        with read_request(session) as waiting:
            result = work()
    except BaseException:
        end_read(session, waiting, failed=True)
        raise
    end_read(session, waiting, failed=False)
    return result


def _one_transaction(session: Session, work: Callable[[], T], *, keep_refusals: bool) -> T:
    """Run ``work``, then commit, or roll back if it raised or its response refused
    (on a route that keeps its refusals: commit a refusal's response, or a raised error
    that is ``kept``).

    This is the one place a request's transaction ends. It runs in one trip to the
    thread pool because a transaction must never wait for a thread while it holds
    locks: on SQLite a writer holds the database's write lock from BEGIN IMMEDIATE to
    COMMIT, and if the COMMIT needed a second trip, a full pool of threads all
    waiting for that lock would never give it one. It is also faster: a plain ``def``
    endpoint with a session dependency and a response model costs four trips
    (bench/api.py).
    """
    begin_writing(session)
    try:
        result = work()
    except AppError as exc:
        if keep_refusals and exc.kept:
            session.commit()  # what it wrote is undone already; its log row stays
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    if refused(result) and not keep_refusals:
        session.rollback()
    else:
        session.commit()
    return result


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def csrf_token_sent(request: Request) -> str | None:
    """The CSRF token from the header (scripts) or the form field (plain HTML forms
    without JavaScript); read here because reading a form needs the event loop."""
    if request.method in SAFE_METHODS:
        return None
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def _page_form(request: Request) -> FormData | None:
    """A page's posted form (not the API's), read here for the same reason."""
    content_type = request.headers.get("content-type", "")
    if request.method != "POST" or request.url.path.startswith("/api/"):
        return None
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return None
    return await request.form()


def check_csrf(request: Request, given: str | None) -> None:
    """A change made with the session cookie must come from the service's own pages
    and carry the session's CSRF token."""
    if sent_from_elsewhere(request, [request.app.state.settings.public_url]):
        raise Forbidden(
            "This change came from another website, so it was refused: nothing was saved. "
            "Make changes from this service's own pages."
        )
    token = session_token_from(request)
    if not token or not csrf_valid(token, request.app.state.settings.secret_key, given):
        raise Forbidden(
            "This form has expired or did not come from this service. Reload the page and "
            "try again; nothing was saved."
        )


def request_context(request: Request, actor: Actor, session: Session) -> RequestContext:
    return RequestContext(
        actor=actor,
        session=session,
        request_id=request.scope.get("state", {}).get("request_id", ""),
        client_address=request.client.host if request.client else "",
    )


@overload
def transactional(endpoint: Callable[..., T], /) -> Endpoint[T]: ...
@overload
def transactional(
    *, keep_refusals: bool = False, writes: bool = False
) -> Callable[[Callable[..., T]], Endpoint[T]]: ...


def transactional(endpoint=None, /, *, keep_refusals: bool = False, writes: bool = False):
    """Make a synchronous endpoint signed-in, permitted and one transaction.

    In one worker-thread trip: find the actor from the request's credentials, check
    the route's rule (app.access.rules), bind the request context the audit log
    reads, run the endpoint (passing ``actor`` if it asks for it), and commit; or roll
    back if it raised or answered with a status of 400 or more. A route whose refusal
    must still be kept (the sign-in throttle counts failures) says so with
    ``@transactional(keep_refusals=True)``. A GET or HEAD runs as a read (``one_read``)
    unless its route changes something and says so: ``@transactional(writes=True)``.
    Routers stay plain functions; FastAPI sees their parameters without ``actor`` and
    ``session`` and with the ``request`` this wrapper needs. The wrapper opens the
    session itself (``app.state.request_session``, as ``SessionDep`` would): a
    generator dependency costs FastAPI more than the rest of a read's parameters
    together (bench/api.py)."""
    if endpoint is None:
        return partial(_transactional, keep_refusals=keep_refusals, writes=writes)
    return _transactional(endpoint, keep_refusals=keep_refusals, writes=writes)


def _transactional(endpoint: Callable[..., T], *, keep_refusals: bool, writes: bool) -> Endpoint[T]:
    signature = inspect.signature(endpoint)
    if "session" not in signature.parameters:
        raise TypeError(f"{endpoint.__qualname__} is @transactional: it takes a session")
    wants_actor = "actor" in signature.parameters
    wants_request = "request" in signature.parameters
    parameters = [p for name, p in signature.parameters.items() if name not in ("actor", "session")]
    if not wants_request:
        parameters.append(
            inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request)
        )

    @wraps(endpoint)
    async def run(**kwargs: Any) -> T:
        request: Request = kwargs["request"] if wants_request else kwargs.pop("request")
        rule = rule_for(request)
        csrf_given = await csrf_token_sent(request)
        form = await _page_form(request)
        provide: RequestSession = request.app.state.request_session
        async with provide(request) as session:
            kwargs["session"] = session

            def work() -> T:
                settings = request.app.state.settings
                actor = authenticate(session, request, settings)
                # An error page drawn after this (403, 404) still shows who is signed in,
                # their navigation and Sign out (app/templating.py render).
                request.state.actor = actor
                try:
                    require(actor, rule)
                except NotSignedIn:
                    # Keep what authenticating found (a session ended for sitting
                    # idle), and a form posted after it ended, for its author
                    # (app/access/kept.py).
                    if form is not None:
                        kept.keep(session, request, form, settings)
                    session.commit()
                    raise
                # Public routes (signing in) act on no one's authority, so need no token.
                if (
                    rule != Permission.PUBLIC
                    and actor.via == Via.SESSION
                    and request.method not in SAFE_METHODS
                ):
                    check_csrf(request, csrf_given)
                with bound(request_context(request, actor, session)):
                    result = endpoint(**kwargs, **({"actor": actor} if wants_actor else {}))
                succeeded = not isinstance(result, Response) or result.status_code < 400
                if form is not None and actor.user_id is not None and succeeded:
                    kept.saved(session, request, user_id=actor.user_id)
                    if kept.still_waiting(session, form, user_id=actor.user_id):
                        # A page's form, so the endpoint's result was a response too.
                        to_kept = request.app.url_path_for("access.kept")
                        return cast(T, RedirectResponse(to_kept, status_code=303))
                return result

            if request.method in SAFE_METHODS and not writes:
                return await run_in_threadpool(one_read, session, work)
            return await run_in_threadpool(
                _one_transaction, session, work, keep_refusals=keep_refusals
            )

    # inspect.signature, and so FastAPI, reads __signature__; typeshed does not declare it.
    run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return run
