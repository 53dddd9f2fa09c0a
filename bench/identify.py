"""Recall and false alarms of the identification guard, on the project's labelled corpora.

Runs ``app.identify.check.check`` on every snippet of ``bench/identify_corpus/`` (one
YAML file per kind of identifying detail, written by the project, and ``clean.yaml``:
sentences in the style of published learning briefings and partnership reports) the
way a briefing's approval calls it: with the demo cohort's pseudonyms and the
partnership's own vocabulary (its agencies, subgroups, themes, name and places) as the
allowed words. A snippet is caught when the check refuses it; a clean sentence is a
false alarm when it raises anything at all, a refusal or a warning.

That first corpus is the development corpus: the guard was tuned on it. The same
table follows for each later corpus that is there, in the order they were written
(the same layout, each written by someone who had seen neither the corpora before it
nor the guard's code): ``bench/identify_holdout/``, held out at first and then used to
tune the guard once its misses were known, ``bench/identify_fresh/``, measured once
before it was used to tune it: that first measurement is the honest one (README.md
quotes it), ``bench/identify_unseen/``, the same, and ``bench/identify_blind/``,
written blind (its author saw only a README's format and the product brief), measured
once and then used to tune the guard. So every corpus here has now tuned it: each
README quotes the first, honest measurement; the next honest one needs a new corpus. A corpus's ``allowed.yaml`` (the words of its own invented
partnership, as an admin would enter them) is added to the allowed words for that
corpus only.

Prints, for each kind, the snippets, how many were refused and the recall (and the
obfuscated ones again on a line of their own), the false-alarm rate on the clean
sentences and the time per snippet, for each corpus; ``--misses`` also lists every
snippet let through and every clean sentence flagged, with what the check said.

Aims (from the issue): recall 100% on every structured kind (NHS, NI and unique pupil
numbers, crime references, case numbers, postcodes, dates of birth, e-mails, phones),
at least 97% on names and addresses, false alarms under 3%. Exact dates and pseudonyms
with detail are reported with no aim (the issue sets none). A miss is reported, never
a failure: the exit status is 0 unless ``--strict`` is given, then 1 when any aim is
missed on any corpus.

    .venv/bin/python bench/identify.py
    .venv/bin/python bench/identify.py --misses
    .venv/bin/python bench/identify.py --strict
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.actions.demo import FINDINGS  # noqa: E402
from app.demo import COHORT, EXPLOITATION_COHORT, PARTNERSHIP_AGENCIES, SUBGROUPS  # noqa: E402
from app.identify.check import Problem, check  # noqa: E402
from app.identify.service import key  # noqa: E402

CORPUS = ROOT / "bench" / "identify_corpus"
HOLDOUT = ROOT / "bench" / "identify_holdout"
FRESH = ROOT / "bench" / "identify_fresh"
UNSEEN = ROOT / "bench" / "identify_unseen"
BLIND = ROOT / "bench" / "identify_blind"
ALLOWED_FILE = "allowed.yaml"  # a corpus's own allowed words, not a kind

# Every corpus in the order it was written: its folder, the heading of its table and
# the label of its missed aims. A corpus whose folder is missing is left out.
CORPORA = (
    (CORPUS, "development corpus (used to tune the guard)", "development"),
    (
        HOLDOUT,
        "second corpus (held out at first; its misses were then used to tune the guard)",
        "second",
    ),
    (
        FRESH,
        "fresh corpus (measured once untuned; its misses were then used to tune the guard)",
        "fresh",
    ),
    (
        UNSEEN,
        "fourth corpus (measured once untuned; its misses were then used to tune the guard)",
        "fourth",
    ),
    (
        BLIND,
        "blind corpus (written blind, measured once untuned; its misses were then used to "
        "tune the guard)",
        "blind",
    ),
)

# Kinds in the order they are printed, with the recall each must reach (None: no aim).
STRUCTURED = (
    "nhs_number",
    "ni_number",
    "upn",
    "crime_reference",
    "case_number",
    "postcode",
    "date_of_birth",
    "email",
    "phone",
)
AIMS: dict[str, float | None] = {
    "name": 97.0,
    "address": 97.0,
    **dict.fromkeys(STRUCTURED, 100.0),
    "exact_date": None,
    "pseudonym_with_detail": None,
}
FALSE_ALARM_AIM = 3.0  # per cent, strictly under

# The demo cohort's pseudonyms: the 7 children of the JTAI-method audit and the first
# three young people of the GET SAFE deep dive.
PSEUDONYMS = [child[0] for child in COHORT] + [yp[0] for yp in EXPLOITATION_COHORT[:3]]


def seeded_themes() -> list[str]:
    """The themes the findings migration seeds (its THEMES): the service reads them from
    the theme table, which the bench does not build."""
    [path] = (ROOT / "migrations" / "versions").glob("*_findings_and_actions_*.py")
    spec = importlib.util.spec_from_file_location("findings_migration", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    return list(migration.THEMES)


# The partnership's name (AUDIT_PARTNERSHIP_NAME in production) and the words a
# business unit would put on its allowed list: its initials and the invented Westshire
# areas and services the corpus's clean sentences use.
PARTNERSHIP = ["Westshire Safeguarding Children Partnership", "WSCP"]
PLACES = [
    "Westshire",
    "North Westshire",
    "South Westshire",
    "East Westshire",
    "Westshire Family Front Door",
    "Westshire Youth Cabinet",
    "Westshire County Council",
    "NHS Westshire Integrated Care Board",
    "Westshire MASH",
    "Westshire Safeguarding Adults Board",
]


def allowed_words() -> frozenset[str]:
    """What ``app.identify.service.vocabulary`` would give for the demo partnership:
    agencies, subgroups, themes and the allowed list, in its normalised form."""
    themes = {theme for finding in FINDINGS for theme in finding[2]} | set(seeded_themes())
    words = (
        [name for name, _ in PARTNERSHIP_AGENCIES]
        + [name for name, _ in SUBGROUPS]
        + sorted(themes)
        + PARTNERSHIP
        + PLACES
    )
    return frozenset(key(w) for w in words)


@dataclass(frozen=True)
class Snippet:
    kind: str
    text: str
    obfuscated: bool


def load_corpus(folder: Path = CORPUS) -> tuple[list[Snippet], list[str]]:
    """The identifying snippets (every ``<kind>.yaml``) and the clean sentences (a
    ``clean`` list, or ``kind: clean`` with ``snippets``)."""
    snippets: list[Snippet] = []
    clean: list[str] = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name == ALLOWED_FILE:
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "clean" in data or data.get("kind") == "clean":
            items = data["clean"] if "clean" in data else data["snippets"]
            clean += [item if isinstance(item, str) else item["text"] for item in items]
            continue
        for item in data["snippets"]:
            if isinstance(item, str):
                snippets.append(Snippet(data["kind"], item, False))
            else:
                snippets.append(Snippet(data["kind"], item["text"], bool(item.get("obfuscated"))))
    return snippets, clean


def corpus_allowed(folder: Path) -> frozenset[str]:
    """The corpus's own allowed words (its ``allowed.yaml``), normalised; none when the
    file is absent."""
    path = folder / ALLOWED_FILE
    if not path.exists():
        return frozenset()
    return frozenset(key(w) for w in yaml.safe_load(path.read_text(encoding="utf-8"))["allowed"])


@dataclass
class Outcome:
    text: str
    refusals: list[Problem]
    warnings: list[Problem]


def run(texts: list[str], allowed: frozenset[str]) -> tuple[list[Outcome], float]:
    """Check each text on its own; the outcomes and the total seconds spent in check."""
    outcomes, spent = [], 0.0
    for text in texts:
        started = time.perf_counter()
        report = check([("snippet", text)], pseudonyms=PSEUDONYMS, names=(), allowed=allowed)
        spent += time.perf_counter() - started
        outcomes.append(Outcome(text, report.refusals, report.warnings))
    return outcomes, spent


# Zero-width space, non-joiner and joiner, word joiner, byte order mark, soft hyphen.
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"


def visible(text: str) -> str:
    """The text on one line with its invisible characters shown."""
    text = text.replace("\n", "\\n")
    for char in INVISIBLE:
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def said(problems: list[Problem]) -> str:
    return "; ".join(f"{p.kind}: {visible(p.excerpt)}" for p in problems)


def percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 100.0


def measure(folder: Path, allowed: frozenset[str], *, misses: bool) -> list[str]:
    """Print the table for one corpus (and its misses when asked); the aims it missed."""
    snippets, clean = load_corpus(folder)
    found, found_s = run([s.text for s in snippets], allowed)
    flagged, clean_s = run(clean, allowed)

    missed_aims: list[str] = []
    meets = lambda ok: "meets aim" if ok else "below aim"  # noqa: E731
    print(f"{'kind':<32}{'snippets':>9}{'refused':>9}{'recall':>9}  aim")
    kinds = [k for k in AIMS if any(s.kind == k for s in snippets)]
    kinds += sorted({s.kind for s in snippets} - set(kinds))  # a kind not in the issue
    for kind in kinds:
        rows = [(s, o) for s, o in zip(snippets, found, strict=True) if s.kind == kind]
        refused = sum(1 for _, o in rows if o.refusals)
        recall = percent(refused, len(rows))
        aim = AIMS.get(kind)
        verdict = "(no aim in the issue)"
        if aim is not None:
            verdict = f"{meets(recall >= aim)} (>= {aim:g}%)"
            if recall < aim:
                missed_aims.append(f"{kind} recall {recall:.1f}% < {aim:g}%")
        print(f"{kind:<32}{len(rows):>9}{refused:>9}{recall:>8.1f}%  {verdict}")
        hidden = [(s, o) for s, o in rows if s.obfuscated]
        if hidden:
            caught = sum(1 for _, o in hidden if o.refusals)
            print(
                f"{'  of which obfuscated':<32}{len(hidden):>9}{caught:>9}"
                f"{percent(caught, len(hidden)):>8.1f}%"
            )
    total = sum(1 for o in found if o.refusals)
    print(
        f"{'all identifying':<32}{len(snippets):>9}{total:>9}{percent(total, len(snippets)):>8.1f}%"
    )
    hidden_all = [o for s, o in zip(snippets, found, strict=True) if s.obfuscated]
    caught_all = sum(1 for o in hidden_all if o.refusals)
    print(
        f"{'obfuscated (all kinds)':<32}{len(hidden_all):>9}{caught_all:>9}"
        f"{percent(caught_all, len(hidden_all)):>8.1f}%"
    )

    alarms = [o for o in flagged if o.refusals or o.warnings]
    refused_clean = sum(1 for o in alarms if o.refusals)
    rate = percent(len(alarms), len(clean))
    if rate >= FALSE_ALARM_AIM:
        missed_aims.append(f"false alarms {rate:.1f}% >= {FALSE_ALARM_AIM:g}%")
    print()
    print(
        f"clean sentences: {len(clean)}, flagged {len(alarms)} "
        f"({refused_clean} refused, {len(alarms) - refused_clean} warned only): "
        f"false alarms {rate:.1f}%  {meets(rate < FALSE_ALARM_AIM)} (< {FALSE_ALARM_AIM:g}%)"
    )
    checked = len(snippets) + len(clean)
    print(f"time per snippet: {1000 * (found_s + clean_s) / checked:.2f} ms ({checked} checked)")

    if misses:
        print("\nmissed (not refused):")
        for s, o in zip(snippets, found, strict=True):
            if not o.refusals:
                mark = " (obfuscated)" if s.obfuscated else ""
                warned = f"  [warned only: {said(o.warnings)}]" if o.warnings else ""
                print(f"  {s.kind}{mark}: {visible(s.text)}{warned}")
        print("\nclean sentences flagged:")
        for o in alarms:
            print(f"  {visible(o.text)}")
            for problem in o.refusals + o.warnings:
                level = "refused" if problem.blocking else "warning"
                print(f"      {level} {problem.kind}: {visible(problem.excerpt)}")
    return missed_aims


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--misses", action="store_true", help="list every miss and every false alarm"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when an aim is missed on any corpus"
    )
    args = parser.parse_args()

    allowed = allowed_words()
    check([("warm-up", "Child A was seen.")], pseudonyms=PSEUDONYMS, allowed=allowed)
    missed_aims: list[str] = []
    present = [corpus for corpus in CORPORA if corpus[0].is_dir()]
    for number, (folder, heading, label) in enumerate(present):
        print(f"\n{heading}" if number else heading)
        missed_aims += [
            f"{label}: {aim}"
            for aim in measure(folder, allowed | corpus_allowed(folder), misses=args.misses)
        ]

    if args.strict and missed_aims:
        print("\naims missed: " + "; ".join(missed_aims))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
