"""How far moderation moved the agencies' own grades, with the uncertainty a small
audit carries.

Pure functions over a k x k table of counts: how many grades the agency gave at
level i (the row) and the moderator at level j (the column), on an ordinal scale of
``k`` levels, position 0 the best grade. Every figure depends on the pairs only
through that table, so the database hands over a few hundred grouped counts rather
than millions of pairs, and pooling audits is adding their tables. The same
statistics over ``pairs`` of ``(self_position, moderated_position)`` tabulate them
first. One audit gives perhaps 20-150 pairs, so every figure comes with its number of
pairs and a 95% interval: pooling audits narrows the interval, and the interval is
what stops one audit's figure being over-read.

Formulas and the published examples the tests check them against:

- agreement: Wilson score interval (better than Wald at small n and near 0 or 1);
- mean shift: Student's t interval, the t quantile computed here from the
  regularised incomplete beta function;
- Cohen's (weighted) kappa: large-sample standard error of Fleiss, Cohen & Everitt
  (1969), not the standard error under kappa = 0 (that one is for a test);
- Gwet's AC1 and AC2: Gwet (2008), two raters, finite-population correction 1.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass
from fractions import Fraction
from functools import lru_cache
from statistics import NormalDist

Pair = tuple[int, int]
# Rows the agency's own grade, columns the moderated grade; each cell a count of pairs.
Counts = Sequence[Sequence[int]]
Interval = tuple[float, float]
Weights = str | None | Sequence[Sequence[float]]

CONFIDENCE = 0.95
Z = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)  # 1.959964...


@dataclass(frozen=True)
class Proportion:
    count: int
    n: int
    estimate: float | None
    ci: Interval | None


@dataclass(frozen=True)
class Shifts:
    """Moves made by moderation. ``raised``: moderator gave a better grade than the
    agency; ``lowered``: a worse one (self-grade inflation caught). ``mean_shift`` is
    the mean of moderated minus self position: positive means self-grades were generous."""

    n: int
    changed: Proportion
    raised: Proportion
    lowered: Proportion
    mean_shift: float | None
    sd: float | None
    mean_shift_ci: Interval | None


@dataclass(frozen=True)
class Distribution:
    n: int
    counts: tuple[int, ...]


@dataclass(frozen=True)
class Coefficient:
    """A chance-corrected agreement coefficient. ``estimate`` is None when it is
    undefined, and ``note`` says why."""

    name: str
    weights: str
    n: int
    estimate: float | None
    se: float | None
    ci: Interval | None
    observed: float | None
    expected: float | None
    note: str | None = None


# -- building blocks ---------------------------------------------------------------


def wilson_interval(count: int, n: int, z: float = Z) -> Interval | None:
    if n <= 0:
        return None
    p = count / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return front * _betacf(a, b, x) / a
    return 1 - front * _betacf(b, a, 1 - x) / b


def t_cdf(t: float, df: float) -> float:
    if math.isinf(df):
        return NormalDist().cdf(t)
    tail = 0.5 * _betainc(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t > 0 else tail


@lru_cache(maxsize=4096)
def t_quantile(p: float, df: float) -> float:
    """Student's t quantile: the t with P(T <= t) = p on ``df`` degrees of freedom.
    Remembered: the bisection costs a couple of milliseconds, and a report asks for
    the same few (one per row's number of pairs) on every view."""
    if not 0 < p < 1 or df <= 0:
        raise ValueError("need 0 < p < 1 and df > 0")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1 - p, df)
    if math.isinf(df) or df > 1e7:
        return NormalDist().inv_cdf(p)
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    low, high = 0.0, max(1.0, NormalDist().inv_cdf(p))
    while t_cdf(high, df) < p:
        low, high = high, high * 2
    for _ in range(200):
        middle = (low + high) / 2
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
        if high - low <= 1e-13 * max(1.0, high):
            break
    return (low + high) / 2


def tabulate(pairs: Sequence[Pair], k: int) -> list[list[int]]:
    """The k x k table of counts for ``pairs``; a position outside the scale is refused."""
    if k < 1:
        raise ValueError("k must be at least 1")
    table = [[0] * k for _ in range(k)]
    for pair in pairs:
        own, moderated = pair
        if not (0 <= own < k and 0 <= moderated < k):
            raise ValueError(f"position outside 0..{k - 1}: {pair}")
        table[own][moderated] += 1
    return table


def _checked(counts: Counts) -> int:
    """The table's k, after checking it is square and its counts are whole and not negative."""
    k = len(counts)
    if k < 1:
        raise ValueError("k must be at least 1")
    for row in counts:
        if len(row) != k:
            raise ValueError(f"counts must be {k} x {k}")
        if any(not isinstance(c, int) or c < 0 for c in row):
            raise ValueError("counts must be whole numbers, not negative")
    return k


def _total(counts: Counts) -> int:
    return sum(map(sum, counts))


def _proportions(counts: Counts, n: int) -> list[list[float]]:
    """Proportions: rows the self grade, columns the moderated grade. Each is 1/n added
    up once per pair, as the figures were first computed pair by pair, not c/n: the
    last bit differs, and that bit decides a figure exactly halfway at the fourth
    place (0.49875) and whether a perfect agreement's standard error comes out as
    zero. Figures already published must not change because they are now computed
    from counts."""
    share = 1 / n
    return [[_added_up(share, c) for c in row] for row in counts]


def _added_up(share: float, times: int) -> float:
    """``share`` added to 0.0 ``times`` times, rounding after each addition, in a few
    dozen steps rather than ``times``. While the running total stays within one
    power of two, every addition after the first adds the same amount (the spacing of
    floats there is fixed, and a tie, once rounded to even, stays even), so all but
    the last few additions in that range are made as one multiplication, exactly."""
    total, left = 0.0, times
    while left > 0:
        total += share
        left -= 1
        if left < 4:
            continue
        top = math.ldexp(1.0, math.frexp(total)[1])
        if total + share >= top:
            continue
        total += share
        left -= 1
        step = (total + share) - total
        leaps = min(left - 1, int((top - total) / step) - 2)
        if leaps > 0:
            total += leaps * step
            left -= leaps
    return total


def weight_matrix(weights: Weights, k: int) -> tuple[str, list[list[float]]]:
    """Agreement weights, 1 on the diagonal: "quadratic" 1 - ((i-j)/(k-1))^2, "linear"
    1 - |i-j|/(k-1), "unweighted" (or None) the identity, or a k x k matrix."""
    if weights is None or weights == "unweighted":
        return "unweighted", [[float(i == j) for j in range(k)] for i in range(k)]
    if weights in ("quadratic", "linear"):
        power = 2 if weights == "quadratic" else 1
        span = max(k - 1, 1)
        return weights, [[1 - (abs(i - j) / span) ** power for j in range(k)] for i in range(k)]
    if isinstance(weights, str):
        raise ValueError(f"unknown weights: {weights}")
    matrix = [[float(w) for w in row] for row in weights]
    if len(matrix) != k or any(len(row) != k for row in matrix):
        raise ValueError(f"weights must be {k} x {k}")
    return "custom", matrix


# Bits kept beyond a float's before rounding a square root (as CPython's statistics does).
_SQRT_BITS = 2 * sys.float_info.mant_dig + 3


def _sqrt(value: Fraction) -> float:
    """The square root of an exact fraction, correctly rounded to a float: the value
    ``statistics.stdev`` gives for the same data, since it too works exactly and rounds
    once (an integer square root rounded to odd, then converted; Boldo and Melquiond)."""
    n, m = value.numerator, value.denominator
    q = (n.bit_length() - m.bit_length() - _SQRT_BITS) // 2
    if q >= 0:
        n, m, scale = n, m << 2 * q, 1
    else:
        n, m, scale = n << -2 * q, m, 1 << -q
    root = math.isqrt(n // m)
    root |= root * root * m != n
    return (root << max(q, 0)) / scale


def _interval(estimate: float, se: float) -> Interval:
    return (max(-1.0, estimate - Z * se), min(1.0, estimate + Z * se))


def _undefined(name: str, weights: str, n: int, note: str, observed=None, expected=None):
    return Coefficient(name, weights, n, None, None, None, observed, expected, note)


# -- the statistics, from a table of counts ------------------------------------------


def agreement_of(counts: Counts) -> Proportion:
    """Share of pairs where the moderator kept the agency's grade, Wilson 95% interval."""
    k = _checked(counts)
    n = _total(counts)
    agreed = sum(counts[i][i] for i in range(k))
    return Proportion(agreed, n, agreed / n if n else None, wilson_interval(agreed, n))


def shifts_of(counts: Counts) -> Shifts:
    k = _checked(counts)
    n = _total(counts)

    def share(count: int) -> Proportion:
        return Proportion(count, n, count / n if n else None, wilson_interval(count, n))

    def moved(keep) -> int:
        return sum(counts[i][j] for i in range(k) for j in range(k) if keep(j - i))

    # Exact sums of the moves (moderated minus own position) and of their squares, so
    # that the mean and the standard deviation are the ones statistics.fmean and
    # statistics.stdev give for the same moves listed one by one.
    total = sum(counts[i][j] * (j - i) for i in range(k) for j in range(k))
    squares = sum(counts[i][j] * (j - i) ** 2 for i in range(k) for j in range(k))
    mean = total / n if n else None
    sd = _sqrt(Fraction(n * squares - total * total, n * (n - 1))) if n >= 2 else None
    ci = None
    if sd is not None and mean is not None:
        half = t_quantile(0.5 + CONFIDENCE / 2, n - 1) * sd / math.sqrt(n)
        ci = (mean - half, mean + half)
    return Shifts(
        n=n,
        changed=share(moved(lambda move: move != 0)),
        raised=share(moved(lambda move: move < 0)),
        lowered=share(moved(lambda move: move > 0)),
        mean_shift=mean,
        sd=sd,
        mean_shift_ci=ci,
    )


def distributions_of(counts: Counts) -> tuple[Distribution, Distribution]:
    """The agencies' own grades by level (the rows) and the moderated ones (the columns)."""
    k = _checked(counts)
    n = _total(counts)
    own = tuple(sum(counts[i]) for i in range(k))
    moderated = tuple(sum(counts[i][j] for i in range(k)) for j in range(k))
    return Distribution(n, own), Distribution(n, moderated)


def weighted_kappa_of(counts: Counts, weights: Weights = "quadratic") -> Coefficient:
    """Cohen's kappa (weighted unless ``weights`` is "unweighted"/None) with the
    Fleiss, Cohen & Everitt (1969) large-sample standard error and a 95% interval."""
    k = _checked(counts)
    label, w = weight_matrix(weights, k)
    name = "Cohen's kappa" if label == "unweighted" else "Weighted kappa"
    n = _total(counts)
    if n == 0:
        return _undefined(name, label, 0, "No pairs to compare.")
    p = _proportions(counts, n)
    rows = [sum(p[i]) for i in range(k)]
    cols = [sum(p[i][j] for i in range(k)) for j in range(k)]
    po = sum(w[i][j] * p[i][j] for i in range(k) for j in range(k))
    pe = sum(w[i][j] * rows[i] * cols[j] for i in range(k) for j in range(k))
    if 1 - pe < 1e-12:
        return _undefined(
            name,
            label,
            n,
            "Undefined: every grade, self and moderated, is in one category, so "
            "agreement expected by chance is 100%. Read the raw agreement and AC1 instead.",
            po,
            pe,
        )
    kappa = (po - pe) / (1 - pe)
    # w-bar_i. and w-bar_.j of Fleiss, Cohen & Everitt: each row's (column's) weights
    # averaged over the other rater's margin.
    row_bar = [sum(cols[j] * w[i][j] for j in range(k)) for i in range(k)]
    col_bar = [sum(rows[i] * w[i][j] for i in range(k)) for j in range(k)]
    inner = sum(
        p[i][j] * (w[i][j] * (1 - pe) - (row_bar[i] + col_bar[j]) * (1 - po)) ** 2
        for i in range(k)
        for j in range(k)
    )
    variance = (inner - (po * pe - 2 * pe + po) ** 2) / (n * (1 - pe) ** 4)
    se = math.sqrt(max(variance, 0.0))
    return Coefficient(name, label, n, kappa, se, _interval(kappa, se), po, pe, _zero_se(se))


def _zero_se(se: float) -> str | None:
    if se > 1e-12:
        return None
    return (
        "Standard error is zero (agreement is perfect or all in one pattern): "
        "the large-sample interval says nothing about how small the sample is."
    )


def _gwet(counts: Counts, weights: Weights, name: str) -> Coefficient:
    """Gwet's AC1 (identity weights) or AC2 and its two-rater variance (Gwet 2008;
    the weighted form as in Gwet's Handbook and his irrCAC package), N infinite."""
    k = _checked(counts)
    label, w = weight_matrix(weights, k)
    n = _total(counts)
    if n == 0:
        return _undefined(name, label, 0, "No pairs to compare.")
    if k < 2:
        return _undefined(name, label, n, "Undefined: the scale has a single level.")
    p = _proportions(counts, n)
    pi = [(sum(p[i]) + sum(p[j][i] for j in range(k))) / 2 for i in range(k)]
    total_w = sum(map(sum, w))
    scale = total_w / (k * (k - 1))
    pa = sum(w[i][j] * p[i][j] for i in range(k) for j in range(k))
    pe = scale * sum(q * (1 - q) for q in pi)
    if 1 - pe < 1e-12:
        return _undefined(name, label, n, "Undefined: chance agreement is 100%.", pa, pe)
    gamma = (pa - pe) / (1 - pe)
    inner = sum(
        p[i][j] * (w[i][j] - 2 * (1 - gamma) * scale * (1 - (pi[i] + pi[j]) / 2)) ** 2
        for i in range(k)
        for j in range(k)
    )
    variance = (inner - (pa - 2 * (1 - gamma) * pe) ** 2) / (n * (1 - pe) ** 2)
    se = math.sqrt(max(variance, 0.0))
    return Coefficient(name, label, n, gamma, se, _interval(gamma, se), pa, pe, _zero_se(se))


def gwet_ac1_of(counts: Counts) -> Coefficient:
    """Gwet's AC1: chance-corrected like kappa, but stable when one grade dominates
    (the "kappa paradox"), which is common when most practice is graded Good."""
    return _gwet(counts, "unweighted", "Gwet's AC1")


def gwet_ac2_of(counts: Counts, weights: Weights = "quadratic") -> Coefficient:
    return _gwet(counts, weights, "Gwet's AC2")


# -- the same, from pairs -------------------------------------------------------------
# For a caller holding pairs (the published worked examples are checked this way).


def agreement(pairs: Sequence[Pair], k: int) -> Proportion:
    return agreement_of(tabulate(pairs, k))


def shifts(pairs: Sequence[Pair]) -> Shifts:
    k = 1 + max((max(pair) for pair in pairs), default=0)
    return shifts_of(tabulate(pairs, k))


def distribution(positions: Sequence[int], k: int) -> Distribution:
    counts = [0] * k
    for position in positions:
        if not 0 <= position < k:
            raise ValueError(f"position outside 0..{k - 1}: {position}")
        counts[position] += 1
    return Distribution(len(positions), tuple(counts))


def weighted_kappa(pairs: Sequence[Pair], k: int, weights: Weights = "quadratic") -> Coefficient:
    return weighted_kappa_of(tabulate(pairs, k), weights)


def gwet_ac1(pairs: Sequence[Pair], k: int) -> Coefficient:
    return gwet_ac1_of(tabulate(pairs, k))


def gwet_ac2(pairs: Sequence[Pair], k: int, weights: Weights = "quadratic") -> Coefficient:
    return gwet_ac2_of(tabulate(pairs, k), weights)


# -- for the API -------------------------------------------------------------------


def _jsonable(value, digits: int = 4):
    if is_dataclass(value):
        return {f.name: _jsonable(getattr(value, f.name), digits) for f in fields(value)}
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, tuple | list):
        return [_jsonable(item, digits) for item in value]
    return value


WEIGHTS = ("quadratic", "linear")  # the weights a reader may choose; the first is the default


def summary_of(counts: Counts, weights: str = WEIGHTS[0]) -> dict:
    """Every statistic for one table of counts, as plain JSON values (floats to 4
    places, intervals as [low, high], None where a figure cannot be given); ``weights``
    ("quadratic" or "linear") for the weighted kappa and AC2."""
    k = _checked(counts)
    if weights not in WEIGHTS:
        raise ValueError(f"unknown weights: {weights}")
    own, moderated = distributions_of(counts)
    return {
        "n": _total(counts),
        "k": k,
        "agreement": _jsonable(agreement_of(counts)),
        "shifts": _jsonable(shifts_of(counts)),
        "self_distribution": _jsonable(own),
        "moderated_distribution": _jsonable(moderated),
        "weighted_kappa": _jsonable(weighted_kappa_of(counts, weights)),
        "kappa": _jsonable(weighted_kappa_of(counts, "unweighted")),
        "ac1": _jsonable(gwet_ac1_of(counts)),
        "ac2": _jsonable(gwet_ac2_of(counts, weights)),
        "confidence": CONFIDENCE,
    }


def summary(pairs: Sequence[Pair], k: int, weights: str = WEIGHTS[0]) -> dict:
    """``summary_of`` the pairs' table."""
    return summary_of(tabulate(pairs, k), weights)
