"""Render time of the demo's learning briefing, subgroup report and inspection pack.

Loads the demo into a temporary SQLite database, builds the GET SAFE deep dive's
drafted briefing and its subgroup report, and renders each ``--repeat`` times through
our path (tagged PDF/UA-1 with the asset-only URL fetcher, in this process and through
the worker pool), and the same briefing HTML with WeasyPrint alone (no variant, no
tags). Prints medians and our time as a ratio to WeasyPrint alone, and which library
subsets the embedded fonts (HarfBuzz's hb-subset or the fontTools fallback).

The inspection-readiness pack covers the demo's two partnership years (last year's
audits and this year's): its figures and HTML are built from the database, then it is
rendered as a published pack is, and with WeasyPrint alone for the ratio.

Aims: the briefing within 1.3x of WeasyPrint alone and under 0.6 s; the subgroup
report under 2 s; the pack, figures and render together, under 5 s. A miss is
reported, never a failure (shared machines are noisy).

    .venv/bin/python bench/briefings.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from multiprocessing import get_context
from pathlib import Path

from alembic import command
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import clock  # noqa: E402
from app.audits.models import Audit  # noqa: E402
from app.briefings import content, drafting, pack, render  # noqa: E402
from app.config import get_settings  # noqa: E402
from app.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from app.demo import DEEP_DIVE_TITLE, load_demo  # noqa: E402
from app.migrate import alembic_config  # noqa: E402

BRIEFING_AIM_S = 0.6
BRIEFING_RATIO_AIM = 1.3
REPORT_AIM_S = 2.0
PACK_AIM_S = 5.0


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def documents(url: str) -> tuple[tuple[str, str], tuple[str, str], tuple[str, str], float, float]:
    """(html, title) of the briefing, the subgroup report and the inspection pack, and
    the median times to build a briefing's and the pack's context and HTML from the
    database."""
    engine = make_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    settings = get_settings()
    today = clock.today()
    with session_scope(make_sessionmaker(engine)) as session:
        load_demo(session)
        audit = session.scalars(select(Audit).where(Audit.title == DEEP_DIVE_TITLE)).one()

        def briefing() -> tuple[str, str]:
            title = f"Learning briefing: {audit.title}"
            context = content.briefing_context(
                session,
                audit=audit,
                sections=drafting.draft_sections(session, audit=audit),
                title=title,
                marking="OFFICIAL",
                version_label="Version 1",
                dated=today,
                settings=settings,
            )
            return render.html_for("briefing", context), title

        built = briefing()
        build_s = median_time(briefing, 5)
        context = content.subgroup_report_context(
            session,
            audits=[audit],
            subgroup_name="QAPP",
            marking="OFFICIAL-SENSITIVE",
            version_label="Version 1",
            dated=today,
            today=today,
            settings=settings,
        )
        report = (render.html_for("subgroup-report", context), context["doc"]["title"])

        def inspection_pack() -> tuple[str, str]:
            start = date(today.year - (2 if today.month < 4 else 1), 4, 1)
            found = pack.context(
                session,
                period=pack.period_of(start, today, None),
                title=pack.TITLE,
                sections=None,
                marking="OFFICIAL-SENSITIVE",
                version_label="Version 1",
                dated=today,
                settings=settings,
            )
            return render.html_for("inspection-pack", found), pack.TITLE

        drafted = inspection_pack()
        pack_s = median_time(inspection_pack, 3)
    engine.dispose()
    return built, report, drafted, build_s, pack_s


def font_subsetting(html: str) -> str:
    """Which path WeasyPrint took to subset the fonts of one render, and the HarfBuzz
    library it loaded (and the Debian package that ships it)."""
    from weasyprint.pdf import fonts
    from weasyprint.text import ffi

    calls = {"harfbuzz": 0, "fonttools": 0}
    originals = (fonts.Font._harfbuzz_subset, fonts.Font._fonttools_subset)

    def counting(name, original):
        def wrapper(self, *args, **kwargs):
            calls[name] += 1
            return original(self, *args, **kwargs)

        return wrapper

    fonts.Font._harfbuzz_subset = counting("harfbuzz", originals[0])
    fonts.Font._fonttools_subset = counting("fonttools", originals[1])
    try:
        render.render_pdf(html, title="font check", logo_path=None)
    finally:
        fonts.Font._harfbuzz_subset, fonts.Font._fonttools_subset = originals
    library = next(
        (
            line.split()[-1]
            for line in Path("/proc/self/maps").read_text().splitlines()
            if "libharfbuzz-subset" in line
        ),
        None,
    )
    loaded = "not loaded (WeasyPrint falls back to fontTools)"
    if library:
        owner = subprocess.run(["dpkg", "-S", library], capture_output=True, text=True)
        package = owner.stdout.split(":")[0] if owner.returncode == 0 else ""
        version = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True
        ).stdout
        loaded = f"{library}, Debian package {package} {version}" if package else library
    usable = ffi.harfbuzz_subset is not None and ffi.harfbuzz.hb_version_atleast(4, 1, 0)
    return (
        f"hb-subset usable: {'yes' if usable else 'no'}; library: {loaded}; "
        f"fonts subset by HarfBuzz "
        f"{calls['harfbuzz']} time(s), by fontTools {calls['fonttools']} time(s)"
    )


def compare(
    briefing: str, title: str, report: str, report_title: str, packed: str, repeat: int
) -> dict:
    """In a render worker (warm, its start-up heap frozen), interleaved so that noise
    from other processes falls on both: our render of each document, and the briefing
    and the pack with WeasyPrint alone."""
    import weasyprint

    times: dict[str, list[float]] = {
        "ours": [],
        "alone": [],
        "report": [],
        "pack": [],
        "pack_alone": [],
    }
    for _ in range(repeat):
        for name, run in (
            ("ours", lambda: render.render_pdf(briefing, title=title)),
            ("alone", lambda: weasyprint.HTML(string=briefing).write_pdf()),
            ("report", lambda: render.render_pdf(report, title=report_title)),
            ("pack", lambda: render.render_pdf(packed, title=pack.TITLE)),
            ("pack_alone", lambda: weasyprint.HTML(string=packed).write_pdf()),
        ):
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(found) for name, found in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (briefing, title), (report, report_title), (packed, _), build_s, pack_s = documents(
            f"sqlite:///{tmp}/briefings.db"
        )
    with ProcessPoolExecutor(
        max_workers=1, mp_context=get_context("spawn"), initializer=render._warm_up
    ) as worker:
        found = worker.submit(compare, briefing, title, report, report_title, packed, args.repeat)
        medians = found.result()
        subsetting = worker.submit(font_subsetting, briefing).result()
    pool = render.RenderPool(workers=1, renders_per_worker=1000)
    try:
        pool.submit(briefing, title).result()
        pooled = median_time(lambda: pool.submit(briefing, title).result(), args.repeat)
    finally:
        pool.shutdown()

    ours, alone, report_s = medians["ours"], medians["alone"], medians["report"]
    ratio = ours / alone
    meets = lambda ok: "meets aim" if ok else "below aim"  # noqa: E731
    print(f"{'what (median of ' + str(args.repeat) + ')':<50}{'seconds':>8}  aim")
    print(f"{'briefing: context and HTML from the database':<50}{build_s:>8.3f}")
    print(
        f"{'briefing: our render (PDF/UA-1, tagged)':<50}{ours:>8.3f}  "
        f"{meets(ours < BRIEFING_AIM_S)} (< {BRIEFING_AIM_S} s)"
    )
    print(f"{'briefing: WeasyPrint alone (no variant)':<50}{alone:>8.3f}")
    print(
        f"{'briefing: ours / WeasyPrint alone':<50}{ratio:>7.2f}x  "
        f"{meets(ratio <= BRIEFING_RATIO_AIM)} (<= {BRIEFING_RATIO_AIM}x)"
    )
    print(f"{'briefing: submitted to the worker pool, waited for':<50}{pooled:>8.3f}")
    print(
        f"{'subgroup report: our render':<50}{report_s:>8.3f}  "
        f"{meets(report_s < REPORT_AIM_S)} (< {REPORT_AIM_S} s)"
    )
    pack_total = pack_s + medians["pack"]
    print(f"{'inspection pack (two years): figures and HTML':<50}{pack_s:>8.3f}")
    print(f"{'inspection pack: our render (PDF/UA-1, tagged)':<50}{medians['pack']:>8.3f}")
    print(f"{'inspection pack: WeasyPrint alone (no variant)':<50}{medians['pack_alone']:>8.3f}")
    print(
        f"{'inspection pack: ours / WeasyPrint alone':<50}"
        f"{medians['pack'] / medians['pack_alone']:>7.2f}x"
    )
    print(
        f"{'inspection pack: figures, HTML and render':<50}{pack_total:>8.3f}  "
        f"{meets(pack_total < PACK_AIM_S)} (< {PACK_AIM_S} s)"
    )
    print(f"font subsetting: {subsetting}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
