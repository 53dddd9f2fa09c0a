"""Web sessions: idle timeout, absolute lifetime, signing out, one's own list of
sessions, and access changes that end a person's sessions at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.access.models import Role, WebSession
from app.auditlog.models import AuditEvent
from app.clock import utcnow
from tests.helpers.access import (
    API,
    PASSWORD,
    cookie,
    csrf,
    next_code,
    sign_in,
    start_sign_in,
    web_session,
)


def _me(client) -> int:
    return client.get(f"{API}/auth/me").status_code


class TestLifetime:
    def test_a_session_idle_too_long_ends(self, web, db, make_user, settings):
        user = make_user()
        sign_in(web, user)
        row = web_session(db, cookie(web))
        row.last_seen_at = utcnow() - timedelta(minutes=settings.session_idle_minutes - 1)
        db.commit()
        assert _me(web) == 200  # still within the idle time
        row.last_seen_at = utcnow() - timedelta(minutes=settings.session_idle_minutes, seconds=1)
        db.commit()
        assert _me(web) == 401
        # For good: the refusal does not count as use.
        assert _me(web) == 401

    def test_use_keeps_a_session_alive(self, web, db, make_user, settings):
        user = make_user()
        sign_in(web, user)
        row = web_session(db, cookie(web))
        row.last_seen_at = utcnow() - timedelta(minutes=settings.session_idle_minutes - 1)
        db.commit()
        assert _me(web) == 200
        db.refresh(row)
        assert utcnow() - row.last_seen_at < timedelta(minutes=1)

    def test_a_session_past_its_absolute_lifetime_ends_however_busy(self, web, db, make_user):
        user = make_user()
        sign_in(web, user)
        row = web_session(db, cookie(web))
        row.expires_at = utcnow() - timedelta(seconds=1)
        row.last_seen_at = utcnow()
        db.commit()
        assert _me(web) == 401
        assert web.get(f"{API}/auth/sessions").status_code == 401

    def test_a_pending_session_also_times_out(self, web, db, make_user, settings):
        user = make_user()
        start_sign_in(web, user)
        row = web_session(db, cookie(web))
        row.last_seen_at = utcnow() - timedelta(minutes=settings.session_idle_minutes + 1)
        db.commit()
        r = web.post(f"{API}/auth/second-factor", json={"code": next_code(user)})
        assert r.status_code == 401 and r.json()["code"] == "sign_in_first"


class TestSignOut:
    def test_sign_out_ends_the_session_and_clears_the_cookie(self, web, db, make_user):
        user = make_user()
        token = sign_in(web, user)
        plain = cookie(web)
        r = web.post(f"{API}/auth/sign-out", headers=csrf(token))
        assert r.status_code == 204
        assert 'case_audit_session=""' in r.headers["set-cookie"] or "max-age=0" in (
            r.headers["set-cookie"].lower()
        )
        row = web_session(db, plain)
        db.refresh(row)
        assert row.ended_at is not None and row.end_reason == "signed out"
        assert cookie(web) is None
        # The token itself no longer works, even if a copy was kept.
        web.cookies.set("case_audit_session", plain)
        assert _me(web) == 401
        assert db.scalar(select(AuditEvent).where(AuditEvent.action == "auth.sign_out"))

    def test_sign_out_needs_the_csrf_token(self, web, make_user):
        user = make_user()
        sign_in(web, user)
        assert web.post(f"{API}/auth/sign-out").status_code == 403
        assert _me(web) == 200

    def test_a_token_has_no_session_to_sign_out(self, anonymous_client, make_user, token_for):
        user = make_user()
        r = anonymous_client.post(f"{API}/auth/sign-out", headers=token_for(user))
        assert r.status_code == 409

    def test_signed_out_callers_cannot_sign_out(self, web):
        assert web.post(f"{API}/auth/sign-out").status_code == 401


class TestOwnSessions:
    def test_list_shows_own_live_sessions_with_the_current_one(
        self, web, db, make_user, other_browser
    ):
        user = make_user()
        laptop = other_browser(address="198.51.100.4")
        sign_in(laptop, user)
        sign_in(web, user)
        someone_else = make_user()
        sign_in(other_browser(), someone_else)
        r = web.get(f"{API}/auth/sessions")
        assert r.status_code == 200
        rows = r.json()
        assert len(rows) == 2
        assert [s["current"] for s in rows] == [True, False]
        assert rows[1]["client_address"] == "198.51.100.4"
        assert "token_hash" not in rows[0]
        # Ended sessions are not listed.
        laptop.post(
            f"{API}/auth/sign-out", headers=csrf(laptop.get(f"{API}/auth/me").json()["csrf_token"])
        )
        assert len(web.get(f"{API}/auth/sessions").json()) == 1

    def test_ending_another_of_ones_own_sessions_signs_that_browser_out(
        self, web, db, make_user, other_browser
    ):
        user = make_user()
        laptop = other_browser()
        sign_in(laptop, user)
        token = sign_in(web, user)
        rows = web.get(f"{API}/auth/sessions").json()
        other = next(s for s in rows if not s["current"])
        r = web.delete(f"{API}/auth/sessions/{other['id']}", headers=csrf(token))
        assert r.status_code == 204
        assert _me(laptop) == 401
        assert _me(web) == 200
        assert db.get(WebSession, other["id"]).end_reason == "ended by user"

    def test_someone_elses_session_is_404(self, web, db, make_user, other_browser):
        user, other = make_user(), make_user()
        theirs = other_browser()
        sign_in(theirs, other)
        token = sign_in(web, user)
        their_id = web_session(db, cookie(theirs)).id
        r = web.delete(f"{API}/auth/sessions/{their_id}", headers=csrf(token))
        assert r.status_code == 404
        assert _me(theirs) == 200
        assert web.delete(f"{API}/auth/sessions/999999", headers=csrf(token)).status_code == 404


class TestAccessChangesEndSessions:
    @pytest.fixture
    def admin_headers(self, make_user, token_for):
        return token_for(make_user(roles=(Role.ADMIN,)))

    def test_disabling_a_user_ends_their_sessions_at_once(
        self, web, db, make_user, admin_headers, anonymous_client
    ):
        user = make_user()
        sign_in(web, user)
        r = web.post(f"{API}/users/{user.id}/disable", headers=admin_headers)
        assert r.status_code == 200, r.text
        assert _me(web) == 401
        rows = db.scalars(select(WebSession).where(WebSession.user_id == user.id)).all()
        assert all(r.ended_at is not None for r in rows)
        web.cookies.clear()
        assert start_sign_in(web, user).status_code == 401

    def test_changing_roles_ends_their_sessions_at_once(self, web, db, make_user, admin_headers):
        user = make_user(roles=(Role.MODERATOR,))
        sign_in(web, user)
        r = web.patch(
            f"{API}/users/{user.id}", json={"roles": ["practitioner"]}, headers=admin_headers
        )
        assert r.status_code == 200, r.text
        assert _me(web) == 401
        web.cookies.clear()
        sign_in(web, user)
        assert web.get(f"{API}/auth/me").json()["roles"] == ["practitioner"]

    def test_a_new_name_alone_does_not_end_sessions(self, web, make_user, admin_headers):
        user = make_user()
        sign_in(web, user)
        r = web.patch(f"{API}/users/{user.id}", json={"display_name": "New"}, headers=admin_headers)
        assert r.status_code == 200
        assert _me(web) == 200

    def test_a_password_reset_ends_their_sessions(self, web, make_user, admin_headers):
        user = make_user(roles=(Role.PRACTITIONER,))
        sign_in(web, user)
        new = "another long passphrase 31"
        r = web.post(
            f"{API}/users/{user.id}/password", json={"password": new}, headers=admin_headers
        )
        assert r.status_code == 200, r.text
        assert _me(web) == 401
        web.cookies.clear()
        assert start_sign_in(web, user, password=PASSWORD).status_code == 401
        assert start_sign_in(web, user, password=new).status_code == 200

    def test_a_second_factor_reset_means_enrolling_again(self, web, db, make_user, admin_headers):
        user = make_user(roles=(Role.PRACTITIONER,))
        sign_in(web, user)
        r = web.post(f"{API}/users/{user.id}/second-factor/reset", headers=admin_headers)
        assert r.status_code == 200, r.text
        assert r.json()["second_factor_enrolled"] is False
        assert _me(web) == 401
        web.cookies.clear()
        assert start_sign_in(web, user).json()["status"] == "enrol"
