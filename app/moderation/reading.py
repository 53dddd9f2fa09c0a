"""What moderation's figures mean, in plain words for a QAPP chair: the Landis and Koch
reading beside each agreement coefficient, one line on kappa against AC1, and the
headline sentences put before the figures.

Everything here reads the plain dicts that ``analytics.report`` builds (each figure
from ``stats.summary``); nothing queries the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal

from app.formatting import interval, number, percentage, plural

COEFFICIENTS = ("weighted_kappa", "kappa", "ac1", "ac2")

# Landis and Koch (1977): the upper bound of each band, as the figure is shown (2 places).
BANDS: tuple[tuple[Decimal, str], ...] = (
    (Decimal("0.20"), "slight"),
    (Decimal("0.40"), "fair"),
    (Decimal("0.60"), "moderate"),
    (Decimal("0.80"), "substantial"),
    (Decimal("1.00"), "almost perfect"),
)

EXPLANATION = (
    "Both figures say how far moderators and agencies agreed beyond what chance alone "
    "would give (1 is full agreement, 0 no better than chance). Kappa gives part credit "
    "when a grade moved by one level rather than several; AC1 counts only exact matches "
    "and stays steady when most grades are the same (say, mostly Good), where kappa can "
    "look low even though agreement is high. When they differ, read them together with "
    "the share of grades kept."
)


def band(estimate: float | None) -> str | None:
    """Landis and Koch's word for a coefficient, judged on the figure as it is shown
    (0.205 reads "0.21", so fair): poor below 0, then slight, fair, moderate,
    substantial and almost perfect. None when there is no figure."""
    if estimate is None:
        return None
    shown = Decimal(str(estimate)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    if shown < 0:
        return "poor"
    return next((word for upper, word in BANDS if shown <= upper), BANDS[-1][1])


def reading(coefficient: dict) -> str:
    """ "0.67 (95% CI 0.52 to 0.81): substantial agreement", or why there is no figure."""
    word = band(coefficient["estimate"])
    if word is None:
        return f"No figure: {coefficient.get('note') or 'there is nothing to compare.'}"
    shown = number(coefficient["estimate"])
    if coefficient.get("ci"):
        shown += f" (95% CI {interval(coefficient['ci'])})"
    return f"{shown}: {word} agreement"


def annotate(summary: dict) -> dict:
    """Add ``band`` and ``reading`` beside each coefficient of a ``stats.summary``."""
    for name in COEFFICIENTS:
        summary[name]["band"] = band(summary[name]["estimate"])
        summary[name]["reading"] = reading(summary[name])
    return summary


# --- headlines ---------------------------------------------------------------------------


def headlines(groups: list[dict], *, threshold: int) -> list[str]:
    """A few plain sentences, computed from the figures the viewer may see (suppressed
    rows never speak), put before the figures: agreement overall, what moved, the
    agency whose grades were lowered (and raised) most, the key area changed most."""
    found = []
    for group in groups:
        prefix = f"{group['scale']}: " if len(groups) > 1 else ""
        found += [prefix + sentence for sentence in _group(group, threshold)]
    return found


def _group(group: dict, threshold: int) -> Iterator[str]:
    overall = group["overall"]
    if overall["suppressed"]:
        yield (
            "The figures for all grades are not shown: another agency's grades here are so "
            f"few (fewer than {threshold}) that they could be worked out from them"
        )
    else:
        n, agreed = overall["n"], overall["agreement"]["count"]
        yield (
            f"Moderators agreed with {agreed} of {n} agencies' own grades "
            f"({percentage(agreed / n)})"
        )
        shifts = overall["shifts"]
        lowered, raised = shifts["lowered"]["count"], shifts["raised"]["count"]
        if lowered or raised:
            yield f"Moderators lowered {plural(lowered, 'grade')} and raised {raised or 'none'}"
    agencies = [r for r in group["by_agency"] if not r["suppressed"]]
    for direction in ("lowered", "raised"):
        for row in _most(agencies, direction):
            count = row["shifts"][direction]["count"]
            yield f"{row['label']} grades were {direction} in {count} of {row['n']} cases"
    areas = [r for r in group["by_key_area"] if not r["suppressed"] and not r.get("overall")]
    changed = max((r["shifts"]["changed"]["count"] for r in areas), default=0)
    if changed:
        top = [r for r in areas if r["shifts"]["changed"]["count"] == changed]
        names = " and ".join(f"'{r['label']}'" for r in top)
        how = f"{changed} of {top[0]['n']}" if len(top) == 1 else f"{changed} times each"
        yield f"Grades for {names} were changed most often ({how})"


def _most(rows: list[dict], direction: str) -> list[dict]:
    """The rows with the largest share moved in ``direction`` (ties all named)."""
    moved = [r for r in rows if r["shifts"][direction]["count"]]
    if not moved:
        return []
    top = max(r["shifts"][direction]["count"] / r["n"] for r in moved)
    return [r for r in moved if r["shifts"][direction]["count"] / r["n"] == top]
