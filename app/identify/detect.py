"""What in a piece of text points at a person: the kinds found, and where.

find() is the one entry: every check (a briefing before publication, its printed PDF,
a form's free text as it is saved) reads text through it, after ``normalise`` (the one
place where obfuscation is undone).

The recognisers are Microsoft Presidio's (presidio-analyzer): its own for e-mail
addresses, telephone numbers (Google's libphonenumber), NHS numbers (with the
modulus 11 check), National Insurance numbers and postcodes, and pattern recognisers
of the project's for what Presidio has no recogniser for: unique pupil numbers, crime
references, case-system numbers, addresses and dates of birth, whose context words
("Mosaic", "crime reference") Presidio scores. Names are found by a gazetteer
(``names.py``), not by Presidio's NLP engine: no English language model can be
installed from PyPI (docs/architecture.md, "The identification check").
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from app.identify import names as gazetteer

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine

# The kinds that point straight at a person wherever they are written: in a briefing
# they are refused, in the audit's own records they are flagged for the writer.
DIRECT = frozenset(
    {
        "name",
        "address",
        "postcode",
        "date_of_birth",
        "nhs_number",
        "ni_number",
        "upn",
        "crime_reference",
        "case_number",
        "phone",
        "email",
    }
)

LABELS = {
    "name": "a person's name",
    "address": "an address",
    "postcode": "a postcode",
    "date_of_birth": "a date of birth",
    "nhs_number": "an NHS number",
    "ni_number": "a National Insurance number",
    "upn": "a unique pupil number",
    "crime_reference": "a crime reference",
    "case_number": "a case or record number",
    "phone": "a telephone number",
    "email": "an e-mail address",
}


@dataclass(frozen=True)
class Found:
    kind: str
    start: int
    end: int
    text: str


# --- normalising: the one place obfuscation is undone -----------------------------------

# Characters that change nothing a reader sees (zero-width spaces and joiners, soft
# hyphens, direction marks) and every kind of space and dash.
_WORD_BREAKS = re.compile(r"[\u200b\u2060\ufeff]")  # zero-width space, word joiner, BOM
_DASHES = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
_SPACES = re.compile(r"[^\S\n]")
# A run of digits that may hide a number: look-alike letters (O for 0, l or I for 1)
# among them, single spaces or a line break between its groups.
_DIGIT_RUN = re.compile(
    r"(?<![\w])[\dOolI|](?:[\dOolI|]|[ .-](?=[\dOolI|])|[ ]*\n[ ]*(?=\d))*(?![\w])"
)
_LOOK_ALIKES = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "|": "1"})


def normalise(text: str) -> str:
    """The text as every check reads it: compatibility forms folded (full-width letters
    and digits), invisible format characters removed, every space and dash made plain,
    and numbers put back together (look-alike letters among digits, digits spaced out
    one by one, a line break inside a number)."""
    text = unicodedata.normalize("NFKC", text)
    text = _WORD_BREAKS.sub(" ", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    text = _SPACES.sub(" ", _DASHES.sub("-", text))
    return _DIGIT_RUN.sub(_mend_number, text)


def _mend_number(m: re.Match[str]) -> str:
    run = m.group()
    digits = sum(c.isdigit() for c in run)
    if digits < 6:
        return run
    groups = re.split(r"[ .-]|[ ]*\n[ ]*", run)
    mended = run.translate(_LOOK_ALIKES) if digits >= len(run.replace(" ", "")) * 0.6 else run
    dotted = "." in run and digits >= 10
    if "\n" in run or len(groups) >= 5 or all(len(g) <= 2 for g in groups) or dotted:
        # "9 4 3 4 7 6 5 9 1 9", "943\n476 5919", "943.476.5919": one number (a date
        # has at most eight digits)
        return re.sub(r"[ .-]|[ ]*\n[ ]*", "", mended)
    return mended


# --- the recognisers -----------------------------------------------------------------

_ENTITY_KIND = {
    "PERSON": "name",
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "UK_NHS": "nhs_number",
    "UK_NINO": "ni_number",
    "UK_POSTCODE": "postcode",
    "UK_ADDRESS": "address",
    "DATE_OF_BIRTH": "date_of_birth",
    "UK_UPN": "upn",
    "CRIME_REFERENCE": "crime_reference",
    "CASE_NUMBER": "case_number",
}
# Presidio's score a finding needs, by kind: a pattern that means little alone (six
# digits, a postcode-shaped word) needs its context words to reach it.
_MIN_SCORE = {
    "name": 0.5,
    "email": 0.5,
    "phone": 0.4,
    "nhs_number": 0.5,
    "ni_number": 0.5,
    "postcode": 0.1,
    "address": 0.5,
    "date_of_birth": 0.5,
    "upn": 0.5,
    "crime_reference": 0.4,
    "case_number": 0.4,
}
# When two findings overlap, the one that says more wins.
_PRIORITY = [
    "nhs_number",
    "upn",
    "ni_number",
    "email",
    "date_of_birth",
    "crime_reference",
    "phone",
    "address",
    "postcode",
    "case_number",
    "name",
]

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"
NUMERIC_DATE = (
    r"(?:0?[1-9]|[12]\d|3[01])/(?:0?[1-9]|1[0-2])/(?:\d{4}|\d{2})"  # 12/03/2015, 12/3/15
    r"|(?:0?[1-9]|[12]\d|3[01])[.-](?:0?[1-9]|1[0-2])[.-]\d{4}"  # 12.03.2015 (not 4.3.12)
    r"|\d{4}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])"  # 2015-03-12
)
# Any date precise enough to place a child: a numeric date, day and month, month and year.
DATE = (
    rf"\b(?:{NUMERIC_DATE}"
    rf"|{_DAY}\s+(?:of\s+)?{_MONTH}\b\.?(?:,?\s+\d{{4}})?"
    rf"|{_MONTH}\b\.?\s+{_DAY}\b(?:,?\s+\d{{4}})?"
    rf"|{_MONTH}\b\.?,?\s+(?:19|20)\d\d)\b"
)
# A day-level date: what pins an event to one child.
EXACT_DATE = (
    rf"\b(?:{NUMERIC_DATE}"
    rf"|{_DAY}\s+(?:of\s+)?{_MONTH}\b\.?(?:,?\s+\d{{4}})?"
    rf"|{_MONTH}\b\.?\s+{_DAY}\b(?:,?\s+\d{{4}})?)\b"
)
_DOB = (
    r"(?:\bD\.?\s?O\.?\s?B\b\.?|\bdate\s+of\s+birth\b|\bbirth\s*date\b|\bbirthday\b"
    r"|\bborn\b(?:\s+(?:on|in))?)"
    r"(?:\s*[:,\-–]\s*|\s+(?:was|is|of|on|being)\s+|\s+)*"
    rf"(?:{DATE}|\b(?:19|20)\d\d\b)"
)
_STREET_TYPES = (
    r"(?:Road|Rd|Street|St|Lane|Ln|Avenue|Ave|Close|Cl|Drive|Dr|Way|Crescent|Cres|Court|Ct"
    r"|Place|Pl|Gardens|Gdns|Grove|Gr|Terrace|Terr|Walk|Rise|Hill|View|Mews|Square|Sq|Row"
    r"|Parade|Vale|Chase|Croft|Wharf|Yard|Green|Park|Meadows?|Fields?|Gate|End|Way|Brow"
    r"|Boulevard|Approach|Heights|Bank|Wynd|Lea|Dell|Glade|Grange|Orchard|Paddock|Mead)"
)
_STREET = rf"(?:[A-Z][a-z'’]+(?:[ -][A-Z][a-z'’]+){{0,2}}\s+{_STREET_TYPES}\b)"
_HOUSE = (
    r"(?:(?:Flat|Apartment|Apt|Unit|Room)\s+\d+[A-Za-z]?,?\s+)?\d{1,4}[A-Za-z]?(?:-\d{1,4})?,?\s+"
)
_ADDRESS_PATTERNS = [
    # 14 Laburnum Close; Flat 3, 27 Mill Lane; 5a Station Road
    ("number and street", rf"(?-i:{_HOUSE}{_STREET})", 0.85),
    (
        "number and street, any case",
        rf"(?i:\b\d{{1,4}}[a-z]?,?\s+[a-z'’]+(?:\s+[a-z'’]+)?\s+{_STREET_TYPES.lower()}\b)",
        0.6,
    ),
    # lives at / moved to / address: Rose Cottage, Mill Lane
    (
        "a street after 'lives'",
        rf"(?i:\b(?:lives?|living|lived|resides?|residing|moved|staying|stays|address(?:ed)?|home)"
        rf"\b(?:\s+\w+){{0,2}}?\s+(?:at|on|in|to|is|was)\s+)(?-i:(?:[A-Z][a-z'’]+\s+){{0,2}}"
        rf"(?:Cottage|House|Farm|Lodge|Barn)?,?\s*{_STREET})",
        0.7,
    ),
    (
        "house name and street",
        rf"\b[A-Z][a-z'’]+\s+(?:Cottage|Farm|Lodge|Barn|Bungalow),\s+{_STREET}",
        0.8,
    ),
]


@cache
def _analyzer() -> AnalyzerEngine:
    """Presidio's analyzer with the recognisers above, built once per process (its
    import takes seconds: ``warm_up`` starts it in the background)."""
    import spacy
    import tldextract
    from presidio_analyzer import (
        AnalyzerEngine,
        LemmaContextAwareEnhancer,
        EntityRecognizer,
        Pattern,
        PatternRecognizer,
        RecognizerRegistry,
        RecognizerResult,
    )
    from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        EmailRecognizer,
        NhsRecognizer,
        PhoneRecognizer,
        UkNinoRecognizer,
        UkPostcodeRecognizer,
    )

    class Tokens(SpacyNlpEngine):
        """spaCy's English tokeniser and nothing else (no model to download): enough
        for Presidio to score the context words around a pattern."""

        def __init__(self) -> None:
            super().__init__(models=[{"lang_code": "en", "model_name": "blank"}])

        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}

        def process_text(self, text: str, language: str) -> NlpArtifacts:
            doc = self.nlp[language](text)
            return NlpArtifacts(
                entities=[],
                tokens=doc,
                tokens_indices=[t.idx for t in doc],
                lemmas=[t.lower_ for t in doc],
                nlp_engine=self,
                language=language,
            )

    offline = tldextract.TLDExtract(suffix_list_urls=())  # the bundled list: no fetching

    class Email(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return bool(offline(pattern_text).suffix)

    class Names(EntityRecognizer):
        def load(self) -> None:
            pass

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list:
            return [
                RecognizerResult("PERSON", start, end, 0.85)
                for start, end in gazetteer.find_names(text)
            ]

    def patterns(entity: str, found: list[tuple[str, str, float]], context: list[str]):
        return PatternRecognizer(
            supported_entity=entity,
            patterns=[Pattern(name, regex, score) for name, regex, score in found],
            context=context,
        )

    registry = RecognizerRegistry(supported_languages=["en"])
    for recogniser in (
        Email(),
        PhoneRecognizer(supported_regions=("GB",), leniency=0, context=_PHONE_WORDS),
        NhsRecognizer(),
        UkNinoRecognizer(),
        UkPostcodeRecognizer(),
        Names(supported_entities=["PERSON"], name="names gazetteer"),
        patterns("UK_ADDRESS", _ADDRESS_PATTERNS, ["address", "lives", "living", "home"]),
        patterns("DATE_OF_BIRTH", [("date of birth", _DOB, 0.9)], []),
        patterns(
            "UK_UPN",
            [
                ("UPN", r"\b[A-HJ-NP-RT-Z]\d{11}[0-9A-HJ-NP-RT-Z]\b", 0.85),
                (
                    "UPN in groups",
                    r"\b[A-HJ-NP-RT-Z]\d{3}[ -]\d{4}[ -]\d{4}[ -]?[0-9A-HJ-NP-RT-Z]\b",
                    0.7,
                ),
            ],
            ["upn", "pupil"],
        ),
        patterns("CRIME_REFERENCE", _CRIME_PATTERNS, _CRIME_WORDS),
        patterns("CASE_NUMBER", _CASE_PATTERNS, _CASE_WORDS),
    ):
        registry.add_recognizer(recogniser)
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=Tokens(),
        supported_languages=["en"],
        # Context words count whole ("id" is not in "did"), within five words before.
        context_aware_enhancer=LemmaContextAwareEnhancer(
            context_prefix_count=5, context_suffix_count=1, context_matching_mode="whole_word"
        ),
    )


_PHONE_WORDS = ["phone", "mobile", "telephone", "tel", "number", "call", "text", "contact"]
_CRIME_WORDS = [
    "crime", "incident", "occurrence", "log", "cad", "crn", "urn", "niche", "athena",
    "storm", "police", "reference", "ref", "report", "offence",
]  # fmt: skip
_CRIME_PATTERNS = [
    # 22/45812/26: force or year / serial / year
    ("year serial year", r"\b\d{2}/\d{3,8}/\d{2,4}\b", 0.6),
    # CR/012345/26, WM-20260312-0456, CRN 26-123456
    ("letters and numbers", r"(?-i:\b[A-Z]{2,5}[-/ ]?\d{4,}(?:[-/]\d{2,}){0,3}\b)", 0.3),
    # incident log 0345 of 12/03/2026
    ("log of date", rf"\b\d{{3,6}}\s+of\s+(?:{NUMERIC_DATE})\b", 0.6),
]
_CASE_WORDS = [
    "mosaic", "lcs", "liquidlogic", "eclipse", "ehm", "systmone", "emis", "rio", "carefirst",
    "case", "person", "id", "ref", "reference", "number", "no", "record", "client", "file",
    "frameworki", "azeus", "protocol", "cp",
]  # fmt: skip
_CASE_PATTERNS = [
    # A long number stands for a record wherever it is.
    ("long number", r"(?<![\d,.£$])\b\d{7,12}\b(?![,.]\d)", 0.5),
    # A shorter one, or one with letters, only with its system's name or "case number".
    ("number", r"(?<![\d,.£$])\b(?!(?:19|20)\d\d\b)\d{4,6}\b(?![,.]\d)", 0.05),
    ("code", r"(?-i:\b(?=[A-Z]*\d)[A-Z]{1,5}[-/]?\d{3,}(?:[-/][A-Z0-9]{2,})*\b)", 0.1),
]


def warm_up() -> None:
    """Build the analyzer in a background thread, so the first check does not wait
    seconds for Presidio's import."""
    threading.Thread(target=_analyzer, name="identify-warm-up", daemon=True).start()


# --- finding -------------------------------------------------------------------------


def find(
    text: str,
    *,
    allowed: Collection[str] = (),
    names: Collection[str] = (),
    normalised: bool = False,
) -> list[Found]:
    """Every direct identifier in ``text``, in order, one per place (the most telling
    kind where two overlap). ``allowed`` are the partnership's own words (agency, area
    and place names, themes), never taken for a name or an address; ``names`` are
    people's names known from the records, found whole, in any case. Pass
    ``normalised=True`` when the text has been through ``normalise`` already."""
    if not normalised:
        text = normalise(text)
    if not text.strip():
        return []
    results = _analyzer().analyze(text, language="en", score_threshold=0.0)
    found = [
        Found(kind, r.start, r.end, text[r.start : r.end])
        for r in results
        if (kind := _ENTITY_KIND.get(r.entity_type))
        and r.score >= _MIN_SCORE[kind]
        and _plausible(kind, text[r.start : r.end])
    ]
    found += [Found("name", s, e, text[s:e]) for s, e in _known_names(text, names)]
    inside = _allowed_spans(text, allowed)
    found = [f for f in found if not _within(f, inside)]
    return _one_per_place(found)


_ORDINAL = re.compile(r"\d(?:st|nd|rd|th)$")


def _plausible(kind: str, found: str) -> bool:
    if kind == "postcode":
        # "wr5 3rd" reads as an ordinal
        return not (found[-3:].islower() and _ORDINAL.search(found))
    if kind == "phone":  # a British number: 0 or +44 first, ten digits or more
        digits = re.sub(r"\D", "", found)
        return len(digits) >= 10 and (
            digits.startswith("0") or found.lstrip("( ").startswith("+44")
        )
    return True


def _known_names(text: str, names: Collection[str]) -> list[tuple[int, int]]:
    spans = []
    for name in {" ".join(n.lower().split()) for n in names if len(n.strip()) >= 3}:
        pattern = r"(?<!\w)" + r"\s+".join(map(re.escape, name.split())) + r"(?:['’]s)?(?!\w)"
        spans += [m.span() for m in re.finditer(pattern, text, re.IGNORECASE)]
    return spans


def _allowed_spans(text: str, allowed: Collection[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    lowered = text.lower()
    for phrase in {" ".join(a.lower().split()) for a in allowed if a.strip()}:
        pattern = r"(?<!\w)" + r"\s+".join(map(re.escape, phrase.split())) + r"(?:['’]s)?(?!\w)"
        spans += [m.span() for m in re.finditer(pattern, lowered)]
    return spans


def _within(found: Found, spans: list[tuple[int, int]]) -> bool:
    """True when every word of the finding lies inside an allowed phrase."""
    words = [m.span() for m in re.finditer(r"[\w'’-]+", found.text)]
    return bool(words) and all(
        any(a <= found.start + s and found.start + e <= b for a, b in spans) for s, e in words
    )


def _one_per_place(found: list[Found]) -> list[Found]:
    rank = {kind: n for n, kind in enumerate(_PRIORITY)}
    kept: list[Found] = []
    for f in sorted(found, key=lambda f: (rank[f.kind], -(f.end - f.start), f.start)):
        if not any(f.start < k.end and k.start < f.end for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)
