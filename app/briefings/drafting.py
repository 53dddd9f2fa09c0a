"""The first draft of a "7 minute briefing": editable plain text for its key messages
and each of its seven numbered sections (background; why it matters; what we found,
with the child's experience; what good looked like; what needs to change; what
practitioners should do; questions for reflection), drafted from a moderated audit's
findings, grades and agreed actions. The fixed wording (headings, lead-ins, and for
each theme its key message, why it matters, what to do and what to reflect on) is
editorial copy in ``briefing_wording.yaml``, loaded once; the sentences that state the
audit's own figures and names are drafted here. A draft is short on purpose: page 1 of
the printed briefing holds all of it (``content.page_one_fill`` says how full it is).

A subgroup report's executive summary and the decisions it asks of the subgroup are
drafted here too, from the figures ``content.subgroup_report_context`` gathers
(``ReportSummary``), as text its author edits (``draft_report``).

Both say a date as its document's date has it: an event dated after it reads as still
to come, never as done (``when``). Drafted text never names a child
(``facts.without_children``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
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
from app.formatting import format_date, percentage, plural


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
    agencies_why_it_matters_fallback: str
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
# A subgroup report's sections, in the document's order: page 1 is its executive summary
# and the decisions it asks for, then any commentary; its figures follow.
REPORT_SECTIONS: tuple[Section, ...] = (
    Section("summary", "Executive summary"),
    Section("decisions", "Decisions asked of the subgroup"),
    Section("commentary", "Commentary for the subgroup"),
)
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


def _day(value: date | datetime) -> date:
    return value.astimezone(clock.LONDON).date() if isinstance(value, datetime) else value


def when(on: date | datetime, today: date, *, past: str, future: str, planned: bool = True) -> str:
    """``past`` or ``future`` with ``{date}`` filled in, never stating an event still to
    come as done. ``today`` is the document's date. A planned event (a meeting, a
    deadline) is still to come on its own day; one recorded when it happened (moderation
    finished, a briefing published) is to come only if it is dated after ``today``."""
    day = _day(on)
    ahead = day >= today if planned else day > today
    return (future if ahead else past).format(date=format_date(day))


def answers_due(due_on: date, today: date) -> str:
    """When a questionnaire's answers are (or were) due, as at ``today``."""
    return when(
        due_on, today, past="Answers were due by {date}.", future="Answers are due by {date}."
    )


def _moderated_when(audit, today: date | None = None) -> str:
    """When the grades were moderated, as at ``today`` (the clock's day if not given),
    never stating a future meeting as past: the day moderation finished if it has, else
    the meeting, held or still to come."""
    today = today or clock.today()
    finished = audit.learning_started_at
    if finished is not None and _day(finished) <= today:
        return f", and finished moderating the grades on {format_date(finished)}"
    meeting = audit.moderation_meeting_on
    if meeting is None:
        return ""
    return when(
        meeting,
        today,
        past=", and held the moderation meeting on {date}",
        future=", and is due to moderate the grades on {date}",
    )


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
    audited = (
        f"assessed {'its' if agencies == 1 else 'their'} own safeguarding arrangements"
        if a.about_agencies
        else f"worked with {n} {'child' if n == 1 else 'children'}"
    )
    background = _paragraphs(
        without_children(why, f.pseudonyms),
        f"The {subgroup} group led the audit of how {agencies} "
        f"{'agency' if agencies == 1 else 'agencies'} {audited}{_moderated_when(a)}.",
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
        else ""
        if a.about_agencies  # no child's experience to tell: the agencies' own arrangements
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
        "why_it_matters": _paragraphs(*matters)
        or (
            PHRASES.agencies_why_it_matters_fallback
            if a.about_agencies
            else PHRASES.why_it_matters_fallback
        ),
        "improvement": found,
        "good_practice": _bullets(good) if good else PHRASES.good_practice_none,
        "to_change": to_change,
        "what_to_do": _bullets([PRACTICE[t].do for t in themes] or [PHRASES.what_to_do_fallback]),
        "reflection": _bullets(questions),
    }


# --- a subgroup report's executive summary and decisions -----------------------------------


@dataclass(frozen=True)
class AuditSummary:
    """One audit of a subgroup report, as its executive summary tells it."""

    title: str
    children: int
    agencies: int
    key_areas: int
    moderating: bool  # moderation still open: the grades are not final
    finished_at: datetime | None  # when moderation finished
    meeting_on: date | None
    grades: int  # key-area grades moderated
    good: int  # of them, at ``good_label`` after moderation
    good_label: str  # "Good or better" (``good_or_better``)
    lowered: int  # moderation lowered: the agency had graded its practice higher
    raised: int
    lowered_by_agency: tuple[tuple[str, int], ...]  # most lowered first
    returns: int  # returns expected
    not_received: tuple[tuple[str, int], ...]  # by agency
    about_agencies: bool = False  # each agency assessed itself: it has no children


@dataclass(frozen=True)
class BriefingSummary:
    """A learning briefing drafted from the report's audits: its newest version's number
    and status, when the version readers have was published (None if none is), how often
    it was downloaded and how many readers said it was useful."""

    title: str
    number: int
    status: str
    published_on: date | None
    downloads: int
    useful: int


@dataclass(frozen=True)
class QuestionnaireSummary:
    title: str
    answered: int
    agencies: int
    due_on: date | None


@dataclass(frozen=True)
class ReportSummary:
    """What a subgroup report's summary and decisions are drafted from: whom it is for,
    its date, its audits, its learning actions as at that date, its audits' learning
    briefings and their assurance questionnaires."""

    to: str
    dated: date
    audits: tuple[AuditSummary, ...]
    actions: int
    proposed: int
    overdue: int
    executive: int  # overdue actions escalated to the Executive
    executive_after_days: int
    complete: int
    briefings: tuple[BriefingSummary, ...]
    questionnaires: tuple[QuestionnaireSummary, ...]


def good_or_better(levels: list[str]) -> tuple[int, str]:
    """How many of a scale's best levels count as good (its better half: Outstanding and
    Good of Ofsted's four; Green of red, amber, green) and how to say so."""
    k = max(1, len(levels) // 2)
    if not levels:
        return k, "graded"
    return k, levels[0] if k == 1 else f"{levels[k - 1]} or better"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _the(n: int, singular: str) -> str:
    """ "the action", "the 3 actions"."""
    return f"the {singular}" if n == 1 else f"the {plural(n, singular)}"


def _worked_with(a: AuditSummary) -> str:
    agencies = plural(a.agencies, "agency", "agencies")
    own = "its" if a.agencies == 1 else "their"
    if a.about_agencies:
        return (
            f"{agencies} assessed {own} own safeguarding arrangements, across "
            f"{plural(a.key_areas, 'key area')}."
        )
    children = plural(a.children, "child", "children")
    # "A cohort of 7 children": the number audited, which picks out no one (the
    # identification check knows it as the cohort's size).
    return (
        f"{agencies} audited {own} own work with a cohort of {children}, across "
        f"{plural(a.key_areas, 'key area')}."
    )


def _moderation_when(a: AuditSummary, today: date) -> str:
    """When the audit was moderated, in a sentence of its own: an exact date is never in
    a sentence with a title or an agency's name, whose words the identification check
    could read as case detail."""
    if a.finished_at is not None and _day(a.finished_at) <= today:
        return f"Moderation finished on {format_date(a.finished_at)}."
    if a.meeting_on is not None:
        return when(
            a.meeting_on,
            today,
            past="The moderation meeting was held on {date}"
            + ("; moderation is still open." if a.moderating else "."),
            future="The moderation meeting is planned for {date}.",
        )
    return "Moderation is still open." if a.moderating else ""


def _found(a: AuditSummary) -> str:
    """What moderation found, in practice terms."""
    if not a.grades:
        return "No key-area grades have been moderated yet."
    so_far = " so far" if a.moderating else ""
    said = (
        f"{a.good} of the {plural(a.grades, 'key-area grade')} moderated{so_far} "
        f"({percentage(a.good / a.grades)}) {'was' if a.good == 1 else 'were'} "
        f"{a.good_label}."
    )
    if a.lowered:
        most = [f"{agency} ({n})" for agency, n in a.lowered_by_agency[:3]]
        said += (
            " Agencies graded their own practice higher than moderation did in "
            f"{plural(a.lowered, 'grade')}"
            + (f", most often {_and(most)}" if len(a.lowered_by_agency) > 1 else f": {most[0]}")
            + "."
        )
        if a.raised:
            said += f" Moderation raised {plural(a.raised, 'grade')}."
    elif a.raised:
        said += (
            " No agency graded its own practice higher than moderation did; moderation "
            f"raised {plural(a.raised, 'grade')}."
        )
    else:
        said += " Moderation agreed every grade agencies gave their own practice."
    return said


def _not_received(audits: tuple[AuditSummary, ...]) -> list[tuple[str, int]]:
    missing: Counter = Counter()
    for a in audits:
        for agency, n in a.not_received:
            missing[agency] += n
    return sorted(missing.items(), key=lambda item: (-item[1], item[0]))


def _returns(s: ReportSummary) -> str:
    expected = sum(a.returns for a in s.audits)
    missing = _not_received(s.audits)
    if not expected:
        return ""
    if not missing:
        return f"Returns: all {plural(expected, 'return')} expected were received."
    received = expected - sum(n for _agency, n in missing)
    listed = _and([f"{agency} ({n})" for agency, n in missing])
    return (
        f"Returns: {received} of the {plural(expected, 'return')} expected "
        f"{'was' if received == 1 else 'were'} received; not received: {listed}."
    )


def _actions(s: ReportSummary) -> str:
    if not s.actions:
        return "Learning actions: none has been recorded yet."
    parts = [f"{s.actions} in all"]
    if s.proposed:
        parts.append(f"{s.proposed} proposed and waiting to be agreed")
    if s.overdue:
        overdue = f"{s.overdue} overdue"
        if s.executive:
            them = "it" if s.overdue == 1 else f"{s.executive} of them"
            overdue += (
                f", {them} more than {plural(s.executive_after_days, 'day')} overdue and so "
                "escalated to the Executive"
            )
        parts.append(overdue)
    else:
        parts.append("none overdue")
    if s.complete:
        parts.append(f"{s.complete} complete")
    return "Learning actions: " + "; ".join(parts) + "."


def _briefing(b: BriefingSummary, today: date) -> str:
    said = f"Learning briefing “{b.title}”: "
    if b.published_on is not None and b.published_on <= today:
        said += "published, and " + (
            f"downloaded {plural(b.downloads, 'time')}" if b.downloads else "not downloaded yet"
        )
        if b.useful:
            said += f"; {b.useful} of its readers said it was useful"
        # The date in a sentence of its own, away from the title (see _moderation_when).
        said += f". It was published on {format_date(b.published_on)}."
        if b.status == "submitted":
            said += f" Version {b.number} awaits approval."
        return said
    if b.published_on is not None:  # after the report's date
        return said + (
            f"not published yet. It is due to be published on {format_date(b.published_on)}."
        )
    return said + {
        "submitted": f"version {b.number} awaits approval.",
        "approved": "approved, waiting to be published.",
        "withdrawn": "withdrawn.",
    }.get(b.status, "being drafted.")


def _questionnaire(q: QuestionnaireSummary, today: date, named: bool) -> str:
    what = f"Assurance questionnaire “{q.title}”" if named else "Assurance questionnaire"
    agencies = plural(q.agencies, "agency", "agencies")
    if q.agencies and q.answered == q.agencies:
        return f"{what}: all {agencies} have answered."
    said = (
        f"{what}: {q.answered} of {agencies} {'has' if q.answered == 1 else 'have'} answered."
        if q.answered
        else f"{what}: none of the {agencies} has answered yet."
    )
    if q.due_on is not None:
        said += " " + answers_due(q.due_on, today)
    return said


def _listed(items: list[str]) -> str:
    """One as a paragraph, several as bullets."""
    return items[0] if len(items) == 1 else _bullets(items)


def _summary(s: ReportSummary) -> str:
    today = s.dated
    parts = []
    if len(s.audits) == 1:
        [a] = s.audits
        parts.append(
            " ".join(
                x
                for x in (
                    f"What was audited: {a.title}.",
                    _worked_with(a),
                    _moderation_when(a, today),
                )
                if x
            )
        )
        parts.append(f"What moderation found: {_found(a)}")
    else:
        parts.append(f"What was audited: {plural(len(s.audits), 'audit')}.")
        parts.append(
            _bullets(
                " ".join(
                    x
                    for x in (
                        f"{a.title}.",
                        _worked_with(a),
                        _moderation_when(a, today),
                        _found(a),
                    )
                    if x
                )
                for a in s.audits
            )
        )
    parts.append(_returns(s))
    parts.append(_actions(s))
    if s.briefings:
        parts.append(_listed([_briefing(b, today) for b in s.briefings]))
    else:
        parts.append("Learning briefing: none has been drafted yet.")
    named = len(s.questionnaires) > 1
    if s.questionnaires:
        parts.append(_listed([_questionnaire(q, today, named) for q in s.questionnaires]))
    elif any(b.published_on is not None for b in s.briefings):
        parts.append("Assurance questionnaire: none has been sent.")
    return _paragraphs(*parts)


def _decisions(s: ReportSummary) -> list[str]:
    """The decisions the figures ask of the subgroup, each with the fact behind it."""
    out = []
    if s.proposed:
        out.append(
            f"Agree {_the(s.proposed, 'proposed learning action')}, or say what should change "
            "(listed in the action tracker)."
        )
    if s.executive:
        out.append(
            f"Decide what to do about {_the(s.executive, 'action')} more than "
            f"{plural(s.executive_after_days, 'day')} overdue, now escalated to the Executive "
            "(listed under overdue actions)."
        )
    if s.overdue - s.executive:
        out.append(
            f"Decide how to bring {_the(s.overdue - s.executive, 'overdue action')} not yet "
            "escalated to the Executive back on track (listed under overdue actions)."
        )
    for agency, n in _not_received(s.audits):
        out.append(
            f"Decide whether to chase {agency}: {plural(n, 'return')} "
            f"{'was' if n == 1 else 'were'} not received."
        )
    named = len(s.questionnaires) > 1
    for q in s.questionnaires:
        # Answers still to come by a deadline still to come ask nothing of the group yet.
        if q.answered >= q.agencies or q.due_on is None or q.due_on >= s.dated:
            continue
        what = (
            f"the assurance questionnaire “{q.title}”" if named else "the assurance questionnaire"
        )
        out.append(
            f"Note that {what} has {q.answered} of {q.agencies} agencies' answers; decide "
            "whether to extend its deadline and chase the agencies that have not answered. "
            + answers_due(q.due_on, s.dated)
        )
    for b in s.briefings:
        if b.status == "submitted":
            out.append(
                f"Approve the learning briefing “{b.title}” for publication: version "
                f"{b.number} awaits approval."
            )
    return out


def draft_report(s: ReportSummary) -> dict[str, str]:
    """Editable plain text for a subgroup report's sections (``REPORT_SECTIONS``): an
    executive summary a chair reads in two minutes (what was audited and when, what
    moderation found, returns not received, where the learning actions stand, the
    learning briefing and its assurance questionnaire) and the decisions asked of the
    subgroup, a line starting "- " each (numbered when printed), or a sentence saying
    none is needed. The commentary is the author's."""
    decisions = _decisions(s)
    return {
        "summary": _summary(s),
        "decisions": _bullets(decisions)
        if decisions
        else f"No decision is needed from {s.to} this time: the report is for information.",
        "commentary": "",
    }
