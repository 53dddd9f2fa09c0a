"""What a briefing and a subgroup report are drawn from: an audit's moderated grades
(each key-area cell as the agency's own grade and the moderated one), its findings, its
cohort and its agencies, read as the system (callers decide who may render what); and
the rule that drafted text never names a child.

Findings may be about one child of the cohort; a briefing is read far beyond the audit,
so each statement has the cohort's pseudonyms (and anything shaped like one) replaced
before it is used, and a finding about one child is said to be about "one case".
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.access.policy import MODERATED_STATUSES, SYSTEM
from app.agencies.models import Agency
from app.audit_templates.models import TemplateVersion
from app.audit_templates.service import get_version
from app.audits.models import Audit, AuditStatus, Child
from app.audits.schemas import PSEUDONYM_WORDS
from app.audits.service import get_audit
from app.errors import StateError
from app.findings import service as findings_service
from app.findings.models import Finding, FindingKind
from app.moderation import service as moderation

# A briefing is drafted once moderation has finished: its grades are then final.
BRIEFING_STATUSES = frozenset({AuditStatus.LEARNING, AuditStatus.CLOSED})

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
    # Returns left out of moderation: (agency name, the chair's reason), by agency.
    # Never the child: a report says only that a return was not received, and why.
    not_received: list[tuple[str, str]]

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
        not_received=sorted(
            (names[r.agency_id], r.excluded_reason)
            for r in grid.returns.values()
            if r.excluded_at is not None
        ),
    )


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
