"""The identification guard on a return (app/identify/entry.py): not while it is
written (drafts are saved as the auditor types: a warning then would interrupt all the
time) but when it is submitted. A free-text answer or box of evidence that looks like a
name, a number, an address or a date of birth holds the submission until whoever
submits it changes it or confirms it identifies no one; the confirmation is logged.
Ordinary evidence about a child (pseudonyms, ages, the dates things happened, family
members by role) is not flagged."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select

from app.access.models import Role
from app.returns.models import KeyAreaEvidence, Return, ReturnStatus
from tests.helpers.factories import make_audit
from tests.helpers.identify_entry import confirmed_rows as confirmations
from tests.moderation.test_moderation import complete
from tests.returns.test_pages import _fill, _form, _signed_in_to_a_return
from tests.returns.test_sign_off import first_return, token_for

API = "/api/v1"
# Invented: a date of birth and an NHS number (it passes the check digit), no one's.
DATE_OF_BIRTH = "DOB 12/03/2021"
FLAGGED_EVIDENCE = f"The referral form gave the child's {DATE_OF_BIRTH} and the school's name."
NHS_NUMBER = "943 476 5919"
# What evidence about a child ordinarily says: pseudonyms, ages, when things happened,
# family members by their role. None of it is what the guard flags.
ORDINARY = (
    "Child A's mother told the health visitor on 3 March 2024 that she was worried about "
    "his speech. Child A (aged 4) and his brother Child B (aged 7) were seen at home on "
    "12/03/2024 with their grandmother; the school nurse saw him again on 21 March."
)


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(datetime(2026, 11, 23, 12, tzinfo=UTC), tick=True):
        yield


def drafted(template: dict, *, went_well: str, text: str = "") -> dict:
    """A complete draft with ``went_well`` in the first key area's evidence (and
    ``text`` as its free-text answer)."""
    body = complete(template, 1)
    first = template["key_areas"][0]
    body["evidence"] = [{"key_area_id": first["id"], "went_well": went_well}]
    if text:
        body["answers"].append({"question_id": first["questions"][1]["id"], "value": text})
    return body


class TestTheApi:
    @pytest.fixture
    def setting(self, client, db):
        client.event_hooks["request"].append(lambda _request: db.expire_all())
        audit = make_audit(db, children=1, agencies_count=1)
        return_id = first_return(db, audit)
        template = client.get(f"{API}/template-versions/{audit.template_version_id}").json()
        return client, return_id, template

    def test_flagged_evidence_is_refused_until_confirmed(self, db, setting):
        client, return_id, template = setting
        first = template["key_areas"][0]
        body = drafted(template, went_well=FLAGGED_EVIDENCE, text=f"NHS number {NHS_NUMBER}.")
        # A draft with it is saved without a word: drafts are not guarded.
        saved = client.put(f"{API}/returns/{return_id}/draft", json=body)
        assert saved.status_code == 200, saved.text

        refused = client.post(f"{API}/returns/{return_id}/submit", json={"version": 2})
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "looks_identifying"
        errors = {e["field"]: e["message"] for e in refused.json()["errors"]}
        question = first["questions"][1]
        assert set(errors) == {
            f"question:{question['id']}",
            f"evidence:{first['id']}:went_well",
            "confirm_identifying",
        }
        went_well = errors[f"evidence:{first['id']}:went_well"]
        assert went_well.startswith(f"{first['title']}: What went well: ")
        assert DATE_OF_BIRTH in went_well and "a date of birth" in went_well
        assert errors[f"question:{question['id']}"].startswith(
            f"{first['title']}: {question['prompt']}: "
        )
        return_ = db.get(Return, return_id)
        assert return_.status == ReturnStatus.DRAFT and return_.version == 2
        assert confirmations(db) == []

        done = client.post(
            f"{API}/returns/{return_id}/submit", json={"version": 2, "confirm_identifying": True}
        )
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "submitted"
        [logged] = confirmations(db)
        assert (logged.object_type, logged.object_id) == ("return", return_id)
        assert logged.after == {
            "flags": [
                {"field": f"question:{question['id']}", "kind": "nhs_number"},
                {"field": f"evidence:{first['id']}:went_well", "kind": "date_of_birth"},
            ]
        }

    def test_ordinary_evidence_submits_without_a_warning(self, db, setting):
        client, return_id, template = setting
        body = drafted(template, went_well=ORDINARY, text=ORDINARY)
        assert client.put(f"{API}/returns/{return_id}/draft", json=body).status_code == 200
        done = client.post(f"{API}/returns/{return_id}/submit", json={"version": 2})
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "submitted" and confirmations(db) == []

    def test_a_name_is_flagged(self, setting):
        client, return_id, template = setting
        # An invented name, for no real person.
        body = drafted(template, went_well="Jayden Smith was seen at home.")
        assert client.put(f"{API}/returns/{return_id}/draft", json=body).status_code == 200
        refused = client.post(f"{API}/returns/{return_id}/submit", json={"version": 2})
        assert refused.status_code == 422, refused.text
        errors = {e["field"]: e["message"] for e in refused.json()["errors"]}
        went_well = errors[f"evidence:{template['key_areas'][0]['id']}:went_well"]
        assert "Jayden Smith" in went_well and "pseudonym" in went_well


class TestThePages:
    @pytest.fixture
    def setting(self, anonymous_client, db):
        return _signed_in_to_a_return(anonymous_client, db)

    def complete(self, browser, return_id, version, impact: str) -> str:
        """Every key area filled in (the first with ``impact`` as its impact on the
        child), the overall grade given: Check your answers."""
        for n, key_area in enumerate(version.key_areas):
            page = browser.get(f"/returns/{return_id}/areas/{key_area.id}").text
            fields = _fill(key_area) | ({"ev-impact_on_child": impact} if n == 0 else {})
            saved = browser.post(
                f"/returns/{return_id}/areas/{key_area.id}",
                data=_form(page, **fields),
                follow_redirects=False,
            )
            assert saved.status_code == 303, saved.text  # an ordinary save is not guarded
        page = browser.get(f"/returns/{return_id}/overall").text
        browser.post(f"/returns/{return_id}/overall", data=_form(page, overall="G"))
        return browser.get(f"/returns/{return_id}/check").text

    def test_the_submit_page_lists_what_is_flagged_and_asks_to_confirm(self, setting, db):
        browser, return_id, version = setting
        first = version.key_areas[0]
        check = self.complete(browser, return_id, version, FLAGGED_EVIDENCE)
        assert "confirm_identifying" not in check  # not before submitting

        refused = browser.post(f"/returns/{return_id}/submit", data=_form(check))
        assert refused.status_code == 422
        page = refused.text
        change = f"/returns/{return_id}/areas/{first.id}?back=check#ev-impact_on_child"
        # In the error summary and in the list beside the confirmation: which key area
        # and box, what was found, and a link to change it.
        assert page.count(f'href="{change}"') == 2
        assert f"{first.title}: The impact on the child" in page
        assert "DOB 12/03/2021" in page and "looks like a date of birth" in page
        assert "What could identify someone" in page
        assert 'href="#confirm_identifying"' in page
        assert 'name="confirm_identifying" type="checkbox" value="yes"' in page
        db.expire_all()
        assert db.get(Return, return_id).status == ReturnStatus.DRAFT
        assert confirmations(db) == []

        done = browser.post(
            f"/returns/{return_id}/submit", data=_form(page, confirm_identifying="yes")
        )
        assert done.status_code == 200 and "Return submitted" in done.text
        db.expire_all()
        assert db.get(Return, return_id).status == ReturnStatus.SUBMITTED
        [logged] = confirmations(db)
        assert (logged.object_type, logged.object_id) == ("return", return_id)
        assert logged.after == {
            "flags": [{"field": f"evidence:{first.id}:impact_on_child", "kind": "date_of_birth"}]
        }

    def test_ordinary_evidence_submits_without_a_warning(self, setting, db):
        browser, return_id, version = setting
        check = self.complete(browser, return_id, version, ORDINARY)
        done = browser.post(f"/returns/{return_id}/submit", data=_form(check))
        assert done.status_code == 200 and "Return submitted" in done.text
        assert "confirm_identifying" not in done.text and confirmations(db) == []

    def test_autosave_of_a_flagged_draft_is_not_refused(self, setting, db):
        browser, return_id, version = setting
        first = version.key_areas[0]
        page = browser.get(f"/returns/{return_id}/areas/{first.id}").text
        fields = _form(page, **{"ev-went_well": FLAGGED_EVIDENCE})
        saved = browser.post(
            f"/returns/{return_id}/areas/{first.id}",
            data=fields,
            headers={"X-Autosave": "1", "X-CSRF-Token": fields["csrf_token"]},
        )
        assert saved.status_code == 200 and saved.json() == {"saved": True, "version": 2}
        db.expire_all()
        kept = db.scalars(select(KeyAreaEvidence).where(KeyAreaEvidence.return_id == return_id))
        assert [e.went_well for e in kept] == [FLAGGED_EVIDENCE]
        assert db.get(Return, return_id).status == ReturnStatus.DRAFT
        assert confirmations(db) == []


class TestTheLeadsSignOff:
    """Where leads sign off returns, the auditor's sending is guarded (the writer can
    still change it) and so is the lead's sign-off, which submits it."""

    @pytest.fixture
    def setting(self, anonymous_client, db):
        audit = make_audit(db, children=1, agencies_count=1)
        audit.lead_sign_off = True
        db.commit()
        own = audit.agencies[0].id
        return_id = first_return(db, audit)
        people = {
            "auditor": token_for(db, Role.AUDITOR, own, "Sam Patel"),
            "lead": token_for(db, Role.AGENCY_LEAD, own, "Lee Lead"),
        }
        client = anonymous_client
        client.event_hooks["request"].append(lambda _request: db.expire_all())
        template = client.get(
            f"{API}/template-versions/{audit.template_version_id}", headers=people["lead"]
        ).json()
        return client, people, return_id, template

    def test_the_auditor_and_then_the_lead_confirm(self, db, setting):
        client, people, return_id, template = setting
        body = drafted(template, went_well=FLAGGED_EVIDENCE)
        auditor, lead = people["auditor"], people["lead"]
        assert (
            client.put(f"{API}/returns/{return_id}/draft", json=body, headers=auditor).status_code
            == 200
        )
        url = f"{API}/returns/{return_id}/submit"
        refused = client.post(url, json={"version": 2}, headers=auditor)
        assert refused.status_code == 422 and db.get(Return, return_id).version == 2
        sent = client.post(url, json={"version": 2, "confirm_identifying": True}, headers=auditor)
        assert sent.status_code == 200 and sent.json()["awaiting_sign_off"] is True
        assert len(confirmations(db)) == 1

        # The lead's page: signing off without confirming shows what is flagged.
        page = client.get(f"/returns/{return_id}", headers=lead).text
        version = re.search(r'name="version" value="(\d+)"', page).group(1)
        refused = client.post(
            f"/returns/{return_id}/sign-off", data={"version": version}, headers=lead
        )
        assert refused.status_code == 422
        area = template["key_areas"][0]["id"]
        assert f'href="#area-{area}"' in refused.text and f'id="area-{area}"' in refused.text
        assert DATE_OF_BIRTH in refused.text
        assert 'name="confirm_identifying" type="checkbox" value="yes"' in refused.text
        assert db.get(Return, return_id).status == ReturnStatus.DRAFT

        signed = client.post(
            f"/returns/{return_id}/sign-off",
            data={"version": version, "confirm_identifying": "yes"},
            headers=lead,
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text
        db.expire_all()
        assert db.get(Return, return_id).status == ReturnStatus.SUBMITTED
        auditor_confirmed, lead_confirmed = confirmations(db)
        assert auditor_confirmed.user_label != lead_confirmed.user_label
        assert lead_confirmed.object_id == return_id
