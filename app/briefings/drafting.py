"""The first draft of a "7 minute briefing": editable plain text for its key messages
and each of its seven numbered sections (background; why it matters; what we found,
with the child's experience; what good looked like; what needs to change; what
practitioners should do; questions for reflection), drafted from a moderated audit's
findings, grades and agreed actions. The fixed wording (headings, lead-ins, and for
each theme its key message, why it matters, what to do and what to reflect on) is
editorial copy in ``briefing_wording.yaml``, loaded once; the sentences that state the
audit's own figures and names are drafted here. A draft is short on purpose: page 1 of
the printed briefing holds all of it (``content.page_one_fill`` says how full it is).

Drafted text never names a child (``facts.without_children``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
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
from app.findings.models import Finding, FindingKind
from app.formatting import format_date


class Section(NamedTuple):
    key: str
    heading: str


class Practice(NamedTuple):
    """For one theme: a key message, why it matters, what practitioners should do, and
    a question to reflect on."""

    message: str
    matters: str
    do: str
    reflect: str


@dataclass(frozen=True)
class Phrases:
    """The fixed sentences of the drafted sections; a phrase missing from the file (or
    one the code does not know) stops the app starting, not a briefing being drafted."""

    key_message_fallback: str
    why_it_matters_fallback: str
    child_experience_intro: str
    child_experience_prompt: str
    improvement_none: str
    good_practice_none: str
    no_grades: str
    all_agreed: str
    mostly_lowered: str
    mostly_raised: str
    evenly_changed: str
    actions_intro: str
    to_change_prompt: str
    what_to_do_fallback: str


_WORDING = yaml.safe_load(
    Path(__file__).with_name("briefing_wording.yaml").read_text(encoding="utf-8")
)
KEY_MESSAGES = Section(**_WORDING["key_messages"])
# The seven numbered sections, in order: page 1's boxes.
NUMBERED: tuple[Section, ...] = tuple(Section(**s) for s in _WORDING["sections"])
# Every section a briefing's version keeps text for, as the editor shows them: the key
# messages, then the seven.
SECTIONS: tuple[Section, ...] = (KEY_MESSAGES, *NUMBERED)
PHRASES = Phrases(**_WORDING["phrases"])
# For each theme a finding is tagged with (the migration's controlled list).
PRACTICE: dict[str, Practice] = {
    theme: Practice(**advice) for theme, advice in _WORDING["practice"].items()
}
CHILD_EXPERIENCE_THEMES = frozenset(_WORDING["child_experience_themes"])
GENERIC_QUESTIONS: tuple[str, ...] = tuple(_WORDING["generic_questions"])

# How much is drafted where the audit could give more than page 1 holds (findings are
# all drafted: the editor says when they are too long for the page).
MOST_KEY_MESSAGES = 3
MOST_MATTERS = 2
MOST_THEMES = 3  # what practitioners should do
MOST_QUESTIONS = 3
MOST_ACTIONS = 3
# The background's first sentences from the audit's description, up to about this long.
BACKGROUND_LENGTH = 260

# A version saved before the briefing took its seven-box shape keeps its text under
# these keys; it is shown in the section each names (``current_sections``).
LEGACY = {"looked_at": "background", "grade_patterns": "improvement"}
# The sections no version saved before then has.
_ADDED = frozenset(s.key for s in SECTIONS) - {
    "background",
    "good_practice",
    "improvement",
    "what_to_do",
    "reflection",
}

# Proposed and not-accepted actions are not the partnership's yet.
AGREED = frozenset({ActionStatus.AGREED, ActionStatus.IN_PROGRESS}) | DONE
# A prompt for the author to replace: a sentence in square brackets.
PROMPT = re.compile(r"\[[^\[\]]{12,}\]")


def current_sections(saved: Mapping[str, str]) -> dict[str, str]:
    """A version's text for each of ``SECTIONS``, in order. A version saved before the
    seven boxes (it has none of the sections added then, and text under a ``LEGACY``
    key) shows "What we looked at" after its background and its grade patterns after
    what it found; its "why it matters", "what needs to change" and key messages are
    blank until its author writes them, and once saved it is read as it is."""
    out = {s.key: saved.get(s.key) or "" for s in SECTIONS}
    if _ADDED & saved.keys() or not any((saved.get(k) or "").strip() for k in LEGACY):
        return out
    for old, new in LEGACY.items():
        out[new] = _paragraphs(out[new].strip(), (saved.get(old) or "").strip())
    return out


def prompts_left(sections: Mapping[str, str]) -> list[str]:
    """The keys of the sections that still hold a prompt for the author to replace."""
    return [key for key, text in sections.items() if PROMPT.search(text or "")]


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


def _bullets(items) -> str:
    return "\n".join(f"- {item}" for item in items)


def _paragraphs(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)


def _first_paragraph(text: str) -> str:
    first = re.split(r"\n\s*\n", text.strip(), maxsplit=1)[0]
    return " ".join(first.split())


def _opening(text: str, most: int = BACKGROUND_LENGTH) -> str:
    """The first sentences of ``text`` up to about ``most`` characters (always the first
    sentence whole)."""
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'“‘(])", " ".join(text.split()))
    kept = sentences[:1]
    for sentence in sentences[1:]:
        if len(" ".join([*kept, sentence])) > most:
            break
        kept.append(sentence)
    return " ".join(kept)


def _grade_words(f: Facts) -> str:
    """What moderation did to agencies' own grades, in a sentence or two: the briefing's
    one figure in words (its chart is on page 2)."""
    t = grade_summary(f.grades, f.levels, f.key_areas)["total"]
    if not t["n"]:
        return PHRASES.no_grades
    if t["changed"] == 0:
        return PHRASES.all_agreed
    direction = (
        PHRASES.mostly_lowered
        if t["lowered"] > t["raised"]
        else PHRASES.mostly_raised
        if t["raised"] > t["lowered"]
        else PHRASES.evenly_changed
    )
    said = (
        f"Moderation changed {t['changed']} of the {t['n']} grades agencies gave their own "
        f"practice: it lowered {t['lowered']} and raised {t['raised']}."
    )
    return f"{said} {direction}".strip()


def _tagged(findings: list[Finding]) -> Counter:
    return Counter(theme.name for finding in findings for theme in finding.themes)


def _ranked(f: Facts) -> list[Finding]:
    """The areas for improvement, strongest first: about every case before one case,
    then by how often their themes are tagged across the audit's areas for improvement,
    then in the order they were recorded."""
    improve = [x for x in f.findings if x.kind == FindingKind.AREA_FOR_IMPROVEMENT]
    tagged = _tagged(improve)
    return sorted(
        improve,
        key=lambda x: (x.child_id is not None, -sum(tagged[t.name] for t in x.themes)),
    )


def _themes(f: Facts, most: int = MOST_THEMES) -> list[str]:
    """The themes of the areas for improvement that have practice advice, most often
    tagged first (then in the order the findings were recorded)."""
    tagged = _tagged([x for x in f.findings if x.kind == FindingKind.AREA_FOR_IMPROVEMENT])
    return [name for name, _n in tagged.most_common() if name in PRACTICE][:most]


def _message_themes(f: Facts) -> list[str]:
    """A theme for each of the strongest areas for improvement, for its key message: its
    child's-experience theme if it has one, else its most often tagged; each theme
    once."""
    ranked = _ranked(f)
    tagged = _tagged(ranked)
    chosen: list[str] = []
    for finding in ranked:
        names = sorted(
            (t.name for t in finding.themes if t.name in PRACTICE and t.name not in chosen),
            key=lambda name: (name not in CHILD_EXPERIENCE_THEMES, -tagged[name]),
        )
        if names:
            chosen.append(names[0])
        if len(chosen) == MOST_KEY_MESSAGES:
            break
    return chosen


def _statement(f: Facts, finding: Finding) -> str:
    text = without_children(finding.statement.strip(), f.pseudonyms)
    return f"{text.rstrip('.')} (found in one case)." if finding.child_id else text


def _about_the_child(finding: Finding) -> bool:
    return any(t.name in CHILD_EXPERIENCE_THEMES for t in finding.themes)


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
    why = _opening(a.description) if a.description.strip() else ""
    why = why or _opening(_first_paragraph(version.description))
    n, agencies = len(f.children), len(f.agencies)
    background = _paragraphs(
        without_children(why, f.pseudonyms),
        f"The {subgroup} group led the audit of how {agencies} "
        f"{'agency' if agencies == 1 else 'agencies'} worked with {n} "
        f"{'child' if n == 1 else 'children'}{_moderated_when(a)}.",
    )

    messages = _message_themes(f)
    key_messages = [PRACTICE[t].message for t in messages] or [PHRASES.key_message_fallback]
    matters = [PRACTICE[t].matters for t in (messages or _themes(f))[:MOST_MATTERS]]

    ranked = _ranked(f)
    child = [x for x in ranked if _about_the_child(x)]
    if not child:
        child = [
            x for x in f.findings if x.kind == FindingKind.GOOD_PRACTICE and _about_the_child(x)
        ]
    experience = (
        f"{PHRASES.child_experience_intro} " + " ".join(_statement(f, x) for x in child)
        if child
        else PHRASES.child_experience_prompt
    )
    others = [_statement(f, x) for x in ranked if x not in child]
    found = _paragraphs(
        _grade_words(f),
        experience,
        _bullets(others) if others or child else PHRASES.improvement_none,
    )

    good = f.statements(FindingKind.GOOD_PRACTICE)
    actions = _agreed_actions(session, a)
    shown = actions[:MOST_ACTIONS]
    more = len(actions) - len(shown)
    intro = (
        f"The partnership has agreed {len(actions)} actions; the first due are:"
        if more
        else PHRASES.actions_intro
    )
    to_change = (
        _paragraphs(
            intro,
            _bullets(
                f"{without_children(title, f.pseudonyms)} ({agency}, by {due:%B %Y})"
                for title, agency, due in shown
            ),
        )
        if actions
        else PHRASES.to_change_prompt
    )
    themes = _themes(f)
    questions = [PRACTICE[t].reflect for t in themes][: MOST_QUESTIONS - 1]
    questions += list(GENERIC_QUESTIONS)[: MOST_QUESTIONS - len(questions)]
    return {
        "key_messages": _bullets(key_messages),
        "background": background,
        "why_it_matters": _paragraphs(*matters) or PHRASES.why_it_matters_fallback,
        "improvement": found,
        "good_practice": _bullets(good) if good else PHRASES.good_practice_none,
        "to_change": to_change,
        "what_to_do": _bullets([PRACTICE[t].do for t in themes] or [PHRASES.what_to_do_fallback]),
        "reflection": _bullets(questions),
    }
