"""Annotated dependency aliases, and how endpoints run their database work."""

from collections.abc import Callable
from functools import wraps
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Path, Query
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.db import get_session
from app.schemas_base import MAX_ID

# scope="function": the session's exit runs when the endpoint returns, before the
# response is sent, so nothing of a request outlives its response.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]

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


def transactional(endpoint: Callable[P, T]) -> Callable[P, T]:
    """Make a synchronous endpoint one transaction, run by ``in_thread``.

    Routers stay plain functions taking ``session: SessionDep``; FastAPI reads their
    parameters and return type through ``functools.wraps``.
    """

    @wraps(endpoint)
    async def run(**kwargs):
        return await in_thread(kwargs["session"], endpoint, **kwargs)

    return run
