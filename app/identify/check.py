"""Nothing that identifies a child: the check a learning briefing passes before approval.

check() scans every section of a briefing. It REFUSES (blocking problems):

1. pseudonym_with_detail - a pseudonym ("Child A", "Young person 3", "Sibling B2", any
   name in the cohort list) in the same SENTENCE as case detail: an age ("aged 7",
   "7-year-old", "Year 9"), a date (day and month, or month and year, or a numeric date),
   a named place (capitalised words ending School, Academy, Hospital, General, Surgery,
   Road ...), a family member ("his mother", "Child A's stepfather"), an ethnicity,
   nationality or religion, a specific event (injury, overdose, arrested, pregnancy,
   self-harm, missing from home ...) or a diagnosis. A pseudonym on its own is fine.
   A sentence ends at . ! ? followed by a space (not after a single capital letter, a
   pseudonym code or Dr/St/e.g.), at a blank line, at a line ending in ":" and before
   a bulleted line. A plain line break is a wrapped line, not a new sentence.
2. nhs_number - ten digits (3-3-4, spaces or hyphens optional) whose Modulus 11 check
   digit is valid. Ten digits with a wrong check digit only warn (ten_digit_number).
3. date_of_birth - "DOB", "D.O.B.", "date of birth", "born", "born on/in" followed by a
   date (a full date, day and month, month and year, or a year). A date next to a
   pseudonym needs no birth phrase: rule 1 refuses ANY date in a pseudonym's sentence,
   which covers every date of birth within the last 19 years and needs no clock.
4. postcode - a full UK postcode (GIR 0AA included), any case. A district alone ("WR5")
   only warns (postcode_district), and only for a two-letter postcode area.
5. name - a name from the audit's records, whole words, any case, possessive included.
   Names under 3 characters are ignored; a multi-word name matches only as a whole.

It WARNS (needs confirmation): table and chart counts with 0 < count < threshold, and text
such as "two children", "one of the young people", "an only child" with a number below it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from app.audits.schemas import PSEUDONYM_WORDS


@dataclass(frozen=True)
class Problem:
    kind: str
    where: str  # "What we found, line 3" or "page 2, line 14"
    excerpt: str  # the match marked with » «, a little context either side
    message: str
    blocking: bool  # True refuses publication; False needs an explicit confirmation


@dataclass(frozen=True)
class Report:
    problems: list[Problem]

    @property
    def refusals(self) -> list[Problem]:
        return [p for p in self.problems if p.blocking]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.blocking]

    @property
    def ok(self) -> bool:
        return not self.refusals


# -- patterns -------------------------------------------------------------------------


def _any_case_initials(phrase: str) -> str:
    # "Young person" -> [Yy]oung\s+[Pp]erson
    return r"\s+".join(f"[{w[0].upper()}{w[0].lower()}]{re.escape(w[1:])}" for w in phrase.split())


# "Child A", "Young person 3", "Sibling B2": a pseudonym word, then a code in capitals
# or digits. "child B" counts too, but not "child A" or "child I", which in lower-case
# prose are English ("the child I met", "the child A&E saw"); see _pseudonym_spans().
_PSEUDONYM = re.compile(
    r"(?<!\w)(?P<word>"
    + "|".join(_any_case_initials(p) for p in sorted(PSEUDONYM_WORDS, key=len, reverse=True))
    + r")(?:[^\S\n]+|[^\S\n]*\n[^\S\n]*)(?P<code>[A-Z0-9]{1,3})(?!\w)"
)

# Acronyms that follow "child" in ordinary prose ("Child CP plan", "child GP visit"). A
# cohort that really uses one as a code still matches, through its own pseudonym list.
_NOT_CODES = frozenset({"CP", "CIN", "LAC", "CLA", "SEN", "GP", "NHS", "CSE", "CCE", "UK", "ID"})

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"
_NUMERIC_DATE = (
    r"(?:0?[1-9]|[12]\d|3[01])/(?:0?[1-9]|1[0-2])/(?:\d{4}|\d{2})"  # 12/03/2015, 12/3/15
    r"|(?:0?[1-9]|[12]\d|3[01])[.-](?:0?[1-9]|1[0-2])[.-]\d{4}"  # 12.03.2015 (not 4.3.12)
    r"|\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"  # 2015-03-12
)
# Any date precise enough to place a child: a numeric date, day and month, month and year.
_DATE = re.compile(
    rf"\b(?:{_NUMERIC_DATE}"
    rf"|{_DAY}\s+(?:of\s+)?{_MONTH}\b\.?(?:,?\s+\d{{4}})?"
    rf"|{_MONTH}\b\.?\s+{_DAY}\b(?:,?\s+\d{{4}})?"
    rf"|{_MONTH}\b\.?,?\s+(?:19|20)\d\d)\b"
)

# "DOB", "D.O.B.", "date of birth", "born (on|in)" followed by a date or a bare year.
_DATE_OF_BIRTH = re.compile(
    r"(?:\bD\.?O\.?B\b\.?|\bdate\s+of\s+birth\b|\bborn\b(?:\s+(?:on|in))?)"
    r"\s*(?:[:\-–]\s*|(?:was|is|of)\s+)?"
    rf"(?:{_DATE.pattern}|\b(?:19|20)\d\d\b)",
    re.IGNORECASE,
)

_AGE = re.compile(
    r"\bage[sd]?\b:?\s*(?:(?:between|under|over|of)\s+)?\d{1,2}\b"  # aged 7, age 14
    r"|\b\d{1,2}(?:\s*-\s*|\s+)(?:years?|yrs?|months?|weeks?|days?)(?:\s*-\s*|\s+)old\b"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen"
    r"|fourteen|fifteen|sixteen|seventeen|eighteen)(?:\s*-\s*|\s+)(?:years?|months?|weeks?"
    r"|days?)(?:\s*-\s*|\s+)old\b"
    r"|\byear\s+(?:1[0-3]|[1-9])\b",  # school year group, as good as an age
    re.IGNORECASE,
)

# A named place: up to four capitalised words ending in a kind of place. Matches made
# only of the words in _GENERIC_PLACE_WORDS ("the Hospital", "Primary School") are not
# named places: _named_place() drops them.
_PLACE = re.compile(
    r"\b(?:[A-Z][\w'’.-]*\s+){1,4}?"
    r"(?:School|Academy|College|Nursery|Hospital|General|Infirmary|Surgery|Medical\s+Centre"
    r"|Health\s+Centre|Clinic|Police\s+Station|Children's\s+Home|Road|Street|Lane|Avenue"
    r"|Crescent|Estate)\b"
)
_GENERIC_WORDS = (
    "the a an his her their its our this that at in on by for from with to of and or when"
    " while after before during both each every local primary secondary high special infant"
    " junior mainstream acute community virtual children's child young person baby unborn"
    " sibling family new same another medical health police"
)
_GENERIC_PLACE_WORDS = frozenset(_GENERIC_WORDS.split())

# Specific members of the family. "parents", "carers" and "family" are left out: every
# child has them, and saying so narrows nothing.
_RELATIVE = (
    r"(?:(?:step|foster|adoptive|birth|half)[- ]?)?"
    r"(?:mother|father|mum|dad|brothers?|sisters?|siblings?|grand(?:mother|father|parents?)"
    r"|nan|aunt|uncle|cousins?|boyfriend|girlfriend|foster\s+carers?"
    r"|partner(?!s|\s+(?:agenc|organi[sz]ation|service)))"  # not "their partner agencies"
)
_FAMILY = re.compile(
    rf"\b(?:his|her|their)\s+{_RELATIVE}\b"
    rf"|(?<=(?-i:[A-Z0-9])['’]s\s){_RELATIVE}\b"  # Child A's mother
    r"|\bstep-?(?:mother|father|mum|dad|brother|sister|parent)s?\b"
    r"|\b(?:mother|mum)['’]s\s+(?:partner|boyfriend|girlfriend)\b",
    re.IGNORECASE,
)

_ETHNICITY_OR_RELIGION = re.compile(
    r"\b(?:White\s+(?:British|Irish|Other)|Black\s+(?:British|African|Caribbean)|Asian"
    r"|Pakistani|Bangladeshi|Indian|Chinese|Arab|Kurdish|Polish|Romanian|Lithuanian|Latvian"
    r"|Slovak|Czech|Bulgarian|Portuguese|Somali|Eritrean|Sudanese|Afghan|Syrian|Iranian"
    r"|Iraqi|Albanian|Vietnamese|Nigerian|Ghanaian|Zimbabwean|Ukrainian|Eastern\s+European"
    r"|Gypsy|Roma|Romany|(?:Irish\s+)?Travell?ers?|Muslim|Christian|Catholic|Jewish|Sikh"
    r"|Hindu|Buddhist|Jehovah['’]s\s+Witness(?:es)?"
    r"|(?i:mixed\s+(?:heritage|race|ethnicity)|dual\s+heritage|refugee|asylum[- ]seek\w*))\b"
)

_EVENT = re.compile(
    r"\b(?:injur(?:y|ies|ed)|fractur\w*|bruis\w*|burns?|burned|overdos\w*|arrest(?:ed)?"
    r"|charged|convicted|remanded|police\s+custody|pregnan\w*|miscarriage|termination"
    r"|abortion|gave\s+birth|sexual(?:ly)?\s+assault\w*|sexually\s+abused|raped?"
    r"|assault(?:ed)?|stabb\w*|knife|weapon|self[- ]?harm\w*|suicid\w*|ligature"
    r"|missing\s+from\s+(?:home|care|school|education)|went\s+missing|reported\s+missing"
    r"|ran\s+away|abscond\w*|excluded\s+from\s+school|permanent(?:ly)?\s+exclu\w*"
    r"|died|death|killed|admitted\s+to\s+hospital|hospital\s+admission|A&E"
    r"|emergency\s+department|sectioned)(?!\w)",
    re.IGNORECASE,
)

_DIAGNOSIS = re.compile(
    r"\b(?:diagnos\w*|autis\w*|learning\s+disabilit(?:y|ies)|cerebral\s+palsy|epilep\w*"
    r"|diabet\w*|down['’]?s?\s+syndrome|f[o]?etal\s+alcohol|depression|anxiety\s+disorder"
    r"|eating\s+disorder|anorexi\w*|bulimi\w*|psychos[ie]s|psychotic|schizophreni\w*"
    r"|bipolar|developmental\s+delay|hearing\s+impair\w*|visual(?:ly)?\s+impair\w*|deaf"
    r"|blind|tourette\w*|dyslexi\w*|cystic\s+fibrosis|sickle\s+cell"
    r"|(?-i:ASD|ASC|ADHD|FASD|PTSD|OCD|HIV))\b",
    re.IGNORECASE,
)


def _named_place(found: str) -> bool:
    *words, _kind = found.split()
    return any(w.lower() not in _GENERIC_PLACE_WORDS for w in words)


# What counts as case detail next to a pseudonym: (label, pattern, filter of matches).
_CASE_DETAIL = (
    ("an age", _AGE, None),
    ("a date", _DATE, None),
    ("a place", _PLACE, _named_place),
    ("a family member", _FAMILY, None),
    ("an ethnicity or religion", _ETHNICITY_OR_RELIGION, None),
    ("an event", _EVENT, None),
    ("a diagnosis", _DIAGNOSIS, None),
)

# Ten digits grouped 3-3-4 with optional spaces or hyphens, not part of a longer number.
_TEN_DIGITS = re.compile(r"(?<!\d)(?<!\d[ ./-])\d{3}[ ./-]?\d{3}[ ./-]?\d{4}(?![ ./-]?\d)")

# The full UK postcode pattern: outward code, optional space, inward code (whose letters
# never include C, I, K, M, O or V). "wr5 3rd" reads as an ordinal, so a lower-case
# inward code that is an ordinal is not a postcode.
_POSTCODE = re.compile(
    r"(?<![A-Za-z0-9])(?:GIR\s?0AA"
    r"|(?:[A-PR-UWYZ][0-9]{1,2}|[A-PR-UWYZ][A-HK-Y][0-9]{1,2}|[A-PR-UWYZ][0-9][A-HJKPSTUW]"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])\s?[0-9][ABD-HJLNP-UW-Z]{2})(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_ORDINAL = re.compile(r"\d(?:st|nd|rd|th)")
# A district alone ("WR5"), capitals only, for the two-letter postcode areas: single
# letters ("M5", "B2") and look-alikes ("KS2") are too common in ordinary text.
_POSTCODE_AREAS = (
    "AB AL BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT"
    " DY EC EH EN EX FK FY GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY LA LD"
    " LE LL LN LS LU ME MK ML NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM SA SE SG SK"
    " SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB WA WC WD WF WN WR WS WV YO ZE"
)
_POSTCODE_DISTRICT = re.compile(
    rf"(?<![\w-])(?:{'|'.join(_POSTCODE_AREAS.split())})[0-9]{{1,2}}[A-Z]?(?![\w-])"
)

_NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen"
    " fourteen fifteen sixteen seventeen eighteen nineteen twenty"
)
_NUMBER_WORDS = {w: n for n, w in enumerate(_NUMBERS.split())}
_GROUP = r"(?:child(?:ren)?|young\s+(?:people|persons?)|bab(?:y|ies)|famil(?:y|ies)|girls?|boys?|siblings?|pupils?)"
# "two children", "1 child", "one of the 7 young people", "a single family", "only child".
_SMALL_GROUP = re.compile(
    r"(?<!year\s)(?<!aged\s)(?<!age\s)\b(?:(?P<n>\d{1,3}|"
    + "|".join(_NUMBER_WORDS)
    + rf"|a\s+single)\s+(?:of\s+(?:the|these|those)\s+(?:\d+\s+)?)?{_GROUP}"
    r"|only\s+(?:child|girl|boy|baby|young\s+person))\b",
    re.IGNORECASE,
)

# A sentence ends at . ! ? (and any closing quote or bracket) before whitespace...
_FULL_STOP = re.compile(r"[.!?][\"'’”)\]]*(?=\s)")
# ...but not after these, nor after a single capital ("J. Smith") or a pseudonym code.
_ABBREVIATIONS = frozenset({"dr", "mr", "mrs", "ms", "st", "no", "e.g", "i.e", "cf", "vs", "prof"})
_WORD_BEFORE = re.compile(r"[\w.]*$")  # the word a full stop ends (always matches)
# A blank line, a line ending in ":", or a line break before a bullet also ends one.
_LINE_BREAK = re.compile(r"\n[^\S\n]*\n|(?<=:)[^\S\n]*\n|\n(?=[^\S\n]*(?:[-–•*▪◦·]|\d{1,2}[.)])\s)")

_CONTEXT = 30  # characters of context either side of a match in an excerpt
_SPACE = re.compile(r"\s")


# -- the check ------------------------------------------------------------------------


class _Hit(NamedTuple):
    kind: str
    spans: list[tuple[int, int]]  # what to mark; the first one gives the line
    message: str
    blocking: bool = True
    bounds: tuple[int, int] | None = None  # keep the excerpt inside (a sentence)


def check(
    sections: Sequence[tuple[str, str]],
    *,
    pseudonyms: Sequence[str] = (),
    names: Sequence[str] = (),
    counts: Sequence[tuple[str, str, int]] = (),
    small_count_threshold: int = 5,
) -> Report:
    """Scan every (section name, text) of a briefing and every (where, label, count) shown
    in its tables and charts. Refusals block approval; warnings need a confirmation."""
    cohort = _cohort_patterns(pseudonyms)
    name_patterns = _name_patterns(names)
    problems: list[Problem] = []
    for section, raw in sections:
        text = normalise(raw)
        found = _pseudonym_spans(text, cohort)
        hits = [
            *_pseudonyms_with_detail(text, found),
            *_nhs_numbers(text),
            *_dates_of_birth(text),
            *_postcodes(text, found),
            *_names(text, name_patterns),
            *_small_groups(text, small_count_threshold),
        ]
        hits.sort(key=lambda h: h.spans[0][0])
        problems += [_problem(section, text, hit) for hit in hits]
    problems += _small_counts(counts, small_count_threshold)
    return Report(problems)


# Characters that change nothing a reader sees (zero-width spaces and joiners, soft
# hyphens, direction marks) and every kind of space and dash, so "Child\u200bA" or
# "943\u00a0476\u00a05919" cannot slip past the patterns above.
_WORD_BREAKS = re.compile(r"[\u200b\u2060\ufeff]")  # zero-width space, word joiner, BOM
_DASHES = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
_SPACES = re.compile(r"[^\S\n]")


def normalise(text: str) -> str:
    """The text as the checks read it: compatibility forms folded (full-width letters
    and digits), invisible format characters removed, every space and dash made plain."""
    text = unicodedata.normalize("NFKC", text)
    text = _WORD_BREAKS.sub(" ", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return _SPACES.sub(" ", _DASHES.sub("-", text))


def valid_nhs_number(digits: str) -> bool:
    """Modulus 11: weights 10..2 over the first nine digits; the check digit is
    11 - (sum mod 11), where 11 means 0 and 10 means the number cannot be valid."""
    digits = re.sub(r"[ ./-]", "", digits)
    if not re.fullmatch(r"\d{10}", digits):
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check_digit = 11 - total % 11
    if check_digit == 10:
        return False
    return (0 if check_digit == 11 else check_digit) == int(digits[9])


def check_pdf(pdf: str | Path | bytes, **kwargs) -> Report:
    """check() a rendered PDF, page by page, from `pdftotext -layout`: the text a reader
    (or a copy and paste) actually gets. Problems say "page N, line M"."""
    pages = _pdf_pages(pdf)
    return check([(f"page {n}", text) for n, text in enumerate(pages, start=1)], **kwargs)


# -- rules ----------------------------------------------------------------------------


def _pseudonyms_with_detail(text: str, found: list[tuple[int, int]]) -> Iterator[_Hit]:
    ends = {end for _, end in found}
    for start, end in _sentences(text, ends):
        here = [s for s in found if start <= s[0] < end]
        if not here:
            continue
        details = [
            (label, m.span())
            for label, pattern, keep in _CASE_DETAIL
            for m in pattern.finditer(text, start, end)
            if (keep is None or keep(m.group())) and not any(_overlap(m.span(), s) for s in here)
        ]
        if not details:
            continue
        who = _and(sorted({_quote(text, s) for s in here}))
        what = _and([f"{label} ({_quote(text, span)})" for label, span in details])
        yield _Hit(
            "pseudonym_with_detail",
            sorted([*here, *(span for _, span in details)]),
            f"{who} is in the same sentence as {what}. Together they could identify the "
            "child: take out the detail, or write about the practice without the pseudonym.",
            bounds=(start, end),
        )


def _nhs_numbers(text: str) -> Iterator[_Hit]:
    for m in _TEN_DIGITS.finditer(text):
        if valid_nhs_number(m.group()):
            yield _Hit(
                "nhs_number",
                [m.span()],
                f"An NHS number ({_quote(text, m.span())}). Take it out: a briefing never carries one.",
            )
        else:
            yield _Hit(
                "ten_digit_number",
                [m.span()],
                f"A ten-digit number ({_quote(text, m.span())}) that is not a valid NHS number. Confirm it "
                "is not a mistyped NHS number or another identifier.",
                blocking=False,
            )


def _dates_of_birth(text: str) -> Iterator[_Hit]:
    for m in _DATE_OF_BIRTH.finditer(text):
        yield _Hit(
            "date_of_birth",
            [m.span()],
            f"A date of birth ({_quote(text, m.span())}). Take it out: with an age band or a "
            "pseudonym it identifies a child.",
        )


def _postcodes(text: str, pseudonyms: list[tuple[int, int]]) -> Iterator[_Hit]:
    full = []
    for m in _POSTCODE.finditer(text):
        inward = m.group()[-3:]
        if inward.islower() and _ORDINAL.fullmatch(inward):
            continue
        full.append(m.span())
        yield _Hit(
            "postcode",
            [m.span()],
            f"A postcode ({_quote(text, m.span())}). Take it out: a postcode can point to a household.",
        )
    for m in _POSTCODE_DISTRICT.finditer(text):
        if not any(_overlap(m.span(), s) for s in [*full, *pseudonyms]):  # not "Child AB1"
            yield _Hit(
                "postcode_district",
                [m.span()],
                f"What looks like a postcode district ({_quote(text, m.span())}). Confirm it cannot narrow "
                "the learning down to a child or a family.",
                blocking=False,
            )


def _names(text: str, patterns: list[re.Pattern[str]]) -> Iterator[_Hit]:
    taken: list[tuple[int, int]] = []
    found = sorted(
        (m for p in patterns for m in p.finditer(text)), key=lambda m: (m.start(), -m.end())
    )
    for m in found:
        if any(_overlap(m.span(), s) for s in taken):
            continue  # "Smith" inside an already reported "Jane Smith"
        taken.append(m.span())
        yield _Hit(
            "name",
            [m.span()],
            f"A name from the audit's records ({_quote(text, m.span())}). Take it out: briefings name no "
            "one, neither children nor the professionals around them.",
        )


def _small_groups(text: str, threshold: int) -> Iterator[_Hit]:
    for m in _SMALL_GROUP.finditer(text):
        n = m.group("n")
        if n is not None:
            n = n.lower()
            count = 1 if n.startswith("a") else _NUMBER_WORDS[n] if n in _NUMBER_WORDS else int(n)
            if not 0 < count < threshold:
                continue
        yield _Hit(
            "small_count",
            [m.span()],
            f"A group small enough to identify someone ({_quote(text, m.span())}). Confirm "
            "it is safe, or describe the learning without the number.",
            blocking=False,
        )


def _small_counts(counts: Sequence[tuple[str, str, int]], threshold: int) -> list[Problem]:
    return [
        Problem(
            kind="small_count",
            where=where,
            excerpt=f"{label}: »{count}«",
            message=f"{label} shows {count}, fewer than {threshold}. A count this small can "
            "identify a child: confirm it is safe, or merge it into a larger group.",
            blocking=False,
        )
        for where, label, count in counts
        if 0 < count < threshold
    ]


# -- helpers --------------------------------------------------------------------------


def _cohort_patterns(pseudonyms: Sequence[str]) -> list[re.Pattern[str]]:
    """The cohort's own pseudonyms, as written, for any that the general pattern misses."""
    return [
        re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, p.split())) + r"(?!\w)")
        for p in pseudonyms
        if p.split()
    ]


def _pseudonym_spans(text: str, cohort: list[re.Pattern[str]]) -> list[tuple[int, int]]:
    spans = {
        m.span()
        for m in _PSEUDONYM.finditer(text)
        if m.group("code") not in _NOT_CODES
        and not (m.group("word")[0].islower() and m.group("code") in ("A", "I"))
    }
    spans |= {m.span() for p in cohort for m in p.finditer(text)}
    return sorted(spans)


def _name_patterns(names: Sequence[str]) -> list[re.Pattern[str]]:
    words = {tuple(n.lower().split()) for n in names if len(n.strip()) >= 3}
    return [
        re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, w)) + r"(?:['’]s)?(?!\w)", re.IGNORECASE)
        for w in sorted(words)
    ]


def _sentences(text: str, no_stop_after: set[int]) -> list[tuple[int, int]]:
    cuts = {m.end() for m in _LINE_BREAK.finditer(text)}
    for m in _FULL_STOP.finditer(text):
        before = _WORD_BEFORE.search(text[max(0, m.start() - 12) : m.start()])
        word = before.group() if before else ""
        single_capital = len(word) == 1 and word.isupper()
        if m.start() in no_stop_after or single_capital or word.lower() in _ABBREVIATIONS:
            continue
        cuts.add(m.end())
    bounds = [0, *sorted(cuts), len(text)]
    return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if a < b]


def _problem(section: str, text: str, hit: _Hit) -> Problem:
    line = text.count("\n", 0, hit.spans[0][0]) + 1
    return Problem(
        kind=hit.kind,
        where=f"{section}, line {line}",
        excerpt=_excerpt(text, hit.spans, *(hit.bounds or (0, len(text)))),
        message=hit.message,
        blocking=hit.blocking,
    )


def _excerpt(text: str, spans: list[tuple[int, int]], lo: int, hi: int) -> str:
    """The spans marked » «, with about _CONTEXT characters either side cut at word
    boundaries, distant spans joined by "…", whitespace (line breaks too) made single."""
    windows: list[tuple[int, int, list[tuple[int, int]]]] = []
    for s, e in spans:
        w0, w1 = max(lo, s - _CONTEXT), min(hi, e + _CONTEXT)
        if windows and w0 <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], w1), [*windows[-1][2], (s, e)])
        else:
            windows.append((w0, w1, [(s, e)]))
    pieces: list[str] = []
    for w0, w1, inner in windows:
        if (
            w0 > lo
            and not text[w0 - 1].isspace()
            and (space := _SPACE.search(text, w0, inner[0][0]))
        ):
            w0 = space.end()
        if w1 < hi and not text[w1].isspace():
            w1 = max((m.start() for m in _SPACE.finditer(text, inner[-1][1], w1)), default=w1)
        out, pos = [], w0
        for s, e in inner:
            out += [text[pos:s], "»", text[s:e], "«"]
            pos = e
        out.append(text[pos:w1])
        before = "… " if text[lo:w0].strip() and not pieces else ""
        after = " …" if text[w1:hi].strip() else ""
        pieces.append(before + " ".join("".join(out).split()) + after)
    return " ".join(pieces)


def _pdf_pages(pdf: str | Path | bytes) -> list[str]:
    data = pdf if isinstance(pdf, bytes) else Path(pdf).read_bytes()
    pdftotext = shutil.which("pdftotext") or "/usr/bin/pdftotext"
    out = subprocess.run(
        [pdftotext, "-layout", "-enc", "UTF-8", "-", "-"],
        input=data,
        capture_output=True,
        check=True,
    )
    pages = out.stdout.decode("utf-8").split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages  # a \f ends every page


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _quote(text: str, span: tuple[int, int]) -> str:
    return "“" + " ".join(text[span[0] : span[1]].split()) + "”"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
