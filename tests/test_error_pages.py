"""Errors in the service's design: a helpful 404 page, JSON for the API, a plain 500
page without internals; the service serves its own assets."""

from __future__ import annotations

import pytest


@pytest.fixture
def browser(anonymous_client, db):
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    return anonymous_client


class TestErrorPages:
    def test_unknown_page_is_a_helpful_404_page(self, browser):
        r = browser.get("/no-such-page")
        assert r.status_code == 404 and "Page not found" in r.text
        assert "Traceback" not in r.text and 'class="govuk-template' in r.text

    def test_the_api_keeps_answering_json(self, browser):
        r = browser.get("/api/v1/no-such-thing")
        assert r.status_code == 404 and r.json()["code"] == "not_found"

    def test_assets_are_served_by_the_service(self, browser):
        css = browser.get("/assets/govuk-frontend.min.css")
        assert css.status_code == 200 and "govuk-" in css.text
        assert "max-age" in css.headers["cache-control"]
        assert browser.get("/static/js-enabled.js").status_code == 200


def test_a_server_error_is_a_plain_page_without_internals(app, anonymous_client):
    def boom():
        raise RuntimeError("secret internals: SELECT * FROM child")

    app.add_api_route("/_boom_page", boom)
    try:
        r = anonymous_client.get("/_boom_page")
    finally:
        app.router.routes.pop()
    assert r.status_code == 500
    assert "Sorry, there is a problem with the service" in r.text
    assert "secret" not in r.text and "Traceback" not in r.text
