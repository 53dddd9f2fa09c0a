"""What a learning briefing and a subgroup report say: the seven sections of a
"7 minute briefing" drafted from a moderated audit as editable plain text, and the
figures, charts and tables both documents show.

Drafted text never names a child. Findings may be about one child of the cohort; a
briefing is read far beyond the audit, so each statement has the cohort's pseudonyms
(and anything shaped like one) replaced before it is used, and a finding about one
child is said to be about "one case". Every count shown is also listed in
``counts`` so the identification check can warn about small numbers.

Everything is read as the system: callers decide who may render what.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.access.policy import MODERATED_STATUSES, SYSTEM
from app.actions import tracker
from app.actions.lifecycle import DONE, RAG_LABELS, STATUS_LABELS, Clock
from app.actions.models import ActionStatus, LearningAction
from app.agencies.models import Agency
from app.audit_templates.models import TemplateVersion
from app.audit_templates.service import get_version
from app.audits.models import Audit, AuditStatus, Child
from app.audits.schemas import PSEUDONYM_WORDS
from app.audits.service import get_audit
from app.briefings import assurance
from app.briefings.models import Briefing, BriefingDownload
from app.errors import StateError
from app.findings import service as findings_service
from app.findings.models import Finding, FindingKind
from app.moderation import analytics, stats
from app.moderation import service as moderation


class Section(NamedTuple):
    key: str
    heading: str


SECTIONS: tuple[Section, ...] = (
    Section("background", "Background: why this audit"),
    Section("looked_at", "What we looked at"),
    Section("good_practice", "What we found: good practice"),
    Section("improvement", "What we found: areas for improvement"),
    Section("grade_patterns", "Grade patterns"),
    Section("what_to_do", "What practitioners should do"),
    Section("reflection", "Questions for reflection and further reading"),
)

# A briefing is drafted once moderation has finished: its grades are then final.
BRIEFING_STATUSES = frozenset({AuditStatus.LEARNING, AuditStatus.CLOSED})
AGREED = frozenset({ActionStatus.AGREED, ActionStatus.IN_PROGRESS}) | DONE

# What practitioners should do, and what to reflect on, for each theme a finding for
# improvement is tagged with (the migration's controlled list).
PRACTICE = {
    "Voice of the child": (
        "Record the child's own words, who spoke with them and whether they were seen "
        "alone, and show how their views shaped each decision.",
        "How would the child describe what your agency did, and where is that in your record?",
    ),
    "Information sharing": (
        "Share what your agency knows with the lead agency promptly, and save strategy "
        "discussion minutes and plans to your own agency's record.",
        "What do you know about this child that another agency might not, and have you shared it?",
    ),
    "Strategy discussion": (
        "Make sure children's social care, police and health (and any other agency that "
        "knows the child) are invited to every strategy discussion.",
        "Who was missing from the last strategy discussion you attended, and what did that cost?",
    ),
    "Consent and capacity": (
        "Consider consent, and mental capacity from the age of 16, in every strategy "
        "discussion, and record the decision and the reasons for it.",
        "When did you last record why information was shared without consent?",
    ),
    "SMART planning": (
        "Give every action in a safety plan an owner from the right agency and a date, "
        "and check at the next meeting that it happened.",
        "Could someone who has never met the family tell from the plan who does what, by when?",
    ),
    "Recording": (
        "Record the reasons for each decision, not only the decision, so the next "
        "practitioner can follow them.",
        "If you left tomorrow, would your record tell your successor why you decided what you did?",
    ),
    "Management oversight and supervision": (
        "Managers: check plans for drift in supervision, between the strategy "
        "discussion and the conference as well as after it.",
        "How does supervision in your team spot a plan that has stopped moving?",
    ),
    "Professional curiosity": (
        "Be professionally curious: test what you are told against what you see and "
        "what other agencies know.",
        "What have you accepted at face value this month that you could have checked?",
    ),
    "Escalation and professional challenge": (
        "Use the partnership's escalation procedure when you disagree with another "
        "agency's decision, and record that you did.",
        "When did you last challenge another agency's decision, and what helped you to?",
    ),
    "Risk assessment": (
        "Complete and review the agreed risk assessment tools when new information arrives.",
        "What new information would make you look again at the risk to a child you work with?",
    ),
    "Think family": (
        "Think family: consider siblings and the adults around the child, and what "
        "their needs mean for the child's safety.",
        "Who else lives with or cares for the child, and what do you know about them?",
    ),
    "Early help": (
        "Offer early help as soon as needs appear, and use the levels of need guidance "
        "to decide when to refer.",
        "What early help could this family have been offered, and when?",
    ),
}
GENERIC_QUESTIONS = (
    "Which of these findings would an audit of your own cases show?",
    "What one thing will you do differently after reading this briefing?",
    "How will you share this learning with your team?",
)
FURTHER_READING = (
    "Working Together to Safeguard Children 2023 (HM Government).",
    "The partnership's multi-agency child protection procedures and its escalation policy.",
    "Your agency's safeguarding policy and your designated safeguarding lead or named professional.",
)


# --- never a child ----------------------------------------------------------------------

_SHAPED = re.compile(r"\b(" + "|".join(PSEUDONYM_WORDS) + r") [A-Z0-9]{1,3}\b")


def without_children(text: str, pseudonyms: list[str]) -> str:
    """``text`` with the cohort's pseudonyms, and anything shaped like a pseudonym,
    replaced by "a child" (or "a young person", "a baby", "an unborn baby", "a sibling")."""

    def generic(match: re.Match) -> str:
        word = match.group(0).rsplit(" ", 1)[0].lower()
        return ("an " if word[0] in "aeiou" else "a ") + word

    for name in sorted(pseudonyms, key=len, reverse=True):
        # The word in any case ("child a" is how people type it), the code exactly:
        # "the child a day later" must stay as it is.
        word, _space, code = name.rpartition(" ")
        if word:
            text = re.sub(rf"\b(?i:{re.escape(word)}) {re.escape(code)}\b", generic, text)
    text = _SHAPED.sub(generic, text)
    # A sentence that now starts "a child" starts with a capital again.
    return re.sub(r"(^|[.!?]\s+)(an?) ", lambda m: m.group(1) + m.group(2).title() + " ", text)


# --- the facts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GradePair:
    agency: str
    key_area: str
    own: int
    moderated: int


@dataclass
class Facts:
    audit: Audit
    version: TemplateVersion
    children: list[Child]
    agencies: list[Agency]
    key_areas: list[str]  # graded, in template order
    levels: list[str]
    grades: list[GradePair]  # key-area cells moderated against the agency's own grade
    findings: list[Finding]
    returns: Counter  # agency name -> returns expected of it

    @property
    def pseudonyms(self) -> list[str]:
        return [c.pseudonym for c in self.children]

    def statements(self, kind: FindingKind) -> list[str]:
        out = []
        for f in self.findings:
            if f.kind != kind:
                continue
            text = without_children(f.statement.strip(), self.pseudonyms)
            out.append(f"{text.rstrip('.')} (found in one case)." if f.child_id else text)
        return out


def check_renderable(audit: Audit, kind: str) -> None:
    """A briefing needs final (moderated) grades; a subgroup report needs moderation
    to have started."""
    allowed = BRIEFING_STATUSES if kind == "briefing" else MODERATED_STATUSES
    if audit.status not in allowed:
        stage = "finished" if kind == "briefing" else "started"
        raise StateError(
            f"'{audit.title}' is {audit.status.value}: its moderation has not {stage} yet, "
            f"so there are no moderated grades for a {kind.replace('-', ' ')}."
        )


def facts(session: Session, *, audit: Audit) -> Facts:
    audit = get_audit(session, audit_id=audit.id, actor=SYSTEM)
    version = get_version(session, version_id=audit.template_version_id)
    grid = moderation.grid(session, actor=SYSTEM, audit=audit)
    titles = dict(grid.areas)
    names = {a.id: a.name for a in audit.agencies}
    grades = [
        GradePair(
            names[c.agency_id], titles[c.cell], c.self_level.position, c.moderated_level.position
        )
        for _key, c in sorted(grid.cells.items())
        if c.cell != moderation.OVERALL and c.done and c.self_level and c.moderated_level
    ]
    return Facts(
        audit=audit,
        version=version,
        children=grid.children,
        agencies=list(audit.agencies),
        key_areas=[t for cell, t in grid.areas if cell != moderation.OVERALL],
        levels=[lv.label for lv in version.scale.levels] if version.scale else [],
        grades=grades,
        findings=findings_service.list_findings(session, actor=SYSTEM, audit=audit),
        returns=Counter(names[r.agency_id] for r in grid.returns.values()),
    )


def _pct(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "0%"


def _listing(items: list[str]) -> str:
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else "".join(items)


def _bullets(items) -> str:
    return "\n".join(f"- {item}" for item in items)


def _paragraphs(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)


def grade_summary(grades: list[GradePair], levels: list[str], key_areas: list[str]) -> dict:
    """Counts of own and moderated grades by level, by key area (in ``key_areas``'
    order) and by agency, with how many moderation lowered (a worse grade than the
    agency's own) and raised."""

    def group(pairs: list[GradePair]) -> dict:
        moderated = Counter(p.moderated for p in pairs)
        own = Counter(p.own for p in pairs)
        return {
            "n": len(pairs),
            "moderated": [moderated[i] for i in range(len(levels))],
            "own": [own[i] for i in range(len(levels))],
            "lowered": sum(p.moderated > p.own for p in pairs),
            "raised": sum(p.moderated < p.own for p in pairs),
        }

    def by(attr: str, order: list[str]) -> list[dict]:
        return [
            {"label": label, **group([p for p in grades if getattr(p, attr) == label])}
            for label in order
            if any(getattr(p, attr) == label for p in grades)
        ]

    total = group(grades)
    total["changed"] = total["lowered"] + total["raised"]
    return {
        "total": total,
        "by_key_area": by("key_area", key_areas),
        "by_agency": by("agency", sorted({p.agency for p in grades})),
    }


# --- the draft ------------------------------------------------------------------------------


def _first_paragraph(text: str) -> str:
    first = re.split(r"\n\s*\n", text.strip(), maxsplit=1)[0]
    return " ".join(first.split())


def _grade_words(f: Facts) -> str:
    summary = grade_summary(f.grades, f.levels, f.key_areas)
    t = summary["total"]
    if not t["n"]:
        return "No key-area grades were moderated in this audit."
    if t["changed"] == 0:
        changes = "Moderation agreed every one of them: each agency's own grade stood."
    else:
        direction = (
            "most changes lowered the agency's own grade"
            if t["lowered"] > t["raised"]
            else "most changes raised the agency's own grade"
            if t["raised"] > t["lowered"]
            else "as many were raised as lowered"
        )
        changes = (
            f"{t['changed']} ({_pct(t['changed'], t['n'])}) were changed at moderation: "
            f"{t['lowered']} lowered and {t['raised']} raised, so {direction}."
        )
    levels = _listing(
        [f"{n} {label}" for n, label in zip(t["moderated"], f.levels, strict=True) if n]
    )
    parts = [
        f"Of {t['n']} key-area grades, {changes[0].lower() + changes[1:]}",
        f"After moderation the grades were: {levels}.",
    ]
    for name, rows in (("key area", summary["by_key_area"]), ("agency", summary["by_agency"])):
        worst = max(rows, key=lambda r: (r["lowered"] / r["n"], r["n"]), default=None)
        if worst and worst["lowered"]:
            parts.append(
                f"The {name} with the largest share of grades lowered was {worst['label']} "
                f"({worst['lowered']} of {worst['n']})."
            )
    parts.append(
        "Self-grading that moderation lowers is itself learning: it shows where an agency's "
        "view of its own practice differs from what the multi-agency group saw."
    )
    return _paragraphs(parts[0] + " " + parts[1], " ".join(parts[2:]))


def _themes(f: Facts, most: int = 5) -> list[str]:
    """The themes of the areas for improvement that have practice advice, most often
    tagged first (then in the order the findings were recorded)."""
    tagged = Counter(
        theme.name
        for finding in f.findings
        if finding.kind == FindingKind.AREA_FOR_IMPROVEMENT
        for theme in finding.themes
        if theme.name in PRACTICE
    )
    return [name for name, _n in tagged.most_common(most)]


def _agreed_actions(session: Session, audit: Audit) -> list[tuple[str, str, date]]:
    """(title, owning agency, due date) of the actions agreed for the audit, soonest due
    first: proposed and not-accepted ones are not the partnership's yet."""
    return list(
        session.execute(
            select(LearningAction.title, Agency.name, LearningAction.due_on)
            .join(Agency, Agency.id == LearningAction.owning_agency_id)
            .where(LearningAction.audit_id == audit.id, LearningAction.status.in_(AGREED))
            .order_by(LearningAction.due_on, LearningAction.id)
        ).all()
    )


def draft_sections(session: Session, *, audit: Audit) -> dict[str, str]:
    """Editable plain text for each of ``SECTIONS``, drafted from the moderated audit:
    paragraphs separated by a blank line, lines starting "- " are bullets. No child's
    pseudonym appears in it."""
    f = facts(session, audit=audit)
    a, version = f.audit, f.version
    subgroup = a.lead_subgroup.name if a.lead_subgroup else "the partnership"
    why = "\n\n".join(
        " ".join(part.split()) for part in re.split(r"\n\s*\n", a.description.strip())
    ) or _first_paragraph(version.description)
    background = _paragraphs(
        without_children(why, f.pseudonyms),
        f"The {subgroup} group led the audit, on the theme of {(a.theme or version.theme).lower()}"
        f"{f', and moderated the grades on {a.moderation_meeting_on:%-d %B %Y}' if a.moderation_meeting_on else ''}. "
        "This briefing shares what the audit found, how agencies' own grades compared with "
        "the moderated grades, and what practitioners should do differently.",
    )
    n = len(f.children)
    scale = version.scale.name if version.scale else "the audit's grading scale"
    looked_at = _paragraphs(
        f"Theme: {a.theme or version.theme}.",
        f"We looked at the multi-agency response to {n} {'child' if n == 1 else 'children'}, "
        f"using the {(version.method or 'multi-agency case audit').lower()} method. "
        f"Each of the {len(f.agencies)} agencies audited its own involvement with the same "
        "children, against the same questions:",
        _bullets(ag.name for ag in f.agencies),
        f"Practice was examined in {len(f.key_areas)} key areas, in the order the child meets them:",
        _bullets(f.key_areas),
        f"Each agency graded its own practice in each key area on the {scale} "
        f"({', '.join(f.levels)}). The grades were then moderated together at a multi-agency "
        "meeting, which agreed or changed each one with its reasons.",
    )
    good = f.statements(FindingKind.GOOD_PRACTICE)
    improve = f.statements(FindingKind.AREA_FOR_IMPROVEMENT)
    themes = _themes(f)
    actions = _agreed_actions(session, a)
    todo = [PRACTICE[t][0] for t in themes] or [
        "Read the areas for improvement above and check your own recent cases against them."
    ]
    what_to_do = _paragraphs(
        "Practitioners in every agency should:",
        _bullets(todo),
        "The partnership has agreed these learning actions:" if actions else "",
        _bullets(
            f"{without_children(title, f.pseudonyms)} ({agency}, by {due:%B %Y})"
            for title, agency, due in actions
        ),
    )
    questions = [PRACTICE[t][1] for t in themes][:3]
    questions += list(GENERIC_QUESTIONS)[: max(0, 4 - len(questions))]
    reflection = _paragraphs(
        "Questions for reflection, on your own or with your team:",
        _bullets(questions[:4]),
        "Further reading:",
        _bullets(FURTHER_READING),
    )
    return {
        "background": background,
        "looked_at": looked_at,
        "good_practice": _paragraphs(
            "The audit found good practice, for example:" if good else "",
            _bullets(good) if good else "No good practice findings were recorded.",
        ),
        "improvement": _paragraphs(
            "The audit also found where practice could improve:" if improve else "",
            _bullets(improve) if improve else "No areas for improvement were recorded.",
        ),
        "grade_patterns": _grade_words(f),
        "what_to_do": what_to_do,
        "reflection": reflection,
    }


# --- what the templates show ------------------------------------------------------------------


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
    parts, actions, counts = [], [], []
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
    counts += [("Action tracker: RAG", r["label"], r["count"]) for r in rag_rows]
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
