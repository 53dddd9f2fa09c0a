"""Render workers pause while a web process on the machine answers a request
(app/serving.py): the board the web processes write, the middleware that counts each
request in and out, and a render worker that waits while one is counted."""

from __future__ import annotations

import errno
import signal
import subprocess
import sys
import time

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app import serving
from app.briefings import render
from app.config import Settings

# A process that claims a slot, counts a request in and waits to be killed.
CLAIMER = """
import sys, time
from pathlib import Path
from app import serving
slot = serving.Board(Path(sys.argv[1])).claim()
slot.enter()
print(slot.offset // 16, flush=True)
time.sleep(60)
"""


# A process that holds a render's seat (argv[2]) until it is killed, or says "taken".
SEAT_HOLDER = """
import fcntl, sys, time
from pathlib import Path
from app import serving
board = serving.Board(Path(sys.argv[1]))
try:
    fcntl.lockf(board.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, serving.SEATS_AT + int(sys.argv[2]))
except OSError:
    print("taken", flush=True)
    raise SystemExit(1)
print("held", flush=True)
time.sleep(60)
"""


@pytest.fixture
def board_path(tmp_path):
    return tmp_path / "board"


def hold_seat(board_path, seat: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", SEAT_HOLDER, str(board_path), str(seat)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline() == "held\n"
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()


def start_claimer(board_path) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CLAIMER, str(board_path)], stdout=subprocess.PIPE, text=True
    )
    return proc, int(proc.stdout.readline())


class TestBoard:
    def test_a_request_in_flight_is_seen_until_it_ends(self, board_path):
        board = serving.Board(board_path)
        slot = board.claim()
        assert not board.serving()
        slot.enter()
        slot.enter()
        slot.leave()
        assert board.serving()
        slot.leave()
        assert not board.serving()
        assert slot.in_flight == 0

    def test_a_slot_unchanged_for_long_is_ignored(self, board_path):
        board = serving.Board(board_path)
        board.claim().enter()
        now = time.monotonic_ns()
        assert board.serving(now)
        assert not board.serving(now + int((serving.STALE_SECONDS + 0.1) * 1e9))

    def test_each_process_has_a_slot_and_a_dead_ones_is_free_again(self, board_path):
        first, first_slot = start_claimer(board_path)
        second, second_slot = start_claimer(board_path)
        try:
            assert first_slot != second_slot
            board = serving.Board(board_path)
            assert board.serving()
            first.kill()
            first.wait()
            # Its count stays on the board until its slot is claimed again (or goes
            # stale): a new process takes the slot and starts it at nothing.
            third, third_slot = start_claimer(board_path)
            third.kill()
            third.wait()
            assert third_slot == first_slot
        finally:
            for proc in (first, second):
                proc.kill()
                proc.wait()

    def test_off_means_no_board(self):
        assert serving.path_for("off") is None
        assert serving.path_for("") == serving.default_path()
        assert str(serving.path_for("/tmp/x")) == "/tmp/x"


class TestMiddleware:
    def app(self, board_path, seen: list[bool]):
        board = serving.Board(board_path)

        def page(request):
            seen.append(board.serving())
            if request.query_params.get("fail"):
                raise RuntimeError("the page failed")
            return PlainTextResponse("ok")

        app = Starlette(routes=[Route("/", page)])
        app.add_middleware(serving.ServingMiddleware, board_path=board_path)
        return app, board

    def test_a_request_is_counted_while_it_is_answered(self, board_path):
        seen: list[bool] = []
        app, board = self.app(board_path, seen)
        with TestClient(app) as client:
            assert client.get("/").status_code == 200
            assert seen == [True]
            assert not board.serving()
            with pytest.raises(RuntimeError):
                client.get("/?fail=1")
            assert seen == [True, True]
            assert not board.serving()  # counted out though it failed

    def test_without_a_board_nothing_is_counted(self, board_path):
        app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("ok"))])
        app.add_middleware(serving.ServingMiddleware, board_path=None)
        with TestClient(app) as client:
            assert client.get("/").status_code == 200
        assert not board_path.exists()


class TestRenderWorker:
    HTML = '<html lang="en-GB"><p>A learning briefing about Child A.</p></html>'

    def paused(self, pool: render.RenderPool) -> float:
        return pool._executor.submit(serving.paused_seconds).result(timeout=60)

    def test_a_render_waits_while_a_page_is_served(self, board_path):
        pool = render.RenderPool(Settings(render_pause_board=str(board_path)), workers=1)
        try:
            assert pool.submit(self.HTML, "t").result(timeout=120).startswith(b"%PDF")
            assert self.paused(pool) == 0
            slot = serving.Board(board_path).claim()
            slot.enter()
            assert pool.submit(self.HTML, "t").result(timeout=120).startswith(b"%PDF")
            waited = self.paused(pool)
            assert waited >= serving.MAX_PAUSE * 0.9
            slot.leave()
            assert pool.submit(self.HTML, "t").result(timeout=120).startswith(b"%PDF")
            assert self.paused(pool) == waited
            # Between renders the worker's timer is off: nothing wakes it.
            timer = pool._executor.submit(signal.getitimer, signal.ITIMER_REAL)
            assert timer.result(timeout=60) == (0.0, 0.0)
        finally:
            pool.shutdown()

    def test_off_a_render_never_waits(self, board_path):
        slot = serving.Board(board_path).claim()
        slot.enter()
        pool = render.RenderPool(Settings(render_pause_board="off"), workers=1)
        try:
            assert pool.submit(self.HTML, "t").result(timeout=120).startswith(b"%PDF")
            assert self.paused(pool) == 0
        finally:
            pool.shutdown()


class TestSeats:
    """Renders on the machine take turns: at most ``seats`` run at once."""

    def test_a_render_waits_for_a_seat_another_process_holds(self, board_path):
        pauser = serving._Pauser(serving.Board(board_path), seats=1)
        holder = hold_seat(board_path, 0)
        try:
            start = time.monotonic()
            assert pauser.take_seat(wait=0.3) is None  # held: waits, then goes ahead
            assert time.monotonic() - start >= 0.3
        finally:
            stop(holder)
        assert pauser.take_seat(wait=0.3) == 0  # freed when its holder died
        assert pauser.queued >= 0.3

    def test_a_second_seat_lets_a_second_render_in(self, board_path):
        pauser = serving._Pauser(serving.Board(board_path), seats=2)
        holder = hold_seat(board_path, 0)
        try:
            start = time.monotonic()
            assert pauser.take_seat(wait=5) == 1
            assert time.monotonic() - start < 1
        finally:
            stop(holder)

    def test_a_file_system_that_cannot_lock_means_no_seats_not_a_wait(
        self, board_path, monkeypatch
    ):
        pauser = serving._Pauser(serving.Board(board_path), seats=1)

        def no_locks(*args):
            raise OSError(errno.ENOLCK, "No locks available")

        monkeypatch.setattr(serving.fcntl, "lockf", no_locks)
        start = time.monotonic()
        assert pauser.take_seat(wait=5) is None
        assert time.monotonic() - start < 1
        assert pauser.seats == 0

    def test_a_seat_left_is_free_for_the_next(self, board_path):
        pauser = serving._Pauser(serving.Board(board_path), seats=1)
        pauser.leave_seat(pauser.take_seat(wait=0))
        # Another process can take it now (the holder would hang on a held one).
        stop(hold_seat(board_path, 0))

    def test_a_pool_renders_only_once_a_seat_is_free(self, board_path):
        settings = Settings(render_pause_board=str(board_path), renders_at_once=1)
        pool = render.RenderPool(settings, workers=1)
        try:
            assert pool.submit(TestRenderWorker.HTML, "t").result(timeout=120)
            holder = hold_seat(board_path, 0)
            try:
                waiting = pool.submit(TestRenderWorker.HTML, "t")
                time.sleep(1.0)
                assert not waiting.done()
            finally:
                stop(holder)
            assert waiting.result(timeout=120).startswith(b"%PDF")
            # How long it waited depends on when the idle-priority worker got a CPU.
            assert pool._executor.submit(serving.queued_seconds).result(timeout=60) > 0
        finally:
            pool.shutdown()

    @pytest.mark.parametrize(
        ("setting", "cpus", "seats"), [(0, 2, 1), (0, 4, 3), (0, 1, 1), (2, 2, 2)]
    )
    def test_by_default_one_cpu_is_left_free_of_renders(self, monkeypatch, setting, cpus, seats):
        monkeypatch.setattr(
            serving.os, "sched_getaffinity", lambda pid: set(range(cpus)), raising=False
        )
        assert serving.seats_for(setting) == seats
