"""The sign-in throttle's two limits: passwords checked per client address, whatever
the account (password spraying), and failures per (account, address); a refused
attempt checks no password and says when to try again; both hold under parallel
attempts from two workers on PostgreSQL. (The per-pair lockout's basics are in
tests/access/test_sign_in.py, TestLockout.)"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.access import service as access
from app.access import signin
from app.access.models import Role, SignInAttempt, SignInThrottle, WebSession
from app.auditlog.models import AuditEvent
from app.db import make_engine, make_sessionmaker, open_session, session_scope
from tests.conftest import BACKEND
from tests.helpers.access import API, PASSWORD, post_sign_in, start_sign_in

# 09:00 in London on a day of Greenwich Mean Time: the page's times read as UTC's.
NINE = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NINE, tick=False) as traveller:
        yield traveller


@pytest.fixture
def checked(monkeypatch) -> list[str]:
    """The passwords whose hash was actually checked (argon2's cost paid), in order."""
    seen: list[str] = []
    real = signin.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        seen.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(signin, "verify_password", counting)
    return seen


def attempt(client, email: str, password: str = "not the password 123"):
    return client.post(f"{API}/auth/sign-in", json={"email": email, "password": password})


def _refusals(db) -> list[AuditEvent]:
    return list(
        db.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "auth.sign_in_failed")
            .order_by(AuditEvent.id)
        )
    )


def _reasons(db) -> list[str]:
    return [event.after["reason"] for event in _refusals(db)]


class TestPerAddress:
    def test_spraying_gets_ten_passwords_checked_a_minute(
        self, clock, web, make_user, checked, settings
    ):
        """The tester's 28 wrong passwords over 7 accounts from one address: 4 each,
        under the per-account limit, so only the address's limit can stop them."""
        assert settings.sign_in_max_per_address_per_minute == 10
        emails = [make_user().email for _ in range(7)]
        answers = [attempt(web, email) for _ in range(4) for email in emails]
        assert [r.status_code for r in answers] == [401] * 10 + [429] * 18
        assert len(checked) == 10
        for refused in answers[10:]:
            assert refused.json()["code"] == "too_many_attempts"
            assert refused.json()["retry_after"] == 60
            assert refused.headers["Retry-After"] == "60"
        assert answers[-1].json()["detail"] == (
            "There have been too many attempts to sign in from your network. "
            "Try again in 1 minute, at 9:01am."
        )
        clock.shift(59)
        assert attempt(web, emails[0]).status_code == 429
        clock.shift(1)
        assert attempt(web, emails[0]).status_code == 401
        assert len(checked) == 11

    def test_the_minute_slides(self, clock, web, make_user, checked):
        email = make_user().email
        others = [make_user().email for _ in range(3)]
        for n in range(5):  # under the per-account limit: one account at a time
            attempt(web, [email, *others][n % 4])
        clock.shift(30)
        for n in range(5):
            attempt(web, [email, *others][n % 4])
        clock.shift(29)  # 09:00:59: all ten are still within the last minute
        r = attempt(web, others[0])
        assert r.status_code == 429 and r.json()["retry_after"] == 1
        clock.shift(1)  # 09:01:00: the first five have left the window, five remain
        assert [attempt(web, others[n % 3]).status_code for n in range(6)] == [401] * 5 + [429]
        # The next to leave are those of 09:00:30.
        assert attempt(web, others[1]).json()["retry_after"] == 30
        assert len(checked) == 15

    def test_right_passwords_count_too_and_are_refused_at_the_limit(
        self, clock, db, web, make_user, checked
    ):
        user = make_user()
        assert [start_sign_in(web, user).status_code for _ in range(10)] == [200] * 10
        r = start_sign_in(web, user)
        assert r.status_code == 429 and "set-cookie" not in r.headers
        assert len(checked) == 10
        sessions = db.scalar(
            select(func.count()).select_from(WebSession).where(WebSession.user_id == user.id)
        )
        assert sessions == 10

    def test_another_address_is_not_held_back(self, clock, web, make_user, other_browser):
        user = make_user()
        for _ in range(10):
            attempt(web, f"nobody{_}@example.org")
        assert start_sign_in(web, user).status_code == 429
        elsewhere = other_browser(address="203.0.113.7")  # documentation range (RFC 5737)
        assert start_sign_in(elsewhere, user).status_code == 200

    def test_an_ipv6_network_of_64_bits_counts_as_one_address(
        self, clock, db, web, make_user, other_browser, checked
    ):
        """Whoever is given an IPv6 address has its whole /64 (2^64 addresses): counted
        one by one, each would have an allowance of its own. Documentation prefixes
        (RFC 3849 for IPv6, RFC 5737 for IPv4)."""
        user = make_user()
        for n in range(10):
            attempt(other_browser(address=f"2001:db8:1:2::{n + 1:x}"), f"nobody{n}@example.org")
        assert len(checked) == 10
        same_network = other_browser(address="2001:db8:1:2:ffff:ffff:ffff:fffe")
        assert start_sign_in(same_network, user).status_code == 429
        next_network = other_browser(address="2001:db8:1:3::1")
        assert start_sign_in(next_network, user).status_code == 200
        assert len(checked) == 11
        # The web session keeps the address itself, not its network.
        started = db.scalar(select(WebSession.client_address).where(WebSession.user_id == user.id))
        assert started == "2001:db8:1:3::1"

    def test_what_an_address_is_counted_as(self):
        assert signin.counted_as("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
        assert signin.counted_as("2001:DB8:1:2::7") == "2001:db8:1:2::/64"
        assert signin.counted_as("::ffff:203.0.113.7") == "203.0.113.7"
        assert signin.counted_as("203.0.113.7") == "203.0.113.7"
        assert signin.counted_as("testclient") == "testclient"
        assert signin.counted_as("") == ""

    def test_the_refusal_is_logged_and_checks_no_password(self, clock, db, web, checked):
        for n in range(11):
            attempt(web, f"nobody{n}@example.org")
        assert len(checked) == 10
        assert _reasons(db) == ["unknown account"] * 10 + ["too many from the address"]
        event = _refusals(db)[-1]
        assert event.after["account"] == "nobody10@example.org"
        assert event.after["locked_until"] == "2026-11-23T09:01:00+00:00"

    def test_the_allowance_is_a_setting(self, clock, web, change_settings, checked):
        change_settings(sign_in_max_per_address_per_minute=3)
        codes = [attempt(web, f"nobody{n}@example.org").status_code for n in range(5)]
        assert codes == [401] * 3 + [429] * 2
        assert len(checked) == 3


class TestPerAccountAndAddress:
    def test_a_locked_pair_checks_no_password(self, clock, web, make_user, checked, settings):
        user = make_user()
        for _ in range(settings.sign_in_max_failures):
            attempt(web, user.email)
        r = start_sign_in(web, user)  # the right password, not even checked
        assert r.status_code == 429 and len(checked) == settings.sign_in_max_failures
        minutes = settings.sign_in_lockout_minutes
        assert r.json()["retry_after"] == minutes * 60
        assert r.json()["detail"] == (
            "There have been too many attempts to sign in to this account. "
            f"Try again in {minutes} minutes, at 9:{minutes:02d}am."
        )

    def test_the_later_of_the_two_limits_is_the_one_given(self, clock, db, web, make_user):
        locked, other = make_user(), make_user()
        for _ in range(5):
            attempt(web, locked.email)  # locked here for 15 minutes
        for _ in range(5):
            attempt(web, other.email)  # and the address has had its ten
        assert attempt(web, locked.email).json()["retry_after"] == 15 * 60
        assert attempt(web, "nobody@example.org").json()["retry_after"] == 60
        assert _reasons(db)[-2:] == ["locked", "too many from the address"]

    def test_attempts_from_many_addresses_each_count_for_their_own_pair(
        self, clock, web, make_user, other_browser, checked
    ):
        user = make_user()
        for n in range(3):
            browser = other_browser(address=f"198.51.100.{n + 1}")  # RFC 5737 range
            codes = [attempt(browser, user.email).status_code for _ in range(6)]
            assert codes == [401] * 5 + [429]
        assert len(checked) == 15


class TestKeptNoLongerThanOfUse:
    def test_rows_that_limit_nothing_are_removed_at_a_later_sign_in(
        self, clock, db, web, make_user, other_browser, settings
    ):
        user = make_user()
        for _ in range(3):
            attempt(web, user.email)
        attempt(other_browser(address="192.0.2.9"), "nobody@example.org")  # RFC 5737
        assert db.scalar(select(func.count()).select_from(SignInAttempt)) == 4
        assert db.scalar(select(func.count()).select_from(SignInThrottle)) == 2

        clock.shift(61)
        attempt(web, "someone.else@example.org")
        # The attempts of a minute ago are gone; the pairs' windows are still open.
        assert db.scalars(select(SignInAttempt.attempted_at)).all() == [
            NINE + timedelta(seconds=61)
        ]
        assert db.scalar(select(func.count()).select_from(SignInThrottle)) == 3

        clock.shift(settings.sign_in_lockout_minutes * 60)
        attempt(web, "someone.else@example.org")
        # Only the pair counted just now is left: it was over too, and counted afresh.
        (row,) = db.scalars(select(SignInThrottle)).all()
        assert (row.account, row.failures) == ("someone.else@example.org", 1)
        assert db.scalar(select(func.count()).select_from(SignInAttempt)) == 1


class TestThePage:
    def test_the_sign_in_page_says_when_to_try_again(self, clock, web, make_user):
        for n in range(10):
            attempt(web, f"nobody{n}@example.org")
        user = make_user()
        r = post_sign_in(web, {"email": user.email, "password": PASSWORD})
        assert r.status_code == 429 and r.headers["Retry-After"] == "60"
        assert "There is a problem" in r.text
        assert "Try again in 1 minute, at 9:01am." in r.text


# --- in parallel, on PostgreSQL ------------------------------------------------------


@pytest.mark.skipif(
    BACKEND != "postgresql", reason="SQLite runs writers one at a time (BEGIN IMMEDIATE)"
)
class TestInParallel:
    """40 attempts at once through two workers' own connection pools (two engines, as
    two server processes have), each a real sign-in committed as the route commits it.
    The check is slowed a little, as argon2 is in production, so that they overlap."""

    ADDRESS = "192.0.2.40"  # documentation range (RFC 5737)

    @pytest.fixture
    def url(self, migrated_engine) -> str:
        engine = migrated_engine()
        with session_scope(make_sessionmaker(engine)) as session:
            for n in range(8):
                access.create_user(
                    session,
                    email=f"person{n}@example.org",
                    display_name=f"Person {n}",
                    roles={Role.MODERATOR},
                    password=PASSWORD,
                )
        return engine.url.render_as_string(hide_password=False)

    @pytest.fixture
    def checked(self, monkeypatch) -> Counter:
        """Passwords checked, by account (each attempt's password names its account)."""
        seen: Counter = Counter()
        guard = threading.Lock()
        real = signin.verify_password

        def counting(password_hash: str | None, password: str) -> bool:
            with guard:
                seen[password] += 1
            time.sleep(0.02)
            return real(password_hash, password)

        monkeypatch.setattr(signin, "verify_password", counting)
        return seen

    def run(self, url: str, settings, emails: list[str]) -> Counter:
        """Each email tried once, all at once, alternately through two workers."""
        engines = [make_engine(url), make_engine(url)]
        factories = [make_sessionmaker(engine) for engine in engines]
        start = threading.Barrier(len(emails))

        def one(n: int) -> str:
            session = open_session(factories[n % 2], write=True)
            try:
                start.wait()
                signin.sign_in(
                    session,
                    email=emails[n],
                    password=f"wrong for {emails[n]}",
                    client_address=self.ADDRESS,
                    user_agent="test",
                    settings=settings,
                )
                outcome = "signed in"
            except (signin.SignInRefused, signin.TooManyAttempts) as exc:
                outcome = exc.code
            session.commit()  # a refusal is kept, as the sign-in routes keep it
            session.close()
            return outcome

        try:
            with ThreadPoolExecutor(len(emails)) as pool:
                return Counter(pool.map(one, range(len(emails))))
        finally:
            for engine in engines:
                engine.dispose()

    def test_one_account_gets_five_passwords_checked(self, url, settings, checked):
        outcomes = self.run(url, settings, ["person0@example.org"] * 40)
        assert outcomes == {"sign_in_refused": 5, "too_many_attempts": 35}
        assert checked == {"wrong for person0@example.org": 5}

    def test_one_address_gets_ten_passwords_checked_over_many_accounts(
        self, url, settings, checked
    ):
        emails = [f"person{n % 8}@example.org" for n in range(40)]  # five each
        outcomes = self.run(url, settings, emails)
        assert outcomes == {"sign_in_refused": 10, "too_many_attempts": 30}
        assert sum(checked.values()) == 10
        assert max(checked.values()) <= 5
