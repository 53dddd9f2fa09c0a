"""Movers: a person moved to another agency is signed out, their tokens stop, and the
roles their old agency gave them (auditor, agency lead) go, unless the same change
names their roles at the new agency; logged; the admin's page says so before saving
and after."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.access import service as access
from app.access.models import ApiToken, ExternalIdentity, Role, WebSession
from app.auditlog.models import AuditEvent
from tests.helpers.access import API, bearer, signed_in_cookie
from tests.helpers.factories import make_agency

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
COOKIE = "case_audit_session"


@pytest.fixture
def agencies(db):
    return make_agency(db, name="Westshire Police"), make_agency(db, name="Westshire NHS Trust")


@pytest.fixture
def priya(db, agencies):
    police, _nhs = agencies
    user = access.create_user(
        db,
        email="priya@example.org",
        display_name="Priya Shah",
        roles={Role.AUDITOR, Role.AGENCY_LEAD, Role.PRACTITIONER},
        agency_id=police.id,
    )
    db.commit()
    return user


def _token(db, user) -> str:
    _row, plain = access.create_token(db, user=user, name="scripts", days=30)
    db.commit()
    return plain


class TestTheService:
    def test_a_mover_loses_their_agency_roles_sessions_and_tokens(
        self, db, agencies, priya, anonymous_client
    ):
        _police, nhs = agencies
        signed_in_cookie(db, priya)
        plain = _token(db, priya)
        assert anonymous_client.get(f"{API}/auth/me", headers=bearer(plain)).is_success

        access.update_user(db, user=priya, changes={"agency_id": nhs.id})
        db.commit()

        assert priya.agency_id == nhs.id and priya.roles == {Role.PRACTITIONER}
        assert db.scalar(select(WebSession.end_reason).where(WebSession.user_id == priya.id)) == (
            "access changed"
        )
        assert db.scalar(select(ApiToken.revoked_at).where(ApiToken.user_id == priya.id))
        assert anonymous_client.get(f"{API}/auth/me", headers=bearer(plain)).status_code == 401
        moved = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.move"))
        assert moved.object_id == priya.id
        assert moved.before == {"agency_id": agencies[0].id}
        assert moved.after == {
            "agency_id": nhs.id,
            "roles_removed": ["agency_lead", "auditor"],
            "tokens_revoked": 1,
            "identities_unlinked": 0,
        }

    def test_a_mover_is_no_longer_signed_in_by_their_old_organisations_provider(
        self, db, agencies, priya
    ):
        _police, nhs = agencies
        db.add(
            ExternalIdentity(
                user_id=priya.id,
                issuer="https://login.example/police-tenant/v2.0",
                subject="priya-0001",
                email=priya.email,
            )
        )
        db.flush()
        access.update_user(db, user=priya, changes={"agency_id": nhs.id})
        assert (
            db.scalar(select(ExternalIdentity).where(ExternalIdentity.user_id == priya.id)) is None
        )

    def test_roles_named_in_the_same_change_are_theirs_at_the_new_agency(self, db, agencies, priya):
        _police, nhs = agencies
        access.update_user(db, user=priya, changes={"agency_id": nhs.id, "roles": {Role.AUDITOR}})
        assert priya.roles == {Role.AUDITOR} and priya.agency_id == nhs.id

    def test_a_change_that_keeps_the_agency_moves_no_one(self, db, agencies, priya):
        plain = _token(db, priya)
        access.update_user(
            db, user=priya, changes={"agency_id": priya.agency_id, "display_name": "P Shah"}
        )
        assert priya.roles == {Role.AUDITOR, Role.AGENCY_LEAD, Role.PRACTITIONER}
        assert db.scalar(select(ApiToken.revoked_at).where(ApiToken.user_id == priya.id)) is None
        assert plain
        assert db.scalar(select(AuditEvent).where(AuditEvent.action == "user.move")) is None


@pytest.fixture
def admin(anonymous_client, db):
    me = access.create_user(
        db, email="business.unit@example.org", display_name="Bea Business", roles={Role.ADMIN}
    )
    anonymous_client.cookies.set(COOKIE, signed_in_cookie(db, me))
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    return anonymous_client


class TestTheAdminsPage:
    def test_the_page_says_what_a_move_does_before_and_after(self, admin, db, agencies, priya):
        _police, nhs = agencies
        page = admin.get(f"/admin/users/{priya.id}").text
        assert "Moving them to another agency also stops their API tokens and takes away" in (page)
        csrf = CSRF.search(page).group(1)
        saved = admin.post(
            f"/admin/users/{priya.id}",
            data={
                "csrf_token": csrf,
                "display_name": "Priya Shah",
                "roles": ["auditor", "agency_lead", "practitioner"],  # as they were
                "agency_id": str(nhs.id),
            },
        )
        assert saved.status_code == 200
        assert (
            "They have moved to Westshire NHS Trust: they have been signed out, their API "
            "tokens have stopped working, and they no longer have the auditor and agency lead roles."
        ) in saved.text.replace("&#39;", "'")
        db.expire_all()
        assert priya.roles == {Role.PRACTITIONER} and priya.agency_id == nhs.id

    def test_an_admin_who_disables_someone_is_named_as_the_reason(self, admin, db, priya):
        csrf = CSRF.search(admin.get(f"/admin/users/{priya.id}").text).group(1)
        admin.post(f"/admin/users/{priya.id}/disable", data={"csrf_token": csrf})
        db.expire_all()
        assert not priya.active and priya.disabled_reason == "disabled by Bea Business"
        page = admin.get(f"/admin/users/{priya.id}").text
        assert "Why it was disabled: disabled by Bea Business." in page
        assert "Never signed in" in page
