"""Every page about one audit shows where it is in its life and the tabs of its pages
that the viewer may use (app/audits/stage.py, templates/audits/_audit_nav.html)."""

from __future__ import annotations

import re

import pytest

from app.access import service as access
from app.access.models import Role
from app.access.policy import Actor
from app.audits import stage
from app.audits.models import AuditStatus
from tests.helpers.access import browse_as
from tests.helpers.factories import make_audit

NAV = re.compile(r'<nav class="app-sub-navigation" aria-label="This audit">(.*?)</nav>', re.S)
TAB = re.compile(r'href="([^"]+)"(?: aria-current="page")?>([^<]+)</a>')
CURRENT_TAB = re.compile(r'aria-current="page">([^<]+)</a>')
CURRENT_STAGE = re.compile(r'aria-current="step">\s*([^<]+?)\s*<')


@pytest.fixture
def audit(db):
    return make_audit(db, children=1, agencies_count=2)


def at(db, audit, status: AuditStatus):
    audit.status = status
    db.commit()
    return audit


def as_role(client, db, role: Role, agency_id=None):
    user = access.create_user(
        db,
        email=f"{role.value}@example.org",
        display_name=role.value,
        roles={role},
        agency_id=agency_id,
    )
    browse_as(client, db, user)
    return client


def tabs(html: str) -> dict[str, str]:
    found = NAV.search(html)
    assert found, "no audit navigation"
    return {label: href for href, label in TAB.findall(found.group(1))}


def test_stages_are_done_current_and_to_come(audit):
    audit.status = AuditStatus.MODERATION
    assert [(s.label, s.state) for s in stage.stages(audit)] == [
        ("Planned", "done"),
        ("Open for returns", "done"),
        ("Moderation", "current"),
        ("Learning", "to_come"),
        ("Closed", "to_come"),
    ]


def test_in_learning_a_moderator_finds_every_tab(anonymous_client, db, audit):
    at(db, audit, AuditStatus.LEARNING)
    client = as_role(anonymous_client, db, Role.MODERATOR)
    page = client.get(f"/audits/{audit.id}").text
    assert tabs(page) == {
        "Overview": f"/audits/{audit.id}",
        "Returns": f"/audits/{audit.id}/returns",
        "Moderation": f"/audits/{audit.id}/moderation",
        "Findings": f"/audits/{audit.id}/findings",
        "Actions": f"/actions?audit_id={audit.id}",
        "Briefings": f"/briefings?audit_id={audit.id}",
        "Analytics": f"/audits/{audit.id}/moderation/analytics",
    }
    assert CURRENT_TAB.findall(page) == ["Overview"]
    assert CURRENT_STAGE.findall(page) == ["Learning"]
    # Each tab's page shows the same navigation, itself current.
    for label in ("Returns", "Findings", "Actions", "Briefings"):
        shown = client.get(tabs(page)[label])
        assert shown.status_code == 200, label
        assert CURRENT_TAB.findall(shown.text) == [label]
        assert CURRENT_STAGE.findall(shown.text) == ["Learning"]


def test_an_admin_sees_no_returns_or_grid(anonymous_client, db, audit):
    at(db, audit, AuditStatus.LEARNING)
    client = as_role(anonymous_client, db, Role.ADMIN)
    assert list(tabs(client.get(f"/audits/{audit.id}").text)) == [
        "Overview",
        "Findings",
        "Actions",
        "Briefings",
        "Analytics",
    ]


def test_a_scrutineer_finds_the_published_briefings(anonymous_client, db, audit):
    at(db, audit, AuditStatus.CLOSED)
    client = as_role(anonymous_client, db, Role.SCRUTINEER)
    page = client.get(f"/audits/{audit.id}").text
    assert tabs(page)["Briefings"] == f"/library?audit_id={audit.id}"
    assert CURRENT_STAGE.findall(page) == ["Closed"]


def test_an_auditor_sees_the_grid_only_while_in_moderation(anonymous_client, db, audit):
    at(db, audit, AuditStatus.OPEN)
    client = as_role(anonymous_client, db, Role.AUDITOR, agency_id=audit.agencies[0].id)
    page = client.get(f"/audits/{audit.id}").text
    assert list(tabs(page)) == ["Overview", "Returns", "Findings", "Actions"]
    at(db, audit, AuditStatus.MODERATION)
    assert "Moderation" in tabs(client.get(f"/audits/{audit.id}").text)


def test_a_planned_audit_has_only_its_overview(anonymous_client, db):
    planned = make_audit(db, open_=False)
    db.commit()
    client = as_role(anonymous_client, db, Role.ADMIN)
    for path in (f"/audits/{planned.id}", f"/admin/audits/{planned.id}"):
        page = client.get(path).text
        assert list(tabs(page)) == ["Overview"]
        assert CURRENT_STAGE.findall(page) == ["Planned"]


@pytest.mark.parametrize(
    ("route", "current"),
    [
        ("moderation.workspace", "Moderation"),
        ("moderation.meeting", "Moderation"),  # any moderation page but the analytics
        ("moderation.audit_analytics", "Analytics"),
        ("findings.list", "Findings"),
        ("briefings.new", "Briefings"),
        ("audits.plan", None),
    ],
)
def test_the_closest_tab_is_current(audit, route, current):
    audit.status = AuditStatus.LEARNING
    moderator = Actor(user_id=1, label="m", roles=frozenset({Role.MODERATOR}))
    found = [t.label for t in stage.tabs(moderator, audit, route) if t.current]
    assert found == ([current] if current else [])
