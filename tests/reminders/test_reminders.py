"""The daily digest, received by a real SMTP server started by the test (aiosmtpd):
the right people get the right items, once a day; a dry run sends and records
nothing; a failing server is reported and tried again on the next run."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.actions.models import ActionStatus, LearningAction
from app.config import Settings
from app.reminders import service as reminders
from app.reminders.models import ReminderSent
from app.returns.models import Return, ReturnStatus
from tests.helpers.factories import make_audit
from tests.helpers.smtp import running_inbox

TODAY = date(2026, 11, 23)


@pytest.fixture
def inbox():
    with running_inbox() as handler:
        yield handler


def settings_for(inbox) -> Settings:
    return Settings(
        database_url="sqlite://",
        smtp_host="127.0.0.1",
        smtp_port=inbox.port,
        smtp_starttls=False,
        mail_from="audits@westshire.example",
        public_url="https://audit.westshire.example",
    )


@pytest.fixture
def world(db):
    audit = make_audit(db, children=2, agencies_count=2)
    audit.returns_due_on = TODAY + timedelta(days=3)
    police, school = sorted(audit.agencies, key=lambda a: a.id)
    people = {
        "police": access.create_user(
            db,
            email="pc@example.org",
            display_name="PC Auditor",
            roles={Role.AUDITOR},
            agency_id=police.id,
        ),
        "police2": access.create_user(
            db,
            email="pc2@example.org",
            display_name="Second Auditor",
            roles={Role.AUDITOR},
            agency_id=police.id,
        ),
        "school": access.create_user(
            db,
            email="dsl@example.org",
            display_name="School Auditor",
            roles={Role.AUDITOR},
            agency_id=school.id,
        ),
        "lead": access.create_user(
            db,
            email="lead@example.org",
            display_name="Police Lead",
            roles={Role.AGENCY_LEAD},
            agency_id=police.id,
        ),
        "owner": access.create_user(
            db,
            email="owner@example.org",
            display_name="Named Owner",
            roles={Role.AGENCY_LEAD},
            agency_id=school.id,
        ),
    }
    # The school has submitted its returns: nothing to remind it of about returns.
    for r in db.scalars(select(Return).where(Return.agency_id == school.id)):
        r.status = ReturnStatus.SUBMITTED

    def action(title, days, status=ActionStatus.AGREED, owner=None, agency=police):
        row = LearningAction(
            audit_id=audit.id,
            title=title,
            owning_agency_id=agency.id,
            owner_name=owner.display_name if owner else "Police safeguarding lead",
            owner_user_id=owner.id if owner else None,
            due_on=TODAY + timedelta(days=days),
            status=status,
        )
        db.add(row)
        return row

    action("Refresh strategy discussion training", -40)  # overdue: the police leads
    action("Record the child's words verbatim", 10, ActionStatus.IN_PROGRESS)
    action("Audit recording again in spring", 30)  # not due yet
    action("Already done", -5, ActionStatus.COMPLETED)
    action("Designated lead cover", 5, owner=people["owner"], agency=school)
    db.flush()
    return audit, people


def test_each_person_gets_one_digest_with_their_items_once_a_day(db, world, inbox):
    audit, people = world
    outcome = reminders.send(db, settings=settings_for(inbox), today=TODAY)
    assert not outcome.failed
    got = {m["To"]: m for m in inbox.messages}
    assert sorted(got) == [
        "lead@example.org",
        "owner@example.org",
        "pc2@example.org",
        "pc@example.org",
    ]
    police = got["pc@example.org"].get_payload()
    assert got["pc@example.org"]["Subject"] == "Case audit: 2 returns due soon or overdue"
    assert "due in 3 days" in police and f"{audit.title}: Child A" in police
    assert "https://audit.westshire.example/returns/" in police
    lead = got["lead@example.org"].get_payload()
    assert "Refresh strategy discussion training: overdue by 40 days" in lead
    assert "Record the child's words verbatim: due in 10 days" in lead
    assert "Audit recording again in spring" not in lead and "Already done" not in lead
    owner = got["owner@example.org"].get_payload()
    assert "Designated lead cover: due in 5 days" in owner and "Refresh" not in owner
    assert got["owner@example.org"]["From"] == "audits@westshire.example"

    rows = db.scalars(select(ReminderSent).where(ReminderSent.sent_on == TODAY)).all()
    assert len(rows) == 4
    lead_row = next(r for r in rows if r.email == "lead@example.org")
    assert sorted(i["kind"] for i in lead_row.items) == ["action", "action"]

    again = reminders.send(db, settings=settings_for(inbox), today=TODAY)
    assert again.sent == [] and len(again.skipped) == 4 and len(inbox.messages) == 4
    tomorrow = reminders.send(db, settings=settings_for(inbox), today=TODAY + timedelta(days=1))
    assert len(tomorrow.sent) == 4


def test_a_dry_run_sends_and_records_nothing(db, world, inbox):
    outcome = reminders.send(db, settings=settings_for(inbox), today=TODAY, dry_run=True)
    assert len(outcome.sent) == 4 and inbox.messages == []
    assert db.scalars(select(ReminderSent)).all() == []


def test_a_failed_delivery_is_reported_and_tried_again_next_run(db, world, inbox):
    def refuse(message):
        if message["To"] == "lead@example.org":
            raise ConnectionRefusedError("connection refused")
        inbox.messages.append(message)

    first = reminders.send(db, settings=settings_for(inbox), today=TODAY, deliver=refuse)
    assert [d.email for d, _ in first.failed] == ["lead@example.org"] and len(first.sent) == 3
    second = reminders.send(db, settings=settings_for(inbox), today=TODAY)
    assert [d.email for d in second.sent] == ["lead@example.org"]


def test_a_disabled_person_is_not_reminded(db, world, inbox):
    _audit, people = world
    access.update_user(db, user=people["police2"], changes={"active": False})
    reminders.send(db, settings=settings_for(inbox), today=TODAY)
    assert "pc2@example.org" not in {m["To"] for m in inbox.messages}
