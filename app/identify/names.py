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
import unicodedata
from dataclasses import dataclass, replace
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
    words = listed("words.txt.gz")
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
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "mon",
        "tue",
        "tues",
        "wed",
        "thu",
        "thur",
        "thurs",
        "fri",
        "sat",
        "sun",
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
        "gypsy",
        "roma",
        "traveller",
        "travellers",
    ]
)

# Children whose names national reviews and inquiries made public, and whom published
# briefings cite for their learning ("the murders of Arthur Labinjo-Hughes and Star
# Hobson"), and the people who led those reviews: never someone in this partnership's
# audits.
_PUBLIC_NAMES = (
    # and the people who led national reviews and inquiries, cited for what they found
    "Alexis Jay", "Alan Wood", "Eileen Munro", "Herbert Laming", "Josh MacAlister",
    "Ann Coffey", "Anne Longfield", "Rachel de Souza", "Annie Hudson", "Jenny Coles",
    "Victoria Climbié", "Peter Connelly", "Baby Peter", "Daniel Pelka", "Khyra Ishaq",
    "Hamzah Khan", "Keanu Williams", "Arthur Labinjo-Hughes", "Star Hobson", "Logan Mwangi",
    "Finley Boden", "Sara Sharif", "Maria Colwell", "Jasmine Beckford", "Kimberley Carlile",
    "Tyra Henry", "Lauren Wright", "Ainlee Labonte", "Holly Wells", "Jessica Chapman",
)  # fmt: skip

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
_TITLES = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "master",
        "sir",
        "dame",
        "prof",
        "professor",
        "pc",
        "ds",
        "dc",
        "di",
        "dci",
        "dsi",
        "sgt",
        "sergeant",
        "inspector",
        "constable",
        "cllr",
        "councillor",
    ]
)
_RELATIONS = (
    r"(?:(?:step|foster|adoptive|birth|half|maternal|paternal)[- ]?)?(?:mother|father|mum|mom"
    r"|dad|brother|sister|sibling|grandmother|grandfather|grandma|grandad|granddad|nan|nanna"
    r"|aunt|auntie|uncle|cousin|partner|boyfriend|girlfriend|husband|wife|son|daughter|carer"
    r"|friend|neighbour|social\s+worker|teacher|worker|nurse|officer|health\s+visitor|midwife"
    r"|gp|doctor|called|named|known\s+as|aka|name\s+is|name\s+was|name)"
)
_AFTER_RELATION = re.compile(rf"(?i:\b{_RELATIONS})\s*[,:(\-–]?\s*$")
_OWNS_RELATION = re.compile(rf"^['’]s\s+(?i:{_RELATIONS}|family|home|house|address)\b")
# "Frank, the maternal uncle,"; "Amber Collins (mum)"
_RELATION_AFTER = re.compile(
    rf"^\s*(?:,\s*(?:(?:the|her|his|their)\s+)?|\(\s*)(?i:{_RELATIONS})\b", re.IGNORECASE
)
# Clare's Law, Sarah's Law: named after someone, and public.
_NAMED_AFTER = re.compile(r"^['’]s\s+(?:Law|Principle|Protocol|Syndrome|Disease|Review)\b")
_FAMILY_LATER = re.compile(r"^[^.!?\n]{0,30}\bfamily\b", re.IGNORECASE)
_FAMILY_AFTER = re.compile(r"^\s+(?:family|household|twins|siblings|children)\b", re.IGNORECASE)
# What people do in a case record: "Grace told", "Blessing was not seen".
_PERSON_VERB = re.compile(
    r"^\s+(?:told|said|says|disclosed|reported|asked|explained|described|wanted|wants|refused"
    r"|missed|ran|went|stayed|lived|lives|cried|shouted|texted|messaged|admitted|denied"
    r"|alleged|claimed|felt|feels|attended|did\s+not|didn['’]t|had\s+been\s+missing"
    r"|was\s+(?:not\s+)?(?:seen"
    r"|found|reported|taken|placed|moved|born|spoken|heard|asked|excluded|arrested))\b"
)
_ARTICLE_BEFORE = re.compile(r"\b(?:the|a|an|this|that|our|its|their)\s+$", re.IGNORECASE)
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
    key: str  # lower case, accents and "'s" dropped, apostrophes removed
    title_case: bool
    capitals: bool
    lower: bool


def _fold(word: str) -> str:
    """ "Ciarán" -> "ciaran", "O'Connor" -> "oconnor": how the lists spell names."""
    plain = unicodedata.normalize("NFKD", word.lower())
    return re.sub(r"['’]", "", "".join(c for c in plain if not unicodedata.combining(c)))


def _tokens(text: str) -> list[_Token]:
    out = []
    for m in _TOKEN.finditer(text):
        word = m.group()
        end = m.end()
        if word.lower().endswith(("'s", "’s")):
            word, end = word[:-2], end - 2
        if len(word) < 2:
            continue
        out.append(
            _Token(
                start=m.start(),
                end=end,
                word=word,
                key=_fold(word),
                title_case=word[0].isupper() and not word.isupper(),
                capitals=word.isupper() and len(word) >= 3,
                lower=word.islower(),
            )
        )
    return out


class _Lists:
    def __init__(self) -> None:
        self.first, self.last, self.words = _lists()

    def first_name(self, t: _Token) -> bool:
        """A first name, or a hyphenated one whose first part is ("Ellie-May")."""
        return t.key in self.first or t.key.split("-")[0] in self.first

    def surname(self, t: _Token) -> bool:
        parts = t.key.split("-")
        return t.key in self.last or all(p in self.last for p in parts)

    def word(self, t: _Token) -> bool:
        """An ordinary English word (every part of it)."""
        return all(p in self.words for p in t.key.split("-"))

    def plain_first_name(self, t: _Token) -> bool:
        """A first name that is not also an ordinary word: "Jayden", not "Grace"."""
        return self.first_name(t) and not self.word(t)

    def plain_surname(self, t: _Token) -> bool:
        return self.surname(t) and not self.word(t)


def find_names(text: str) -> list[tuple[int, int]]:
    """The (start, end) of each person's name in ``text``."""
    lists = _Lists()
    tokens = _tokens(text)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        run = _run(text, tokens, i)
        if run and not _pseudonym(run) and not _organisation(text, run):
            spans += _names_in_run(text, tokens, i, run, lists)
        # A capitalised phrase is read whole (its words out of it would lose their
        # context); lower-case words pair with the next one, and the next.
        i += len(run) if run and not run[0].lower else 1
    public = _public_names(tokens)
    return [(s, e) for s, e in _merged(spans) if not any(a <= s and e <= b for a, b in public)]


def _public_names(tokens: list[_Token]) -> list[tuple[int, int]]:
    """Where the text names a child from a national review (``_PUBLIC_NAMES``)."""
    spans = []
    for name in {tuple(_fold(w) for w in n.split()) for n in _PUBLIC_NAMES}:
        for k in range(len(tokens) - len(name) + 1):
            if tuple(t.key for t in tokens[k : k + len(name)]) == name:
                spans.append((tokens[k].start, tokens[k + len(name) - 1].end))
    return spans


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def _run(text: str, tokens: list[_Token], i: int) -> list[_Token]:
    """Up to four tokens from i joined by single spaces, all in the same case style (two
    in lower case)."""
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
        if not same or gap not in (" ", "  "):
            break
        run.append(nxt)
    return run if style != "lower" else run[:2]


def _is_particle(t: _Token) -> bool:
    return t.key in ("van", "von", "de", "da", "del", "der", "bin", "binti", "al", "el", "ul")


def _pseudonym(run: list[_Token]) -> bool:
    return run[0].key in _PSEUDONYM_WORDS


def _organisation(text: str, run: list[_Token]) -> bool:
    """A phrase that ends in an organisation's or a place's word ("Grace Academy",
    "Westshire Police"), unless it owns a relation ("Kathleen Ward's daughter")."""
    if run[-1].key not in _ORG_WORDS:
        return False
    return not _OWNS_RELATION.match(text[run[-1].end : run[-1].end + 30])


def _sentence_start(text: str, t: _Token) -> bool:
    # Far enough back to see past a printed line's indentation ("\n       In 2026").
    return bool(_SENTENCE_START.search(text[max(0, t.start - 80) : t.start]))


def _names_in_run(
    text: str, tokens: list[_Token], i: int, run: list[_Token], lists: _Lists
) -> list[tuple[int, int]]:
    previous = tokens[i - 1] if i else None
    titled = (
        previous is not None
        and previous.key in _TITLES
        and (text[previous.end : run[0].start].strip(". ") == "")
    )
    if run[0].lower:
        return _lower_case(text, run, titled, lists)
    if run[0].capitals:
        # capitals: a whole first name and surname ("KACPER WÓJCIK"), or after a title
        if (run[0].key in _TITLES or re.fullmatch(_RELATIONS, run[0].key)) and len(run) >= 2:
            titled, run = True, run[1:]  # "MRS ELLWOOD", "GRANDMOTHER PATRICIA ELLWOOD"
        if len(run) >= 2 and (titled or lists.plain_first_name(run[0])) and lists.surname(run[1]):
            return [(run[0].start, run[1].end)]
        return []
    # Title case. Leading ordinary words ("When", "Her", "The") are not part of a name.
    k = 0
    while k < len(run) and (
        lists.word(run[k]) and not lists.first_name(run[k]) and run[k].key not in _TITLES
    ):
        k += 1
    trimmed = run[k - 1] if k else None
    if k:
        titled, previous, run = False, run[k - 1], run[k:]
    if run and run[0].key in _TITLES:
        titled, run = True, run[1:]
    if not run:
        return []
    head = run[0]
    rest = _surname_part(run[1:], lists)
    tail = rest[-1] if rest else head
    whole = (head.start, tail.end)
    before = text[max(0, head.start - 40) : head.start]
    after = text[tail.end : tail.end + 40]
    if _NAMED_AFTER.match(after):
        return []
    if titled:
        return [whole]
    unknown = not lists.word(head)
    person = bool(
        _AFTER_RELATION.search(before)
        or _RELATION_AFTER.match(after)
        or _OWNS_RELATION.match(after)
        or _PERSON_VERB.match(after)
    )
    proper_phrase = trimmed is not None and trimmed.title_case  # "The Independent Scrutineer"
    article = bool(_ARTICLE_BEFORE.search(before))  # "the Fraser guidelines"
    if (
        person
        and len(head.word) >= 3
        and (lists.first_name(head) or lists.surname(head) or (unknown and not proper_phrase))
    ):
        return [whole]
    if head.key in _NEVER_NAMES:  # "Amber", "May": only in a person's context
        return []
    if lists.first_name(head):
        ambiguous = lists.word(head)
        if rest and (not ambiguous or any(lists.plain_surname(r) for r in rest)):
            return [whole]
        if not ambiguous and len(head.word) >= 3 and not article:  # not "Al", "Jo"
            return [whole]
        if (
            ambiguous
            and not rest
            and len(run) == 1
            and not _sentence_start(text, head)
            and not _ARTICLE_BEFORE.search(before)  # "the Bill", "a Hope project"
            and (previous is None or previous.lower)  # not "the Schools Bill"
        ):
            # an ordinary word would not have its capital mid-sentence: "what Mason wanted"
            return [whole]
    if rest and (unknown or lists.plain_surname(head)) and not lists.word(rest[-1]):
        # "Nusrat Akhtar", "Elira Krasniqi", "Chen Xiuying": two capitalised words that
        # are not English, one after the other, are a name the lists lack
        return [whole]
    if _FAMILY_AFTER.match(after) and lists.plain_surname(run[-1]):
        return [(run[-1].start, run[-1].end)]  # the Kowalski family
    if (
        previous is not None
        and previous.key == "the"
        and len(run) == 1
        and head.key.endswith("s")
        and lists.plain_surname(replace(head, key=head.key[:-1]))
        and _FAMILY_LATER.match(after)
    ):
        return [whole]  # "The Boswells, a Romany Gypsy family"
    return []


def _lower_case(text: str, run: list[_Token], titled: bool, lists: _Lists) -> list[tuple[int, int]]:
    """In lower case: a whole first name and surname ("kirsty bell"), a name after a
    title ("mrs begum") or in brackets after a relation ("dad (shane)")."""
    head = run[0]
    if len(run) == 2 and lists.plain_first_name(head) and lists.surname(run[1]):
        return [(head.start, run[1].end)]
    if titled and not lists.word(head):
        return [(head.start, head.end)]
    before = text[max(0, head.start - 30) : head.start]
    if (
        re.search(rf"(?i:\b{_RELATIONS})\s*\(?\s*$", before)
        and len(head.word) >= 3
        and (lists.plain_first_name(head) or not lists.word(head))
    ):
        # "dad (shane)", "aunt is called shilan karim", "brother jayden-lee"
        end = run[1].end if len(run) == 2 and not lists.word(run[1]) else head.end
        return [(head.start, end)]
    return []


def _surname_part(rest: list[_Token], lists: _Lists) -> list[_Token]:
    """The capitalised words after a first name that belong to the name: surnames, or
    words that are not ordinary words (a name the lists lack), particles between."""
    taken: list[_Token] = []
    for t in rest:
        if lists.surname(t) or not lists.word(t) or _is_particle(t):
            taken.append(t)
        else:
            break
    while taken and _is_particle(taken[-1]):
        taken.pop()
    return taken
