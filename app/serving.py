"""While a web process on this machine is answering someone, render workers pause.

Why: a render runs at Linux's idle priority (``render.give_way``), so it only has CPU
time no web process wants; yet on the 2-vCPU machine pages still came back 20-50%
slower while two briefings rendered (bench/load.py), though the web processes used no
more CPU. A page is a chain of short steps handed between the web process and the
database (20 statements: 40 wake-ups), and each wake-up that finds a CPU busy with a
render, however low its priority, costs more than one that finds it idle (a probe of
that chain: 17-25% slower beside two idle-priority renders, 4% with them stopped). So
a render steps aside for as long as any page is being answered, and renders in the
gaps between them: a briefing takes longer to publish under load, a page does not.

How: a small file in shared memory (``board_path``), one slot per web process, each
slot its number of requests in flight and when that last changed. A web process
claims a free slot by locking its bytes (``fcntl.lockf``: the lock goes with the
process, so a slot of a process that died is free again) and counts each request in
and out (``ServingMiddleware``; no lock, no system call: one process writes a slot).
A render worker (``pausing``) looks at the board every quarter of a millisecond while it
renders (a real-time interval timer: a CPU-time one, ITIMER_VIRTUAL, fires only at the
kernel's tick, every 4 ms at HZ=250) and, while any slot counts a request, naps 2 ms
at a time. The timer's signal restarts the system calls it interrupts (SA_RESTART), so
the libraries WeasyPrint calls never see EINTR.

Renders also take turns (``take_seat``): at most ``seats`` of them run at once on the
machine, by default one fewer than its CPUs, so one CPU is always free of renders.
Why: on the two-core machine, a page's wake-ups were as quick beside one busy
idle-priority process as beside none, and 40% slower (p95 70%) beside two, which is what
two renders at once are. A seat is a byte of the board's file beyond the slots, locked
(``fcntl.lockf``) while a worker renders: a worker that dies frees its seat.

What it guarantees: nothing that could stop a render for good. A slot unchanged for
``STALE_SECONDS`` is ignored (a process killed mid-request, a download that streams
for long), and a render never waits more than ``MAX_PAUSE`` at a time before it runs
for ``GRACE`` again, so under unbroken load it still gets about a tenth of a CPU; and
a render waits at most ``SEAT_WAIT`` for a seat (one held by a worker that hangs) before
it renders without one; a file system that cannot lock means no seats, not waits. Only
processes on one machine share a board: a renderer in a container of its own, with
CPUs of its own, has nothing to give way to.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import signal
import struct
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

try:
    import fcntl
except ImportError:  # Windows: no board, renders never pause
    fcntl = None  # type: ignore[assignment]

SLOTS = 64
_SLOT = struct.Struct("<qq")  # requests in flight, monotonic ns of the last change
_BOARD = struct.Struct(f"<{2 * SLOTS}q")
SIZE = _BOARD.size
STALE_SECONDS = 5.0
TICK = 0.00025  # seconds between a render worker's looks at the board
NAP = 0.002  # while pages are served, it looks again after this long
MAX_PAUSE = 0.1  # the longest a render waits at a time...
GRACE = 0.01  # ...before it runs this long without looking
SEATS_AT = SIZE  # the first seat's byte in the board's file (past its end: locks only)
SEAT_NAP = 0.005  # a render waiting for a seat tries again after this long
SEAT_WAIT = 30.0  # ...and after this long renders without one (jobs allows a render 120 s)


def default_path() -> Path:
    """One board per machine and user: every deployment's pages on this machine
    (a hosting provider's many partnerships) hold back every deployment's renders."""
    shm = Path("/dev/shm")
    folder = shm if shm.is_dir() else Path(tempfile.gettempdir())
    return folder / f"case-audit-serving-{os.getuid()}"


def seats_for(setting: int) -> int:
    """How many renders may run at once, ``settings.renders_at_once``: 0 one fewer than
    the CPUs this process may use, and at least one."""
    if setting:
        return setting
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus - 1)


def path_for(setting: str) -> Path | None:
    """The board ``settings.render_pause_board`` names: "" the machine's default, "off"
    none (renders never pause)."""
    if setting == "off" or fcntl is None:
        return None
    return Path(setting) if setting else default_path()


class Board:
    """The shared file, mapped into this process."""

    def __init__(self, path: Path):
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self.fd).st_size < SIZE:
            os.ftruncate(self.fd, SIZE)
        self.map = mmap.mmap(self.fd, SIZE)

    def claim(self) -> Slot | None:
        """A free slot, locked for as long as this process lives; None if all 64 are
        taken (this process then holds no render back)."""
        for index in range(SLOTS):
            try:
                fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, _SLOT.size, index * _SLOT.size)
            except OSError:
                continue
            slot = Slot(self, index)
            slot.write(0)
            return slot
        return None

    def serving(self, now_ns: int | None = None) -> bool:
        """Is any web process answering a request (a slot changed in the last
        STALE_SECONDS counts one or more)?"""
        now_ns = time.monotonic_ns() if now_ns is None else now_ns
        values = _BOARD.unpack_from(self.map)
        oldest = now_ns - int(STALE_SECONDS * 1e9)
        return any(
            count > 0 and since > oldest
            for count, since in zip(values[0::2], values[1::2], strict=True)
        )

    def close(self) -> None:
        self.map.close()
        os.close(self.fd)  # and with it this process's locks on the file


class Slot:
    """One web process's slot: its requests in flight."""

    def __init__(self, board: Board, index: int):
        self.board = board
        self.offset = index * _SLOT.size
        self.in_flight = 0

    def write(self, in_flight: int) -> None:
        self.in_flight = in_flight
        _SLOT.pack_into(self.board.map, self.offset, in_flight, time.monotonic_ns())

    def enter(self) -> None:
        self.write(self.in_flight + 1)

    def leave(self) -> None:
        self.write(max(self.in_flight - 1, 0))


class ServingMiddleware:
    """Counts this process's requests in flight on the board (claimed at the first
    request, in the process that serves it: ``serve --workers N`` starts N)."""

    def __init__(self, app: ASGIApp, *, board_path: Path | None) -> None:
        self.app = app
        self.board_path = board_path
        self.slot: Slot | None = None
        self.claimed = False

    def _slot(self) -> Slot | None:
        # Once, at the first request: worker processes are started before they serve,
        # never forked from one that has served.
        if not self.claimed:
            self.claimed = True
            with contextlib.suppress(OSError):  # no shared memory: renders do not pause
                self.slot = Board(self.board_path).claim() if self.board_path else None
        return self.slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        slot = self._slot() if scope["type"] == "http" else None
        if slot is None:
            await self.app(scope, receive, send)
            return
        slot.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            slot.leave()


class _Pauser:
    """In a render worker: the timer's handler that waits while pages are being
    served. The timer is stopped while it naps, so that nothing wakes the worker
    before its nap is over."""

    def __init__(self, board: Board, seats: int = 1):
        self.board = board
        self.seats = seats
        self.grace_until = 0.0
        self.napping = False
        self.rendering = False  # the timer runs only while this is true
        self.paused = 0.0  # seconds paused, for the benchmarks
        self.queued = 0.0  # seconds waited for a seat, for the tests and benchmarks
        self.left_at = -1.0  # when this worker last left a seat

    def take_seat(self, wait: float = SEAT_WAIT) -> int | None:
        """Lock a free seat and return its number, waiting up to ``wait`` seconds for
        one; None if none came free (the render goes ahead without one), or if the
        board's file system cannot lock (then this worker stops asking)."""
        start = time.monotonic()
        try:
            if start - self.left_at < 2 * SEAT_NAP:
                # Just left one: let a worker that was waiting for it take it first.
                time.sleep(2 * SEAT_NAP)
            while True:
                for seat in range(self.seats):
                    try:
                        fcntl.lockf(
                            self.board.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, SEATS_AT + seat
                        )
                    except OSError as exc:
                        if exc.errno in (errno.EACCES, errno.EAGAIN):
                            continue  # another process's
                        self.seats = 0
                        return None
                    return seat
                if not self.seats or time.monotonic() - start >= wait:
                    return None
                time.sleep(SEAT_NAP)
        finally:
            self.queued += time.monotonic() - start

    def leave_seat(self, seat: int | None) -> None:
        if seat is not None:
            fcntl.lockf(self.board.fd, fcntl.LOCK_UN, 1, SEATS_AT + seat)
            self.left_at = time.monotonic()

    def __call__(self, signum, frame) -> None:
        now = time.monotonic()
        if self.napping or not self.rendering or now < self.grace_until or not self.board.serving():
            return
        self.napping = True
        signal.setitimer(signal.ITIMER_REAL, 0)
        try:
            deadline = now + MAX_PAUSE
            while self.board.serving():
                if time.monotonic() >= deadline:
                    self.grace_until = time.monotonic() + GRACE
                    break
                time.sleep(NAP)
        finally:
            self.napping = False
            self.paused += time.monotonic() - now
            if self.rendering:
                signal.setitimer(signal.ITIMER_REAL, TICK, TICK)


_pauser: _Pauser | None = None


def start_worker(board_path: Path | None, seats: int = 1) -> None:
    """In a render worker at its start: open the board the web processes write, where
    ``seats`` renders may run at once."""
    global _pauser
    if board_path is None or not hasattr(signal, "setitimer"):
        return
    try:
        _pauser = _Pauser(Board(board_path), seats)
    except OSError:
        return
    signal.signal(signal.SIGALRM, _pauser)
    signal.siginterrupt(signal.SIGALRM, False)


def paused_seconds() -> float:
    """How long this render worker has waited for pages, in all (tests, benchmarks)."""
    return _pauser.paused if _pauser else 0.0


def queued_seconds() -> float:
    """How long this render worker has waited for a seat, in all (tests, benchmarks)."""
    return _pauser.queued if _pauser else 0.0


@contextlib.contextmanager
def pausing() -> Iterator[None]:
    """Around a render in a worker: take a seat, then pause whenever a page is being
    served."""
    if _pauser is None:
        yield
        return
    seat = _pauser.take_seat()
    _pauser.rendering = True
    signal.setitimer(signal.ITIMER_REAL, TICK, TICK)
    try:
        yield
    finally:
        _pauser.rendering = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        _pauser.leave_seat(seat)
