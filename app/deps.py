"""Annotated dependency aliases, and how every endpoint runs: signed in, permitted,
one transaction, one trip to the thread pool."""

import inspect
from collections.abc import Callable
from functools import wraps
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Path, Query, Request
from pydantic import BeforeValidator, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.access.auth import authenticate, session_token_from
from app.access.csrf import CSRF_FIELD, CSRF_HEADER, csrf_valid
from app.access.policy import Actor, Forbidden, NotSignedIn, Permission, require
from app.access.rules import rule_for
from app.context import RequestContext, bound
from app.db import get_session
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


async def _raw_body(request: Request) -> bytes:
    # Read on the event loop, before the endpoint's thread trip.
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


async def _form(request: Request) -> dict[str, str]:
    # Pages validate their own forms (to re-render them with the GOV.UK error summary),
    # so they take the fields as plain text; files are not accepted.
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


FormData = Annotated[dict[str, str], Depends(_form)]


async def _form_lists(request: Request) -> dict[str, list[str]]:
    # For forms with repeated fields (checkboxes): every value of each field, in order.
    form = await request.form()
    lists: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            lists.setdefault(key, []).append(value)
    return lists


FormLists = Annotated[dict[str, list[str]], Depends(_form_lists)]

P = ParamSpec("P")
T = TypeVar("T")


async def in_thread(
    session: Session, work: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run ``work`` and then commit, or roll back if it raised, in one trip to the thread pool.

    Why one trip: a transaction must never wait for a thread while it holds locks.
    On SQLite a writer holds the database's write lock from BEGIN IMMEDIATE to
    COMMIT; if the COMMIT needed a second trip, a full pool of threads all waiting
    for that lock would never give it one. It is also faster: a plain ``def``
    endpoint with a session dependency and a response model costs four trips
    (bench/api.py).
    """

    def run() -> T:
        try:
            result = work(*args, **kwargs)
            session.commit()
            return result
        except BaseException:
            session.rollback()
            raise

    return await run_in_threadpool(run)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _csrf_token_sent(request: Request) -> str | None:
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


def check_csrf(request: Request, given: str | None) -> None:
    """A change made with the session cookie must carry the session's CSRF token."""
    token = session_token_from(request)
    if not token or not csrf_valid(token, request.app.state.settings.secret_key, given):
        raise Forbidden(
            "This form has expired or did not come from this service. Reload the page and "
            "try again; nothing was saved."
        )


def request_context(request: Request, actor: Actor) -> RequestContext:
    return RequestContext(
        actor=actor,
        request_id=request.scope.get("state", {}).get("request_id", ""),
        client_address=request.client.host if request.client else "",
    )


def transactional(endpoint: Callable[P, T]) -> Callable[P, T]:
    """Make a synchronous endpoint signed-in, permitted and one transaction.

    In one worker-thread trip: find the actor from the request's credentials, check
    the route's rule (app.access.rules), bind the request context the audit log
    reads, run the endpoint (passing ``actor`` if it asks for it), and commit.
    Routers stay plain functions; FastAPI sees their parameters without ``actor``
    and with the ``request`` this wrapper needs.
    """
    signature = inspect.signature(endpoint)
    wants_actor = "actor" in signature.parameters
    wants_request = "request" in signature.parameters
    parameters = [p for name, p in signature.parameters.items() if name != "actor"]
    if not wants_request:
        parameters.append(
            inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request)
        )

    @wraps(endpoint)
    async def run(**kwargs):
        request: Request = kwargs["request"] if wants_request else kwargs.pop("request")
        session: Session = kwargs["session"]
        rule = rule_for(request)
        csrf_given = await _csrf_token_sent(request)

        def work():
            actor = authenticate(session, request, request.app.state.settings)
            try:
                require(actor, rule)
            except NotSignedIn:
                # Keep what authenticating found (a session ended for sitting idle).
                session.commit()
                raise
            # Public routes (signing in) act on no one's authority, so need no token.
            if (
                rule != Permission.PUBLIC
                and actor.via == "session"
                and request.method not in SAFE_METHODS
            ):
                check_csrf(request, csrf_given)
            with bound(request_context(request, actor)):
                return endpoint(**kwargs, **({"actor": actor} if wants_actor else {}))

        return await in_thread(session, work)

    run.__signature__ = signature.replace(parameters=parameters)
    return run
