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

    def sentence(self) -> str:
        """ "7 of 143: positions 12, 37, 58, ..." as the audit log and pages put it."""
        return (
            f"{len(self.positions)} of {self.eligible}, seed {self.seed}: positions "
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


def key(seed: str, position: int) -> str:
    return hashlib.sha256(f"{seed}:{position}".encode()).hexdigest()


def draw(*, eligible: int, count: int, seed: str) -> Drawn:
    """Draw ``count`` of the positions 1..``eligible`` with ``seed`` (the rule above)."""
    check(eligible=eligible, count=count, seed=seed)
    chosen = heapq.nsmallest(count, range(1, eligible + 1), key=lambda p: key(seed, p))
    return Drawn(seed=seed, eligible=eligible, positions=sorted(chosen))


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
