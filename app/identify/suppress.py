"""Small counts shown as "fewer than N", and the other counts hidden with them so that
none can be worked out again: the one rule for the moderation analytics (the rows a
viewer outside an agency may not see) and for the documents' tables of children.

A count from 1 to N - 1 is small, and is shown as "fewer than N". In a line of counts
whose total is shown (a table's column above its total, an analytics breakdown beside
its whole set), a count hidden on its own is the total less the counts shown, so the
next smallest is hidden with it ("not shown"). More generally a reader knows that each
small count is 1 to N - 1, that each other hidden count is 0 or N and more (or it would
say "fewer than N"), and that the hidden counts add up to the total less the counts
shown: a hidden count that can then take only one value is given away (unless its
words alone say it: with N at 2, "fewer than 2" is 1). So counts are hidden, the
smallest non-zero one first, until no hidden count is alone in its line and every one
could take two values or more; when none is left that may be hidden, the total has to
be hidden too. (Alone, a hidden analytics row gives away more than its count: its
figures are the whole set's less the other rows'.)

The rule looks at one line at a time: what it protects are lists of counts with their
total, not grids with totals both ways.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

NOT_SHOWN = "not shown"


def fewer_than(threshold: int) -> str:
    return f"fewer than {threshold}"


def small(counts: Mapping[str, int], threshold: int) -> set[str]:
    """The counts from 1 to ``threshold`` - 1 (a zero gives no one away)."""
    return {key for key, n in counts.items() if 0 < n < threshold}


def _anything(_key: str) -> bool:
    return True


def complementary(
    counts: Mapping[str, int],
    hidden_small: Collection[str],
    *,
    threshold: int,
    may_hide: Callable[[str], bool] = _anything,
) -> tuple[set[str], bool]:
    """The counts to hide besides ``hidden_small`` (each 1 to ``threshold`` - 1) so that
    none of them can be worked out from the total, and whether the total must be hidden
    as well because nothing else may be (``may_hide``: the analytics never hides a
    viewer's own agency's row, which that viewer knows anyway)."""
    primary = set(hidden_small)
    others: set[str] = set()
    while primary and _given_away(counts, primary, others, threshold):
        candidates = [
            (n == 0, n, key)
            for key, n in counts.items()
            if key not in primary and key not in others and may_hide(key)
        ]
        if not candidates:
            return others, True
        others.add(min(candidates)[2])
    return others, False


@dataclass(frozen=True)
class Line:
    """A line of counts as it may be printed: each count, "fewer than N" or "not shown";
    ``withheld`` when no count can be shown safely because the total is known anyway."""

    counts: dict[str, int]
    threshold: int
    small: frozenset[str] = frozenset()
    others: frozenset[str] = frozenset()
    withheld: bool = False

    def shown(self, key: str) -> str | int:
        if key in self.small:
            return fewer_than(self.threshold)
        if key in self.others:
            return NOT_SHOWN
        return self.counts[key]

    @property
    def hidden(self) -> frozenset[str]:
        return self.small | self.others


def suppress_line(counts: Mapping[str, int], *, threshold: int) -> Line:
    """A line whose total is printed, or known from elsewhere (a table of the cohort's
    children by age band: the number of children audited is in the document's text):
    the small counts and the counts hidden with them, or the whole line withheld."""
    hidden_small = small(counts, threshold)
    others, hide_total = complementary(counts, hidden_small, threshold=threshold)
    return Line(
        counts=dict(counts),
        threshold=threshold,
        small=frozenset(hidden_small),
        others=frozenset(others),
        withheld=hide_total,
    )


# -- what a reader can work out ------------------------------------------------------


def _given_away(
    counts: Mapping[str, int], primary: set[str], others: set[str], threshold: int
) -> bool:
    """Whether a hidden count is alone in its line, or can take only one value (where
    its words allow more) given the total and the counts shown."""
    hidden = [key for key in counts if key in primary or key in others]
    if len(hidden) == 1:
        return True
    target = sum(counts[key] for key in hidden)
    domains = [(1, threshold - 1) if key in primary else None for key in hidden]
    for i in range(len(hidden)):
        rest = 1  # a bit set: the sums the other hidden counts can make (0 at first)
        for j, domain in enumerate(domains):
            if j != i:
                rest = _add(rest, domain, threshold, target)
        values = [v for v in _values(domains[i], threshold, target) if rest >> (target - v) & 1]
        says_more = domains[i] is None or threshold > 2  # "fewer than 2" can only be 1
        if len(values) < 2 and says_more:
            return True
    return False


def _values(domain: tuple[int, int] | None, threshold: int, target: int) -> list[int]:
    """A small count is 1 to threshold - 1; any other hidden count 0, or threshold to
    the line's hidden total."""
    if domain is not None:
        return list(range(domain[0], min(domain[1], target) + 1))
    return [0, *range(threshold, target + 1)]


def _add(sums: int, domain: tuple[int, int] | None, threshold: int, target: int) -> int:
    """The sums (bit n set: n can be made) once one more hidden count is added."""
    mask = (1 << (target + 1)) - 1
    if domain is not None:
        lo, hi = domain
        return (_smear(sums, hi - lo + 1) << lo) & mask
    if target < threshold:
        return sums
    return (sums | _smear(sums, target - threshold + 1) << threshold) & mask


def _smear(bits: int, width: int) -> int:
    """bits | bits << 1 | ... | bits << (width - 1), by doubling."""
    out, covered = bits, 1
    while covered < width:
        step = min(covered, width - covered)
        out |= out << step
        covered += step
    return out
