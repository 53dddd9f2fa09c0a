"""What in a piece of text points at a person: the kinds found, where, and whether the
finding is certain enough to refuse publication.

find() is the one entry: every check (a briefing before publication, its printed PDF,
a form's free text as it is saved) reads text through it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from app.identify import check as _rules

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


def find(text: str, *, allowed: Collection[str] = (), names: Collection[str] = ()) -> list[Found]:
    """Every direct identifier in ``text`` (already normalised by the caller or not), in
    order; ``allowed`` are the partnership's own words, never taken for a name or an
    address; ``names`` are people's names known from the records."""
    text = _rules.normalise(text)
    hits = [
        *_rules._nhs_numbers(text),
        *_rules._dates_of_birth(text),
        *_rules._postcodes(text, []),
        *_rules._names(text, _rules._name_patterns(list(names))),
    ]
    allowed_keys = {" ".join(a.lower().split()) for a in allowed}
    found = [
        Found(h.kind, s, e, text[s:e])
        for h in hits
        if h.blocking and h.kind in DIRECT
        for s, e in h.spans[:1]
        if " ".join(text[s:e].lower().split()) not in allowed_keys
    ]
    return sorted(found, key=lambda f: f.start)
