"""What a learning briefing and a subgroup report show: the contexts their templates
print (the briefing's key messages and seven numbered sections as blocks, its one chart
of the grades and its further learning; the figures, charts and tables both documents
show, the cohort's children by age band, a subgroup report's per-agency results,
analytics, action tracker and downloads). Every count shown is also listed in
``counts``, saying what it counts and which table it is in, so the identification check
can look at the small ones that could identify a child (``checked_counts``).

A table of children whose key is in ``suppressed`` shows its small counts as "fewer
than N" (N: settings.small_count_threshold), with the counts that would give them away
hidden too (app.identify.suppress).

A learning briefing is a "7 minute briefing": at most two A4 pages, page 1 its key
messages and its seven sections as boxes, page 2 one chart of the grades, the children
by age band and the further learning (links and contacts the admin keeps in
``further-learning.md``). Nothing statistical beyond that chart is in it: agreement
(kappa, AC1) and the grades by key area and by agency are the subgroup report's. ``page_one_fill`` estimates, from the lengths of the texts, how much of page 1
they take, for the editor to warn before a briefing outgrows its two pages.

A subgroup report asks for decisions: page 1 is its executive summary and the decisions
asked of the subgroup (its version's text, or as drafted from its figures by
``drafting.draft_report`` where that is blank), then the figures.

Everything is read as the system: callers decide who may render what.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.access.policy import SYSTEM
from app.actions import tracker
from app.actions.lifecycle import RAG_LABELS, STATUS_LABELS, Clock, Escalation, Rag
from app.actions.models import ActionStatus
from app.agencies.models import Agency
from app.audits.models import AgeBand, Audit, AuditStatus
from app.briefings import assurance, drafting
from app.briefings.facts import Facts, check_renderable, facts, grade_summary
from app.briefings.models import (
    Briefing,
    BriefingDownload,
    BriefingFeedback,
    BriefingKind,
    VersionStatus,
)
from app.errors import StateError
from app.identify import suppress
from app.moderation import analytics, stats
from app.respond import family
from app.tables import Table, cells

log = logging.getLogger(__name__)


class Count(NamedTuple):
    """One number a document shows: the key and caption of the table (or chart) it is
    in, its row or cell, the number, and what it counts."""

    table: str
    caption: str
    label: str
    n: int
    of: str


# What a count counts decides whether the identification check looks at it. A small
# count of children (or of people) in a group that shares something, such as an age
# band, can identify a child: whoever knows one child of a group of two learns something
# about the other. Nothing else these documents count can. Agencies, returns, grades
# (of the returns' key areas), key areas, learning actions and their ratings, downloads,
# audits and days overdue count the partnership's work, not children, and a percentage
# counts nothing. The number of children audited ("cohort") is the audit's scope, said in
# its text, and the total every table of children adds up to: it picks out no one, so it
# is listed but not checked. Table by table:
#   briefing: the children by age band (children: checked; its total is the cohort);
#     the grades by level and their chart (grades).
#   subgroup report: at a glance (audits, cohort, grades, actions); for each audit the
#     children by age band (children: checked), the results by agency (returns, grades),
#     the grade tables and charts and the agreement tables (grades); the action tracker
#     and the overdue actions (actions, days); downloads (downloads); the assurance
#     questionnaire's answers (agencies).
# Only the tables of children can be shown with "fewer than N"; none of them has a chart.
CHECKED = frozenset({"children", "people"})


class EveryTable:
    """``suppressed`` for a document that nobody checks before it is read (the command
    line's): every table of children shows its small counts as "fewer than N"."""

    def __contains__(self, key: object) -> bool:
        return True


def checked_counts(counts: Iterable[Count]) -> list[tuple[str, str, str, int, str]]:
    """The counts the identification check looks at (see CHECKED), as it takes them."""
    return [(c.table, c.caption, c.label, c.n, c.of) for c in counts if c.of in CHECKED]


def blocks(text: str) -> list[dict]:
    """Plain section text as blocks: {"p": text} for a paragraph, {"ul": [items]} for
    a run of lines starting "- "."""
    out: list[dict] = []
    for chunk in re.split(r"\n\s*\n", text.strip()):
        para: list[str] = []
        for line in chunk.splitlines():
            line = line.strip()
            if line.startswith("- ") or line == "-":
                if para:
                    out.append({"p": " ".join(para)})
                    para = []
                if not out or "ul" not in out[-1] or out[-1].get("closed"):
                    out.append({"ul": []})
                out[-1]["ul"].append(line[2:].strip())
            elif line:
                para.append(line)
                if out and "ul" in out[-1]:
                    out[-1]["closed"] = True
        if para:
            out.append({"p": " ".join(para)})
        if out and "ul" in out[-1]:
            out[-1]["closed"] = True
    return [{k: v for k, v in b.items() if k != "closed"} for b in out if b.get("p") or b.get("ul")]


def document(kind: str, title: str, marking: str, version_label: str, dated: date, settings):
    return {
        "kind": kind,
        "title": title,
        "marking": marking,
        "version_label": version_label,
        "dated": dated,
        "partnership_name": settings.partnership_name,
        "brand_colour": settings.brand_colour,
        "logo_url": "asset:brand-logo" if settings.brand_logo_path else None,
    }


def _codes(f: Facts) -> list[str]:
    return [lv.code for lv in f.version.scale.levels] if f.version.scale else []


def _shift_rows(rows: list[dict]) -> list[dict]:
    return [
        {
            "label": r["label"],
            "n": r["n"],
            "lowered": r["lowered"] / r["n"] if r["n"] else 0,
            "raised": r["raised"] / r["n"] if r["n"] else 0,
        }
        for r in rows
    ]


def _grade_counts(
    key: str, where: str, summary: dict, levels: list[str], *, groups: bool = True
) -> list[Count]:
    """The grade tables' counts (and their charts'): grades, never checked. Without
    ``groups``, only the table by level's (the briefing's one chart)."""
    t = summary["total"]
    table, caption = f"{key}grades-by-level", f"{where}: grades by level"
    out = [
        Count(table, caption, f"Own grade {lv}", n, "grades")
        for lv, n in zip(levels, t["own"], strict=True)
    ]
    out += [
        Count(table, caption, f"Moderated {lv}", n, "grades")
        for lv, n in zip(levels, t["moderated"], strict=True)
    ]
    out += [
        Count(table, caption, label, t[name], "grades")
        for label, name in (("Grades", "n"), ("Lowered", "lowered"), ("Raised", "raised"))
    ]
    if not groups:
        return out
    for name, rows in (("key area", summary["by_key_area"]), ("agency", summary["by_agency"])):
        table, caption = f"{key}grades-by-{name.replace(' ', '-')}", f"{where}: by {name}"
        for r in rows:
            out.append(Count(table, caption, f"{r['label']}: grades", r["n"], "grades"))
            out += [
                Count(table, caption, f"{r['label']}: moderated {lv}", n, "grades")
                for lv, n in zip(levels, r["moderated"], strict=True)
            ]
            out += [
                Count(table, caption, f"{r['label']}: lowered", r["lowered"], "grades"),
                Count(table, caption, f"{r['label']}: raised", r["raised"], "grades"),
            ]
    return out


AGE_BANDS = "Children by age band"
NOT_RECORDED = "Not recorded"
ALL_CHILDREN = "All children"


def _age_bands(
    f: Facts, *, key: str, caption: str, threshold: int, suppressed: Container[str]
) -> tuple[Table | None, list[Count]]:
    """The cohort's children by age band (None when no age band is recorded), and its
    counts. Suppressed, its small counts read "fewer than N" and the counts that would
    give them away "not shown"; when even that cannot hide them (every child in one
    band), only the total is shown. The total is the number of children audited, which
    the document says anyway, so it is never hidden."""
    found = Counter(c.age_band.value if c.age_band else NOT_RECORDED for c in f.children)
    if set(found) <= {NOT_RECORDED}:
        return None, []
    line = {
        band: found[band] for band in [*(b.value for b in AgeBand), NOT_RECORDED] if found[band]
    }
    total = len(f.children)
    cut = (
        suppress.suppress_line(line, threshold=threshold)
        if key in suppressed
        else suppress.Line(counts=line, threshold=threshold)
    )
    notes: tuple[str, ...] = ()
    if cut.withheld:
        rows = []
        notes = (
            "The age bands are not shown: the children are so few that any number shown "
            "would give them away.",
        )
    else:
        rows = [cells(band, cut.shown(band)) for band in line]
        if cut.hidden:
            fewer = suppress.fewer_than(threshold)
            notes = (
                f"“{fewer.capitalize()}” stands for a number of children from 1 to "
                f"{threshold - 1}, so that no child can be recognised"
                + (
                    f"; “{suppress.NOT_SHOWN}” hides a larger number that would give a "
                    "smaller one away."
                    if cut.others
                    else "."
                ),
            )
    counts = [
        Count(key, caption, band, n, "children")
        for band, n in line.items()
        if band not in cut.hidden and not cut.withheld
    ]
    counts.append(Count(key, caption, ALL_CHILDREN, total, "cohort"))
    table = Table(
        caption=caption,
        head=cells("Age band", "Children"),
        rows=tuple(rows),
        notes=notes,
        total=cells(ALL_CHILDREN, total),
        narrow=True,
    )
    return table, counts


def _audit_view(f: Facts) -> dict:
    a = f.audit
    return {
        "id": a.id,
        "title": a.title,
        "theme": a.theme or f.version.theme,
        "status": a.status.value,
        "subgroup": a.lead_subgroup.name if a.lead_subgroup else None,
        "method": f.version.method,
        "template": f.version.family.name,
        "scale": f.version.scale.name if f.version.scale else None,
        # An audit of agencies has none: its cases are the agencies, which assess themselves.
        "children": 0 if a.about_agencies else len(f.children),
        "about_agencies": a.about_agencies,
        "agencies": [ag.name for ag in f.agencies],
        "key_areas": f.key_areas,
        "moderation_meeting_on": a.moderation_meeting_on,
        "returns_expected": sum(f.returns.values()),
        "not_received": [{"agency": agency, "reason": why} for agency, why in f.not_received],
    }


def _section(section: drafting.Section, text: str, number: int | None = None) -> dict:
    return {
        "number": number,
        "key": section.key,
        "heading": section.heading,
        "blocks": blocks(text),
    }


def _levels_table(levels: list[str], total: dict) -> Table:
    """The grades by level, the agencies' own and the moderated: the data of the
    briefing's chart, as its web version shows it."""
    n = total["n"]
    changed = (
        f"{total['changed']} of {n} grades ({round(100 * total['changed'] / n) if n else 0}%) "
        f"were changed at moderation: {total['lowered']} lowered, {total['raised']} raised."
    )
    return Table(
        caption="Key-area grades by level",
        head=cells("Grade", "Agencies' own grades", "Moderated grades"),
        rows=tuple(
            cells(label, own, moderated)
            for label, own, moderated in zip(levels, total["own"], total["moderated"], strict=True)
        ),
        total=cells("All grades", n, n),
        notes=(changed,),
    )


def briefing_context(
    session: Session,
    *,
    audit: Audit,
    sections: dict[str, str],
    title: str,
    marking: str,
    version_label: str,
    dated: date,
    settings,
    suppressed: Container[str] = (),
) -> dict:
    """Everything templates/briefings/briefing.html shows (and the library's web version
    of it): the document's details, the key messages and the seven numbered sections as
    blocks (a missing section shows as blank; a version saved before the seven boxes as
    ``drafting.current_sections`` maps it), page 1's ``rows`` of boxes and how full it
    is (``fill``), the one chart of the grades, the children by age band, the further
    learning, ``counts`` (a Count for each count in a table or chart) and
    ``child_tables`` (each table of children's key and caption)."""
    f = facts(session, audit=audit)
    check_renderable(f.audit, "briefing")
    summary = grade_summary(f.grades, f.levels, f.key_areas)
    texts = drafting.current_sections(sections)
    numbered = {
        s.key: _section(s, texts[s.key], number) for number, s in enumerate(drafting.NUMBERED, 1)
    }
    age_bands, counts = _age_bands(
        f,
        key="children-by-age-band",
        caption=AGE_BANDS,
        threshold=settings.small_count_threshold,
        suppressed=suppressed,
    )
    counts += _grade_counts("", "The grades", summary, f.levels, groups=False)
    return {
        "doc": document("briefing", title, marking, version_label, dated, settings),
        "audit": _audit_view(f),
        "key_messages": _section(drafting.KEY_MESSAGES, texts[drafting.KEY_MESSAGES.key]),
        "sections": list(numbered.values()),
        "rows": [[numbered[key] for key in row] for row in ROWS],
        "fill": page_one_fill(texts, title),
        "further_learning": further_learning(settings),
        "levels": f.levels,
        "codes": _codes(f),
        "grades": summary,
        "levels_table": _levels_table(f.levels, summary["total"]),
        "age_bands": age_bands,
        "counts": counts,
        "child_tables": {"children-by-age-band": AGE_BANDS} if age_bands else {},
    }


# --- page 1: the key messages and the seven boxes -----------------------------------------

# Page 1's boxes, row by row, as print.css lays them out: two to a row, "what we found"
# across the page.
ROWS: tuple[tuple[str, ...], ...] = (
    ("background", "why_it_matters"),
    ("improvement",),
    ("good_practice", "to_change"),
    ("what_to_do", "reflection"),
)
assert sorted(k for row in ROWS for k in row) == sorted(s.key for s in drafting.NUMBERED)

# How page 1 is laid out (print.css), in millimetres, measured on the shipped font: the
# page's height inside its margins; the masthead and meta line, and each line of the
# title; a box's text (8.5pt on 1.28), and what a line of it holds in characters of
# ordinary prose, in a box half the page wide and in one across it (a bullet's indent
# takes a few); a box's border and padding, its numbered heading, the space after a
# paragraph, a list and a bullet, and between rows; the key messages' lines (10pt bold)
# and their box.
PAGE_MM = 264.0
HEADER_MM = 19.5
TITLE_LINE_MM = 6.1
TITLE_CHARS = 68
LINE_MM = 3.84
CHARS_PER_LINE = {"half": 56, "wide": 116, "key_messages": 86}
BULLET_INDENT_CHARS = 3
BOX_MM = 3.0
HEADING_MM = 6.0
PARAGRAPH_GAP_MM = 1.5
LIST_GAP_MM = 1.5
ITEM_GAP_MM = 0.8
ROW_GAP_MM = 2.5
KEY_LINE_MM = 4.9
KEY_ITEM_GAP_MM = 0.6
KEY_BOX_MM = 3.0 + 5.4 + 1.0 + 3.0  # padding, heading, list's space, space below
# Where the editor starts to warn: most of the page is used.
NEARLY_FULL = 0.9


def _wrapped(text: str, width: int) -> int:
    """The lines ``text`` takes wrapped on whole words at ``width`` characters."""
    lines, used = 1, 0
    for word in text.split():
        if used and used + 1 + len(word) > width:
            lines, used = lines + 1, 0
        used += (1 if used else 0) + len(word)
        while used > width:  # a word longer than a line
            lines, used = lines + 1, used - width
    return lines


def _text_mm(text: str, width: int, line: float = LINE_MM, item_gap: float = ITEM_GAP_MM) -> float:
    """The height ``text`` takes in a box ``width`` characters wide: each paragraph and
    bullet wrapped on whole words, with the space after it."""
    total = 0.0
    for block in blocks(text):
        if "p" in block:
            total += _wrapped(block["p"], width) * line + PARAGRAPH_GAP_MM
        else:
            for item in block["ul"]:
                total += _wrapped(item, width - BULLET_INDENT_CHARS) * line + item_gap
            total += LIST_GAP_MM
    return total


@dataclass(frozen=True)
class BoxFill:
    key: str
    chars: int
    limit: int  # the characters of ordinary prose that fill its share of page 1


@dataclass(frozen=True)
class Fill:
    """How much of page 1 the title, the key messages and the seven boxes take (1.0:
    all of it), estimated from their texts' lengths; a row of boxes is as tall as its
    fuller box."""

    used: float
    boxes: dict[str, BoxFill]

    @property
    def percent(self) -> int:
        return round(100 * self.used)

    @property
    def over(self) -> bool:
        return self.used > 1

    @property
    def nearly(self) -> bool:
        return NEARLY_FULL <= self.used <= 1

    @property
    def over_limit(self) -> list[str]:
        """The boxes with more than their share of the page."""
        return [b.key for b in self.boxes.values() if b.chars > b.limit]


def _width(key: str) -> int:
    if key == drafting.KEY_MESSAGES.key:
        return CHARS_PER_LINE["key_messages"]
    wide = any(row == (key,) for row in ROWS)
    return CHARS_PER_LINE["wide" if wide else "half"]


def _limits() -> dict[str, int]:
    """Each box's fair share of page 1, in characters of prose in short paragraphs and
    bullets: three key messages of a line each, and each row of boxes an equal share of
    the rest of a page with a one-line title."""
    key_lines = 3
    rest = PAGE_MM - HEADER_MM - TITLE_LINE_MM - KEY_BOX_MM
    rest -= key_lines * (KEY_LINE_MM + KEY_ITEM_GAP_MM)
    rest -= len(ROWS) * (BOX_MM + HEADING_MM + ROW_GAP_MM)
    # A share's lines, less the space between its paragraphs and bullets (about one a
    # hundred characters) and the part-lines they leave.
    lines = rest / len(ROWS) / LINE_MM * 0.8
    out = {drafting.KEY_MESSAGES.key: key_lines * CHARS_PER_LINE["key_messages"]}
    for row in ROWS:
        for key in row:
            out[key] = int(lines * _width(key)) // 10 * 10
    return out


LIMITS = _limits()


def page_one_fill(sections: Mapping[str, str], title: str = "") -> Fill:
    """How much of page 1 the ``title`` and these texts (by section key, as
    ``current_sections`` gives them) take: the key messages' box across the page, then
    each row as tall as its fullest box. Over 1.0, the boxes run on to page 2 and push
    its chart and further learning to a third page."""
    key = drafting.KEY_MESSAGES.key
    used = HEADER_MM + _wrapped(title, TITLE_CHARS) * TITLE_LINE_MM
    used += (
        KEY_BOX_MM
        + _text_mm(sections.get(key) or "", _width(key), KEY_LINE_MM, KEY_ITEM_GAP_MM)
        - LIST_GAP_MM
    )
    for row in ROWS:
        used += BOX_MM + HEADING_MM + ROW_GAP_MM
        used += max(_text_mm(sections.get(k) or "", _width(k)) for k in row)
    return Fill(
        used=(used - ROW_GAP_MM) / PAGE_MM,
        boxes={
            k: BoxFill(k, len((sections.get(k) or "").strip()), LIMITS[k])
            for k in (key, *(k for row in ROWS for k in row))
        },
    )


# --- further learning ----------------------------------------------------------------------

FURTHER_LEARNING = "further-learning.md"
# The text shipped with the service, shown when the content folder has none.
SHIPPED_CONTENT = Path(__file__).resolve().parent.parent / "about" / "content"
# Far more than a page's links and contacts: a larger file is taken for a mistake.
FURTHER_LEARNING_MAX_BYTES = 64_000
_PLACEHOLDER = re.compile(r"\{\{\s*partnership\s*\}\}")
_CLASSES = {
    "paragraph_open": "govuk-body",
    "bullet_list_open": "govuk-list govuk-list--bullet",
    "ordered_list_open": "govuk-list govuk-list--number",
    "link_open": "govuk-link",
}


def _govuk(state: StateCore) -> None:
    """GOV.UK's classes on what Markdown drew; every heading is a level 3 heading, under
    the briefing's "Further learning"."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = "h3"
            if token.type == "heading_open":
                token.attrSet("class", "govuk-heading-s")
        elif token.type in _CLASSES:
            token.attrSet("class", _CLASSES[token.type])
        for child in token.children or ():
            if child.type == "link_open":
                child.attrSet("class", _CLASSES["link_open"])


_markdown = (
    MarkdownIt("commonmark", {"html": False})
    # Raw HTML is shown as text; a briefing draws no images from the content folder.
    .disable(["html_block", "html_inline", "image"])
)
_markdown.core.ruler.push("govuk", _govuk)


def _further_learning_text(folder: Path) -> str:
    for place in dict.fromkeys((Path(folder), SHIPPED_CONTENT)):
        path = place / FURTHER_LEARNING
        try:
            data = path.read_bytes()
            if len(data) > FURTHER_LEARNING_MAX_BYTES:
                raise ValueError(f"larger than {FURTHER_LEARNING_MAX_BYTES} bytes")
            text = data.decode("utf-8")
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            log.warning("%s cannot be shown (%s): showing the text shipped instead", path, exc)
            continue
        if text.strip():
            return text
    return ""


@lru_cache(maxsize=8)
def _further_learning_html(text: str, partnership: str) -> str:
    return _markdown.render(_PLACEHOLDER.sub(lambda _m: partnership, text))


def further_learning(settings) -> Markup:
    """The briefing's further learning, links and contacts, as safe HTML: the Markdown
    file ``further-learning.md`` in the content folder (``AUDIT_CONTENT_DIR``) if it is
    there, else the one shipped (app/about/content/), read each time a briefing is
    drawn. ``{{ partnership }}`` is the partnership's name. Raw HTML is shown as text.
    An e-mail address or telephone number in it is printed in every briefing, which the
    identification check refuses unless it is one of the partnership's allowed words."""
    text = _further_learning_text(settings.content_dir)
    # markdown-it escapes every text and attribute it draws, and raw HTML is off.
    return Markup(_further_learning_html(text, settings.partnership_name))


def _pooled(session: Session, audits: list[Audit]) -> list[dict]:
    """Agreement across several audits, one group per grading scale (never pooled)."""
    groups: dict[analytics.Scale, list[list[int]]] = {}
    for a in audits:
        found = analytics.tables(session, actor=SYSTEM, filters=analytics.Filters(audit_id=a.id))
        for scale, counts in found.items():
            pooled = groups.setdefault(scale, [[0] * len(row) for row in counts])
            for row, more in zip(pooled, counts, strict=True):
                row[:] = [x + y for x, y in zip(row, more, strict=True)]
    return [
        {"scale": s.name, "levels": list(s.labels), "overall": stats.summary_of(counts)}
        for s, counts in sorted(groups.items(), key=lambda g: -sum(map(sum, g[1])))
    ]


def report_to(subgroups: list[str | None]) -> str:
    """Whom a report is for: the subgroups that led its audits (each once, in order),
    never only the first audit's; the partnership when none did."""
    led_by = list(dict.fromkeys(s for s in subgroups if s))
    if not led_by:
        return "the partnership"
    return led_by[0] if len(led_by) == 1 else ", ".join(led_by[:-1]) + " and " + led_by[-1]


def subgroup_report_context(
    session: Session,
    *,
    audits: list[Audit],
    subgroup_name: str | None,
    marking: str,
    version_label: str,
    dated: date,
    today: date,
    settings,
    suppressed: Container[str] = (),
    sections: Mapping[str, str] | None = None,
) -> dict:
    """Everything templates/briefings/subgroup_report.html shows for one audit or a
    period's audits. First its executive summary and the decisions it asks of the
    subgroup, as the version's ``sections`` have them; a section left blank (or a
    version saved before it had them) shows the text drafted from the figures, which
    ``drafted`` holds (``drafting.draft_report``), as do reports no version keeps (the
    command line's). Then the figures: for each audit its children by age band, per
    agency results and moderation analytics; the action tracker with RAG and escalation
    on ``today``, the overdue list, downloads and assurance answers; ``counts`` and
    ``child_tables`` (as ``briefing_context``'s). Dates are worded as at ``dated``."""
    if not audits:
        raise StateError("A subgroup report needs at least one audit.")
    clock = Clock(today, settings.escalate_to_executive_after_days)
    parts: list[dict[str, Any]] = []
    summaries: list[drafting.AuditSummary] = []
    actions: list[tracker.ActionRow] = []
    counts: list[Count] = []
    child_tables: dict[str, str] = {}
    for audit in audits:
        f = facts(session, audit=audit)
        check_renderable(f.audit, "subgroup-report")
        summary = grade_summary(f.grades, f.levels, f.key_areas)
        by_agency = {r["label"]: r for r in summary["by_agency"]}
        report = analytics.report(
            session, actor=SYSTEM, filters=analytics.Filters(audit_id=f.audit.id)
        )
        agency_rows = [
            {
                "label": ag.name,
                "returns": f.returns.get(ag.name, 0),
                "not_received": sum(1 for agency, _why in f.not_received if agency == ag.name),
                **by_agency.get(
                    ag.name, {"n": 0, "moderated": [0] * len(f.levels), "lowered": 0, "raised": 0}
                ),
            }
            for ag in f.agencies
        ]
        where, key = f.audit.title, f"audit-{f.audit.id}-"
        if not f.audit.about_agencies:
            counts.append(Count(f"{key}summary", where, "Children", len(f.children), "cohort"))
        counts.append(Count(f"{key}summary", where, "Agencies", len(f.agencies), "agencies"))
        caption = AGE_BANDS if len(audits) == 1 else f"{where}: {AGE_BANDS.lower()}"
        age_bands, listed = _age_bands(
            f,
            key=f"{key}children-by-age-band",
            caption=caption,
            threshold=settings.small_count_threshold,
            suppressed=suppressed,
        )
        counts += listed
        if age_bands:
            child_tables[f"{key}children-by-age-band"] = caption
        counts += [
            Count(
                f"{key}per-agency",
                f"{where}: per agency",
                f"{r['label']}: returns",
                r["returns"],
                "returns",
            )
            for r in agency_rows
        ]
        counts += _grade_counts(key, where, summary, f.levels)
        found, _total = tracker.rows(
            session, actor=SYSTEM, filters=tracker.TrackerFilter(audit_id=f.audit.id), clock=clock
        )
        actions += found
        summaries.append(_audit_summary(f, summary))
        parts.append(
            {
                "audit": _audit_view(f),
                "age_bands": age_bands,
                "levels": f.levels,
                "codes": _codes(f),
                "grades": summary,
                "agency_rows": agency_rows,
                "analytics": report,
                "shifts_by_key_area": _shift_rows(summary["by_key_area"]),
                "shifts_by_agency": _shift_rows(summary["by_agency"]),
                # What families said in the audit's family survey, small counts suppressed.
                "family": family.voice_for(
                    session,
                    audit=f.audit,
                    actor=SYSTEM,
                    threshold=settings.small_count_threshold,
                ),
            }
        )
    actions.sort(key=lambda r: (r.due_on, r.id))
    rag = Counter(r.rag for r in actions)
    rag_rows = [
        {"rag": key.value, "label": label, "count": rag[key]} for key, label in RAG_LABELS.items()
    ]
    counts += [
        Count("actions-by-rag", "Action tracker: RAG", label, rag[key], "actions")
        for key, label in RAG_LABELS.items()
    ]
    overdue = sorted((r for r in actions if r.standing.overdue), key=lambda r: -r.overdue_days)
    name = subgroup_name or report_to([p["audit"]["subgroup"] for p in parts])
    title = f"Report to {name}: " + (
        parts[0]["audit"]["title"] if len(parts) == 1 else f"{len(parts)} audits"
    )
    downloads = briefing_downloads(session, audit_ids=[a.id for a in audits])
    assured = [
        _with_due_words(assurance.summary(session, audit_id=audit_id), dated)
        for audit_id in session.scalars(
            select(Briefing.assurance_audit_id)
            .where(Briefing.audit_id.in_([a.id for a in audits]))
            .where(Briefing.assurance_audit_id.is_not(None))
            .order_by(Briefing.id)
        )
        if audit_id is not None  # as selected; for the type checker
    ]
    drafted = drafting.draft_report(
        drafting.ReportSummary(
            to=name,
            dated=dated,
            audits=tuple(summaries),
            actions=len(actions),
            proposed=sum(r.status == ActionStatus.PROPOSED for r in actions),
            overdue=len(overdue),
            executive=sum(r.standing.escalation == Escalation.EXECUTIVE for r in overdue),
            executive_after_days=settings.escalate_to_executive_after_days,
            complete=rag[Rag.BLUE],
            briefings=_briefing_summaries(session, audits, downloads),
            questionnaires=tuple(
                drafting.QuestionnaireSummary(
                    title=q["title"],
                    answered=q["answered"],
                    agencies=len(q["agencies"]),
                    due_on=q["due_on"],
                )
                for q in assured
            ),
        )
    )
    texts = {
        key: ((sections or {}).get(key) or "").strip() or drafted[key]
        for key, _heading in drafting.REPORT_SECTIONS
    }
    headings = dict(drafting.REPORT_SECTIONS)
    return {
        "summary": {"heading": headings["summary"], "blocks": blocks(texts["summary"])},
        "decisions": {
            "heading": f"Decisions asked of {name}",
            "blocks": decision_blocks(texts["decisions"]),
        },
        "commentary": {"heading": headings["commentary"], "blocks": blocks(texts["commentary"])},
        "drafted": drafted,
        "assurance": assured,
        "doc": document("subgroup-report", title, marking, version_label, dated, settings),
        "downloads": downloads,
        "subgroup_name": name,
        "today": today,
        "parts": parts,
        "pooled": _pooled(session, audits) if len(audits) > 1 else [],
        "actions": actions,
        "status_labels": {k.value: v for k, v in STATUS_LABELS.items()},
        "rag_labels": {k.value: v for k, v in RAG_LABELS.items()},
        "rag_rows": rag_rows,
        "overdue": overdue,
        "counts": counts,
        "child_tables": child_tables,
    }


_NUMBERED_LINE = re.compile(r"(?m)^([^\S\n]*)\d{1,2}[.)][^\S\n]+")


def decision_blocks(text: str) -> list[dict]:
    """The decisions' text as blocks (``blocks``), their items numbered through: each
    list as {"ol": [items], "start": its first number}. A line the author started with
    a number ("1." or "2)") is an item like one started with a dash."""
    out: list[dict] = []
    numbered = 0
    for block in blocks(_NUMBERED_LINE.sub(r"\1- ", text)):
        if "ul" in block:
            out.append({"ol": block["ul"], "start": numbered + 1})
            numbered += len(block["ul"])
        else:
            out.append(block)
    return out


def _with_due_words(questionnaire: dict, dated: date) -> dict:
    """An assurance questionnaire's summary with when its answers are due, as at the
    report's date ("Answers are due by 3 March 2027."), if they are."""
    due = questionnaire["due_on"]
    return {**questionnaire, "due_words": drafting.answers_due(due, dated) if due else ""}


def _audit_summary(f: Facts, summary: dict) -> drafting.AuditSummary:
    """An audit as the report's executive summary tells it (``drafting.AuditSummary``)."""
    total = summary["total"]
    good, good_label = drafting.good_or_better(f.levels)
    missing = Counter(agency for agency, _why in f.not_received)
    return drafting.AuditSummary(
        title=f.audit.title,
        children=len(f.children),
        about_agencies=f.audit.about_agencies,
        agencies=len(f.agencies),
        key_areas=len(f.key_areas),
        moderating=f.audit.status == AuditStatus.MODERATION,
        finished_at=f.audit.learning_started_at,
        meeting_on=f.audit.moderation_meeting_on,
        grades=total["n"],
        good=sum(total["moderated"][:good]),
        good_label=good_label,
        lowered=total["lowered"],
        raised=total["raised"],
        lowered_by_agency=tuple(
            (r["label"], r["lowered"])
            for r in sorted(summary["by_agency"], key=lambda r: (-r["lowered"], r["label"]))
            if r["lowered"]
        ),
        returns=sum(f.returns.values()),
        not_received=tuple(sorted(missing.items())),
    )


def _briefing_summaries(
    session: Session, audits: list[Audit], downloads: list[dict]
) -> tuple[drafting.BriefingSummary, ...]:
    """The learning briefings of these audits, oldest first: where each stands (its
    newest version), when the version readers have was published, its downloads."""
    counted = {d["id"]: d for d in downloads}
    briefings = session.scalars(
        select(Briefing)
        .where(
            Briefing.audit_id.in_([a.id for a in audits]),
            Briefing.kind == BriefingKind.BRIEFING,
        )
        .options(selectinload(Briefing.versions))
        .order_by(Briefing.id)
    )
    found = []
    for b in briefings:
        if not b.versions:
            continue
        newest = max(b.versions, key=lambda v: v.number)
        current = [
            v for v in b.versions if v.status == VersionStatus.PUBLISHED and v.superseded_at is None
        ]
        shown = counted.get(b.id, {})
        found.append(
            drafting.BriefingSummary(
                title=b.title,
                number=newest.number,
                status=newest.status.value,
                published_on=current[-1].published_on if current else None,
                downloads=shown.get("total", 0),
                useful=shown.get("useful", 0),
            )
        )
    return tuple(found)


def briefing_downloads(session: Session, *, audit_ids: list[int]) -> list[dict]:
    """How often each published briefing of these audits was downloaded, in all and by
    the agency of the people signed in, and how many of its readers said it was useful
    and not useful: evidence of how the learning was disseminated and whether it helped."""
    briefings = session.execute(
        select(Briefing.id, Briefing.title)
        .where(Briefing.audit_id.in_(audit_ids), Briefing.kind == "briefing")
        .order_by(Briefing.id)
    ).all()
    found = []
    for briefing_id, title in briefings:
        rows = session.execute(
            select(Agency.name, BriefingDownload.signed_in, func.count())
            .outerjoin(Agency, Agency.id == BriefingDownload.agency_id)
            .where(BriefingDownload.briefing_id == briefing_id)
            .group_by(Agency.name, BriefingDownload.signed_in)
        ).all()
        said = dict(
            session.execute(
                select(BriefingFeedback.useful, func.count())
                .where(BriefingFeedback.briefing_id == briefing_id)
                .group_by(BriefingFeedback.useful)
            ).all()
        )
        by_agency = sorted((agency, n) for agency, signed_in, n in rows if signed_in and agency)
        found.append(
            {
                "id": briefing_id,
                "title": title,
                "total": sum(n for _a, _s, n in rows),
                "not_signed_in": sum(n for _a, signed_in, n in rows if not signed_in),
                "by_agency": by_agency,
                "useful": said.get(True, 0),
                "not_useful": said.get(False, 0),
            }
        )
    return found
