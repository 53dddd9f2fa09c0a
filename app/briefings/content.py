"""What a learning briefing and a subgroup report show: the contexts their templates
print (the briefing's seven sections as blocks, the figures, charts and tables both
documents show, the cohort's children by age band, a subgroup report's per-agency
results, analytics, action tracker and downloads). Every count shown is also listed in
``counts``, saying what it counts and which table it is in, so the identification check
can look at the small ones that could identify a child (``checked_counts``).

A table of children whose key is in ``suppressed`` shows its small counts as "fewer
than N" (N: settings.small_count_threshold), with the counts that would give them away
hidden too (app.identify.suppress).

Everything is read as the system: callers decide who may render what.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Container, Iterable
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.access.policy import SYSTEM
from app.actions import tracker
from app.actions.lifecycle import RAG_LABELS, STATUS_LABELS, Clock
from app.agencies.models import Agency
from app.audits.models import AgeBand, Audit
from app.briefings import assurance
from app.briefings.drafting import SECTIONS
from app.briefings.facts import Facts, check_renderable, facts, grade_summary
from app.briefings.models import Briefing, BriefingDownload
from app.errors import StateError
from app.identify import suppress
from app.moderation import analytics, stats
from app.tables import Table, cells


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
#   briefing: the audit at a glance (cohort, agencies, returns, key areas, grades); the
#     children by age band (children: checked); the grades by level, by key area and by
#     agency, and their charts (grades; the charts of grades lowered and raised show
#     percentages).
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


def _document(kind: str, title: str, marking: str, version_label: str, dated: date, settings):
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


def _grade_counts(key: str, where: str, summary: dict, levels: list[str]) -> list[Count]:
    """The grade tables' counts (and their charts'): grades, never checked."""
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
        "children": len(f.children),
        "agencies": [ag.name for ag in f.agencies],
        "key_areas": f.key_areas,
        "moderation_meeting_on": a.moderation_meeting_on,
        "returns_expected": sum(f.returns.values()),
        "not_received": [{"agency": agency, "reason": why} for agency, why in f.not_received],
    }


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
    """Everything templates/briefings/briefing.html shows: the document's details, the
    seven sections as blocks (a missing section shows as blank), the children by age
    band, the grade figures and chart inputs, ``counts`` (a Count for each count in a
    table or chart) and ``child_tables`` (each table of children's key and caption)."""
    f = facts(session, audit=audit)
    check_renderable(f.audit, "briefing")
    summary = grade_summary(f.grades, f.levels, f.key_areas)
    number = {s.key: i for i, s in enumerate(SECTIONS, 1)}
    glance = "The audit at a glance"
    counts = [
        Count("glance", glance, "Children", len(f.children), "cohort"),
        Count("glance", glance, "Agencies", len(f.agencies), "agencies"),
        Count("glance", glance, "Key areas", len(f.key_areas), "key areas"),
    ]
    age_bands, found = _age_bands(
        f,
        key="children-by-age-band",
        caption=AGE_BANDS,
        threshold=settings.small_count_threshold,
        suppressed=suppressed,
    )
    counts += found
    counts += _grade_counts("", "Grade patterns", summary, f.levels)
    return {
        "doc": _document("briefing", title, marking, version_label, dated, settings),
        "audit": _audit_view(f),
        "sections": [
            {
                "number": number[s.key],
                "key": s.key,
                "heading": s.heading,
                "blocks": blocks(sections.get(s.key, "")),
            }
            for s in SECTIONS
        ],
        "levels": f.levels,
        "codes": _codes(f),
        "grades": summary,
        "shifts_by_key_area": _shift_rows(summary["by_key_area"]),
        "shifts_by_agency": _shift_rows(summary["by_agency"]),
        "age_bands": age_bands,
        "counts": counts,
        "child_tables": {"children-by-age-band": AGE_BANDS} if age_bands else {},
    }


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
) -> dict:
    """Everything templates/briefings/subgroup_report.html shows for one audit or a
    period's audits: for each audit its children by age band, per agency results and
    moderation analytics; the action tracker with RAG and escalation on ``today``, the
    overdue list, ``counts`` and ``child_tables`` (as ``briefing_context``'s)."""
    if not audits:
        raise StateError("A subgroup report needs at least one audit.")
    clock = Clock(today, settings.escalate_to_executive_after_days)
    parts: list[dict[str, Any]] = []
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
        counts += [
            Count(f"{key}summary", where, "Children", len(f.children), "cohort"),
            Count(f"{key}summary", where, "Agencies", len(f.agencies), "agencies"),
        ]
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
        assurance.summary(session, audit_id=audit_id)
        for audit_id in session.scalars(
            select(Briefing.assurance_audit_id)
            .where(Briefing.audit_id.in_([a.id for a in audits]))
            .where(Briefing.assurance_audit_id.is_not(None))
            .order_by(Briefing.id)
        )
        if audit_id is not None  # as selected; for the type checker
    ]
    return {
        "assurance": assured,
        "doc": _document("subgroup-report", title, marking, version_label, dated, settings),
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


def briefing_downloads(session: Session, *, audit_ids: list[int]) -> list[dict]:
    """How often each published briefing of these audits was downloaded, in all and by
    the agency of the people signed in: evidence of how the learning was disseminated."""
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
        by_agency = sorted((agency, n) for agency, signed_in, n in rows if signed_in and agency)
        found.append(
            {
                "title": title,
                "total": sum(n for _a, _s, n in rows),
                "not_signed_in": sum(n for _a, signed_in, n in rows if not signed_in),
                "by_agency": by_agency,
            }
        )
    return found
