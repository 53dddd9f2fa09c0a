"""The identification guard where findings are written (app/identify/entry.py): a
statement that looks like a name, a number, an address or a date of birth is shown
back to its writer (422 naming the field and confirm_identifying; on the page, the
field's message, the error summary and the box to tick, with what was typed kept),
saved once they confirm it identifies no one, and the confirmation kept in the audit
log (``identify.confirmed``: the fields and kinds, not the text). A clean statement
needs no confirmation. The texts are invented (tests/helpers/identify_entry.py)."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import func, select

from app.findings.models import Finding
from app.identify import entry
from tests.helpers.actions import API, fields, summary_links, token
from tests.helpers.identify_entry import (
    CHECKBOX,
    CLEAN,
    DATE_OF_BIRTH,
    NAME,
    NAME_MESSAGE,
    NHS_NUMBER,
    between,
    confirmations,
    messages,
)


def findings_count(db) -> int:
    return db.scalar(select(func.count()).select_from(Finding))


def post_finding(client, audit, statement: str, **extra):
    return client.post(
        f"{API}/audits/{audit.id}/findings",
        json={"kind": "area_for_improvement", "statement": statement, **extra},
    )


class TestAFindingInTheApi:
    def test_identifying_text_is_refused_without_the_confirmation(self, api, db, audit):
        r = post_finding(api, audit, NHS_NUMBER)
        assert r.status_code == 422, r.text
        assert fields(r) == {"statement", entry.CONFIRM_FIELD}
        assert "\u201c9434765919\u201d looks like an NHS number" in messages(r)["statement"]
        assert findings_count(db) == 0

    def test_confirmed_it_is_saved_and_the_confirmation_logged(self, api, db, audit):
        r = post_finding(api, audit, NHS_NUMBER, confirm_identifying=True)
        assert r.status_code == 201, r.text
        assert r.json()["statement"] == NHS_NUMBER
        assert confirmations(db, "finding", r.json()["id"]) == [
            [{"field": "statement", "kind": "nhs_number"}]
        ]

    def test_a_name_is_refused_without_the_confirmation(self, api, db, audit):
        r = post_finding(api, audit, NAME)
        assert r.status_code == 422
        assert messages(r)["statement"] == NAME_MESSAGE
        assert findings_count(db) == 0

    def test_a_clean_finding_needs_no_confirmation(self, api, db, audit):
        r = post_finding(api, audit, CLEAN)
        assert r.status_code == 201, r.text
        assert confirmations(db, "finding", r.json()["id"]) == []

    def test_a_changed_statement_is_screened_and_the_same_one_is_not(self, api, db, audit):
        finding_id = post_finding(api, audit, DATE_OF_BIRTH, confirm_identifying=True).json()["id"]
        db.commit()
        # Saved again as it was (with another change): it was confirmed when written.
        r = api.patch(
            f"{API}/findings/{finding_id}",
            json={"statement": DATE_OF_BIRTH, "kind": "good_practice"},
        )
        assert r.status_code == 200, r.text
        r = api.patch(f"{API}/findings/{finding_id}", json={"statement": NHS_NUMBER})
        assert r.status_code == 422 and fields(r) == {"statement", entry.CONFIRM_FIELD}
        assert db.get(Finding, finding_id).statement == DATE_OF_BIRTH
        r = api.patch(
            f"{API}/findings/{finding_id}",
            json={"statement": NHS_NUMBER, "confirm_identifying": True},
        )
        assert r.status_code == 200, r.text
        assert confirmations(db, "finding", finding_id) == [
            [{"field": "statement", "kind": "date_of_birth"}],
            [{"field": "statement", "kind": "nhs_number"}],
        ]


class TestTheFindingsPages:
    def test_warned_kept_then_confirmed_and_saved(self, moderator, db, audit):
        page = f"/audits/{audit.id}/findings"
        data = {"csrf_token": token(moderator, page), "kind": "area_for_improvement"}
        r = moderator.post(page, data=data | {"statement": NHS_NUMBER})
        assert r.status_code == 422
        assert summary_links(r.text) == ["#statement", f"#{entry.CONFIRM_FIELD}"]
        html = unescape(r.text)
        assert re.search(r'id="statement-error"[^>]*>\s*<span[^>]*>Error:</span> \u201c9434', html)
        assert f">{NHS_NUMBER}</textarea>" in html  # what was typed is kept
        assert r.text.count(CHECKBOX) == 1 and "checked" not in r.text.split(CHECKBOX)[1][:80]
        assert between(r.text, 'id="statement"', CHECKBOX, "Add finding")
        assert findings_count(db) == 0

        r = moderator.post(
            page, data=data | {"statement": NHS_NUMBER, "confirm_identifying": "yes"}
        )
        assert r.status_code == 200 and "The finding has been added." in r.text
        finding = db.scalar(select(Finding))
        assert finding.statement == NHS_NUMBER
        assert confirmations(db, "finding", finding.id) == [
            [{"field": "statement", "kind": "nhs_number"}]
        ]

    def test_a_name_shows_its_message_by_the_field(self, moderator, db, audit):
        page = f"/audits/{audit.id}/findings"
        r = moderator.post(
            page,
            data={
                "csrf_token": token(moderator, page),
                "kind": "area_for_improvement",
                "statement": NAME,
            },
        )
        assert r.status_code == 422
        assert unescape(r.text).count(NAME_MESSAGE) == 2  # the summary and the field
        assert findings_count(db) == 0

    def test_a_clean_finding_is_added_without_the_box(self, moderator, db, audit):
        page = f"/audits/{audit.id}/findings"
        data = {"csrf_token": token(moderator, page), "kind": "good_practice", "statement": CLEAN}
        r = moderator.post(page, data=data, follow_redirects=False)
        assert r.status_code == 303
        assert CHECKBOX not in moderator.get(page).text

    def test_changing_one(self, moderator, api, db, audit):
        finding_id = post_finding(api, audit, CLEAN).json()["id"]
        db.commit()
        edit = f"/findings/{finding_id}/edit"
        data = {"csrf_token": token(moderator, edit), "kind": "good_practice"}
        r = moderator.post(edit, data=data | {"statement": DATE_OF_BIRTH})
        assert r.status_code == 422
        assert summary_links(r.text) == ["#statement", f"#{entry.CONFIRM_FIELD}"]
        assert between(r.text, 'id="statement"', CHECKBOX, "Save changes")
        assert db.get(Finding, finding_id).statement == CLEAN
        r = moderator.post(
            edit,
            data=data | {"statement": DATE_OF_BIRTH, "confirm_identifying": "yes"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        db.expire_all()
        assert db.get(Finding, finding_id).statement == DATE_OF_BIRTH
        assert len(confirmations(db, "finding", finding_id)) == 1
