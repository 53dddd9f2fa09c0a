"""The request a piece of work belongs to: who, from where, and its id.

Set once per request (by ``app.deps.transactional``) or per command (the CLI), and
read by the audit log, so services need not pass it through every call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.access.policy import SYSTEM, Actor


@dataclass(frozen=True)
class RequestContext:
    actor: Actor
    request_id: str = ""
    client_address: str = ""
    # The request's database session, for what a page reads and writes beside its
    # endpoint's work (its flash message); None outside a request.
    session: Session | None = None


_current: ContextVar[RequestContext | None] = ContextVar("request_context", default=None)


def current() -> RequestContext:
    """The bound context; work outside any request (demo loading, say) is the system's."""
    return _current.get() or RequestContext(actor=SYSTEM)


def bound_actor() -> Actor | None:
    """The actor of the request being handled, if any (None outside a request)."""
    context = _current.get()
    return context.actor if context else None


@contextmanager
def bound(context: RequestContext) -> Iterator[RequestContext]:
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)
