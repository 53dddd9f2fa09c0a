"""Errors reach users as clear JSON: never a stack trace, never SQL."""

from app.config import Settings
from app.main import create_app
from tests.helpers.app_client import AppClient


class TestErrors:
    def test_unexpected_error_is_a_plain_500(self, app, client):
        def boom():
            raise RuntimeError("secret internals: SELECT * FROM child")

        app.add_api_route("/api/v1/_boom", boom)
        try:
            r = client.get("/api/v1/_boom")
        finally:
            app.router.routes.pop()
        assert r.status_code == 500
        assert "secret" not in r.text and "SELECT" not in r.text
        assert r.json()["code"] == "server_error"

    def test_unknown_path_is_404_json(self, client):
        r = client.get("/api/v1/nothing-here")
        assert r.status_code == 404 and r.json()["code"] == "not_found"

    def test_malformed_json_is_422(self, client):
        r = client.post(
            "/api/v1/agencies", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 422

    def test_wrong_type_in_path_is_422_naming_it(self, client):
        r = client.get("/api/v1/audits/abc")
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.audit_id"


class TestHealth:
    def test_reports_database_ok(self, client):
        assert client.get("/api/health").json() == {"status": "ok", "database": "ok"}

    def test_reports_unreachable_database_as_503(self):
        app = create_app(Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none"))
        with AppClient(app) as client:
            r = client.get("/api/health")
        assert r.status_code == 503 and r.json()["database"] == "unreachable"


class TestOpenApi:
    def test_openapi_and_docs_are_served(self, client):
        spec = client.get("/openapi.json").json()
        assert "/api/v1/returns/{return_id}/draft" in spec["paths"]
        assert client.get("/docs").status_code == 200


class TestStorableInput:
    def test_nul_in_a_query_string_is_422_not_a_database_error(self, client):
        r = client.get("/api/v1/audits", params={"q": "a\x00b"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.q"
