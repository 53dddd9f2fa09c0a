"""A page's wake-ups beside renders: what two briefings rendering cost a page's many
short hand-offs, with the render workers as the service runs them (app/serving.py).

A "page" here is 20 round trips through a socket to a second process, each with a few
tens of microseconds of work on both sides: the shape of a page's statements to the
database, without the database. The probe counts itself on a serving board while it
runs, as a web process counts its requests, with 3 ms between pages. Beside it, two
processes render a briefing-sized document with WeasyPrint in a loop, at Linux's idle
priority and pausing while a page is counted, exactly as render workers do. Three
settings alternate, several times, in one run:

- none: nothing renders (the baseline);
- two seats: both render at once (``AUDIT_RENDERS_AT_ONCE=2``);
- one seat: they take turns (``AUDIT_RENDERS_AT_ONCE=1``, the default on two CPUs).

It prints each setting's median, p95 and p99 page time and their ratio to the
baseline, and the render loops' documents finished. Why it exists: the load test
(bench/load.py) measures the whole service, and on a shared virtual machine its phases
move by more than this effect; here the settings alternate every few seconds, so the
host's slow spells fall on all of them alike.

    .venv/bin/python bench/wakeups.py [--rounds 3] [--seconds 8]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import serving  # noqa: E402

ROUND_TRIPS = 20  # a page's statements
WORK = 1000  # loop steps of work each side of a round trip (tens of microseconds)
BETWEEN_PAGES = 0.003
SETTINGS = (("none", 0, 1), ("two seats", 2, 2), ("one seat", 2, 1))


def briefing_html() -> str:
    """About the size of a two-page learning briefing (synthetic text)."""
    sentence = "Child A was seen by the health visitor and the school nurse that week. "
    rows = "".join(
        f"<tr><td>Agency {j}</td><td>Good</td><td>Requires improvement</td></tr>" for j in range(20)
    )
    sections = "".join(
        f"<h2>Key area {i}</h2><p>{sentence * 40}</p><table>{rows}</table>" for i in range(6)
    )
    return f'<html lang="en-GB"><body>{sections}</body></html>'


def render_loop(board: Path, seats: int, stop, done) -> None:
    """A render worker's life: its start (the pool's initializer), then renders one
    after another, each inside ``serving.pausing``."""
    from app.briefings import render

    render._start_worker(board, seats)
    html = briefing_html()
    while not stop.is_set():
        with serving.pausing():
            render.render_pdf(html, title="Wake-ups", logo_path=None)
        with done.get_lock():
            done.value += 1


def busy(steps: int) -> int:
    total = 0
    for i in range(steps):
        total += i
    return total


def echo(sock: socket.socket) -> None:
    """The "database": answers each round trip after a little work."""
    while sock.recv(64):
        busy(WORK)
        sock.send(b"x")


def pages(sock: socket.socket, slot: serving.Slot, seconds: float) -> list[float]:
    """Pages, one after another, for ``seconds``: each one's time in ms."""
    times = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        slot.enter()
        for _ in range(ROUND_TRIPS):
            sock.send(b"x")
            sock.recv(64)
            busy(WORK)
        slot.leave()
        times.append((time.perf_counter() - started) * 1000)
        time.sleep(BETWEEN_PAGES)
    return times


def quantile(times: list[float], fraction: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="times the settings alternate")
    parser.add_argument("--seconds", type=float, default=8, help="measured, per setting a round")
    args = parser.parse_args()

    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory() as folder:
        board_path = Path(folder) / "board"
        slot = serving.Board(board_path).claim()
        if slot is None:
            raise SystemExit("error: no slot on a new board")
        ours, theirs = socket.socketpair()
        database = ctx.Process(target=echo, args=(theirs,), daemon=True)
        database.start()
        times: dict[str, list[float]] = {name: [] for name, _, _ in SETTINGS}
        rendered = dict.fromkeys(times, 0)
        for round_ in range(1, args.rounds + 1):
            for name, loops, seats in SETTINGS:
                stop, done = ctx.Event(), ctx.Value("i", 0)
                workers = [
                    ctx.Process(target=render_loop, args=(board_path, seats, stop, done))
                    for _ in range(loops)
                ]
                for worker in workers:
                    worker.start()
                deadline = time.monotonic() + 120
                while loops and done.value < loops:  # started, warmed up, rendering
                    if time.monotonic() > deadline or not all(w.is_alive() for w in workers):
                        raise SystemExit(f"error: the render loops did not start ({name})")
                    time.sleep(0.1)
                before = done.value
                measured = pages(ours, slot, args.seconds)
                rendered[name] += done.value - before
                stop.set()
                for worker in workers:
                    worker.kill()
                    worker.join()
                times[name] += measured
                print(
                    f"round {round_}, {name}: {len(measured)} pages, median "
                    f"{statistics.median(measured):.2f} ms, p95 {quantile(measured, 0.95):.2f} ms",
                    flush=True,
                )
        ours.close()
        database.join(timeout=5)

    base = times["none"]
    print(
        f"\n{'renders beside the pages':<26}{'pages':>7}{'median':>9}{'p95':>9}{'p99':>9}"
        f"{'p95 x':>8}{'p99 x':>8}{'documents':>11}"
    )
    for name, measured in times.items():
        p95, p99 = quantile(measured, 0.95), quantile(measured, 0.99)
        print(
            f"{name:<26}{len(measured):>7}{statistics.median(measured):>9.2f}{p95:>9.2f}"
            f"{p99:>9.2f}{p95 / quantile(base, 0.95):>8.2f}{p99 / quantile(base, 0.99):>8.2f}"
            f"{rendered[name]:>11}"
        )
    print("times in ms; documents: renders finished while the pages were measured")


if __name__ == "__main__":
    main()
