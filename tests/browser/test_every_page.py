"""axe over every page of the demo, signed in as each role.

Each demo person starts at the home page and follows every link within the service,
breadth first. Pages of the same kind (/returns/1, /returns/2 ..., or one list under
different filters) are visited once per role, so every kind of page any role can reach
by clicking is reached. Only links are followed (GET), so the walk changes nothing.

axe-core runs on each page reached unless a page of the same kind drawn the same way
has already passed: the same elements with the same classes, roles and attributes,
and the same elements empty of text (``DRAWN``). What such a page can differ in is its
data (which child, how many rows), which is not what axe checks. A page a role sees
with a part no other role sees (a button, a panel, a table) is drawn differently and is
checked again. The roles are walked one after another on one worker, so which pages
are checked does not depend on how pytest-xdist spreads the tests.
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
# How a page is drawn: each kind of element in it, by tag, classes, role and which
# attributes it has (not their values), marked where it has no text at all.
DRAWN = """() => {
    const kinds = new Set();
    for (const e of document.querySelectorAll("body *")) {
        const attributes = [...e.attributes].map(a => a.name).filter(n => n !== "class");
        kinds.add([e.tagName, [...e.classList].sort().join("."), attributes.sort().join(","),
                   e.textContent.trim() ? "" : "empty"].join("|"));
    }
    return [...kinds].sort().join("\\n");
}"""
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
# The walks so far: (kind of page, how it is drawn) for each page that passed axe.
passed: set[tuple[str, str]] = set()


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
    reached, failures = [], {}
    while queue and len(reached) < MAX_PAGES:
        path = queue.popleft()
        response = page.goto(live_server + path)
        assert response.status < 500, (path, response.status)
        reached.append(path)
        drawn = (shape(path), page.evaluate(DRAWN))
        if drawn not in passed:
            violations = axe_violations(page)
            if violations:
                failures[path] = violations
            else:
                passed.add(drawn)
        for link in links(page, live_server):
            if link not in seen and shapes[shape(link)] < PER_SHAPE:
                seen.add(link)
                shapes[shape(link)] += 1
                queue.append(link)
    assert failures == {}
    # The walk really went somewhere: each role reaches its own pages.
    assert REACHES[who] <= {shape(path) for path in reached}, reached
