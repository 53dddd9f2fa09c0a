"""Managing users over the API: the business unit (admin) only, and no secret in any
response."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.access.auth import TOKEN_PREFIX
from app.access.models import Role, User
from app.auditlog.models import AuditEvent
from tests.helpers.access import API, PASSWORD, start_sign_in

SECRET_FIELDS = ("password_hash", "totp_secret", "token_hash", "code_hash", "$argon2")

# Every users route, with a body that would be valid.
ROUTES = [
    ("get", "/users", None),
    ("post", "/users", {"email": "new@example.org", "display_name": "New", "roles": ["admin"]}),
    ("get", "/users/{id}", None),
    ("patch", "/users/{id}", {"display_name": "Renamed"}),
    ("post", "/users/{id}/disable", None),
    ("post", "/users/{id}/password", {"password": "a brand new passphrase 77"}),
    ("post", "/users/{id}/second-factor/reset", None),
]


@pytest.fixture
def admin(make_user, token_for):
    return token_for(make_user(roles=(Role.ADMIN,)))


def _call(client, method: str, path: str, body, headers, user_id: int):
    kwargs = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    return getattr(client, method)(API + path.format(id=user_id), **kwargs)


class TestOnlyAdmins:
    @pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
    @pytest.mark.parametrize(("method", "path", "body"), ROUTES)
    def test_other_roles_get_403(
        self, anonymous_client, make_user, token_for, police, role, method, path, body
    ):
        agency = police if role in (Role.AUDITOR, Role.AGENCY_LEAD) else None
        caller = token_for(make_user(roles=(role,), agency=agency))
        target = make_user()
        r = _call(anonymous_client, method, path, body, caller, target.id)
        assert r.status_code == 403, r.text

    @pytest.mark.parametrize(("method", "path", "body"), ROUTES)
    def test_anonymous_gets_401(self, anonymous_client, make_user, method, path, body):
        target = make_user()
        assert _call(anonymous_client, method, path, body, {}, target.id).status_code == 401

    @pytest.mark.parametrize(("method", "path", "body"), ROUTES)
    def test_an_admin_may(self, anonymous_client, make_user, admin, method, path, body):
        target = make_user(roles=(Role.PRACTITIONER,))  # resets of a moderator: test_role_grants
        r = _call(anonymous_client, method, path, body, admin, target.id)
        assert r.status_code in (200, 201), r.text
        for field in SECRET_FIELDS:
            assert field not in r.text


class TestManage:
    def test_create_list_get(self, anonymous_client, db, admin, police):
        r = anonymous_client.post(
            f"{API}/users",
            json={
                "email": " Auditor@Example.ORG ",
                "display_name": "Ann Auditor",
                "roles": ["auditor", "agency_lead"],
                "agency_id": police.id,
                "password": PASSWORD,
            },
            headers=admin,
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["email"] == "auditor@example.org"
        assert body["roles"] == ["agency_lead", "auditor"]
        assert body["has_password"] is True and body["second_factor_enrolled"] is False
        listed = anonymous_client.get(
            f"{API}/users", params={"role": "auditor"}, headers=admin
        ).json()
        assert listed["total"] == 1 and listed["items"][0]["id"] == body["id"]
        assert anonymous_client.get(f"{API}/users", headers=admin).json()["total"] == 2
        got = anonymous_client.get(f"{API}/users/{body['id']}", headers=admin).json()
        assert got == body
        event = db.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "user.create", AuditEvent.object_id == body["id"]
            )
        )
        assert event.user_label.startswith("person") and "password" not in str(event.after)

    def test_list_is_paginated(self, anonymous_client, make_user, admin):
        for _ in range(3):
            make_user()
        page = anonymous_client.get(
            f"{API}/users", params={"per_page": 2, "page": 2}, headers=admin
        ).json()
        assert page["total"] == 4 and page["page"] == 2 and len(page["items"]) == 2

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"password": "password1234"}, "password"),  # a common password
            ({"password": "short"}, "password"),
            ({"roles": ["auditor"]}, "agency_id"),  # an auditor needs an agency
            ({"roles": []}, "roles"),
            ({"roles": ["overlord"]}, "roles[0]"),
            ({"email": "not an address"}, "email"),
        ],
    )
    def test_invalid_users_are_422(self, anonymous_client, admin, body, field):
        r = anonymous_client.post(
            f"{API}/users",
            json={"email": "x@example.org", "display_name": "X", "roles": ["admin"], **body},
            headers=admin,
        )
        assert r.status_code == 422, r.text
        assert field in [e["field"] for e in r.json()["errors"]]

    def test_a_second_account_for_one_address_is_409(self, anonymous_client, make_user, admin):
        user = make_user()
        r = anonymous_client.post(
            f"{API}/users",
            json={"email": user.email.upper(), "display_name": "X", "roles": ["admin"]},
            headers=admin,
        )
        assert r.status_code == 409

    def test_update_and_audit_log(self, anonymous_client, db, make_user, admin, police):
        user = make_user(roles=(Role.MODERATOR,))
        r = anonymous_client.patch(
            f"{API}/users/{user.id}",
            json={"roles": ["auditor"], "agency_id": police.id, "display_name": "Changed"},
            headers=admin,
        )
        assert r.status_code == 200, r.text
        assert r.json()["roles"] == ["auditor"] and r.json()["agency_id"] == police.id
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.update"))
        assert event.before["roles"] == ["moderator"] and event.after["roles"] == ["auditor"]
        r = anonymous_client.patch(f"{API}/users/{user.id}", json={"active": None}, headers=admin)
        assert r.status_code == 422

    def test_a_disabled_user_cannot_sign_in(self, web, make_user, admin):
        user = make_user()
        r = web.post(f"{API}/users/{user.id}/disable", headers=admin)
        assert r.json()["active"] is False
        assert start_sign_in(web, user).status_code == 401

    def test_unknown_user_is_404(self, anonymous_client, admin):
        assert anonymous_client.get(f"{API}/users/999999", headers=admin).status_code == 404

    def test_no_default_accounts(self, db):
        assert db.scalar(select(User.id)) is None

    def test_reset_password_refuses_a_weak_one(self, anonymous_client, make_user, admin):
        user = make_user(roles=(Role.PRACTITIONER,))
        r = anonymous_client.post(
            f"{API}/users/{user.id}/password", json={"password": "qwertyuiop12"}, headers=admin
        )
        assert r.status_code == 422


def test_every_access_route_has_a_rule():
    from app.access.api import router
    from app.access.rules import ROUTE_RULES

    names = [route.name for route in router.routes]
    # With the three for role requests, and three for invitations and password resets.
    assert len(names) == 27
    assert [n for n in names if n not in ROUTE_RULES] == []


def test_token_prefix_is_recognisable():
    # Secret scanners (and people) can tell these apart from other credentials.
    assert TOKEN_PREFIX == "cat_"
