"""Need to know in the trends: an agency-bound reader counts only the audits their agency
took part in, and sees a count from 1 to 4 (the threshold, 5, less one) only when it is
wholly their own agency's; other counts of its line are hidden with it ("not shown")
where the line's total would give it away. The partnership-wide roles see every count.
The partnership is tests/trends/conftest.py's; the reader, Police's agency lead."""

from __future__ import annotations

import pytest

from app.access.models import Role
from app.access.policy import Actor
from app.trends import service
from app.trends.figures import Filters
from tests.helpers.factories import make_agency
from tests.trends.conftest import lead_of

Y1, Y2 = "2025-26", "2026-27"
FEWER, NOT_SHOWN = "fewer than 5", "not shown"


@pytest.fixture
def seen(db, ids):
    return service.report(db, actor=lead_of(ids.police), filters=Filters(), threshold=5)


def test_each_agency_s_row_and_the_whole_it_would_give_away(seen):
    rows = {(r[0], r[1]): r[2:] for r in seen.figure("agreement").rows}
    # Police's own 4 grades are shown; Health's 4 are fewer than 5, and the whole (8)
    # less Police's would give them away: no other row may be hidden instead (Police's
    # is the reader's own), so the whole is not shown.
    assert rows[("Police", Y1)][:2] == (4, 0.5)
    assert rows[("Health", Y1)] == (FEWER, None, None, None, None, None, None)
    assert rows[("All agencies", Y1)][0] == NOT_SHOWN
    assert rows[("All agencies", Y2)][0] == NOT_SHOWN
    # The levels' total is that whole: each such year's grades are left out entirely.
    grades = seen.figure("grades")
    assert {r[2] for r in grades.rows} == {NOT_SHOWN} == {r[4] for r in grades.rows}
    assert grades.chart is None and grades.suppressed
    assert grades.headline == "No grades can be shown for this period."


def test_a_theme_s_audits_hide_small_levels_and_one_more(seen):
    rows = {r[1]: r[2:] for r in seen.figure("repeat-themes").rows}
    assert rows["Moderated grades"] == (8, 8)
    # 2025: G 3 (both agencies') is fewer than 5; alone it would be 8 - 0 - 0 - RI, so
    # RI (5) is hidden with it. 2026: O 2 is Police's own; G 4, RI 1 and I 1 include
    # Health's, each fewer than 5, and could be many things adding up to 6.
    assert rows["Outstanding"] == (0, 2)
    assert rows["Good"] == (FEWER, FEWER)
    assert rows["Requires improvement to be good"] == (NOT_SHOWN, FEWER)
    assert rows["Inadequate"] == (0, FEWER)
    assert rows["Good or better"] == (None, None)
    assert seen.figure("repeat-themes").headline == (
        "\u2018Voice of the child\u2019 was audited again; some of its counts are not shown."
    )


def test_findings_actions_and_reach(seen):
    # 2025-26 findings: "Information sharing" is 2 (one about no agency), the voice of
    # the child 1, Police's own; the total, 2, is not all Police's, so it is hidden too.
    # 2026-27: one finding, Health's.
    assert seen.figure("findings").rows == (
        ("Information sharing", FEWER, 0),
        ("Voice of the child", 1, FEWER),
        ("All findings", FEWER, FEWER),
    )
    # Actions: Police's own on time (1) and overdue (1) shown, Health's not; the one
    # due after the period is Police's alone, so its line is shown whole.
    assert seen.figure("actions").rows == (
        (Y1, FEWER, 1, FEWER, 0, 0, 0, None),
        (Y2, FEWER, FEWER, 0, 1, 0, FEWER, None),
        ("Due after 23 November 2026", 1, 0, 0, 0, 1, 0, 0.0),
    )
    # December 2025: Police 3 (own), Health 1 and one reader not signed in, each fewer
    # than 5; the total (5) would leave them 2 between them, each 1: it is not shown.
    assert seen.figure("downloads").rows[:4] == (
        ("December 2025", "Health", FEWER),
        ("December 2025", "Police", 3),
        ("December 2025", "Not signed in", FEWER),
        ("December 2025", "All downloads", NOT_SHOWN),
    )
    assert seen.figure("downloads").rows[4:] == (
        ("January 2026", "Police", 2),
        ("January 2026", "All downloads", 2),
    )
    assert seen.figure("useful").rows == (
        (Y1, FEWER, 1, FEWER, None),
        (Y2, FEWER, FEWER, 0, None),
    )
    assert seen.figure("assurance").rows == ((Y1, 1, FEWER, 1, FEWER, None),)
    assert all(f.suppressed for f in seen.figures if f.rows)


def test_a_reader_whose_agency_took_part_in_nothing_sees_nothing(db, ids):
    elsewhere = make_agency(db, name="Schools")
    found = service.report(db, actor=lead_of(elsewhere.id), filters=Filters(), threshold=5)
    assert all(f.rows == () for f in found.figures), [f.key for f in found.figures if f.rows]


@pytest.mark.parametrize("role", [Role.MODERATOR, Role.SCRUTINEER, Role.EXECUTIVE])
def test_the_partnership_wide_roles_see_every_count(db, ids, role):
    wide = Actor(user_id=None, label="wide", roles=frozenset({role}))
    found = service.report(db, actor=wide, filters=Filters(), threshold=5)
    assert not any(f.suppressed for f in found.figures)
    assert found.figure("downloads").rows[3] == ("December 2025", "All downloads", 5)


def test_a_threshold_of_one_hides_nothing(db, ids):
    found = service.report(db, actor=lead_of(ids.police), filters=Filters(), threshold=1)
    assert not any(f.suppressed for f in found.figures)


def test_a_document_read_outside_every_agency_hides_small_counts_whoever_draws_it(db, ids):
    from app.access.policy import SYSTEM

    found = service.report(db, actor=SYSTEM, filters=Filters(), threshold=5, outside=True)
    # As a reader of no agency: nothing is anyone's own. 2025-26's agencies' rows (4
    # each) are fewer than 5, and so the whole is not shown.
    rows = {(r[0], r[1]): r[2] for r in found.figure("agreement").rows}
    assert rows[("Police", Y1)] == FEWER and rows[("Health", Y1)] == FEWER
    assert found.figure("downloads").rows[1] == ("December 2025", "Police", FEWER)
