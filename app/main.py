"""The application factory."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.agencies.api import router as agencies_router
from app.audits.api import router as audits_router
from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker
from app.errors import install_error_handlers
from app.returns.api import router as returns_router
from app.templates_.api import router as templates_router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
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
    for router in (agencies_router, templates_router, audits_router, returns_router):
        app.include_router(router)

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
