"""What a learning briefing and a subgroup report show: the contexts their templates
print (the briefing's seven sections as blocks, the figures, charts and tables both
documents show, a subgroup report's per-agency results, analytics, action tracker and
downloads). Every count shown is also listed in ``counts`` so the identification check
can warn about small numbers.

Everything is read as the system: callers decide who may render what.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.access.policy import SYSTEM
from app.actions import tracker
from app.actions.lifecycle import RAG_LABELS, STATUS_LABELS, Clock
from app.agencies.models import Agency
from app.audits.models import Audit
from app.briefings import assurance
from app.briefings.drafting import SECTIONS
from app.briefings.facts import Facts, check_renderable, facts, grade_summary
from app.briefings.models import Briefing, BriefingDownload
from app.errors import StateError
from app.moderation import analytics, stats


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


def _grade_counts(where: str, summary: dict, levels: list[str]) -> list[tuple[str, str, int]]:
    t = summary["total"]
    out = [
        (f"{where}: grades by level", f"Own grade {lv}", n)
        for lv, n in zip(levels, t["own"], strict=True)
    ]
    out += [
        (f"{where}: grades by level", f"Moderated {lv}", n)
        for lv, n in zip(levels, t["moderated"], strict=True)
    ]
    out += [
        (f"{where}: grades by level", label, t[key])
        for label, key in (("Grades", "n"), ("Lowered", "lowered"), ("Raised", "raised"))
    ]
    for name, rows in (("key area", summary["by_key_area"]), ("agency", summary["by_agency"])):
        for r in rows:
            place = f"{where}: by {name}"
            out.append((place, f"{r['label']}: grades", r["n"]))
            out += [
                (place, f"{r['label']}: moderated {lv}", n)
                for lv, n in zip(levels, r["moderated"], strict=True)
            ]
            out += [
                (place, f"{r['label']}: lowered", r["lowered"]),
                (place, f"{r['label']}: raised", r["raised"]),
            ]
    return out


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
) -> dict:
    """Everything templates/briefings/briefing.html shows: the document's details, the
    seven sections as blocks (a missing section shows as blank), the grade figures and
    chart inputs, and ``counts``: (where, label, count) for each count in a table or chart."""
    f = facts(session, audit=audit)
    check_renderable(f.audit, "briefing")
    summary = grade_summary(f.grades, f.levels, f.key_areas)
    number = {s.key: i for i, s in enumerate(SECTIONS, 1)}
    counts = [
        ("What we looked at", "Children", len(f.children)),
        ("What we looked at", "Agencies", len(f.agencies)),
        ("What we looked at", "Key areas", len(f.key_areas)),
    ]
    counts += _grade_counts("Grade patterns", summary, f.levels)
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
        "counts": counts,
    }


def _pooled(session: Session, audits: list[Audit]) -> list[dict]:
    """Agreement across several audits, one group per grading scale (never pooled)."""
    groups: dict[tuple, list[tuple[int, int]]] = {}
    for a in audits:
        for p in analytics.pairs(session, actor=SYSTEM, filters=analytics.Filters(audit_id=a.id)):
            groups.setdefault((p.scale, p.labels), []).append((p.own, p.moderated))
    return [
        {"scale": scale, "levels": list(labels), "overall": stats.summary(pairs, len(labels))}
        for (scale, labels), pairs in sorted(groups.items(), key=lambda g: -len(g[1]))
    ]


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
) -> dict:
    """Everything templates/briefings/subgroup_report.html shows for one audit or a
    period's audits: per agency results and moderation analytics for each audit, the
    action tracker with RAG and escalation on ``today``, the overdue list, and ``counts``."""
    if not audits:
        raise StateError("A subgroup report needs at least one audit.")
    clock = Clock(today, settings.escalate_to_executive_after_days)
    parts: list[dict[str, Any]] = []
    actions: list[tracker.ActionRow] = []
    counts: list[tuple[str, str, int]] = []
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
        where = f.audit.title
        counts += [(where, "Children", len(f.children)), (where, "Agencies", len(f.agencies))]
        counts += [
            (f"{where}: per agency", f"{r['label']}: returns", r["returns"]) for r in agency_rows
        ]
        counts += _grade_counts(where, summary, f.levels)
        found, _total = tracker.rows(
            session, actor=SYSTEM, filters=tracker.TrackerFilter(audit_id=f.audit.id), clock=clock
        )
        actions += found
        parts.append(
            {
                "audit": _audit_view(f),
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
    counts += [("Action tracker: RAG", label, rag[key]) for key, label in RAG_LABELS.items()]
    overdue = sorted((r for r in actions if r.standing.overdue), key=lambda r: -r.overdue_days)
    name = subgroup_name or parts[0]["audit"]["subgroup"] or "Subgroup"
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
