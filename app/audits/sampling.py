"""A fair, reproducible sample: which of the eligible children an audit looks at.

The service never holds case numbers, so the partnership keeps its list of eligible
children outside it, numbered 1 to N in an order it records (its own export, say).
The service draws K of the positions 1..N with a seed, and records the seed and the
result in the audit log, so anyone can draw again and check.

The rule is simple enough to check by hand, with any SHA-256 tool: each position p is
given the key SHA-256("<seed>:<p>") (the seed and the number as text, UTF-8), and the
K positions with the smallest keys (read as hexadecimal) are drawn; they are listed,
and become the cohort's children, in ascending order. It does not depend on Python's
random module, whose algorithms may change between versions.

Stratified, by age band: the partnership numbers each band's eligible children in a
list of its own, and draws from each band in turn with the same seed; a band's
positions are keyed SHA-256("<seed>:<band>:<p>") ("5-9", "under 1", as the service
writes them), so each band's draw is independent of the others and as easy to check.
"""

from __future__ import annotations

import hashlib
import heapq
import secrets
import string
from dataclasses import dataclass

from app.errors import FieldError, InvalidInput

MAX_ELIGIBLE = 100_000
MAX_DRAW = 200
SEED_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_.")


@dataclass(frozen=True)
class Drawn:
    seed: str
    eligible: int
    positions: list[int]  # ascending
    stratum: str | None = None  # the age band drawn from, if the draw is stratified

    def sentence(self) -> str:
        """ "7 of 143: positions 12, 37, 58, ..." as the audit log and pages put it."""
        band = f" aged {self.stratum}" if self.stratum else ""
        return (
            f"{len(self.positions)} of {self.eligible}{band}, seed {self.seed}: positions "
            + ", ".join(str(p) for p in self.positions)
        )


def new_seed() -> str:
    """A seed for a new draw: 16 random hexadecimal digits."""
    return secrets.token_hex(8)


def check(*, eligible: int, count: int, seed: str) -> None:
    """422 naming each number or seed that cannot be drawn with."""
    problems = []
    if not 1 <= eligible <= MAX_ELIGIBLE:
        problems.append(
            FieldError("eligible", f"Enter how many children are eligible, 1 to {MAX_ELIGIBLE:,}")
        )
    if not 1 <= count <= MAX_DRAW:
        problems.append(FieldError("count", f"Enter how many to draw, 1 to {MAX_DRAW}"))
    elif 1 <= eligible < count:
        problems.append(
            FieldError("count", f"You cannot draw {count} from {eligible} eligible children")
        )
    if not seed or len(seed) > 64 or set(seed) - SEED_CHARACTERS:
        problems.append(
            FieldError("seed", "A seed is 1 to 64 letters, digits, hyphens, dots or underscores")
        )
    if problems:
        raise InvalidInput("The sample cannot be drawn like this.", fields=problems)


def key(seed: str, position: int, stratum: str | None = None) -> str:
    text = f"{seed}:{position}" if stratum is None else f"{seed}:{stratum}:{position}"
    return hashlib.sha256(text.encode()).hexdigest()


def draw(*, eligible: int, count: int, seed: str, stratum: str | None = None) -> Drawn:
    """Draw ``count`` of the positions 1..``eligible`` with ``seed`` (the rule above),
    from the list of one ``stratum`` (an age band) if the draw is stratified."""
    check(eligible=eligible, count=count, seed=seed)
    chosen = heapq.nsmallest(count, range(1, eligible + 1), key=lambda p: key(seed, p, stratum))
    return Drawn(seed=seed, eligible=eligible, positions=sorted(chosen), stratum=stratum)


def labels(count: int, taken: set[str]) -> list[str]:
    """``count`` pseudonyms "Child A", "Child B", ... "Child Z", "Child AA", ... not in
    ``taken`` (compared without case), in order."""
    found: list[str] = []
    taken = {t.lower() for t in taken}
    n = 0
    while len(found) < count:
        n += 1
        code, k = "", n
        while k:
            k, rest = divmod(k - 1, 26)
            code = string.ascii_uppercase[rest] + code
        name = f"Child {code}"
        if name.lower() not in taken:
            found.append(name)
    return found
