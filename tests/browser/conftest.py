"""Browser tests: Debian's Chromium driven by Playwright against a live server.

The server runs in a subprocess on 127.0.0.1 with its own database (a copy of the
demo partnership: tests/conftest.py ``demo_database``), as `make run` would; one
server and one browser per session, that is per pytest-xdist worker. Under ``--clock-ahead``/``--clock-at`` the server's clock
is moved by the same offset as the tests' (tests/helpers/clocked.py). Screenshots go
to the ``screenshots`` folder (a temporary one unless ``--screenshots DIR``). Browsers
cannot be downloaded here, so Playwright is pointed at Debian's
/usr/bin/chromium-headless-shell (installed by .ci/system-deps).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.helpers.drawing import Drawing

ROOT = Path(__file__).resolve().parents[2]
# Debian's chromium-headless-shell: Chromium's engine without the desktop browser around
# it (Playwright's own choice for headless tests); the same pages, layout and axe results
# for about 40% less CPU than the full browser in its headless mode.
CHROMIUM = shutil.which("chromium-headless-shell") or "/usr/bin/chromium-headless-shell"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
TOTP_SECRET = "WESTSHIREDEMO234WESTSHIREDEMO234"
DEMO = {
    "auditor": ("auditor.police@example.org", "demo police auditor 7413"),
    "other_auditor": ("auditor.socialcare@example.org", "demo social care auditor 2961"),
    "moderator": ("moderator@example.org", "demo moderator 3307"),
    "admin": ("admin@example.org", "demo business unit 9154"),
    "practitioner": ("practitioner@example.org", "demo practitioner 4688"),
    "scrutineer": ("scrutineer@example.org", "demo scrutineer 6072"),
    "agency_lead": ("lead.socialcare@example.org", "demo agency lead 5820"),
    "executive": ("executive@example.org", "demo executive 5193"),
}

# Playwright's own --disable-features (playwright-core's chromiumSwitches.ts).
PLAYWRIGHT_DISABLED = (
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
)

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Chromium is not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_database(demo_database) -> str:
    """The live server's database (a copy of the demo), for tests that must change what
    no page can, such as a session's last activity."""
    return demo_database()


@pytest.fixture(scope="session")
def sso_provider():
    """An OpenID Connect provider on loopback (oidc-provider-mock, which the project did
    not write) for the whole session: the live server offers signing in with it, for
    the demo's people at example.org, as the Westshire Police's Entra ID would."""
    import oidc_provider_mock

    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


SSO_KEY = "westshire"
SSO_NAME = "Westshire Police (test)"


@pytest.fixture(scope="session")
def live_server(request, tmp_path_factory, live_database, sso_provider):
    """The service on 127.0.0.1 with the demo partnership, for the whole session."""
    from tests.conftest import clock_offset

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    provider = {
        "key": SSO_KEY,
        "name": SSO_NAME,
        "issuer": sso_provider,
        "client_id": "case-audit-browser-tests",
        "client_secret": "invented-secret",
        "domains": {"example.org": "Westshire Police"},
    }
    env = {
        **os.environ,
        "DATABASE_URL": live_database,
        "AUDIT_ENVIRONMENT": "test",
        # Every browser test signs in from 127.0.0.1: more than a person's 10 a minute.
        "AUDIT_SIGN_IN_MAX_PER_ADDRESS_PER_MINUTE": "1000",
        "AUDIT_PUBLIC_URL": base,
        "AUDIT_SSO_PROVIDERS": json.dumps([provider]),
    }
    offset = clock_offset(request.config).total_seconds()
    cli = [sys.executable, "-m", "tests.helpers.clocked", str(offset)]
    log = (tmp_path_factory.mktemp("server") / "server.log").open("wb")
    server = subprocess.Popen(
        [*cli, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/health", timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("the live server did not start") from None
            time.sleep(0.2)
    yield base
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                # A new document in the same renderer on each navigation, not a new one:
                # a quarter less of Chromium's work per page. Chromium keeps only the last
                # --disable-features, so Playwright's own list is repeated here.
                "--disable-features=" + ",".join((*PLAYWRIGHT_DISABLED, "RenderDocument")),
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    yield context.new_page()
    context.close()


def totp_now() -> str:
    import pyotp

    return pyotp.TOTP(TOTP_SECRET).now()


def sign_in(page, base: str, who: str) -> None:
    """Sign in as a demo person with the keyboard only, as someone using it would."""
    email, password = DEMO[who]
    page.goto(f"{base}/sign-in")
    page.keyboard.press("Tab")  # skip link first
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/sign-in/code**")
    page.get_by_label("Security code").fill(totp_now())
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/sign-in" not in url)


@pytest.fixture(scope="session")
def signed_in_state(chromium, live_server):
    """Each demo person signs in once per test run (an authenticator code works only
    once); later tests reuse their browser's cookies."""
    states: dict[str, dict] = {}

    def state_for(who: str) -> dict:
        if who not in states:
            context = chromium.new_context()
            sign_in(context.new_page(), live_server, who)
            states[who] = context.storage_state()
            context.close()
        return states[who]

    return state_for


@pytest.fixture
def page_as(chromium, signed_in_state):
    """A page in a browser already signed in as the given demo person."""
    contexts = []

    def open_as(who: str, *, for_axe: bool = False):
        # axe-core is injected as a script, which the service's Content-Security-Policy
        # rightly refuses; only the accessibility check's browser ignores the CSP.
        context = chromium.new_context(
            viewport={"width": 1100, "height": 900},
            storage_state=signed_in_state(who) if who else None,
            bypass_csp=for_axe,
        )
        contexts.append(context)
        return context.new_page()

    yield open_as
    for context in contexts:
        context.close()


def page_kind(link: str) -> str:
    """A page's kind: its path with ids blanked, and which query parameters it has
    but not their values (/actions?status=open and ?status=overdue are one kind)."""
    url = urlsplit(link)
    names = sorted({name for name, _ in parse_qsl(url.query, keep_blank_values=True)})
    return re.sub(r"/\d+", "/{id}", url.path) + ("?" + "&".join(names) if names else "")


# (kind of page, how it was drawn) of each page on which axe found nothing, in this
# worker: a page drawn the same way again is not checked again.
_passed: set[tuple[str, frozenset[str]]] = set()
# The styling (ancestry) of each text element whose colour contrast passed, in this
# worker (tests/browser/axe_run.js).
_contrast_passed: set[str] = set()
AXE_RUN = (Path(__file__).parent / "axe_run.js").read_text()


def axe_violations(page) -> list[dict]:
    """axe-core's WCAG 2.0/2.1/2.2 A and AA violations on the page as it is now, or
    none at once if a page of the same kind drawn the same way has already passed
    (tests/helpers/drawing.py): what varies is data, and a page drawn differently (a
    button, banner or error summary more) is checked. Colour contrast, most of axe's
    work, is checked on each text element styled in a way not yet checked
    (tests/browser/axe_run.js). A page a click has just opened is read once its
    document has loaded, not while it is arriving."""
    page.wait_for_load_state("domcontentloaded")
    drawn = (page_kind(page.url), Drawing(page.content()).signature)
    if drawn in _passed:
        return []
    if page.evaluate("() => typeof axe === 'undefined'"):  # else put in by add_init_script
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(AXE_RUN, sorted(_contrast_passed))
    if not found["violations"]:
        _passed.add(drawn)
        _contrast_passed.update(found["styles"])
    return found["violations"]


@pytest.fixture
def shot(screenshots):
    """``shot(page, name)``: a full-page screenshot, screenshots/NAME.png (for the README)."""

    def take(page, name: str, *, full_page: bool = True) -> None:
        page.screenshot(path=str(screenshots / f"{name}.png"), full_page=full_page)

    return take
