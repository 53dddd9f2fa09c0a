"""Issue 17's acceptance for notifications, every kind at once: each event the service
tells people of (audit opened, return sent back, moderation opened, briefing awaiting
approval, briefing published, questionnaire sent, action overdue, action escalated)
is made by the service that makes the change; nothing is sent inside the change; after
it commits the courier delivers each notification once, through a real SMTP server
(aiosmtpd) and through a test double of GOV.UK Notify's client; one that fails is sent
at the next run and never twice; the same changes rolled back tell no one."""

from __future__ import annotations

from collections import Counter
from contextlib import nullcontext
from datetime import date, timedelta

import pytest
from notifications_python_client.errors import HTTPError
from sqlalchemy import func, select

from app.access.models import Role
from app.access.policy import SYSTEM
from app.actions import service as actions
from app.actions.models import ActionStatus, LearningAction
from app.agencies import service as agencies
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
from app.findings.models import Theme
from app.moderation import lifecycle as moderation
from app.notifications import courier, escalation, service, subscriptions
from app.notifications.models import Notification
from app.returns import service as returns
from app.returns.models import Return, ReturnStatus
from tests.helpers.access import actor_of
from tests.helpers.factories import make_audit, make_person
from tests.helpers.smtp import running_inbox

DUE = date(2027, 3, 31)
LATE = DUE + timedelta(days=60)  # past the Executive's threshold (28 days)
EVERY_KIND = {
    "audit_opened",
    "return_sent_back",
    "moderation_opened",
    "briefing_awaiting_approval",
    "briefing_published",
    "questionnaire_sent",
    "action_overdue",
    "action_escalated",
}
ACCOUNT_KINDS = {"invitation", "password_reset", "account_disabling", "registration_waiting"}


@pytest.fixture
def world(db):
    audit = make_audit(db, children=1, agencies_count=2, open_=False)
    audit.theme = "Strategy discussion"
    police, school = sorted(audit.agencies, key=lambda a: a.id)

    def person(address, name, role, agency=None):
        return make_person(db, address, name, role, agency)

    people = {
        "auditor": person("pc@example.org", "PC Auditor", Role.AUDITOR, police),
        "lead": person("lead@example.org", "Police Lead", Role.AGENCY_LEAD, police),
        "school": person("dsl@example.org", "School Auditor", Role.AUDITOR, school),
        "moderator": person("mod@example.org", "Moderator", Role.MODERATOR),
        "author": person("author@example.org", "Second Moderator", Role.MODERATOR),
        "chair": person("chair@example.org", "Sam Chair", Role.SUBGROUP_CHAIR),
        "executive": person("exec@example.org", "Eve Executive", Role.EXECUTIVE),
        "reader": person("reader@example.org", "Pat Practitioner", Role.PRACTITIONER),
    }
    subgroup = agencies.create_subgroup(db, name="QAPP")
    agencies.update_subgroup(db, subgroup=subgroup, changes={"chair_user_id": people["chair"].id})
    audit.lead_subgroup = subgroup
    theme = db.scalar(select(Theme).where(Theme.name == "Strategy discussion"))
    subscriptions.follow(db, user_id=people["reader"].id, theme_ids=[theme.id])
    db.flush()
    return audit, police, people


def every_event(db, world) -> None:
    """Each change that tells someone, once, through the services that make them."""
    audit, police, people = world
    lifecycle.open_audit(db, audit=audit, confirm=True)
    police_return = db.scalar(
        select(Return).where(Return.audit_id == audit.id, Return.agency_id == police.id)
    )
    for r in db.scalars(select(Return).where(Return.audit_id == audit.id)):
        r.status = ReturnStatus.SUBMITTED
    db.flush()
    returns.reopen(
        db, return_=police_return, read_version=police_return.version, note="Add the date."
    )
    police_return.status = ReturnStatus.SUBMITTED
    db.flush()
    moderation.open_moderation(db, audit=audit)
    audit.status = AuditStatus.LEARNING  # moderation done (the meeting is not the point)
    briefing = Briefing(audit_id=audit.id, kind=BriefingKind.BRIEFING, title="Learning")
    db.add(briefing)
    db.flush()
    drafted = BriefingVersion(
        briefing_id=briefing.id,
        number=1,
        marking=Marking.OFFICIAL,
        sections={"background": "Why the partnership looked at strategy discussions."},
        author_ids=[people["author"].id],
    )
    db.add(drafted)
    db.flush()
    workflow.submit(
        db,
        version=get_version(db, version_id=drafted.id),
        actor=actor_of(people["author"]),
        settings=Settings(database_url="sqlite://"),
        confirm_small_counts=True,
    )
    drafted.status = VersionStatus.APPROVED  # approving is a moderator's step of its own
    drafted.render_status = RenderStatus.RENDERING
    drafted.assurance_due_on = DUE
    db.flush()
    render_queue._finish_render(db, version_id=drafted.id, pdf=b"%PDF-1.7 synthetic", today=DUE)
    action = actions.create_action(
        db,
        actor=SYSTEM,
        audit=audit,
        title="Refresh strategy discussion training",
        owning_agency_id=police.id,
        owner_name="PC Auditor",
        owner_user_id=people["auditor"].id,
        due_on=DUE,
        success_measure="Every new starter trained",
    )
    action.status = ActionStatus.AGREED
    db.flush()
    escalation.tell(db, today=LATE, executive_after_days=28)


def by_kind(db) -> Counter:
    return Counter(db.scalars(select(Notification.kind)))


def test_every_kind_is_queued_in_the_change_and_sent_once_through_smtp(db, world):
    every_event(db, world)
    queued = by_kind(db)
    assert set(queued) == EVERY_KIND
    # Every other e-mail is about someone's own account (its one-time links, tested
    # with them).
    assert set(service.kinds()) - EVERY_KIND <= ACCOUNT_KINDS
    with running_inbox() as inbox:
        assert inbox.messages == []  # nothing is sent inside the change
        settings = Settings(
            database_url="sqlite://",
            smtp_host="127.0.0.1",
            smtp_port=inbox.port,
            smtp_starttls=False,
            escalate_to_executive_after_days=28,
        )
        factory = lambda: nullcontext(db)  # noqa: E731 - the test's own transaction
        done = courier.run_round(factory, settings=settings)  # on the clock they were made by
        assert done.told == [] and not done.sent.failed  # nothing more was news
        assert len(done.sent.sent) == sum(queued.values())
        ids = [int(m["Message-ID"].split("-")[1].split("@")[0]) for m in inbox.messages]
        assert sorted(ids) == sorted(done.sent.sent)  # each delivered, once
        kinds = dict(db.execute(select(Notification.id, Notification.kind)).all())
        assert Counter(kinds[i] for i in ids) == queued
        again = courier.run_round(factory, settings=settings)
        assert again.sent.sent == [] and len(inbox.messages) == len(ids)
    told = {(n.kind, n.email) for n in db.scalars(select(Notification))}
    assert ("briefing_published", "reader@example.org") in told
    assert ("action_overdue", "chair@example.org") in told
    assert ("action_escalated", "exec@example.org") in told
    assert ("questionnaire_sent", "lead@example.org") in told
    assert ("briefing_awaiting_approval", "mod@example.org") in told
    assert ("briefing_awaiting_approval", "author@example.org") not in told


def test_every_kind_through_notify_a_failure_retried_never_twice(db, world):
    every_event(db, world)

    class Notify:
        """A test double of notifications-python-client's NotificationsAPIClient: the
        first e-mail of each kind fails once."""

        def __init__(self):
            self.sent: list[dict] = []
            self.failed_kinds: set[str] = set()

        def send_email_notification(self, **kwargs):
            notification = db.get(Notification, int(kwargs["reference"].split("-")[1]))
            if notification.kind not in self.failed_kinds:
                self.failed_kinds.add(notification.kind)
                raise HTTPError(message="Notify is unavailable")
            self.sent.append(kwargs)

    client = Notify()
    settings = Settings(database_url="sqlite://", notify_api_key="k", notify_template_id="t-1")
    sender = ("notify", service.notify_sender(settings, client=client))
    factory = lambda: nullcontext(db)  # noqa: E731
    total = sum(by_kind(db).values())
    now = utcnow()
    first = service.send_due(factory, settings=settings, sender=sender, now=now)
    assert len(first.failed) == len(EVERY_KIND) and len(first.sent) == total - len(EVERY_KIND)
    second = service.send_due(
        factory, settings=settings, sender=sender, now=now + timedelta(minutes=2)
    )
    assert sorted(second.sent) == sorted(i for i, _ in first.failed)
    references = [c["reference"] for c in client.sent]
    assert len(references) == total == len(set(references))  # each once
    assert (
        service.send_due(
            factory, settings=settings, sender=sender, now=now + timedelta(days=1)
        ).sent
        == []
    )


def test_the_same_changes_rolled_back_tell_no_one(db, world):
    with pytest.raises(RuntimeError), db.begin_nested():
        every_event(db, world)
        assert set(by_kind(db)) == EVERY_KIND
        raise RuntimeError("the request failed at the end")
    assert db.scalar(select(func.count()).select_from(Notification)) == 0
    assert db.scalar(select(func.count()).select_from(LearningAction)) == 0
