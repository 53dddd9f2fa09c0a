"""The application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from app import api_docs, serving, templating
from app.about import pages as about_pages
from app.access import api as access_api
from app.access import pages as access_pages
from app.actions import api as actions_api
from app.actions import pages as actions_pages
from app.agencies import api as agencies_api
from app.agencies import pages as agencies_pages
from app.audit_templates import api as templates_api
from app.audit_templates import pages as templates_pages
from app.auditlog import api as auditlog_api
from app.audits import api as audits_api
from app.audits import pages as audits_pages
from app.briefings import api as briefings_api
from app.briefings import pages as briefings_pages
from app.caller_first import check_caller
from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker, new_request_session
from app.deps import credentials_first, strict_query_string
from app.errors import install_error_handlers
from app.findings import api as findings_api
from app.findings import pages as findings_pages
from app.identify import api as identify_api
from app.identify import pages as identify_pages
from app.middleware import ProtectionMiddleware
from app.moderation import api as moderation_api
from app.moderation import pages as moderation_pages
from app.notifications import api as notifications_api
from app.notifications import pages as notifications_pages
from app.programme import api as programme_api
from app.programme import pages as programme_pages
from app.respond import pages as respond_pages
from app.returns import api as returns_api
from app.returns import audit_data_api as returns_audit_data_api
from app.returns import pages as returns_pages
from app.returns import pages_answers as returns_answers_pages
from app.templating import GOVUK_DIST, STATIC, error_page
from app.trends import api as trends_api
from app.trends import pages as trends_pages

_frozen = False


def _freeze_what_was_built() -> None:
    """Everything built at start-up (routes, schemas, mappers) lives for ever: freezing
    it keeps the garbage collector from rescanning it on every full collection, which
    bench/api.py showed as ~100 ms stalls at p95. Once per process: an app started
    again in the same process (each test's client) would only pay for a full
    collection again."""
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = True


def _lifespan(settings: Settings):
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The default pool is 40 threads; see Settings.db_threads for why fewer.
        to_thread.current_default_thread_limiter().total_tokens = settings.db_threads
        # Published briefings are rendered in the background, in worker processes.
        from app.briefings.jobs import Dispatcher, shutdown_render_pool

        if settings.render_in_background:
            app.state.renders = Dispatcher(app.state.sessionmaker, settings)
            app.state.renders.start()
        # Notifications go after their change commits, from the queue (app/notifications).
        from app.notifications.courier import Courier
        from app.notifications.service import channel

        courier = None
        if channel(settings) is not None and settings.notifications_every_seconds:
            courier = Courier(
                app.state.sessionmaker, settings, settings.notifications_every_seconds
            )
            courier.start()
        # Reads are logged at once and chained in batches (app/auditlog/pending.py).
        from app.auditlog.pending import Sealer

        sealer = Sealer(app.state.sessionmaker, settings.audit_log_seal_seconds)
        if settings.audit_log_seal_seconds:
            sealer.start()
        # The identification check's analyzer takes seconds to build: not in a request.
        from app.identify.detect import warm_up

        # Once it is built, so that its large graph of objects (60,000) is frozen with
        # the rest: left out, every full collection scanned it (17 ms).
        warm_up(then=_freeze_what_was_built)
        yield
        if settings.render_in_background:
            app.state.renders.stop()
        if settings.audit_log_seal_seconds:
            sealer.stop()
        if courier is not None:
            courier.stop()
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
        # Off in production unless settings.api_docs turns them on (app.api_docs).
        openapi_url="/openapi.json" if api_docs.docs_on(settings) else None,
        docs_url=None,
        redoc_url=None,
        # Every route answers 401 to a request without credentials before reading it,
        # and refuses a query string that is not UTF-8 (400) rather than reading it
        # with replacement characters (app.deps).
        dependencies=[Depends(credentials_first), Depends(strict_query_string)],
    )
    app.state.settings = settings
    # Templates are read again when their files change only while developing; a
    # deployment's never change, and checking costs a file system call per template.
    templating.environment.auto_reload = settings.environment == "dev"
    app.state.engine = make_engine(settings.database_url, echo=settings.sql_echo)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.state.request_session = new_request_session
    # A request's invalid input is answered 422 only to a caller who may use the route
    # (app.caller_first); anyone else gets the 401 or 403 its endpoint would give.
    install_error_handlers(app, page=error_page, check_caller=check_caller)
    app.add_middleware(ProtectionMiddleware, max_body_bytes=settings.max_request_bytes)
    # Outermost: a request counts as served from its first byte to its last.
    app.add_middleware(
        serving.ServingMiddleware, board_path=serving.path_for(settings.render_pause_board)
    )
    # Routes are matched in order, one by one: the busiest routers first.
    for module in (
        returns_api,
        returns_audit_data_api,
        audits_api,
        access_api,
        agencies_api,
        templates_api,
        auditlog_api,
        moderation_api,
        findings_api,
        actions_api,
        briefings_api,
        notifications_api,
        identify_api,
        programme_api,
        trends_api,
        access_pages,
        returns_pages,
        returns_answers_pages,
        audits_pages,
        agencies_pages,
        templates_pages,
        moderation_pages,
        findings_pages,
        actions_pages,
        briefings_pages,
        identify_pages,
        about_pages,
        notifications_pages,
        programme_pages,
        trends_pages,
        respond_pages,
    ):
        app.include_router(module.router)
    api_docs.install(app, settings)
    # The app serves GOV.UK Frontend's files itself (no CDN at run time), installed by
    # `npm ci`; a checkout without them still runs the API.
    if GOVUK_DIST.is_dir():
        app.mount("/assets", StaticFiles(directory=GOVUK_DIST), name="assets")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/health", tags=["service"], name="api.health")
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
