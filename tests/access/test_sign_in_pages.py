"""Signing in and out through the pages."""

from __future__ import annotations

import re

import pytest

from tests.helpers.access import PASSWORD, enrolled_auditor, sign_in_with_the_form

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
        r = browser.post(
            "/sign-in",
            data={"email": user.email, "password": PASSWORD, "next": "//evil.example"},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/sign-in/code?next=/"
