"""axe over every page of the demo, signed in as each role.

Each demo person starts at the home page and follows every link within the service,
breadth first, running axe-core on each page it reaches. Pages of the same kind
(/returns/1, /returns/2 ..., or one list under different filters) are visited once per
role, so every kind of page any role can reach by clicking is checked as each role
that reaches it; a page drawn exactly as one already checked is not checked twice
(tests/browser/conftest.py ``axe_violations``). Only links are followed (GET), so the
walk changes nothing.
"""

from __future__ import annotations

from collections import Counter, deque
from urllib.parse import urljoin, urlsplit

import pytest

from tests.browser.conftest import DEMO, axe_violations, page_kind

pytestmark = pytest.mark.usefixtures("live_server")

SKIP = ("/sign-out", "/docs", "/openapi.json", "/assets/", "/static/", "/api/")
DOWNLOADS = ("/download", ".pdf", ".xlsx", ".csv")
PER_SHAPE = 1
MAX_PAGES = 80
# Kinds of page each role must reach (and so axe checks as that role, unless drawn as
# one already checked): the journey tests check axe only on what links cannot reach.
REACHES = {
    "auditor": {
        "/my-work",
        "/returns/{id}",
        "/returns/{id}/areas/{id}",
        "/returns/{id}/check",
        "/returns/{id}/overall",
    },
    "other_auditor": {"/my-work", "/returns/{id}", "/returns/{id}/areas/{id}"},
    "admin": {
        "/audits",
        "/audits/{id}",
        "/admin/agencies",
        "/admin/agencies/new",
        "/admin/users",
        "/admin/users/new",
        "/admin/users/{id}",
    },
    "moderator": {"/audits", "/audits/{id}"},
    "scrutineer": {"/audits", "/audits/{id}"},
    "agency_lead": {"/audits", "/audits/{id}"},
    "practitioner": {"/library"},
}


def links(page, base: str) -> list[str]:
    hrefs = page.locator("a[href]").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    found = []
    for href in hrefs:
        url = urlsplit(urljoin(page.url, href))
        if f"{url.scheme}://{url.netloc}" != base or url.path.startswith(SKIP):
            continue
        if url.path.endswith(DOWNLOADS):  # files, not pages
            continue
        found.append(url.path + (f"?{url.query}" if url.query else ""))
    return found


@pytest.mark.parametrize("who", sorted(DEMO))
def test_every_page_a_role_can_reach_has_no_axe_violations(page_as, live_server, who):
    page = page_as(who, for_axe=True)
    queue, seen, shapes = deque(["/"]), {"/"}, Counter()
    reached, failures = [], {}
    while queue and len(reached) < MAX_PAGES:
        path = queue.popleft()
        response = page.goto(live_server + path)
        assert response.status < 500, (path, response.status)
        reached.append(path)
        violations = axe_violations(page)
        if violations:
            failures[path] = violations
        for link in links(page, live_server):
            if link not in seen and shapes[page_kind(link)] < PER_SHAPE:
                seen.add(link)
                shapes[page_kind(link)] += 1
                queue.append(link)
    assert failures == {}
    # The walk really went somewhere: each role reaches its own pages.
    assert REACHES[who] <= {page_kind(path) for path in reached}, reached
