"""One-time links (app/access/links.py): an invitation or a reset link works once, until
it expires, and a newer one voids the older; a reset ends every session and token of
the person and still asks for their authenticator; asking for a reset answers the same
for every address; who may invite whom; the e-mails, their links taken out once sent;
the audit log. With the clock pinned at noon."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.access import links
from app.access.models import AccountLink, ApiToken, LinkPurpose, Role, RoleGrantRequest, User
from app.access.secrets import digest, verify_password
from app.auditlog.models import AuditEvent
from app.config import Settings, SsoProvider
from app.notifications import service as notifications
from app.notifications.models import NotificationStatus
from tests.helpers.access import API, signed_in_cookie, start_sign_in
from tests.helpers.factories import make_agency
from tests.helpers.links import NEW_PASSWORD, NOON, emails, link_token


@pytest.fixture
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def admin(make_user):
    return make_user(roles=(Role.ADMIN,), email="alex.admin@example.org")


@pytest.fixture
def invite(db, app, admin, clock):
    """Invite someone as the administrator (through the service); the invitation."""
    from tests.helpers.access import actor_of

    def make(email="child.a.auditor@example.org", roles=(Role.PRACTITIONER,), agency=None):
        made = links.invite(
            db,
            email=email,
            display_name="Sam Newcomer",
            roles=set(roles),
            agency_id=agency.id if agency else None,
            settings=app.state.settings,  # as it is now (change_settings)
            actor=actor_of(admin),
        )
        db.commit()
        return made

    return make


def _actions(db, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


class TestOneTimeLinks:
    def test_a_link_works_once_and_only_its_digest_is_kept(self, db, invite):
        made = invite()
        token = link_token(db, made.user)
        assert made.link.token_hash == digest(token)
        kept = db.scalars(select(AccountLink)).all()
        assert all(token not in str(vars(row)) for row in kept)

        user = links.accept_invitation(db, token=token, password=NEW_PASSWORD)
        assert verify_password(user.password_hash, NEW_PASSWORD)
        db.refresh(made.link)
        assert made.link.used_at is not None
        with pytest.raises(links.LinkRefused) as refused:
            links.accept_invitation(db, token=token, password="another long passphrase 8")
        assert refused.value.message == links.LINK_REFUSED
        assert verify_password(user.password_hash, NEW_PASSWORD)  # unchanged

    def test_it_stops_working_at_its_expiry(self, db, invite, clock, settings):
        made = invite()
        token = link_token(db, made.user)
        assert made.link.expires_at == NOON + timedelta(hours=settings.account_link_hours)
        clock.shift(timedelta(hours=settings.account_link_hours, seconds=-1))
        links.find_link(db, token=token, purpose=LinkPurpose.INVITATION)  # still works
        clock.shift(timedelta(seconds=1))
        with pytest.raises(links.LinkRefused):
            links.accept_invitation(db, token=token, password=NEW_PASSWORD)
        assert db.get(User, made.user.id).password_hash is None

    def test_using_it_is_one_update_that_must_match_one_row(self, db, invite):
        # Two requests with the same link, interleaved: both found it working; the
        # second's UPDATE matches nothing, so it is refused.
        made = invite()
        token = link_token(db, made.user)
        first, _user = links.find_link(db, token=token, purpose=LinkPurpose.INVITATION)
        second, _user = links.find_link(db, token=token, purpose=LinkPurpose.INVITATION)
        links._use(db, first)
        with pytest.raises(links.LinkRefused):
            links._use(db, second)

    def test_an_unknown_garbled_or_other_kind_of_link_is_refused_alike(self, db, invite):
        made = invite()
        token = link_token(db, made.user)
        for wrong, purpose in [
            ("not-a-token", LinkPurpose.INVITATION),
            (token[:-1], LinkPurpose.INVITATION),
            (token * 3, LinkPurpose.INVITATION),
            ("", LinkPurpose.INVITATION),
            (token, LinkPurpose.RESET),  # an invitation is no reset link
        ]:
            with pytest.raises(links.LinkRefused) as refused:
                links.find_link(db, token=wrong, purpose=purpose)
            assert refused.value.message == links.LINK_REFUSED

    def test_a_disabled_accounts_link_is_refused(self, db, invite):
        made = invite()
        token = link_token(db, made.user)
        made.user.active = False
        db.commit()
        with pytest.raises(links.LinkRefused):
            links.find_link(db, token=token, purpose=LinkPurpose.INVITATION)

    def test_inviting_again_voids_the_older_invitation(self, db, invite, clock):
        first = invite()
        old = link_token(db, first.user)
        clock.shift(timedelta(hours=2))
        again = invite()
        assert again.again and again.user.id == first.user.id
        new = link_token(db, first.user)
        assert new != old and len(emails(db, "invitation", first.user)) == 2
        with pytest.raises(links.LinkRefused):
            links.find_link(db, token=old, purpose=LinkPurpose.INVITATION)
        links.accept_invitation(db, token=new, password=NEW_PASSWORD)
        assert (
            db.scalar(select(func.count(AccountLink.id)).where(AccountLink.used_at.is_(None))) == 0
        )

    def test_an_account_someone_has_used_is_not_invited_again(self, db, invite, make_user):
        used = make_user(roles=(Role.PRACTITIONER,), email="in.use@example.org")
        with pytest.raises(links.Conflict) as refused:
            invite(email="In.Use@example.org")
        assert refused.value.fields[0].field == "email"
        assert emails(db, "invitation", used) == []

    def test_a_weak_password_is_refused_and_the_link_still_works(self, db, invite):
        made = invite()
        token = link_token(db, made.user)
        with pytest.raises(links.InvalidInput) as refused:
            links.accept_invitation(db, token=token, password="password1234")
        assert "common" in refused.value.message
        links.find_link(db, token=token, purpose=LinkPurpose.INVITATION)  # not used up


@pytest.fixture
def member(db, make_user, token_for, clock):
    """Someone with a password, an authenticator, two web sessions and an API token."""
    user = make_user(roles=(Role.PRACTITIONER,), email="sam.member@example.org")
    headers = token_for(user)
    signed_in_cookie(db, user)
    signed_in_cookie(db, user)
    return user, headers


def _ask(web, email: str):
    return web.post(f"{API}/password-reset", json={"email": email})


class TestReset:
    def test_a_reset_ends_every_session_and_revokes_every_token(self, db, web, member):
        user, headers = member
        assert web.get(f"{API}/auth/me", headers=headers).status_code == 200
        assert _ask(web, user.email).status_code == 202
        token = link_token(db, user, "password_reset")
        links.reset_password(db, token=token, password=NEW_PASSWORD)
        db.commit()
        sessions = signed_in_sessions(db, user)
        assert sessions and all(s.end_reason == "password reset" for s in sessions)
        assert all(t.revoked_at is not None for t in db.scalars(select(ApiToken)))
        assert web.get(f"{API}/auth/me", headers=headers).status_code == 401
        logged = _actions(db, "user.reset_password")
        assert [(e.object_id, e.user_label) for e in logged] == [(user.id, user.email)]
        assert logged[0].after["sessions_ended"] == 2 and logged[0].after["tokens_revoked"] == 1
        with pytest.raises(links.LinkRefused):  # once
            links.reset_password(db, token=token, password="yet another passphrase 5")

    def test_the_authenticator_code_is_still_asked_for(self, db, web, member):
        user, _headers = member
        _ask(web, user.email)
        links.reset_password(
            db, token=link_token(db, user, "password_reset"), password=NEW_PASSWORD
        )
        db.commit()
        signed = start_sign_in(web, user, password=NEW_PASSWORD)
        assert signed.status_code == 200
        assert signed.json()["status"] == "second_factor_required"

    def test_unknown_disabled_and_passwordless_addresses_are_answered_alike(
        self, db, web, member, make_user
    ):
        user, _headers = member
        disabled = make_user(roles=(Role.PRACTITIONER,), email="gone@example.org")
        disabled.active = False
        invited = make_user(roles=(Role.PRACTITIONER,), email="new@example.org", password=None)
        db.commit()
        answers = {
            email: _ask(web, email)
            for email in (user.email, "nobody@example.org", disabled.email, invited.email)
        }
        assert {(r.status_code, r.text) for r in answers.values()} == {
            (202, f'{{"detail":"{links.RESET_ASKED}"}}')
        }
        assert [n.email for n in emails(db, "password_reset")] == [user.email]
        reasons = {
            e.after["account"]: e.after["reason"] for e in _actions(db, "user.reset_not_sent")
        }
        assert reasons == {
            "nobody@example.org": "unknown account",
            "gone@example.org": "account disabled",
            "new@example.org": "no password set",
        }

    def test_at_most_three_links_an_hour_for_an_account(self, db, web, member, clock):
        user, _headers = member
        for _ in range(5):
            assert _ask(web, user.email).status_code == 202
        sent = emails(db, "password_reset", user)
        assert len(sent) == links.RESETS_PER_HOUR
        refused = [e.after["reason"] for e in _actions(db, "user.reset_not_sent")]
        assert refused == ["too many resets"] * 2
        clock.shift(timedelta(hours=1, seconds=1))
        assert _ask(web, user.email).status_code == 202
        assert len(emails(db, "password_reset", user)) == links.RESETS_PER_HOUR + 1

    def test_a_newer_reset_link_voids_the_older(self, db, web, member, clock):
        user, _headers = member
        _ask(web, user.email)
        old = link_token(db, user, "password_reset")
        clock.shift(timedelta(minutes=5))
        _ask(web, user.email)
        new = link_token(db, user, "password_reset")
        with pytest.raises(links.LinkRefused):
            links.find_link(db, token=old, purpose=LinkPurpose.RESET)
        links.find_link(db, token=new, purpose=LinkPurpose.RESET)

    def test_requests_count_against_the_addresss_allowance(self, db, web, change_settings, member):
        change_settings(sign_in_max_per_address_per_minute=2)
        assert _ask(web, "a@example.org").status_code == 202
        assert _ask(web, "b@example.org").status_code == 202
        third = _ask(web, "c@example.org")
        assert third.status_code == 429 and int(third.headers["Retry-After"]) > 0
        assert third.json()["code"] == "too_many_attempts"


def signed_in_sessions(db, user):
    from app.access.models import WebSession

    return list(db.scalars(select(WebSession).where(WebSession.user_id == user.id)))


class TestWhoMayInvite:
    def _post(self, web, headers, **body):
        body = {"display_name": "Child A's new auditor", "roles": ["auditor"], **body}
        return web.post(f"{API}/invitations", json=body, headers=headers)

    def test_an_admin_invites_to_any_agency_and_admin_roles_wait_for_another(
        self, db, web, admin, token_for, police, clock
    ):
        r = self._post(
            web,
            token_for(admin),
            email="mo@example.org",
            roles=["moderator", "practitioner"],
            agency_id=police.id,
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["user"]["roles"] == ["practitioner"]
        assert body["user"]["pending_role_grant"]["roles"] == ["moderator", "practitioner"]
        assert body["user"]["has_password"] is False and body["again"] is False
        grant = db.scalar(select(RoleGrantRequest))
        assert grant.requested_by_id == admin.id
        assert len(emails(db, "invitation")) == 1

    def test_a_lead_invites_to_their_own_agency(self, db, web, make_user, token_for, police):
        lead = make_user(roles=(Role.AGENCY_LEAD,), agency=police)
        r = self._post(web, token_for(lead), email="new.auditor@example.org")
        assert r.status_code == 201, r.text
        assert r.json()["user"]["agency_id"] == police.id  # theirs, by default
        invited = db.scalar(select(User).where(User.email == "new.auditor@example.org"))
        assert invited.roles == {Role.AUDITOR}

    @pytest.mark.parametrize(
        ("roles", "other_agency", "field"),
        [
            (["auditor"], True, "agency_id"),
            (["admin"], False, "roles"),
            (["moderator"], False, "roles"),
            (["scrutineer", "auditor"], False, "roles"),
        ],
    )
    def test_a_lead_may_not_invite_elsewhere_or_give_other_roles(
        self, db, web, make_user, token_for, police, roles, other_agency, field
    ):
        lead = make_user(roles=(Role.AGENCY_LEAD,), agency=police)
        elsewhere = make_agency(db, name="Westshire Hospital")
        db.commit()
        agency = elsewhere.id if other_agency else police.id
        r = self._post(web, token_for(lead), email="x@example.org", roles=roles, agency_id=agency)
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "invite_refused"
        assert {e["field"] for e in r.json()["errors"]} == {field}
        assert db.scalar(select(User).where(User.email == "x@example.org")) is None
        assert emails(db, "invitation") == []

    @pytest.mark.parametrize("role", [Role.AUDITOR, Role.PRACTITIONER, Role.MODERATOR])
    def test_other_roles_may_not_invite(self, db, web, make_user, token_for, police, role):
        caller = make_user(roles=(role,), agency=police if role == Role.AUDITOR else None)
        r = self._post(web, token_for(caller), email="x@example.org", agency_id=police.id)
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
        assert db.scalar(select(User).where(User.email == "x@example.org")) is None

    def test_a_lead_cannot_reinvite_someone_of_another_agency(
        self, db, web, make_user, token_for, police, invite
    ):
        elsewhere = make_agency(db, name="Westshire Hospital")
        invite(email="theirs@example.org", roles=(Role.AUDITOR,), agency=elsewhere)
        lead = make_user(roles=(Role.AGENCY_LEAD,), agency=police)
        r = self._post(web, token_for(lead), email="theirs@example.org")
        assert r.status_code == 409

    def test_anonymous_gets_401(self, web):
        assert self._post(web, {}, email="x@example.org").status_code == 401


class TestEmails:
    def test_the_invitation_names_who_invited_the_agency_and_single_sign_on(
        self, db, invite, police, change_settings
    ):
        settings = change_settings(
            sso_providers=[
                SsoProvider(
                    key="westshire-police",
                    name="Westshire Police",
                    issuer="https://login.example.org/tenant/v2.0",
                    client_id="client",
                    domains={"police.example.org": "Police"},
                )
            ]
        )
        assert links.sso_provider_for("robin@Police.example.org", settings) is not None
        made = invite(email="robin@police.example.org", roles=(Role.AUDITOR,), agency=police)
        (sent,) = emails(db, "invitation", made.user)
        assert sent.email == "robin@police.example.org"
        assert "Test Person has invited you" in sent.body
        assert "for Police" in sent.body and "sign in with Westshire Police" in sent.body
        assert f"{settings.public_url}/invitation/" in sent.body
        assert "12:00pm on 9 December 2026" in sent.body  # 24 hours on, in England's time

    def test_the_link_is_taken_out_of_the_kept_copy_once_sent(self, db, invite):
        made = invite()
        token = link_token(db, made.user)
        sent: list[str] = []
        done = notifications.send_due(
            lambda: nullcontext(db),
            settings=Settings(database_url="sqlite://"),
            sender=("test", lambda n: sent.append(n.body)),
        )
        assert len(done.sent) == 1 and token in sent[0]  # it went, with its link
        (kept,) = emails(db, "invitation", made.user)
        assert kept.status == NotificationStatus.SENT
        assert token not in kept.body and notifications.LINK_REMOVED in kept.body
        links.find_link(db, token=token, purpose=LinkPurpose.INVITATION)  # and still works

    def test_the_audit_log_tells_the_story(self, db, invite, web, admin):
        first = db.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        made = invite()
        links.accept_invitation(db, token=link_token(db, made.user), password=NEW_PASSWORD)
        db.commit()
        _ask(web, made.user.email)
        _ask(web, "nobody@example.org")
        actions = [
            (e.action, e.object_id)
            for e in db.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.like("user.%"), AuditEvent.id > first.id)
                .order_by(AuditEvent.id)
            )
        ]
        assert actions == [
            ("user.create", made.user.id),
            ("user.invite", made.user.id),
            ("user.accept_invitation", made.user.id),
            ("user.reset_requested", made.user.id),
            ("user.reset_not_sent", None),
        ]
        accepted = _actions(db, "user.accept_invitation")[0]
        assert accepted.user_label == made.user.email  # as the person, not "anonymous"
