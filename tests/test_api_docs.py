"""The API's description: Swagger UI served by the service itself (no CDN, no inline
script), off in production unless turned on, and an OpenAPI document that says how
to authenticate and what an error looks like."""

from __future__ import annotations

import re

import pytest

from app.access.policy import Permission
from app.access.rules import ROUTE_RULES
from app.api_docs import docs_on
from app.config import Settings
from app.main import create_app
from tests.helpers.app_client import AppClient
from tests.helpers.permissions import api_routes

SECRET = "x" * 48  # any value will do outside dev and test


def _app(**settings):
    """An app that never touches its database (the docs need none)."""
    unused = "postgresql+psycopg://unused@127.0.0.1:1/none"
    return create_app(Settings(database_url=unused, secret_key=SECRET, **settings))


class TestSwaggerUi:
    def test_served_from_the_service_itself(self):
        with AppClient(_app(environment="test")) as client:
            page = client.get("/docs")
            assert page.status_code == 200
            sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
            assert sources and all(s.startswith("/") for s in sources), sources
            for source in sources:
                assert client.get(source).status_code == 200, source
            assert "<script>" not in page.text  # no inline script
            csp = page.headers["content-security-policy"]
            assert "script-src 'self';" in csp and "cdn" not in csp and "http" not in csp

    def test_only_the_files_the_page_needs_are_served(self):
        with AppClient(_app(environment="test")) as client:
            assert client.get("/assets/swagger-ui/swagger-ui-bundle.js").status_code == 200
            # The package's own demo page points at a petstore on the internet.
            assert client.get("/assets/swagger-ui/index.html").status_code == 404
            assert client.get("/assets/swagger-ui/swagger-initializer.js").status_code == 404
            # GOV.UK Frontend's files are still where they were.
            assert client.get("/assets/govuk-frontend.min.css").status_code == 200


class TestOffInProduction:
    @pytest.mark.parametrize(
        ("environment", "api_docs", "on"),
        [
            ("dev", None, True),
            ("test", None, True),
            ("production", None, False),
            ("production", True, True),
            ("test", False, False),
        ],
    )
    def test_the_setting(self, environment, api_docs, on):
        settings = Settings(environment=environment, api_docs=api_docs, secret_key=SECRET)
        assert docs_on(settings) is on

    def test_production_serves_neither_the_page_nor_the_document(self):
        with AppClient(_app(environment="production"), raise_server_exceptions=False) as client:
            assert client.get("/docs").status_code == 404
            assert client.get("/openapi.json").status_code == 404
            assert client.get("/assets/swagger-ui/swagger-ui.css").status_code == 404
            # ...and no page links to them.
            assert "API documentation" not in client.get("/sign-in").text

    def test_production_can_turn_them_on(self):
        with AppClient(_app(environment="production", api_docs=True)) as client:
            assert client.get("/docs").status_code == 200
            assert client.get("/openapi.json").status_code == 200
            assert "API documentation" in client.get("/sign-in").text


@pytest.fixture(scope="module")
def built():
    app = _app(environment="test")
    return app, app.openapi()


class TestOpenApiDocument:
    def test_the_bearer_token_is_declared(self, built):
        _app, document = built
        scheme = document["components"]["securitySchemes"]["bearerAuth"]
        assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")

    def test_every_route_that_needs_someone_signed_in_requires_it(self, built):
        app, document = built
        checked = 0
        for route in api_routes(app):
            if not route.include_in_schema:
                continue
            for method in route.methods:
                operation = document["paths"][route.path_format][method.lower()]
                if ROUTE_RULES[route.name] == Permission.PUBLIC:
                    assert "security" not in operation, route.name
                else:
                    assert operation["security"] == [{"bearerAuth": []}], route.name
                    checked += 1
        assert checked > 50
        assert "security" not in document["paths"]["/api/v1/auth/sign-in"]["post"]

    def test_errors_are_described_as_the_api_sends_them(self, built):
        _app, document = built
        assert "HTTPValidationError" not in document["components"]["schemas"]
        error = document["components"]["schemas"]["Error"]
        assert error["required"] == ["detail", "code"]
        responses = document["paths"]["/api/v1/agencies"]["post"]["responses"]
        for status in ("401", "403", "409", "413", "422"):
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}

    def test_downloads_say_what_they_are(self, built):
        _app, document = built
        for path, kind in [
            ("/api/v1/actions/export.csv", "text/csv"),
            ("/api/v1/actions/export.xlsx", "application/vnd.openxmlformats"),
            ("/api/v1/audit-log.csv", "text/csv"),
        ]:
            content = document["paths"][path]["get"]["responses"]["200"]["content"]
            assert any(t.startswith(kind) for t in content) and "application/json" not in content
