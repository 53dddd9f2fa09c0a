"""The API's description: Swagger UI served by the service itself (no CDN, no inline
script), off in production unless turned on, and an OpenAPI document that says how
to authenticate and what an error looks like."""

from __future__ import annotations

import re

import pytest

from app.access.auth import SECURE_SESSION_COOKIE, SESSION_COOKIE
from app.access.csrf import CSRF_HEADER
from app.access.policy import Permission
from app.access.rules import ROUTE_RULES
from app.api_docs import docs_on
from app.config import Settings
from app.main import create_app
from app.schemas_base import RequestModel
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

    def test_the_session_cookie_and_its_csrf_token_are_declared(self, built):
        _app, document = built
        schemes = document["components"]["securitySchemes"]
        assert schemes["sessionCookie"] == schemes["sessionCookie"] | {
            "type": "apiKey",
            "in": "cookie",
            "name": SECURE_SESSION_COOKIE,
        }
        assert SESSION_COOKIE in schemes["sessionCookie"]["description"]  # over http
        csrf = schemes["csrfToken"]
        assert (csrf["type"], csrf["in"], csrf["name"].lower()) == ("apiKey", "header", CSRF_HEADER)

    def test_every_route_that_needs_someone_signed_in_requires_it(self, built):
        # A bearer token, or the session cookie: with the cookie a change needs the
        # CSRF token too, a read does not (CSRF is checked on changes only).
        app, document = built
        read = [{"bearerAuth": []}, {"sessionCookie": []}]
        change = [{"bearerAuth": []}, {"sessionCookie": [], "csrfToken": []}]
        checked = {"GET": 0, "changes": 0}
        for route in api_routes(app):
            if not route.include_in_schema:
                continue
            for method in route.methods:
                operation = document["paths"][route.path_format][method.lower()]
                if ROUTE_RULES[route.name] == Permission.PUBLIC:
                    assert "security" not in operation, route.name
                elif method == "GET":
                    assert operation["security"] == read, route.name
                    checked["GET"] += 1
                else:
                    assert operation["security"] == change, route.name
                    checked["changes"] += 1
        assert checked["GET"] > 30 and checked["changes"] > 40
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

    def test_each_schema_has_a_name_of_its_own(self, built):
        # Two models of one name (an AgencyOut in two domains) come out as
        # app__moderation__schemas__AgencyOut, titled AgencyOut like the other: a
        # generated client refuses the second and drops every schema that uses it.
        _app, document = built
        schemas = document["components"]["schemas"]
        assert not [name for name in schemas if "__" in name]
        titles = [schema.get("title", name) for name, schema in schemas.items()]
        assert len(set(titles)) == len(titles)

    def test_each_operation_is_named_by_its_route(self, built):
        # A generated client's functions take these names (audits_create), and they
        # stay the same when a path changes.
        app, document = built
        ids = [
            operation["operationId"]
            for operations in document["paths"].values()
            for operation in operations.values()
        ]
        assert len(set(ids)) == len(ids)
        assert document["paths"]["/api/v1/audits"]["post"]["operationId"] == "audits_create"
        assert document["paths"]["/api/health"]["get"]["operationId"] == "health"

    def test_downloads_say_what_their_body_is(self, built):
        # Without a schema a generated client reads nothing of the body.
        _app, document = built
        for path, kind, schema in [
            ("/api/v1/actions/export.csv", "text/csv", {"type": "string"}),
            (
                "/api/v1/actions/export.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                {"type": "string", "format": "binary"},
            ),
            ("/api/v1/template-versions/{version_id}/export", "application/yaml", {}),
        ]:
            content = document["paths"][path]["get"]["responses"]["200"]["content"]
            assert content[kind]["schema"] == schema, path

    def test_a_template_version_names_its_template_apart(self, built):
        # POST /templates answers with the new template's first version: its id is
        # the version's, and GET /templates/{id} needs template_id.
        _app, document = built
        version = document["components"]["schemas"]["TemplateVersionOut"]
        assert {"id", "template_id", "family_id"} <= set(version["required"])
        assert "Not the template's id" in version["properties"]["id"]["description"]
        assert "/templates/{template_id}" in version["properties"]["template_id"]["description"]
        assert version["properties"]["family_id"]["deprecated"] is True

    def test_a_patch_field_that_refuses_null_is_not_declared_nullable(self, built):
        # Leaving it out keeps the value; null is answered 422 "cannot be null".
        _app, document = built
        schemas = document["components"]["schemas"]
        checked = 0
        for model in _request_models():
            refused = _refuses_null(model)
            schema = schemas.get(model.__name__) or schemas.get(f"{model.__name__}-Input")
            if not refused or schema is None:
                continue
            for name in refused:
                field = schema["properties"][name]
                assert {"type": "null"} not in field.get("anyOf", []), (model, name)
                assert field.get("type") != "null" and "default" not in field, (model, name)
                assert name not in schema.get("required", []), (model, name)
                checked += 1
        assert checked > 30
        # Those that may be cleared still say null.
        owner = schemas["ActionPatch"]["properties"]["owner_user_id"]
        assert {"type": "null"} in owner["anyOf"]
        assert schemas["ThemePatch"]["properties"]["name"]["type"] == "string"


def _request_models() -> list[type]:
    found, todo = [], [RequestModel]
    while todo:
        model = todo.pop()
        found.append(model)
        todo += model.__subclasses__()
    return found


def _refuses_null(model) -> set[str]:
    return {
        name
        for decorator in model.__pydantic_decorators__.field_validators.values()
        for name in getattr(getattr(decorator.func, "__func__", None), "refuses_null", ())
    }
