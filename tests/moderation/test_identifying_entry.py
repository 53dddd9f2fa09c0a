"""The identification guard where moderators write (app/identify/entry.py): a rationale
or a meeting note that looks like it could identify someone is shown back to its
writer, refused until they change it or confirm it identifies no one, and the
confirmation is logged. On the meeting page one confirmation covers the page, the
error is on the flagged cell, and everything typed is kept until it is saved."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select

from app.audits.models import Child
from app.moderation import lifecycle
from app.moderation.meeting import field_name
from app.moderation.models import ChildMeetingNote, ModeratedGrade
from tests.helpers.actions import CSRF
from tests.helpers.identify_entry import confirmed_rows as confirmations
from tests.moderation.test_meeting import cells_of, form_fields, page_of

# An invented NHS number (it passes the check digit, so the guard takes it for one);
# no real person's.
NHS_NUMBER = "943 476 5919"
FLAGGED = f"The referral quoted NHS number {NHS_NUMBER}; the GP did not follow it up."
PLAIN = "No evidence that the views of the child were sought before the conference."
API = "/api/v1"


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(datetime(2026, 11, 23, 12, tzinfo=UTC), tick=True):
        yield


@pytest.fixture
def opened(moderator, db, submitted_audit):
    lifecycle.open_moderation(db, audit=submitted_audit)
    db.commit()
    return submitted_audit


def decisions(db, audit) -> list[ModeratedGrade]:
    db.expire_all()
    return list(db.scalars(select(ModeratedGrade).where(ModeratedGrade.audit_id == audit.id)))


def first_child(db, audit) -> Child:
    return db.scalars(select(Child).where(Child.audit_id == audit.id).order_by(Child.id)).first()


class TestTheApi:
    def post(self, client, audit, cell, rationale, **more):
        body = {
            "return_id": cell.return_id,
            "key_area_id": cell.cell or None,
            "level": "RI",
            "rationale": rationale,
        }
        token = CSRF.search(page_of(client, f"/audits/{audit.id}/moderation")).group(1)
        csrf = {"X-CSRF-Token": token}
        return client.post(
            f"{API}/audits/{audit.id}/moderation/decisions", json=body | more, headers=csrf
        )

    def test_a_rationale_with_an_nhs_number_is_refused_until_confirmed(self, moderator, db, opened):
        [cell, *_rest], _grid = cells_of(db, opened, first_child(db, opened))
        refused = self.post(moderator, opened, cell, FLAGGED)
        assert refused.status_code == 422, refused.text
        errors = {e["field"]: e["message"] for e in refused.json()["errors"]}
        assert set(errors) == {"rationale", "confirm_identifying"}
        # What was found, as the check reads it (its spaces may be taken out).
        assert NHS_NUMBER.replace(" ", "") in errors["rationale"].replace(" ", "")
        assert "an NHS number" in errors["rationale"]
        assert decisions(db, opened) == [] and confirmations(db) == []

        saved = self.post(moderator, opened, cell, FLAGGED, confirm_identifying=True)
        assert saved.status_code == 201, saved.text
        assert saved.json()["rationale"] == FLAGGED
        [logged] = confirmations(db)
        assert (logged.object_type, logged.object_id) == ("moderated_grade", saved.json()["id"])
        assert logged.after == {"flags": [{"field": "rationale", "kind": "nhs_number"}]}
        assert NHS_NUMBER not in str(logged.after)  # the kind, not the text again

    def test_an_ordinary_rationale_needs_no_confirmation(self, moderator, db, opened):
        [cell, *_rest], _grid = cells_of(db, opened, first_child(db, opened))
        saved = self.post(moderator, opened, cell, PLAIN)
        assert saved.status_code == 201, saved.text
        assert confirmations(db) == []

    def test_a_name_is_refused(self, moderator, db, opened):
        [cell, *_rest], _grid = cells_of(db, opened, first_child(db, opened))
        # An invented name, for no real person.
        refused = self.post(moderator, opened, cell, "Jayden Smith was not seen alone.")
        assert refused.status_code == 422, refused.text
        message = {e["field"]: e["message"] for e in refused.json()["errors"]}["rationale"]
        assert "Jayden Smith" in message and "a person's name" in message
        assert "pseudonym" in message  # "use the child's pseudonym"
        assert decisions(db, opened) == []


def test_the_cell_page_shows_what_was_typed_and_asks_to_confirm(moderator, db, opened):
    [cell, *_rest], _grid = cells_of(db, opened, first_child(db, opened))
    url = f"/audits/{opened.id}/moderation/returns/{cell.return_id}/cells/{cell.cell}"
    page = page_of(moderator, url)
    assert 'name="confirm_identifying"' not in page  # only once something is flagged
    data = {"csrf_token": CSRF.search(page).group(1), "level": "RI", "rationale": FLAGGED}
    refused = moderator.post(url, data=data, follow_redirects=False)
    assert refused.status_code == 422
    assert 'href="#rationale"' in refused.text and 'href="#confirm_identifying"' in refused.text
    assert f"{FLAGGED}</textarea>" in refused.text  # kept as typed
    assert 'value="RI" checked' in refused.text
    assert 'name="confirm_identifying" type="checkbox" value="yes"' in refused.text
    assert decisions(db, opened) == []

    saved = moderator.post(url, data=data | {"confirm_identifying": "yes"}, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    [decision] = decisions(db, opened)
    assert decision.rationale == FLAGGED
    [logged] = confirmations(db)
    assert (logged.object_type, logged.object_id) == ("moderated_grade", decision.id)


class TestTheMeeting:
    def page(self, moderator, db, opened):
        child = first_child(db, opened)
        cells, _grid = cells_of(db, opened, child)
        url = f"/audits/{opened.id}/moderation/meeting?child={child.id}"
        html = page_of(moderator, url)
        data = {"csrf_token": CSRF.search(html).group(1), "then": "stay", **form_fields(html)}
        return url, html, cells, data, child

    def test_one_flagged_rationale_among_several(self, moderator, db, opened):
        url, html, cells, data, _child = self.page(moderator, db, opened)
        assert 'name="confirm_identifying"' not in html
        assert len(cells) >= 3
        flagged, *others = cells
        for n, c in enumerate(cells):
            data[field_name("g", c.return_id, c.cell)] = "RI"
            data[field_name("r", c.return_id, c.cell)] = f"{PLAIN} ({n})"
        r = field_name("r", flagged.return_id, flagged.cell)
        data[r] = FLAGGED
        data["discussion"] = "The agencies did not share the strategy discussion's outcome."
        data["learning_points"] = "Record who was invited to the strategy discussion."

        refused = moderator.post(url, data=data, follow_redirects=False)
        assert refused.status_code == 422
        page = refused.text
        # The error is on the flagged cell's rationale, and only there.
        assert f'href="#{r}"' in page and f'id="{r}-error"' in page
        assert page.count('class="govuk-error-message"') == 2  # the cell and the confirmation
        for c in others:
            assert f'id="{field_name("r", c.return_id, c.cell)}-error"' not in page
        assert 'href="#confirm_identifying"' in page
        assert 'name="confirm_identifying" type="checkbox" value="yes"' in page
        # Everything typed is kept: each rationale, each grade chosen, the notes.
        assert f"{FLAGGED}</textarea>" in page
        for n, _c in enumerate(others, start=1):
            assert f"{PLAIN} ({n})</textarea>" in page
        assert page.count('value="RI" checked') == len(cells)
        assert "did not share the strategy discussion&#39;s outcome.</textarea>" in page
        assert "Record who was invited to the strategy discussion.</textarea>" in page
        # And nothing at all was saved.
        assert decisions(db, opened) == []
        assert db.scalar(select(ChildMeetingNote.id)) is None
        assert confirmations(db) == []

        saved = moderator.post(
            url, data=data | {"confirm_identifying": "yes"}, follow_redirects=False
        )
        assert saved.status_code == 303, saved.text
        made = decisions(db, opened)
        assert len(made) == len(cells)
        assert db.scalars(select(ChildMeetingNote)).one().learning_points.startswith("Record")
        # The confirmation is logged for the decision it covers (the notes had nothing).
        [logged] = confirmations(db)
        [decision] = [d for d in made if d.rationale == FLAGGED]
        assert (logged.object_type, logged.object_id) == ("moderated_grade", decision.id)
        assert logged.after == {"flags": [{"field": "rationale", "kind": "nhs_number"}]}

        # The page saved again as it is now shown: nothing new to confirm.
        shown = page_of(moderator, url)
        again = {"csrf_token": CSRF.search(shown).group(1), "then": "stay", **form_fields(shown)}
        for c in cells:
            again[field_name("g", c.return_id, c.cell)] = "RI"
            again[field_name("r", c.return_id, c.cell)] = data[field_name("r", c.return_id, c.cell)]
        assert moderator.post(url, data=again, follow_redirects=False).status_code == 303
        assert len(decisions(db, opened)) == len(cells) and len(confirmations(db)) == 1

    def test_a_flagged_note(self, moderator, db, opened):
        url, _html, _cells, data, child = self.page(moderator, db, opened)
        data["discussion"] = "The family moved to WR5 3RD in the summer."  # invented
        data["attendees"] = "Chair (QAPP)\nPolice DS"
        refused = moderator.post(url, data=data, follow_redirects=False)
        assert refused.status_code == 422
        assert 'href="#discussion"' in refused.text and "a postcode" in refused.text
        assert "The family moved to WR5 3RD in the summer.</textarea>" in refused.text
        assert db.scalar(select(ChildMeetingNote.id)) is None

        saved = moderator.post(
            url, data=data | {"confirm_identifying": "yes"}, follow_redirects=False
        )
        assert saved.status_code == 303, saved.text
        [logged] = confirmations(db)
        assert (logged.object_type, logged.object_id) == ("child", child.id)
        assert logged.after == {"flags": [{"field": "discussion", "kind": "postcode"}]}

    def test_agreeing_keeps_no_rationale_so_asks_nothing(self, moderator, db, opened):
        url, _html, cells, data, _child = self.page(moderator, db, opened)
        for c in cells:
            data[field_name("g", c.return_id, c.cell)] = c.self_level.code
        # Typed, then the agency's grade agreed: the rationale is not kept, not read.
        data[field_name("r", cells[0].return_id, cells[0].cell)] = FLAGGED
        saved = moderator.post(url, data=data, follow_redirects=False)
        assert saved.status_code == 303, saved.text
        assert len(decisions(db, opened)) == len(cells) and confirmations(db) == []
