"""Nothing that identifies a child: the check a learning briefing or a subgroup report
passes at submission, at approval, and as printed (the PDF's text and metadata).

check() scans every (section, text). It REFUSES (blocking problems):

1. every direct identifier ``detect.find`` finds: a person's name (the gazetteer, and
   the names in the audit's records), an address, a postcode, a date of birth, an NHS,
   National Insurance or pupil number, a crime reference, a case or record number, a
   telephone number or an e-mail address; the partnership's own words are allowed;
2. pseudonym_with_detail - a pseudonym ("Child A", "Young person 3", "Sibling B2", any
   name in the cohort list) in the same SENTENCE as case detail: an age ("aged 7",
   "7-year-old", "Year 9", "Child A, 7,"), a date, a named place (capitalised words
   ending School, Academy, Hospital, Road, Rovers, News ...), a family member, an
   ethnicity, nationality or religion, an event (injury, overdose, arrested, missing
   ...), a diagnosis, a birthplace or a time of day. A pseudonym on its own is fine;
3. exact_date - a day-level date in a sentence (or a printed table's line) about one
   child: with case detail, with the work of a case ("strategy discussion", "ICPC"),
   or with a person ("she", "the boy") unless the sentence is about the partnership's
   own work (a meeting, a report, a deadline).
A sentence ends at . ! ? followed by a space (not after a single capital letter, a
pseudonym code or Dr/St/e.g.), at a blank line, at a line ending in ":", before a
bulleted line and between a printed table's cells (" | "). A plain line break is a
wrapped line, not a new sentence.

It WARNS (needs confirmation): text such as "two children", "one of the young people",
"an only child" with a number below the threshold, ten digits that are no valid NHS
number and a postcode district alone ("WR5"). Tables' small counts of children are
grouped, one problem per table (``_small_counts``), until the table shows them as
"fewer than N".
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from app.audits.schemas import PSEUDONYM_WORDS
from app.identify import detect
from app.identify.detect import normalise


@dataclass(frozen=True)
class Problem:
    kind: str
    where: str  # "What we found, line 3" or "page 2, line 14"
    excerpt: str  # the match marked with » «, a little context either side
    message: str
    blocking: bool  # True refuses publication; False needs an explicit confirmation
    table: str | None = None  # small counts: the key of the table they are in


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
    # "Child A", and "ChildA" (an invisible space taken out, or none typed)
    + r")(?:[^\S\n]*|[^\S\n]*\n[^\S\n]*)(?P<code>[A-Z0-9]{1,3}(?!\w)|(?<=[Cc]hild\s)[b-hj-z](?![\w'’]))"
)

# Acronyms that follow "child" in ordinary prose ("Child CP plan", "child GP visit"). A
# cohort that really uses one as a code still matches, through its own pseudonym list.
_NOT_CODES = frozenset({"CP", "CIN", "LAC", "CLA", "SEN", "GP", "NHS", "CSE", "CCE", "UK", "ID"})

# Any date precise enough to place a child: a numeric date, day and month, month and year.
_DATE = re.compile(detect.DATE)
# A day-level date: with case detail in its sentence it pins an event to one child.
_EXACT_DATE = re.compile(detect.EXACT_DATE, re.IGNORECASE)  # "5 MAY 2023", "17th june"

_AGE = re.compile(
    r"\bage[sd]?\b:?\s*(?:(?:between|under|over|of)\s+)?\d{1,2}\b"  # aged 7, age 14
    r"|\b\d{1,2}(?:\s*-\s*|\s+)(?:years?|yrs?|months?|weeks?|days?)(?:\s*-\s*|\s+)old\b"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen"
    r"|fourteen|fifteen|sixteen|seventeen|eighteen)(?:\s*-\s*|\s+)(?:years?|months?|weeks?"
    r"|days?)(?:\s*-\s*|\s+)old\b"
    r"|\byear\s+(?:1[0-3]|[1-9])\b"  # school year group, as good as an age
    r"|\b(?:when|since|until)\s+(?:he|she|they)\s+(?:was|were|is|turned)\s+\d{1,2}\b"
    r"|(?<=,\s)(?:1[0-8]|[1-9])(?=\s*,)|(?<=\()(?:1[0-8]|[1-9])(?=\))",  # "Child A, 7, was"
    re.IGNORECASE,
)
# Where a child was born, and a time of day: both narrow an event to one child.
_BIRTHPLACE = re.compile(r"\bborn\s+in\s+(?-i:[A-Z][a-z]+)", re.IGNORECASE)
_TIME_OF_DAY = re.compile(r"\b(?:[01]?\d|2[0-3])(?:[:.][0-5]\d)?\s?(?:am|pm)\b", re.IGNORECASE)

# A named place: up to four capitalised words ending in a kind of place. Matches made
# only of the words in _GENERIC_PLACE_WORDS ("the Hospital", "Primary School") are not
# named places: _named_place() drops them.
_PLACE = re.compile(
    r"\b(?:[A-Z][\w'’.-]*\s+){1,4}?"
    r"(?:School|Academy|College|Nursery|Hospital|General|Infirmary|Surgery|Medical\s+Centre"
    r"|Health\s+Centre|Clinic|Police\s+Station|Children's\s+Home|Road|Street|Lane|Avenue"
    r"|Crescent|Estate|Primary|Infants|Juniors|Rovers|United|Athletic|Harriers|FC|News|Times"
    r"|Gazette|Echo|Advertiser|Observer|Mail|Star)\b"
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
    r"|died|death|killed|admitted\s+to\s+hospital|hospital\s+admission|A&E|fire"
    r"|accommodated|taken\s+into\s+care|removed\s+from"
    r"|emergency\s+department|sectioned)(?!\w)",
    re.IGNORECASE,
)

_DIAGNOSIS = re.compile(
    r"\b(?:diagnos\w*|autis\w*|learning\s+disabilit(?:y|ies)|cerebral\s+palsy|epilep\w*"
    r"|diabet\w*|down['’]?s?\s+syndrome|f[o]?etal\s+alcohol|depression|anxiety\s+disorder"
    r"|eating\s+disorder|anorexi\w*|bulimi\w*|psychos[ie]s|psychotic|schizophreni\w*"
    r"|bipolar|developmental\s+delay|hearing\s+impair\w*|visual(?:ly)?\s+impair\w*|deaf"
    r"|blind|tourette\w*|dyslexi\w*|cystic\s+fibrosis|sickle\s+cell|cochlear\s+implant"
    r"|wheelchair|BSL|British\s+Sign\s+Language"
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
    ("a birthplace", _BIRTHPLACE, None),
    ("a time of day", _TIME_OF_DAY, None),
)

# Ten digits grouped 3-3-4 with optional spaces or hyphens, not part of a longer number.
_TEN_DIGITS = re.compile(r"(?<!\d)(?<!\d[ ./-])\d{3}[ ./-]?\d{3}[ ./-]?\d{4}(?![ ./-]?\d)")

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
# A table's cells (printed apart, read with " | " between) end one as well.
_LINE_BREAK = re.compile(
    r"\n[^\S\n]*\n|(?<=:)[^\S\n]*\n|\n(?=[^\S\n]*(?:[-–•*▪◦·]|\d{1,2}[.)])\s)| \| "
)

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
    counts: Sequence[tuple[str, str, int] | tuple[str, str, str, int, str]] = (),
    small_count_threshold: int = 5,
    allowed: Collection[str] = (),
    cohort_size: int | None = None,
) -> Report:
    """Scan every (section name, text) of a briefing and every (where, label, count) shown
    in its tables and charts. Refusals block approval; warnings need a confirmation.
    ``allowed`` are the partnership's own words (agencies, places, themes), never taken
    for a name or an address; ``cohort_size``, the number of children audited, is never
    a small group."""
    cohort = _cohort_patterns(pseudonyms)
    problems: list[Problem] = []
    for section, raw in sections:
        text = normalise(raw)
        found = _pseudonym_spans(text, cohort)
        direct = [
            f
            for f in detect.find(text, allowed=allowed, names=names, normalised=True)
            if not any(_overlap((f.start, f.end), s) for s in found)  # not "Child AB1 2CD"
        ]
        hits = [
            *_pseudonyms_with_detail(text, found),
            *_dates_with_detail(text, found),
            *(_direct(text, f) for f in direct),
            *_ten_digit_numbers(text, direct),
            *_postcode_districts(text, [*found, *((f.start, f.end) for f in direct)]),
            *_small_groups(text, small_count_threshold, cohort_size),
        ]
        hits = _without_repeats(hits)
        hits.sort(key=lambda h: h.spans[0][0])
        problems += [_problem(section, text, hit) for hit in hits]
    problems += _small_counts(counts, small_count_threshold)
    return Report(problems)


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


_ADVICE = {
    "name": "Take it out: briefings name no one, neither children nor the professionals "
    "around them.",
    "address": "Take it out: an address points to a household.",
    "postcode": "Take it out: a postcode can point to a household.",
    "date_of_birth": "Take it out: with an age band or a pseudonym it identifies a child.",
}


def _direct(text: str, found: detect.Found) -> _Hit:
    what = detect.LABELS[found.kind]
    advice = _ADVICE.get(found.kind, "Take it out: a briefing never carries one.")
    return _Hit(
        found.kind,
        [(found.start, found.end)],
        f"{what[0].upper()}{what[1:]} ({_quote(text, (found.start, found.end))}). {advice}",
    )


# What makes a dated sentence about the partnership's own work: its meetings, reports,
# deadlines and events. An exact date in any other sentence of a case is refused when
# anything in it is about a child (_ONE_CHILD, the case detail).
_OUR_WORK = re.compile(
    r"\b(?:meeting|moderation|audit(?:ed|s)?|briefing|report|published|publication|review"
    r"\s+date|due|deadline|returns?|agreed|approved|presented|chaired|held|took\s+place"
    r"|event|training|session|conference\s+(?:for|on)\s+practitioners|procedures?|guidance"
    r"|came\s+into\s+effect|version|period|programme|minutes|subgroup|executive|board)\b",
    re.IGNORECASE,
)
# The work of one child's case: with an exact date, it is about that child whatever else
# the sentence says.
_CASE_WORK = re.compile(
    r"\b(?:strategy\s+(?:discussion|meeting)|ICPC|RCPC|core\s+group|section\s+(?:47|20)"
    r"|police\s+protection|evicted|homeless|unborn|newborn|managed\s+move|the\s+incident"
    r"|(?:initial\s+|review\s+)?child\s+protection\s+conference|emergency\s+protection\s+order"
    r"|interim\s+care\s+order|excluded|arrested|ED\s+attendance)\b",
    re.IGNORECASE,
)
# What makes a sentence about one child rather than about the partnership's work: a
# person ("she", "the boy"), their care, a case conference, a disclosure.
_ONE_CHILD = re.compile(
    r"\b(?:he|she|him|his|her|hers|himself|herself|mum|dad|the\s+(?:boy|girl|baby|newborn"
    r"|infant|toddler|teenager|child|young\s+person)|unborn|newborn|young\s+carer"
    r"|(?:foster\s+)?placement|disclos\w*|ICPC|RCPC|police\s+protection|section\s+47"
    r"|missing|went\s+out|left\s+alone|moved\s+out|found|seen|arrived|attended|served"
    r"|missed|became|ended|started|moved|heard\s+the\s+case|looked\s+after|plan|referral"
    r"|neighbour|call)\b",
    re.IGNORECASE,
)


_COLUMN_GAP = re.compile(r"\n|[ ]{3,}")


def _lines(text: str, sentences: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Each sentence cut at its line breaks and wide gaps: an exact date and what is
    near it in a printed table's row or column are not one sentence."""
    for start, end in sentences:
        cuts = [start, *(m.end() for m in _COLUMN_GAP.finditer(text, start, end)), end]
        yield from ((a, b) for a, b in zip(cuts, cuts[1:], strict=False) if a < b)


def _without_repeats(hits: list[_Hit]) -> list[_Hit]:
    """An exact date whose date is already refused as a date of birth says nothing more."""
    births = [span for h in hits if h.kind == "date_of_birth" for span in h.spans]
    return [
        h
        for h in hits
        if h.kind != "exact_date" or not any(_overlap(span, b) for span in h.spans for b in births)
    ]


def _dates_with_detail(text: str, pseudonyms: list[tuple[int, int]]) -> Iterator[_Hit]:
    """An exact date with case detail in its sentence ("On 3 March 2026 a 15-year-old
    was arrested"): the date and the event together point at one child. (With a
    pseudonym in the sentence, _pseudonyms_with_detail already refuses it.)"""
    ends = {end for _, end in pseudonyms}
    for start, end in _lines(text, _sentences(text, ends)):
        if any(start <= s[0] < end for s in pseudonyms):
            continue
        dates = [m.span() for m in _EXACT_DATE.finditer(text, start, end)]
        if not dates:
            continue
        details = [
            (label, m.span())
            for label, pattern, keep in (*_CASE_DETAIL, ("a child's case", _CASE_WORK, None))
            if label not in ("a date", "a time of day")
            for m in pattern.finditer(text, start, end)
            if keep is None or keep(m.group())
        ]
        if not details and not _OUR_WORK.search(text, start, end):
            details = [("a child", m.span()) for m in _ONE_CHILD.finditer(text, start, end)]
        if details:
            what = _and([f"{label} ({_quote(text, span)})" for label, span in details])
            yield _Hit(
                "exact_date",
                sorted([*dates, *(span for _, span in details)]),
                f"An exact date ({_quote(text, dates[0])}) is in the same sentence as {what}. "
                "Together they could identify the child: give the month or the year, or take "
                "out the detail.",
                bounds=(start, end),
            )


def _ten_digit_numbers(text: str, found: list[detect.Found]) -> Iterator[_Hit]:
    """Ten digits that are not a valid NHS number (those are refused): perhaps a
    mistyped one."""
    for m in _TEN_DIGITS.finditer(text):
        if not any(_overlap(m.span(), (f.start, f.end)) for f in found):
            yield _Hit(
                "ten_digit_number",
                [m.span()],
                f"A ten-digit number ({_quote(text, m.span())}) that is not a valid NHS number. "
                "Confirm it is not a mistyped NHS number or another identifier.",
                blocking=False,
            )


def _postcode_districts(text: str, taken: list[tuple[int, int]]) -> Iterator[_Hit]:
    for m in _POSTCODE_DISTRICT.finditer(text):
        if not any(_overlap(m.span(), s) for s in taken):  # not "Child AB1", not a postcode
            yield _Hit(
                "postcode_district",
                [m.span()],
                f"What looks like a postcode district ({_quote(text, m.span())}). Confirm it "
                "cannot narrow the learning down to a child or a family.",
                blocking=False,
            )


def _small_groups(text: str, threshold: int, cohort_size: int | None = None) -> Iterator[_Hit]:
    """Small groups the text names; not the number of children audited (``cohort_size``),
    which the briefing states and which picks out no one."""
    for m in _SMALL_GROUP.finditer(text):
        n = m.group("n")
        if n is not None:
            n = n.lower()
            count = 1 if n.startswith("a") else _NUMBER_WORDS[n] if n in _NUMBER_WORDS else int(n)
            if not 0 < count < threshold or count == cohort_size:
                continue
        yield _Hit(
            "small_count",
            [m.span()],
            f"A group small enough to identify someone ({_quote(text, m.span())}). Confirm "
            "it is safe, or describe the learning without the number.",
            blocking=False,
        )


def _small_counts(
    counts: Sequence[tuple[str, str, int] | tuple[str, str, str, int, str]], threshold: int
) -> list[Problem]:
    """One problem per table with any count from 1 to ``threshold`` - 1, naming each such
    cell, in the order the tables come. A count is (table key, table, cell, count, what
    it counts), or (table, cell, count). The caller passes only the counts that can
    identify someone: of children or of people, not of agencies, returns or grades."""
    tables: dict[str, tuple[str, str, list[tuple[str, int]]]] = {}
    for count in counts:
        key, where, label, n, of = count if len(count) == 5 else (count[0], *count, "")
        if 0 < n < threshold:
            tables.setdefault(key, (where, of, []))[2].append((label, n))
    problems = []
    for key, (where, of, cells) in tables.items():
        shows = f"{len(cells)} cells show" if len(cells) > 1 else "1 cell shows"
        unit = f" {of}" if of else ""
        problems.append(
            Problem(
                kind="small_count",
                where=where,
                excerpt="; ".join(f"{label}: »{n}«" for label, n in cells),
                message=f"{where}: {shows} fewer than {threshold}{unit}: "
                + ", ".join(f"{label} ({n})" for label, n in cells)
                + ". A count this small can identify a child.",
                blocking=False,
                table=key,
            )
        )
    return problems


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


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _quote(text: str, span: tuple[int, int]) -> str:
    return "“" + " ".join(text[span[0] : span[1]].split()) + "”"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
