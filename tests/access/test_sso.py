"""Single sign-on with OpenID Connect (app/access/sso.py), against real providers on
loopback started by the tests: oidc-provider-mock (a provider the project did not
write) for the ordinary paths, and tests/helpers/oidc.py, whose ID tokens a test can
spoil, for each refusal. The service under test runs in process; it reaches the
providers over HTTP, as it would Entra ID.

Synthetic people only: invented names at invented ``.example`` domains."""

from __future__ import annotations

import time
from urllib.parse import quote, urlparse

import httpx
import oidc_provider_mock
import pytest
from sqlalchemy import func, select

from app.access import service as access
from app.access import sso
from app.access.models import (
    ExternalIdentity,
    GrantDecision,
    Role,
    SsoRegistration,
    WebSession,
)
from app.auditlog.models import AuditEvent
from app.config import SsoProvider
from app.notifications.models import Notification
from tests.helpers.access import browse_as
from tests.helpers.factories import make_agency
from tests.helpers.oidc import running_provider

CLIENT_ID = "case-audit-test"
DOMAIN = "police.westshire.example"
OPEN_DOMAIN = "staff.westshire.example"  # self-registration allowed


@pytest.fixture
def agencies(db):
    police = make_agency(db, name="Westshire Police")
    db.commit()
    return police


@pytest.fixture
def configure(app):
    """``configure(issuer)``: the app's settings with one provider at ``issuer``, put
    back as they were after the test (monkeypatch cannot: starlette's State keeps its
    attributes where monkeypatch's undo deletes them)."""
    before = app.state.settings

    def configure(issuer: str) -> SsoProvider:
        return _configure(app, issuer)

    yield configure
    app.state.settings = before


def _configure(app, issuer: str, **extra) -> SsoProvider:
    chosen = SsoProvider(
        key="westshire",
        name="Westshire Police",
        issuer=issuer,
        client_id=CLIENT_ID,
        client_secret="invented-secret",
        domains={DOMAIN: "Westshire Police", OPEN_DOMAIN: "Westshire Police"},
        self_registration=[OPEN_DOMAIN],
        **extra,
    )
    settings = app.state.settings.model_copy(
        update={"sso_providers": [chosen], "public_url": "http://testserver"}
    )
    app.state.settings = settings
    return chosen


def _go(browser, authorize, *, next_path: str = "/audits"):
    """Sign in through the provider: the service sends the browser to the provider,
    ``authorize`` is what the provider does with it (its answer a redirect back), and
    the browser follows that back to the service's callback."""
    start = browser.get(f"/sign-in/sso/westshire?next={quote(next_path)}", follow_redirects=False)
    assert start.status_code == 303, start.text
    back = authorize(start.headers["location"])
    assert back.status_code in (302, 303), back.text
    target = urlparse(back.headers["location"])
    assert target.path == "/sign-in/sso/westshire/callback"
    return browser.get(f"{target.path}?{target.query}", follow_redirects=False), target


def _auto(url: str) -> httpx.Response:
    return httpx.get(url, follow_redirects=False)


def _person(db, email: str, *, role=Role.AUDITOR, agency=None, enrolled: bool = True):
    user = access.create_user(
        db,
        email=email,
        display_name="Robin Officer",
        roles={role},
        agency_id=agency.id if agency else None,
    )
    if enrolled:
        from app.clock import utcnow

        user.totp_secret = "JBSWY3DPEHPK3PXP"
        user.totp_confirmed_at = utcnow()
    db.commit()
    return user


def _sessions(db, user) -> list[WebSession]:
    db.expire_all()
    return list(db.scalars(select(WebSession).where(WebSession.user_id == user.id)))


def _refusals(db) -> list[str]:
    db.expire_all()
    return [
        e.after["reason"]
        for e in db.scalars(select(AuditEvent).where(AuditEvent.action == "auth.sso_refused"))
    ]


@pytest.fixture
def provider(configure):
    with running_provider() as running:
        configure(running.base)
        yield running


# --- an allowed issuer ---------------------------------------------------------------------


class TestSignIn:
    def test_an_allowed_issuer_signs_in_and_the_service_asks_its_own_code(
        self, db, anonymous_client, agencies, provider
    ):
        user = _person(db, f"robin@{DOMAIN}", agency=agencies)
        provider.claims = {"email": f"ROBIN@{DOMAIN}", "name": "Robin Officer"}
        done, _ = _go(anonymous_client, _auto)
        assert done.status_code == 303
        assert done.headers["location"].startswith("/sign-in/code")  # no MFA asserted
        [web] = _sessions(db, user)
        assert web.second_factor_at is None
        linked = db.scalar(select(ExternalIdentity).where(ExternalIdentity.user_id == user.id))
        assert (linked.issuer, linked.subject) == (provider.base, "robin-0001")

    def test_mfa_asserted_by_the_provider_signs_in_at_once(
        self, db, anonymous_client, agencies, provider
    ):
        user = _person(db, f"robin@{DOMAIN}", agency=agencies)
        provider.claims = {"email": f"robin@{DOMAIN}", "amr": ["pwd", "mfa"]}
        done, _ = _go(anonymous_client, _auto, next_path="/audits")
        assert (done.status_code, done.headers["location"]) == (303, "/audits")
        [web] = _sessions(db, user)
        assert web.second_factor_at is not None
        assert anonymous_client.get("/audits").status_code == 200  # signed in

    def test_a_single_factor_at_the_provider_is_not_a_second_factor(
        self, db, anonymous_client, agencies, provider
    ):
        """RFC 8176: "sms" or "otp" alone is one factor, perhaps the only one."""
        _person(db, f"robin@{DOMAIN}", agency=agencies)
        provider.claims = {"email": f"robin@{DOMAIN}", "amr": ["sms"]}
        done, _ = _go(anonymous_client, _auto)
        assert done.headers["location"].startswith("/sign-in/code")

    def test_an_address_the_provider_has_not_verified_links_nothing(
        self, db, anonymous_client, agencies, provider
    ):
        user = _person(db, f"robin@{DOMAIN}", agency=agencies)
        provider.claims = {"email": f"robin@{DOMAIN}", "email_verified": False, "amr": ["mfa"]}
        done, _ = _go(anonymous_client, _auto)
        assert done.status_code == 401 and _sessions(db, user) == []
        assert db.scalar(select(func.count()).select_from(ExternalIdentity)) == 0

    def test_once_linked_the_subject_decides_not_the_email(
        self, db, anonymous_client, agencies, provider
    ):
        user = _person(db, f"robin@{DOMAIN}", agency=agencies)
        provider.claims = {"email": f"robin@{DOMAIN}", "amr": ["mfa"]}
        _go(anonymous_client, _auto)
        anonymous_client.cookies.clear()
        provider.claims = {"email": f"someone.else@{DOMAIN}", "amr": ["mfa"]}
        done, _ = _go(anonymous_client, _auto)
        assert done.status_code == 303
        assert len(_sessions(db, user)) == 2

    def test_an_address_outside_the_providers_domains_is_refused(
        self, db, anonymous_client, agencies, provider
    ):
        _person(db, "robin@elsewhere.example", agency=agencies)
        provider.claims = {"email": "robin@elsewhere.example", "amr": ["mfa"]}
        done, _ = _go(anonymous_client, _auto)
        assert done.status_code == 401
        assert "cannot use this service" in done.text

    def test_a_disabled_account_is_refused(self, db, anonymous_client, agencies, provider):
        user = _person(db, f"robin@{DOMAIN}", agency=agencies)
        user.active = False
        db.commit()
        provider.claims = {"email": f"robin@{DOMAIN}", "amr": ["mfa"]}
        done, _ = _go(anonymous_client, _auto)
        assert done.status_code == 401 and _sessions(db, user) == []
        # Not linked either: enabling the account again links nothing by itself.
        assert db.scalar(select(func.count()).select_from(ExternalIdentity)) == 0


# --- refusals --------------------------------------------------------------------------------


class TestRefusals:
    @pytest.fixture
    def user(self, db, agencies, provider):
        provider.claims = {"email": f"robin@{DOMAIN}", "amr": ["mfa"]}
        return _person(db, f"robin@{DOMAIN}", agency=agencies)

    def _refused(self, db, anonymous_client, user, reason: str) -> None:
        done, _ = _go(anonymous_client, _auto)
        assert done.status_code == 401, done.text
        assert "You could not be signed in" in done.text
        assert _sessions(db, user) == []
        assert any(reason in r for r in _refusals(db)), _refusals(db)

    def test_an_unknown_issuer(self, db, anonymous_client, user, provider):
        provider.override = {"iss": "https://login.example/another-tenant/v2.0"}
        self._refused(db, anonymous_client, user, "claims not valid")

    def test_a_bad_signature(self, db, anonymous_client, user, provider):
        provider.sign_with_unpublished_key = True
        self._refused(db, anonymous_client, user, "signature not valid")

    def test_a_wrong_audience(self, db, anonymous_client, user, provider):
        provider.override = {"aud": "another-service"}
        self._refused(db, anonymous_client, user, "another audience")

    def test_several_audiences_without_ours_as_the_authorized_party(
        self, db, anonymous_client, user, provider
    ):
        provider.override = {"aud": [CLIENT_ID, "another-service"], "azp": "another-service"}
        self._refused(db, anonymous_client, user, "azp")

    def test_an_expired_token(self, db, anonymous_client, user, provider):
        now = int(time.time())
        provider.override = {"iat": now - 7200, "exp": now - 3600}
        self._refused(db, anonymous_client, user, "claims not valid")

    def test_a_replayed_nonce(self, db, anonymous_client, user, provider):
        """An ID token from a sign-in that is over, sent back into a new one: its nonce
        is the old sign-in's, so it is refused."""
        done, _ = _go(anonymous_client, _auto)
        assert done.status_code == 303
        anonymous_client.cookies.clear()
        provider.replay = provider.issued[-1]
        self._refused_again(db, anonymous_client, user, "claims not valid")

    def _refused_again(self, db, anonymous_client, user, reason: str) -> None:
        before = len(_sessions(db, user))
        done, _ = _go(anonymous_client, _auto)
        assert done.status_code == 401
        assert len(_sessions(db, user)) == before
        assert any(reason in r for r in _refusals(db))

    def test_a_replayed_callback(self, db, anonymous_client, user, provider):
        """The same answer from the provider sent again, even from the browser that
        started it (its cookie kept): the state works once."""
        start = anonymous_client.get("/sign-in/sso/westshire", follow_redirects=False)
        kept = anonymous_client.cookies.get(sso.BROWSER_COOKIE)
        target = urlparse(_auto(start.headers["location"]).headers["location"])
        done = anonymous_client.get(f"{target.path}?{target.query}", follow_redirects=False)
        assert done.status_code == 303
        anonymous_client.cookies.set(sso.BROWSER_COOKIE, kept, path="/sign-in/sso/westshire")
        again = anonymous_client.get(f"{target.path}?{target.query}", follow_redirects=False)
        assert again.status_code == 401
        assert any("state used already" in r for r in _refusals(db))

    def test_a_callback_in_another_browser(self, db, anonymous_client, user, provider):
        start = anonymous_client.get("/sign-in/sso/westshire", follow_redirects=False)
        back = urlparse(_auto(start.headers["location"]).headers["location"])
        anonymous_client.cookies.clear()  # not the browser that left
        done = anonymous_client.get(f"{back.path}?{back.query}", follow_redirects=False)
        assert done.status_code == 401
        assert any("another browser" in r for r in _refusals(db))

    def test_a_provider_whose_discovery_names_another_issuer(
        self, db, anonymous_client, configure, user, provider
    ):
        configure(provider.base + "/")  # not what its document says
        start = anonymous_client.get("/sign-in/sso/westshire", follow_redirects=False)
        assert start.status_code == 401
        assert "could not be reached" in start.text


# --- someone unknown ---------------------------------------------------------------------------


class TestRegistration:
    def test_someone_unknown_in_an_allowed_domain_waits_for_approval(
        self, db, anonymous_client, agencies, provider
    ):
        admin = _person(db, "admin@westshire.example", role=Role.ADMIN)
        lead = _person(db, f"lead@{DOMAIN}", role=Role.AGENCY_LEAD, agency=agencies)
        provider.subject = "new-0002"
        provider.claims = {"email": f"sam@{OPEN_DOMAIN}", "name": "Sam Newstarter", "amr": ["mfa"]}
        done, _ = _go(anonymous_client, _auto)
        assert done.status_code == 403
        assert "will approve it; you can sign in once they have" in done.text
        anonymous_client.cookies.clear()
        again, _ = _go(anonymous_client, _auto)  # asking twice is one request
        assert again.status_code == 403
        db.expire_all()
        [asked] = db.scalars(select(SsoRegistration)).all()
        assert (asked.email, asked.agency_id, asked.decision) == (
            f"sam@{OPEN_DOMAIN}",
            agencies.id,
            GrantDecision.PENDING,
        )
        told = set(
            db.scalars(
                select(Notification.email).where(Notification.kind == "registration_waiting")
            )
        )
        assert told == {admin.email, lead.email}

        # The agency's lead approves it, with a role their agency's staff may have.
        anonymous_client.cookies.clear()
        browse_as(anonymous_client, db, lead)
        page = anonymous_client.get(f"/admin/registrations/{asked.id}")
        assert page.status_code == 200 and "Sam Newstarter" in page.text
        assert 'value="admin"' not in page.text  # a lead gives no partnership role
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        decided = anonymous_client.post(
            f"/admin/registrations/{asked.id}",
            data={"csrf_token": token, "decision": "approve", "roles": ["auditor"]},
        )
        assert "Sam Newstarter has an account" in decided.text
        anonymous_client.cookies.clear()
        done, _ = _go(anonymous_client, _auto, next_path="/")
        assert (done.status_code, done.headers["location"]) == (303, "/")

    def test_someone_unknown_elsewhere_is_refused_and_asks_for_nothing(
        self, db, anonymous_client, agencies, provider
    ):
        provider.claims = {"email": f"pat@{DOMAIN}", "amr": ["mfa"]}  # no self-registration
        done, _ = _go(anonymous_client, _auto)
        assert done.status_code == 401
        assert db.scalar(select(func.count()).select_from(SsoRegistration)) == 0

    def test_a_lead_may_not_decide_another_agencys_request_nor_give_admin(
        self, db, anonymous_client, agencies, provider
    ):
        other = make_agency(db, name="Westshire Schools")
        other_lead = _person(db, "lead@schools.example", role=Role.AGENCY_LEAD, agency=other)
        provider.claims = {"email": f"sam@{OPEN_DOMAIN}", "amr": ["mfa"]}
        _go(anonymous_client, _auto)
        asked = db.scalar(select(SsoRegistration))
        anonymous_client.cookies.clear()
        browse_as(anonymous_client, db, other_lead)
        assert anonymous_client.get(f"/admin/registrations/{asked.id}").status_code == 404
        lead = _person(db, f"lead@{DOMAIN}", role=Role.AGENCY_LEAD, agency=agencies)
        from app.access.policy import Actor

        with pytest.raises(sso.InvalidInput):
            sso.approve(
                db,
                actor=Actor(
                    user_id=lead.id,
                    label=lead.email,
                    roles=frozenset({Role.AGENCY_LEAD}),
                    agency_id=agencies.id,
                ),
                registration_id=asked.id,
                roles={Role.ADMIN},
            )


# --- a provider the project did not write ----------------------------------------------------


class TestWithOidcProviderMock:
    @pytest.fixture
    def mock(self, configure):
        with oidc_provider_mock.run_server_in_thread() as server:
            base = f"http://localhost:{server.server_port}"
            configure(base)
            yield base

    def _authorize_as(self, base: str, sub: str, claims: dict):
        assert httpx.put(f"{base}/users/{quote(sub)}", json=claims).status_code == 204

        def authorize(url: str) -> httpx.Response:
            return httpx.post(url, data={"sub": sub}, follow_redirects=False)

        return authorize

    def test_signs_in_with_mfa_and_without(self, db, anonymous_client, agencies, mock):
        user = _person(db, f"robin@{DOMAIN}", agency=agencies)
        with_mfa = self._authorize_as(
            mock, "robin", {"email": f"robin@{DOMAIN}", "name": "Robin", "amr": ["mfa"]}
        )
        done, _ = _go(anonymous_client, with_mfa, next_path="/audits")
        assert (done.status_code, done.headers["location"]) == (303, "/audits")
        anonymous_client.cookies.clear()
        without = self._authorize_as(mock, "robin", {"email": f"robin@{DOMAIN}", "name": "Robin"})
        done, _ = _go(anonymous_client, without)
        assert done.headers["location"].startswith("/sign-in/code")
        assert [w.second_factor_at is not None for w in _sessions(db, user)] == [True, False]

    def test_someone_unknown_waits(self, db, anonymous_client, agencies, mock):
        authorize = self._authorize_as(
            mock, "sam", {"email": f"sam@{OPEN_DOMAIN}", "name": "Sam Newstarter"}
        )
        done, _ = _go(anonymous_client, authorize)
        assert done.status_code == 403
        assert db.scalar(select(SsoRegistration.email)) == f"sam@{OPEN_DOMAIN}"


def test_the_sign_in_page_offers_each_provider(configure, anonymous_client):
    configure("https://login.example/tenant/v2.0")
    page = anonymous_client.get("/sign-in")
    assert "Sign in with Westshire Police" in page.text
    assert 'href="/sign-in/sso/westshire?next=/"' in page.text  # back to where they were


def test_requests_for_an_account_through_the_api(db, anonymous_client, agencies, provider):
    from tests.helpers.access import bearer, token_holder

    provider.claims = {"email": f"sam@{OPEN_DOMAIN}", "amr": ["mfa"]}
    _go(anonymous_client, _auto)
    asked = db.scalar(select(SsoRegistration))
    _lead, lead = token_holder(db, Role.AGENCY_LEAD, "Police Lead", agency_id=agencies.id)
    other = make_agency(db, name="Westshire Schools")
    _other, other_lead = token_holder(db, Role.AGENCY_LEAD, "Schools Lead", agency_id=other.id)
    _auditor, auditor = token_holder(db, Role.AUDITOR, "Pat Auditor", agency_id=agencies.id)
    api = "/api/v1/registrations"
    listed = anonymous_client.get(api, headers=bearer(lead)).json()
    assert [r["email"] for r in listed] == [f"sam@{OPEN_DOMAIN}"]
    assert anonymous_client.get(api, headers=bearer(other_lead)).json() == []
    assert anonymous_client.get(f"{api}/{asked.id}", headers=bearer(other_lead)).status_code == 404
    assert anonymous_client.get(api, headers=bearer(auditor)).status_code == 403
    no_reason = anonymous_client.post(
        f"{api}/{asked.id}/decision", json={"decision": "refuse"}, headers=bearer(lead)
    )
    assert no_reason.status_code == 422
    assert [e["field"] for e in no_reason.json()["errors"]] == ["reason"]
    refused = anonymous_client.post(
        f"{api}/{asked.id}/decision",
        json={"decision": "refuse", "reason": "Not one of our officers."},
        headers=bearer(lead),
    )
    assert refused.status_code == 200
    assert (refused.json()["decision"], refused.json()["reason"]) == (
        "refused",
        "Not one of our officers.",
    )
    anonymous_client.cookies.clear()
    again, _ = _go(anonymous_client, _auto)
    assert again.status_code == 403 and "Not one of our officers." in again.text
