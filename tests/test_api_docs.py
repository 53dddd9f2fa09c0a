"""The API's description: Swagger UI served by the service itself (no CDN, no inline
script), off in production unless turned on, and an OpenAPI document that says how
to authenticate and what an error looks like."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from app.access.auth import SECURE_SESSION_COOKIE, SESSION_COOKIE
from app.access.csrf import CSRF_HEADER
from app.access.policy import Permission
from app.access.rules import ROUTE_RULES
from app.access.secrets import MIN_PASSWORD_LENGTH
from app.agencies.schemas import AgencyCreate
from app.api_docs import docs_on
from app.audits.schemas import PSEUDONYM_INPUT_PATTERN, ChildCreate
from app.config import Settings
from app.main import create_app
from app.schemas_base import LINE_PATTERN, STRIPPED_LINE_PATTERN, RequestModel
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

    def test_a_response_field_with_a_default_is_required(self, built):
        # The service sends every field of an answer, defaults included: a generated
        # client need not treat them as possibly missing, and schemathesis checks them.
        _app, document = built
        schemas = document["components"]["schemas"]
        summary = schemas["ReturnSummary"]
        assert {"not_received", "not_received_reason"} <= set(summary["required"])
        assert "csrf_token" in schemas["MeOut"]["required"]
        assert "current" in schemas["SessionOut"]["required"]
        # Request bodies keep their defaults optional.
        assert "required" not in schemas["ActionPatch"]

    def test_the_analytics_say_their_shape(self, built):
        # A generated client reads a typed report, not an untyped mapping.
        _app, document = built
        answer = document["paths"]["/api/v1/moderation/analytics"]["get"]["responses"]["200"]
        schema = answer["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/AnalyticsOut"}
        schemas = document["components"]["schemas"]
        assert {"pairs", "weights", "headlines", "groups"} <= set(
            schemas["AnalyticsOut"]["required"]
        )
        rows = schemas["AnalyticsGroup"]["properties"]["by_key_area"]["items"]["anyOf"]
        assert {"$ref": "#/components/schemas/OverallGradeRow"} in rows

    def test_one_line_text_says_it_refuses_control_characters(self, built):
        # check_line's rule, as a pattern: white space that stripping removes may lead
        # or trail (a name), where nothing is stripped no control character at all.
        _app, document = built
        schemas = document["components"]["schemas"]
        name = schemas["AgencyCreate"]["properties"]["name"]
        assert name["pattern"] == STRIPPED_LINE_PATTERN and name["minLength"] == 1
        # A PATCH field that refuses null, and a code with a pattern of its own.
        assert schemas["ThemePatch"]["properties"]["name"]["pattern"] == STRIPPED_LINE_PATTERN
        code = schemas["LevelIn"]["properties"]["code"]
        assert code["pattern"] == r"^\S+$" and code["allOf"] == [{"pattern": STRIPPED_LINE_PATTERN}]
        search = document["paths"]["/api/v1/audits"]["get"]["parameters"]
        (q,) = [p["schema"] for p in search if p["name"] == "q"]
        assert {"type": "string", "maxLength": 200, "pattern": LINE_PATTERN} in q["anyOf"]
        # Multi-line text has no such pattern (tabs and line breaks are fine there).
        assert "pattern" not in schemas["AuditCreate"]["properties"]["description"]

    @pytest.mark.parametrize(
        ("value", "accepted"),
        [
            ("Office", True),
            (" Office\n", True),  # stripped
            ("Off\nice", False),
            ("Off\x00ice", False),
            ("Off\tice", False),
        ],
    )
    def test_the_one_line_pattern_says_what_the_service_accepts(self, value, accepted):
        assert (re.search(STRIPPED_LINE_PATTERN, value) is not None) is accepted
        assert _accepts(AgencyCreate, name=value, kind="police") is accepted

    @pytest.mark.parametrize(
        ("value", "accepted"),
        [
            ("Child A", True),
            ("young  person 3b", True),  # kept as "Young person 3B"
            ("Unborn baby 12", True),
            ("Child ABCD", False),
            ("Jane Smith", False),
            ("Child", False),
        ],
    )
    def test_a_pseudonym_s_pattern_says_what_the_service_accepts(self, built, value, accepted):
        _app, document = built
        pseudonym = document["components"]["schemas"]["ChildCreate"]["properties"]["pseudonym"]
        assert (
            pseudonym["pattern"] == PSEUDONYM_INPUT_PATTERN
            and "Child A" in pseudonym["description"]
        )
        assert (re.search(pseudonym["pattern"], value) is not None) is accepted
        assert _accepts(ChildCreate, pseudonym=value) is accepted

    def test_a_new_password_s_length_is_declared(self, built):
        _app, document = built
        schemas = document["components"]["schemas"]
        assert schemas["PasswordIn"]["properties"]["password"]["minLength"] == MIN_PASSWORD_LENGTH
        (text, _null) = schemas["UserCreate"]["properties"]["password"]["anyOf"]
        assert text["minLength"] == MIN_PASSWORD_LENGTH
        # Signing in checks the password, not its length.
        assert schemas["SignInIn"]["properties"]["password"]["minLength"] == 1

    def test_what_must_be_different_says_so(self, built):
        # A level code unique across a scale's levels cannot be a JSON schema keyword:
        # the description says it; a question's options are plain text, uniqueItems.
        _app, document = built
        schemas = document["components"]["schemas"]
        assert "code must be different" in schemas["ScaleIn"]["properties"]["levels"]["description"]
        key_areas = schemas["TemplateContent"]["properties"]["key_areas"]
        assert "title must be different" in key_areas["description"]
        for model in ("QuestionIn", "QuestionPatch"):
            assert schemas[model]["properties"]["options"]["uniqueItems"] is True, model

    def test_an_audit_names_its_template_version_as_a_version(self, built):
        # An audit's template_version.id is a version's id; the template's is beside it.
        _app, document = built
        schemas = document["components"]["schemas"]
        assert "TemplateRef" not in schemas
        audit = schemas["AuditOut"]["properties"]["template_version"]
        assert audit == {"$ref": "#/components/schemas/TemplateVersionRef"}
        version = schemas["TemplateVersionRef"]
        assert {"id", "template_id", "name", "number"} <= set(version["required"])
        assert "template version's id" in version["properties"]["id"]["description"]
        assert "/templates/{template_id}" in version["properties"]["template_id"]["description"]

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


def _accepts(model, **values) -> bool:
    try:
        model.model_validate(values)
    except ValidationError:
        return False
    return True


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
