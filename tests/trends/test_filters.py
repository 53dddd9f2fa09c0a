"""The trend filters, each against values worked out by hand from the partnership in
tests/trends/conftest.py; the periods and their buckets; refused filters."""

from __future__ import annotations

from datetime import date

import pytest

from app.access.policy import SYSTEM
from app.errors import InvalidInput
from app.trends import periods, service
from app.trends.figures import Filters

Y1, Y2 = "2025-26", "2026-27"


def report(db, **filters):
    return service.report(db, actor=SYSTEM, filters=Filters(**filters), threshold=5)


def levels(found, key="grades") -> dict:
    """(period, grade) -> (own, moderated), leaving the shares out."""
    return {(r[0], r[1]): (r[2], r[4]) for r in found.figure(key).rows}


class TestAgency:
    def test_police_s_grades_findings_actions_and_reach(self, db, ids):
        found = report(db, agency_id=ids.police)
        # Police's pairs only: 2025 own G x4, moderated G x2 (voice) and RI x2; 2026 own
        # O x2 and G x2, all kept.
        grades = levels(found)
        assert grades[(Y1, "Good")] == (4, 2) and grades[(Y1, "All grades")] == (4, 4)
        assert grades[(Y1, "Requires improvement to be good")] == (0, 2)
        assert grades[(Y2, "Outstanding")] == (2, 2) and grades[(Y2, "Good")] == (2, 2)
        agreement = found.figure("agreement").rows
        assert [(r[0], r[1], r[2], r[3]) for r in agreement] == [
            ("All agencies", Y1, 4, 0.5),
            ("All agencies", Y2, 4, 1.0),
            ("Police", Y1, 4, 0.5),
            ("Police", Y2, 4, 1.0),
        ]
        # Findings about Police or about no agency: the 2025 two (one tagged twice).
        assert found.figure("findings").rows == (
            ("Information sharing", 2),
            ("Voice of the child", 1),
            ("All findings", 2),
        )
        # Police's actions: due 30 Sep 2025 (on time), due 31 Aug 2026 (overdue), and
        # due 31 Jan 2027, after the period.
        assert found.figure("actions").rows == (
            (Y1, 1, 1, 0, 0, 0, 0, 1.0),
            (Y2, 1, 0, 0, 1, 0, 0, 0.0),
            ("Due after 23 November 2026", 1, 0, 0, 0, 1, 0, 0.0),
        )
        assert found.figure("downloads").rows == (
            ("December 2025", "Police", 3),
            ("December 2025", "All downloads", 3),
            ("January 2026", "Police", 2),
            ("January 2026", "All downloads", 2),
        )
        assert found.figure("useful").rows == ((Y1, 1, 1, 0, 1.0),)
        assert found.figure("assurance").rows == ((Y1, 1, 1, 1, 0, 1.0),)


class TestThemeSubgroupAndTemplate:
    def test_the_theme_as_written(self, db, ids):
        assert report(db, theme="Voice of the child").figure("grades").rows == (
            report(db).figure("grades").rows
        )
        other = report(db, theme="Neglect")
        assert other.figure("grades").headline == "No grades were moderated in this period."
        for key in ("grades", "agreement", "repeat-themes", "findings", "actions", "downloads"):
            assert other.figure(key).rows == (), key

    def test_the_lead_subgroup(self, db, ids):
        found = report(db, subgroup_id=ids.quality)
        # The 2025 audit only: its grades, no theme audited again, its two actions; its
        # briefing's downloads and questionnaire.
        assert {r[0] for r in found.figure("grades").rows} == {Y1}
        assert found.figure("repeat-themes").rows == ()
        assert [r[0] for r in found.figure("actions").rows] == [Y1]
        assert found.figure("downloads").rows[-1] == ("January 2026", "All downloads", 2)
        assert found.figure("assurance").rows == ((Y1, 1, 2, 1, 1, 0.5),)
        assert report(db, subgroup_id=ids.get_safe).figure("downloads").rows == ()

    def test_the_template_family(self, db, ids):
        assert report(db, template_id=ids.family).figure("grades").rows == (
            report(db).figure("grades").rows
        )
        assert report(db, template_id=ids.family + 1000).figure("agreement").rows == ()


class TestKeyArea:
    def test_one_key_area_by_title(self, db, ids):
        found = report(db, key_area="Assessment")
        grades = levels(found)
        # 2025: Police G -> RI x2, Health RI kept x2. 2026: Police G kept x2, Health
        # G -> RI (Child A) and G -> I (Child B).
        assert grades[(Y1, "Good")] == (2, 0)
        assert grades[(Y1, "Requires improvement to be good")] == (2, 4)
        assert grades[(Y2, "Good")] == (4, 2)
        assert grades[(Y2, "Requires improvement to be good")] == (0, 1)
        assert grades[(Y2, "Inadequate")] == (0, 1)
        assert [r[:4] for r in found.figure("agreement").rows[:2]] == [
            ("All agencies", Y1, 4, 0.5),
            ("All agencies", Y2, 4, 0.5),
        ]
        # The one finding about "Assessment", and the action answering it (overdue).
        assert found.figure("findings").rows == (("Voice of the child", 1), ("All findings", 1))
        assert found.figure("actions").rows == ((Y2, 1, 0, 0, 1, 0, 0, 0.0),)
        assert found.figure("downloads").notes == (
            "The key area filter does not apply to briefings.",
        )

    def test_the_overall_grade(self, db, ids):
        found = report(db, key_area="overall")
        grades = levels(found)
        # Overall grades, all kept: 2025 Police G x2, Health RI x2; 2026 G x4.
        assert grades[(Y1, "Good")] == (2, 2)
        assert grades[(Y1, "Requires improvement to be good")] == (2, 2)
        assert grades[(Y2, "Good")] == (4, 4)
        # Findings about no key area, and the action answering one (done late).
        assert found.figure("findings").rows == (("Information sharing", 1), ("All findings", 1))
        assert found.figure("actions").rows == ((Y1, 1, 0, 1, 0, 0, 0, 0.0),)


class TestByQuarter:
    def test_quarters_of_the_partnership_year(self, db, ids):
        found = report(db, by="quarter")
        assert [b.label for b in found.buckets] == [
            "Apr-Jun 2025",
            "Jul-Sep 2025",
            "Oct-Dec 2025",
            "Jan-Mar 2026",
            "Apr-Jun 2026",
            "Jul-Sep 2026",
            "Oct-Dec 2026",
        ]
        # Moderation started 10 June 2025 and 15 June 2026: only those quarters have grades.
        assert {r[0] for r in found.figure("grades").rows} == {"Apr-Jun 2025", "Apr-Jun 2026"}
        assert [c.heading for c in found.figure("findings").columns] == [
            "Theme",
            "Apr-Jun 2025",
            "Apr-Jun 2026",
        ]
        # Due 30 Sep 2025, 31 Oct 2025, 31 May 2026, 31 Aug 2026.
        assert [r[:2] for r in found.figure("actions").rows] == [
            ("Jul-Sep 2025", 1),
            ("Oct-Dec 2025", 1),
            ("Apr-Jun 2026", 1),
            ("Jul-Sep 2026", 1),
            ("Due after 23 November 2026", 1),
        ]
        assert found.figure("useful").rows == (
            ("Oct-Dec 2025", 2, 1, 1, 0.5),
            ("Apr-Jun 2026", 1, 1, 0, 1.0),
        )
        assert found.figure("assurance").rows[0][0] == "Jan-Mar 2026"


class TestPeriod:
    def test_a_period_past_today_counts_actions_not_yet_due(self, db, ids):
        found = report(db, date_from=date(2026, 4, 1), date_to=date(2027, 3, 31))
        assert [b.label for b in found.buckets] == [Y2] and not found.buckets[0].partial
        # Police's action due 31 January 2027 is agreed: not yet due on 23 November 2026.
        assert found.figure("actions").rows == ((Y2, 3, 1, 0, 1, 1, 1, 1 / 3),)
        # The 2025 audit is before the period: its theme's comparison still shows it.
        assert found.figure("repeat-themes").rows[0][2:] == ("Voice audit 2025", "Voice audit 2026")

    def test_a_period_with_no_audit_in_it_compares_nothing(self, db, ids):
        found = report(db, date_from=date(2025, 4, 1), date_to=date(2026, 3, 31))
        # The latest audit on the theme started after the period.
        assert found.figure("repeat-themes").rows == ()

    @pytest.mark.parametrize(
        ("filters", "field"),
        [
            ({"date_from": date(2026, 4, 1), "date_to": date(2026, 3, 31)}, "date_to"),
            ({"date_from": date(2010, 4, 1), "date_to": date(2026, 3, 31)}, "date_to"),
            ({"by": "week"}, "by"),
        ],
    )
    def test_refused(self, db, filters, field):
        with pytest.raises(InvalidInput) as refused:
            report(db, **filters)
        assert [f.field for f in refused.value.fields] == [field]


class TestBuckets:
    def test_years_run_april_to_march(self):
        assert periods.year_label(2025) == "2025-26" and periods.year_label(2099) == "2099-00"
        assert periods.default_period(date(2026, 3, 31)) == (date(2024, 4, 1), date(2026, 3, 31))
        assert periods.default_period(date(2026, 4, 1)) == (date(2025, 4, 1), date(2026, 4, 1))

    def test_the_first_and_last_are_cut_to_the_period(self):
        found = periods.buckets(date(2025, 5, 15), date(2026, 2, 1), "quarter")
        assert [(b.label, b.start, b.end, b.partial) for b in found] == [
            ("Apr-Jun 2025", date(2025, 5, 15), date(2025, 6, 30), True),
            ("Jul-Sep 2025", date(2025, 7, 1), date(2025, 9, 30), False),
            ("Oct-Dec 2025", date(2025, 10, 1), date(2025, 12, 31), False),
            ("Jan-Mar 2026", date(2026, 1, 1), date(2026, 2, 1), True),
        ]
        assert periods.bucket_of(date(2025, 12, 31), found).label == "Oct-Dec 2025"
        assert periods.bucket_of(date(2025, 5, 14), found) is None


class TestAnalyticsFilters:
    """The moderation analytics' filters gain the audit's theme and lead subgroup, which
    the tally does not record: with either, every decision is grouped live."""

    def test_the_same_counts_as_grouped_live(self, db, ids):
        from app.moderation import analytics

        for picked in (
            analytics.Filters(theme="Voice of the child"),
            analytics.Filters(subgroup_id=ids.quality),
            analytics.Filters(subgroup_id=ids.get_safe, key_area="Assessment"),
        ):
            tallied = analytics.counted(db, actor=SYSTEM, filters=picked)
            live = analytics.counted(db, actor=SYSTEM, filters=picked, tallied=False)
            assert sorted(tallied, key=repr) == sorted(live, key=repr)
        whole = analytics.counted(db, actor=SYSTEM, filters=analytics.Filters())
        assert sum(c.count for c in whole if c.key_area) == 16  # both audits' key areas
        quality = analytics.counted(
            db, actor=SYSTEM, filters=analytics.Filters(subgroup_id=ids.quality)
        )
        assert sum(c.count for c in quality if c.key_area) == 8  # the 2025 audit's
        assert analytics.counted(db, actor=SYSTEM, filters=analytics.Filters(theme="x")) == []
