"""The pure rules: the lifecycle table, and RAG, days overdue and escalation on fixed
dates around every boundary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from app.access.policy import Permission
from app.actions.lifecycle import (
    DUE_SOON_DAYS,
    LIFECYCLE,
    Escalation,
    Rag,
    allowed_next,
    assess,
    escalated_to,
    step,
)
from app.actions.models import ActionStatus as S

TODAY = date(2027, 3, 1)
N = 28  # settings.escalate_to_executive_after_days


@dataclass
class Action:
    status: S
    due_on: date


def on(days_from_today: int, status: S = S.IN_PROGRESS):
    return assess(Action(status, TODAY + timedelta(days=days_from_today)), TODAY, N)


class TestTheLifecycleTable:
    def test_every_status_has_a_row(self):
        assert set(LIFECYCLE) == set(S)

    def test_the_happy_path_and_refusal(self):
        assert allowed_next(S.PROPOSED) == [S.AGREED, S.NOT_ACCEPTED]
        assert allowed_next(S.AGREED) == [S.IN_PROGRESS]
        assert allowed_next(S.IN_PROGRESS) == [S.COMPLETED]
        assert allowed_next(S.COMPLETED) == [S.IMPACT_EVIDENCED]
        assert allowed_next(S.IMPACT_EVIDENCED) == [S.CLOSED]
        assert allowed_next(S.CLOSED) == [] and allowed_next(S.NOT_ACCEPTED) == []

    def test_what_each_step_requires(self):
        assert step(S.IN_PROGRESS, S.COMPLETED).requires == "evidence"
        assert step(S.COMPLETED, S.IMPACT_EVIDENCED).requires == "evidence"
        assert step(S.PROPOSED, S.NOT_ACCEPTED).requires == "reason"
        assert step(S.PROPOSED, S.AGREED).requires is None
        assert step(S.PROPOSED, S.CLOSED) is None

    def test_agency_leads_make_only_the_progress_steps(self):
        by_leads = {
            s.to
            for steps in LIFECYCLE.values()
            for s in steps
            if s.permission == Permission.ACTION_UPDATE
        }
        assert by_leads == {S.IN_PROGRESS, S.COMPLETED, S.IMPACT_EVIDENCED}


class TestRagOverdueAndEscalation:
    def test_due_today_is_due_soon_not_overdue(self):
        standing = on(0)
        assert (standing.rag, standing.overdue_days, standing.escalation) == (
            Rag.AMBER,
            0,
            Escalation.NONE,
        )
        assert not standing.overdue

    def test_one_day_overdue_is_red_and_goes_to_the_subgroup(self):
        standing = on(-1)
        assert (standing.rag, standing.overdue_days, standing.escalation) == (
            Rag.RED,
            1,
            Escalation.SUBGROUP,
        )

    def test_exactly_n_days_overdue_is_still_only_the_subgroup(self):
        assert on(-N).escalation == Escalation.SUBGROUP
        assert on(-N).overdue_days == N

    def test_n_plus_one_days_overdue_goes_to_the_executive(self):
        assert on(-(N + 1)).escalation == Escalation.EXECUTIVE
        assert on(-(N + 1)).overdue_days == N + 1

    def test_due_soon_boundary(self):
        assert on(DUE_SOON_DAYS).rag == Rag.AMBER
        assert on(DUE_SOON_DAYS + 1).rag == Rag.GREEN

    @pytest.mark.parametrize("status", [S.PROPOSED, S.AGREED, S.IN_PROGRESS])
    def test_every_open_status_can_be_overdue(self, status):
        assert on(-3, status).rag == Rag.RED

    @pytest.mark.parametrize("status", [S.COMPLETED, S.IMPACT_EVIDENCED, S.CLOSED])
    def test_done_is_blue_and_never_overdue(self, status):
        standing = on(-(N + 10), status)
        assert (standing.rag, standing.overdue_days, standing.escalation) == (
            Rag.BLUE,
            0,
            Escalation.NONE,
        )
        assert on(3, status).rag == Rag.BLUE

    def test_not_accepted_is_grey_and_never_overdue(self):
        standing = on(-(N + 10), S.NOT_ACCEPTED)
        assert (standing.rag, standing.overdue_days, standing.escalation) == (
            Rag.GREY,
            0,
            Escalation.NONE,
        )

    def test_the_threshold_comes_from_the_caller(self):
        action = Action(S.AGREED, TODAY - timedelta(days=8))
        assert assess(action, TODAY, 7).escalation == Escalation.EXECUTIVE
        assert assess(action, TODAY, 8).escalation == Escalation.SUBGROUP

    def test_who_it_is_escalated_to(self):
        assert escalated_to(Escalation.NONE, "QAPP") == []
        assert escalated_to(Escalation.SUBGROUP, "QAPP") == ["QAPP"]
        assert escalated_to(Escalation.EXECUTIVE, "QAPP") == ["QAPP", "Executive"]
        assert escalated_to(Escalation.EXECUTIVE, "Executive") == ["Executive"]
        assert escalated_to(Escalation.SUBGROUP, None) == ["Lead subgroup (none set)"]
