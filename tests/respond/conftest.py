"""Fixtures for the one-time links of people without an account (app/respond/): a
family survey of a small audit on the shipped family feedback survey, an
administrator, and a browser with no one signed in. The clock is pinned at noon."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role, User
from app.audit_templates import files
from app.audit_templates import service as templates
from app.audit_templates.models import TemplateVersion
from app.audits.models import Audit, Child
from app.config import Settings
from app.respond import service, survey
from app.returns.models import Return
from tests.helpers.access import actor_of
from tests.helpers.app_client import AppClient
from tests.helpers.factories import make_audit
from tests.helpers.links import NOON

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def settings(app) -> Settings:
    return app.state.settings


@pytest.fixture
def web(anonymous_client, db) -> AppClient:
    """A browser with no one signed in: it keeps its cookies, and sees the database as
    a new request would."""
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    return anonymous_client


def shipped(db, slug: str) -> TemplateVersion:
    """A template of the library, imported and published."""
    path = next(p for p in files.library_files() if p.stem == slug)
    draft = files.import_text(db, text=path.read_text(encoding="utf-8"))
    published = templates.publish(db, version=draft)
    return templates.get_version(db, version_id=published.id)


@pytest.fixture
def admin(db) -> User:
    user = access.create_user(
        db, email="alex.admin@example.org", display_name="Alex Admin", roles={Role.ADMIN}
    )
    db.commit()
    return user


@dataclass
class Survey:
    source: Audit
    survey: Audit
    version: TemplateVersion

    def return_for(self, db, pseudonym: str = "Child A") -> Return:
        return db.scalar(
            select(Return)
            .join(Child, Child.id == Return.child_id)
            .where(Return.audit_id == self.survey.id, Child.pseudonym == pseudonym)
        )


@pytest.fixture
def family_survey(db) -> Survey:
    """A family survey (the shipped one) of an open audit of three children and two
    agencies, carried by the first agency, opened."""
    version = shipped(db, "family-feedback-survey")
    source = make_audit(db, children=3, agencies_count=2)
    made = survey.create_survey(
        db,
        audit=source,
        template_version_id=version.id,
        agency_id=source.agencies[0].id,
        returns_due_on=NOON.date() + timedelta(days=21),
        today=NOON.date(),
    )
    db.commit()
    return Survey(source, made, version)


def issue(db, audit: Audit, return_: Return, by: User, settings: Settings):
    """A link for ``return_`` made by ``by``: (the link, its token)."""
    link, token = service.issue(
        db, audit=audit, return_id=return_.id, actor=actor_of(by), settings=settings
    )
    db.commit()
    return link, token


def form_fields(page: str, **fields) -> dict:
    """The respondent's form as its page holds it (the link's token, the version)."""
    return {
        "csrf_token": CSRF.search(page).group(1),
        "version": VERSION.search(page).group(1),
        **fields,
    }


def answered(version: TemplateVersion, *, answer: str = "yes", words: str = "") -> dict:
    """Every question of the family survey answered: ``answer`` to each yes/partly/no
    question, ``words`` in the free-text one."""
    fields = {}
    for key_area in version.key_areas:
        for question in key_area.questions:
            if question.answer_type.value == "free_text":
                fields[f"q-{question.id}"] = words
            else:
                fields[f"q-{question.id}"] = answer
    return fields


@pytest.fixture
def other_browser(app, db) -> Iterator:
    """Another browser on the same app (and test transaction), from ``address``."""
    made: list[AppClient] = []

    def make(*, address: str) -> AppClient:
        client = AppClient(app, client=(address, 50000), raise_server_exceptions=False)
        client.event_hooks["request"].append(lambda _request: db.expire_all())
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
