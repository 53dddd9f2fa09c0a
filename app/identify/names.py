"""People's names in prose, found by a gazetteer and the words around them.

The lists (data/, built by data/make_lists.py): about 5,600 first names and 89,000
surnames (the US Census Bureau's public-domain lists and the project's additions for
England and Wales), and 63,000 ordinary English words. A capitalised word is taken for
a name when:

- it is a first name that is not also an ordinary word ("Jayden", not "Will", "Grace"
  or "Amber"), anywhere in a sentence;
- a first name is followed by a surname or by a capitalised word that is not an
  ordinary word ("Kelly Smith", "Grace Nowakowska"; "Will Smith" only as a whole);
- it follows a title ("Mr", "Mrs", "Ms", "Dr") or a relation ("her mother, Kelly");
- it owns a relation ("O'Connor's stepfather") or names a family ("the Kowalski family").

Phrases that contain an organisation's or a place's word ("Grace Academy", "Hope House")
are not names; the partnership's own words are taken out by the caller (``allowed``).
Lower-case and capital-letter names are found as whole first name and surname pairs.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_DATA = Path(__file__).parent / "data"


@cache
def _lists() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    def listed(name: str) -> set[str]:
        path = _DATA / name
        text = (
            gzip.decompress(path.read_bytes()).decode()
            if name.endswith(".gz")
            else path.read_text()
        )
        return {w for line in text.splitlines() if not line.startswith("#") for w in line.split()}

    first = listed("first_names.txt.gz") | listed("first_names_uk.txt")
    last = listed("surnames.txt.gz") | listed("surnames_uk.txt")
    words = listed("words.txt.gz") - _NOT_WORDS
    return frozenset(first - _NEVER_NAMES), frozenset(last - _NEVER_NAMES), frozenset(words)


# Capitalised words that are never a person here, though a list holds them: months, days,
# grades and ratings, faiths and nationalities, and the service's own words.
_NEVER_NAMES = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "christian",
        "catholic",
        "muslim",
        "jewish",
        "sikh",
        "hindu",
        "buddhist",
        "british",
        "english",
        "irish",
        "scottish",
        "welsh",
        "european",
        "african",
        "caribbean",
        "asian",
        "polish",
        "romanian",
        "outstanding",
        "good",
        "inadequate",
        "requires",
        "red",
        "amber",
        "green",
        "child",
        "children",
        "young",
        "person",
        "sibling",
        "baby",
        "unborn",
        "family",
        "mother",
        "father",
        "parent",
        "parents",
        "carer",
        "carers",
        "agency",
        "agencies",
        "partnership",
        "police",
        "health",
        "school",
        "council",
        "trust",
        "nhs",
        "service",
        "services",
        "team",
        "board",
        "group",
        "subgroup",
        "executive",
        "review",
        "audit",
        "briefing",
        "learning",
        "practice",
        "practitioner",
        "practitioners",
        "safeguarding",
    ]
)
# Names the word list holds only as ordinary words of their own that no writer means by
# them in prose here ("kelly" is not English; these are).
_NOT_WORDS = frozenset()

# Words that make a capitalised phrase an organisation, a service or a place.
_ORG_WORDS = frozenset(
    [
        "academy",
        "school",
        "college",
        "nursery",
        "university",
        "hospital",
        "infirmary",
        "surgery",
        "practice",
        "clinic",
        "centre",
        "center",
        "trust",
        "council",
        "police",
        "constabulary",
        "service",
        "services",
        "team",
        "unit",
        "ward",
        "board",
        "partnership",
        "group",
        "subgroup",
        "hub",
        "project",
        "programme",
        "office",
        "department",
        "authority",
        "foundation",
        "charity",
        "house",
        "home",
        "court",
        "church",
        "mosque",
        "temple",
        "road",
        "street",
        "lane",
        "avenue",
        "close",
        "drive",
        "way",
        "crescent",
        "place",
        "gardens",
        "grove",
        "terrace",
        "park",
        "green",
        "square",
        "estate",
        "act",
        "review",
        "inquiry",
        "report",
        "plan",
        "framework",
        "tool",
        "model",
        "network",
        "forum",
        "panel",
        "committee",
        "agency",
        "agencies",
        "children's",
        "children",
        "care",
        "health",
        "nhs",
        "icb",
        "mash",
        "marac",
        "conference",
        "strategy",
        "protocol",
        "policy",
        "procedure",
        "guidance",
    ]
)
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "master", "sir", "dame"})
_RELATIONS = (
    r"(?:(?:step|foster|adoptive|birth|half)[- ]?)?(?:mother|father|mum|mom|dad|brother|sister"
    r"|sibling|grandmother|grandfather|grandma|grandad|granddad|nan|nanna|aunt|auntie|uncle"
    r"|cousin|partner|boyfriend|girlfriend|husband|wife|son|daughter|carer|friend|neighbour"
    r"|social\s+worker|teacher|worker|nurse|officer|health\s+visitor|midwife|gp|doctor"
    r"|called|named|known\s+as|aka|name\s+is|name\s+was)"
)
_AFTER_RELATION = re.compile(rf"(?i:\b{_RELATIONS})[,:]?\s+$")
_OWNS_RELATION = re.compile(rf"^['’]s\s+(?i:{_RELATIONS}|family|home|house|address)\b")
_FAMILY_AFTER = re.compile(r"^\s+(?:family|household|twins|siblings|children)\b", re.IGNORECASE)
_PSEUDONYM_WORDS = frozenset(
    {"child", "young", "person", "sibling", "baby", "unborn", "adult", "parent", "carer"}
)

_TOKEN = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;•\n\-–(\"“‘]\s*)$")


@dataclass
class _Token:
    start: int
    end: int
    word: str
    key: str  # lower case, "'s" dropped, apostrophes removed
    title_case: bool
    capitals: bool
    lower: bool


def _tokens(text: str) -> list[_Token]:
    out = []
    for m in _TOKEN.finditer(text):
        word = m.group()
        end = m.end()
        if word.lower().endswith(("'s", "’s")):
            word, end = word[:-2], end - 2
        if len(word) < 2:
            continue
        key = re.sub(r"['’]", "", word.lower())
        out.append(
            _Token(
                start=m.start(),
                end=end,
                word=word,
                key=key,
                title_case=word[0].isupper() and not word.isupper(),
                capitals=word.isupper() and len(word) >= 3,
                lower=word.islower(),
            )
        )
    return out


def _is_first(t: _Token, first: frozenset[str]) -> bool:
    parts = t.key.split("-")
    return t.key in first or all(p in first for p in parts)


def _is_last(t: _Token, last: frozenset[str]) -> bool:
    parts = t.key.split("-")
    return (
        t.key in last
        or all(p in last for p in parts)
        or (t.key.startswith(("mc", "mac", "o")) and t.key[2:] in last and len(t.key) > 4)
    )


def _is_word(t: _Token, words: frozenset[str]) -> bool:
    return all(p in words for p in t.key.split("-"))


def find_names(text: str) -> list[tuple[int, int]]:
    """The (start, end) of each person's name in ``text``."""
    first, last, words = _lists()
    tokens = _tokens(text)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        run = _run(text, tokens, i)
        j = i + len(run)
        if run and not any(r.key in _ORG_WORDS for r in run) and not _pseudonym(run):
            spans += _names_in_run(text, tokens, i, run, first, last, words)
        i = max(j, i + 1)
        del t
    return spans


def _run(text: str, tokens: list[_Token], i: int) -> list[_Token]:
    """The tokens from i joined by single spaces, all in the same case style."""
    t = tokens[i]
    style = "title" if t.title_case else "caps" if t.capitals else "lower" if t.lower else None
    if style is None:
        return []
    run = [t]
    for nxt in tokens[i + 1 : i + 4]:
        gap = text[run[-1].end : nxt.start]
        same = (
            (style == "title" and (nxt.title_case or _is_particle(nxt)))
            or (style == "caps" and nxt.capitals)
            or (style == "lower" and nxt.lower)
        )
        if (
            not same
            or gap not in (" ", "  ")
            or text[run[-1].end : run[-1].end + 2] in ("'s", "’s")
        ):
            break
        run.append(nxt)
    return run if style != "lower" else run[:2]


def _is_particle(t: _Token) -> bool:
    return t.key in ("van", "von", "de", "da", "del", "der", "bin", "binti", "al", "el", "ul")


def _pseudonym(run: list[_Token]) -> bool:
    return run[0].key in _PSEUDONYM_WORDS


def _names_in_run(
    text: str,
    tokens: list[_Token],
    i: int,
    run: list[_Token],
    first: frozenset[str],
    last: frozenset[str],
    words: frozenset[str],
) -> list[tuple[int, int]]:
    before = text[max(0, run[0].start - 40) : run[0].start]
    previous = tokens[i - 1] if i else None
    after = text[run[-1].end : run[-1].end + 30]
    if run[0].lower:
        # lower case: only a whole first name and surname ("jayden smith")
        if (
            len(run) == 2
            and _is_first(run[0], first)
            and not _is_word(run[0], words)
            and _is_last(run[1], last)
        ):
            return [(run[0].start, run[1].end)]
        return []
    if run[0].capitals:
        if (
            len(run) >= 2
            and _is_first(run[0], first)
            and _is_last(run[1], last)
            and not _is_word(run[0], words)
        ):
            return [(run[0].start, run[1].end)]
        return []
    # Title case. Leading ordinary words ("When", "Her", "The") are not part of a name.
    k = 0
    while (
        k < len(run)
        and _is_word(run[k], words)
        and not _is_first(run[k], first)
        and run[k].key not in _TITLES
    ):
        k += 1
    run = run[k:]
    if not run:
        return []
    if k:
        previous, before = None, text[max(0, run[0].start - 40) : run[0].start]
    titled = (
        previous is not None
        and previous.key in _TITLES
        and text[previous.end : run[0].start].strip(". ") == ""
    ) or run[0].key in _TITLES
    if run[0].key in _TITLES:
        run = run[1:]
        if not run:
            return []
    head = run[0]
    rest = _surname_part(run[1:], last, words)
    unknown = not _is_word(head, words)
    if titled:
        return [(head.start, (rest[-1] if rest else head).end)]
    if _AFTER_RELATION.search(before) and (unknown or _is_first(head, first)):
        return [(head.start, (rest[-1] if rest else head).end)]
    if _is_first(head, first):
        ambiguous = _is_word(head, words)
        if rest and (
            not ambiguous or any(_is_last(r, last) and not _is_word(r, words) for r in rest)
        ):
            return [(head.start, rest[-1].end)]
        if not ambiguous and len(head.word) >= 3:  # "Al", "Jo" alone are too short
            return [(head.start, head.end)]
    tail = rest[-1] if rest else head
    owned = text[tail.end : tail.end + 30]
    if _OWNS_RELATION.match(owned) and (unknown or _is_first(head, first) or _is_last(head, last)):
        return [(head.start, tail.end)]
    if _FAMILY_AFTER.match(after) and _is_last(run[-1], last) and not _is_word(run[-1], words):
        return [(run[-1].start, run[-1].end)]
    return []


def _surname_part(rest: list[_Token], last: frozenset[str], words: frozenset[str]) -> list[_Token]:
    """The capitalised words after a first name that belong to the name: surnames, or
    words that are not ordinary words (a name the lists lack), particles between."""
    taken: list[_Token] = []
    for t in rest:
        if _is_last(t, last) or not _is_word(t, words) or (_is_particle(t) and taken is not None):
            taken.append(t)
        else:
            break
    while taken and _is_particle(taken[-1]):
        taken.pop()
    return taken
