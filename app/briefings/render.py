"""Briefings and subgroup reports to tagged, accessible PDFs, rendered in worker
processes.

Why workers: a render takes a few hundred milliseconds of CPU and WeasyPrint's memory
grows with every render, so it never runs in the web process. ``RenderPool`` keeps
``render_workers`` spawned processes, each at a lower priority than the web process
(``give_way``) and pausing while any web process on the machine answers a request
(``app.serving``), and replaces each after ``renders_per_worker`` renders.
Spawned, not forked: the web process has threads (the database pool), and forking a
threaded process can copy a held lock into the child.

Why a URL fetcher of our own: the HTML carries text people typed. Nothing in a
document may make the renderer reach the network or the file system, so the fetcher
serves only the partnership's logo (``asset:brand-logo``), the app's own static
files (``asset:static/<file>``) and the font the project ships (``asset:fonts/<file>``)
and refuses every other URL; WeasyPrint's default fetcher is never called, and a
refused URL stops the render.

Why a font of our own: with the server's fonts, one machine's PDFs were set in DejaVu
Sans and another's in Liberation Sans. The documents use only Arimo (``FONTS``), from an
npm package like the rest of the front end, and embed it, so every server renders the
same PDF, whatever fonts it has.

This module imports WeasyPrint only when it renders, so the web process can hold a
``RenderPool`` without loading it.
"""

from __future__ import annotations

import contextlib
import gc
import json
import mimetypes
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import date
from multiprocessing.context import SpawnContext, SpawnProcess
from pathlib import Path
from typing import TypeVar

from app import serving
from app.config import PROJECT_ROOT, Settings, get_settings
from app.formatting import format_date

STATIC = Path(__file__).resolve().parent.parent / "static"
LOGO = "asset:brand-logo"
STATIC_PREFIX = "asset:static/"
# The documents' font: Arimo, under the SIL Open Font License 1.1, with Arial's metrics
# (Liberation Sans 2 is made from it), from the npm package @expo-google-fonts/arimo
# (package.json): Google Fonts' complete font files. (Fontsource's are cut into subsets by
# script, and none has the arrows the charts draw.)
FONTS = PROJECT_ROOT / "node_modules" / "@expo-google-fonts" / "arimo"
FONT_PREFIX = "asset:fonts/"
# (font-weight, font-style, file under FONTS): the faces the documents use.
FONT_FACES = (
    ("normal", "normal", "400Regular/Arimo_400Regular.ttf"),
    ("bold", "normal", "700Bold/Arimo_700Bold.ttf"),
    ("normal", "italic", "400Regular_Italic/Arimo_400Regular_Italic.ttf"),
    ("bold", "italic", "700Bold_Italic/Arimo_700Bold_Italic.ttf"),
)
# The family the documents' CSS gives these files, which the PDF names them by. Not
# "Arimo": fontconfig may prefer a server's own font of that name (fonts-croscore installs
# one) to the @font-face of the same name.
FONT_FAMILY = "Arimo Shipped"
# The documents' fonts, first to last: the shipped one, then, for a character it lacks
# (Arimo has Latin, Greek, Cyrillic and Hebrew), the server's.
FONT_STACK = f"'{FONT_FAMILY}', Arial, sans-serif"
VARIANT = "pdf/ua-1"
KINDS = {
    "briefing": "briefings/briefing.html",
    "subgroup-report": "briefings/subgroup_report.html",
    "inspection-pack": "briefings/inspection_pack.html",
}
RUNNING_TITLES = {
    "briefing": "Learning briefing",
    "subgroup-report": "Subgroup report",
    "inspection-pack": "Inspection readiness",
}
# How a render worker gives way to the web processes: a render is half a second of CPU
# that no one is waiting on, a page is what people wait for. On Linux a worker runs at
# the idle priority (SCHED_IDLE: only on CPU time nobody else wants); elsewhere at this
# nice value above theirs. With cores to spare it changes nothing; on two cores, two
# renders at once otherwise take the CPU the pages need (bench/load.py measures it).
RENDER_NICENESS = 10
_SETTINGS = object()  # "the logo the settings name"
R = TypeVar("R")


class AssetRefused(ValueError):
    """A document asked for a URL that is not one of the app's own assets."""


class RenderFailed(RuntimeError):
    """The render did not produce a PDF (it failed, or took too long)."""


# --- HTML ---------------------------------------------------------------------------------


def css_string(value: str) -> str:
    """``value`` as a quoted CSS string, safe inside a <style> element."""
    escaped = (
        str(value)
        .replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\A ")
        .replace("<", "\\3C ")
        .replace(">", "\\3E ")
    )
    return f'"{escaped}"'


def font_face_css() -> str:
    """The @font-face rules of the shipped font (``FONT_FACES`` as ``FONT_FAMILY``): the
    documents' print CSS starts with them."""
    return "\n".join(
        f'@font-face {{ font-family: "{FONT_FAMILY}"; font-weight: {weight}; '
        f'font-style: {style}; src: url("{FONT_PREFIX}{file}") format("truetype"); }}'
        for weight, style, file in FONT_FACES
    )


def html_for(kind: str, context: dict) -> str:
    """The print HTML of a ``kind`` ("briefing" or "subgroup-report") from its context
    (``content.briefing_context`` or ``content.subgroup_report_context``)."""
    if kind not in KINDS:
        raise ValueError(f"Unknown kind {kind!r}: use one of {', '.join(KINDS)}.")
    from markupsafe import Markup

    from app.moderation.analytics import agreement_table
    from app.templating import templates  # the pages' environment: charts and all

    doc = context["doc"]
    dated: date = doc["dated"]
    css = {
        "partnership": doc["partnership_name"],
        "marking": doc["marking"],
        "running_title": RUNNING_TITLES[kind],
        "dated_version": f"{format_date(dated)} · {doc['version_label']}",
    }
    css = {key: Markup(css_string(value)) for key, value in css.items()}
    fonts = {"font_faces": Markup(font_face_css()), "font_stack": Markup(FONT_STACK)}
    # The agreement table is the analytics page's own, built by the same function.
    tables = {"agreement_table": agreement_table}
    html = templates.env.get_template(KINDS[kind]).render(
        {**context, **tables, **fonts, "css": css}
    )
    # The charts' SVG names its own font (templates/_macros/charts.html, the pages' too,
    # as Arial), and a document's CSS does not reach inside an SVG: put the shipped font
    # first there as well. Only SVG has a font-family attribute, and a quote in text
    # people typed is escaped, so this changes nothing else.
    return html.replace(' font-family="', f" font-family=\"'{FONT_FAMILY}', ")


# --- the URL fetcher -----------------------------------------------------------------------


def _asset(url: str, logo_path: Path | None) -> tuple[Path, str]:
    """The file behind an asset URL and its media type, or AssetRefused."""
    if url == LOGO:
        if logo_path is None:
            raise AssetRefused("No brand logo is configured (AUDIT_BRAND_LOGO_PATH).")
        path = Path(logo_path)
        if path.suffix.lower() not in (".png", ".svg") or not path.is_file():
            raise AssetRefused(f"The brand logo must be a PNG or SVG file: {path}")
    elif url.startswith(STATIC_PREFIX):
        path = (STATIC / url[len(STATIC_PREFIX) :]).resolve()
        if not path.is_relative_to(STATIC) or not path.is_file():
            raise AssetRefused(f"There is no packaged asset {url}")
    elif url.startswith(FONT_PREFIX):
        name = url[len(FONT_PREFIX) :]
        if name not in {file for _weight, _style, file in FONT_FACES}:
            raise AssetRefused(f"There is no packaged asset {url}")
        path = FONTS / name
        if not path.is_file():
            raise AssetRefused(
                f"The documents' font is not installed: {path} (`make install` installs it"
                " with the front end, from package.json)."
            )
    else:
        # http(s), file:, data: and anything else: never fetched.
        raise AssetRefused(f"Refused to fetch {url[:80]!r}: documents use packaged assets only.")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return path, media_type


def url_fetcher(url: str, *, logo_path=_SETTINGS):
    """Serve a packaged asset as a WeasyPrint response; refuse every other URL with
    AssetRefused. ``logo_path`` defaults to the settings' brand logo."""
    from weasyprint.urls import URLFetcherResponse

    if logo_path is _SETTINGS:
        logo_path = get_settings().brand_logo_path
    path, media_type = _asset(url, logo_path)
    return URLFetcherResponse(url, path.read_bytes(), headers={"Content-Type": media_type})


def _weasyprint_fetcher(logo_path: Path | None):
    """A WeasyPrint URLFetcher whose ``fetch`` is ours alone. ``fail_on_errors`` makes
    a refused URL stop the render instead of leaving a gap in the document."""
    from weasyprint.urls import URLFetcher

    class AssetFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            return url_fetcher(url, logo_path=logo_path)

    return AssetFetcher(fail_on_errors=True, allowed_protocols=("asset",))


def render_pdf(html: str, *, title: str, logo_path=_SETTINGS) -> bytes:
    """A tagged PDF/UA-1 of ``html``: structure tree, MarkInfo, the document's language
    from <html lang> and ``title`` as its title. Runs in this process: the web process
    uses ``RenderPool`` instead."""
    import weasyprint
    from weasyprint.urls import FatalURLFetchingError

    if logo_path is _SETTINGS:
        logo_path = get_settings().brand_logo_path
    options = {"pdf_variant": VARIANT, "pdf_tags": True}
    try:
        document = weasyprint.HTML(
            string=html, url_fetcher=_weasyprint_fetcher(logo_path), media_type="print"
        ).render(**options)
    except FatalURLFetchingError as exc:  # a BaseException: turn it into an error
        raise AssetRefused(str(exc.__cause__ or exc)) from None
    document.metadata.title = title
    return document.write_pdf(**options)


# --- workers --------------------------------------------------------------------------------


def _warm_up() -> None:
    """Load WeasyPrint, fontconfig and the shipped font once per worker, not in its
    first render; then freeze what is loaded, so the garbage collector, which runs many
    times in a render, no longer scans it (10-20% of a render's time otherwise)."""
    render_pdf(
        f'<html lang="en-GB"><title>w</title><style>{font_face_css()}</style>'
        f'<p style="font-family: {FONT_STACK}"><b>w</b> w</p></html>',
        title="w",
        logo_path=None,
    )
    gc.collect()
    gc.freeze()


def _start_worker(board_path: Path | None, seats: int = 1) -> None:
    """A pool worker's start: below the web process's priority (again, in case its start
    could not manage it: ``give_way`` sets, never adds), taking turns with the machine's
    other renders and pausing while pages are served (app.serving), then warmed up."""
    give_way()
    serving.start_worker(board_path, seats)
    _warm_up()


def give_way(pid: int = 0) -> None:
    """Run this process (or the process ``pid``, one with a single thread) on CPU time
    the web processes do not want (RENDER_NICENESS)."""
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
    else:
        below = os.getpriority(os.PRIO_PROCESS, os.getpid() if pid else os.getppid())
        os.setpriority(os.PRIO_PROCESS, pid, min(19, below + RENDER_NICENESS))


class _WorkerProcess(SpawnProcess):
    """A render worker that gives way from the moment it is started, not from its
    initializer: a spawned process first imports its parent's main module, and under
    ``audit-tools serve`` that is the whole command line, seconds of CPU (6.5 s on the
    project's two-core machine) that, at the web process's priority, took the CPU from
    its pages whenever a worker started or was replaced (bench/load.py)."""

    def start(self) -> None:
        super().start()
        if self.pid is not None:
            # Gone already, or not ours to change: its initializer gives way.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                give_way(self.pid)


class _WorkerContext(SpawnContext):
    Process = _WorkerProcess


def _render_task(html: str, title: str, logo_path: Path | None) -> bytes:
    with serving.pausing():
        return render_pdf(html, title=title, logo_path=logo_path)


def _render_checked_task(
    html: str, title: str, logo_path: Path | None, check: Callable[..., R], against: dict
) -> tuple[bytes, R]:
    with serving.pausing():
        pdf = render_pdf(html, title=title, logo_path=logo_path)
        return pdf, check(pdf, against=against, html=html)


def _context() -> SpawnContext:
    return _WorkerContext()


class RenderPool:
    """Worker processes that render PDFs: ``submit`` returns a Future at once."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        workers: int | None = None,
        renders_per_worker: int | None = None,
    ):
        settings = settings or get_settings()
        self.workers = workers or settings.render_workers
        self.renders_per_worker = renders_per_worker or settings.renders_per_worker
        self.logo_path = settings.brand_logo_path
        self._executor = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=_context(),
            initializer=_start_worker,
            initargs=(
                serving.path_for(settings.render_pause_board),
                serving.seats_for(settings.renders_at_once),
            ),
            max_tasks_per_child=self.renders_per_worker,
        )

    def submit(self, html: str, title: str) -> Future[bytes]:
        """Render in a worker; the Future's result is the PDF's bytes, or the render's
        error (AssetRefused for a URL that is not a packaged asset)."""
        return self._executor.submit(_render_task, html, title, self.logo_path)

    def submit_checked(
        self, html: str, title: str, *, check: Callable[..., R], against: dict
    ) -> Future[tuple[bytes, R]]:
        """Render in a worker and check the PDF there too, ``check(pdf, against=against,
        html=html)`` (``workflow.check_printed``: the identification check reads the PDF
        as printed). The Future's result is the PDF's bytes and what the check found.
        Why there: the check is a tenth of a second of CPU a render, which in the web
        process held up its pages (bench/load.py); ``check`` is passed by name, so it
        must be a module's own function."""
        return self._executor.submit(
            _render_checked_task, html, title, self.logo_path, check, against
        )

    def worker_pid(self) -> Future[int]:
        """The process id of the worker that takes this task (counts as a task)."""
        return self._executor.submit(os.getpid)

    def shutdown(self, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=True)


_pool: RenderPool | None = None
_pool_lock = threading.Lock()


def pool(settings: Settings | None = None) -> RenderPool:
    """The process's render pool, started on first use (with ``settings``, or the
    environment's); later calls return the same pool."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = RenderPool(settings)
        return _pool


def shutdown(wait: bool = True) -> None:
    """Stop the process's render pool (at application shutdown); the next ``pool()``
    starts a new one."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=wait)
            _pool = None


def _worker_main() -> None:
    """The command line's worker: a JSON request on standard input, the PDF on
    standard output, or one line of error on standard error and exit status 1."""
    request = json.loads(sys.stdin.buffer.read())
    try:
        _warm_up()
        pdf = render_pdf(request["html"], title=request["title"], logo_path=request["logo_path"])
    except Exception as exc:
        sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
        raise SystemExit(1) from None
    sys.stdout.buffer.write(pdf)


def render_in_worker(html: str, title: str, timeout: float = 120) -> bytes:
    """Render in a new worker process and wait for it, at most ``timeout`` seconds
    (then the worker is killed): for the command line. A fresh interpreter, not
    multiprocessing, so the calling script's main module is never run again."""
    logo = get_settings().brand_logo_path
    request = json.dumps({"html": html, "title": title, "logo_path": str(logo) if logo else None})
    paths = [str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]
    try:
        done = subprocess.run(
            [sys.executable, "-c", "from app.briefings.render import _worker_main; _worker_main()"],
            input=request.encode(),
            capture_output=True,
            timeout=timeout,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)},
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RenderFailed(
            f"The render took longer than {timeout:g} seconds and was stopped."
        ) from None
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        raise RenderFailed(
            lines[-1] if lines else f"The render worker exited with {done.returncode}."
        )
    return done.stdout
