"""Every trend figure against values worked out by hand from the partnership in
tests/trends/conftest.py (read its docstring first), by partnership year: 2025-26 (1
April 2025 to 31 March 2026) and 2026-27 to today, 23 November 2026 (the default
period, as the clock reads today)."""

from __future__ import annotations

import math
from datetime import date

import pytest

from app.access.policy import SYSTEM
from app.trends import service
from app.trends.figures import Filters

Y1, Y2 = "2025-26", "2026-27"


def wilson(count: int, n: int) -> tuple[float, float]:
    """The Wilson score interval, worked out here apart from app.moderation.stats:
    centre (p + z^2/2n) / (1 + z^2/n), half-width z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2)."""
    z = 1.959963984540054  # the 97.5th percentile of the normal distribution
    p = count / n
    scale = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / scale
    half = z / scale * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@pytest.fixture
def trends(db, ids):
    return service.report(db, actor=SYSTEM, filters=Filters(), threshold=5)


def test_the_default_period_is_last_year_and_this_year_to_today(trends):
    assert (trends.date_from, trends.date_to) == (date(2025, 4, 1), date(2026, 11, 23))
    assert [b.label for b in trends.buckets] == [Y1, Y2]
    assert [b.partial for b in trends.buckets] == [False, True]
    assert trends.notes == (
        "2026-27 runs from 1 April 2026 to 23 November 2026 here: a part of it only.",
    )
    assert [f.key for f in trends.figures] == [
        "grades",
        "agreement",
        "repeat-themes",
        "findings",
        "actions",
        "downloads",
        "useful",
        "assurance",
    ]


def test_own_and_moderated_grades_by_level(trends):
    grades = trends.figure("grades")
    # 2025-26, the 2025 audit's 8 key-area pairs: own Police G x4, Health RI x4;
    # moderated G = Police's voice x2 + Health's voice for Child A = 3, RI = 8 - 3 = 5.
    # 2026-27, the 2026 audit's: own Police O x2 (voice) and G x2, Health G x4;
    # moderated O 2, G = Police's assessment x2 + Health's voice x2 = 4, RI 1, I 1.
    assert grades.rows == (
        (Y1, "Outstanding", 0, 0 / 8, 0, 0 / 8),
        (Y1, "Good", 4, 4 / 8, 3, 3 / 8),
        (Y1, "Requires improvement to be good", 4, 4 / 8, 5, 5 / 8),
        (Y1, "Inadequate", 0, 0 / 8, 0, 0 / 8),
        (Y1, "All grades", 8, None, 8, None),
        (Y2, "Outstanding", 2, 2 / 8, 2, 2 / 8),
        (Y2, "Good", 6, 6 / 8, 4, 4 / 8),
        (Y2, "Requires improvement to be good", 0, 0 / 8, 1, 1 / 8),
        (Y2, "Inadequate", 0, 0 / 8, 1, 1 / 8),
        (Y2, "All grades", 8, None, 8, None),
    )
    # The table words the same rows: 3/8 = 37.5% and 5/8 = 62.5% round half up.
    assert [c.text for c in grades.table.rows[1]] == [Y1, "Good", "4", "50%", "3", "38%"]
    assert [c.text for c in grades.table.rows[2]][-1] == "63%"
    # Good or better, moderated: 3 of 8 (38%), then O 2 + G 4 = 6 of 8 (75%).
    assert grades.headline == (
        "Moderated grades of Good or better rose from 38% in 2025-26 to 75% in 2026-27."
    )
    assert grades.chart.kind == "stacked_bars"
    assert [r["label"] for r in grades.chart.rows] == [
        f"{Y1}: own",
        f"{Y1}: moderated",
        f"{Y2}: own",
        f"{Y2}: moderated",
    ]
    assert grades.chart.rows[1]["values"] == [0, 3, 5, 0] and not grades.suppressed


def test_each_agency_s_agreement_and_moves_with_intervals(trends):
    agreement = trends.figure("agreement")
    rows = {(r[0], r[1]): r[2:] for r in agreement.rows}
    # 2025-26: kept Police's voice x2 and Health's 3 but Child A's voice: 5 of 8; lowered
    # Police's assessment x2; raised Health's voice for Child A: 1.
    n, kept, kept_ci, lowered, lowered_ci, raised, raised_ci = rows[("All agencies", Y1)]
    assert (n, kept, lowered, raised) == (8, 5 / 8, 2 / 8, 1 / 8)
    assert kept_ci == pytest.approx(wilson(5, 8)) and lowered_ci == pytest.approx(wilson(2, 8))
    assert raised_ci == pytest.approx(wilson(1, 8))
    # 5/8 = 0.625 with z = 1.96: centre 0.5845, half-width 0.2787: 30.6% to 86.3%.
    assert kept_ci == pytest.approx((0.3057, 0.8632), abs=1e-4)
    assert rows[("Police", Y1)][:2] == (4, 2 / 4) and rows[("Police", Y1)][3] == 2 / 4
    assert rows[("Health", Y1)][:2] == (4, 3 / 4) and rows[("Health", Y1)][5] == 1 / 4
    # 2026-27: Police kept 4 of 4; Health's assessment lowered for both children.
    assert rows[("All agencies", Y2)][:2] == (8, 6 / 8)
    assert rows[("Police", Y2)][:2] == (4, 1.0)
    n, kept, kept_ci, lowered = rows[("Health", Y2)][:4]
    assert (n, kept, lowered) == (4, 2 / 4, 2 / 4) and kept_ci == pytest.approx(wilson(2, 4))
    assert [r[0] for r in agreement.rows] == ["All agencies"] * 2 + ["Health"] * 2 + ["Police"] * 2
    assert [c.text for c in agreement.table.rows[0]] == [
        "All agencies",
        Y1,
        "8",
        "63%",
        "31% to 86%",
        "25%",
        "7% to 59%",
        "13%",
        "2% to 47%",
    ]
    assert agreement.headline == (
        "The share of agencies' own grades that moderators kept rose from 63% in 2025-26 "
        "to 75% in 2026-27."
    )
    assert agreement.chart.kind == "interval_dots" and len(agreement.chart.rows) == 6


def test_a_theme_s_latest_audit_against_the_one_before(trends):
    repeat = trends.figure("repeat-themes")
    rows = {r[1]: r[2:] for r in repeat.rows}
    assert {r[0] for r in repeat.rows} == {"Voice of the child"}
    assert rows["Audit"] == ("Voice audit 2025", "Voice audit 2026")
    assert rows["Moderation started"] == (date(2025, 6, 10), date(2026, 6, 15))
    assert rows["Moderated grades"] == (8, 8)
    assert [
        rows[level]
        for level in ("Outstanding", "Good", "Requires improvement to be good", "Inadequate")
    ] == [(0, 2), (3, 4), (5, 1), (0, 1)]
    assert rows["Good or better"] == (3 / 8, 6 / 8)
    assert rows["Kept as graded"] == (5 / 8, 6 / 8)
    before, latest = rows["Kept: 95% interval"]
    assert before == pytest.approx(wilson(5, 8)) and latest == pytest.approx(wilson(6, 8))
    assert repeat.headline == (
        "On \u2018Voice of the child\u2019, moderated grades of Good or better went from 38% "
        "in \u2018Voice audit 2025\u2019 to 75% in \u2018Voice audit 2026\u2019."
    )


def test_findings_by_theme(trends):
    found = trends.figure("findings")
    # 2025-26: "Information sharing" twice (one finding tagged twice counts under both),
    # "Voice of the child" once; two findings. 2026-27: one, on the voice of the child.
    assert [c.heading for c in found.columns] == ["Theme", Y1, Y2]
    assert found.rows == (
        ("Information sharing", 2, 0),
        ("Voice of the child", 1, 1),
        ("All findings", 2, 1),
    )
    assert found.headline == (
        "In 2026-27 the theme found most often was \u2018Voice of the child\u2019 (1 finding)."
    )


def test_learning_actions_on_time_late_overdue_and_with_impact(trends):
    found = trends.figure("actions")
    # 2025-26: Police's due 30 Sep, done 20 Sep (on time); Health's due 31 Oct, done
    # 15 Nov (late). 2026-27: Health's due 31 May done 20 May (on time, impact evidenced);
    # Police's due 31 Aug still in progress on 23 Nov (overdue). Police's due 31 Jan
    # 2027 is after the period: a row of its own, not yet due, the work in hand.
    assert found.rows == (
        (Y1, 2, 1, 1, 0, 0, 0, 1 / 2),
        (Y2, 2, 1, 0, 1, 0, 1, 1 / 2),
        ("Due after 23 November 2026", 1, 0, 0, 0, 1, 0, 0.0),
    )
    assert found.headline == (
        "Of 2 learning actions due in 2026-27, 1 was completed on time, 0 late and 1 is overdue."
        " 1 more is due after the period."
    )


def test_downloads_by_agency_and_month(trends):
    found = trends.figure("downloads")
    assert found.rows == (
        ("December 2025", "Health", 1),
        ("December 2025", "Police", 3),
        ("December 2025", "Not signed in", 1),
        ("December 2025", "All downloads", 5),
        ("January 2026", "Police", 2),
        ("January 2026", "All downloads", 2),
    )
    # 5 + 2 = 7; Police 3 + 2 = 5.
    assert found.headline == (
        "Briefings were downloaded 7 times in this period, most often by people in Police (5)."
    )


def test_was_it_useful_and_the_assurance_answers(trends):
    useful = trends.figure("useful")
    assert useful.rows == ((Y1, 2, 1, 1, 1 / 2), (Y2, 1, 1, 0, 1.0))
    assert useful.headline == (
        "In 2026-27, readers said a briefing was useful 1 time out of 1 (100%)."
    )
    assurance = trends.figure("assurance")
    # Sent 1 February 2026 to Police and Health; Police answered.
    assert assurance.rows == ((Y1, 1, 2, 1, 1, 1 / 2),)
    assert assurance.headline == (
        "Of the agencies sent an assurance questionnaire in 2025-26, 1 of 2 (50%) have answered it."
    )


def test_grades_are_never_averaged(trends):
    words = " ".join(
        " ".join([f.headline, *(c.heading for c in f.columns)]) for f in trends.figures
    ).lower()
    assert "mean" not in words and "average" not in words
