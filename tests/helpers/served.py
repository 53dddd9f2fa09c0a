"""Real ``audit-tools serve`` processes on one database, as a deployment runs them.

``running(url, {"a": 1, "b": 1, "w": 2}, folder=...)`` starts one instance per name
(the number is its ``--workers``) on free ports of 127.0.0.1, configured as a
deployment is, by environment variables, waits until each answers ``/api/health`` with
all its workers started, and stops them at the end: SIGTERM, then whatever of an
instance is still running after STOP_SECONDS is killed (each instance is the leader of
a process group of its own, so its workers and PDF renderers go with it). Each
instance's output is kept in ``folder`` for the tests' assertion messages.

Under a moved clock (``--clock-ahead``) the instances run through
``tests.helpers.clocked`` with the same offset, so that they and the tests read one
time (their authenticator codes, say); otherwise they run the installed
``audit-tools`` itself.

A request reaches one of an instance's workers, chosen by whichever accepts the
connection first. ``Instance.processes()`` holds a keep-alive connection to each: it
connects until every worker has answered one, finding which worker answered from
/proc (the process holding the accepted socket), so a test can send "the very next
request" to each worker process in turn. Linux only.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from app.config import get_settings

ROOT = Path(__file__).resolve().parents[2]
AUDIT_TOOLS = Path(sys.executable).with_name("audit-tools")
# Generous: several instances start at once on two cores shared with the test run.
START_SECONDS = 120
STOP_SECONDS = 20
STARTED = "Application startup complete."
# What uvicorn's supervisor says when it kills or loses a worker
# (uvicorn/supervisors/multiprocess.py), and what an unhandled error prints.
TROUBLE = re.compile(r"died|not ready in time|failed to start|Traceback|ERROR")
_SERVER_PROCESS = re.compile(r"Started server process \[(\d+)\]")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command(*args: str, clock_seconds: float = 0.0) -> list[str]:
    """The command line to run ``audit-tools ARGS``, on the tests' clock."""
    if clock_seconds:
        return [sys.executable, "-m", "tests.helpers.clocked", str(clock_seconds), *args]
    return [str(AUDIT_TOOLS), *args]


def environment(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of an instance, or of a command run beside one: this process's,
    with the database, the test environment and ``settings`` (``AUDIT_*`` names)."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "AUDIT_ENVIRONMENT": "test",
        # Every instance signs CSRF tokens and opens data encrypted at rest with the
        # same key as the tests that made the data.
        "AUDIT_SECRET_KEY": get_settings().secret_key,
        # The tests sign many people in from 127.0.0.1: more than a person's 10 a minute.
        "AUDIT_SIGN_IN_MAX_PER_ADDRESS_PER_MINUTE": "1000",
        "PYTHONUNBUFFERED": "1",
        **settings,
    }


@dataclass
class Instance:
    name: str
    port: int
    workers: int
    process: subprocess.Popen
    log_path: Path
    environment: dict[str, str]
    _log_file: IO[bytes]
    killed: bool = False
    _pinned: dict[int, Pinned] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        """The end of the instance's output, for an assertion's message."""
        return f"--- {self.name}'s log ---\n" + "\n".join(self.log().splitlines()[-lines:])

    def trouble(self) -> list[str]:
        """Lines of the log that tell of a worker killed or lost, or of an error."""
        return [line for line in self.log().splitlines() if TROUBLE.search(line)]

    def worker_pids(self) -> list[int]:
        """The processes serving requests now: the workers the log says were started
        that are still running (with one worker, the instance's own process)."""
        found = [int(pid) for pid in _SERVER_PROCESS.findall(self.log())]
        return [pid for pid in found if _running(pid)]

    def processes(self) -> list[Pinned]:
        """A keep-alive connection to each worker process, in pid order."""
        wanted = self.worker_pids()
        tries = 0
        while set(wanted) - set(self._pinned):
            tries += 1
            if tries > 200:
                raise AssertionError(
                    f"no connection to {self.name}'s worker(s) "
                    f"{sorted(set(wanted) - set(self._pinned))} in 200 tries\n{self.tail()}"
                )
            connection, pid = self._connect()
            if pid in self._pinned or pid not in wanted:
                connection.close()
            else:
                self._pinned[pid] = Pinned(self, pid, connection)
        return [self._pinned[pid] for pid in sorted(self._pinned) if pid in wanted]

    def _connect(self) -> tuple[http.client.HTTPConnection, int | None]:
        """A new connection, its first request answered: which worker answered it."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        connection.request("GET", "/api/health")
        response = connection.getresponse()
        response.read()
        assert response.status == 200, f"{self.name}'s health: {response.status}\n{self.tail()}"
        client_port = connection.sock.getsockname()[1]
        return connection, _owner(self.worker_pids(), self.port, client_port)

    def connect_to(self, pid: int) -> http.client.HTTPConnection:
        """A new keep-alive connection answered by the worker ``pid``."""
        for _ in range(200):
            connection, owner = self._connect()
            if owner == pid:
                return connection
            connection.close()
        raise AssertionError(f"no connection to {self.name}'s worker {pid}\n{self.tail()}")

    def stop(self) -> None:
        """Ask the instance to stop (SIGTERM, as a service manager does); ``wait_stopped``
        waits for it."""
        for pinned in self._pinned.values():
            pinned.connection.close()
        if self.process.poll() is None:
            self.process.terminate()

    def wait_stopped(self) -> None:
        """Wait for the instance to stop; kill what is left of its process group after
        STOP_SECONDS (``killed`` then says so)."""
        deadline = time.monotonic() + STOP_SECONDS
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_SECONDS)
        # What the instance started may outlive it by a moment (multiprocessing's
        # resource tracker exits once its parent has); anything still there at the
        # deadline did not stop.
        while _group_alive(self.process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _group_alive(self.process.pid):
            self.killed = True
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._log_file.close()


class Pinned:
    """A keep-alive connection answered by one worker process of an instance. uvicorn
    closes a connection left idle for 5 s; a request that finds it closed is sent on a
    new connection to the same worker (the request never reached the old one)."""

    def __init__(self, instance: Instance, pid: int, connection: http.client.HTTPConnection):
        self.instance, self.pid, self.connection = instance, pid, connection

    @property
    def name(self) -> str:
        return f"{self.instance.name} (worker {self.pid})"

    def request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, body=None
    ) -> tuple[int, str]:
        """Send one request (``body`` as JSON); its status and body."""
        sent = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        if self.connection.sock is None:  # closed after a response that said so
            self.connection = self.instance.connect_to(self.pid)
        try:
            return self._send(method, path, data, sent)
        except (ConnectionError, http.client.BadStatusLine):
            self.connection.close()
            self.connection = self.instance.connect_to(self.pid)
            return self._send(method, path, data, sent)

    def _send(
        self, method: str, path: str, data: bytes | None, headers: dict[str, str]
    ) -> tuple[int, str]:
        self.connection.request(method, path, body=data, headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read().decode(errors="replace")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has stopped, whether reaped or not


def _owner(pids: list[int], server_port: int, client_port: int) -> int | None:
    """Which of ``pids`` holds the server's end of the connection from ``client_port``:
    the socket's inode from /proc/net/tcp, then the process with it open."""
    local, remote = f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}"
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[1] == local and parts[2] == remote:
            inode = parts[9]
            break
    if inode is None:
        return None
    for pid in pids:
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
        except FileNotFoundError:
            continue
        for fd in descriptors:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return pid
            except FileNotFoundError:
                continue
    return None


@contextmanager
def running(
    database_url: str,
    workers: Mapping[str, int],
    *,
    folder: Path,
    clock_seconds: float = 0.0,
    settings: Mapping[str, str] | None = None,
) -> Iterator[dict[str, Instance]]:
    """Start an instance per name in ``workers`` on ``database_url``, wait until every
    worker of each is serving, and stop them all at the end."""
    env = environment(database_url, **(settings or {}))
    instances: dict[str, Instance] = {}
    try:
        for name, count in workers.items():
            port = free_port()
            log_path = folder / f"{name}.log"
            log_file = log_path.open("wb")
            process = subprocess.Popen(
                [
                    *command("serve", clock_seconds=clock_seconds),
                    *("--host", "127.0.0.1", "--port", str(port), "--workers", str(count)),
                ],
                env=env,
                cwd=ROOT,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a process group of its own, to stop it whole
            )
            instances[name] = Instance(name, port, count, process, log_path, env, log_file)
        deadline = time.monotonic() + START_SECONDS
        for instance in instances.values():
            _wait_until_serving(instance, deadline)
        yield instances
    finally:
        for instance in instances.values():
            instance.stop()
        for instance in instances.values():
            instance.wait_stopped()


def _wait_until_serving(instance: Instance, deadline: float) -> None:
    while True:
        if instance.process.poll() is not None:
            raise RuntimeError(f"{instance.name} stopped while starting\n{instance.tail()}")
        if instance.log().count(STARTED) >= instance.workers:
            try:
                with urllib.request.urlopen(f"{instance.base}/api/health", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{instance.name} was not serving after {START_SECONDS} s\n{instance.tail()}"
            )
        time.sleep(0.2)
