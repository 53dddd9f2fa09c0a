"""Learning actions overdue, then escalated (app/notifications/escalation.py): the day an
action passes its due date its owner, its agency's lead and the chair of the subgroup
leading its audit are told, once; once it is more than the threshold overdue the
Executive's members (and the chair) are told, once; a new due date makes its lateness
news again; what the tracker does not call overdue tells no one. The dates are fixed:
``tell`` is given its day."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.access.models import Role
from app.access.policy import SYSTEM
from app.actions import service as actions
from app.actions.models import ActionStatus
from app.agencies import service as agencies
from app.config import Settings
from app.notifications import courier, escalation
from app.notifications.models import Notification, NotificationStatus
from tests.helpers.factories import make_audit, make_person
from tests.helpers.smtp import running_inbox

DUE = date(2027, 3, 31)
AFTER = 28  # days overdue before the Executive is told


def told(db) -> list[tuple[str, str]]:
    return sorted(
        (n.kind, n.email)
        for n in db.scalars(
            select(Notification).where(Notification.object_type == "learning_action")
        )
    )


@pytest.fixture
def world(db):
    audit = make_audit(db, children=1, agencies_count=2)
    police, school = sorted(audit.agencies, key=lambda a: a.id)

    def person(address, name, role, agency=None):
        return make_person(db, address, name, role, agency)

    people = {
        "owner": person("owner@example.org", "Olu Owner", Role.AUDITOR, police),
        "lead": person("lead@example.org", "Police Lead", Role.AGENCY_LEAD, police),
        "chair": person("chair@example.org", "Sam Chair", Role.SUBGROUP_CHAIR),
        "executive": person("exec@example.org", "Eve Executive", Role.EXECUTIVE),
        "school": person("dsl@example.org", "School Auditor", Role.AUDITOR, school),
    }
    subgroup = agencies.create_subgroup(db, name="Quality Assurance subgroup")
    agencies.update_subgroup(db, subgroup=subgroup, changes={"chair_user_id": people["chair"].id})
    audit.lead_subgroup = subgroup
    db.flush()

    def action(agency=police, owner=people["owner"], title="Refresh strategy discussion training"):
        made = actions.create_action(
            db,
            actor=SYSTEM,
            audit=audit,
            title=title,
            owning_agency_id=agency.id,
            owner_name=owner.display_name if owner else "Safeguarding team",
            owner_user_id=owner.id if owner else None,
            due_on=DUE,
            success_measure="Every new starter trained",
        )
        made.status = ActionStatus.AGREED
        db.flush()
        return made

    return audit, police, school, people, action


def tell(db, day: date) -> list[int]:
    return escalation.tell(db, today=day, executive_after_days=AFTER)


class TestOverdue:
    def test_not_yet_overdue_tells_no_one(self, db, world):
        *_, action = world
        action()
        assert tell(db, DUE) == [] and told(db) == []

    def test_the_day_after_its_due_date_the_owner_lead_and_chair_are_told_once(self, db, world):
        *_, action = world
        made = action()
        assert tell(db, DUE + timedelta(days=1)) == [made.id]
        assert told(db) == [
            ("action_overdue", "chair@example.org"),
            ("action_overdue", "lead@example.org"),
            ("action_overdue", "owner@example.org"),
        ]
        body = db.scalar(select(Notification.body).where(Notification.email == "chair@example.org"))
        assert "Refresh strategy discussion training" in body
        assert "1 day" in body and "escalated to the Quality Assurance subgroup" in body
        assert body.startswith("Dear Sam Chair,")
        # The next rounds, that day and the days after, tell no one again.
        assert tell(db, DUE + timedelta(days=1)) == []
        assert tell(db, DUE + timedelta(days=AFTER)) == []
        assert len(told(db)) == 3

    def test_past_the_threshold_the_executive_is_told_once(self, db, world):
        *_, action = world
        made = action()
        tell(db, DUE + timedelta(days=1))
        assert tell(db, DUE + timedelta(days=AFTER)) == []  # 28 days overdue: not yet
        assert tell(db, DUE + timedelta(days=AFTER + 1)) == [made.id]
        escalated = [e for kind, e in told(db) if kind == "action_escalated"]
        assert escalated == ["chair@example.org", "exec@example.org"]
        assert tell(db, DUE + timedelta(days=AFTER + 30)) == []
        assert len(told(db)) == 5

    def test_found_late_both_steps_are_told_at_once(self, db, world):
        *_, action = world
        action()
        tell(db, DUE + timedelta(days=60))
        assert {kind for kind, _ in told(db)} == {"action_overdue", "action_escalated"}
        assert ("action_escalated", "exec@example.org") in told(db)
        assert ("action_overdue", "exec@example.org") not in told(db)

    def test_a_new_due_date_makes_its_lateness_news_again(self, db, world):
        *_, action = world
        made = action()
        tell(db, DUE + timedelta(days=1))
        made = actions.update_action(
            db,
            actor=SYSTEM,
            action=actions.get_action(db, action_id=made.id, actor=SYSTEM),
            changes={"due_on": DUE + timedelta(days=30)},
        )
        assert made.escalation_told == "none"
        assert tell(db, DUE + timedelta(days=2)) == []  # not due yet, again
        assert tell(db, DUE + timedelta(days=31)) == [made.id]
        assert [kind for kind, e in told(db) if e == "owner@example.org"] == ["action_overdue"] * 2

    def test_no_owner_and_no_lead_still_reaches_the_chair(self, db, world):
        _audit, _police, school, _people, action = world
        action(agency=school, owner=None)
        tell(db, DUE + timedelta(days=1))
        assert told(db) == [("action_overdue", "chair@example.org")]

    @pytest.mark.parametrize("status", [ActionStatus.COMPLETED, ActionStatus.NOT_ACCEPTED])
    def test_what_the_tracker_does_not_call_overdue_tells_no_one(self, db, world, status):
        *_, action = world
        made = action()
        made.status = status
        db.flush()
        assert tell(db, DUE + timedelta(days=60)) == [] and told(db) == []

    def test_a_step_another_round_claimed_is_not_told_again(self, db, world):
        """Two rounds at once: each claims the step it saw; the second finds it gone."""
        *_, action = world
        made = action()
        seen = "none"
        assert escalation.claim(db, action_id=made.id, seen=seen, reached="subgroup")
        assert not escalation.claim(db, action_id=made.id, seen=seen, reached="subgroup")
        assert made.escalation_told == "subgroup"
        assert tell(db, DUE + timedelta(days=1)) == [] and told(db) == []


class TestCourier:
    def test_a_round_queues_then_sends_after_commit_through_smtp(self, db, world):
        *_, action = world
        action()
        with running_inbox() as inbox:
            settings = Settings(
                database_url="sqlite://",
                smtp_host="127.0.0.1",
                smtp_port=inbox.port,
                smtp_starttls=False,
                escalate_to_executive_after_days=AFTER,
            )
            # Two days after the due date, for the whole round: what it queues is made,
            # and sent, at that time.
            with time_machine.travel(datetime(2027, 4, 2, 12, tzinfo=UTC), tick=False):
                done = courier.run_round(lambda: nullcontext(db), settings=settings)
            overdue = set(
                db.scalars(select(Notification.id).where(Notification.kind == "action_overdue"))
            )
            assert len(done.told) == 1 and len(overdue) == 3 and overdue <= set(done.sent.sent)
            told = [m for m in inbox.messages if m["Subject"].startswith("Learning action overdue")]
            assert sorted(m["To"] for m in told) == [
                "chair@example.org",
                "lead@example.org",
                "owner@example.org",
            ]
            sent = len(inbox.messages)
            with time_machine.travel(datetime(2027, 4, 2, 13, tzinfo=UTC), tick=False):
                again = courier.run_round(lambda: nullcontext(db), settings=settings)
            assert again.told == [] and again.sent.sent == [] and len(inbox.messages) == sent
        assert set(db.scalars(select(Notification.status))) == {NotificationStatus.SENT}


class TestChairs:
    def test_only_someone_with_the_chair_role_may_chair(self, db, world, client):
        *_, people, _action = world
        subgroup = agencies.create_subgroup(db, name="Learning and Development subgroup")
        db.commit()
        path = f"/api/v1/subgroups/{subgroup.id}"
        refused = client.patch(path, json={"chair_user_id": people["lead"].id})
        assert refused.status_code == 422
        assert [e["field"] for e in refused.json()["errors"]] == ["chair_user_id"]
        chosen = client.patch(path, json={"chair_user_id": people["chair"].id})
        assert chosen.status_code == 200 and chosen.json()["chair_user_id"] == people["chair"].id
        cleared = client.patch(path, json={"chair_user_id": None})
        assert cleared.status_code == 200 and cleared.json()["chair_user_id"] is None
