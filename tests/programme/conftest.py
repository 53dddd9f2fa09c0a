"""Fixtures for the programme's tests: a published template, agencies and a lead
subgroup to plan with, an entry factory, people browsing as a role, and the clock
pinned (the services that take ``today`` are given it; pages read the clock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
import time_machine

from app.access.models import Role
from app.agencies import service as agencies
from app.agencies.models import Agency, Subgroup
from app.audit_templates.models import TemplateVersion
from app.programme import service
from app.programme.models import ProgrammeEntry, Repeat
from tests.audit_tools.conftest import cli_migrated_db  # noqa: F401 (a fixture)
from tests.helpers.access import browse_as
from tests.helpers.factories import make_agency, make_person, make_template

TODAY = date(2026, 6, 10)
NOON = datetime(2026, 6, 10, 11, tzinfo=UTC)
APRIL = date(2026, 4, 1)


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@dataclass
class World:
    version: TemplateVersion
    agencies: list[Agency]
    qapp: Subgroup


@pytest.fixture
def world(db) -> World:
    version = make_template(db)
    made = World(
        version=version,
        agencies=[
            make_agency(db, name="Westshire Children's Social Care"),
            make_agency(db, name="Westshire Police"),
        ],
        qapp=agencies.create_subgroup(db, name="QAPP"),
    )
    db.commit()
    return made


def make_entry(db, world: World, **changes) -> ProgrammeEntry:
    """A monthly audit for the year from April 2026, of 10 cases, led by QAPP, unless
    ``changes`` say otherwise."""
    today = changes.pop("today", TODAY)
    fields = {
        "title": "Front Door referrals audit",
        "template_family_id": world.version.family_id,
        "first_month": APRIL,
        "repeat": Repeat.MONTHLY,
        "occurrences": 12,
        "lead_subgroup_id": world.qapp.id,
        "agency_ids": [a.id for a in world.agencies],
        "cohort_size": 10,
        **changes,
    }
    entry = service.create_entry(db, today=today, **fields)
    db.commit()
    return entry


@pytest.fixture
def browse(anonymous_client, db):
    """``browse(role)``: the client, signed in as a new person with ``role``; the shared
    session is read afresh before each request, as a request's own would be."""
    count = iter(range(1, 100))
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())

    def as_role(role: Role, agency: Agency | None = None):
        n = next(count)
        user = make_person(db, f"{role.value}.{n}@example.org", f"{role.value} {n}", role, agency)
        browse_as(anonymous_client, db, user)
        return anonymous_client

    return as_role
