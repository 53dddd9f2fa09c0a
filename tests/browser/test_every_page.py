"""axe over every page of the demo, signed in as each role.

Each demo person starts at the home page and follows every link within the service,
breadth first, running axe-core on each page it reaches. Pages of the same shape
(/returns/1, /returns/2 ..., or one list under different filters) are checked
once per role, to keep the run short; every kind of page any role can reach by
clicking is checked. Only links are followed (GET), so the walk changes nothing.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest

from tests.browser.conftest import DEMO, axe_violations

pytestmark = pytest.mark.usefixtures("live_server")

SKIP = ("/sign-out", "/docs", "/openapi.json", "/assets/", "/static/", "/api/")
DOWNLOADS = ("/download", ".pdf", ".xlsx", ".csv")
PER_SHAPE = 1
MAX_PAGES = 80


def shape(link: str) -> str:
    """A page's kind: its path with ids blanked, and which query parameters it has
    but not their values (/actions?status=open and ?status=overdue are one kind)."""
    url = urlsplit(link)
    names = sorted({name for name, _ in parse_qsl(url.query, keep_blank_values=True)})
    return re.sub(r"/\d+", "/{id}", url.path) + ("?" + "&".join(names) if names else "")


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
    checked, failures = [], {}
    while queue and len(checked) < MAX_PAGES:
        path = queue.popleft()
        response = page.goto(live_server + path)
        assert response.status < 500, (path, response.status)
        checked.append(path)
        violations = axe_violations(page)
        if violations:
            failures[path] = violations
        for link in links(page, live_server):
            if link not in seen and shapes[shape(link)] < PER_SHAPE:
                seen.add(link)
                shapes[shape(link)] += 1
                queue.append(link)
    assert failures == {}
    # The walk really went somewhere: each role reaches its own pages.
    assert len(checked) >= (2 if who == "practitioner" else 5), checked
