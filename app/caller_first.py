"""Who is asking, before what they sent: the check run when a request's input is not
valid, so that a caller who may not use a route learns that (401, 403), not what is
wrong with a body they may not send.

FastAPI checks a route's parameters and body before its endpoint runs, and the
endpoint (``app.deps.transactional``) is where the caller is found and the route's rule
checked; so an invalid body used to be answered 422 naming its fields whoever sent it.
``check_caller`` is handed to ``app.errors.install_error_handlers``, which runs it
before answering 422. It costs a database look-up only on that failure path.
"""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

# The module, not its names: the tests' ``client`` signs everyone in as the system by
# replacing ``app.deps.authenticate``, and this check must see who the endpoint sees.
from app import deps
from app.access.auth import session_token_from
from app.access.policy import Permission, Via, require
from app.access.rules import ROUTE_RULES
from app.config import Settings
from app.db import RequestSession


async def check_caller(request: Request) -> None:
    """Raise what the route's endpoint would have raised about its caller: NotSignedIn
    (401, or a page's redirect to sign in) or Forbidden (403: the role does not allow
    the route, or a change made with the session cookie without its CSRF token).
    Return if the caller may use the route, so that its invalid input is answered."""
    route = request.scope.get("route")
    rule = ROUTE_RULES.get(getattr(route, "name", None) or "")
    if rule is None or rule == Permission.PUBLIC:
        # Public routes (signing in) check their input for everyone; a route with no
        # rule is not an endpoint of the service's (the API's documentation).
        return
    if not (request.headers.get("authorization") or session_token_from(request)):
        # No credentials: answered without the database, as before the body is read.
        await deps.credentials_first(request)
        return
    csrf_given = await deps.csrf_token_sent(request)
    settings: Settings = request.app.state.settings
    provide: RequestSession = request.app.state.request_session
    async with provide(request) as session:
        # As a read, as a GET's endpoint finds its caller: what that writes is only what
        # any read writes (a credential's last use, at most once a minute; a session's
        # end once it has sat idle too long), each a record true whatever the request.
        actor = await run_in_threadpool(
            deps.one_read, session, lambda: deps.authenticate(session, request, settings)
        )
    # An error page drawn after this still shows who is signed in (app/templating.py).
    request.state.actor = actor
    require(actor, rule)
    if actor.via == Via.SESSION and request.method not in deps.SAFE_METHODS:
        deps.check_csrf(request, csrf_given)
