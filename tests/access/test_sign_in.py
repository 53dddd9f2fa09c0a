"""Signing in with a password: what is refused, how alike refusals look, the
throttle per (account, client address), and the session cookie."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from app.access.models import SignInThrottle, WebSession
from app.access.secrets import digest
from app.access.signin import SIGN_IN_REFUSED
from app.auditlog.models import AuditEvent
from app.clock import utcnow
from tests.helpers.access import API, PASSWORD, cookie, next_code, sign_in, start_sign_in


def _events(db, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


class TestSignIn:
    def test_right_password_starts_a_session_waiting_for_the_second_factor(
        self, web, db, make_user
    ):
        user = make_user()
        r = start_sign_in(web, user)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "second_factor_required"
        assert body["csrf_token"] is None and body["enrolment"] is None
        plain = cookie(web)
        assert plain and len(plain) >= 32  # at least 128 bits, URL-safe
        row = db.scalar(select(WebSession).where(WebSession.user_id == user.id))
        assert row.token_hash == digest(plain) and row.second_factor_at is None
        # Not signed in yet: the pending session opens nothing but the next step.
        assert web.get(f"{API}/auth/me").status_code == 401

    def test_e_mail_address_is_not_case_sensitive(self, web, make_user):
        make_user(email="mixed.case@example.org")
        r = web.post(
            f"{API}/auth/sign-in", json={"email": " Mixed.Case@Example.ORG ", "password": PASSWORD}
        )
        assert r.status_code == 200

    def test_each_sign_in_gets_a_new_token(self, web, db, make_user):
        user = make_user()
        start_sign_in(web, user)
        first = cookie(web)
        start_sign_in(web, user)
        assert cookie(web) != first
        assert len(list(db.scalars(select(WebSession).where(WebSession.user_id == user.id)))) == 2

    def test_session_lasts_the_absolute_lifetime(self, web, db, make_user, settings):
        user = make_user()
        body = start_sign_in(web, user).json()
        row = db.scalar(select(WebSession).where(WebSession.user_id == user.id))
        lifetime = row.expires_at - row.created_at
        assert lifetime == timedelta(hours=settings.session_absolute_hours)
        assert body["expires_at"]

    def test_without_second_factors_the_session_is_complete_at_once(
        self, web, make_user, change_settings
    ):
        change_settings(require_second_factor=False)
        user = make_user(enrolled=False)
        body = start_sign_in(web, user).json()
        assert body["status"] == "signed_in" and body["csrf_token"]
        me = web.get(f"{API}/auth/me")
        assert me.status_code == 200 and me.json()["email"] == user.email
        assert me.json()["csrf_token"] == body["csrf_token"]

    def test_an_outdated_hash_is_replaced_at_sign_in(self, web, db, make_user):
        user = make_user()
        # A hash made with other parameters (say, before an upgrade).
        user.password_hash = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1).hash(
            PASSWORD
        )
        db.commit()
        old = user.password_hash
        assert start_sign_in(web, user).status_code == 200
        db.refresh(user)
        assert user.password_hash != old and user.password_hash.startswith("$argon2id$")
        assert start_sign_in(web, user).status_code == 200

    def test_success_is_logged_as_the_person(self, web, db, make_user):
        user = make_user()
        start_sign_in(web, user)
        (event,) = _events(db, "auth.sign_in")
        assert event.user_id == user.id and event.object_id == user.id
        assert event.after["status"] == "second_factor_required"


class TestRefusals:
    """Every refusal is the same 401 with the same words: nothing says whether the
    account exists."""

    @pytest.mark.parametrize("case", ["unknown", "wrong password", "disabled", "no password"])
    def test_refusals_are_identical(self, web, db, make_user, case):
        user = make_user(password=None if case == "no password" else PASSWORD)
        email, password = user.email, PASSWORD
        if case == "unknown":
            email = "nobody@example.org"
        elif case == "wrong password":
            password = "not the password at all"
        elif case == "disabled":
            user.active = False
            db.commit()
        r = web.post(f"{API}/auth/sign-in", json={"email": email, "password": password})
        assert r.status_code == 401
        assert r.json() == {"detail": SIGN_IN_REFUSED, "code": "sign_in_refused"}
        assert "set-cookie" not in r.headers
        assert cookie(web) is None

    def test_unknown_and_wrong_password_answer_byte_for_byte_alike(self, web, make_user):
        user = make_user()
        unknown = web.post(
            f"{API}/auth/sign-in", json={"email": "nobody@example.org", "password": PASSWORD}
        )
        wrong = web.post(
            f"{API}/auth/sign-in", json={"email": user.email, "password": "wrong wrong wrong"}
        )
        assert unknown.status_code == wrong.status_code == 401
        assert unknown.content == wrong.content
        skip = {"x-request-id", "date"}
        assert {k: v for k, v in unknown.headers.items() if k not in skip} == {
            k: v for k, v in wrong.headers.items() if k not in skip
        }

    def test_failures_are_logged_with_the_reason_and_count(self, web, db, make_user):
        user = make_user()
        web.post(f"{API}/auth/sign-in", json={"email": user.email, "password": "wrong wrong 1"})
        web.post(f"{API}/auth/sign-in", json={"email": "nobody@example.org", "password": "x"})
        events = _events(db, "auth.sign_in_failed")
        assert [(e.object_id, e.after["reason"]) for e in events] == [
            (user.id, "wrong password"),
            (None, "unknown account"),
        ]
        assert all(e.user_id is None and e.object_type == "user" for e in events)


class TestLockout:
    def _fail(self, client, email: str, times: int) -> list[int]:
        return [
            client.post(
                f"{API}/auth/sign-in", json={"email": email, "password": "wrong password!!"}
            ).status_code
            for _ in range(times)
        ]

    def test_locked_after_the_limit_with_retry_after(self, web, make_user, settings):
        user = make_user()
        assert self._fail(web, user.email, settings.sign_in_max_failures) == [401] * (
            settings.sign_in_max_failures
        )
        r = start_sign_in(web, user)
        assert r.status_code == 429
        assert r.json()["code"] == "too_many_attempts"
        retry = int(r.headers["Retry-After"])
        assert 0 < retry <= settings.sign_in_lockout_minutes * 60 + 1
        assert r.json()["retry_after"] == retry

    def test_a_locked_account_refuses_even_the_right_password(self, web, db, make_user, settings):
        user = make_user()
        self._fail(web, user.email, settings.sign_in_max_failures)
        for _ in range(2):
            assert start_sign_in(web, user).status_code == 429
        assert db.scalar(select(WebSession.id).where(WebSession.user_id == user.id)) is None
        locked = [e for e in _events(db, "auth.sign_in_failed") if e.after["reason"] == "locked"]
        assert len(locked) == 2

    def test_another_address_can_still_sign_in(self, web, make_user, settings, other_browser):
        user = make_user()
        self._fail(web, user.email, settings.sign_in_max_failures)
        assert start_sign_in(web, user).status_code == 429
        elsewhere = other_browser(address="203.0.113.7")
        r = start_sign_in(elsewhere, user)
        assert r.status_code == 200 and r.json()["status"] == "second_factor_required"

    def test_the_lock_is_counted_in_the_database(self, web, db, make_user, settings):
        user = make_user()
        self._fail(web, user.email, settings.sign_in_max_failures)
        row = db.scalar(select(SignInThrottle).where(SignInThrottle.account == user.email))
        assert row.client_address == "testclient"
        assert row.failures == settings.sign_in_max_failures
        assert row.locked_until > utcnow()

    def test_the_lock_ends_after_the_lockout_time(self, web, db, make_user, settings):
        user = make_user()
        self._fail(web, user.email, settings.sign_in_max_failures)
        row = db.scalar(select(SignInThrottle).where(SignInThrottle.account == user.email))
        row.locked_until = utcnow() - timedelta(seconds=1)
        row.window_started_at -= timedelta(minutes=settings.sign_in_lockout_minutes)
        db.commit()
        assert start_sign_in(web, user).status_code == 200

    def test_a_completed_sign_in_resets_the_count(self, web, db, make_user, settings):
        user = make_user()
        self._fail(web, user.email, settings.sign_in_max_failures - 1)
        sign_in(web, user)  # password and second factor
        assert db.scalar(select(SignInThrottle).where(SignInThrottle.account == user.email)) is None
        # A full allowance again.
        web.cookies.clear()
        self._fail(web, user.email, settings.sign_in_max_failures - 1)
        assert start_sign_in(web, user).status_code == 200

    def test_the_right_password_does_not_forgive_wrong_codes(self, web, make_user, settings):
        # Someone with the password must not get unlimited guesses at the code by
        # entering the password again between them.
        user = make_user()
        refused = []
        for _ in range(settings.sign_in_max_failures):
            web.cookies.clear()
            if start_sign_in(web, user).status_code != 200:
                refused.append("password step")
                break
            r = web.post(f"{API}/auth/second-factor", json={"code": "000000"})
            refused.append(r.status_code)
        web.cookies.clear()
        assert start_sign_in(web, user).status_code == 429

    def test_unknown_accounts_are_throttled_alike(self, web, settings):
        codes = self._fail(web, "nobody@example.org", settings.sign_in_max_failures + 1)
        assert codes == [401] * settings.sign_in_max_failures + [429]

    def test_wrong_codes_count_toward_the_same_throttle(self, web, make_user, settings):
        user = make_user()
        assert start_sign_in(web, user).status_code == 200
        for _ in range(settings.sign_in_max_failures):
            r = web.post(f"{API}/auth/second-factor", json={"code": "000000"})
            assert r.status_code == 401
        r = web.post(f"{API}/auth/second-factor", json={"code": next_code(user)})
        assert r.status_code == 429
        assert start_sign_in(web, user).status_code == 429


class TestCookie:
    def test_over_http_http_only_lax_and_not_secure(self, web, make_user, settings):
        user = make_user()
        header = start_sign_in(web, user).headers["set-cookie"]
        assert header.startswith("case_audit_session=")
        parts = {p.strip().split("=")[0].lower() for p in header.split(";")}
        assert {"httponly", "samesite", "path", "max-age"} <= parts
        assert "secure" not in parts
        assert "samesite=lax" in header.lower() and "path=/" in header.lower()
        max_age = int(header.lower().split("max-age=")[1].split(";")[0])
        lifetime = settings.session_absolute_hours * 3600
        assert lifetime - 5 <= max_age <= lifetime

    def test_over_https_host_prefix_and_secure(self, make_user, other_browser):
        user = make_user()
        browser = other_browser(https=True)
        r = start_sign_in(browser, user)
        header = r.headers["set-cookie"]
        assert header.startswith("__Host-case_audit_session=")
        lowered = header.lower()
        assert "; secure" in lowered and "; httponly" in lowered and "samesite=lax" in lowered
        assert "path=/" in lowered and "domain" not in lowered
        # The browser sends it back, and the next step finds the pending session.
        r = browser.post(f"{API}/auth/second-factor", json={"code": next_code(user)})
        assert r.status_code == 200, r.text
        assert r.headers["set-cookie"].startswith("__Host-case_audit_session=")
        assert browser.get(f"{API}/auth/me").status_code == 200


class TestUnknownAccounts:
    def test_the_password_is_checked_against_a_hash_of_the_same_cost(self, monkeypatch):
        """No account, no hash: the password is still checked, at the hasher's cost."""
        from argon2 import PasswordHasher, extract_parameters

        from app.access import secrets

        checked: list[str] = []

        class Watched(PasswordHasher):
            def verify(self, hash, password):
                checked.append(hash)
                return super().verify(hash, password)

        hasher = Watched(time_cost=2, memory_cost=2048, parallelism=1)
        monkeypatch.setattr(secrets, "_hasher", hasher)
        assert secrets.verify_password(None, "any password at all") is False
        assert len(checked) == 1
        assert extract_parameters(checked[0]) == extract_parameters(hasher.hash("x"))
