"""The page layer as one piece: every page route is named <domain>.<action> and lives
in that domain's pages; no template or page links or redirects by a literal path; no
success message travels in a URL; and the figures read the same everywhere."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from app.formatting import format_date, format_datetime, interval, number, percentage, signed
from app.main import create_app
from tests.helpers.permissions import api_routes

ROOT = Path(__file__).resolve().parents[1]
# A quoted path that starts at the site's root: "/admin/...", '/returns/...'.
LITERAL_PATH = re.compile(r"""["'](/[a-z][^"'\s]*)["']""")


def _routes():
    return api_routes(create_app())


class TestNamedRoutes:
    def test_every_page_route_is_named_for_its_domain(self):
        for route in _routes():
            module = route.endpoint.__module__
            if route.path.startswith("/api") or not module.startswith("app."):
                continue
            domain = module.split(".")[1]
            assert ".pages" in module, (route.name, module)
            assert route.name.startswith(f"{domain}."), (route.name, module)

    def test_every_api_route_is_named_api_dot(self):
        for route in _routes():
            if route.path.startswith("/api/"):
                assert route.name.startswith("api."), route.name

    def test_a_link_by_name_is_the_path_starlette_finds(self):
        # url() remembers which route holds a name; the paths must not change.
        from starlette.requests import Request
        from starlette.routing import NoMatchFound

        from app.templating import url

        app = create_app()
        request = Request({"type": "http", "app": app})
        for route in _routes():
            params = {name: 7 for name in route.param_convertors}
            for _ in range(2):  # found, then remembered
                assert url(request, route.name, **params) == app.url_path_for(route.name, **params)
        assert url(request, "static", path="service.css") == "/static/service.css"
        assert url(request, "returns.task_list", return_id=3, anchor="x") == "/returns/3#x"
        with pytest.raises(NoMatchFound):
            url(request, "returns.task_list", no_such_parameter=1)

    def test_a_name_is_remembered_with_its_own_route_not_its_router(self):
        # A router included in the app asks each of its routes in turn: a list of 200
        # links would pay for that 200 times. The route remembered answers its name only.
        from starlette.requests import Request
        from starlette.routing import NoMatchFound

        from app.templating import url

        app = create_app()
        request = Request({"type": "http", "app": app})
        assert url(request, "actions.view", action_id=1) == "/actions/1"
        held = app.state.route_owners["actions.view"]
        assert held.url_path_for("actions.view", action_id=2) == "/actions/2"
        with pytest.raises(NoMatchFound):
            held.url_path_for("actions.tracker")


class TestNoLiteralPaths:
    def test_templates_link_by_route_name(self):
        found = []
        for template in (ROOT / "templates").rglob("*.html"):
            for number_, line in enumerate(template.read_text().splitlines(), 1):
                found += [(template.name, number_, m) for m in LITERAL_PATH.findall(line)]
        assert found == []

    def test_pages_redirect_by_route_name(self):
        found = []
        for module in (ROOT / "app").rglob("*.py"):
            if "pages" not in module.parts and not module.name.startswith("pages"):
                continue
            for number_, line in enumerate(module.read_text().splitlines(), 1):
                if line.lstrip().startswith(("@router", '"/')):
                    continue  # the route's own declaration
                found += [(module.name, number_, m) for m in LITERAL_PATH.findall(line)]
        assert found == []

    def test_no_success_message_travels_in_a_url(self):
        pattern = re.compile(r"[?&](done|added|notice)=")
        offenders = [
            str(p)
            for p in [*(ROOT / "app").rglob("*.py"), *(ROOT / "templates").rglob("*.html")]
            if pattern.search(p.read_text())
        ]
        assert offenders == []


class TestFigures:
    def test_dates_and_times_are_shown_as_in_england(self):
        summer = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)  # 00:30 BST on 2 July
        assert format_date(summer) == "2 July 2026"
        assert format_datetime(summer) == "2 July 2026 at 12:30am"
        winter = datetime(2026, 12, 1, 14, 5, tzinfo=UTC)
        assert format_datetime(winter, "short") == "1 Dec 2026 at 2:05pm"
        assert format_date(date(2027, 3, 31)) == "31 March 2027"
        assert format_date(None) == ""

    def test_numbers_percentages_and_intervals(self):
        assert percentage(0.425) == "43%" and percentage(0.125) == "13%"
        assert percentage(None) == "–"
        assert number(0.3456) == "0.35" and number(12345) == "12,345" and number(None) == "–"
        assert signed(0.5) == "+0.50" and signed(-0.25) == "-0.25" and signed(None) == "–"
        assert interval((0.1, 0.45), as_percentage=True) == "10% to 45%"
        assert interval((-0.2, 0.31)) == "-0.20 to 0.31" and interval(None) == "–"
