"""Least privilege for the people who manage accounts (app/access/grants.py), over the
API: nobody gives themselves a role; admin or moderator waits for a second
administrator, neither the one who asked nor the person it is for; the last active
administrator keeps the role and stays enabled. Each escalation path is refused
(403 or 409), logged, and changes nothing."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.access import grants
from app.access import service as access
from app.access.models import GrantDecision, Role, RoleGrantRequest, User, WebSession
from app.auditlog.models import AuditEvent
from app.db import make_sessionmaker, open_session
from audit_tools.attribution import as_cli
from tests.conftest import BACKEND
from tests.helpers.access import API, sign_in
from tests.test_races import blocked_on_a_lock


@pytest.fixture
def admin(make_user):
    return make_user(roles=(Role.ADMIN,))


@pytest.fixture
def admin_headers(admin, token_for):
    return token_for(admin)


@pytest.fixture
def second(make_user, token_for):
    """Another administrator, with their token."""
    user = make_user(roles=(Role.ADMIN,))
    return user, token_for(user)


def _roles(db, user) -> set[Role]:
    db.expire_all()
    return set(db.get(User, user.id).roles)


def _events(db, action: str) -> list[AuditEvent]:
    return list(
        db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    )


def _requests(db) -> list[RoleGrantRequest]:
    db.expire_all()
    return list(db.scalars(select(RoleGrantRequest).order_by(RoleGrantRequest.id)))


class TestNobodyGrantsThemselves:
    def test_an_admin_giving_themselves_moderator_is_403_logged_and_changes_nothing(
        self, web, db, admin, admin_headers
    ):
        sessions = db.scalar(select(func.count(WebSession.id)))
        r = web.patch(
            f"{API}/users/{admin.id}",
            json={"roles": ["admin", "moderator"], "display_name": "Renamed"},
            headers=admin_headers,
        )
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "own_roles"
        assert "another administrator" in r.json()["detail"]
        assert _roles(db, admin) == {Role.ADMIN}
        assert db.get(User, admin.id).display_name == "Test Person"  # nothing else either
        assert _requests(db) == []  # not even a request for someone to approve
        assert db.scalar(select(func.count(WebSession.id))) == sessions
        [event] = _events(db, "user.self_grant_refused")
        assert (event.object_type, event.object_id, event.user_id) == ("user", admin.id, admin.id)
        assert event.after == {"refused": "own_roles", "roles": ["admin", "moderator"]}
        # ...and they still cannot read returns, as the issue found they could.
        assert web.get(f"{API}/returns/1", headers=admin_headers).status_code == 403

    def test_any_role_counts_not_only_admin_and_moderator(self, web, db, admin, admin_headers):
        r = web.patch(
            f"{API}/users/{admin.id}",
            json={"roles": ["admin", "scrutineer"]},
            headers=admin_headers,
        )
        assert r.status_code == 403 and _roles(db, admin) == {Role.ADMIN}
        assert len(_events(db, "user.self_grant_refused")) == 1

    def test_their_own_name_and_keeping_their_roles_are_fine(self, web, db, admin, admin_headers):
        r = web.patch(
            f"{API}/users/{admin.id}",
            json={"roles": ["admin"], "display_name": "Bea"},
            headers=admin_headers,
        )
        assert r.status_code == 200 and r.json()["display_name"] == "Bea"
        assert _events(db, "user.self_grant_refused") == []


class TestNobodyTakesOverAnAccountThatTakesTwoAdmins:
    """Setting another moderator's, scrutineer's or admin's password, or resetting their
    authenticator, would let an admin sign in as them: refused (403, logged), except on
    the server. A practitioner's is fine (test_users_api)."""

    @pytest.mark.parametrize("role", [Role.MODERATOR, Role.SCRUTINEER, Role.ADMIN])
    @pytest.mark.parametrize(
        ("path", "body", "what"),
        [
            ("password", {"password": "a long new passphrase 42"}, "password"),
            ("second-factor/reset", None, "authenticator"),
        ],
    )
    def test_refused_logged_and_nothing_changed(
        self, web, db, make_user, admin, admin_headers, role, path, body, what
    ):
        target = make_user(roles=(role,))
        before = (target.password_hash, target.totp_secret)
        r = web.post(f"{API}/users/{target.id}/{path}", json=body, headers=admin_headers)
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "privileged_account"
        assert "only be reset on the server" in r.json()["detail"]
        db.expire_all()
        assert (
            db.get(User, target.id).password_hash,
            db.get(User, target.id).totp_secret,
        ) == before
        [event] = _events(db, "user.reset_refused")
        assert (event.object_id, event.user_id, event.after) == (
            target.id,
            admin.id,
            {"refused": what},
        )

    def test_giving_scrutineer_waits_for_a_second_admin(self, web, db, make_user, admin_headers):
        person = make_user(roles=(Role.PRACTITIONER,))
        r = web.patch(
            f"{API}/users/{person.id}", json={"roles": ["scrutineer"]}, headers=admin_headers
        )
        assert r.status_code == 202 and r.json()["pending_role_grant"]["roles"] == ["scrutineer"]
        assert _roles(db, person) == {Role.PRACTITIONER}

    def test_on_the_server_it_may(self, db, make_user):
        target = make_user(roles=(Role.MODERATOR,))
        with as_cli():
            access.set_password(db, user=target, password="a long new passphrase 42")
        assert _events(db, "user.reset_refused") == []
        assert len(_events(db, "user.set_password")) == 1


class TestASecondAdministratorApproves:
    def test_moderator_for_someone_waits_for_another_admin_then_changes(
        self, web, db, make_user, admin, admin_headers, second
    ):
        person = make_user(roles=(Role.SCRUTINEER,))
        sign_in(web, person)  # a session of theirs, to see it end
        r = web.patch(
            f"{API}/users/{person.id}",
            json={"roles": ["moderator", "scrutineer"], "display_name": "Mo"},
            headers=admin_headers,
        )
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["roles"] == ["scrutineer"] and body["display_name"] == "Mo"
        pending = body["pending_role_grant"]
        assert pending["roles"] == ["moderator", "scrutineer"]
        assert pending["roles_before"] == ["scrutineer"]
        assert pending["requested_by_id"] == admin.id and pending["decision"] == "pending"
        assert _roles(db, person) == {Role.SCRUTINEER}
        assert web.get(f"{API}/auth/me").status_code == 200  # roles unchanged: still signed in
        [asked] = _events(db, "role_grant.request")
        assert asked.object_id == pending["id"] and asked.user_id == admin.id
        listed = web.get(f"{API}/role-grants", headers=admin_headers).json()
        assert [g["id"] for g in listed["items"]] == [pending["id"]]
        got = web.get(f"{API}/users/{person.id}", headers=admin_headers).json()
        assert got["pending_role_grant"]["id"] == pending["id"]

        approver, approver_headers = second
        decided = web.post(
            f"{API}/role-grants/{pending['id']}/decision",
            json={"decision": "approve"},
            headers=approver_headers,
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["decision"] == "approved"
        assert decided.json()["decided_by"] == approver.email
        assert _roles(db, person) == {Role.MODERATOR, Role.SCRUTINEER}
        assert web.get(f"{API}/auth/me").status_code == 401  # access changed: signed out
        [change] = [e for e in _events(db, "user.update") if e.object_id == person.id][-1:]
        assert change.user_id == approver.id
        assert change.before["roles"] == ["scrutineer"]
        assert change.after["roles"] == ["moderator", "scrutineer"]
        assert [e.user_id for e in _events(db, "role_grant.approve")] == [approver.id]
        assert web.get(f"{API}/role-grants", headers=admin_headers).json()["total"] == 0
        again = web.post(
            f"{API}/role-grants/{pending['id']}/decision",
            json={"decision": "refuse"},
            headers=approver_headers,
        )
        assert again.status_code == 409 and "approved already" in again.json()["detail"]

    def test_admin_for_a_new_account_waits_too(self, web, db, admin_headers, second):
        r = web.post(
            f"{API}/users",
            json={"email": "new.admin@example.org", "display_name": "N", "roles": ["admin"]},
            headers=admin_headers,
        )
        assert r.status_code == 201, r.text
        assert r.json()["roles"] == [] and r.json()["pending_role_grant"]["roles"] == ["admin"]
        new = db.scalar(select(User).where(User.email == "new.admin@example.org"))
        assert _roles(db, new) == set()
        grant_id = r.json()["pending_role_grant"]["id"]
        decided = web.post(
            f"{API}/role-grants/{grant_id}/decision",
            json={"decision": "approve"},
            headers=second[1],
        )
        assert decided.status_code == 200 and _roles(db, new) == {Role.ADMIN}

    def test_approving_your_own_request_is_403_logged_and_changes_nothing(
        self, web, db, make_user, admin, admin_headers
    ):
        person = make_user(roles=(Role.PRACTITIONER,))
        grant_id = web.patch(
            f"{API}/users/{person.id}", json={"roles": ["admin"]}, headers=admin_headers
        ).json()["pending_role_grant"]["id"]
        for decision in ("approve", "refuse"):
            r = web.post(
                f"{API}/role-grants/{grant_id}/decision",
                json={"decision": decision},
                headers=admin_headers,
            )
            assert r.status_code == 403, r.text
            assert r.json()["code"] == "own_request"
        assert _roles(db, person) == {Role.PRACTITIONER}
        [grant] = _requests(db)
        assert grant.decision == GrantDecision.PENDING and grant.decided_by_id is None
        refused = _events(db, "role_grant.decision_refused")
        assert [(e.object_id, e.user_id) for e in refused] == [(grant_id, admin.id)] * 2
        assert refused[0].after == {"refused": "own_request", "as": "requester"}

    def test_the_person_it_is_for_cannot_approve_it(self, web, db, admin, admin_headers, second):
        subject, subject_headers = second
        grant_id = web.patch(
            f"{API}/users/{subject.id}",
            json={"roles": ["admin", "moderator"]},
            headers=admin_headers,
        ).json()["pending_role_grant"]["id"]
        r = web.post(
            f"{API}/role-grants/{grant_id}/decision",
            json={"decision": "approve"},
            headers=subject_headers,
        )
        assert r.status_code == 403 and r.json()["code"] == "own_request"
        assert _roles(db, subject) == {Role.ADMIN}
        [event] = _events(db, "role_grant.decision_refused")
        assert event.user_id == subject.id and event.after["as"] == "subject"

    def test_a_refusal_keeps_the_roles_and_the_reason(
        self, web, db, make_user, admin_headers, second
    ):
        person = make_user(roles=(Role.SCRUTINEER,))
        grant_id = web.patch(
            f"{API}/users/{person.id}", json={"roles": ["moderator"]}, headers=admin_headers
        ).json()["pending_role_grant"]["id"]
        r = web.post(
            f"{API}/role-grants/{grant_id}/decision",
            json={"decision": "refuse", "reason": "Not on the QAPP group."},
            headers=second[1],
        )
        assert r.status_code == 200, r.text
        assert r.json()["decision"] == "refused" and r.json()["reason"] == "Not on the QAPP group."
        assert _roles(db, person) == {Role.SCRUTINEER}
        decided = web.get(f"{API}/role-grants", params={"pending": False}, headers=second[1])
        assert [g["id"] for g in decided.json()["items"]] == [grant_id]

    def test_asking_again_replaces_the_request_waiting(
        self, web, db, make_user, admin_headers, second
    ):
        person = make_user(roles=(Role.SCRUTINEER,))
        first = web.patch(
            f"{API}/users/{person.id}", json={"roles": ["moderator"]}, headers=admin_headers
        ).json()["pending_role_grant"]["id"]
        later = web.patch(
            f"{API}/users/{person.id}",
            json={"roles": ["moderator", "scrutineer"]},
            headers=admin_headers,
        ).json()["pending_role_grant"]["id"]
        assert [(g.id, g.decision) for g in _requests(db)] == [
            (first, GrantDecision.REPLACED),
            (later, GrantDecision.PENDING),
        ]
        stale = web.post(
            f"{API}/role-grants/{first}/decision", json={"decision": "approve"}, headers=second[1]
        )
        assert stale.status_code == 409 and _roles(db, person) == {Role.SCRUTINEER}

    def test_other_roles_change_at_once(self, web, db, make_user, admin_headers, police):
        person = make_user(roles=(Role.AUDITOR,), agency=police)
        r = web.patch(
            f"{API}/users/{person.id}",
            json={"roles": ["auditor", "agency_lead"]},
            headers=admin_headers,
        )
        assert r.status_code == 200 and r.json()["pending_role_grant"] is None
        assert _roles(db, person) == {Role.AUDITOR, Role.AGENCY_LEAD}
        assert _requests(db) == []

    def test_roles_changed_since_it_was_asked_are_not_undone(
        self, web, db, make_user, admin_headers, second
    ):
        person = make_user(roles=(Role.PRACTITIONER,))
        asked = web.patch(
            f"{API}/users/{person.id}",
            json={"roles": ["practitioner", "moderator"]},
            headers=admin_headers,
        ).json()["pending_role_grant"]
        with as_cli():  # meanwhile, on the server, they stop being a practitioner
            access.update_user(db, user=db.get(User, person.id), changes={"roles": set()})
        db.commit()
        r = web.post(
            f"{API}/role-grants/{asked['id']}/decision",
            json={"decision": "approve"},
            headers=second[1],
        )
        assert r.status_code == 409 and "roles have changed since this was asked" in r.text
        assert _roles(db, person) == set()

    def test_a_bad_decision_is_422_not_500(self, web, db, make_user, admin_headers, second):
        person = make_user(roles=(Role.SCRUTINEER,))
        grant_id = web.patch(
            f"{API}/users/{person.id}", json={"roles": ["moderator"]}, headers=admin_headers
        ).json()["pending_role_grant"]["id"]
        for body in ({"decision": "maybe"}, {}, {"decision": "refuse", "reason": "x" * 1001}):
            r = web.post(f"{API}/role-grants/{grant_id}/decision", json=body, headers=second[1])
            assert r.status_code == 422, r.text
        assert _requests(db)[0].decision == GrantDecision.PENDING
        missing = web.post(
            f"{API}/role-grants/999999/decision", json={"decision": "approve"}, headers=second[1]
        )
        assert missing.status_code == 404

    def test_only_administrators_see_or_decide_requests(
        self, web, db, make_user, token_for, admin_headers
    ):
        person = make_user(roles=(Role.SCRUTINEER,))
        grant_id = web.patch(
            f"{API}/users/{person.id}", json={"roles": ["moderator"]}, headers=admin_headers
        ).json()["pending_role_grant"]["id"]
        moderator = token_for(make_user(roles=(Role.MODERATOR,)))
        assert web.get(f"{API}/role-grants", headers=moderator).status_code == 403
        r = web.post(
            f"{API}/role-grants/{grant_id}/decision",
            json={"decision": "approve"},
            headers=moderator,
        )
        assert r.status_code == 403 and _roles(db, person) == {Role.SCRUTINEER}


class TestTheLastAdministrator:
    def test_cannot_be_disabled(self, web, db, admin, admin_headers):
        for call in (
            lambda: web.post(f"{API}/users/{admin.id}/disable", headers=admin_headers),
            lambda: web.patch(
                f"{API}/users/{admin.id}", json={"active": False}, headers=admin_headers
            ),
        ):
            r = call()
            assert r.status_code == 409, r.text
            assert r.json()["code"] == "last_admin"
            assert "last active administrator" in r.json()["detail"]
        db.expire_all()
        assert db.get(User, admin.id).active is True
        events = _events(db, "user.last_admin_refused")
        assert [(e.object_id, e.after["active"]) for e in events] == [(admin.id, False)] * 2

    def test_cannot_lose_the_role(self, web, db, make_user, token_for):
        admin = make_user(roles=(Role.ADMIN, Role.SCRUTINEER))
        r = web.patch(
            f"{API}/users/{admin.id}", json={"roles": ["scrutineer"]}, headers=token_for(admin)
        )
        assert r.status_code == 409 and r.json()["code"] == "last_admin"
        assert _roles(db, admin) == {Role.ADMIN, Role.SCRUTINEER}
        [event] = _events(db, "user.last_admin_refused")
        assert event.after == {"refused": "last_admin", "roles": ["scrutineer"], "active": True}

    def test_a_disabled_admin_does_not_count(self, web, db, make_user, admin, admin_headers):
        other = make_user(roles=(Role.ADMIN,))
        assert web.post(f"{API}/users/{other.id}/disable", headers=admin_headers).status_code == 200
        r = web.post(f"{API}/users/{admin.id}/disable", headers=admin_headers)
        assert r.status_code == 409

    def test_with_another_admin_one_may_step_down(self, web, db, admin, admin_headers, second):
        r = web.patch(
            f"{API}/users/{second[0].id}", json={"roles": ["practitioner"]}, headers=admin_headers
        )
        assert r.status_code == 200  # taking a role away needs no second administrator
        assert _roles(db, second[0]) == {Role.PRACTITIONER}
        again = web.patch(f"{API}/users/{admin.id}", json={"active": False}, headers=admin_headers)
        assert again.status_code == 409  # now the last one


@pytest.mark.skipif(
    BACKEND != "postgresql", reason="SQLite runs writers one at a time (BEGIN IMMEDIATE)"
)
class TestTwoAdminsRemovingEachOtherAtOnce:
    """On PostgreSQL two requests really overlap: each would count the other as the
    administrator left. The second waits for the admins' lock, then counts what the
    first committed, and is refused."""

    def test_one_of_them_stays(self, migrated_engine):
        engine = migrated_engine()
        factory = make_sessionmaker(engine)
        opened: list[Session] = []

        def new() -> Session:
            opened.append(open_session(factory, write=True))
            return opened[-1]

        try:
            setup = new()
            a, b = (
                access.create_user(
                    setup, email=f"{n}@example.org", display_name=n, roles={Role.ADMIN}
                )
                for n in ("a", "b")
            )
            setup.commit()
            first = new()
            access.update_user(
                first, user=first.get(User, a.id), changes={"roles": {Role.SCRUTINEER}}
            )  # holds the lock, uncommitted
            seen: dict = {}

            def second() -> None:
                other = new()
                try:
                    access.update_user(
                        other, user=other.get(User, b.id), changes={"roles": {Role.SCRUTINEER}}
                    )
                except grants.LastAdminRefused as refused:
                    seen["refused"] = refused
                other.rollback()

            waiting = threading.Thread(target=second)
            waiting.start()
            deadline = time.monotonic() + 20
            while not blocked_on_a_lock(setup):
                assert waiting.is_alive() and time.monotonic() < deadline, "never waited"
                time.sleep(0.05)
            first.commit()
            waiting.join(timeout=10)
            assert "refused" in seen
            setup.expire_all()
            assert setup.get(User, b.id).roles == {Role.ADMIN}
        finally:
            for session in opened:
                session.rollback()
                session.close()
            engine.dispose()
