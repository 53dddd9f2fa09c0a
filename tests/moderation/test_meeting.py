"""The moderation meeting's pages in the browser's terms (form posts, no JavaScript):
one child with every agency's evidence side by side, nothing chosen for the
moderator, every decision on the page saved at once or none, the notes, "save and go
to the next child", agreeing the rest after a confirmation, and the meeting pack."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.access.policy import SYSTEM
from app.auditlog.models import AuditEvent
from app.audits.models import Child
from app.audits.service import get_audit
from app.moderation import late, lifecycle
from app.moderation import service as moderation
from app.moderation.meeting import field_name
from app.moderation.models import ChildMeetingNote, ModeratedGrade
from tests.helpers.actions import CSRF


@pytest.fixture
def opened(moderator, db, submitted_audit):
    lifecycle.open_moderation(db, audit=submitted_audit)
    db.commit()
    return submitted_audit


def page_of(client, url):
    page = client.get(url)
    assert page.status_code == 200, page.text
    return page.text


def form_fields(html: str) -> dict[str, str]:
    """The hidden fields of the page's form: the decision each cell was drawn with, and
    what the notes (or the list of grades to agree) were drawn from."""
    return dict(
        re.findall(r'type="hidden" name="((?:s-\d+-\d+)|notes_seen|listed)" value="([^"]*)"', html)
    )


def grid(db, audit):
    return moderation.grid(db, actor=SYSTEM, audit=get_audit(db, audit_id=audit.id, actor=SYSTEM))


def cells_of(db, audit, child):
    found = grid(db, audit)
    return [c for c in found.cells.values() if c.child_id == child.id], found


def test_one_child_side_by_side_nothing_chosen(moderator, db, opened):
    child = db.scalars(select(Child).where(Child.audit_id == opened.id)).first()
    cells, found = cells_of(db, opened, child)
    html = page_of(moderator, f"/audits/{opened.id}/moderation/meeting?child={child.id}")
    # Every agency's return for the child, and each key area once with all of them.
    for agency in found.agencies:
        assert html.count(f'<h3 class="govuk-heading-s">{agency.name}</h3>') == len(found.areas)
    for _cell, title in found.areas:
        assert f">{title}</h2>" in html
    assert "Was practice in area 1 timely?" in html and "Own grade:" in html
    # Each grade's radios: agreeing is a choice, and nothing is chosen.
    assert html.count("Agree: ") == len(cells)
    assert "checked" not in html
    assert 'role="region"' in html and 'tabindex="0"' in html


def test_saving_a_child_saves_every_decision_or_none(moderator, db, opened):
    child = db.scalars(select(Child).where(Child.audit_id == opened.id)).first()
    cells, _found = cells_of(db, opened, child)
    url = f"/audits/{opened.id}/moderation/meeting?child={child.id}"
    html = page_of(moderator, url)
    token = CSRF.search(html).group(1)
    data = {"csrf_token": token, "then": "stay", **form_fields(html)}
    changed = cells[0]
    for c in cells:
        data[field_name("g", c.return_id, c.cell)] = c.self_level.code
    data[field_name("g", changed.return_id, changed.cell)] = "I"  # a change, no rationale yet
    data["discussion"] = "The agencies did not share the strategy discussion's outcome."
    refused = moderator.post(url, data=data, follow_redirects=False)
    assert refused.status_code == 422
    assert "say why the agency&#39;s grade is changed" in refused.text
    assert f'href="#{field_name("r", changed.return_id, changed.cell)}"' in refused.text
    # The page comes back with what was chosen, and nothing at all was saved.
    assert refused.text.count("checked") == len(cells)
    db.expire_all()
    assert db.scalar(select(ModeratedGrade.id).where(ModeratedGrade.audit_id == opened.id)) is None
    assert db.scalar(select(ChildMeetingNote.id)) is None

    data[field_name("r", changed.return_id, changed.cell)] = "No evidence of the child's views."
    data["attendees"] = "Chair (QAPP)\nPolice DS"
    saved = moderator.post(url, data=data, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    db.expire_all()
    decisions = db.scalars(
        select(ModeratedGrade).where(
            ModeratedGrade.audit_id == opened.id, ModeratedGrade.superseded_at.is_(None)
        )
    ).all()
    assert len(decisions) == len(cells)
    assert sum(d.level_id != d.self_level_id for d in decisions) == 1
    note = db.scalars(select(ChildMeetingNote)).one()
    assert note.attendees == "Chair (QAPP)\nPolice DS" and note.learning_points == ""
    shown = moderator.get(saved.headers["location"]).text
    assert f"{len(cells)} decisions saved for {child.pseudonym}." in shown
    assert "govuk-notification-banner--success" in shown
    assert shown.count("checked") == len(cells)  # now the moderator's own decisions
    # Saving the same page again changes nothing (no decision superseded).
    again = moderator.post(url, data=data | form_fields(shown), follow_redirects=False)
    assert again.status_code == 303
    assert len(
        db.scalars(select(ModeratedGrade).where(ModeratedGrade.audit_id == opened.id)).all()
    ) == len(cells)


def test_a_decision_saved_meanwhile_is_not_overwritten(moderator, db, opened):
    child = db.scalars(select(Child).where(Child.audit_id == opened.id)).first()
    cells, _found = cells_of(db, opened, child)
    url = f"/audits/{opened.id}/moderation/meeting?child={child.id}"
    html = page_of(moderator, url)
    first = cells[0]
    moderation.decide(
        db,
        audit=opened,
        return_=moderation.get_return(db, audit=opened, return_id=first.return_id),
        cell=first.cell,
        level_code="I",
        rationale="Decided by another moderator",
        actor=SYSTEM,
    )
    db.commit()
    data = {"csrf_token": CSRF.search(html).group(1), **form_fields(html)}
    data[field_name("g", first.return_id, first.cell)] = first.self_level.code
    conflict = moderator.post(url, data=data, follow_redirects=False)
    assert conflict.status_code == 409
    assert "someone else saved a decision" in conflict.text


def test_save_and_go_to_the_next_child_then_agree_the_rest(moderator, db, opened):
    children = db.scalars(
        select(Child).where(Child.audit_id == opened.id).order_by(Child.pseudonym)
    ).all()
    first, second = children
    url = f"/audits/{opened.id}/moderation/meeting"
    html = page_of(moderator, url)  # no child named: the first still to moderate
    assert f">{first.pseudonym} <" in html
    data = {"csrf_token": CSRF.search(html).group(1), "then": "next", **form_fields(html)}
    cells, _found = cells_of(db, opened, first)
    for c in cells:
        data[field_name("g", c.return_id, c.cell)] = c.self_level.code
    moved = moderator.post(f"{url}?child={first.id}", data=data, follow_redirects=False)
    assert moved.status_code == 303
    assert moved.headers["location"].endswith(f"/meeting?child={second.id}")

    # The rest of the second child: listed for confirmation first, then agreed.
    check = page_of(moderator, f"{url}/agree?child={second.id}")
    remaining, _found = cells_of(db, opened, second)
    assert f"Agree these {len(remaining)} grades" in check
    assert (
        db.scalar(
            select(ModeratedGrade.id).where(
                ModeratedGrade.return_id.in_([c.return_id for c in remaining])
            )
        )
        is None
    )
    agreed = moderator.post(
        f"{url}/agree?child={second.id}",
        data={"csrf_token": CSRF.search(check).group(1), **form_fields(check)},
        follow_redirects=False,
    )
    assert agreed.status_code == 303
    db.expire_all()
    found = grid(db, opened)
    assert all(found.child_done(c.id) for c in children)
    assert db.scalars(
        select(AuditEvent).where(AuditEvent.action == "moderation.decide")
    ).all().__len__() == len(cells) + len(remaining)


def test_the_pack_and_a_return_left_out(moderator, db, opened):
    child = db.scalars(select(Child).where(Child.audit_id == opened.id)).first()
    cells, found = cells_of(db, opened, child)
    # Sent back, then left out: the meeting shows why, and has nothing to decide there.
    r = moderation.get_return(db, audit=opened, return_id=cells[0].return_id)
    r.status = moderation.ReturnStatus.RETURNED
    db.flush()
    late.exclude(db, audit=opened, return_id=r.id, reason="Not resubmitted", actor=SYSTEM)
    db.commit()
    html = page_of(moderator, f"/audits/{opened.id}/moderation/meeting?child={child.id}")
    assert "Left out of moderation: Not resubmitted" in html
    assert field_name("g", r.id, cells[0].cell) not in html
    pack = page_of(moderator, f"/audits/{opened.id}/moderation/meeting/pack?child={child.id}")
    assert "<form" not in pack.split("<main")[1]
    assert "Was practice in area 1 timely?" in pack and "Moderated grade:" in pack
    by_agency = page_of(
        moderator, f"/audits/{opened.id}/moderation/meeting?agency={found.agencies[1].id}"
    )
    assert "Save and go to the next agency" in by_agency


def test_notes_saved_meanwhile_are_not_overwritten_and_are_logged(moderator, db, opened):
    child = db.scalars(select(Child).where(Child.audit_id == opened.id)).first()
    url = f"/audits/{opened.id}/moderation/meeting?child={child.id}"
    mine = page_of(moderator, url)
    theirs = page_of(moderator, url)
    first = {"csrf_token": CSRF.search(theirs).group(1), "then": "stay", **form_fields(theirs)}
    first["discussion"] = "Police shared the intelligence late."
    assert moderator.post(url, data=first, follow_redirects=False).status_code == 303
    # The other page, drawn before that save, sends its own (older) notes: refused.
    stale = {"csrf_token": CSRF.search(mine).group(1), "then": "stay", **form_fields(mine)}
    stale["discussion"] = "Something else."
    refused = moderator.post(url, data=stale, follow_redirects=False)
    assert refused.status_code == 409
    assert "changed the meeting&#39;s notes since this page was opened" in refused.text
    assert "Police shared the intelligence late." in refused.text  # shown again, to check
    db.expire_all()
    assert db.scalars(select(ChildMeetingNote)).one().discussion == (
        "Police shared the intelligence late."
    )
    logged = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "moderation.meeting_note")
    ).all()
    assert [e.after["discussion"] for e in logged] == ["Police shared the intelligence late."]


def test_nothing_is_saved_outside_moderation(moderator, db, submitted_audit):
    child = db.scalars(select(Child).where(Child.audit_id == submitted_audit.id)).first()
    url = f"/audits/{submitted_audit.id}/moderation/meeting?child={child.id}"
    page = page_of(moderator, url)  # open for returns: moderators may look ahead
    assert "Save and go to the next child" not in page  # but decide nothing yet
    token = CSRF.search(page).group(1)
    refused = moderator.post(
        url,
        data={"csrf_token": token, "discussion": "Too early", "notes_seen": "0"},
        follow_redirects=False,
    )
    assert refused.status_code == 409
    assert db.scalar(select(ChildMeetingNote.id)) is None


def test_agreeing_the_rest_agrees_only_what_was_listed(moderator, db, opened):
    child = db.scalars(select(Child).where(Child.audit_id == opened.id)).first()
    url = f"/audits/{opened.id}/moderation/meeting/agree?child={child.id}"
    check = page_of(moderator, url)
    cells, _found = cells_of(db, opened, child)
    first = cells[0]
    moderation.decide(
        db,
        audit=opened,
        return_=moderation.get_return(db, audit=opened, return_id=first.return_id),
        cell=first.cell,
        level_code="I",
        rationale="Decided meanwhile",
        actor=SYSTEM,
    )
    db.commit()
    refused = moderator.post(
        url,
        data={"csrf_token": CSRF.search(check).group(1), **form_fields(check)},
        follow_redirects=False,
    )
    assert refused.status_code == 409
    assert "have changed since this list was shown" in refused.text
    db.expire_all()
    assert len(db.scalars(select(ModeratedGrade)).all()) == 1  # only the one decided meanwhile


def test_the_page_reads_each_agencys_return_as_one_read_does_and_logs_each(moderator, db, opened):
    """The meeting view reads the child's returns together (returns.reading.read_many):
    each as a read of it alone gives it, each read logged, in two queries for them all;
    and refused whole if one of them may not be seen."""
    from app.access.models import Role
    from app.access.policy import Actor, Via
    from app.auditlog.models import PendingEvent
    from app.errors import NotFound
    from app.returns import reading
    from app.returns.models import Return

    child = db.scalars(select(Child).where(Child.audit_id == opened.id)).first()
    ids = db.scalars(select(Return.id).where(Return.child_id == child.id).order_by(Return.id)).all()
    assert len(ids) == 2
    together = reading.details(db, return_ids=list(ids), actor=SYSTEM)
    assert together == {i: reading.detail(db, return_id=i, actor=SYSTEM) for i in ids}
    assert all(r["answers"] and r["grades"] for r in together.values())

    logged_before = db.scalars(
        select(PendingEvent.object_id).where(PendingEvent.action == "return.read")
    ).all()
    page_of(moderator, f"/audits/{opened.id}/moderation/meeting?child={child.id}")
    logged = db.scalars(
        select(PendingEvent.object_id)
        .where(PendingEvent.action == "return.read")
        .order_by(PendingEvent.id)
    ).all()
    assert logged[len(logged_before) :] == list(ids)

    # Someone who may not see a return is refused them all, not shown some.
    reader = Actor(None, "practitioner", frozenset({Role.PRACTITIONER}), None, Via.TOKEN)
    with pytest.raises(NotFound):
        reading.detail(db, return_id=ids[0], actor=reader)
    with pytest.raises(NotFound, match=f"id {ids[0]}"):
        reading.details(db, return_ids=list(ids), actor=reader)
    assert reading.details(db, return_ids=[], actor=reader) == {}
