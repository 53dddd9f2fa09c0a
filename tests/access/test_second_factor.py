"""The second factor: authenticator codes (each usable once), recovery codes,
enrolment at first sign-in, and the new token once signed in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pyotp
from sqlalchemy import select

from app.access.auth import SESSION_COOKIE
from app.access.models import RecoveryCode, User
from app.access.secrets import digest
from app.access.signin import CODE_REFUSED, _recovery_digest
from app.auditlog.models import AuditEvent
from app.clock import utcnow
from tests.helpers.access import (
    API,
    cookie,
    next_code,
    sign_in,
    start_sign_in,
    web_session,
)


def _code(client, code: str):
    return client.post(f"{API}/auth/second-factor", json={"code": code})


class TestAuthenticatorCode:
    def test_a_current_code_completes_sign_in(self, web, make_user):
        user = make_user()
        start_sign_in(web, user)
        r = _code(web, next_code(user))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "signed_in" and body["csrf_token"]
        me = web.get(f"{API}/auth/me")
        assert me.status_code == 200
        assert me.json()["csrf_token"] == body["csrf_token"]

    def test_the_same_code_is_refused_the_second_time(self, web, db, make_user):
        user = make_user()
        start_sign_in(web, user)
        code = next_code(user)
        assert _code(web, code).status_code == 200
        # A second sign-in (say, someone who watched the code being typed) with it.
        web.cookies.clear()
        start_sign_in(web, user)
        r = _code(web, code)
        assert r.status_code == 401
        assert r.json()["detail"] == CODE_REFUSED
        assert web.get(f"{API}/auth/me").status_code == 401

    def test_an_older_code_is_refused_after_a_newer_one(self, web, db, make_user):
        user = make_user()
        totp = pyotp.TOTP(user.totp_secret)
        step = totp.timecode(utcnow())
        start_sign_in(web, user)
        assert _code(web, totp.generate_otp(step)).status_code == 200
        web.cookies.clear()
        start_sign_in(web, user)
        assert _code(web, totp.generate_otp(step - 1)).status_code == 401

    def test_a_wrong_code_is_refused(self, web, make_user):
        user = make_user()
        start_sign_in(web, user)
        for wrong in ("000000", "12345", "abcdef", "1234567"):
            if wrong == next_code(user):
                continue
            r = _code(web, wrong)
            assert r.status_code == 401 and r.json()["code"] == "code_refused"
        assert web.get(f"{API}/auth/me").status_code == 401

    def test_a_code_from_far_in_the_past_is_refused(self, web, make_user):
        user = make_user()
        totp = pyotp.TOTP(user.totp_secret)
        start_sign_in(web, user)
        old = totp.generate_otp(totp.timecode(utcnow()) - 10)
        if old != next_code(user):
            assert _code(web, old).status_code == 401

    def test_without_a_pending_session_there_is_nothing_to_finish(self, web, make_user):
        user = make_user()
        r = _code(web, next_code(user))
        assert r.status_code == 401 and r.json()["code"] == "sign_in_first"

    def test_a_finished_session_cannot_take_another_code(self, web, make_user):
        user = make_user()
        token = sign_in(web, user)
        r = web.post(
            f"{API}/auth/second-factor",
            json={"code": next_code(user)},
            headers={"X-CSRF-Token": token},
        )
        # Signed in, the cookie's session is no longer pending.
        assert r.status_code == 409, r.text

    def test_the_step_is_logged(self, web, db, make_user):
        user = make_user()
        sign_in(web, user)
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "auth.second_factor"))
        assert event.user_id == user.id and event.after["method"] == "authenticator"


class TestTokenRotation:
    def test_the_token_changes_at_the_second_factor_and_the_old_one_stops_working(
        self, web, db, make_user
    ):
        user = make_user()
        start_sign_in(web, user)
        pending = cookie(web)
        assert _code(web, next_code(user)).status_code == 200
        signed_in = cookie(web)
        assert signed_in != pending
        assert web_session(db, pending) is None
        assert web_session(db, signed_in).second_factor_at is not None
        assert web.get(f"{API}/auth/me").status_code == 200
        # Someone holding the cookie from before the second factor gets nothing.
        web.cookies.clear()
        web.cookies.set(SESSION_COOKIE, pending)
        assert web.get(f"{API}/auth/me").status_code == 401
        assert _code(web, next_code(user)).status_code == 401


class TestRecoveryCodes:
    def _enrolled_with_codes(self, web, make_user) -> tuple[User, list[str]]:
        user = make_user(enrolled=False)
        enrolment = start_sign_in(web, user).json()["enrolment"]
        code = pyotp.TOTP(enrolment["secret"]).now()
        body = web.post(f"{API}/auth/enrol", json={"code": code}).json()
        web.post(f"{API}/auth/sign-out", headers={"X-CSRF-Token": body["csrf_token"]})
        web.cookies.clear()
        return user, body["recovery_codes"]

    def test_a_recovery_code_works_once(self, web, db, make_user):
        user, codes = self._enrolled_with_codes(web, make_user)
        start_sign_in(web, user)
        r = _code(web, codes[3])
        assert r.status_code == 200, r.text
        assert web.get(f"{API}/auth/me").status_code == 200
        used = db.scalars(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_not(None)
            )
        ).all()
        assert len(used) == 1
        event = db.scalar(
            select(AuditEvent)
            .where(AuditEvent.action == "auth.second_factor")
            .order_by(AuditEvent.id.desc())
        )
        assert event.after["method"] == "recovery code"
        web.cookies.clear()
        start_sign_in(web, user)
        assert _code(web, codes[3]).status_code == 401
        # Another one still works, typed carelessly.
        assert _code(web, " " + codes[4].upper().replace("-", " ") + " ").status_code == 200

    def test_recovery_codes_are_stored_as_keyed_digests(self, web, db, make_user, settings):
        user, codes = self._enrolled_with_codes(web, make_user)
        stored = set(
            db.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id))
        )
        assert len(codes) == len(set(codes)) == 10
        # Keyed with the service's secret, so a stolen table cannot be guessed offline.
        assert stored == {_recovery_digest(c.replace("-", ""), user, settings) for c in codes}
        assert not stored & {digest(c.replace("-", "")) for c in codes}
        assert not stored & set(codes)

    def test_someone_elses_recovery_code_is_refused(self, web, make_user):
        _owner, codes = self._enrolled_with_codes(web, make_user)
        other = make_user()
        start_sign_in(web, other)
        assert _code(web, codes[0]).status_code == 401


class TestEnrolment:
    def test_first_sign_in_asks_to_enrol_with_a_new_secret(self, web, db, make_user, settings):
        user = make_user(enrolled=False)
        r = start_sign_in(web, user)
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == "enrol" and body["csrf_token"] is None
        secret = body["enrolment"]["secret"]
        assert len(secret) >= 32 and secret == secret.upper()
        uri = urlparse(body["enrolment"]["otpauth_uri"])
        assert uri.scheme == "otpauth" and uri.netloc == "totp"
        assert parse_qs(uri.query)["issuer"] == [settings.partnership_name]
        assert parse_qs(uri.query)["secret"] == [secret]
        db.refresh(user)
        assert user.totp_secret == secret and user.totp_confirmed_at is None
        # Pending: nothing else is open yet.
        assert web.get(f"{API}/auth/me").status_code == 401

    def test_a_code_from_the_new_authenticator_confirms_it(self, web, db, make_user):
        user = make_user(enrolled=False)
        start_sign_in(web, user)
        pending = cookie(web)
        db.refresh(user)
        r = web.post(f"{API}/auth/enrol", json={"code": next_code(user)})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "signed_in" and body["csrf_token"]
        assert len(body["recovery_codes"]) == 10
        assert cookie(web) != pending
        assert web.get(f"{API}/auth/me").status_code == 200
        db.refresh(user)
        assert user.totp_confirmed_at is not None
        # From now on sign-in asks for a code, not enrolment.
        web.cookies.clear()
        assert start_sign_in(web, user).json()["status"] == "second_factor_required"

    def test_a_wrong_enrolment_code_is_refused_and_counted(self, web, db, make_user):
        user = make_user(enrolled=False)
        start_sign_in(web, user)
        r = web.post(f"{API}/auth/enrol", json={"code": "000000"})
        if r.status_code == 200:  # one chance in a million that 000000 is right
            return
        assert r.status_code == 401
        db.refresh(user)
        assert user.totp_confirmed_at is None
        events = db.scalars(select(AuditEvent).where(AuditEvent.action == "auth.sign_in_failed"))
        assert [e.after["reason"] for e in events] == ["wrong enrolment code"]

    def test_an_abandoned_enrolment_gets_a_new_secret_next_time(self, web, make_user):
        user = make_user(enrolled=False)
        first = start_sign_in(web, user).json()["enrolment"]["secret"]
        second = start_sign_in(web, user).json()["enrolment"]["secret"]
        assert first != second

    def test_an_enrolled_account_cannot_enrol_again_from_a_pending_session(self, web, make_user):
        user = make_user()
        start_sign_in(web, user)
        r = web.post(f"{API}/auth/enrol", json={"code": next_code(user)})
        assert r.status_code == 409, r.text

    def test_an_account_being_enrolled_cannot_skip_to_the_code(self, web, db, make_user):
        user = make_user(enrolled=False)
        start_sign_in(web, user)
        db.refresh(user)
        assert _code(web, next_code(user)).status_code == 409
