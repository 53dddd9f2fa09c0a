"""Signing in and out through the pages."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.access.csrf import SIGN_IN_COOKIE
from app.access.models import WebSession
from tests.helpers.access import (
    PASSWORD,
    SIGN_IN_TOKEN,
    enrolled_auditor,
    post_sign_in,
    sign_in_with_the_form,
)
from tests.helpers.app_client import AppClient

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest.fixture
def browser(anonymous_client, db):
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    return anonymous_client


@pytest.fixture
def auditor(db):
    return enrolled_auditor(db)


class TestSignIn:
    def test_the_form_is_a_gov_uk_page_without_inline_script(self, browser):
        page = browser.get("/sign-in").text
        assert 'class="govuk-template' in page and "govuk-generic-header" in page
        assert 'href="/assets/govuk-frontend.min.css"' in page
        scripts = re.findall(r"<script([^>]*)>", page)
        assert scripts and all("src=" in attributes for attributes in scripts)

    def test_missing_fields_show_the_error_summary_linking_to_each(self, browser):
        r = post_sign_in(browser, {"email": "", "password": ""})
        assert r.status_code == 422
        assert "There is a problem" in r.text
        assert 'href="#email"' in r.text and 'href="#password"' in r.text
        assert "<title>Error: Sign in" in r.text

    def test_a_wrong_password_is_refused_without_saying_whether_the_account_exists(
        self, browser, auditor
    ):
        user, _audit = auditor
        wrong = post_sign_in(browser, {"email": user.email, "password": "not it at all 1"})
        unknown = post_sign_in(browser, {"email": "nobody@example.org", "password": "x" * 12})
        assert wrong.status_code == unknown.status_code == 401
        message = "The e-mail address or password is not right."
        assert message in wrong.text and message in unknown.text

    def test_password_then_code_then_my_work_and_sign_out(self, browser, auditor):
        user, _audit = auditor
        sign_in_with_the_form(browser, user)
        page = browser.get("/my-work")
        assert page.status_code == 200 and "Signed in as Auditor" in page.text
        assert "auditor@example.org" not in page.text  # named by name, not by e-mail
        token = CSRF.search(page.text).group(1)
        r = browser.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/sign-in"
        after = browser.get("/my-work", follow_redirects=False)
        assert after.status_code == 303 and after.headers["location"] == "/sign-in?next=/my-work"

    def test_signing_out_without_the_form_token_is_refused(self, browser, auditor):
        user, _audit = auditor
        sign_in_with_the_form(browser, user)
        r = browser.post("/sign-out", data={})
        assert r.status_code == 403 and "did not come from this service" in r.text
        assert browser.get("/my-work").status_code == 200

    def test_next_never_leads_off_the_service(self, browser, auditor):
        user, _audit = auditor
        r = post_sign_in(
            browser,
            {"email": user.email, "password": PASSWORD, "next": "//evil.example"},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/sign-in/code?next=/"


class TestSignInFormToken:
    """Login CSRF: the sign-in form carries a token bound to a cookie of its own, so
    another site cannot sign a browser in to an account of its choosing."""

    def test_the_form_carries_a_token_for_its_own_cookie(self, browser):
        page = browser.get("/sign-in")
        token = SIGN_IN_TOKEN.search(page.text)
        assert token and browser.cookies.get(SIGN_IN_COOKIE)
        # The same browser keeps its key: a second tab's form works too.
        again = browser.get("/sign-in")
        assert SIGN_IN_TOKEN.search(again.text)[1] == token[1]

    def test_a_post_without_the_token_tries_nothing(self, browser, auditor, db):
        user, _audit = auditor
        browser.get("/sign-in")  # the cookie, but not the form's token
        r = browser.post(
            "/sign-in", data={"email": user.email, "password": PASSWORD}, follow_redirects=False
        )
        assert r.status_code == 400 and "The sign-in page had expired" in r.text
        assert 'href="#email"' in r.text  # in the error summary
        assert browser.cookies.get("case_audit_session") is None
        # The right password, but no session was started: nothing was tried.
        assert db.scalar(select(func.count()).select_from(WebSession)) == 0
        # The page shown again carries a token that works.
        retry = browser.post(
            "/sign-in",
            data={
                "email": user.email,
                "password": PASSWORD,
                "csrf_token": SIGN_IN_TOKEN.search(r.text)[1],
            },
            follow_redirects=False,
        )
        assert retry.status_code == 303 and retry.headers["location"].startswith("/sign-in/code")

    def test_a_token_from_another_browser_is_refused(self, browser, app, auditor):
        user, _audit = auditor
        # Another site's own visit to the sign-in page gives it a token for its cookie,
        # not for the browser it wants to sign in.
        with AppClient(app) as theirs:
            their_token = SIGN_IN_TOKEN.search(theirs.get("/sign-in").text)[1]
        browser.get("/sign-in")
        r = browser.post(
            "/sign-in",
            data={"email": user.email, "password": PASSWORD, "csrf_token": their_token},
            follow_redirects=False,
        )
        assert r.status_code == 400 and browser.cookies.get("case_audit_session") is None

    def test_a_post_from_another_site_is_refused_even_with_the_token(self, browser, auditor):
        user, _audit = auditor
        r = post_sign_in(
            browser,
            {"email": user.email, "password": PASSWORD},
            headers={"Origin": "https://evil.example"},
            follow_redirects=False,
        )
        assert r.status_code == 400 and browser.cookies.get("case_audit_session") is None
