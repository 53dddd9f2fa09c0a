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

import html
import re
import threading
import unicodedata
from collections.abc import Callable, Collection
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
# Single characters spaced out one by one: "9 4 3 4 7 6 5 9 1 9", "W R 9 8 B Q", and
# three of them when more follow after two spaces or a dash: "n e 4 - 7 s l", or pairs
# after two spaces: "A B  1 2  3 4  5 6  C".
_SPACED_OUT = re.compile(
    r"(?<!\S)(?:(?:[A-Za-z0-9/.] ){3,}[A-Za-z0-9/.](?:(?:   ?| - )(?:[A-Za-z0-9/.] )*[A-Za-z0-9/.])*"
    r"|(?:[A-Za-z0-9/.] ){2}[A-Za-z0-9/.](?:(?:   ?| - )(?:[A-Za-z0-9/.] )*[A-Za-z0-9/.])+"
    r"|(?:[A-Za-z0-9/.](?: [A-Za-z0-9/.])?  ){3,}[A-Za-z0-9/.](?: [A-Za-z0-9/.])?)"
    r"(?![^\s,;:])"
)
# Letters and digits dotted one by one: "w.r.1.4 3.q.x" (not "e.g.", "i.e.", "4.1.2").
_DOTTED_OUT = re.compile(
    r"(?<![\w.])(?=[a-z.]*\d)(?=[\d.]*[a-z])[a-z0-9](?:\.[a-z0-9]){2,}\b", re.I
)
# Digits dotted one by one: "9.9.9.7.8.2.5.3.3.0" (not "4.1.2").
_DOTTED_DIGITS = re.compile(r"(?<![\w.])\d(?:\.\d){6,}(?![\w.])")
# A date in Roman numerals: "xix.vi.MMXI" reads "19.06.2011".
_ROMAN_DATE = re.compile(r"\b([ivxlc]+)[./ -]([ivx]+)[./ -]([mdclxvi]{2,})\b", re.IGNORECASE)
_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
# A postcode's inward code with a look-alike for its digit: "PE20 lQD".
_INWARD_LOOK_ALIKE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?) ([lIO|])([A-Z]{2})\b")
# A line break inside a postcode: "DL6 3Q\nG", "WR14\n3QX".
_BROKEN_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?(?: ?\d[A-Z]?)?[ \t]*\n[ \t]*[A-Z\d]{1,3}\b")
_POSTCODE = re.compile(r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}")
# A separator no number is written with, between digits: "24*203117", "943~476~5919".
_ODD_SEPARATOR = re.compile(r"(?<=\d)[*~_^#](?=\d)")
# A digit for a letter inside a word: "Larkr1se", "Ravensh0lme", "Ch3ster".
_DIGIT_IN_WORD = re.compile(r"\b[A-Za-z]*[a-z][013][a-z][A-Za-z]*\b")
_LETTERS = str.maketrans({"0": "o", "1": "i", "3": "e"})
# Numbers said aloud, digit by digit or in tens ("oh seven seven double oh, nine double
# oh, 633"; "forty-two slash six seven zero nine one slash twenty-four"), letters in the
# phonetic alphabet among them ("November Golf three four, eight Foxtrot Lima").
_SAID_DIGIT = {
    "zero": "0", "oh": "0", "o": "0", "nought": "0", "nil": "0", "one": "1", "two": "2",
    "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_SAID_TENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_PHONETIC = frozenset({
    "alfa", "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
    "juliett", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
    "sierra", "tango", "uniform", "victor", "whiskey", "whisky", "x-ray", "xray", "yankee", "zulu",
})  # fmt: skip
_SAID_TOKEN = (
    r"(?:(?:double|treble|triple)\s+)?(?:"
    + "|".join(sorted([*_SAID_DIGIT, *_SAID_TENS, *_PHONETIC], key=len, reverse=True))
    + r"|\d+|slash|stroke)"
)
_SAID_NUMBER = re.compile(rf"\b{_SAID_TOKEN}(?:(?:[\s,]+|-){_SAID_TOKEN}){{4,}}\b", re.IGNORECASE)
# A day of the month and a year said in words: "the twenty-third of May two thousand and
# thirteen" reads "the 23rd of May 2013".
# Number words and their values, one to ninety ("zero" and "oh" are digits only).
_NUMBER_VALUE = {w: int(d) for w, d in _SAID_DIGIT.items() if d != "0"} | _SAID_TENS
_UNIT = "|".join(w for w, n in _NUMBER_VALUE.items() if n < 10)
_TEEN = "|".join(w for w, n in _NUMBER_VALUE.items() if 10 <= n < 20)
_ORDINAL_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
_SAID_DAY = re.compile(
    r"\b(?:(twenty|thirty)[\s-]+)?("
    + "|".join(_ORDINAL_WORDS)
    + r")(?=,?\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))",
    re.IGNORECASE,
)
_SAID_YEAR = re.compile(
    rf"\b(?:two\s+thousand(?:\s+and)?[\s-]+({_UNIT}|{_TEEN})"
    rf"|twenty[\s-]+({_TEEN}|twenty(?:[\s-]+(?:{_UNIT}))?))"
    r"\b(?![\s-]+(?:hundred|thousand)|-year)",
    re.IGNORECASE,
)
# A line break inside a number: after a separator ("12/03/\n2021"), or between digits.
_BROKEN_NUMBER = re.compile(r"(?<=\d)([/.-]?)[ \t]*\n[ \t]*(?=\d|[A-D]\b)")
# A token with digits in it, where look-alike letters (O for 0, l or I for 1) stand
# next to digits.
_WITH_DIGITS = re.compile(r"[A-Za-z0-9|]*\d[A-Za-z0-9|]*")
_LOOK_ALIKE_RUN = re.compile(r"[OolI|]+")
_DIGITS = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "|": "1"})
# Digit groups a record number is written in, joined when they make a long number:
# "943.476.5919", "12 34 567" (not "2025 2026", not a date).
_DIGIT_GROUPS = re.compile(r"(?<![\w/])\d+(?:[ .-]\d+){1,4}(?![\w/])")
# An e-mail address written out: "a(at)b(dot)com", "c.booth @ example.net", and with
# words only where the dots are words too ("kelly dot smith at example dot com"; not
# "the reports at www.gov.uk"), or where what comes before "at" is no word ("ellie.w").
_TLD = r"(?:com|org|net|uk|gov|nhs|ac|edu|info|invalid|test|example|io|co)\b"
_AT = r"(?:\s*@\s*|\s*[\[(]\s*at\s*[\])]\s*)"
_DOT = r"(?:\s*[\[(]\s*dot\s*[\])]\s*|\s+dot\s+|\.)"
# At most three dotted parts either side (no nested repetition to run away on long text).
_PART = rf"[\w+-]+(?:{_DOT}[\w+-]+){{0,3}}"
_SPELT_EMAIL = re.compile(
    rf"\b{_PART}{_AT}[\w-]+(?:{_DOT}[\w-]+){{0,3}}?{_DOT}{_TLD}"
    rf"|\b{_PART}\s+at\s+[\w-]+(?:{_DOT}[\w-]+){{0,3}}?\s+dot\s+{_TLD}"
    # "ellie.w at example.org": "at" alone only after what only an address has before it
    rf"|\b[\w+-]*[._\d][\w+-]*\s+at\s+(?!www\.)[\w-]+(?:\.[\w-]+){{0,3}}?\.{_TLD}",
    re.IGNORECASE,
)
_MAY_SPELL_EMAIL = re.compile(r"@|\bat\b", re.IGNORECASE)


# Letters of other alphabets that look Latin ("Rаshid" with a Cyrillic а).
_CONFUSABLES = str.maketrans(
    "АВЕКМНОРСТХЅІЈаеорсухіјѕԁɡΑΒΕΖΗΙΚΜΝΟΡΤΥΧοντ",
    "ABEKMHOPCTXSIJaeopcyxijsdgABEZHIKMNOPTYXovt",
)


def normalise(text: str) -> str:
    """The text as every check reads it: HTML character references read ("&#64;" is @),
    compatibility forms folded (full-width letters
    and digits), invisible format characters removed, every space and dash made plain,
    and what hides a number or an address put back together: digits or letters spaced
    out one by one, look-alike letters among digits, a line break inside a number,
    digit groups of a long number, a number said digit by digit, a date said in words,
    an e-mail address spelt out."""
    text = unicodedata.normalize("NFKC", html.unescape(text)).translate(_CONFUSABLES)
    text = _WORD_BREAKS.sub("", text)  # "Jay\u200bden" is Jayden; "Child\u200bA" ChildA
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    text = _SPACES.sub(" ", _DASHES.sub("-", text))
    text = _SPACED_OUT.sub(_unspaced, text)
    text = _DOTTED_OUT.sub(lambda m: m.group().replace(".", ""), text)
    text = _DOTTED_DIGITS.sub(lambda m: m.group().replace(".", ""), text)
    text = _ROMAN_DATE.sub(_roman_date, text)
    text = _BROKEN_NUMBER.sub(_join_broken, text)
    text = _BROKEN_POSTCODE.sub(_join_postcode, text)
    text = _ODD_SEPARATOR.sub("-", text)
    text = _WITH_DIGITS.sub(_digits_for_look_alikes, text)
    text = _INWARD_LOOK_ALIKE.sub(lambda m: f"{m[1]} {m[2].translate(_DIGITS)}{m[3]}", text)
    text = _DIGIT_IN_WORD.sub(_letters_for_digits, text)
    text = _SAID_NUMBER.sub(_said_digits, text)
    text = _SAID_YEAR.sub(_said_year, _SAID_DAY.sub(_said_day, text))
    text = _DIGIT_GROUPS.sub(_join_groups, text)
    return _SPELT_EMAIL.sub(_email, text) if _MAY_SPELL_EMAIL.search(text) else text


def _unspaced(m: re.Match[str]) -> str:
    """ "R y a n  H a r t l e y" -> "Ryan Hartley" (two spaces or a dash part the words)."""
    return " ".join(word.replace(" ", "") for word in re.split("   ?| - ", m.group()))


def _join_broken(m: re.Match[str]) -> str:
    if m.group(1):
        return m.group(1)
    if not m.string[m.end()].isdigit():
        return " "  # "AB 12 34 56\nC": a National Insurance number's last letter
    # Between bare digits only when the two sides make a long number (a table's
    # "2025\n2026" stays two years).
    text = m.string
    left = re.search(r"[\d ]*$", text[max(0, m.start() - 14) : m.start()])
    right = re.match(r"[\d ]*", text[m.end() : m.end() + 14])
    digits = sum(
        c.isdigit() for c in (left.group() if left else "") + (right.group() if right else "")
    )
    # Otherwise the line break stays, so no later rule joins across it either: figures
    # on lines of their own (a chart's labels, as a PDF's layout prints them) are not
    # one number.
    return "" if digits >= 10 else m.group()


def _join_postcode(m: re.Match[str]) -> str:
    """ "DL6 3Q\\nG" -> "DL6 3QG" when the two lines make one postcode."""
    left, right = re.split(r"[ \t]*\n[ \t]*", m.group())
    for joined in (left + right, f"{left} {right}"):
        if _POSTCODE.fullmatch(joined):
            return joined
    return m.group()


def _roman(numeral: str) -> int:
    values = [_ROMAN[c] for c in numeral.lower()]
    return sum(-v if v < w else v for v, w in zip(values, [*values[1:], 0], strict=True))


def _roman_date(m: re.Match[str]) -> str:
    day, month, year = (_roman(g) for g in m.groups())
    if 1 <= day <= 31 and 1 <= month <= 12 and 1900 <= year <= 2100:
        return f"{day:02d}.{month:02d}.{year}"
    return m.group()


def _letters_for_digits(m: re.Match[str]) -> str:
    """One digit among lower-case letters is a letter: "Larkr1se" -> "Larkrise"."""
    word = m.group()
    digits = [c for c in word if c.isdigit()]
    return word.translate(_LETTERS) if len(digits) == 1 and len(word) >= 5 else word


def _said_digits(m: re.Match[str]) -> str:
    """ "oh seven seven double oh, nine double oh, 215" -> "07700900215"; "Tango eight
    three ..." -> "T83..."; "forty-two slash 67091 slash twenty-four" -> "42/67091/24".
    Only what no sentence says: a long number, one with slashes, or letters with digits
    (not "one or two", nor "Charlie, Mike, Oscar and Victor")."""
    out, repeat, said, digits, letters = [], 1, 0, 0, 0
    words = re.findall(r"x-ray|[A-Za-z]+|\d+", m.group(), re.IGNORECASE)
    for k, token in enumerate(words):
        word = token.lower()
        if word in ("double", "treble", "triple"):
            repeat = 2 if word == "double" else 3
            continue
        if word in ("slash", "stroke"):
            out.append("/")
            continue
        if word in _SAID_DIGIT:
            piece = _SAID_DIGIT[word]
        elif word in _SAID_TENS:
            unit = words[k + 1].lower() if k + 1 < len(words) else ""
            tens = _SAID_TENS[word]
            piece = str(tens)
            if tens >= 20 and _SAID_DIGIT.get(unit, "0") != "0":  # "forty-two"
                piece, words[k + 1] = str(tens + int(_SAID_DIGIT[unit])), "and"
        elif word == "and":
            continue
        elif word in _PHONETIC:
            piece, letters = word[0].upper(), letters + 1
        else:
            piece = token
        said += not token.isdigit()
        digits += sum(c.isdigit() for c in piece) * repeat
        out.append(piece * repeat)
        repeat = 1
    number = "".join(out)
    long_number = said >= 5 and digits >= 9 and not letters
    with_slashes = "/" in number and digits >= 6 and not letters
    with_letters = letters and digits >= 3 and said >= 5
    return number if long_number or with_slashes or with_letters else m.group()


def _said_day(m: re.Match[str]) -> str:
    tens = {"twenty": 20, "thirty": 30}.get((m.group(1) or "").lower(), 0)
    day = tens + _ORDINAL_WORDS[m.group(2).lower()]
    if not 1 <= day <= 31:
        return m.group()
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _said_year(m: re.Match[str]) -> str:
    """ "two thousand and fifteen" -> "2015", "twenty twenty-four" -> "2024"."""
    words = [w for w in re.split(r"[\s-]+", m.group().lower()) if w != "and"]
    if words[:2] == ["two", "thousand"]:
        return str(2000 + _NUMBER_VALUE[words[2]])
    if words[1] == "twenty":
        return str(2020 + (_NUMBER_VALUE[words[2]] if len(words) > 2 else 0))
    return str(2000 + _NUMBER_VALUE[words[1]])


def _digits_for_look_alikes(m: re.Match[str]) -> str:
    """Look-alike letters between digits, or between a digit and the token's end, read as
    digits: "O77OO", "2Oll", "94347659l9", "B6l"; not "YO22" or "18OCT2011"."""
    token = m.group()

    def digits(run: re.Match[str]) -> str:
        before = token[run.start() - 1] if run.start() else ""
        after = token[run.end()] if run.end() < len(token) else ""
        if (not before or before.isdigit()) and (not after or after.isdigit()):
            return run.group().translate(_DIGITS)
        return run.group()

    return _LOOK_ALIKE_RUN.sub(digits, token)


def _join_groups(m: re.Match[str]) -> str:
    """Digit groups that make one record number are read as one: "943.476.5918",
    "123-456-7890", "12 34 567". Not dates or years ("03 03 2016", "2025-2026"), not a
    telephone number's groups (0 first: its recogniser reads them), and not a valid NHS
    number's 3-3-4 groups (its recogniser reads them, and the excerpt keeps them)."""
    run = m.group()
    groups = re.split(r"[ .-]", run)
    digits = "".join(groups)
    if any(len(g) == 4 and g[:2] in ("19", "20") for g in groups) or run.startswith("0"):
        return run
    if [len(g) for g in groups] == [3, 3, 4] and valid_nhs_number(digits):
        return run
    if 9 <= len(digits) <= 13 or (len(digits) >= 7 and min(map(len, groups)) <= 2):
        return digits
    return run


def valid_nhs_number(digits: str) -> bool:
    """Modulus 11: weights 10..2 over the first nine digits; the check digit is
    11 - (sum mod 11), where 11 means 0 and 10 means no valid number."""
    digits = re.sub(r"[ .-]", "", digits)
    if not re.fullmatch(r"\d{10}", digits):
        return False
    check = 11 - sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    return check != 10 and (0 if check == 11 else check) == int(digits[9])


def _email(m: re.Match[str]) -> str:
    found = re.sub(rf"{_AT}|\s+at\s+", "@", m.group(), count=1, flags=re.IGNORECASE)
    return re.sub(_DOT, ".", found, flags=re.IGNORECASE)


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
    r"|(?:0[1-9]|[12]\d|3[01])\.(?:0[1-9]|1[0-2])\.\d{2}"  # 12.03.26
    r"|\d{4}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])"  # 2015-03-12
)
# Days anyone can date from the name: with a year, as exact as a date.
_NAMED_DAY = (
    r"(?:Christmas\s+(?:Day|Eve)|Boxing\s+Day|New\s+Year['’]s\s+(?:Day|Eve)"
    r"|Easter\s+(?:Sunday|Monday|Day)|Bonfire\s+Night|Hallowe['’]?en|Valentine['’]s\s+Day"
    r"|Mother['’]s\s+Day|Father['’]s\s+Day)\s+(?:19|20)\d\d"
)
# Any date precise enough to place a child: a numeric date, day and month, month and year.
DATE = (
    rf"\b(?:{NUMERIC_DATE}"
    rf"|{_DAY}\s+(?:of\s+)?{_MONTH}\b\.?(?:,?\s+\d{{4}})?"
    rf"|{_MONTH}\b\.?\s+{_DAY}\b(?:,?\s+\d{{4}})?"
    rf"|{_MONTH}\b\.?,?\s+(?:19|20)\d\d|{_NAMED_DAY})\b"
)
# A day-level date: what pins an event to one child.
EXACT_DATE = (
    rf"\b(?:{NUMERIC_DATE}"
    rf"|{_DAY}\s+(?:of\s+)?{_MONTH}\b\.?(?:,?\s+\d{{4}})?"
    rf"|{_MONTH}\b\.?\s+{_DAY}\b(?:,?\s+\d{{4}})?|{_NAMED_DAY})\b"
)
# A date as birth dates are written in records: also "03 03 2016", "12.12.12", "12-Mar-2021".
_RECORD_DATE = (
    rf"(?:{DATE}|\b\d{{1,2}}[ ./-]\d{{1,2}}[ ./-](?:\d{{4}}|\d{{2}})\b"
    rf"|\b\d{{1,2}}[ -]?{_MONTH}[ -]?(?:\d{{4}}|\d{{2}})\b|\b(?:19|20)\d\d\b"
    r"|\b(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])(?:\d{4}|\d{2})\b)"  # 270312, 27032012
)
_DOB = (
    r"(?:\bD[./]?\s?O[./]?\s?B(?:s|'s)?\b\.?|\bdate[\s-]+of[\s-]+birth\b|\bbirth\s*date\b|\bbirthday\b"
    r"|\bborn\b|(?-i:\bb\.))"
    # what comes between: "was recorded as", "(from school records):", "in Romania on"
    rf"[^.!?\n]{{0,40}}?{_RECORD_DATE}"
)
# "turns 18 on 14 June 2026": a birthday by another name.
_TURNS = rf"\bturn(?:s|ed)?\s+\d{{1,2}}\s+on\s+{DATE}"
_STREET_TYPES = (
    r"(?:Road|Rd|Street|St|Lane|Ln|Avenue|Ave|Close|Cl|Drive|Dr|Way|Crescent|Cres|Court|Ct"
    r"|Place|Pl|Gardens|Gdns|Grove|Gr|Terrace|Terr|Walk|Rise|Hill|View|Mews|Square|Sq|Row"
    r"|Parade|Vale|Chase|Croft|Wharf|Yard|Green|Park|Meadows?|Fields?|Gate|End|Brow"
    r"|Boulevard|Approach|Heights|Bank|Wynd|Lea|Dell|Glade|Grange|Orchard|Paddock|Mead|Side)"
)
_STREET = rf"(?:[A-Z][a-z'’]+(?:[ -][A-Z][a-z'’]+){{0,2}}\s+{_STREET_TYPES}\b)"
_HOUSE = (
    r"(?:(?:Flat|Apartment|Apt|Unit|Room)\s+\d+[A-Za-z]?,?\s+)?\d{1,4}[A-Za-z]?(?:-\d{1,4})?,?\s+"
)
_BUILDINGS = "House|Court|Lodge|Mansions|Buildings|Tower|Heights|Point|Cottage|Farm|Barn|Bungalow"
_BUILDING = rf"(?:{_BUILDINGS})"
_NUMBER_WORDS = "|".join([*_NUMBER_VALUE, "hundred"])
# "Fifty-Five", "seventeen": a house number in words
_NUMBER_IN_WORDS = rf"(?i:(?:{_NUMBER_WORDS})(?:[- ](?:{_NUMBER_WORDS}))?)"
_BUILDING_MORE = rf"(?:{_BUILDINGS}|Hostel|Refuge|Hotel|Hall|Centre)"
_TOWN = r"[A-Z][a-z'’]+(?:[ -][A-Z][a-z'’]+)?"
# Capitals matter here: a street or a building is written with them. (Presidio reads
# patterns without regard to case unless they say otherwise.)
_ADDRESS_PATTERNS = [
    # 14 Laburnum Close; Flat 3, 27 Mill Lane; 5a Station Road
    ("number and street", rf"(?-i:{_HOUSE}{_STREET})", 0.85),
    (
        "number and street, any case",
        rf"(?i:\b\d{{1,4}}[a-z]?,?\s+[a-z'’]+(?:\s+[a-z'’]+)?\s+{_STREET_TYPES.lower()}\b)",
        0.6,
    ),
    # lives at / the house on / moved to: Rose Cottage, Mill Lane; Cherry Tree Walk
    (
        "a street after 'lives' or 'the house'",
        rf"(?i:\b(?:lives?|living|lived|resides?|residing|moved|staying|stays|address(?:ed)?"
        rf"|home|house|flat|property|bungalow|maisonette|caravan|hostel|refuge|site|trailer"
        rf"|hotel|b&b)"
        rf"\b(?:\s+\w+){{0,2}}?\s+(?:at|on|in|to|is|was)\s+)(?-i:(?:[A-Z][a-z'’]+\s+){{0,2}}"
        rf"(?:{_BUILDING})?,?\s*{_STREET})",
        0.7,
    ),
    # Rose Cottage, Mill Lane; The Willows, Bromyard Road; The Old Forge, Church Street
    (
        "house name and street",
        rf"(?-i:\b(?:[A-Z][a-z'’]+\s+{_BUILDING}|The(?:\s+[A-Z][a-z'’]+){{1,2}}),\s+{_STREET})",
        0.8,
    ),
    # forty-two Saltergate Terrace; number seventeen, Foxglove Way; 'Rosemount', Church Bank;
    # Room 6, Harbourside Hostel; off Scar Lane
    (
        "number in words and street",
        rf"(?i:\b(?:number\s+)?{_NUMBER_IN_WORDS},?\s+)(?-i:{_STREET})",
        0.75,
    ),
    ("quoted house name and street", rf"(?-i:['‘’\"“][A-Z][a-z]+['’\"”],\s+{_STREET})", 0.8),
    (
        "room in a building",
        rf"(?i:\broom\s+\d+[a-z]?,\s+)(?-i:[A-Z][a-z'’]+\s+{_BUILDING_MORE})",
        0.75,
    ),
    ("off a street", rf"(?i:\boff\s+)(?-i:{_STREET})", 0.6),
    # Address: Rosewood, Back Lane
    ("a labelled address", r"(?i:\baddress\s*(?:is|was)?\s*[:-]\s*)(?-i:[A-Z0-9][^\n]{3,})", 0.8),
    # Flat 3, Beech House; flat 2b
    ("a flat", r"(?-i:\b(?:Flat|flat|Apartment|apartment|Apt)\s+\d+[A-Za-z]?\b)", 0.7),
    # room 4 at the Travelodge on Ombersley Road; pitch 7 at the Pershore Road site
    (
        "a room or pitch at a place",
        rf"(?i:\b(?:room|pitch|plot|bay|unit)\s+\d+[a-z]?\s+(?:at|in|on)\s+)(?-i:[^.!?\n]{{0,40}}?{_STREET})",
        0.7,
    ),
    # 7 Wesley House, Kidderminster; 4 Canal Side, Tardebigge; 3 The Paddocks, Inkberrow;
    # Fifty-Five Westgate, Ludlow
    (
        "number, name and town",
        rf"(?-i:\b(?:\d{{1,3}}[a-z]?|{_NUMBER_IN_WORDS})\s+(?:The\s+)?[A-Z][a-z'’]+(?:\s+[A-Z][a-z'’]+){{0,2}}"
        rf",\s+{_TOWN}\b)",
        0.6,
    ),
    ("number and building", rf"(?-i:\b\d{{1,4}}[a-z]?\s+[A-Z][a-z'’]+\s+{_BUILDING}\b)", 0.75),
    # Tolladine Road, number 60
    ("street and number", rf"(?-i:{_STREET},?\s+(?:number|no\.?)\s+\d{{1,4}}\b)", 0.8),
]


_BUILDING_ANALYZER = threading.Lock()


def _analyzer() -> AnalyzerEngine:
    """Presidio's analyzer, built once per process (under a lock: the warm-up thread
    and a first request must not build two)."""
    with _BUILDING_ANALYZER:
        return _build_analyzer()


@cache
def _build_analyzer() -> AnalyzerEngine:
    """Presidio's analyzer with the recognisers above, built once per process (its
    import takes seconds: ``warm_up`` starts it in the background)."""
    from presidio_analyzer import (
        AnalyzerEngine,
        EntityRecognizer,
        LemmaContextAwareEnhancer,
        Pattern,
        PatternRecognizer,
        RecognizerRegistry,
        RecognizerResult,
    )
    from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
    from presidio_analyzer.predefined_recognizers import (
        EmailRecognizer,
        NhsRecognizer,
        PhoneRecognizer,
        UkNinoRecognizer,
        UkPostcodeRecognizer,
    )
    from spacy.lang.en.stop_words import STOP_WORDS

    class Tokens(NlpEngine):
        """Words and nothing else (no language model to download): enough for Presidio
        to score the context words before a pattern. spaCy's English stop words are
        left out of the context, as Presidio's own engines do."""

        def load(self) -> None:
            pass

        def is_loaded(self) -> bool:
            return True

        def process_text(self, text: str, language: str) -> NlpArtifacts:
            words = list(_WORDS.finditer(text))
            return NlpArtifacts(
                entities=[],
                tokens=[w.group() for w in words],  # type: ignore[arg-type]
                tokens_indices=[w.start() for w in words],
                lemmas=[w.group().lower() for w in words],
                nlp_engine=self,
                language=language,
            )

        def process_batch(self, texts, language, batch_size=1, n_process=1, **kwargs):
            for text in texts:
                yield text, self.process_text(str(text), language)

        def is_stopword(self, word: str, language: str) -> bool:
            return word.lower() in STOP_WORDS

        def is_punct(self, word: str, language: str) -> bool:
            return not any(c.isalnum() for c in word)

        def get_supported_entities(self) -> list[str]:
            return []

        def get_supported_languages(self) -> list[str]:
            return ["en"]

    class Email(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            # Any address-shaped string: reserved domains (example.org, .invalid) are
            # still someone's address in the making, and typos are still addresses.
            return True

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
        patterns("DATE_OF_BIRTH", [("date of birth", _DOB, 0.9), ("turns N on", _TURNS, 0.9)], []),
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


_WORDS = re.compile(r"\w+|[^\w\s]")
_PHONE_WORDS = ["phone", "mobile", "telephone", "tel", "number", "call", "text", "contact"]
_CRIME_WORDS = [
    "crime", "incident", "occurrence", "occ", "log", "cad", "crn", "urn", "niche", "athena",
    "storm", "police", "reference", "ref", "report", "offence", "merlin", "pnc", "cps",
]  # fmt: skip
# A code: letters and digits, maybe in parts ("PLO/26/019", "WR26C00045", "URN 22WM0456326").
_CODE = r"(?-i:\b(?=[A-Z0-9/-]*\d{2})(?=[A-Z0-9/-]*[A-Z])[A-Z0-9]{2,}(?:[/-][A-Z0-9]{2,}){0,3}\b)"
_CRIME_PATTERNS = [
    # 22/45812/26: force or year / serial / year
    ("year serial year", r"\b\d{2}/\d{3,8}/\d{2,4}\b", 0.6),
    # 24/118903/MF: year / serial / the force's or unit's letters
    ("year serial letters", r"(?-i:\b\d{2}/\d{3,8}/[A-Z]{2,4}\b)", 0.6),
    # CR/2026/004417, WM-20260312-0456: letters, then numbers in parts
    ("letters and numbers in parts", r"(?-i:\b[A-Z]{2,5}[-/]\d{2,}(?:[-/]\d{2,}){1,3}\b)", 0.6),
    # CRN 26-123456, occurrence 25/118834: with the words that say what it is
    ("letters and numbers", r"(?-i:\b[A-Z]{2,5}[-/ ]?\d{4,}(?:[-/]\d{2,}){0,3}\b)", 0.3),
    ("two parts", r"\b\d{2}/\d{4,8}\b", 0.1),
    ("code", _CODE, 0.1),
    # incident log 0345 of 12/03/2026; Incident 412 of 3 March 2026; Storm log 1188 21/01/26
    ("log of date", rf"\b\d{{2,6}}\s+of\s+{DATE}|\b\d{{3,6}}\s+(?:{NUMERIC_DATE})\b", 0.6),
]
_CASE_WORDS = [
    "mosaic", "lcs", "liquidlogic", "eclipse", "ehm", "systmone", "emis", "rio", "carefirst",
    "case", "person", "id", "ref", "reference", "number", "no", "record", "client", "file",
    "frameworki", "azeus", "protocol", "cp", "lado", "plo", "proceedings", "court", "claim",
    "hospital", "mrn", "patient",
]  # fmt: skip
_CASE_PATTERNS = [
    # A long number stands for a record wherever it is.
    ("long number", r"(?<![\d,.£$])\b\d{7,12}\b(?![,.]\d)", 0.5),
    # Letters then six digits or more: a hospital or system number ("EVG1204437").
    ("letters and a long number", r"(?-i:\b[A-Z]{1,4}\d{6,}\b)", 0.5),
    # A shorter one, or one with letters, only with its system's name or "case number".
    ("number", r"(?<![\d,.£$])\b(?!(?:19|20)\d\d\b)\d{4,6}\b(?![,.]\d)", 0.05),
    ("code", _CODE, 0.1),
]


def warm_up(then: Callable[[], object] | None = None) -> None:
    """Build the analyzer in a background thread, so the first check does not wait
    seconds for Presidio's import; then call ``then`` there, if given."""

    def build() -> None:
        _analyzer()
        if then is not None:
            then()

    threading.Thread(target=build, name="identify-warm-up", daemon=True).start()


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
    found += _dates_in_birth_columns(text)
    inside = _allowed_spans(text, allowed)
    services = [m.span() for m in _SERVICE_NUMBER.finditer(text)]
    found = [
        f
        for f in found
        if not _within(f, inside)
        and not (f.kind == "case_number" and any(a <= f.start and f.end <= b for a, b in services))
    ]
    return _one_per_place(found)


_ORDINAL = re.compile(r"\d(?:st|nd|rd|th)$")
# A helpline's number (freephone, national rate, 116): a service's, not a record's, in
# whatever groups it is written ("0808 800 5000", "0800 1111", "116 123").
_SERVICE_NUMBER = re.compile(
    r"(?<![\d-])(?:0(?:80|84|87|3\d)\d(?:[ -]?\d){4,7}|116[ -]?\d{3})(?![\d-])"
)
# A mailbox that is a service's, not a person's: "help@nspcc.org.uk", "info@...".
_SERVICE_MAILBOXES = frozenset(
    [
        "help",
        "helpline",
        "info",
        "enquiries",
        "enquiry",
        "contact",
        "hello",
        "support",
        "office",
        "admin",
        "reception",
        "general",
        "mail",
        "post",
        "team",
        "referrals",
    ]
)


def _plausible(kind: str, found: str) -> bool:
    if kind == "postcode":
        # "wr5 3rd" reads as an ordinal
        return not (found[-3:].islower() and _ORDINAL.search(found))
    if kind == "email":
        return found.split("@")[0].lower() not in _SERVICE_MAILBOXES
    if kind == "phone":
        # A person's number: a landline (01, 02) or a mobile (07), ten digits or more.
        # Freephone, national and premium numbers (03, 08, 09) are services': helplines.
        digits = re.sub(r"\D", "", found)
        if found.lstrip("( ").startswith("+44"):
            digits = digits[2:] if digits[2:].startswith("0") else "0" + digits[2:]  # (0)
        return len(digits) >= 10 and digits[:2] in ("01", "02", "07")
    return True


_BIRTH_HEADING = re.compile(r"\s*(?:D\.?\s?O\.?\s?B\.?|date of birth|birth ?date|born)\s*", re.I)
_A_RECORD_DATE = re.compile(rf"\s*(?:{_RECORD_DATE})\s*", re.I)


def _dates_in_birth_columns(text: str) -> list[Found]:
    """The dates in a table's date-of-birth column ("Sibling | DOB | School" over
    "brother | 04/07/2010 | Skelby High"): the heading is rows away from the date."""
    found: list[Found] = []
    column: int | None = None
    offset = 0
    for line in text.split("\n"):
        cells = line.split("|")
        if len(cells) < 2:
            column = None
        elif (
            heading := next((k for k, c in enumerate(cells) if _BIRTH_HEADING.fullmatch(c)), None)
        ) is not None:
            column = heading
        elif column is not None and column < len(cells) and _A_RECORD_DATE.fullmatch(cells[column]):
            start = offset + sum(len(c) + 1 for c in cells[:column])
            cell = cells[column]
            lead = len(cell) - len(cell.lstrip())
            found.append(
                Found("date_of_birth", start + lead, start + len(cell.rstrip()), cell.strip())
            )
        offset += len(line) + 1
    return found


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
