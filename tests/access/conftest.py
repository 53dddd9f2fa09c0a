"""Fixtures for the access tests: real people, signing in for real. (Their cheap
password hashing is tests/conftest.py's, as for every test.)"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pyotp
import pytest

from app.access import service as access
from app.access.models import Role
from app.clock import utcnow
from app.config import Settings
from tests.helpers.access import PASSWORD
from tests.helpers.app_client import AppClient
from tests.helpers.factories import make_agency

_seq = itertools.count(1)


@pytest.fixture
def web(anonymous_client, db) -> AppClient:
    """A browser: keeps its cookies, sees the database as a new request would."""
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    return anonymous_client


@pytest.fixture
def other_browser(app, anonymous_client, db) -> Iterator:
    """More browsers on the same app (and test transaction), from a given address and
    scheme: ``other_browser(address="203.0.113.7", https=True)``."""

    made: list[AppClient] = []

    def make(*, address: str = "testclient", https: bool = False) -> AppClient:
        client = AppClient(
            app,
            client=(address, 50000),
            base_url="https://testserver" if https else "http://testserver",
            raise_server_exceptions=False,
        )
        client.event_hooks["request"].append(lambda _request: db.expire_all())
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def settings(app) -> Settings:
    return app.state.settings


@pytest.fixture
def change_settings(app) -> Iterator:
    """Run the app with some settings changed for one test."""
    # Not monkeypatch: Starlette's State keeps attributes in a dict of its own, which
    # monkeypatch's undo deletes instead of restoring.
    original = app.state.settings

    def change(**values) -> Settings:
        app.state.settings = original.model_copy(update=values)
        return app.state.settings

    yield change
    app.state.settings = original


@pytest.fixture
def police(db):
    return make_agency(db, name="Police")


@pytest.fixture
def make_user(db):
    """A person with a password and, unless ``enrolled=False``, a confirmed authenticator.

    Committed (to the test's outer transaction): a request that fails rolls the shared
    session back to its last commit, which must not take the test's data with it.
    """

    def make(
        *,
        roles=(Role.MODERATOR,),
        agency=None,
        password: str | None = PASSWORD,
        enrolled: bool = True,
        email: str | None = None,
    ):
        user = access.create_user(
            db,
            email=email or f"person{next(_seq)}@example.org",
            display_name="Test Person",
            roles=set(roles),
            agency_id=agency.id if agency else None,
            password=password,
        )
        if enrolled:
            user.totp_secret = pyotp.random_base32()
            user.totp_confirmed_at = utcnow()
        db.commit()
        return user

    return make


@pytest.fixture
def token_for(db):
    """An API token for a person, as the Authorization header."""

    def make(user) -> dict:
        _row, plain = access.create_token(db, user=user, name="test", days=1)
        db.commit()
        return {"Authorization": f"Bearer {plain}"}

    return make
