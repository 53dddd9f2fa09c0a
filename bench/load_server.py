"""The server side of bench/load.py: serving the app as ``audit-tools serve`` does,
signing people in through the pages, and keeping two briefings rendering.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pyotp
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from app.access.auth import session_cookie_name
from app.briefings import service, workflow
from app.briefings.models import BriefingVersion, RenderStatus, VersionStatus
from app.db import session_scope
from bench.load_data import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
COOKIE = session_cookie_name(False)  # served over http on loopback
TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
WAITING = 2  # versions kept queued beyond the two rendering
WITHDRAWN = "Published by the load test; withdrawn so the library stays as it was."


def serve(port: int, workers: int, log: Path) -> subprocess.Popen:
    """``audit-tools serve`` in a subprocess (its settings from this environment), once
    every web process has started (loaded the identification check, started its
    render dispatcher)."""
    cli = Path(sys.executable).with_name("audit-tools")
    cmd = [str(cli), "serve", "--host", HOST, "--port", str(port), "--workers", str(workers)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if log.read_text(errors="replace").count("Application startup complete") >= workers:
            return proc
        time.sleep(0.2)
    stop(proc)
    raise RuntimeError(f"the server did not start; its log:\n{log.read_text()[-3000:]}")


def renderers(count: int, log: Path, cpus: set[int] | None = None) -> list[subprocess.Popen]:
    """``count`` ``audit-tools renderer`` processes (settings from this environment),
    once each has said it is looking for briefings; with ``cpus``, they and their render
    workers run only on those CPUs (as docker-compose's ``cpuset`` would have them)."""
    cli = Path(sys.executable).with_name("audit-tools")
    procs = []
    with log.open("wb") as out:
        for _ in range(count):
            procs.append(
                subprocess.Popen(
                    [str(cli), "renderer", "--every", "0.5"],
                    cwd=ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
                )
            )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and all(p.poll() is None for p in procs):
        if log.read_text(errors="replace").count("Rendering published briefings") >= count:
            return procs
        time.sleep(0.2)
    for proc in procs:
        stop(proc)
    raise RuntimeError(f"the renderers did not start; their log:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    """Stop a process we started and whatever it started (the web and render workers)."""
    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for child in family:
        with suppress(psutil.NoSuchProcess):
            child.kill()


def browser(base: str, address: str) -> httpx.Client:
    """A client that says where it comes from as a browser and the reverse proxy do
    (Origin, X-Forwarded-For: the sign-in throttle counts per address); a new
    connection per request, so that requests spread over the web processes."""
    return httpx.Client(
        base_url=base,
        headers={"X-Forwarded-For": address, "Origin": base},
        limits=httpx.Limits(max_keepalive_connections=0),
        timeout=30,
    )


def sign_in(client: httpx.Client, email: str, totp: str) -> str:
    """Through the pages: the form (its token), the password, the authenticator code.
    Returns the session cookie."""
    shown = client.get("/sign-in")
    token = TOKEN.search(shown.text)
    if shown.status_code != 200 or token is None:
        raise RuntimeError(f"the sign-in page answered {shown.status_code}")
    form = {"csrf_token": token[1], "email": email, "password": PASSWORD, "next": "/"}
    password = client.post("/sign-in", data=form)
    if password.status_code != 303 or "/sign-in/code" not in password.headers["location"]:
        raise RuntimeError(f"signing in {email}: {password.status_code} {password.text[:300]}")
    code = client.post("/sign-in/code", data={"code": pyotp.TOTP(totp).now(), "next": "/"})
    if code.status_code != 303:
        raise RuntimeError(f"the code for {email}: {code.status_code} {code.text[:300]}")
    return client.cookies[COOKIE]


def sign_everyone_in(base: str, plan: dict) -> float:
    """Sign each person in, one at a time, keeping their cookie in the plan. Returns the
    median time a sign-in took (three requests)."""
    took = []
    everyone = [p for people in plan["people"].values() for p in people] + [plan["publisher"]]
    for someone in everyone:
        with browser(base, someone["address"]) as client:
            started = time.perf_counter()
            someone["cookie"] = sign_in(client, someone["email"], someone["totp"])
            took.append(time.perf_counter() - started)
    return statistics.median(took)


# --- two renders at once ---------------------------------------------------------------------


@dataclass
class Renders:
    """What was rendered while the load ran (every round of it)."""

    published: int = 0
    failed: list[str] = field(default_factory=list)
    looks: list[int] = field(default_factory=list)  # how many were rendering, each look
    seconds: list[float] = field(default_factory=list)  # claimed to published, each
    ran_out: bool = False


class RenderKeeper(threading.Thread):
    """Publishes approved versions, keeping ``WAITING`` queued beyond those rendering
    so that no dispatcher ever runs out. When the web processes render, it publishes
    through the pages as a person would (the editor's Publish button), which wakes the
    dispatcher of the web process that answers; when renderer processes do (which look
    for queued versions by themselves), it queues each version in the database as that
    button does (``workflow.publish``), so that the second phase adds the renders, and
    nothing else, to the load on the web processes. Looks at the queue in the database
    every 0.2 s, and withdraws each version once it is published there too (as a
    command on the server would): neither is part of the load being measured. Stopping,
    it publishes no more and waits for those it published to be done."""

    def __init__(
        self, base: str, plan: dict, factory: sessionmaker, renders: Renders, *, press: bool
    ):
        super().__init__(name="render-keeper", daemon=True)
        self.base, self.publisher, self.factory = base, plan["publisher"], factory
        self.press = press  # publish through the pages (True) or in the database
        self.fodder: list[int] = plan["fodder"]  # shared by the rounds: each is published once
        self.renders = renders
        self.in_flight: list[int] = []
        self.counting = False  # the load is running: count what is rendered
        self.now_rendering = 0
        self.error: BaseException | None = None
        self._stopping = threading.Event()

    def run(self) -> None:
        try:
            with browser(self.base, self.publisher["address"]) as client:
                client.cookies.set(COOKIE, self.publisher["cookie"])
                editor = client.get(f"/briefings/versions/{self.fodder[0]}")
                token = TOKEN.search(editor.text)
                if editor.status_code != 200 or token is None:
                    raise RuntimeError(f"the briefing editor answered {editor.status_code}")
                while not (self._stopping.is_set() and not self.in_flight):
                    self._look(client, token[1])
                    time.sleep(0.2)
        except BaseException as exc:  # reported by the driver, which stops the run
            self.error = exc

    def stop(self) -> None:
        self.counting = False
        self._stopping.set()
        self.join(timeout=120)

    def _look(self, client: httpx.Client, token: str) -> None:
        with self.factory() as session:
            rows = session.execute(
                select(
                    BriefingVersion.id,
                    BriefingVersion.status,
                    BriefingVersion.render_status,
                    BriefingVersion.render_claimed_at,
                    BriefingVersion.published_at,
                    BriefingVersion.render_error,
                ).where(BriefingVersion.id.in_(self.in_flight))
            ).all()
        queued = rendering = 0
        for row in rows:
            if row.status == VersionStatus.PUBLISHED:
                self._withdraw(row.id)
                if self.counting:
                    self.renders.published += 1
                    took = row.published_at - row.render_claimed_at
                    self.renders.seconds.append(took.total_seconds())
            elif row.render_status == RenderStatus.RENDERING:
                rendering += 1
            elif row.render_status == RenderStatus.QUEUED:
                queued += 1
            else:
                self.in_flight.remove(row.id)
                self.renders.failed.append(f"version {row.id}: {row.render_error}")
        self.now_rendering = rendering
        if self.counting:
            self.renders.looks.append(rendering)
        while queued < WAITING and not self._stopping.is_set():
            if not self.fodder:
                self.renders.ran_out = True
                break
            version_id = self.fodder.pop(0)
            if self.press:
                path = f"/briefings/versions/{version_id}/publish"
                answer = client.post(path, data={"csrf_token": token})
                if answer.status_code != 303:
                    raise RuntimeError(f"POST {path} answered {answer.status_code}")
            else:
                with session_scope(self.factory) as session:
                    version = service.get_version(session, version_id=version_id)
                    workflow.publish(session, version=version)
            self.in_flight.append(version_id)
            queued += 1

    def _withdraw(self, version_id: int) -> None:
        self.in_flight.remove(version_id)
        with session_scope(self.factory) as session:
            version = service.get_version(session, version_id=version_id)
            workflow.withdraw(session, version=version, reason=WITHDRAWN)


@contextmanager
def two_renders(
    base: str, plan: dict, factory, renders: Renders, *, press: bool = True
) -> Iterator[RenderKeeper]:
    """Two briefings rendering for as long as the block runs. Each publish is a new
    connection, landing on either web process and waking its dispatcher; the block
    starts once both are rendering (a dispatcher not woken wakes within a minute), and
    ends once every version published is done, so nothing renders after it."""
    keeper = RenderKeeper(base, plan, factory, renders, press=press)
    keeper.start()
    deadline = time.monotonic() + 90
    while keeper.now_rendering < 2 and time.monotonic() < deadline and keeper.is_alive():
        time.sleep(0.2)
    if keeper.error or keeper.now_rendering < 2:
        keeper.stop()
        raise RuntimeError(f"two briefings never rendered at once: {keeper.error!r}")
    keeper.counting = True
    try:
        yield keeper
    finally:
        keeper.stop()
        if keeper.error or keeper.is_alive():
            raise RuntimeError(f"keeping two renders going failed: {keeper.error!r}")
