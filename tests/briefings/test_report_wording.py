"""Wording the briefing and the subgroup report must get right: a moderation meeting
still to come is never stated as past, counts agree with their nouns, and a report over
several audits is titled by all the subgroups it is for."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import time_machine

from app.briefings.content import report_to
from app.briefings.drafting import _moderated_when

TODAY = datetime(2026, 6, 15, 9, tzinfo=UTC)


def audit(meeting_on=None, finished_at=None):
    return SimpleNamespace(moderation_meeting_on=meeting_on, learning_started_at=finished_at)


class TestWhenTheGradesWereModerated:
    def test_a_meeting_still_to_come_is_not_stated_as_past(self):
        with time_machine.travel(TODAY, tick=False):
            said = _moderated_when(audit(meeting_on=date(2026, 7, 1)))
        assert said == ", and is due to moderate the grades on 1 July 2026"

    def test_finished_moderation_is_dated_by_when_it_finished(self):
        with time_machine.travel(TODAY, tick=False):
            said = _moderated_when(
                audit(
                    meeting_on=date(2026, 7, 1), finished_at=datetime(2026, 6, 10, 12, tzinfo=UTC)
                )
            )
        assert said == ", and finished moderating the grades on 10 June 2026"

    def test_a_past_meeting_with_moderation_still_open(self):
        with time_machine.travel(TODAY, tick=False):
            said = _moderated_when(audit(meeting_on=date(2026, 6, 1)))
        assert said == ", and held the moderation meeting on 1 June 2026"
        assert _moderated_when(audit()) == ""


class TestWhomAReportIsFor:
    def test_by_every_subgroup_its_audits_are_for(self):
        assert report_to(["GET SAFE"]) == "GET SAFE"
        assert report_to(["GET SAFE", "QAPP", "GET SAFE", None]) == "GET SAFE and QAPP"
        assert report_to(["A", "B", "C"]) == "A, B and C"
        assert report_to([None, None]) == "the partnership"
