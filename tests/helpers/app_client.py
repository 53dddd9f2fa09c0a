"""The tests' HTTP client: the app called in the test's own thread.

Starlette's TestClient runs the app on an event loop in a thread of its own and crosses
to that thread for each message of each request (about eight crossings a request):
measured here, 1.3 to 2.8 ms of a small request's 4 to 7 ms. ``AppClient`` is an
``httpx.Client`` whose transport is httpx's own ASGI transport, run on an event loop in
the calling thread: the same ASGI app, lifespan and middleware, the same httpx client
(cookies, redirects followed, ``client`` address "testclient"), without the crossings.

One thread at a time: tests that send requests from several threads at once
(tests/test_concurrency.py) use Starlette's TestClient, which is built for that.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import httpx
from starlette.types import ASGIApp

T = TypeVar("T")


class _InThisThread(httpx.BaseTransport):
    """httpx's ASGI transport, on an event loop run in the calling thread."""

    def __init__(self, app: ASGIApp, loop: asyncio.AbstractEventLoop, **options: Any) -> None:
        self._loop = loop
        self._asgi = httpx.ASGITransport(app=app, **options)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.AsyncByteStream):
            # A body sent as a (sync) iterator, chunk by chunk: the app reads it so.
            request.stream = _Chunks(request.stream)

        async def send() -> httpx.Response:
            response = await self._asgi.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return _run(self._loop, send())


def _run(loop: asyncio.AbstractEventLoop, work: Awaitable[T]) -> T:
    """Run ``work`` on ``loop`` in this thread. Playwright's synchronous API (the browser
    tests, in the same worker) leaves its own loop marked as this thread's running
    loop between its calls, and asyncio refuses to run a second one: the mark is set
    aside while this loop runs, and put back."""
    elsewhere = asyncio._get_running_loop()
    asyncio._set_running_loop(None)
    try:
        return loop.run_until_complete(work)
    finally:
        asyncio._set_running_loop(elsewhere)


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: Any) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


class AppClient(httpx.Client):
    """``AppClient(app)``: requests to the app, as TestClient makes them. Used as a
    context manager (``with AppClient(app) as client``) it runs the app's lifespan."""

    def __init__(
        self,
        app: Any,
        *,
        base_url: str = "http://testserver",
        client: tuple[str, int] = ("testclient", 50000),
        raise_server_exceptions: bool = True,
        headers: dict[str, str] | None = None,
        follow_redirects: bool = True,
    ) -> None:
        self.app = app
        self._loop = asyncio.new_event_loop()
        self._lifespan: AbstractAsyncContextManager | None = None
        super().__init__(
            transport=_InThisThread(
                app, self._loop, client=client, raise_app_exceptions=raise_server_exceptions
            ),
            base_url=base_url,
            headers={"user-agent": "testclient", **(headers or {})},
            follow_redirects=follow_redirects,
        )

    def __enter__(self) -> AppClient:
        super().__enter__()
        self._lifespan = self.app.router.lifespan_context(self.app)
        _run(self._loop, self._lifespan.__aenter__())
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            if self._lifespan is not None:
                _run(self._loop, self._lifespan.__aexit__(None, None, None))
                self._lifespan = None
        finally:
            super().__exit__(*exc_info)

    def close(self) -> None:
        super().close()
        self._loop.close()
