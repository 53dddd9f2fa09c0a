"""The action tracker stays the size of the work in hand as the history grows: its audit
filter offers the audits still being worked on (not closed, or with an action still
open) and the one chosen, never every audit there has been; its counts, made without
the audit when the reader sees every audit, agree with the rows for every reader."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from app.access.models import Role
from app.access.policy import Actor
from app.actions import tracker
from app.actions.lifecycle import Clock
from app.actions.tracker import TrackerFilter
from app.audits.models import Audit, AuditStatus
from tests.helpers.actions import EXECUTIVE_AFTER, TODAY, create_action, moved
from tests.helpers.factories import make_audit

AUDIT_OPTIONS = re.compile(r'<select[^>]*id="audit_id".*?</select>', re.S)
OPTION = re.compile(r'<option value="(\d+)"')


def offered(page: str) -> list[int]:
    found = AUDIT_OPTIONS.search(page)
    assert found, "no audit filter"
    return [int(value) for value in OPTION.findall(found.group(0))]


@pytest.fixture
def history(api, db, audit, first) -> dict:
    """The fixture's open audit with an action under way, and three more: one closed
    with its action completed, one closed with an action still agreed, and one open
    with no actions at all."""
    done, lingering, quiet = make_audit(db), make_audit(db), make_audit(db)
    owners = {made.id: made.agencies[0].id for made in (done, lingering)}
    db.commit()
    moved(api, create_action(api, audit, first.id)["id"], "agreed")
    finished = create_action(api, done, owners[done.id])["id"]
    for status in ("agreed", "in_progress"):
        moved(api, finished, status)
    moved(api, finished, "completed", evidence="Guidance issued.")
    moved(api, create_action(api, lingering, owners[lingering.id])["id"], "agreed")
    for closed in (done, lingering):
        db.get(Audit, closed.id).status = AuditStatus.CLOSED
    db.commit()
    return {"open": audit, "done": done, "lingering": lingering, "quiet": quiet, "owners": owners}


def test_the_audit_filter_offers_only_the_audits_in_hand(moderator, history):
    page = moderator.get("/actions").text
    in_hand = sorted((history["open"], history["lingering"]), key=lambda a: a.title)
    assert offered(page) == [a.id for a in in_hand]
    # Every action is still listed and counted: only the filter's list is shorter.
    assert "3 actions" in page


def test_an_audit_not_in_hand_is_offered_once_chosen(moderator, history):
    done = history["done"]
    r = moderator.get(f"/actions?audit_id={done.id}")
    assert r.status_code == 200
    assert done.id in offered(r.text)
    assert f'<option value="{done.id}" selected>' in r.text
    assert "1 action match the filters" in r.text


def test_an_audit_with_no_actions_is_not_offered_even_when_open(moderator, history):
    assert history["quiet"].id not in offered(moderator.get("/actions").text)


@pytest.mark.parametrize("role", [Role.MODERATOR, Role.AGENCY_LEAD])
def test_counts_agree_with_the_rows_for_every_reader(db, history, role):
    """Across every audit the counts skip the audit; for an agency's reader they keep it
    (its scope is the audits the agency is in): either way they match the rows."""
    agency_id = history["owners"][history["lingering"].id] if role == Role.AGENCY_LEAD else None
    actor = Actor(user_id=None, label="reader", roles=frozenset({role}), agency_id=agency_id)
    found, total = tracker.rows(
        db, actor=actor, filters=TrackerFilter(), clock=Clock(TODAY, EXECUTIVE_AFTER)
    )
    counted = tracker.counts(db, actor=actor, filters=TrackerFilter(), today=TODAY)
    assert counted["total"] == total == len(found) == (3 if role == Role.MODERATOR else 1)
    assert {a["agency_id"]: a["count"] for a in counted["by_agency"]} == Counter(
        row.owning_agency_id for row in found
    )
    assert sum(counted["by_status"].values()) == total
