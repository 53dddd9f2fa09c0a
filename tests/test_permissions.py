"""Generated from the app's own route table: every route, for every role.

A route with no rule in app.access.rules fails here; so does a route with a body
but no sample body below (its schema must be valid for the request to reach the
permission check, which runs after FastAPI has parsed the body).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from app.access.policy import ROLE_PERMISSIONS, Permission
from app.access.rules import ROUTE_RULES
from app.config import Settings
from app.main import create_app
from tests.helpers.permissions import BUILT_IN, api_routes, people
from tests.helpers.sessions import rolled_back, rolled_back_session

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SAMPLE_BODIES: dict[str, object] = {
    "api.agencies.create": {"name": "New agency", "kind": "police"},
    "api.agencies.update": {},
    "api.subgroups.create": {"name": "New subgroup"},
    "api.subgroups.update": {},
    "api.templates.create": {"name": "New template"},
    "api.template_versions.update": {},
    "api.template_versions.scale": {
        "name": "Two",
        "levels": [{"code": "A", "label": "A"}, {"code": "B", "label": "B"}],
    },
    "api.key_areas.create": {"title": "New area"},
    "api.key_areas.update": {},
    "api.questions.create": {"prompt": "New?", "type": "free_text"},
    "api.questions.update": {},
    "api.questions.create_case": {"prompt": "What difference?", "type": "free_text"},
    "api.audits.create": {"template_version_id": 1, "title": "New audit"},
    "api.audits.update": {},
    "api.audits.agencies": {"agency_ids": []},
    "api.audits.open": {"confirm": True},
    "api.audits.close": {"reason": "The learning is done."},
    "api.audits.reopen": {"reason": "An action needs another look."},
    "api.children.create": {"pseudonym": "Child Z"},
    "api.children.update": {},
    "api.involvements.create": {"child_id": 1, "agency_id": 1},
    "api.returns.save_draft": {"version": 1},
    "api.returns.submit": {"version": 1},
    "api.returns.reopen": {"version": 1, "note": "Please add the dates."},
    "api.returns.assign": {"auditor_id": None},
    "api.returns.sign_off": {"version": 1},
    "api.moderation.decide": {"return_id": 1, "level": "G"},
    "api.moderation.exclude": {"reason": "Not received in time"},
    "api.moderation.include": {"reason": "Arrived after all"},
    "api.themes.create": {"name": "New theme"},
    "api.identify.allow": {"term": "Wyre Forest"},
    "api.identify.try": {"text": "The strategy discussion was timely."},
    "api.themes.update": {},
    "api.findings.create": {"kind": "good_practice", "statement": "Strategy minutes were shared."},
    "api.findings.update": {},
    "api.actions.create": {
        "audit_id": 1,
        "title": "New action",
        "owning_agency_id": 1,
        "owner_name": "A Person",
        "due_on": "2027-01-31",
        "success_measure": "An audit of ten cases shows it.",
    },
    "api.actions.update": {},
    "api.actions.change_status": {"status": "agreed"},
    "api.actions.add_note": {"note": "Training booked."},
    "api.briefings.approve": {"check_read": True},
    "api.briefings.suppress_table": {"table": "children-by-age-band"},
    "api.briefings.pack_create": {
        "title": "Inspection readiness",
        "marking": "OFFICIAL",
        "period_from": "2025-04-01",
        "period_to": "2026-03-31",
    },
    "api.briefings.create": {
        "kind": "briefing",
        "title": "Learning from the audit",
        "marking": "OFFICIAL",
        "public": False,
    },
    "api.briefings.save": {"lock_version": 1, "marking": "OFFICIAL", "sections": {}},
    "api.briefings.submit": {"confirm_small_counts": False},
    "api.briefings.send_back": {"note": "Shorten the findings."},
    "api.briefings.publish": {},
    "api.briefings.withdraw": {"reason": "Superseded by new guidance."},
    "api.briefings.assurance_launch": {"due_on": "2099-01-31"},
    "api.briefings.assurance_save": {"version": 1},
    "api.briefings.assurance_submit": {"version": 1},
    "api.library.feedback": {"useful": True, "comment": "Clear and short."},
    "api.notifications.follow": {"theme_ids": []},
    "api.auth.sign_in": {"email": "nobody@example.org", "password": "not the password"},
    "api.auth.second_factor": {"code": "000000"},
    "api.auth.enrol": {"code": "000000"},
    "api.auth.create_token": {"name": "script", "days": 1},
    "api.users.create": {
        "email": "new@example.org",
        "display_name": "New",
        "roles": ["practitioner"],
    },
    "api.users.update": {},
    "api.users.reset_password": {"password": "a long enough new passphrase"},
    "api.role_grants.decide": {"decision": "approve"},
    "api.children.draw": {"eligible": 40, "count": 3, "seed": "permissions"},
    "api.registrations.decide": {"decision": "refuse", "reason": "Not known to us."},
    "api.invitations.create": {
        "email": "invited@example.org",
        "display_name": "Invited",
        "roles": ["practitioner"],
    },
    "api.auth.password_reset": {"email": "nobody@example.org"},
    "api.programme.create": {
        "title": "Front Door referrals audit",
        "template_family_id": 1,
        "first_month": "2026-04-01",
    },
    "api.programme.update": {},
    "api.programme.link": {"audit_id": 1},
}

# Only the route table is read: the engine never connects.
ROUTES = api_routes(
    create_app(Settings(database_url=f"sqlite:///{tempfile.gettempdir()}/case-audit-routes.db"))
)
CASES = [(route, method) for route in ROUTES for method in sorted(route.methods - {"HEAD"})]


def test_every_route_has_a_rule():
    missing = sorted({r.name for r in ROUTES} - set(ROUTE_RULES) - BUILT_IN)
    assert missing == [], f"routes without an access rule: {missing}"


def test_route_names_are_unique():
    # The rules table is keyed by name: two routes sharing one would share a rule.
    names = [r.name for r in ROUTES]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_every_rule_names_a_route():
    assert sorted(set(ROUTE_RULES) - {r.name for r in ROUTES}) == []


def _code(response) -> str | None:
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        return body.get("code") if isinstance(body, dict) else None
    return None


# Path parameters that are not ids, with a value the route accepts.
SAMPLE_PATH = {"kind": "csv", "month": "2026-04"}


def _request(client, route, method, headers):
    path = re.sub(r"\{([^}]+)\}", lambda m: SAMPLE_PATH.get(m.group(1), "1"), route.path)
    kwargs: dict = {"headers": dict(headers), "follow_redirects": False}
    if route.body_field is not None:
        assert route.name in SAMPLE_BODIES, f"add a sample body for {route.name}"
        kwargs["json"] = SAMPLE_BODIES[route.name]
    elif route.name == "api.templates.import":
        kwargs["content"] = "format: case-audit-template/1\nname: X\nkey_areas: []\n"
        kwargs["headers"]["Content-Type"] = "application/yaml"
    elif route.name == "api.templates.import_workbook":
        kwargs["content"] = b"PK\x03\x04 not a whole workbook"
        kwargs["headers"]["Content-Type"] = XLSX_MEDIA_TYPE
    return client.request(method, path, **kwargs)


def _refused(response, route) -> str | None:
    """How the permission check refused, if it did: "forbidden" or "not_signed_in".
    The API answers JSON codes; pages answer a 403 page or a redirect to sign in."""
    if route.path.startswith("/api/"):
        code = _code(response)
        return code if code in ("forbidden", "not_signed_in") else None
    if response.status_code == 403:
        return "forbidden"
    if response.status_code == 303 and response.headers["location"].startswith("/sign-in?"):
        return "not_signed_in"
    return None


@pytest.fixture(scope="module")
def everyone(engine) -> Iterator[tuple[Connection, dict[str, tuple[set, dict]]]]:
    """One person per role, made once for the module in a transaction rolled back at
    the end: the connection, and each role's (roles, request headers)."""
    with rolled_back(engine) as connection, rolled_back_session(connection) as session:
        made = {
            role: (set(person["user"].roles), person["headers"])
            for role, person in people(session).items()
        }
        yield connection, made


@pytest.fixture
def db(everyone) -> Iterator[Session]:
    """Each request's writes rolled back after the test; the people kept."""
    with rolled_back_session(everyone[0]) as session:
        yield session


@pytest.mark.parametrize(("route", "method"), CASES, ids=[f"{m} {r.path}" for r, m in CASES])
def test_each_role_gets_exactly_what_the_rule_allows(anonymous_client, everyone, route, method):
    rule = ROUTE_RULES[route.name]
    for role, (roles, headers) in everyone[1].items():
        response = _request(anonymous_client, route, method, headers)
        allowed = rule == Permission.PUBLIC or any(rule in ROLE_PERMISSIONS[r] for r in roles)
        if allowed:
            assert _refused(response, route) is None, (role, response.text)
            assert response.status_code < 500, (role, response.text)
        else:
            assert response.status_code == 403, (role, response.status_code, response.text)
    anonymous = _request(anonymous_client, route, method, {})
    assert anonymous.status_code < 500
    if rule == Permission.PUBLIC:
        # Signing in may refuse (401, with its own code); the permission check may not.
        assert _refused(anonymous, route) is None, anonymous.text
    else:
        assert _refused(anonymous, route) == "not_signed_in", anonymous.text
