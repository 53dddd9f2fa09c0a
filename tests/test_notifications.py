"""Notifications (app/notifications): each event queues one e-mail per person it
concerns, in the transaction of the change (so a change rolled back tells no one);
the courier sends each once after commit, through SMTP (a real server started by the
test, aiosmtpd) or GOV.UK Notify (a test double of its client); one that fails is tried
again at the next run and never sent twice; each person sees what they were told."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import date, timedelta

import pytest
from notifications_python_client.errors import HTTPError
from sqlalchemy import func, select

from app.access import service as access
from app.access.models import Role
from app.audits import lifecycle
from app.audits.models import AuditStatus
from app.briefings import render_queue, workflow
from app.briefings.models import (
    Briefing,
    BriefingKind,
    BriefingVersion,
    Marking,
    RenderStatus,
    VersionStatus,
)
from app.briefings.service import get_version
from app.clock import utcnow
from app.config import Settings
from app.moderation import lifecycle as moderation
from app.notifications import service
from app.notifications.models import Notification, NotificationStatus
from app.returns import service as returns
from app.returns.models import Return, ReturnStatus
from tests.helpers.access import actor_of
from tests.helpers.factories import make_audit, make_person
from tests.helpers.smtp import running_inbox


@pytest.fixture
def inbox():
    with running_inbox() as handler:
        yield handler


def smtp_settings(inbox) -> Settings:
    return Settings(
        database_url="sqlite://",
        smtp_host="127.0.0.1",
        smtp_port=inbox.port,
        smtp_starttls=False,
        mail_from="audits@westshire.example",
    )


@pytest.fixture
def world(db):
    audit = make_audit(db, children=1, agencies_count=2, open_=False)
    police, school = sorted(audit.agencies, key=lambda a: a.id)

    def person(address, name, role, agency=None):
        return make_person(db, address, name, role, agency)

    people = {
        "police": person("pc@example.org", "PC Auditor", Role.AUDITOR, police),
        "police_lead": person("lead@example.org", "Police Lead", Role.AGENCY_LEAD, police),
        "school": person("dsl@example.org", "School Auditor", Role.AUDITOR, school),
        "moderator": person("chair@example.org", "QAPP Chair", Role.MODERATOR),
        "admin": person("bu@example.org", "Business Unit", Role.ADMIN),
    }
    db.flush()
    return audit, police, school, people


def told(db, kind: str) -> dict[str, str]:
    return {
        n.email: n.subject
        for n in db.scalars(select(Notification).where(Notification.kind == kind))
    }


class TestWhoIsTold:
    def test_each_event_tells_the_people_it_concerns(self, db, world):
        audit, police, school, people = world
        lifecycle.open_audit(db, audit=audit, confirm=True)
        assert told(db, "audit_opened") == {
            "pc@example.org": f"Audit opened: {audit.title}",
            "lead@example.org": f"Audit opened: {audit.title}",
            "dsl@example.org": f"Audit opened: {audit.title}",
        }

        police_return = db.scalar(select(Return).where(Return.agency_id == police.id))
        for r in db.scalars(select(Return).where(Return.audit_id == audit.id)):
            r.status = ReturnStatus.SUBMITTED
        db.flush()
        returns.reopen(
            db,
            return_=police_return,
            read_version=police_return.version,
            note="Please add the date of the strategy discussion.",
        )
        sent_back = db.scalars(
            select(Notification).where(Notification.kind == "return_sent_back")
        ).all()
        assert [n.email for n in sent_back] == ["pc@example.org"]
        assert "Please add the date of the strategy discussion." in sent_back[0].body
        assert sent_back[0].body.startswith("Dear PC Auditor,")

        moderation.open_moderation(db, audit=audit)
        assert set(told(db, "moderation_opened")) == {"lead@example.org"}

    def test_a_briefing_submitted_tells_the_approvers_but_not_its_author(self, db, world):
        audit, _police, _school, people = world
        audit.status = AuditStatus.LEARNING  # briefings are drafted from moderated audits
        briefing = Briefing(
            audit_id=audit.id, kind=BriefingKind.BRIEFING, title="Learning", public=False
        )
        db.add(briefing)
        db.flush()
        author = access.create_user(
            db,
            email="author@example.org",
            display_name="Second Moderator",
            roles={Role.MODERATOR},
        )
        version = BriefingVersion(
            briefing_id=briefing.id,
            number=1,
            marking=Marking.OFFICIAL,
            sections={"background": "Why the partnership looked at neglect."},
            author_ids=[author.id],
        )
        db.add(version)
        db.flush()
        workflow.submit(
            db,
            version=get_version(db, version_id=version.id),
            actor=actor_of(author),
            settings=Settings(database_url="sqlite://"),
            confirm_small_counts=True,
        )
        assert set(told(db, "briefing_awaiting_approval")) == {"chair@example.org"}

    def test_a_questionnaire_sent_tells_each_agencys_lead(self, db, world):
        audit, _police, _school, people = world
        lifecycle.open_audit(db, audit=audit, confirm=True)
        briefing = Briefing(
            audit_id=audit.id, kind=BriefingKind.BRIEFING, title="Learning", public=False
        )
        db.add(briefing)
        db.flush()
        version = BriefingVersion(
            briefing_id=briefing.id,
            number=1,
            status=VersionStatus.APPROVED,
            marking=Marking.OFFICIAL,
            sections={"background": "Why."},
            render_status=RenderStatus.RENDERING,
            assurance_due_on=date.today() + timedelta(days=30),
        )
        db.add(version)
        db.flush()
        render_queue._finish_render(
            db, version_id=version.id, pdf=b"%PDF-1.7 synthetic", today=date.today()
        )
        assert set(told(db, "questionnaire_sent")) == {"lead@example.org"}

    def test_a_change_rolled_back_tells_no_one(self, db, world):
        audit, *_ = world
        with pytest.raises(RuntimeError), db.begin_nested():
            lifecycle.open_audit(db, audit=audit, confirm=True)
            assert told(db, "audit_opened")
            raise RuntimeError("the request failed after opening")
        assert db.scalar(select(func.count()).select_from(Notification)) == 0


class TestSending:
    def test_each_is_sent_once_after_commit_through_smtp(self, db, world, inbox):
        audit, *_ = world
        lifecycle.open_audit(db, audit=audit, confirm=True)
        assert inbox.messages == []  # nothing is sent inside the change
        factory = lambda: nullcontext(db)  # noqa: E731 - the test's own transaction
        done = service.send_due(factory, settings=smtp_settings(inbox))
        assert len(done.sent) == 3 and not done.failed
        assert sorted(m["To"] for m in inbox.messages) == [
            "dsl@example.org",
            "lead@example.org",
            "pc@example.org",
        ]
        assert inbox.messages[0]["Subject"] == f"Audit opened: {audit.title}"
        assert service.send_due(factory, settings=smtp_settings(inbox)).sent == []
        assert len(inbox.messages) == 3
        statuses = set(db.scalars(select(Notification.status)))
        assert statuses == {NotificationStatus.SENT}

    def test_a_failure_is_retried_at_a_later_run_and_never_sent_twice(self, db, world):
        audit, *_ = world
        lifecycle.open_audit(db, audit=audit, confirm=True)

        class Notify:
            """A test double of notifications-python-client's NotificationsAPIClient."""

            def __init__(self):
                self.sent: list[dict] = []
                self.fail_next = 1

            def send_email_notification(self, **kwargs):
                if self.fail_next:
                    self.fail_next -= 1
                    raise HTTPError(message="Notify is unavailable")
                self.sent.append(kwargs)

        client = Notify()
        settings = Settings(
            database_url="sqlite://", notify_api_key="test-key", notify_template_id="t-1"
        )
        sender = ("notify", service.notify_sender(settings, client=client))
        factory = lambda: nullcontext(db)  # noqa: E731
        now = utcnow()
        first = service.send_due(factory, settings=settings, sender=sender, now=now)
        assert len(first.failed) == 1 and len(first.sent) == 2
        # Not due again yet: the next run a moment later leaves it.
        assert service.send_due(factory, settings=settings, sender=sender, now=now).sent == []
        later = now + timedelta(minutes=2)
        second = service.send_due(factory, settings=settings, sender=sender, now=later)
        assert second.sent == [first.failed[0][0]]
        assert len(client.sent) == 3
        assert len({c["email_address"] for c in client.sent}) == 3
        assert {c["template_id"] for c in client.sent} == {"t-1"}
        assert all(c["personalisation"]["subject"].startswith("Audit opened") for c in client.sent)
        # Sent is sent: nothing goes again, however many runs.
        assert service.send_due(factory, settings=settings, sender=sender, now=later).sent == []
        assert len(client.sent) == 3

    def test_no_channel_sends_nothing_and_keeps_them(self, db, world):
        audit, *_ = world
        lifecycle.open_audit(db, audit=audit, confirm=True)
        done = service.send_due(
            lambda: nullcontext(db), settings=Settings(database_url="sqlite://")
        )
        assert done.sent == []
        assert set(db.scalars(select(Notification.status))) == {NotificationStatus.QUEUED}


class TestPages:
    def test_each_person_sees_what_they_were_told(self, db, world, client):
        audit, *_ = world
        lifecycle.open_audit(db, audit=audit, confirm=True)
        mine = service.mine(db, user_id=world[3]["police"].id)
        assert [n.subject for n in mine] == [f"Audit opened: {audit.title}"]

    def test_every_email_previews(self):
        kinds = service.kinds()
        assert {
            "audit_opened",
            "return_sent_back",
            "moderation_opened",
            "briefing_awaiting_approval",
            "questionnaire_sent",
        } <= set(kinds)
        from app.notifications.pages import SAMPLE

        for kind in kinds:
            subject, body = service.render(kind, SAMPLE)
            assert subject and "Dear Sam Auditor," in body and "{{" not in body


class TestOneTimeLinks:
    def test_a_link_is_not_kept_once_its_email_has_gone(self, db, world):
        """An invitation's or reset's e-mail carries a working link: once sent (or
        given up), the copy the service keeps has it taken out."""
        *_, people = world
        link = "https://case-audit.example.org/invitations/secret-token-0123"
        made = {
            kind: service.queue(
                db,
                kind=kind,
                users=[people["police"]],
                context={
                    "partnership": "Westshire",
                    "invited_by": "Alex Admin",
                    "agency": "Police",
                    "sso": "",
                    "expires": "9:30am on 8 December 2026",
                    "link": link,
                },
                object_type="user",
                object_id=people["police"].id,
            )[0]
            for kind in ("invitation", "password_reset")
        }
        assert all(link in n.body for n in made.values())  # until it is sent
        # Its reader sees it without the link even now: the link goes by e-mail only.
        shown = service.mine(db, user_id=people["police"].id)
        assert shown and all(link not in n.body for n in shown)
        assert all(link in db.get(Notification, n.id).body for n in made.values())

        sent: list[str] = []
        sender = ("test", lambda n: sent.append(n.body))
        factory = lambda: nullcontext(db)  # noqa: E731
        done = service.send_due(factory, settings=Settings(database_url="sqlite://"), sender=sender)
        assert len(done.sent) == 2 and all(link in body for body in sent)  # it went
        for n in made.values():
            db.refresh(n)
            assert link not in n.body and service.LINK_REMOVED in n.body
