"""Requests per second and latency of the read API, against a naive FastAPI baseline.

Builds a database with the migrations, loads the demo partnership and a larger
synthetic set of audits, serves the app with uvicorn on 127.0.0.1 (one worker,
uvloop, httptools) and drives it with 16 keep-alive HTTP/1.1 connections for:

* ``GET /api/v1/returns/{id}``: one submitted return with its answers and grades;
* ``GET /api/v1/audits/{id}/progress``: the demo audit's progress view;
* ``GET /api/v1/audits/{id}/returns?per_page=50``: a page of 50 returns (largest audit).

In the same run it measures a separate bare FastAPI app with a ``def`` endpoint that
reads 50 returns with the ORM the naive way (sync session dependency, ORM rows as
dicts through ``jsonable_encoder``), and an ``async def`` endpoint returning a small
dict as the ceiling. Each of ours is printed as a ratio to the naive endpoint; the aim
is at least 2x and p95 under 50 ms. Missing the aim never fails the run (machines are
shared and noisy); non-200 responses or a server that will not start exit non-zero.

    .venv/bin/python bench/api.py                      # SQLite file in a temp dir
    .venv/bin/python bench/api.py --seconds 3 --audits 10 --json
    .venv/bin/python bench/api.py --database-url postgresql+psycopg://u:p@host/empty_db
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import uvloop
from alembic import command
from alembic.config import Config
from fastapi import Depends, FastAPI
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from app.access import service as access
from app.access.models import Role
from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.demo import load_demo, load_large
from app.main import create_app
from app.returns.models import Return, ReturnStatus

ROOT = Path(__file__).resolve().parent.parent
BENCH_SECRET = secrets.token_urlsafe(32)  # a throwaway key for this run
URL_ENV = "BENCH_DATABASE_URL"
HOST = "127.0.0.1"
REQUEST_TIMEOUT = 10.0
AIM_RATIO, AIM_P95_MS = 2.0, 50.0


def real_app() -> FastAPI:
    return create_app(
        Settings(
            database_url=os.environ[URL_ENV], environment="production", secret_key=BENCH_SECRET
        )
    )


def naive_app() -> FastAPI:
    """The baseline: what a first FastAPI + SQLAlchemy endpoint usually looks like."""
    factory = make_sessionmaker(make_engine(os.environ[URL_ENV]))
    app = FastAPI()

    def get_db() -> Iterator[Session]:
        session = factory()
        try:
            yield session
        finally:
            session.close()

    @app.get("/naive/audits/{audit_id}/returns")
    def naive_returns(audit_id: int, session: Session = Depends(get_db)):
        rows = session.scalars(select(Return).where(Return.audit_id == audit_id).limit(50)).all()
        return [{c.name: getattr(r, c.name) for c in Return.__table__.columns} for r in rows]

    @app.get("/bare")
    async def bare():
        return {"status": "ok", "service": "bare"}

    return app


def prepare_database(url: str, audits: int, children: int) -> dict[str, int]:
    """Migrate, load the demo and the large set; return the ids the scenarios use."""
    engine = make_engine(url)
    try:
        if inspect(engine).get_table_names():
            raise SystemExit(f"error: the database at {engine.url!r} is not empty")
        with engine.begin() as connection:
            config = Config(str(ROOT / "alembic.ini"))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        started = time.perf_counter()
        with session_scope(make_sessionmaker(engine)) as session:
            demo = load_demo(session)
            load_large(session, audits_count=audits, children=children)
            demo_id = demo.id
            # A moderator sees every return; requests carry an API token, as a script would.
            reader = access.create_user(
                session,
                email="bench.moderator@example.org",
                display_name="Benchmark",
                roles={Role.MODERATOR},
            )
            _row, token = access.create_token(session, user=reader, name="bench", days=1)
        with session_scope(make_sessionmaker(engine)) as session:
            return_id = session.scalar(
                select(Return.id)
                .where(Return.audit_id == demo_id, Return.status == ReturnStatus.SUBMITTED)
                .order_by(Return.id)
                .limit(1)
            )
            count = func.count(Return.id)
            largest, size = session.execute(
                select(Return.audit_id, count)
                .group_by(Return.audit_id)
                .order_by(count.desc(), Return.audit_id)
                .limit(1)
            ).one()
            total = session.scalar(select(func.count(Return.id)))
        print(
            f"loaded demo + {audits} audits ({total} returns) in "
            f"{time.perf_counter() - started:.1f} s; return {return_id}, demo audit {demo_id}, "
            f"largest audit {largest} ({size} returns)"
        )
        if size < 50:
            print("note: the largest audit has fewer than 50 returns; raise --children")
        return {
            "return": return_id,
            "demo_audit": demo_id,
            "largest_audit": largest,
            "token": token,
        }
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def serve(factory: str, url: str, probe: str, log: Path, servers: list) -> int:
    """Start uvicorn on a free port in a subprocess (kept in ``servers``); wait until up."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "--factory", f"bench.api:{factory}"]
    cmd += ["--app-dir", str(ROOT), "--host", HOST, "--port", str(port), "--loop", "uvloop"]
    cmd += ["--http", "httptools", "--log-level", "warning", "--no-access-log"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, URL_ENV: url}, stdout=out, stderr=subprocess.STDOUT
        )
    servers.append(proc)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}{probe}", timeout=2) as response:
                if response.status == 200:
                    return port
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{factory} did not start; its log:\n{log.read_text()[-2000:]}")


def settle(pid: int, *, idle: float = 0.1, longest: float = 60.0) -> None:
    """Wait until the server has stopped working on its own (under ``idle`` of a core
    for a second and a half). It answers as soon as it starts, but builds the
    identification check's analyzer in a background thread for some seconds (a pause
    to read its files from disk is not the end of it), and requests timed meanwhile,
    its own or another server's on the same cores, would pay for the start."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():  # not Linux: wait as long as the analyzer took here
        time.sleep(15)
        return
    ticks = os.sysconf("SC_CLK_TCK")

    def used() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime, seconds

    deadline = time.monotonic() + longest
    before, quiet = used(), 0
    while time.monotonic() < deadline and quiet < 3:
        time.sleep(0.5)
        now = used()
        quiet = quiet + 1 if now - before < idle * 0.5 else 0
        before = now


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    sample_error: str = ""
    elapsed: float = 0.0


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:
        raise ValueError("response without Content-Length")
    return status, await reader.readexactly(length)


async def connection(port: int, request: bytes, deadline: float, stats: Stats) -> None:
    """One keep-alive connection sending requests back to back until the deadline."""
    writer = None
    while time.perf_counter() < deadline:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                if writer is None:
                    reader, writer = await asyncio.open_connection(HOST, port)
                started = time.perf_counter()
                writer.write(request)
                status, body = await read_response(reader)
        except (OSError, ValueError, TimeoutError, asyncio.IncompleteReadError) as exc:
            stats.errors += 1
            stats.sample_error = stats.sample_error or repr(exc)
            if writer is not None:
                writer.close()
            writer = None
            continue
        stats.latencies.append(time.perf_counter() - started)
        if status != 200:
            stats.errors += 1
            stats.sample_error = stats.sample_error or f"{status}: {body[:200]!r}"
    if writer is not None:
        writer.close()


async def load(
    port: int, path: str, seconds: float, connections: int, token: str | None = None
) -> Stats:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{auth}Accept: */*\r\n\r\n".encode()
    stats = Stats()
    started = time.perf_counter()
    tasks = [connection(port, request, started + seconds, stats) for _ in range(connections)]
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=seconds + REQUEST_TIMEOUT + 5)
    stats.elapsed = time.perf_counter() - started
    return stats


def run_load(
    port: int, path: str, seconds: float, connections: int, token: str | None = None
) -> Stats:
    return uvloop.run(load(port, path, seconds, connections, token))


def percentile(ordered: list[float], pct: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def summarise(name: str, path: str, stats: Stats) -> dict:
    ordered = sorted(stats.latencies)
    return {
        "scenario": name,
        "path": path,
        "requests": len(ordered),
        "rps": len(ordered) / stats.elapsed,
        "p50_ms": percentile(ordered, 50) * 1000,
        "p95_ms": percentile(ordered, 95) * 1000,
        "p99_ms": percentile(ordered, 99) * 1000,
        "errors": stats.errors,
        "sample_error": stats.sample_error,
    }


def print_table(results: list[dict]) -> None:
    naive = next(r["rps"] for r in results if r["scenario"] == "naive ORM, 50 rows")
    header = f"{'scenario':<28}{'requests':>9}{'req/s':>9}{'p50 ms':>8}{'p95 ms':>8}"
    print(f"\n{header}{'p99 ms':>8}{'errors':>7}{'x naive':>8}  aim")
    for r in results:
        r["ratio"] = r["rps"] / naive if naive else float("nan")
        aim = ""
        if r["ours"]:
            r["meets_aim"] = r["ratio"] >= AIM_RATIO and r["p95_ms"] < AIM_P95_MS
            aim = "meets aim" if r["meets_aim"] else "below aim"
        print(
            f"{r['scenario']:<28}{r['requests']:>9}{r['rps']:>9.0f}{r['p50_ms']:>8.1f}"
            f"{r['p95_ms']:>8.1f}{r['p99_ms']:>8.1f}{r['errors']:>7}{r['ratio']:>8.2f}  {aim}"
        )
    print(f"aim: >= {AIM_RATIO:.0f}x the naive endpoint's req/s and p95 < {AIM_P95_MS:.0f} ms")
    for r in results:
        if r["sample_error"]:
            print(f"first error in {r['scenario']}: {r['sample_error']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="an empty database (default: temp SQLite)")
    parser.add_argument("--audits", type=int, default=30, help="audits in the large set")
    parser.add_argument("--children", type=int, default=16, help="children per large audit")
    parser.add_argument("--seconds", type=float, default=5.0, help="per scenario")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds, per scenario")
    parser.add_argument(
        "--postgresql",
        action="store_true",
        help="start a throwaway PostgreSQL cluster and measure against it",
    )
    parser.add_argument("--runs", type=int, default=1, help="measure every scenario N times")
    parser.add_argument("--json", action="store_true", help="also print results as JSON")
    args = parser.parse_args(argv)

    cluster = None
    with tempfile.TemporaryDirectory(prefix="case-audit-bench-") as tmp:
        # The audit log's checkpoints (here and in the servers) go to the temporary
        # folder, never into the checkout's var/.
        os.environ["AUDIT_AUDIT_CHECKPOINT_PATH"] = f"{tmp}/audit-checkpoints.log"
        get_settings.cache_clear()
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        if args.postgresql:
            sys.path.insert(0, str(ROOT))
            from tests.helpers import pg_cluster  # the test suite's throwaway cluster

            cluster = pg_cluster.start()
            url = cluster.create_database("bench")
        try:
            runs = _measure(args, url, tmp)
        finally:
            if cluster is not None:
                cluster.stop()
    for number, results in enumerate(runs, 1):
        if len(runs) > 1:
            print(f"\nrun {number} of {len(runs)}", end="")
        print_table(results)
    if len(runs) > 1:
        print_summary(runs)
    if args.json:
        print(json.dumps({"connections": args.connections, "runs": runs}, indent=2))
    return 1 if any(r["errors"] for results in runs for r in results) else 0


def _measure(args: argparse.Namespace, url: str, tmp: str) -> list[list[dict]]:
    ids = prepare_database(url, args.audits, args.children)
    servers: list[subprocess.Popen] = []
    runs: list[list[dict]] = []
    try:
        ports = {
            factory: serve(factory, url, probe, Path(tmp) / f"{factory}.log", servers)
            for factory, probe in (("naive_app", "/bare"), ("real_app", "/api/health"))
        }
        for proc in servers:  # nothing measured while a server is still starting up
            settle(proc.pid)
        scenarios = [
            ("bare async JSON (ceiling)", "naive_app", "/bare", False),
            ("naive ORM, 50 rows", "naive_app", f"/naive/audits/{ids['largest_audit']}/returns", False),
            ("GET return", "real_app", f"/api/v1/returns/{ids['return']}", True),
            ("GET audit progress", "real_app", f"/api/v1/audits/{ids['demo_audit']}/progress", True),
            ("GET 50 returns", "real_app", f"/api/v1/audits/{ids['largest_audit']}/returns?per_page=50", True),
        ]  # fmt: skip
        for _run in range(args.runs):
            results = []
            for name, factory, path, ours in scenarios:
                print(f"{name}: {path} ...", flush=True)
                token = ids["token"] if ours else None
                if args.warmup > 0:
                    run_load(ports[factory], path, args.warmup, args.connections, token)
                stats = run_load(ports[factory], path, args.seconds, args.connections, token)
                results.append({**summarise(name, path, stats), "ours": ours})
            runs.append(results)
    finally:
        for proc in servers:
            stop(proc)
    return runs


def print_summary(runs: list[list[dict]]) -> None:
    """Each of our scenarios over the runs: the range of its ratio and of its p95."""
    print(f"\nover {len(runs)} runs{'':<14}{'x naive':>16}{'p95 ms':>16}  aim met")
    for index, first in enumerate(runs[0]):
        if not first["ours"]:
            continue
        ratios = [results[index]["ratio"] for results in runs]
        p95s = [results[index]["p95_ms"] for results in runs]
        met = sum(bool(results[index].get("meets_aim")) for results in runs)
        print(
            f"{first['scenario']:<28}{min(ratios):>8.2f}-{max(ratios):<7.2f}"
            f"{min(p95s):>8.1f}-{max(p95s):<7.1f}  {met} of {len(runs)}"
        )


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
