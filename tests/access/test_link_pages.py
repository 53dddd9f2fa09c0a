"""The pages of one-time links: an administrator's and an agency lead's invitation
pages; accepting an invitation (a password, then the authenticator set up as at any
first sign-in); "Forgot your password?" and the reset; one refusal page for every link
that does not work. With the clock pinned at noon."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
import time_machine
from sqlalchemy import func, select

from app.access.auth import SESSION_COOKIE
from app.access.models import Role, User, WebSession
from app.access.secrets import verify_password
from app.config import SsoProvider
from tests.helpers.access import PASSWORD, browse_as, post_sign_in
from tests.helpers.links import NEW_PASSWORD, NOON, emails, link_token

TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def admin(web, db, make_user):
    me = make_user(roles=(Role.ADMIN,), email="alex.admin@example.org")
    browse_as(web, db, me)
    return me


def _csrf(client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return TOKEN.search(page.text)[1]


def _invite(client, path="/admin/users/invite", **fields):
    data = {
        "csrf_token": _csrf(client, path),
        "display_name": "Sam Newcomer",
        "email": "sam.newcomer@example.org",
        "roles": ["practitioner"],
        **fields,
    }
    return client.post(path, data=data, follow_redirects=False)


def _user(db, email="sam.newcomer@example.org") -> User | None:
    return db.scalar(select(User).where(User.email == email))


class TestInvitePages:
    def test_an_admin_invites_from_the_users_pages(self, web, db, admin, police):
        page = web.get("/admin/users/invite").text
        assert "Administrator" in page and 'name="agency_id"' in page
        r = _invite(web, roles=["auditor"], agency_id=str(police.id))
        assert r.status_code == 303 and r.headers["location"] == "/admin/users"
        assert (
            "An invitation has been sent to sam.newcomer@example.org."
            in web.get("/admin/users").text
        )
        user = _user(db)
        assert user.roles == {Role.AUDITOR} and user.agency_id == police.id
        assert user.password_hash is None and len(emails(db, "invitation", user)) == 1

    def test_an_administrator_role_waits_for_another_administrator(self, web, db, admin):
        r = _invite(web, roles=["admin"])
        assert r.status_code == 303
        assert "needs another administrator&#39;s approval" in web.get("/admin/users").text
        assert _user(db).roles == set()

    def test_a_missing_name_shows_the_error_summary_and_sends_nothing(self, web, db, admin):
        r = _invite(web, display_name="", email="not an address")
        assert r.status_code == 422
        assert 'href="#display_name"' in r.text and 'href="#email"' in r.text
        assert _user(db) is None and emails(db, "invitation") == []

    def test_someone_with_an_account_is_refused(self, web, db, admin, make_user):
        make_user(roles=(Role.PRACTITIONER,), email="sam.newcomer@example.org")
        r = _invite(web)
        assert r.status_code == 409
        assert "Someone with this email address already has an account" in r.text

    def test_a_lead_invites_to_their_own_agency_only_with_their_roles(
        self, web, db, make_user, police
    ):
        lead = make_user(roles=(Role.AGENCY_LEAD,), agency=police)
        browse_as(web, db, lead)
        page = web.get("/agency/people/invite").text
        assert "They will belong to Police." in page
        assert 'value="auditor"' in page and 'value="admin"' not in page
        assert 'name="agency_id"' not in page
        r = _invite(web, path="/agency/people/invite", roles=["auditor", "practitioner"])
        assert r.status_code == 303 and r.headers["location"] == "/agency/people/invite"
        assert _user(db).agency_id == police.id
        # A role posted that the page does not offer is refused, and nothing is sent.
        refused = _invite(
            web, path="/agency/people/invite", email="other@example.org", roles=["moderator"]
        )
        assert refused.status_code == 403
        assert "You can give the auditor, agency lead and practitioner roles only" in refused.text
        assert _user(db, "other@example.org") is None

    def test_other_roles_do_not_reach_the_pages(self, web, db, make_user, police):
        browse_as(web, db, make_user(roles=(Role.AUDITOR,), agency=police))
        assert web.get("/agency/people/invite").status_code == 403
        assert web.get("/admin/users/invite").status_code == 403

    def test_an_administrator_on_the_leads_page_is_sent_to_their_own(self, web, admin):
        r = web.get("/agency/people/invite", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/admin/users/invite"
        r = web.get("/agency/people/import", follow_redirects=False)
        assert r.headers["location"] == "/admin/users/import"


@pytest.fixture
def invited(web, db, admin):
    """Someone the administrator has just invited; then the browser signs out (it is
    the invited person's from here)."""
    assert _invite(web).status_code == 303
    web.cookies.clear()
    user = _user(db)
    return user, link_token(db, user)


def _accept(web, token: str, password: str = NEW_PASSWORD, csrf: str | None = None):
    path = f"/invitation/{token}"
    return web.post(
        path,
        data={"csrf_token": csrf or _csrf(web, path), "password": password},
        follow_redirects=False,
    )


class TestAccepting:
    def test_a_password_then_the_authenticator_then_signed_in(self, web, db, invited):
        user, token = invited
        page = web.get(f"/invitation/{token}")
        assert page.status_code == 200
        assert "Welcome, Sam Newcomer" in page.text and user.email in page.text
        r = _accept(web, token)
        assert r.status_code == 303 and r.headers["location"].startswith("/sign-in/set-up")
        assert verify_password(_user(db).password_hash, NEW_PASSWORD)
        set_up = web.get(r.headers["location"])
        secret = re.search(r'<code class="app-secret">([A-Z2-7]+)</code>', set_up.text)[1]
        code = pyotp.TOTP(secret).at(NOON)
        done = web.post("/sign-in/set-up", data={"code": code, "next": "/"}, follow_redirects=False)
        assert done.status_code == 200 and "Your recovery codes" in done.text
        assert _user(db).totp_confirmed_at is not None
        assert web.get("/").status_code == 200 and "Sign out" in web.get("/").text

    def test_the_link_then_works_no_more_and_every_refusal_looks_the_same(
        self, web, db, invited, clock
    ):
        user, token = invited
        csrf = _csrf(web, f"/invitation/{token}")  # the page left open in another tab
        assert _accept(web, token, csrf=csrf).status_code == 303
        used = web.get(f"/invitation/{token}")
        unknown = web.get("/invitation/made-up-token-0123456789")
        again = _accept(web, token, password="another long passphrase 7", csrf=csrf)
        assert token not in used.text
        assert used.status_code == unknown.status_code == 404
        assert "This link does not work" in used.text
        assert used.text == unknown.text  # the page never says whose it was
        assert again.status_code == 404 and "This link does not work" in again.text
        assert verify_password(_user(db).password_hash, NEW_PASSWORD)

    def test_an_expired_link_shows_the_same_page(self, web, db, invited, clock, settings):
        _user_, token = invited
        clock.shift(timedelta(hours=settings.account_link_hours))
        expired = web.get(f"/invitation/{token}")
        assert expired.status_code == 404
        assert expired.text == web.get("/invitation/made-up-token-0123456789").text

    def test_a_weak_password_is_shown_with_the_error_summary_and_the_link_kept(
        self, web, db, invited
    ):
        _user_, token = invited
        blank = _accept(web, token, password="")
        assert blank.status_code == 422 and 'href="#password"' in blank.text
        assert "Enter a password" in blank.text
        short = _accept(web, token, password="too short")
        assert short.status_code == 422 and "at least 12 characters" in short.text
        assert _accept(web, token).status_code == 303  # still works

    def test_a_form_posted_without_this_browsers_token_is_refused(self, web, db, invited):
        _user_, token = invited
        web.get(f"/invitation/{token}")
        r = web.post(
            f"/invitation/{token}",
            data={"csrf_token": "0" * 64, "password": NEW_PASSWORD},
            follow_redirects=False,
        )
        assert r.status_code == 400 and "The page had expired" in r.text
        assert _user(db).password_hash is None

    def test_single_sign_on_is_offered_to_a_domain_that_has_it(
        self, web, db, admin, police, change_settings
    ):
        change_settings(
            sso_providers=[
                SsoProvider(
                    key="westshire-police",
                    name="Westshire Police",
                    issuer="https://login.example.org/tenant/v2.0",
                    client_id="client",
                    domains={"police.example.org": "Police"},
                )
            ]
        )
        _invite(web, email="robin@police.example.org", roles=["auditor"], agency_id=police.id)
        web.cookies.clear()
        token = link_token(db, _user(db, "robin@police.example.org"))
        page = web.get(f"/invitation/{token}").text
        assert "Sign in with Westshire Police" in page
        assert 'href="/sign-in/sso/westshire-police"' in page


@pytest.fixture
def member(db, make_user):
    return make_user(roles=(Role.PRACTITIONER,), email="sam.member@example.org")


def _forgot(web, email: str, **options):
    data = {"csrf_token": _csrf(web, "/forgot-password"), "email": email}
    return web.post("/forgot-password", data=data, follow_redirects=False, **options)


class TestForgotAndReset:
    def test_every_address_gets_the_same_answer(self, web, db, member):
        known = _forgot(web, member.email)
        unknown = _forgot(web, "nobody@example.org")
        assert known.status_code == unknown.status_code == 303
        assert known.headers["location"] == unknown.headers["location"] == "/forgot-password/sent"
        assert "Check your email" in web.get("/forgot-password/sent").text
        assert [n.email for n in emails(db, "password_reset")] == [member.email]

    def test_a_bad_address_or_another_sites_form_is_refused(self, web, db, member):
        bad = _forgot(web, "not an address")
        assert bad.status_code == 422 and 'href="#email"' in bad.text
        forged = web.post(
            "/forgot-password",
            data={"csrf_token": "0" * 64, "email": member.email},
            follow_redirects=False,
        )
        assert forged.status_code == 400
        assert emails(db, "password_reset") == []

    def test_a_reset_signs_out_everywhere_and_the_code_is_still_asked(self, web, db, member):
        other = web.__class__(web.app, raise_server_exceptions=False)
        browse_as(other, db, member)
        assert other.get("/").status_code == 200
        _forgot(web, member.email)
        token = link_token(db, member, "password_reset")
        path = f"/reset-password/{token}"
        assert "Choose a new password" in web.get(path).text
        r = web.post(
            path,
            data={"csrf_token": _csrf(web, path), "password": NEW_PASSWORD},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/password-changed"
        assert "Your password has been changed" in web.get("/password-changed").text
        assert (
            db.scalar(select(func.count(WebSession.id)).where(WebSession.ended_at.is_(None))) == 0
        )
        assert other.get("/", follow_redirects=False).headers["location"].startswith("/sign-in")
        assert web.get(path).status_code == 404  # once
        signed = post_sign_in(
            web, {"email": member.email, "password": NEW_PASSWORD}, follow_redirects=False
        )
        assert signed.headers["location"].startswith("/sign-in/code")
        assert SESSION_COOKIE in signed.headers["set-cookie"]
        old = post_sign_in(web, {"email": member.email, "password": PASSWORD})
        assert old.status_code == 401
        other.close()
