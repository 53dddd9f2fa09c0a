"""The identification guard's benchmark corpora are well formed: the development corpus
(bench/identify_corpus/, which the guard was tuned on), the second corpus
(bench/identify_holdout/, held out at first, then its misses were used to tune the
guard), the fresh corpus (bench/identify_fresh/, measured once and then used to tune
it), the fourth corpus (bench/identify_unseen/, likewise) and the blind corpus
(bench/identify_blind/, written last, by someone who had seen none of the rest, measured
once and then used to tune the guard too). In each, every kind is there in number, nothing is repeated, the invented numbers
are valid where a guard could check them (and taken from the ranges reserved for
fiction), and no clean sentence carries a small count of children or a pseudonym. Each
corpus shares no text with the ones before it, and an allowed list is a plain list of
words.

It asserts nothing about the guard itself: bench/identify.py measures that.
The numbers worked out here (943 476 5919, B801200005001) are published examples:
the NHS's own and python-stdnum's for UPNs; none belongs to anyone."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from bench.identify import AIMS, ALLOWED_FILE, STRUCTURED

BENCH = Path(__file__).resolve().parents[2] / "bench"

# The kinds the bench scores (and which of them are structured) are the bench's own.
KINDS = tuple(AIMS)
PSEUDONYMS = [f"Child {c}" for c in "ABCDEFG"] + [f"Young person {n}" for n in (1, 2, 3)]


@dataclass(frozen=True)
class Corpus:
    folder: Path
    per_kind: int  # snippets of every kind, at least
    obfuscated: int  # obfuscated snippets of every structured kind, at least
    identifying: int  # identifying snippets in all, at least
    clean: int  # clean sentences, at least
    kind_at_least: dict[str, int] = field(default_factory=dict)  # kinds held to more
    obfuscated_text: int = 0  # obfuscated names and addresses, at least (0: no minimum)

    def at_least(self, kind: str) -> int:
        return self.kind_at_least.get(kind, self.per_kind)


# In the order they were written: each must share no text with the ones before it.
CORPORA = {
    "development": Corpus(BENCH / "identify_corpus", 25, 3, 300, 300),
    "held-out": Corpus(BENCH / "identify_holdout", 20, 3, 20 * len(KINDS), 250),
    "fresh": Corpus(
        BENCH / "identify_fresh",
        25,
        5,
        25 * (len(KINDS) - 2) + 50 + 35,
        250,
        kind_at_least={"name": 50, "address": 35},
        obfuscated_text=3,
    ),
    "unseen": Corpus(
        BENCH / "identify_unseen",
        25,
        4,
        25 * (len(KINDS) - 2) + 40 + 30,
        200,
        kind_at_least={"name": 40, "address": 30},
        obfuscated_text=2,
    ),
    "blind": Corpus(
        BENCH / "identify_blind",
        26,
        5,
        26 * (len(KINDS) - 2) + 40 + 32,
        240,
        kind_at_least={"name": 40, "address": 32},
        obfuscated_text=3,
    ),
}


def load(folder: Path) -> tuple[list[dict], list[str]]:
    snippets: list[dict] = []
    clean: list[str] = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name == ALLOWED_FILE:
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if path.stem == "clean" and "clean" in data:
            assert set(data) == {"clean"}, path.name
            clean += [item if isinstance(item, str) else item["text"] for item in data["clean"]]
            continue
        assert set(data) == {"kind", "snippets"}, path.name
        assert data["kind"] == path.stem, f"{path.name} holds kind {data['kind']}"
        if path.stem == "clean":  # {kind: clean, snippets: [...]}: plain strings
            assert all(isinstance(item, str) and item.strip() for item in data["snippets"])
            clean += data["snippets"]
            continue
        for item in data["snippets"]:
            if isinstance(item, str):
                item = {"text": item}
            assert set(item) <= {"text", "obfuscated"}, item
            assert isinstance(item["text"], str) and item["text"].strip(), item
            snippets.append({"kind": data["kind"], "obfuscated": False, **item})
    return snippets, clean


LOADED = {name: load(corpus.folder) for name, corpus in CORPORA.items()}


@dataclass(frozen=True)
class Loaded:
    name: str
    minimum: Corpus
    snippets: list[dict]
    clean: list[str]

    def of(self, kind: str) -> list[dict]:
        return [s for s in self.snippets if s["kind"] == kind]


@pytest.fixture(params=list(CORPORA))
def corpus(request) -> Loaded:
    """Each corpus in turn, with the minimum counts it is held to."""
    name = request.param
    return Loaded(name, CORPORA[name], *LOADED[name])


# -- numbers, worked out here -------------------------------------------------------

# Zero-width space, non-joiner and joiner, word joiner, byte order mark, soft hyphen.
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
LOOKALIKE = str.maketrans("OlI", "011")
# Cyrillic and Greek letters that look Latin, read as the Latin letter they imitate.
HOMOGLYPHS = str.maketrans(
    "\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425"
    "\u0405\u0406\u0408\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0455\u0456"
    "\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4"
    "\u03a5\u03a7\u03bf",
    "ABEKMHOPCTXSIJaeopcyxsiABEZHIKMNOPTYXo",
)


def squeezed(text: str) -> str:
    """The text without invisible characters and white space, full-width digits as
    ASCII and Cyrillic or Greek look-alikes as Latin: digits spaced out, split by a line
    break or by zero-width characters come back together."""
    text = unicodedata.normalize("NFKC", text.translate(INVISIBLE)).translate(HOMOGLYPHS)
    return "".join(text.split())


def candidates(text: str, pattern: str) -> list[str]:
    """Every (overlapping) match of ``pattern`` in the squeezed text."""
    return [m.group(1) for m in re.finditer(f"(?=({pattern}))", squeezed(text))]


def nhs_check_digit(nine: str) -> int | None:
    """Modulus 11: weights 10 down to 2; 11 minus the remainder; 11 reads as 0, and a
    10 means the nine digits are never issued."""
    remainder = 11 - sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True)) % 11
    return {11: 0, 10: None}.get(remainder, remainder)


def valid_nhs(number: str) -> bool:
    return len(number) == 10 and number.isdigit() and nhs_check_digit(number[:9]) == int(number[9])


UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # no I, O or S


def upn_check_letter(twelve: str) -> str:
    """DfE: characters 2 to 13 weighted 2 to 13, the sum modulo 23 picks the letter."""
    return UPN_LETTERS[sum(int(d) * w for w, d in enumerate(twelve, start=2)) % 23]


def valid_upn(upn: str) -> bool:
    return bool(re.fullmatch(r"[A-Z]\d{12}", upn)) and upn_check_letter(upn[1:]) == upn[0]


def valid_ni(ni: str) -> bool:
    """HMRC's format: prefix letters (first not D F I Q U V; second not D F I O Q U V;
    not BG GB KN NK NT TN ZZ), six digits, suffix A to D."""
    return (
        bool(re.fullmatch(r"[A-Z]{2}\d{6}[A-D]", ni))
        and ni[0] not in "DFIQUV"
        and ni[1] not in "DFIOQUV"
        and ni[:2] not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}
    )


# Ofcom's numbers for drama, in national form: a prefix then 3 free digits.
DRAMA_PHONES = ("07700900", "01632960", "02079460", "01134960", "01214960", "01614960", "01174960")
RESERVED_MAIL = ("example.com", "example.org", "example.net", ".test", ".invalid")


class TestTheWorkingsHere:
    """The checks below are only as good as these functions: they must tell a valid
    number from a near miss."""

    def test_nhs_modulus_11(self):
        assert valid_nhs("9434765919")  # the NHS's published example
        assert not valid_nhs("9434765918")
        assert not valid_nhs("943476591")

    def test_upn_check_letter(self):
        assert valid_upn("B801200005001")  # python-stdnum's documented example
        assert not valid_upn("A801200005001")

    def test_squeezed_reads_through_disguises(self):
        # U+041E is Cyrillic O; U+FF19 full-width 9; U+00AD a soft hyphen.
        assert squeezed("9\u200b9\u00ad9 1\n2\u041e \uff19") == "99912O9"
        assert nhs_numbers("NHS 943 476\n59\u200b19") == ["9434765919"]

    def test_spoken_phone_numbers(self):
        # 07700 900 and 020 7946 are Ofcom's ranges for drama.
        assert national_phones("oh seven seven oh oh, nine double oh, one two three") == [
            "07700900123"
        ]
        assert national_phones("07700.900.123") == ["07700900123"]
        assert national_phones("room one, no phone") == []

    def test_ni_format(self):
        assert valid_ni("AB123456C")
        assert not valid_ni("QQ123456C")  # Q never starts a prefix
        assert not valid_ni("AO123456C")  # O never second
        assert not valid_ni("GB123456A")
        assert not valid_ni("AB123456E")


# -- the corpus ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_enough_snippets(corpus, kind):
    assert len(corpus.of(kind)) >= corpus.minimum.at_least(kind)


def test_no_kind_outside_the_list(corpus):
    assert {s["kind"] for s in corpus.snippets} == set(KINDS)


@pytest.mark.parametrize("kind", STRUCTURED)
def test_every_structured_kind_has_obfuscated_variants(corpus, kind):
    assert sum(1 for s in corpus.of(kind) if s["obfuscated"]) >= corpus.minimum.obfuscated


@pytest.mark.parametrize("kind", ["name", "address"])
def test_names_and_addresses_have_obfuscated_variants(corpus, kind):
    if not corpus.minimum.obfuscated_text:
        pytest.skip(f"the {corpus.name} corpus sets no minimum here")
    assert sum(1 for s in corpus.of(kind) if s["obfuscated"]) >= corpus.minimum.obfuscated_text


def test_enough_identifying_and_clean(corpus):
    assert len(corpus.snippets) >= corpus.minimum.identifying
    assert len(corpus.clean) >= corpus.minimum.clean


def test_no_text_is_there_twice(corpus):
    counts = Counter([s["text"] for s in corpus.snippets] + corpus.clean)
    assert [text for text, n in counts.items() if n > 1] == []


def texts(name: str) -> list[str]:
    snippets, clean = LOADED[name]
    return [s["text"] for s in snippets] + clean


@pytest.mark.parametrize(
    ("later", "earlier"),
    [(later, earlier) for i, later in enumerate(CORPORA) for earlier in list(CORPORA)[:i]],
)
def test_a_later_corpus_shares_no_text_with_an_earlier_one(later, earlier):
    """A snippet the guard was tuned on would not measure it on unseen text."""
    before = set(texts(earlier))
    assert [text for text in texts(later) if text in before] == []


@pytest.mark.parametrize(
    "name", [name for name, c in CORPORA.items() if (c.folder / ALLOWED_FILE).exists()]
)
def test_an_allowed_list_is_a_list_of_words(name):
    data = yaml.safe_load((CORPORA[name].folder / ALLOWED_FILE).read_text(encoding="utf-8"))
    assert set(data) == {"allowed"}
    words = data["allowed"]
    assert words and all(isinstance(w, str) and w.strip() for w in words)
    assert [w for w, n in Counter(words).items() if n > 1] == []
    named = re.compile(r"\b(?:" + "|".join(PSEUDONYMS) + r")\b")
    assert [w for w in words if named.search(w)] == []


def nhs_numbers(text: str) -> list[str]:
    """Every 10-digit run in the text (or said in words), hyphens dropped and look-alikes
    read as digits (each once)."""
    found = (
        c.replace("-", "").translate(LOOKALIKE)
        for written in (text, said(text))
        for c in candidates(written, r"\d(?:-?[\dOlI]){9}")
    )
    return list(dict.fromkeys(found))


def test_every_nhs_number_has_a_valid_check_digit(corpus):
    assert [
        s["text"]
        for s in corpus.of("nhs_number")
        if not any(map(valid_nhs, nhs_numbers(s["text"])))
    ] == []


def test_every_nhs_number_is_in_a_range_kept_for_fiction(corpus):
    bad = [
        (s["text"], number)
        for s in corpus.of("nhs_number")
        for number in nhs_numbers(s["text"])
        if valid_nhs(number) and not (number.startswith("999") or number == "9434765919")
    ]
    assert bad == []


def test_every_upn_has_a_valid_check_letter(corpus):
    bad = [
        s["text"]
        for s in corpus.of("upn")
        if not any(
            valid_upn(c[0].upper() + c[1:].translate(LOOKALIKE))
            for written in (s["text"], said(s["text"]))
            for c in candidates(written, r"[A-Za-z][\dOlI]{12}")
        )
    ]
    assert bad == []


def test_every_ni_number_is_in_hmrc_format(corpus):
    bad = [
        s["text"]
        for s in corpus.of("ni_number")
        if not any(
            valid_ni(c[:2].upper() + c[2:8].translate(LOOKALIKE) + c[8].upper())
            for written in (s["text"], said(s["text"]))
            for c in candidates(written, r"[A-Za-z]{2}[\dOlI]{6}[A-Da-d]")
        )
    ]
    assert bad == []


SPOKEN = {
    "oh": "0",
    "zero": "0",
    "nought": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}


def spoken(text: str) -> str:
    """Digits said in words ("oh seven seven double oh") written as digits."""
    words = "|".join(SPOKEN)
    text = re.sub(
        rf"\b(double|triple)\s+({words})\b",
        lambda m: " ".join([m.group(2)] * (2 if m.group(1).lower() == "double" else 3)),
        text,
        flags=re.IGNORECASE,
    )
    return re.sub(rf"\b(?:{words})\b", lambda m: SPOKEN[m.group(0).lower()], text, flags=re.I)


NATO = (
    "Alfa Alpha Bravo Charlie Delta Echo Foxtrot Golf Hotel India Juliett Juliet Kilo Lima Mike"
    " November Oscar Papa Quebec Romeo Sierra Tango Uniform Victor Whiskey Whisky X-ray Xray"
    " Yankee Zulu"
)


def said(text: str) -> str:
    """Digits said in words and letters in the phonetic alphabet ("Tango eight three")
    written as characters, and digits parted by dots or commas put together."""
    words = "|".join(sorted(set(NATO.split()), key=len, reverse=True))
    text = re.sub(rf"\b(?:{words})\b", lambda m: m.group(0)[0].upper(), spoken(text))
    return re.sub(r"(?<=\d)[,.\s]+(?=\d)", "", text)  # "9.9.9", "999, 670": one number


def national_phones(text: str) -> list[str]:
    """The numbers in national form; when written plainly none is found, the numbers
    read again with dots, commas and slashes as separators and digits said in words."""

    def found(plain: str, separators: str) -> list[str]:
        plain = re.sub(separators, "", squeezed(plain).translate(LOOKALIKE))
        plain = plain.replace("+440", "0").replace("+44", "0")
        return [m.group(1) for m in re.finditer(r"(?=(0\d{10}))", plain)]

    return found(text, r"[-()]") or found(spoken(text), r"[-().,/]")


def test_every_phone_number_is_an_ofcom_drama_number(corpus):
    found = {s["text"]: national_phones(s["text"]) for s in corpus.of("phone")}
    assert [text for text, numbers in found.items() if not numbers] == []
    assert [
        (text, n)
        for text, numbers in found.items()
        for n in numbers
        if not n.startswith(DRAMA_PHONES)
    ] == []


def test_every_email_is_at_a_reserved_domain(corpus):
    written = {
        s["text"]: re.sub(r"\s*@\s*", "@", s["text"].translate(INVISIBLE).translate(HOMOGLYPHS))
        for s in corpus.of("email")
        if "@" in s["text"]
    }
    address = r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)"
    domains = {  # spaced out letter by letter, the address is there without its spaces
        text: re.findall(address, joined) or re.findall(address, squeezed(joined))
        for text, joined in written.items()
    }
    assert [t for t, found in domains.items() if not found] == []
    assert [
        (t, d)
        for t, found in domains.items()
        for d in found
        if not d.lower().endswith(RESERVED_MAIL)
    ] == []
    plain = [s for s in corpus.of("email") if not s["obfuscated"]]
    assert all("@" in s["text"] for s in plain)


# A count below 5 near a word for children, or "3 of 7": the guard warns about these
# on purpose, so a clean sentence must not carry one.
SMALL = r"(?:one|two|three|four|a single|both|neither|[0-4])"
CHILDREN = (
    r"(?:child(?:ren)?|young (?:people|person)|pupils?|bab(?:y|ies)|infants?|siblings?"
    r"|girls?|boys?|teenagers?|adolescents?|famil(?:y|ies)|cases?|of them)"
)
SMALL_COUNTS = [
    re.compile(rf"\b{SMALL}\b(?:\s+[\w'-]+){{0,3}}?\s+{CHILDREN}\b", re.IGNORECASE),
    re.compile(
        r"\b(?:[0-4]|one|two|three|four)\s+(?:of|out of)\s+(?:the\s+)?"
        r"(?:\d+|five|six|seven|eight|nine|ten|eleven|twelve)\b",
        re.IGNORECASE,
    ),
]


def test_the_small_count_patterns_catch_what_they_are_for():
    for text in ("Two children were seen.", "In 3 of 7 cases.", "one of the young people"):
        assert any(p.search(text) for p in SMALL_COUNTS), text
    for text in ("Seven children and five agencies.", "one of the agencies", "two working days"):
        assert not any(p.search(text) for p in SMALL_COUNTS), text


def test_no_clean_sentence_has_a_small_count_of_children(corpus):
    assert [t for t in corpus.clean if any(p.search(t) for p in SMALL_COUNTS)] == []


def test_no_clean_sentence_names_a_pseudonym(corpus):
    named = re.compile(r"\b(?:" + "|".join(PSEUDONYMS) + r")\b")
    assert [t for t in corpus.clean if named.search(t)] == []
