"""A load test with locust: 50 people in an audit month, then the same with two
briefings rendering at once; p95 per page in each phase.

The driver builds a database (a throwaway PostgreSQL cluster by default, the real
deployment; ``--sqlite`` or ``--database-url`` otherwise), migrates it, loads the demo
partnership and what 50 people need to work on at once (see ``MIX``), serves the app as
``audit-tools serve --workers 2`` does (two web processes, each rendering published
briefings in the background in its own render worker process; or, with
``--renderers 2``, as docker-compose.yml does with its renderer scaled to two: web
processes that do not render, and two ``audit-tools renderer`` processes), signs
everyone in through the pages (password, then the authenticator code, each person
from an address of their own as a reverse proxy reports it) and runs ``locust``
headless on loopback with ``bench/locustfile.py`` in two phases:

1. steady load: the mix below, think time 1-3 s per person;
2. the same load while two briefings render at once for the whole phase: approved
   versions are published, always with two more queued than are rendering, so each
   dispatcher takes the next as soon as it has finished one; each is withdrawn once
   published (in the database, not through the server), so the library practitioners
   browse is the same size in both phases. By default each web process renders (as
   ``serve`` does), and versions are published through the pages (the button a person
   presses, which wakes the dispatcher of the web process that answers). With
   ``--renderers 2`` the web processes do not render, two ``audit-tools renderer``
   processes do, and versions are queued in the database as the button does: the
   phase then adds the renders, and nothing else, to the web processes' load.

With ``--control`` nothing renders in phase 2 either: each page's ratio then shows how
far its p95 moves between two phases alike, the noise the aim is read against.

Each phase measures ``--seconds`` from the moment every user has started (locust's
``--reset-stats``). With ``--rounds N`` the two phases alternate N times and each
page's times are pooled per phase: noise from other work on a shared machine then
falls on both. It prints per page: requests, failures, median and p95 in each phase
and the ratio of the p95s, "meets aim" when p95 < 500 ms in both and the rise is
at most 20%; the renders made in phase 2; and where the machine's CPU went in each
phase (web processes, render workers, PostgreSQL, locust, everything else) with the
load average. A missed aim never fails the run (machines are noisy); a failed request
(any status but the one the page should answer), a user's round that raised, a failed
render or a server that will not start exits non-zero.

The mix (``MIX``, for 50 users; scaled for ``--users``): in the weeks before a return
deadline most people in the service are agency auditors drafting returns: an audit runs
across 5-10 agencies with 2-5 auditors each, so 30 auditors in six agencies, two
returns each. A QAPP moderation meeting is a chair and a handful of moderators: 8, each
taking a child of their own in an audit in moderation (two people deciding one child's
grades at once is refused as a conflict, rightly, but a meeting shares out its
children). The other 12 are practitioners reading and downloading published
briefings. What each person does, and how often, is in ``bench/locustfile.py``.

    .venv/bin/python bench/load.py                   # PostgreSQL, 60 s per phase
    .venv/bin/python bench/load.py --renderers 2     # PDFs made beside the web processes
    .venv/bin/python bench/load.py --rounds 3 --seconds 30
    .venv/bin/python bench/load.py --control --rounds 4   # both phases steady: the noise
    .venv/bin/python bench/load.py --sqlite --seconds 20 --users 20
    .venv/bin/python bench/load.py --database-url postgresql+psycopg://u:p@host/empty_db
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import get_settings  # noqa: E402
from app.db import make_engine, make_sessionmaker  # noqa: E402
from bench.api import free_port  # noqa: E402
from bench.load_data import prepare  # noqa: E402
from bench.load_server import (  # noqa: E402
    COOKIE,
    HOST,
    Renders,
    renderers,
    serve,
    sign_everyone_in,
    stop,
    two_renders,
)

MIX = {"auditor": 30, "moderator": 8, "practitioner": 12}
AIM_P95_MS, AIM_RISE = 500.0, 1.20
# A render's whole cycle (HTML, PDF, the check of the PDF) takes about 0.5 s on a quiet
# machine, more under load: phase 2 (and its start) never needs more approved versions
# than two dispatchers at 0.4 s each.
FASTEST_RENDER_S = 0.4


def role_counts(users: int) -> dict[str, int]:
    """``MIX`` scaled to ``users``, at least one of each; auditors take the rounding."""
    counts = {role: max(1, round(users * n / sum(MIX.values()))) for role, n in MIX.items()}
    counts["auditor"] = users - counts["moderator"] - counts["practitioner"]
    if counts["auditor"] < 1:
        raise SystemExit("error: --users must be at least 3 (one of each kind of person)")
    return counts


# --- where the CPU went --------------------------------------------------------------------


def own(proc: psutil.Process, children: bool = False) -> float:
    """CPU seconds of a process (or of its children it has waited for)."""
    try:
        times = proc.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    if children:
        return times.children_user + times.children_system
    return times.user + times.system


def cpu_reading(
    server: subprocess.Popen, postmaster: int | None, renderers: list[subprocess.Popen]
) -> dict[str, float]:
    """CPU seconds used so far, by group. A web process's waited-for children (render
    workers retired after ``renders_per_worker`` renders, pdftotext, pdfinfo) count with
    the live render workers; PostgreSQL's ended backends with its live ones; locust once
    it has ended (this driver waits for it)."""
    used = {"web processes": 0.0, "render workers, PDF tools": 0.0}
    for web in psutil.Process(server.pid).children():
        used["web processes"] += own(web)
        used["render workers, PDF tools"] += own(web, children=True)
        used["render workers, PDF tools"] += sum(map(own, web.children(recursive=True)))
    for proc in map(psutil.Process, (r.pid for r in renderers)):
        used["renderer processes"] = used.get("renderer processes", 0.0) + own(proc)
        used["render workers, PDF tools"] += own(proc, children=True)
        used["render workers, PDF tools"] += sum(map(own, proc.children(recursive=True)))
    if postmaster is not None:
        top = psutil.Process(postmaster)
        used["PostgreSQL"] = own(top) + own(top, children=True) + sum(map(own, top.children()))
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    used["locust"] = reaped.ru_utime + reaped.ru_stime
    mine = resource.getrusage(resource.RUSAGE_SELF)
    used["this driver (publishing)"] = mine.ru_utime + mine.ru_stime
    machine = psutil.cpu_times()
    stolen = getattr(machine, "steal", 0.0)
    used["machine"] = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0) - stolen
    used["steal"] = stolen
    return used


# --- the phases ----------------------------------------------------------------------------


def percentile(times: dict[int, int], fraction: float) -> float:
    """The time ``fraction`` of requests took at most, from locust's histogram (times
    rounded to 2 significant figures above 100 ms), as locust reports it."""
    total = sum(times.values())
    if not total:
        return math.nan
    seen = 0
    for ms in sorted(times, reverse=True):
        seen += times[ms]
        if total - seen <= int(total * fraction):
            return ms
    return 0.0


@dataclass
class Phase:
    """A phase's figures, pooled over the rounds."""

    name: str
    times: dict[str, dict[int, int]] = field(default_factory=dict)  # page: {ms: requests}
    failed: dict[str, int] = field(default_factory=dict)  # page: failed requests
    errors: list[str] = field(default_factory=list)
    crashed: int = 0  # tasks that raised, so never made their requests
    cpu: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    runs: list[str] = field(default_factory=list)  # each run's p95 and load average

    def page(self, name: str | None = None) -> dict:
        """A page's requests, failures, median and p95; with no name, every request's."""
        if name is None:
            times: dict[int, int] = {}
            for page in self.times.values():
                for ms, n in page.items():
                    times[ms] = times.get(ms, 0) + n
        else:
            times = self.times.get(name, {})
        return {
            "requests": sum(times.values()),
            "failures": sum(self.failed.values()) if name is None else self.failed.get(name, 0),
            "median": percentile(times, 0.5),
            "p95": percentile(times, 0.95),
        }


def run_locust(phase: Phase, round_: int, args, base: str, plan: Path, out: Path, procs) -> None:
    """One headless locust run: every user started at ``--spawn-rate``, the statistics
    reset once they all have, then ``--seconds`` of load; its figures added to ``phase``."""
    name = f"{phase.name}-{round_}"
    ramp = math.ceil(args.users / args.spawn_rate) + 1
    cmd = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py")]
    cmd += ["--headless", "-u", str(args.users), "-r", str(args.spawn_rate)]
    cmd += ["-t", f"{args.seconds + ramp}s", "--reset-stats", "--host", base, "--only-summary"]
    cmd += ["--csv", str(out / name), "--json-file", str(out / name), "--exit-code-on-error", "0"]
    before, load, started = cpu_reading(*procs), os.getloadavg()[0], time.monotonic()
    done = subprocess.run(
        cmd,
        cwd=ROOT,
        env={**os.environ, "LOAD_PLAN": str(plan)},
        capture_output=True,
        text=True,
        timeout=args.seconds + ramp + 120,
        check=False,
    )
    phase.seconds += time.monotonic() - started
    after = cpu_reading(*procs)
    for group in after:
        phase.cpu[group] = phase.cpu.get(group, 0.0) + after[group] - before[group]
    (out / f"{name}.log").write_text(done.stdout + done.stderr)
    stats = out / f"{name}.json"
    if done.returncode != 0 or not stats.exists():
        raise RuntimeError(f"locust failed ({done.returncode}):\n{done.stderr[-3000:]}")
    run: dict[int, int] = {}
    for entry in json.loads(stats.read_text()):
        times = phase.times.setdefault(entry["name"], {})
        for ms, n in entry["response_times"].items():
            times[int(ms)] = times.get(int(ms), 0) + n
            run[int(ms)] = run.get(int(ms), 0) + n
        phase.failed[entry["name"]] = phase.failed.get(entry["name"], 0) + entry["num_failures"]
    with (out / f"{name}_failures.csv").open() as rows:
        phase.errors += [
            f"{r['Method']} {r['Name']}: {r['Error']} (x{r['Occurrences']})"
            for r in csv.DictReader(rows)
        ]
    with (out / f"{name}_exceptions.csv").open() as rows:  # a user's task that crashed
        crashes = [f"{r['Message']} (x{r['Count']})" for r in csv.DictReader(rows)]
    phase.crashed += len(crashes)
    phase.errors += [f"locust task crashed: {crash}" for crash in crashes]
    phase.runs.append(
        f"p95 {percentile(run, 0.95):.0f} ms, load average {load:.2f} -> {os.getloadavg()[0]:.2f}"
        f", stolen {after['steal'] - before['steal']:.1f} s"
    )


# --- the report ----------------------------------------------------------------------------


def ratio(steady: float, renders: float) -> float:
    return renders / steady if steady else math.nan


def meets(steady: dict, renders: dict) -> bool:
    p95s = (steady["p95"], renders["p95"])
    return max(p95s) < AIM_P95_MS and ratio(*p95s) <= AIM_RISE


def share(seconds: float, phase: Phase, cores: int) -> str:
    return f"{seconds:>8.1f} ({seconds / phase.seconds / cores:>4.0%})"


def print_report(steady: Phase, renders: Phase, made: Renders, sign_in_s: float) -> None:
    second = "two briefings rendering" if renders.name == "renders" else "the same (control)"
    print(f"\n{'':<34}{'steady load':<30}| {second:<30}|")
    columns = f"{'requests':>9}{'fails':>6}{'median':>7}{'p95':>7} "
    print(f"{'page (times in ms)':<34}{columns}|{columns}|{'p95 x':>6}  aim")
    for name in [*sorted(steady.times), None]:
        one, two = steady.page(name), renders.page(name)
        cells = [
            f"{p['requests']:>9}{p['failures']:>6}{p['median']:>7.0f}{p['p95']:>7.0f} "
            for p in (one, two)
        ]
        aim = "meets aim" if meets(one, two) else "below aim"
        if renders.name == "control":  # no renders: how far a page moves by chance
            aim = "within 20%" if meets(one, two) else "moved over 20%"
        label = name or "all requests"
        print(f"{label:<34}{cells[0]}|{cells[1]}|{ratio(one['p95'], two['p95']):>6.2f}  {aim}")
    print(
        f"aim: p95 < {AIM_P95_MS:.0f} ms for every page in both phases, rising by at most "
        f"{AIM_RISE - 1:.0%} while two briefings render"
    )
    for phase in (steady, renders):
        for n, run in enumerate(phase.runs, 1):
            print(f"{phase.name}, round {n}: all requests {run}")
    seconds = sorted(made.seconds)
    if seconds:
        both = sum(1 for n in made.looks if n >= 2) / len(made.looks)
        print(
            f"renders in phase 2: {made.published} published in {renders.seconds:.0f} s, "
            f"each {statistics.median(seconds):.2f} s median and "
            f"{seconds[math.ceil(0.95 * len(seconds)) - 1]:.2f} s p95 from claim to "
            f"publication; two rendering at {both:.0%} of looks; {len(made.failed)} failed"
        )
    if made.ran_out:
        print("note: phase 2 ran out of approved versions to publish: lower FASTEST_RENDER_S")
    cores = psutil.cpu_count() or 1
    print(
        f"\n{'CPU seconds (share of ' + str(cores) + ' cores)':<40}{'steady':>16}{renders.name:>16}"
    )
    for group in steady.cpu:
        if group not in ("machine", "steal"):
            print(
                f"{group:<40}{share(steady.cpu[group], steady, cores):>16}"
                f"{share(renders.cpu[group], renders, cores):>16}"
            )
    rest = [
        p.cpu["machine"] - sum(v for k, v in p.cpu.items() if k not in ("machine", "steal"))
        for p in (steady, renders)
    ]
    print(
        f"{'everything else on the machine':<40}{share(rest[0], steady, cores):>16}"
        f"{share(rest[1], renders, cores):>16}"
    )
    print(
        f"{'stolen: the host ran something else':<40}"
        f"{share(steady.cpu['steal'], steady, cores):>16}"
        f"{share(renders.cpu['steal'], renders, cores):>16}"
    )
    print(f"signing in through the pages, before the phases: median {sign_in_s:.2f} s each")
    for phase in (steady, renders):
        for error in phase.errors[:10]:
            print(f"failed in {phase.name}: {error}")
    for failure in made.failed[:10]:
        print(f"render failed: {failure}")


# --- the run -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database-url", help="an empty database (default: a throwaway PostgreSQL)")
    where.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead")
    parser.add_argument("--users", type=int, default=sum(MIX.values()))
    parser.add_argument("--spawn-rate", type=float, default=10, help="users started a second")
    parser.add_argument("--seconds", type=int, default=60, help="measured, per phase and round")
    parser.add_argument("--rounds", type=int, default=1, help="times the two phases alternate")
    parser.add_argument("--workers", type=int, default=2, help="web processes")
    parser.add_argument(
        "--renderers",
        type=int,
        default=0,
        help="renderer processes (audit-tools renderer) beside web processes that do not "
        "render; 0 (the default): each web process renders, as serve does by default",
    )
    parser.add_argument(
        "--renderer-cpus",
        type=lambda text: {int(cpu) for cpu in text.split(",")},
        help="CPUs the renderer processes may use, e.g. 1 (as docker-compose's cpuset)",
    )
    parser.add_argument(
        "--control",
        action="store_true",
        help="nothing renders in the second phase either: how much each page's p95 moves "
        "between two phases alike (the noise the aim is read against)",
    )
    parser.add_argument("--out", type=Path, help="keep locust's files and the logs here")
    args = parser.parse_args(argv)
    counts = role_counts(args.users)
    tmp = Path(tempfile.mkdtemp(prefix="case-audit-load-"))
    out = args.out or tmp
    out.mkdir(parents=True, exist_ok=True)
    # The server reads its settings from the environment, as in production; the data
    # loaded here is signed and encrypted with the same keys.
    os.environ.update(
        AUDIT_ENVIRONMENT="production",
        AUDIT_SECRET_KEY=secrets.token_urlsafe(48),
        AUDIT_AUDIT_CHECKPOINT_PATH=str(tmp / "audit-checkpoints.log"),
    )
    cluster = None
    steady, made = Phase("steady"), Renders()
    renders = Phase("control" if args.control else "renders")
    try:
        if args.database_url:
            url = args.database_url
        elif args.sqlite:
            url = f"sqlite:///{tmp}/load.db"
        else:
            from tests.helpers import pg_cluster

            cluster = pg_cluster.start()
            url = cluster.create_database("load")
        os.environ["DATABASE_URL"] = url
        get_settings.cache_clear()
        started = time.monotonic()
        fodder = math.ceil(2 * args.rounds * (args.seconds + 30) / FASTEST_RENDER_S)
        plan = prepare(url, counts, fodder)
        print(
            f"prepared {', '.join(f'{n} {r}s' for r, n in counts.items())} and {fodder} approved "
            f"briefing versions to publish in {time.monotonic() - started:.0f} s "
            f"({'PostgreSQL' if 'postgresql' in url else 'SQLite'})",
            flush=True,
        )
        port = free_port()
        base = f"http://{HOST}:{port}"
        os.environ["AUDIT_PUBLIC_URL"] = base
        if args.renderers:
            os.environ["AUDIT_RENDER_IN_BACKGROUND"] = "false"
        server = serve(port, args.workers, out / "server.log")
        rendering: list[subprocess.Popen] = []
        engine = make_engine(url)
        try:
            if args.renderers:
                rendering = renderers(args.renderers, out / "renderers.log", args.renderer_cpus)
            sign_in_s = sign_everyone_in(base, plan)
            plan_path = tmp / "plan.json"
            plan_path.write_text(json.dumps({**plan, "cookie": COOKIE}))
            postmaster = None
            if cluster is not None:
                postmaster = int(
                    (cluster.folder / "data" / "postmaster.pid").read_text().split()[0]
                )
            procs = (server, postmaster, rendering)
            for round_ in range(1, args.rounds + 1):
                print(
                    f"round {round_}: {args.users} users, steady, {args.seconds} s ...", flush=True
                )
                run_locust(steady, round_, args, base, plan_path, out, procs)
                if args.control:
                    print(f"round {round_}: the same again, nothing rendering ...", flush=True)
                    run_locust(renders, round_, args, base, plan_path, out, procs)
                    continue
                print(f"round {round_}: the same, two briefings rendering ...", flush=True)
                with two_renders(
                    base, plan, make_sessionmaker(engine), made, press=not args.renderers
                ):
                    run_locust(renders, round_, args, base, plan_path, out, procs)
        finally:
            engine.dispose()
            for proc in (server, *rendering):
                stop(proc)
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print_report(steady, renders, made, sign_in_s)
    failed = any(phase.page()["failures"] or phase.crashed for phase in (steady, renders))
    return 1 if failed or made.failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
