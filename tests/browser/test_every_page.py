"""axe over every page of the demo, signed in as each role.

Each demo person starts at the home page and follows every link within the service,
breadth first. Pages of the same kind (/returns/1, /returns/2 ..., or one list under
different filters) are visited once per role, so every kind of page any role can reach
by clicking is reached as each role that reaches it. The walk reads each page's HTML
as served, and loads it in the browser and runs axe-core on it unless a page of the
same kind drawn the same way has passed already (the HTML's elements, classes,
attribute names and empty elements, and no id used twice or missing: what differs is
data, which is not what axe checks; a button, banner or panel more is checked). Only
links are followed (GET), so the walk changes nothing.

Every page reached must also offer a way on and a way back, so no one is stranded: the
service navigation, and, on any page that is not itself one of its destinations, a
back link or breadcrumbs.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.browser.conftest import AXE, DEMO, axe_violations, page_kind
from tests.helpers.drawing import Drawing

pytestmark = pytest.mark.usefixtures("live_server")

SKIP = ("/sign-out", "/docs", "/openapi.json", "/assets/", "/static/", "/api/")
DOWNLOADS = ("/download", ".pdf", ".xlsx", ".csv")
PER_SHAPE = 1
# An audit's page differs by its stage and subject (planned, about agencies, a
# questionnaire): a few are walked, so the returns are reached from one that has them.
SHAPES_WALKED = {"/audits/{id}": 3}
MAX_PAGES = 80
# Kinds of page each role must reach (and so axe checks as that role, unless drawn as
# one already checked): the journey tests check axe only on what links cannot reach.
REACHES = {
    # (Check your answers is linked once a return is finished: the keyboard journey
    # reaches it, and axe checks it there.)
    "auditor": {
        "/my-work",
        "/returns/{id}",
        "/returns/{id}/areas/{id}",
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
    # Those who read returns but do not write them reach the read-only return.
    "moderator": {"/audits", "/audits/{id}", "/returns/{id}?from"},
    "scrutineer": {"/audits", "/audits/{id}", "/returns/{id}?from"},
    "agency_lead": {"/audits", "/audits/{id}", "/returns/{id}?from"},
    "practitioner": {"/library"},
    "executive": {"/audits", "/programme", "/actions"},
}


# (kind of page, how its HTML is drawn) of the pages that passed axe.
_walked: set[tuple[str, frozenset[str]]] = set()


NAV_LINK = re.compile(r'class="govuk-service-navigation__link" href="([^"?#]*)')
WAY_BACK = ('class="govuk-back-link"', 'class="govuk-breadcrumbs"')


def stranded(path: str, html: str) -> str | None:
    """Why a page leaves its reader stranded, or None: it has no service navigation,
    or it is not one of the navigation's destinations and has no way back."""
    if re.fullmatch(r"/briefings/versions/\d+/preview", urlsplit(path).path):
        return None  # the briefing itself as it will print: a document, not a page
    destinations = set(NAV_LINK.findall(html))
    if not destinations:
        return "no service navigation"
    if urlsplit(path).path in destinations | {"/"} or any(w in html for w in WAY_BACK):
        return None
    return "no back link or breadcrumbs"


def links(page_url: str, hrefs: list[str], base: str) -> list[str]:
    found = []
    for href in hrefs:
        url = urlsplit(urljoin(page_url, href))
        if f"{url.scheme}://{url.netloc}" != base or url.path.startswith(SKIP):
            continue
        if url.path.endswith(DOWNLOADS):  # files, not pages
            continue
        found.append(url.path + (f"?{url.query}" if url.query else ""))
    return found


@pytest.mark.parametrize("who", sorted(DEMO))
def test_every_page_a_role_can_reach_has_no_axe_violations(
    page_as, signed_in_state, live_server, who
):
    page = page_as(who, for_axe=True)
    # Every page loaded here is checked: axe goes into each as it opens (a quarter of the
    # CPU of sending it to each page afterwards).
    page.context.add_init_script(path=str(AXE))
    cookies = {c["name"]: c["value"] for c in signed_in_state(who)["cookies"]}
    with httpx.Client(base_url=live_server, cookies=cookies, follow_redirects=True) as http:
        queue, seen, shapes = deque(["/"]), {"/"}, Counter()
        reached, failures, lost = [], {}, {}
        while queue and len(reached) < MAX_PAGES:
            path = queue.popleft()
            response = http.get(path)
            assert response.status_code < 500, (path, response.status_code)
            reached.append(path)
            if (why := stranded(str(response.url.raw_path, "ascii"), response.text)) is not None:
                lost[path] = why
            drawing = Drawing(response.text)
            drawn = (page_kind(path), drawing.signature)
            if drawn not in _walked:
                page.goto(live_server + path)
                violations = axe_violations(page)
                if violations:
                    failures[path] = violations
                else:
                    _walked.add(drawn)
            for link in links(str(response.url), drawing.hrefs, live_server):
                kind = page_kind(link)
                if link not in seen and shapes[kind] < SHAPES_WALKED.get(kind, PER_SHAPE):
                    seen.add(link)
                    shapes[kind] += 1
                    queue.append(link)
    assert failures == {}
    assert lost == {}, "pages with no way back"
    # The walk really went somewhere: each role reaches its own pages.
    assert REACHES[who] <= {page_kind(path) for path in reached}, reached


def test_a_page_is_drawn_the_same_only_when_its_data_alone_differs():
    def drawn(body: str) -> frozenset[str]:
        return Drawing(f"<html><head><title>t</title></head><body>{body}</body></html>").signature

    rows = '<table class="govuk-table"><tr><td id="c-{n}">Child {n}</td></tr></table>'
    one = drawn(rows.format(n=1))
    assert drawn(rows.format(n=2)) == one  # another child: data
    assert drawn(rows.format(n=1) + '<button class="govuk-button">Go</button>') != one
    assert drawn(rows.format(n=1).replace("Child 1", "")) != one  # an empty cell
    assert drawn(rows.format(n=1) + '<p id="c-1">x</p>') != one  # an id used twice
    assert drawn(rows.format(n=1) + '<input aria-describedby="nope">') != one  # missing id
    assert Drawing('<body><a href="/x">x</a><br><a href="/y">y</a></body>').hrefs == ["/x", "/y"]
