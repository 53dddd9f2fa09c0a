"""Shared set-up for the permission tests: one signed-in person per role."""

from __future__ import annotations

from fastapi.routing import APIRoute

from app.access import service as access
from app.access.models import Role
from tests.helpers.factories import make_agency

# FastAPI's own documentation routes: public by design, outside the rules table.
BUILT_IN = {"openapi", "swagger_ui_html", "swagger_ui_redirect"}


def api_routes(app) -> list[APIRoute]:
    """Every APIRoute, however deeply its router was included."""
    found: list[APIRoute] = []

    def walk(routes) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                found.append(route)
            elif hasattr(route, "original_router"):
                walk(route.original_router.routes)

    walk(app.routes)
    return found


def people(db) -> dict[str, dict]:
    """A user and a Bearer token per role; the agency-bound roles share one agency."""
    agency = make_agency(db, name="Home agency")
    made = {}
    for role in Role:
        agency_id = agency.id if role in (Role.AUDITOR, Role.AGENCY_LEAD) else None
        user = access.create_user(
            db,
            email=f"{role.value}@example.org",
            display_name=role.value,
            roles={role},
            agency_id=agency_id,
        )
        _row, plain = access.create_token(db, user=user, name="tests", days=1)
        made[role.value] = {"user": user, "headers": {"Authorization": f"Bearer {plain}"}}
    # Commit the test's savepoint: a later request that fails rolls back only its own work.
    db.commit()
    return made
