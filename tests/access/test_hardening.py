"""Findings of the security review, each kept fixed by a test."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.access import service as access
from app.access.auth import SECURE_SESSION_COOKIE, SESSION_COOKIE
from app.access.models import Role
from app.audits.models import AuditStatus
from app.returns.models import Return, ReturnStatus
from tests.helpers.access import signed_in_cookie
from tests.helpers.factories import make_audit

API = "/api/v1"


class TestCookieNames:
    def test_over_https_only_the_host_prefixed_cookie_counts(self, anonymous_client, db):
        user = access.create_user(
            db, email="m@example.org", display_name="M", roles={Role.MODERATOR}
        )
        token = signed_in_cookie(db, user)
        me = f"https://testserver{API}/auth/me"
        plain = anonymous_client.get(me, headers={"Cookie": f"{SESSION_COOKIE}={token}"})
        assert plain.status_code == 401
        prefixed = anonymous_client.get(me, headers={"Cookie": f"{SECURE_SESSION_COOKIE}={token}"})
        assert prefixed.status_code == 200


class TestAuditorsSeeReturnsWhileTheyWorkOnThem:
    @pytest.fixture
    def setting(self, db, anonymous_client):
        audit = make_audit(db, children=1, agencies_count=1)
        auditor = access.create_user(
            db,
            email="a@example.org",
            display_name="A",
            roles={Role.AUDITOR},
            agency_id=audit.agencies[0].id,
        )
        _row, plain = access.create_token(db, user=auditor, name="t", days=1)
        return_ = db.scalar(select(Return).where(Return.audit_id == audit.id))
        db.commit()
        return audit, return_, {"Authorization": f"Bearer {plain}"}

    def _sees(self, client, db, return_, headers) -> bool:
        db.expire_all()
        return client.get(f"{API}/returns/{return_.id}", headers=headers).status_code == 200

    def test_open_yes_closed_no(self, anonymous_client, db, setting):
        audit, return_, headers = setting
        assert self._sees(anonymous_client, db, return_, headers)
        for status in (AuditStatus.PLANNED, AuditStatus.LEARNING, AuditStatus.CLOSED):
            audit.status = status
            db.commit()
            assert not self._sees(anonymous_client, db, return_, headers), status
            listed = anonymous_client.get(f"{API}/audits/{audit.id}/returns", headers=headers)
            assert listed.json()["total"] == 0

    def test_in_moderation_the_audit_is_revealed_read_only(self, anonymous_client, db, setting):
        # For the moderation meeting every participating agency reads the whole audit.
        audit, return_, headers = setting
        audit.status = AuditStatus.MODERATION
        return_.status = ReturnStatus.SUBMITTED
        db.commit()
        assert self._sees(anonymous_client, db, return_, headers)
        body = {"version": return_.version}
        saved = anonymous_client.put(
            f"{API}/returns/{return_.id}/draft", json=body, headers=headers
        )
        assert saved.status_code == 409  # submitted: locked unless a moderator sends it back


class TestAccountRecovery:
    def test_a_password_reset_revokes_every_api_token(self, anonymous_client, db):
        user = access.create_user(
            db, email="s@example.org", display_name="S", roles={Role.SCRUTINEER}
        )
        _row, plain = access.create_token(db, user=user, name="t", days=30)
        db.commit()
        headers = {"Authorization": f"Bearer {plain}"}
        assert anonymous_client.get(f"{API}/auth/me", headers=headers).status_code == 200
        access.set_password(db, user=user, password="a long new passphrase for s")
        db.commit()
        assert anonymous_client.get(f"{API}/auth/me", headers=headers).status_code == 401
