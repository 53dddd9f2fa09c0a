"""The application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from app.access.api import router as access_router
from app.access.pages import router as access_pages
from app.access.user_pages import router as user_pages
from app.actions.api import router as actions_router
from app.actions.pages import router as actions_pages
from app.agencies.api import router as agencies_router
from app.agencies.pages import router as agencies_pages
from app.auditlog.api import router as auditlog_router
from app.audits.api import router as audits_router
from app.audits.pages import router as audits_pages
from app.audits.planning import router as audit_planning_pages
from app.briefings.api import router as briefings_router
from app.briefings.library import router as library_pages
from app.briefings.pages import router as briefings_pages
from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker
from app.errors import install_error_handlers
from app.middleware import ProtectionMiddleware
from app.moderation.api import router as moderation_router
from app.moderation.pages import router as moderation_pages
from app.returns.api import router as returns_router
from app.returns.pages import router as returns_pages
from app.templates_.api import router as templates_router
from app.templates_.pages import router as template_pages
from app.templating import GOVUK_DIST, STATIC


def _lifespan(settings: Settings):
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The default pool is 40 threads; see Settings.db_threads for why fewer.
        to_thread.current_default_thread_limiter().total_tokens = settings.thread_pool_size
        # Everything built at start-up (routes, schemas, mappers) lives for ever:
        # freezing it keeps the garbage collector from rescanning it on every full
        # collection, which bench/api.py showed as ~100 ms stalls at p95.
        gc.collect()
        gc.freeze()
        # Published briefings are rendered in the background, in worker processes.
        from app.briefings.jobs import Dispatcher, shutdown_render_pool

        if settings.render_in_background:
            app.state.renders = Dispatcher(app.state.sessionmaker, settings)
            app.state.renders.start()
        yield
        if settings.render_in_background:
            app.state.renders.stop()
        shutdown_render_pool()
        app.state.engine.dispose()

    return lifespan


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        lifespan=_lifespan(settings),
        title="Case audit service",
        summary="Multi-agency case audits for a safeguarding children partnership.",
        version="0.1.0",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url, echo=settings.sql_echo)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    install_error_handlers(app)
    app.add_middleware(ProtectionMiddleware, max_body_bytes=settings.max_request_bytes)
    for router in (
        access_router,
        agencies_router,
        templates_router,
        audits_router,
        returns_router,
        auditlog_router,
        moderation_router,
        actions_router,
        briefings_router,
        access_pages,
        returns_pages,
        audits_pages,
        agencies_pages,
        user_pages,
        template_pages,
        audit_planning_pages,
        moderation_pages,
        actions_pages,
        briefings_pages,
        library_pages,
    ):
        app.include_router(router)
    # The app serves GOV.UK Frontend's files itself (no CDN at run time), installed by
    # `npm ci`; a checkout without them still runs the API.
    if GOVUK_DIST.is_dir():
        app.mount("/assets", StaticFiles(directory=GOVUK_DIST), name="assets")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/health", tags=["service"], name="health")
    def health() -> JSONResponse:
        """Whether the service can reach its database."""
        try:
            with app.state.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            database = "ok"
        except Exception:  # noqa: BLE001 - any failure means unreachable
            database = "unreachable"
        return JSONResponse(
            {"status": "ok" if database == "ok" else "degraded", "database": database},
            status_code=200 if database == "ok" else 503,
        )

    return app
