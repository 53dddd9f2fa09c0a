"""Scale-out for real: separate ``audit-tools serve`` processes on one database, as a
deployment behind a load balancer runs them (tests/helpers/served.py).

Instances ``a`` and ``b`` have one worker each and ``w`` has two (``--workers 2``),
started once for the module against one database. On both databases: a revoked token,
a disabled person and a removed role are refused on the very next request in every
one of the four worker processes, and ``--workers 2`` starts without uvicorn killing a
worker. On PostgreSQL, the deployment's database, also: a session begun on one
instance serves, and ends, on the other; briefings published on both at once are each
rendered exactly once; and the reminder command run on two hosts at the same moment
sends each person one digest. (One test needs no server: what ``serve`` hands uvicorn.)

The tests speak HTTP only, and read the database only to check what was stored: they
hold however credentials are looked up, as long as nothing about one outlives a change.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pyotp
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app import clock
from app.access import service as access
from app.access.auth import SESSION_COOKIE
from app.access.models import Role
from app.auditlog.models import AuditEvent
from app.audits.models import Audit
from app.briefings import workflow
from app.briefings.models import (
    BriefingDocument,
    BriefingKind,
    BriefingVersion,
    Marking,
    RenderStatus,
)
from app.clock import utcnow
from app.config import Settings, get_settings
from app.db import make_sessionmaker, session_scope
from app.reminders.models import ReminderSent
from audit_tools.cli import app as cli
from tests.briefings.test_publishing import _moderated_audit
from tests.conftest import BACKEND, clock_offset
from tests.helpers import served
from tests.helpers.access import (
    PASSWORD,
    SIGN_IN_TOKEN,
    actor_of,
    another_approver,
    signed_in_cookie,
)
from tests.helpers.factories import make_agency, make_audit
from tests.helpers.sessions import engine_on
from tests.helpers.smtp import Inbox

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
API = "/api/v1"

on_postgresql = pytest.mark.skipif(
    BACKEND != "postgresql",
    reason="instances of a deployment share a PostgreSQL database; SQLite serves one host",
)


@dataclass
class Deployment:
    instances: dict[str, served.Instance]
    url: str
    factory: sessionmaker[Session]
    clock_seconds: float
    admin: dict[str, str]  # an administrator's API token, as its header
    agency_id: int

    @property
    def a(self) -> served.Instance:
        return self.instances["a"]

    @property
    def b(self) -> served.Instance:
        return self.instances["b"]

    def processes(self) -> list[served.Pinned]:
        """A connection to every worker process of every instance: a, b and w's two."""
        return [p for instance in self.instances.values() for p in instance.processes()]

    def logs(self) -> str:
        return "\n".join(instance.tail() for instance in self.instances.values())


@pytest.fixture(scope="module")
def deployment(request, migrated_database, tmp_path_factory) -> Iterator[Deployment]:
    url = migrated_database()
    offset = clock_offset(request.config).total_seconds()
    with engine_on(url) as engine:
        factory = make_sessionmaker(engine)
        with session_scope(factory) as session:
            admin = access.create_user(
                session, email="admin@example.org", display_name="Admin", roles={Role.ADMIN}
            )
            _row, token = access.create_token(session, user=admin, name="scale-out", days=1)
            agency_id = make_agency(session, name="Westshire Police").id
        with served.running(
            url,
            {"a": 1, "b": 1, "w": 2},
            folder=tmp_path_factory.mktemp("served"),
            clock_seconds=offset,
            settings={"AUDIT_RENDER_IN_BACKGROUND": "true", "AUDIT_SMALL_COUNT_THRESHOLD": "3"},
        ) as instances:
            yield Deployment(instances, url, factory, offset, bearer(token), agency_id)
    # Stopped as a service manager stops them (SIGTERM): each must stop by itself.
    killed = [instance.tail() for instance in instances.values() if instance.killed]
    assert killed == [], "instances did not stop when asked"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Person:
    id: int
    email: str
    secret: str

    def code(self) -> str:
        return pyotp.TOTP(self.secret).now()


_people = itertools.count(1)


@pytest.fixture
def make_person(deployment):
    """A new person with a password and an authenticator, committed for every instance."""

    def make(*roles: Role) -> Person:
        secret = pyotp.random_base32()
        with session_scope(deployment.factory) as session:
            user = access.create_user(
                session,
                email=f"person{next(_people)}@example.org",
                display_name="Test Person",
                roles=set(roles),
                agency_id=deployment.agency_id,
                password=PASSWORD,
            )
            user.totp_secret = secret
            user.totp_confirmed_at = utcnow()
            session.flush()
            return Person(user.id, user.email, secret)

    return make


@contextmanager
def signed_in(instance: served.Instance, person: Person) -> Iterator[tuple[httpx.Client, str]]:
    """A client signed in as ``person`` on ``instance`` through the API (password, then
    code), and its CSRF token."""
    with httpx.Client(base_url=instance.base, timeout=60) as client:
        first = client.post(
            f"{API}/auth/sign-in", json={"email": person.email, "password": PASSWORD}
        )
        assert first.status_code == 200, first.text
        assert first.json()["status"] == "second_factor_required", first.text
        second = client.post(f"{API}/auth/second-factor", json={"code": person.code()})
        assert second.status_code == 200, second.text
        yield client, second.json()["csrf_token"]


def new_token(client: httpx.Client, csrf: str) -> tuple[int, str]:
    made = client.post(
        f"{API}/auth/tokens", json={"name": "scale-out", "days": 1}, headers={"X-CSRF-Token": csrf}
    )
    assert made.status_code == 201, made.text
    return made.json()["id"], made.json()["token"]


def answers(processes: list[served.Pinned], path: str, headers: dict[str, str]) -> dict[str, int]:
    """Each worker process's status for one request to ``path`` with ``headers``."""
    return {p.name: p.request("GET", path, headers=headers)[0] for p in processes}


def every(processes: list[served.Pinned], status: int) -> dict[str, int]:
    return {p.name: status for p in processes}


# --- serve --workers ----------------------------------------------------------------------


def test_serve_with_two_workers_starts_cleanly(deployment):
    w = deployment.instances["w"]
    log = w.log()
    assert len(w.worker_pids()) == 2, w.tail()
    assert log.count(served.STARTED) == 2, w.tail()
    assert w.trouble() == [], w.tail()
    assert "; 2 worker processes." in log and "Database: " in log, w.tail()
    pinned = w.processes()
    assert {p.pid for p in pinned} == set(w.worker_pids())
    assert [p.request("GET", "/api/health")[0] for p in pinned] == [200, 200]


def test_serve_gives_a_starting_worker_a_minute_and_names_its_database(monkeypatch):
    """uvicorn kills a worker that has not answered its health check in time (5 s
    unless told): a worker still starting on a busy machine is given a minute."""
    options: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda _app, **given: options.update(given))
    monkeypatch.setenv("DATABASE_URL", "postgresql://audit:s3cret@db.example:5432/westshire")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve", "--workers", "3"], catch_exceptions=False)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert options["workers"] == 3 and options["timeout_worker_healthcheck"] >= 60
    assert "s3cret" not in result.output
    assert (
        "Database: postgresql+psycopg://audit:***@db.example:5432/westshire; "
        "3 worker processes." in result.output
    )


# --- refused at once, in every process (both databases) ------------------------------


def test_a_revoked_token_is_refused_on_the_next_request_in_every_process(deployment, make_person):
    processes = deployment.processes()
    assert len(processes) == 4, deployment.logs()
    with signed_in(deployment.a, make_person(Role.AUDITOR)) as (client, csrf):
        token_id, token = new_token(client, csrf)
        assert answers(processes, f"{API}/auth/me", bearer(token)) == every(processes, 200)
        revoked = client.delete(f"{API}/auth/tokens/{token_id}", headers={"X-CSRF-Token": csrf})
        assert revoked.status_code == 204, revoked.text
    assert answers(processes, f"{API}/auth/me", bearer(token)) == every(processes, 401)


def test_a_disabled_person_is_refused_on_the_next_request_in_every_process(deployment, make_person):
    processes = deployment.processes()
    person = make_person(Role.AUDITOR)
    with signed_in(deployment.a, person) as (client, csrf):
        _id, token = new_token(client, csrf)
        cookie = {"Cookie": f"{SESSION_COOKIE}={client.cookies[SESSION_COOKIE]}"}
    for credential in (cookie, bearer(token)):
        assert answers(processes, f"{API}/auth/me", credential) == every(processes, 200)
    with httpx.Client(base_url=deployment.a.base, timeout=60) as admin:
        disabled = admin.post(f"{API}/users/{person.id}/disable", headers=deployment.admin)
        assert disabled.status_code == 200, disabled.text
    for credential in (cookie, bearer(token)):
        assert answers(processes, f"{API}/auth/me", credential) == every(processes, 401)


def test_a_removed_role_is_refused_on_the_next_request_in_every_process(deployment, make_person):
    processes = deployment.processes()
    person = make_person(Role.AUDITOR, Role.PRACTITIONER)
    with signed_in(deployment.a, person) as (client, csrf):
        _id, token = new_token(client, csrf)
    # The agencies are for anyone who reads audits: an auditor, not a practitioner.
    assert answers(processes, f"{API}/agencies", bearer(token)) == every(processes, 200)
    with httpx.Client(base_url=deployment.a.base, timeout=60) as admin:
        changed = admin.patch(
            f"{API}/users/{person.id}", json={"roles": ["practitioner"]}, headers=deployment.admin
        )
        assert changed.status_code == 200, changed.text
    assert answers(processes, f"{API}/agencies", bearer(token)) == every(processes, 403)
    assert answers(processes, f"{API}/auth/me", bearer(token)) == every(processes, 200)


# --- two instances, one PostgreSQL database ---------------------------------------------


@on_postgresql
def test_a_session_begun_on_one_instance_serves_and_ends_on_the_other(deployment, make_person):
    person = make_person(Role.AUDITOR)
    with httpx.Client(base_url=deployment.a.base, timeout=60) as on_a:
        shown = on_a.get("/sign-in")
        form_token = SIGN_IN_TOKEN.search(shown.text)
        assert form_token, shown.text
        given = {"email": person.email, "password": PASSWORD, "next": "/my-work"}
        password = on_a.post(
            "/sign-in", data={"csrf_token": form_token[1], **given}, follow_redirects=False
        )
        assert password.status_code == 303, password.text
        assert password.headers["location"].startswith("/sign-in/code")
        code = on_a.post(
            "/sign-in/code",
            data={"code": person.code(), "next": "/my-work"},
            follow_redirects=False,
        )
        assert code.status_code == 303 and code.headers["location"] == "/my-work", code.text

        cookie = {SESSION_COOKIE: on_a.cookies[SESSION_COOKIE]}
        with httpx.Client(base_url=deployment.b.base, cookies=cookie, timeout=60) as on_b:
            page = on_b.get("/my-work")
            assert page.status_code == 200 and "Signed in as Test Person" in page.text
            csrf = CSRF.search(page.text)
            assert csrf, page.text
            forged = on_b.post("/signed-in", data={}, follow_redirects=False)
            assert forged.status_code == 403, forged.text
            stayed = on_b.post("/signed-in", data={"csrf_token": csrf[1]}, follow_redirects=False)
            assert stayed.status_code == 303, stayed.text
            out = on_b.post("/sign-out", data={"csrf_token": csrf[1]}, follow_redirects=False)
            assert out.status_code == 303 and out.headers["location"] == "/sign-in", out.text

        # A still has the cookie; the session it names has ended.
        after = on_a.get("/my-work", follow_redirects=False)
        assert after.status_code == 303 and after.headers["location"].startswith("/sign-in")
        assert on_a.get(f"{API}/auth/me").status_code == 401


@on_postgresql
def test_briefings_published_on_both_instances_at_once_are_each_rendered_once(deployment):
    """Each publish kicks its own instance's renderer, so both look for queued versions
    at the same moment: the claim (an UPDATE from queued to rendering) lets one take
    each version, and the other never renders it."""
    settings = Settings(database_url=deployment.url, small_count_threshold=3)
    with session_scope(deployment.factory) as session:
        audit_id, _agency_id, moderator = _moderated_audit(session)
        chair, approver = actor_of(moderator), actor_of(another_approver(session))
        cookie = signed_in_cookie(session, moderator)
    version_ids = []
    with session_scope(deployment.factory) as session:
        for title in ("Report for the Executive", "Report for the subgroup"):
            version = workflow.create(
                session,
                audit=session.get(Audit, audit_id),
                kind=BriefingKind.SUBGROUP_REPORT,
                title=title,
                marking=Marking.OFFICIAL,
                public=False,
                actor=chair,
            )
            workflow.submit(
                session, version=version, actor=chair, settings=settings, confirm_small_counts=True
            )
            workflow.approve(
                session, version=version, actor=approver, settings=settings, check_read=True
            )
            version_ids.append(version.id)

    together = threading.Barrier(2)

    def publish(instance: served.Instance, version_id: int) -> int:
        with httpx.Client(
            base_url=instance.base, cookies={SESSION_COOKIE: cookie}, timeout=60
        ) as client:
            editor = client.get(f"/briefings/versions/{version_id}")
            csrf = CSRF.search(editor.text)
            assert csrf, editor.text
            together.wait(timeout=60)
            return client.post(
                f"/briefings/versions/{version_id}/publish",
                data={"csrf_token": csrf[1]},
                follow_redirects=False,
            ).status_code

    with ThreadPoolExecutor(2) as pool:
        published = list(pool.map(publish, (deployment.a, deployment.b), version_ids))
    assert published == [303, 303], deployment.logs()

    deadline = time.monotonic() + 180
    while True:
        with session_scope(deployment.factory) as session:
            statuses = session.scalars(
                select(BriefingVersion.render_status).where(BriefingVersion.id.in_(version_ids))
            ).all()
        if all(status == RenderStatus.DONE for status in statuses):
            break
        assert RenderStatus.FAILED not in statuses, deployment.logs()
        assert time.monotonic() < deadline, f"not rendered in time: {statuses}\n{deployment.logs()}"
        time.sleep(0.3)

    with session_scope(deployment.factory) as session:
        for version_id in version_ids:
            stored = session.scalars(
                select(BriefingDocument.id).where(BriefingDocument.version_id == version_id)
            ).all()
            assert len(stored) == 1, f"version {version_id} has {len(stored)} PDFs"
            steps = Counter(
                session.scalars(
                    select(AuditEvent.action).where(
                        AuditEvent.object_type == "briefing_version",
                        AuditEvent.object_id == version_id,
                    )
                ).all()
            )
            assert steps["briefing.publish"] == 1, steps
            assert steps["briefing.render_failed"] == 0, steps
    for instance in (deployment.a, deployment.b):
        assert instance.trouble() == [], instance.tail()


class SlowInbox(Inbox):
    """An SMTP server that takes a fifth of a second to accept each message, as a real
    relay may: a run's sending lasts long enough for the other host's to overlap it."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        await asyncio.sleep(0.2)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_inbox() -> Iterator[SlowInbox]:
    inbox = SlowInbox()
    inbox.port = served.free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@on_postgresql
def test_reminders_sent_from_two_hosts_at_once_reach_each_person_once(deployment, slow_inbox):
    first_day = clock.today() + timedelta(days=30)
    with session_scope(deployment.factory) as session:
        audit = make_audit(session, children=2, agencies_count=2)
        audit.returns_due_on = first_day + timedelta(days=5)
        auditors = {
            access.create_user(
                session,
                email=f"auditor{n}.agency{agency.id}@example.org",
                display_name=f"Auditor {n}",
                roles={Role.AUDITOR},
                agency_id=agency.id,
            ).email
            for agency in audit.agencies
            for n in range(3)
        }
    environment = {
        **deployment.a.environment,
        "AUDIT_SMTP_HOST": "127.0.0.1",
        "AUDIT_SMTP_PORT": str(slow_inbox.port),
        "AUDIT_SMTP_STARTTLS": "false",
    }
    # Two days, each sent by both hosts at once: a run's digests are spread over a second
    # or more by the slow server, and both runs start together, so their sending overlaps.
    for day in (first_day, first_day + timedelta(days=1)):
        slow_inbox.messages.clear()
        runs = [
            subprocess.Popen(
                served.command(
                    "reminders",
                    "send",
                    "--today",
                    day.isoformat(),
                    clock_seconds=deployment.clock_seconds,
                ),
                env=environment,
                cwd=served.ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _host in ("a", "b")
        ]
        try:
            outputs = [run.communicate(timeout=180)[0] for run in runs]
        finally:
            for run in runs:
                if run.poll() is None:  # timed out: not left running after the test
                    run.kill()
                    run.wait()
        received = Counter(message["To"] for message in slow_inbox.messages)
        assert [to for to, count in received.items() if count > 1] == [], (received, outputs)
        assert auditors <= set(received), (received, outputs)
        assert [run.returncode for run in runs] == [0, 0], outputs
        with session_scope(deployment.factory) as session:
            recorded = session.scalars(
                select(ReminderSent.email).where(ReminderSent.sent_on == day)
            ).all()
        assert sorted(recorded) == sorted(received), outputs
