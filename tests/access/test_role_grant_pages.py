"""The users pages under least privilege: giving admin or moderator waits for a second
administrator, who approves or refuses it on the role request's page; nobody gives
themselves a role; each refusal shows the GOV.UK error summary and is logged."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.access import service as access
from app.access.models import GrantDecision, Role, RoleGrantRequest, User
from app.auditlog.models import AuditEvent
from tests.helpers.access import signed_in_cookie

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
COOKIE = "case_audit_session"


@pytest.fixture
def people(db):
    made = {
        "bea": access.create_user(
            db, email="bea@example.org", display_name="Bea Business", roles={Role.ADMIN}
        ),
        "ade": access.create_user(
            db, email="ade@example.org", display_name="Ade Admin", roles={Role.ADMIN}
        ),
        "sol": access.create_user(
            db, email="sol@example.org", display_name="Sol Scrutineer", roles={Role.SCRUTINEER}
        ),
    }
    db.commit()
    return made


@pytest.fixture
def browsers(other_browser, db, people):
    """Bea and Ade, each signed in in a browser of their own."""
    made = {}
    for name in ("bea", "ade"):
        client = other_browser()
        client.cookies.set(COOKIE, signed_in_cookie(db, people[name]))
        made[name] = client
    return made


def token(client, path: str) -> str:
    return CSRF.search(client.get(path).text).group(1)


def _ask_moderator_for_sol(bea, people) -> RoleGrantRequest:
    sol = people["sol"]
    page = f"/admin/users/{sol.id}"
    r = bea.post(
        page,
        data={
            "csrf_token": token(bea, page),
            "display_name": "Sol Scrutineer",
            "roles": ["scrutineer", "moderator"],
            "agency_id": "",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return r


def _grant(db) -> RoleGrantRequest:
    db.expire_all()
    return db.scalars(select(RoleGrantRequest)).one()


def _roles(db, user) -> set[Role]:
    db.expire_all()
    return set(db.get(User, user.id).roles)


class TestAskingForModerator:
    def test_the_change_waits_and_every_page_says_so(self, db, people, browsers):
        bea, sol = browsers["bea"], people["sol"]
        done = _ask_moderator_for_sol(bea, people)
        assert _roles(db, sol) == {Role.SCRUTINEER}
        banner = bea.get(done.headers["location"]).text
        assert "Changes to Sol Scrutineer&#39;s account have been saved." in banner
        assert "needs another administrator&#39;s approval: the request is waiting" in banner
        assert "1 request waiting for approval" in banner
        assert "(roles waiting for approval)" in banner
        grant = _grant(db)
        page = bea.get(f"/admin/users/{sol.id}").text
        assert "to change their roles to Moderator, Scrutineer" in page
        assert f'href="/admin/role-requests/{grant.id}"' in page

    def test_the_one_who_asked_sees_no_form_and_a_decision_posted_anyway_is_refused(
        self, db, people, browsers
    ):
        bea = browsers["bea"]
        _ask_moderator_for_sol(bea, people)
        grant = _grant(db)
        path = f"/admin/role-requests/{grant.id}"
        page = bea.get(path).text
        assert "You asked for this change: another administrator must approve" in page
        assert 'name="decision"' not in page
        r = bea.post(path, data={"csrf_token": token(bea, path), "decision": "approve"})
        assert r.status_code == 403
        assert "There is a problem" in r.text
        assert 'href="#decision">You asked for this change' in r.text
        assert _grant(db).decision == GrantDecision.PENDING
        assert _roles(db, people["sol"]) == {Role.SCRUTINEER}
        refused = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "role_grant.decision_refused")
        ).one()
        assert refused.user_id == people["bea"].id and refused.object_id == grant.id

    def test_a_second_administrator_approves(self, db, people, browsers):
        _ask_moderator_for_sol(browsers["bea"], people)
        ade, grant = browsers["ade"], _grant(db)
        listed = ade.get("/admin/role-requests").text
        assert "1 request waiting" in listed and "Sol Scrutineer" in listed
        path = f"/admin/role-requests/{grant.id}"
        page = ade.get(path).text
        assert "Do you approve this change of roles?" in page
        assert "bea@example.org" in page  # who asked, as the log names them
        empty = ade.post(path, data={"csrf_token": token(ade, path)})
        assert empty.status_code == 422
        assert 'href="#decision">Choose whether to approve or refuse the request</a>' in empty.text
        assert _grant(db).decision == GrantDecision.PENDING
        done = ade.post(
            path,
            data={"csrf_token": token(ade, path), "decision": "approve"},
            follow_redirects=False,
        )
        assert done.status_code == 303
        assert _roles(db, people["sol"]) == {Role.MODERATOR, Role.SCRUTINEER}
        banner = ade.get(done.headers["location"]).text
        assert "The request has been approved: Sol Scrutineer&#39;s roles are now" in banner
        assert "No request is waiting." in banner and "Approved" in banner

    def test_a_second_administrator_refuses_with_a_reason(self, db, people, browsers):
        _ask_moderator_for_sol(browsers["bea"], people)
        ade, grant = browsers["ade"], _grant(db)
        path = f"/admin/role-requests/{grant.id}"
        done = ade.post(
            path,
            data={
                "csrf_token": token(ade, path),
                "decision": "refuse",
                "reason": "Not on the QAPP group.",
            },
            follow_redirects=False,
        )
        assert done.status_code == 303
        assert _roles(db, people["sol"]) == {Role.SCRUTINEER}
        assert (_grant(db).decision, _grant(db).reason) == (
            GrantDecision.REFUSED,
            "Not on the QAPP group.",
        )
        assert "Not on the QAPP group." in ade.get(path).text


class TestNobodyGivesThemselvesARole:
    def test_adding_a_role_to_your_own_account_is_refused_with_the_error_summary(
        self, db, people, browsers
    ):
        bea, me = browsers["bea"], people["bea"]
        path = f"/admin/users/{me.id}"
        page = bea.get(path).text
        assert "You cannot give yourself a role" in page
        r = bea.post(
            path,
            data={
                "csrf_token": token(bea, path),
                "display_name": "Bea Renamed",
                "roles": ["admin", "scrutineer"],
                "agency_id": "",
            },
        )
        assert r.status_code == 403
        assert 'href="#roles">You cannot give yourself a role: ask another administrator.</a>' in (
            r.text.replace("&#39;", "'")
        )
        assert re.search(r'value="scrutineer"\s*checked', r.text)  # what they chose, kept
        db.expire_all()
        assert _roles(db, me) == {Role.ADMIN} and db.get(User, me.id).display_name == "Bea Business"
        assert db.scalar(select(RoleGrantRequest)) is None
        event = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.self_grant_refused")
        ).one()
        assert event.object_id == me.id and event.user_id == me.id


class TestTheLastAdministratorOnThePages:
    """On the pages the last administrator can only be oneself, and nobody removes their
    own administrator role or disables their own account there; when nobody else is
    left, the refusal is the last administrator's and logged as that."""

    @pytest.fixture
    def alone(self, other_browser, db):
        bea = access.create_user(
            db, email="lone@example.org", display_name="Lone Admin", roles={Role.ADMIN}
        )
        db.commit()
        client = other_browser()
        client.cookies.set(COOKIE, signed_in_cookie(db, bea))
        return bea, client

    def _refusals(self, db) -> list[AuditEvent]:
        return list(
            db.scalars(select(AuditEvent).where(AuditEvent.action == "user.last_admin_refused"))
        )

    def test_the_last_admin_cannot_disable_themselves_or_drop_the_role(self, db, alone):
        bea, client = alone
        path = f"/admin/users/{bea.id}"
        disabled = client.post(f"{path}/disable", data={"csrf_token": token(client, path)})
        assert disabled.status_code == 409
        assert 'href="#disable">You cannot disable your own account</a>' in disabled.text
        dropped = client.post(
            path,
            data={"csrf_token": token(client, path), "display_name": "Bea", "roles": []},
        )
        assert dropped.status_code == 422
        demoted = client.post(
            path,
            data={"csrf_token": token(client, path), "display_name": "Bea", "roles": "admin"},
        )
        assert demoted.status_code in (200, 303)  # keeping the role is fine
        db.expire_all()
        assert db.get(User, bea.id).active and _roles(db, bea) == {Role.ADMIN}
        assert [e.after["active"] for e in self._refusals(db)] == [False]

    def test_with_another_admin_the_page_still_refuses_but_not_as_the_last(self, db, alone, people):
        bea, client = alone
        path = f"/admin/users/{bea.id}"
        r = client.post(f"{path}/disable", data={"csrf_token": token(client, path)})
        assert r.status_code == 409 and self._refusals(db) == []
