"""Need-to-know across agencies: what an auditor of another agency cannot see answers
404 on every route that takes its id, and is never listed, counted or found."""

from __future__ import annotations

import re
import tempfile
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.access.policy import ROLE_PERMISSIONS, Actor, per_scope
from app.access.rules import ROUTE_RULES
from app.audits import cohort, lifecycle
from app.audits import service as audits
from app.config import Settings
from app.main import create_app
from app.returns.models import Return
from tests.helpers.factories import make_agency, make_template
from tests.helpers.permissions import api_routes
from tests.test_permissions import SAMPLE_BODIES, SAMPLE_PATH

ROUTES = api_routes(
    create_app(Settings(database_url=f"sqlite:///{tempfile.gettempdir()}/case-audit-routes.db"))
)
AGENCY_SCOPED = {"audit_id", "return_id", "child_id", "involvement_id"}


def _auditor(db, email: str, agency_id: int) -> dict:
    user = access.create_user(
        db, email=email, display_name=email, roles={Role.AUDITOR}, agency_id=agency_id
    )
    _row, plain = access.create_token(db, user=user, name="tests", days=1)
    return {"Authorization": f"Bearer {plain}"}


@pytest.fixture
def world(db):
    """Agency A alone in audit X; A and B together in audit Y."""
    home, other = make_agency(db, name="Agency A"), make_agency(db, name="Agency B")
    version = make_template(db)
    due = date.today() + timedelta(days=10)
    x = audits.create_audit(
        db,
        template_version_id=version.id,
        title="Only A takes part",
        returns_due_on=due,
        agency_ids=[home.id],
    )
    child_x = cohort.add_child(db, audit=x, pseudonym="Child A", agency_ids=[home.id])
    y = audits.create_audit(
        db,
        template_version_id=version.id,
        title="Both take part",
        returns_due_on=due,
        agency_ids=[home.id, other.id],
    )
    cohort.add_child(db, audit=y, pseudonym="Child B", agency_ids=[home.id, other.id])
    child_c = cohort.add_child(db, audit=y, pseudonym="Child C", agency_ids=[home.id])
    for audit in (x, y):
        lifecycle.open_audit(db, audit=audit, confirm=True)
    a_return = db.scalar(
        select(Return).where(Return.audit_id == y.id, Return.agency_id == home.id).limit(1)
    )
    ids = {
        "audit_id": x.id,
        "return_id": a_return.id,
        "child_id": child_c.id,
        "involvement_id": a_return.involvement_id,
        # Not agency-scoped, but it must name a key area of the return's template.
        "key_area_id": version.key_areas[0].id,
    }
    world = {
        "ids": ids,
        "x": x,
        "y": y,
        "child_x": child_x,
        "home": _auditor(db, "auditor.a@example.org", home.id),
        "other": _auditor(db, "auditor.b@example.org", other.id),
    }
    db.commit()  # a refused request then rolls back only its own work
    return world


def _call(client, route, method, ids, headers):
    given = {**SAMPLE_PATH, **ids}
    path = re.sub(r"\{(\w+)\}", lambda m: str(given.get(m.group(1), 1)), route.path)
    body = SAMPLE_BODIES.get(route.name) if route.body_field is not None else None
    return client.request(method, path, json=body, headers=headers)


CASES = [
    (route, method)
    for route in ROUTES
    for method in sorted(route.methods - {"HEAD"})
    if set(re.findall(r"\{(\w+)\}", route.path)) & AGENCY_SCOPED
    and ROUTE_RULES[route.name] in ROLE_PERMISSIONS[Role.AUDITOR]
]


def test_the_cases_cover_reads_and_edits():
    names = {route.name for route, _ in CASES}
    assert {
        "api.audits.get",
        "api.audits.progress",
        "api.returns.get",
        "api.returns.save_draft",
    } <= names


# Blind until the chair opens moderation (the world's audits are open): no agency's
# auditor sees these yet, their own agency's neither; tests/moderation covers the reveal.
BLIND = {
    "api.moderation.grid",
    "api.moderation.return_decisions",
    "moderation.workspace",
    "moderation.cell",
    "moderation.meeting",
    "moderation.meeting_pack",
}


@pytest.mark.parametrize(("route", "method"), CASES, ids=[f"{m} {r.path}" for r, m in CASES])
def test_another_agencys_object_is_404(anonymous_client, world, route, method):
    theirs = _call(anonymous_client, route, method, world["ids"], world["other"])
    assert theirs.status_code == 404, theirs.text
    # The object exists: its own agency's auditor gets past the lookup.
    ours = _call(anonymous_client, route, method, world["ids"], world["home"])
    if route.name in BLIND:
        assert ours.status_code == 404, ours.text
    else:
        assert ours.status_code != 404, ours.text


class TestListsAndCounts:
    def test_audits_list_and_search_leave_out_audits_of_other_agencies(
        self, anonymous_client, world
    ):
        body = anonymous_client.get("/api/v1/audits", headers=world["other"]).json()
        assert [a["title"] for a in body["items"]] == ["Both take part"] and body["total"] == 1
        found = anonymous_client.get(
            "/api/v1/audits", params={"q": "Only A"}, headers=world["other"]
        ).json()
        assert found == {"items": [], "total": 0, "page": 1, "per_page": 50}

    def test_counts_in_the_audit_summary_are_their_own(self, anonymous_client, world):
        y = anonymous_client.get(f"/api/v1/audits/{world['y'].id}", headers=world["other"]).json()
        assert y["children_count"] == 1
        assert y["returns"]["expected"] == 1

    def test_returns_list_holds_only_their_agencys_returns(self, anonymous_client, world):
        body = anonymous_client.get(
            f"/api/v1/audits/{world['y'].id}/returns", headers=world["other"]
        ).json()
        assert body["total"] == 1
        assert {r["agency"]["name"] for r in body["items"]} == {"Agency B"}
        assert world["ids"]["return_id"] not in {r["id"] for r in body["items"]}

    def test_progress_counts_only_their_agency_and_children(self, anonymous_client, world):
        body = anonymous_client.get(
            f"/api/v1/audits/{world['y'].id}/progress", headers=world["other"]
        ).json()
        assert body["totals"]["expected"] == 1
        assert [a["agency_name"] for a in body["by_agency"]] == ["Agency B"]
        assert [c["pseudonym"] for c in body["by_child"]] == ["Child B"]

    def test_cohort_shows_only_children_they_worked_with_and_their_own_involvement(
        self, anonymous_client, world
    ):
        body = anonymous_client.get(
            f"/api/v1/audits/{world['y'].id}/children", headers=world["other"]
        ).json()
        assert body["total"] == 1
        (child,) = body["items"]
        assert child["pseudonym"] == "Child B"
        assert [i["agency_name"] for i in child["involvements"]] == ["Agency B"]

    def test_the_home_agency_sees_its_own(self, anonymous_client, world):
        body = anonymous_client.get(
            f"/api/v1/audits/{world['y'].id}/returns", headers=world["home"]
        ).json()
        assert body["total"] == 2 and {r["agency"]["name"] for r in body["items"]} == {"Agency A"}


def test_statements_built_once_per_kind_of_reader_are_never_shared_across_agencies(
    anonymous_client, world
):
    # app.access.policy.per_scope keeps one statement per roles and agency in the
    # process: asked in turn, each agency's auditor still gets only their own.
    progress = f"/api/v1/audits/{world['y'].id}/progress"
    returns = f"/api/v1/audits/{world['y'].id}/returns?per_page=10"
    for headers, agency, children, total in (
        (world["home"], "Agency A", ["Child B", "Child C"], 2),
        (world["other"], "Agency B", ["Child B"], 1),
        (world["home"], "Agency A", ["Child B", "Child C"], 2),
    ):
        body = anonymous_client.get(progress, headers=headers).json()
        assert [a["agency_name"] for a in body["by_agency"]] == [agency]
        assert [c["pseudonym"] for c in body["by_child"]] == children
        listed = anonymous_client.get(returns, headers=headers).json()
        assert listed["total"] == total
        assert {r["agency"]["name"] for r in listed["items"]} == {agency}


def test_a_statement_built_per_scope_sees_only_roles_agency_and_way_in():
    built: list[Actor] = []

    def build(actor: Actor) -> tuple:
        built.append(actor)
        return (actor.roles, actor.agency_id)

    auditor = frozenset({Role.AUDITOR})
    one = per_scope("test.scope", Actor(1, "a@example.org", auditor, 7), build)
    same = per_scope("test.scope", Actor(2, "b@example.org", auditor, 7), build)
    other = per_scope("test.scope", Actor(3, "c@example.org", auditor, 8), build)
    assert one is same and one != other
    assert [(a.user_id, a.agency_id) for a in built] == [(None, 7), (None, 8)]
