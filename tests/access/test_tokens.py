"""Personal access tokens: shown once, stored hashed, sent as Bearer, expiring and
revocable, and each person's own."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.access.models import ApiToken, Role
from app.access.secrets import digest
from app.auditlog.models import AuditEvent
from app.clock import utcnow
from tests.helpers.access import API, bearer, csrf, sign_in


def _create(client, token: str, **body):
    return client.post(
        f"{API}/auth/tokens", json={"name": "reports", "days": 30, **body}, headers=csrf(token)
    )


class TestCreate:
    def test_the_token_is_shown_once_and_stored_hashed(self, web, db, make_user):
        user = make_user()
        token = sign_in(web, user)
        r = _create(web, token)
        assert r.status_code == 201, r.text
        body = r.json()
        plain = body["token"]
        assert plain.startswith("cat_") and len(plain) > 40
        assert body["prefix"] == plain[:10]
        row = db.get(ApiToken, body["id"])
        assert row.token_hash == digest(plain)
        assert plain not in (row.token_hash, row.prefix, row.name)
        # Listed afterwards without the token itself.
        listed = web.get(f"{API}/auth/tokens").json()
        assert [t["id"] for t in listed] == [body["id"]]
        assert "token" not in listed[0] and "token_hash" not in listed[0]
        assert plain not in web.get(f"{API}/auth/tokens").text
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "token.create"))
        assert plain not in str(event.after)

    def test_expiry_is_between_one_day_and_the_setting(self, web, db, make_user, settings):
        user = make_user()
        token = sign_in(web, user)
        assert _create(web, token, days=0).status_code == 422
        r = _create(web, token, days=settings.api_token_max_days + 1)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "days"
        r = _create(web, token, days=settings.api_token_max_days)
        assert r.status_code == 201
        row = db.get(ApiToken, r.json()["id"])
        assert abs(row.expires_at - (utcnow() + timedelta(days=settings.api_token_max_days))) < (
            timedelta(minutes=1)
        )


class TestUse:
    def test_token_made_over_the_api_works_as_bearer(self, web, anonymous_client, make_user):
        user = make_user(roles=(Role.SCRUTINEER,))
        plain = _create(web, sign_in(web, user)).json()["token"]
        web.cookies.clear()
        me = anonymous_client.get(f"{API}/auth/me", headers=bearer(plain))
        assert me.status_code == 200
        assert me.json()["email"] == user.email and me.json()["via"] == "token"
        assert me.json()["roles"] == ["scrutineer"] and me.json()["csrf_token"] is None
        # A scrutineer may read audits but not manage users: the owner's rights exactly.
        assert anonymous_client.get(f"{API}/audits", headers=bearer(plain)).status_code == 200
        assert anonymous_client.get(f"{API}/users", headers=bearer(plain)).status_code == 403
        # No CSRF token needed for a change (a Bearer header is not sent by browsers on
        # their own), but a token cannot mint another: that needs a signed-in browser.
        r = anonymous_client.post(
            f"{API}/auth/tokens", json={"name": "another", "days": 1}, headers=bearer(plain)
        )
        assert r.status_code == 403
        r = anonymous_client.delete(f"{API}/auth/sessions/999999", headers=bearer(plain))
        assert r.status_code == 404

    def test_an_expired_token_stops_working(self, web, db, make_user):
        user = make_user()
        body = _create(web, sign_in(web, user)).json()
        web.cookies.clear()
        assert web.get(f"{API}/auth/me", headers=bearer(body["token"])).status_code == 200
        row = db.get(ApiToken, body["id"])
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.commit()
        assert web.get(f"{API}/auth/me", headers=bearer(body["token"])).status_code == 401

    def test_a_wrong_or_made_up_token_is_401(self, anonymous_client):
        for token in ("cat_not-a-real-token", "something else", ""):
            r = anonymous_client.get(f"{API}/auth/me", headers=bearer(token))
            assert r.status_code == 401

    def test_a_disabled_owners_token_stops_working(
        self, anonymous_client, db, make_user, token_for
    ):
        user = make_user()
        headers = token_for(user)
        assert anonymous_client.get(f"{API}/auth/me", headers=headers).status_code == 200
        user.active = False
        db.commit()
        assert anonymous_client.get(f"{API}/auth/me", headers=headers).status_code == 401


class TestRevoke:
    def test_a_revoked_token_stops_working_at_once(self, web, db, make_user):
        user = make_user()
        token = sign_in(web, user)
        body = _create(web, token).json()
        r = web.delete(f"{API}/auth/tokens/{body['id']}", headers=csrf(token))
        assert r.status_code == 204
        assert db.get(ApiToken, body["id"]).revoked_at is not None
        web.cookies.clear()
        assert web.get(f"{API}/auth/me", headers=bearer(body["token"])).status_code == 401
        assert db.scalar(select(AuditEvent).where(AuditEvent.action == "token.revoke"))

    def test_a_token_can_revoke_itself(self, anonymous_client, make_user, token_for, db):
        user = make_user()
        headers = token_for(user)
        (row,) = db.scalars(select(ApiToken).where(ApiToken.user_id == user.id))
        r = anonymous_client.delete(f"{API}/auth/tokens/{row.id}", headers=headers)
        assert r.status_code == 204
        assert anonymous_client.get(f"{API}/auth/me", headers=headers).status_code == 401

    def test_someone_elses_token_is_404_and_not_listed(
        self, anonymous_client, db, make_user, token_for
    ):
        mine, theirs = make_user(), make_user()
        my_headers, their_headers = token_for(mine), token_for(theirs)
        their_id = db.scalar(select(ApiToken.id).where(ApiToken.user_id == theirs.id))
        listed = anonymous_client.get(f"{API}/auth/tokens", headers=my_headers).json()
        assert their_id not in [t["id"] for t in listed]
        r = anonymous_client.delete(f"{API}/auth/tokens/{their_id}", headers=my_headers)
        assert r.status_code == 404
        assert anonymous_client.get(f"{API}/auth/me", headers=their_headers).status_code == 200
