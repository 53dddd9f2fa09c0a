"""The first draft of a "7 minute briefing": editable plain text for each of its seven
sections, drafted from a moderated audit's facts. The fixed wording (headings, lead-ins,
what to do and reflect on for each theme, further reading) is editorial copy in
``briefing_wording.yaml``, loaded once; the sentences that state the audit's own
figures and names are drafted here.

Drafted text never names a child (``facts.without_children``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import NamedTuple

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.actions.lifecycle import DONE
from app.actions.models import ActionStatus, LearningAction
from app.agencies.models import Agency
from app.audits.models import Audit
from app.briefings.facts import Facts, facts, grade_summary, without_children
from app.findings.models import FindingKind
from app.formatting import format_date


class Section(NamedTuple):
    key: str
    heading: str


class Practice(NamedTuple):
    """For one theme: what practitioners should do, and a question to reflect on."""

    do: str
    reflect: str


@dataclass(frozen=True)
class Phrases:
    """The fixed sentences of the drafted sections; a phrase missing from the file (or
    one the code does not know) stops the app starting, not a briefing being drafted."""

    background_purpose: str
    good_practice_intro: str
    good_practice_none: str
    improvement_intro: str
    improvement_none: str
    no_grades: str
    all_agreed: str
    mostly_lowered: str
    mostly_raised: str
    evenly_changed: str
    self_grading: str
    what_to_do_intro: str
    what_to_do_fallback: str
    actions_intro: str
    reflection_intro: str
    further_reading_intro: str


_WORDING = yaml.safe_load(
    Path(__file__).with_name("briefing_wording.yaml").read_text(encoding="utf-8")
)
SECTIONS: tuple[Section, ...] = tuple(Section(**s) for s in _WORDING["sections"])
PHRASES = Phrases(**_WORDING["phrases"])
# What practitioners should do, and what to reflect on, for each theme a finding for
# improvement is tagged with (the migration's controlled list).
PRACTICE: dict[str, Practice] = {
    theme: Practice(**advice) for theme, advice in _WORDING["practice"].items()
}
GENERIC_QUESTIONS: tuple[str, ...] = tuple(_WORDING["generic_questions"])
FURTHER_READING: tuple[str, ...] = tuple(_WORDING["further_reading"])

# Proposed and not-accepted actions are not the partnership's yet.
AGREED = frozenset({ActionStatus.AGREED, ActionStatus.IN_PROGRESS}) | DONE


def _moderated_when(audit) -> str:
    """When the grades were moderated, never stating a future meeting as past: the day
    moderation finished if it has, else the meeting if it is still to come."""
    finished = audit.learning_started_at
    if finished is not None:
        return f", and finished moderating the grades on {format_date(finished)}"
    meeting = audit.moderation_meeting_on
    if meeting is not None and meeting >= clock.today():
        return f", and is due to moderate the grades on {format_date(meeting)}"
    if meeting is not None:
        return f", and held the moderation meeting on {format_date(meeting)}"
    return ""


def _pct(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "0%"


def _listing(items: list[str]) -> str:
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else "".join(items)


def _bullets(items) -> str:
    return "\n".join(f"- {item}" for item in items)


def _paragraphs(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)


def _first_paragraph(text: str) -> str:
    first = re.split(r"\n\s*\n", text.strip(), maxsplit=1)[0]
    return " ".join(first.split())


def _grade_words(f: Facts) -> str:
    summary = grade_summary(f.grades, f.levels, f.key_areas)
    t = summary["total"]
    if not t["n"]:
        return PHRASES.no_grades
    if t["changed"] == 0:
        changes = PHRASES.all_agreed
    else:
        direction = (
            PHRASES.mostly_lowered
            if t["lowered"] > t["raised"]
            else PHRASES.mostly_raised
            if t["raised"] > t["lowered"]
            else PHRASES.evenly_changed
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
    parts.append(PHRASES.self_grading)
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
        f"{_moderated_when(a)}. " + PHRASES.background_purpose,
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
        f"Practice was examined in {len(f.key_areas)} key "
        f"{'area' if len(f.key_areas) == 1 else 'areas'}, in the order the child meets them:",
        _bullets(f.key_areas),
        f"Each agency graded its own practice in each key area on the {scale} "
        f"({', '.join(f.levels)}). The grades were then moderated together at a multi-agency "
        "meeting, which agreed or changed each one with its reasons.",
    )
    good = f.statements(FindingKind.GOOD_PRACTICE)
    improve = f.statements(FindingKind.AREA_FOR_IMPROVEMENT)
    themes = _themes(f)
    actions = _agreed_actions(session, a)
    todo = [PRACTICE[t].do for t in themes] or [PHRASES.what_to_do_fallback]
    what_to_do = _paragraphs(
        PHRASES.what_to_do_intro,
        _bullets(todo),
        PHRASES.actions_intro if actions else "",
        _bullets(
            f"{without_children(title, f.pseudonyms)} ({agency}, by {due:%B %Y})"
            for title, agency, due in actions
        ),
    )
    questions = [PRACTICE[t].reflect for t in themes][:3]
    questions += list(GENERIC_QUESTIONS)[: max(0, 4 - len(questions))]
    reflection = _paragraphs(
        PHRASES.reflection_intro,
        _bullets(questions[:4]),
        PHRASES.further_reading_intro,
        _bullets(FURTHER_READING),
    )
    return {
        "background": background,
        "looked_at": looked_at,
        "good_practice": _paragraphs(
            PHRASES.good_practice_intro if good else "",
            _bullets(good) if good else PHRASES.good_practice_none,
        ),
        "improvement": _paragraphs(
            PHRASES.improvement_intro if improve else "",
            _bullets(improve) if improve else PHRASES.improvement_none,
        ),
        "grade_patterns": _grade_words(f),
        "what_to_do": what_to_do,
        "reflection": reflection,
    }
