"""The first pages: signing in and out, My work, and errors in the service's design."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.returns.models import Return
from tests.helpers.access import PASSWORD, next_code
from tests.helpers.factories import make_audit

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest.fixture
def browser(anonymous_client, db):
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    return anonymous_client


@pytest.fixture
def auditor(db):
    audit = make_audit(db, children=2, agencies_count=2)
    agency = audit.agencies[0]
    user = access.create_user(
        db,
        email="auditor@example.org",
        display_name="Auditor",
        roles={Role.AUDITOR},
        agency_id=agency.id,
        password=PASSWORD,
    )
    user.totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    from app.clock import utcnow

    user.totp_confirmed_at = utcnow()
    db.commit()
    return user, audit


def sign_in(browser, user) -> None:
    r = browser.post(
        "/sign-in",
        data={"email": user.email, "password": PASSWORD, "next": "/my-work"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/sign-in/code")
    r = browser.post(
        "/sign-in/code", data={"code": next_code(user), "next": "/my-work"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/my-work"


class TestSignIn:
    def test_the_form_is_a_gov_uk_page_without_inline_script(self, browser):
        page = browser.get("/sign-in").text
        assert 'class="govuk-template' in page and "govuk-generic-header" in page
        assert 'href="/assets/govuk-frontend.min.css"' in page
        scripts = re.findall(r"<script([^>]*)>", page)
        assert scripts and all("src=" in attributes for attributes in scripts)

    def test_missing_fields_show_the_error_summary_linking_to_each(self, browser):
        r = browser.post("/sign-in", data={"email": "", "password": ""})
        assert r.status_code == 422
        assert "There is a problem" in r.text
        assert 'href="#email"' in r.text and 'href="#password"' in r.text
        assert "<title>Error: Sign in" in r.text

    def test_a_wrong_password_is_refused_without_saying_whether_the_account_exists(
        self, browser, auditor
    ):
        user, _audit = auditor
        wrong = browser.post("/sign-in", data={"email": user.email, "password": "not it at all 1"})
        unknown = browser.post(
            "/sign-in", data={"email": "nobody@example.org", "password": "x" * 12}
        )
        assert wrong.status_code == unknown.status_code == 401
        message = "The e-mail address or password is not right."
        assert message in wrong.text and message in unknown.text

    def test_password_then_code_then_my_work_and_sign_out(self, browser, auditor):
        user, _audit = auditor
        sign_in(browser, user)
        page = browser.get("/my-work")
        assert page.status_code == 200 and "Signed in as auditor@example.org" in page.text
        token = CSRF.search(page.text).group(1)
        r = browser.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/sign-in"
        after = browser.get("/my-work", follow_redirects=False)
        assert after.status_code == 303 and after.headers["location"] == "/sign-in?next=/my-work"

    def test_signing_out_without_the_form_token_is_refused(self, browser, auditor):
        user, _audit = auditor
        sign_in(browser, user)
        r = browser.post("/sign-out", data={})
        assert r.status_code == 403 and "did not come from this service" in r.text
        assert browser.get("/my-work").status_code == 200

    def test_next_never_leads_off_the_service(self, browser, auditor):
        user, _audit = auditor
        r = browser.post(
            "/sign-in",
            data={"email": user.email, "password": PASSWORD, "next": "//evil.example"},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/sign-in/code?next=/"


class TestMyWork:
    def test_lists_my_agencys_returns_with_overdue_first(self, browser, db, auditor):
        user, audit = auditor
        sign_in(browser, user)
        page = browser.get("/my-work").text
        mine = db.scalars(select(Return).where(Return.agency_id == user.agency_id)).all()
        assert page.count("Not started") == len(mine) == 2
        assert "2 returns for your agency" in page and "Overdue" not in page
        audit.returns_due_on = date.today() - timedelta(days=1)
        db.commit()
        page = browser.get("/my-work").text
        assert "2 overdue" in page and page.count("govuk-tag--red") == 2

    def test_other_roles_cannot_open_it(self, browser, db):
        moderator = access.create_user(
            db,
            email="m@example.org",
            display_name="M",
            roles={Role.MODERATOR},
            password=PASSWORD,
        )
        moderator.totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
        from app.clock import utcnow

        moderator.totp_confirmed_at = utcnow()
        db.commit()
        browser.post("/sign-in", data={"email": moderator.email, "password": PASSWORD})
        browser.post("/sign-in/code", data={"code": next_code(moderator)})
        page = browser.get("/my-work")
        assert page.status_code == 403
        assert "You do not have access to this page" in page.text


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


def test_my_work_links_each_return(browser, db, auditor):
    user, _audit = auditor
    sign_in(browser, user)
    page = browser.get("/my-work").text
    mine = db.scalars(select(Return.id).where(Return.agency_id == user.agency_id)).all()
    for return_id in mine:
        assert f'<a class="govuk-link" href="/returns/{return_id}">' in page
    assert "&lt;a" not in page


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
