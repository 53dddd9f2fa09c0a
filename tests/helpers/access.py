"""Signing in for real, as a browser does, in the access tests."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import service as access
from app.access.auth import SESSION_COOKIE
from app.access.models import Role, User, WebSession
from app.access.secrets import digest
from app.clock import utcnow

API = "/api/v1"
PASSWORD = "a long enough test passphrase 9"


def next_code(user: User) -> str:
    """A code the service will accept now: this time step, or the next one if this
    step's code was used already (the service allows one step of clock drift)."""
    totp = pyotp.TOTP(user.totp_secret)
    step = totp.timecode(utcnow())
    if user.totp_last_step is not None:
        step = max(step, user.totp_last_step + 1)
    return totp.generate_otp(step)


def start_sign_in(client, user: User, *, password: str = PASSWORD):
    return client.post(f"{API}/auth/sign-in", json={"email": user.email, "password": password})


def sign_in(client, user: User, *, password: str = PASSWORD) -> str:
    """Password, then an authenticator code; returns the CSRF token."""
    first = start_sign_in(client, user, password=password)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "second_factor_required"
    second = client.post(f"{API}/auth/second-factor", json={"code": next_code(user)})
    assert second.status_code == 200, second.text
    return second.json()["csrf_token"]


def csrf(token: str) -> dict:
    return {"X-CSRF-Token": token}


def cookie(client) -> str | None:
    return client.cookies.get(SESSION_COOKIE)


def web_session(db: Session, plain: str) -> WebSession | None:
    return db.scalar(select(WebSession).where(WebSession.token_hash == digest(plain)))


def token_holder(
    db: Session, role: Role, name: str, *, agency_id: int | None = None
) -> tuple[User, str]:
    """A new person called ``name`` (their address made from it) with ``role`` and a
    personal API token, committed so that requests see them: the user and the token."""
    user = access.create_user(
        db,
        email=f"{name.lower().replace(' ', '.')}@example.org",
        display_name=name,
        roles={role},
        agency_id=agency_id,
    )
    _row, plain = access.create_token(db, user=user, name="tests", days=1)
    db.commit()
    return user, plain


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def signed_in_cookie(db: Session, user: User) -> str:
    """A session cookie for ``user`` with both factors given, made directly in the
    database (for tests of what a signed-in browser may do, not of signing in)."""
    from datetime import timedelta

    from app.access.secrets import new_token

    token = new_token()
    now = utcnow()
    db.add(
        WebSession(
            token_hash=digest(token),
            user_id=user.id,
            expires_at=now + timedelta(hours=8),
            second_factor_at=now,
            last_seen_at=now,
        )
    )
    db.commit()
    return token


def browse_as(client, db: Session, user: User) -> None:
    """Make ``client`` a browser signed in as ``user`` (``signed_in_cookie``)."""
    client.cookies.set(SESSION_COOKIE, signed_in_cookie(db, user))


def enrolled_auditor(db: Session, *, email: str = "auditor@example.org"):
    """An auditor with a password and an authenticator, in the first agency of a new
    audit of two children and two agencies: (user, audit)."""
    from app.access import service as access
    from app.access.models import Role
    from tests.helpers.factories import make_audit

    audit = make_audit(db, children=2, agencies_count=2)
    agency = audit.agencies[0]
    user = access.create_user(
        db,
        email=email,
        display_name="Auditor",
        roles={Role.AUDITOR},
        agency_id=agency.id,
        password=PASSWORD,
    )
    user.totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    user.totp_confirmed_at = utcnow()
    db.commit()
    return user, audit


SIGN_IN_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def post_sign_in(browser, data: dict, **options):
    """Post the sign-in form as a browser does: shown first (which sets its cookie),
    then sent with the form's token."""
    shown = browser.get("/sign-in")
    token = SIGN_IN_TOKEN.search(shown.text)
    assert token, "the sign-in form carries a token"
    return browser.post("/sign-in", data={"csrf_token": token[1], **data}, **options)


def sign_in_with_the_form(browser, user: User) -> None:
    """Sign in through the pages (password, then code), going on to My work."""
    r = post_sign_in(
        browser,
        {"email": user.email, "password": PASSWORD, "next": "/my-work"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/sign-in/code")
    r = browser.post(
        "/sign-in/code", data={"code": next_code(user), "next": "/my-work"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/my-work"


def actor_of(user: User):
    """The actor ``user`` is when signed in, for calling the services directly."""
    from app.access.policy import Actor

    return Actor(
        user_id=user.id,
        label=user.email,
        roles=user.roles,
        agency_id=user.agency_id,
        name=user.display_name,
    )


def another_approver(db: Session, *, email: str = "second.approver@example.org") -> User:
    """A moderator who wrote nothing in the briefing under test, so may approve it:
    four eyes refuse its authors (tests/briefings/test_four_eyes.py)."""
    from app.access import service as access
    from app.access.models import Role

    return access.create_user(
        db, email=email, display_name="Second Approver", roles={Role.MODERATOR}
    )
