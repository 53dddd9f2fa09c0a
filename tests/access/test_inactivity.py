"""Leavers: an account nobody uses is told, then disabled (app/access/leavers.py), on a
pinned clock. Default periods: told after 76 days unused, disabled after 90 and at
least 14 days after the notice. Signing in (or using a token) withdraws the notice;
the last active administrator is never disabled; running twice tells no one twice."""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import func, select

from app import clock
from app.access import leavers
from app.access import service as access
from app.access.models import ApiToken, Role, WebSession
from app.auditlog.models import AuditEvent
from app.config import Settings
from app.notifications import courier
from app.notifications.models import Notification
from tests.helpers.access import API, bearer, next_code, signed_in_cookie, start_sign_in

# Monday 4 January 2027, noon (in England, GMT): when the accounts are made.
MADE = datetime(2027, 1, 4, 12, tzinfo=UTC)
SETTINGS = Settings(database_url="sqlite://", public_url="https://case-audit.example.org")


def day(n: int) -> datetime:
    """Noon, n days after the accounts were made."""
    return MADE + timedelta(days=n)


@contextmanager
def on(when: datetime):
    with time_machine.travel(when, tick=False):
        yield


def run(db, when: datetime) -> leavers.Inactivity:
    with on(when):
        done = leavers.run_inactivity(db, today=clock.today(), settings=SETTINGS)
        db.flush()
        return done


def notices(db, user=None) -> list[Notification]:
    query = select(Notification).where(Notification.kind == leavers.NOTICE_KIND)
    if user is not None:
        query = query.where(Notification.user_id == user.id)
    return list(db.scalars(query.order_by(Notification.id)))


def person(db, email: str, *roles: Role):
    with on(MADE):
        user = access.create_user(
            db, email=email, display_name=email.split("@")[0].title(), roles=set(roles)
        )
        db.commit()
        return user


class TestNoticeThenDisable:
    def test_told_on_day_76_then_disabled_on_day_90(self, db):
        pat = person(db, "pat@example.org", Role.PRACTITIONER)
        with on(day(10)):
            cookie = signed_in_cookie(db, pat)  # a session, ended when it is disabled
        with on(MADE):
            access.create_token(db, user=pat, name="scripts", days=365)
            db.commit()

        assert run(db, day(75)).told == []
        told = run(db, day(76))
        assert [u.id for u in told.told] == [pat.id] and told.disabled == []
        assert told.disable_on == day(90).date()
        assert pat.inactivity_notice_at == day(76)
        (notice,) = notices(db, pat)
        assert notice.subject.endswith("account will be disabled on 4 April 2027")
        assert "not been used for 76 days" in notice.body
        assert "https://case-audit.example.org/sign-in" in notice.body
        assert pat.active

        assert run(db, day(89)).disabled == []  # 89 days unused: not yet
        done = run(db, day(90))
        assert [u.id for u in done.disabled] == [pat.id]
        db.expire_all()
        assert not pat.active and pat.disabled_reason == "inactive"
        assert db.scalar(select(WebSession.end_reason).where(WebSession.user_id == pat.id)) == (
            "access changed"
        )
        assert cookie
        assert db.scalar(select(ApiToken.revoked_at).where(ApiToken.user_id == pat.id)) == day(90)
        logged = db.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_type == "user", AuditEvent.object_id == pat.id
            )
        ).all()
        assert "user.inactivity_notice" in logged and "user.update" in logged
        assert len(notices(db, pat)) == 1  # disabling tells no one more

    def test_a_late_notice_still_gives_the_whole_notice_period(self, db):
        """A first run long after day 76 tells, and disables only 14 days later."""
        sam = person(db, "sam@example.org", Role.PRACTITIONER)
        late = run(db, day(120))
        assert [u.id for u in late.told] == [sam.id]
        assert late.disable_on == day(134).date()
        assert run(db, day(133)).disabled == []
        assert [u.id for u in run(db, day(134)).disabled] == [sam.id]

    def test_a_new_account_counts_from_when_it_was_made(self, db):
        person(db, "new@example.org", Role.PRACTITIONER)
        assert run(db, day(1)).told == [] and run(db, day(75)).told == []

    def test_a_disabled_account_is_left_alone(self, db):
        gone = person(db, "gone@example.org", Role.PRACTITIONER)
        access.update_user(db, user=gone, changes={"active": False})
        db.commit()
        assert run(db, day(200)).told == [] and notices(db) == []


class TestOnce:
    def test_running_twice_tells_once_and_disables_once(self, db):
        pat = person(db, "pat@example.org", Role.PRACTITIONER)
        first, second = run(db, day(76)), run(db, day(76) + timedelta(hours=3))
        assert len(first.told) == 1 and second.told == []
        assert len(notices(db, pat)) == 1
        assert len(run(db, day(90)).disabled) == 1 and run(db, day(90)).disabled == []
        updates = db.scalar(
            select(func.count()).where(
                AuditEvent.action == "user.update", AuditEvent.object_id == pat.id
            )
        )
        assert updates == 1

    def test_the_courier_runs_it_each_round(self, db):
        pat = person(db, "pat@example.org", Role.PRACTITIONER)
        sent: list[Notification] = []
        for _ in range(2):
            with on(day(76)):
                courier.run_round(
                    lambda: nullcontext(db), settings=SETTINGS, sender=("test", sent.append)
                )
        assert [(n.kind, n.user_id) for n in sent] == [(leavers.NOTICE_KIND, pat.id)]


class TestSigningInKeepsIt:
    def test_signing_in_withdraws_the_notice_and_starts_again(self, db, web, make_user):
        with on(MADE):
            alex = make_user(roles=(Role.PRACTITIONER,))
        assert len(run(db, day(80)).told) == 1
        with on(day(85)):
            assert start_sign_in(web, alex).status_code == 200
            db.expire_all()
            assert alex.inactivity_notice_at is not None  # the password alone is not a use
            code = web.post(f"{API}/auth/second-factor", json={"code": next_code(alex)})
            assert code.status_code == 200, code.text
        db.expire_all()
        assert alex.last_active_at == day(85) and alex.inactivity_notice_at is None
        assert run(db, day(94)).disabled == []  # past day 90: the use counts
        db.expire_all()
        assert alex.active
        # Unused again: a new notice 76 days after the sign-in, then disabled.
        assert run(db, day(85 + 75)).told == []
        assert len(run(db, day(85 + 76)).told) == 1
        assert len(run(db, day(85 + 90)).disabled) == 1
        assert len(notices(db, alex)) == 2

    def test_a_tokens_use_counts_at_most_hourly(self, db, anonymous_client):
        robin = person(db, "robin@example.org", Role.MODERATOR)
        with on(MADE):
            _row, plain = access.create_token(db, user=robin, name="scripts", days=365)
            db.commit()
        run(db, day(80))
        with on(day(81)):
            assert anonymous_client.get(f"{API}/auth/me", headers=bearer(plain)).is_success
        db.expire_all()
        assert robin.last_active_at == day(81) and robin.inactivity_notice_at is None
        with on(day(81) + timedelta(minutes=59)):
            anonymous_client.get(f"{API}/auth/me", headers=bearer(plain))
        db.expire_all()
        assert robin.last_active_at == day(81)  # not written again within the hour
        with on(day(81) + timedelta(minutes=61)):
            anonymous_client.get(f"{API}/auth/me", headers=bearer(plain))
        db.expire_all()
        assert robin.last_active_at == day(81) + timedelta(minutes=61)
        assert run(db, day(100)).disabled == []

    def test_enabling_an_account_again_counts_as_a_use(self, db):
        pat = person(db, "pat@example.org", Role.PRACTITIONER)
        run(db, day(76))
        run(db, day(90))
        assert not pat.active
        with on(day(100)):
            access.update_user(db, user=pat, changes={"active": True})
            db.commit()
        assert pat.last_active_at == day(100)
        assert pat.disabled_reason is None and pat.inactivity_notice_at is None
        assert run(db, day(101)).disabled == [] and run(db, day(101)).told == []


class TestLastAdministrator:
    def test_the_last_active_administrator_is_told_but_never_disabled(self, db):
        admin = person(db, "admin@example.org", Role.ADMIN)
        assert len(run(db, day(76)).told) == 1
        done = run(db, day(90))
        assert done.disabled == [] and [u.id for u in done.kept] == [admin.id]
        assert admin.active
        assert run(db, day(200)).disabled == []

    def test_of_two_unused_administrators_one_is_kept(self, db):
        first = person(db, "first@example.org", Role.ADMIN)
        second = person(db, "second@example.org", Role.ADMIN)
        run(db, day(76))
        done = run(db, day(90))
        assert [u.id for u in done.disabled] == [first.id]
        assert [u.id for u in done.kept] == [second.id]
        assert second.active and not first.active
