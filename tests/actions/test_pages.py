"""The pages: the tracker with its filters and downloads, an action with its history
and next steps, creating and changing actions, an audit's findings and the themes.
Each form's mistakes come back with the GOV.UK error summary."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from app.access.models import Role
from app.access.policy import SYSTEM
from app.actions import service
from app.actions.models import ActionStatus, LearningAction
from app.audits import cohort
from app.audits import service as audits
from app.findings import service as findings
from app.findings.models import Finding, Theme
from tests.actions import TODAY
from tests.factories import make_agency

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
SUMMARY = re.compile(r'class="govuk-error-summary".*?</ul>', re.S)


def token(client, path: str) -> str:
    return CSRF.search(client.get(path).text).group(1)


def summary_links(html: str) -> list[str]:
    found = SUMMARY.search(html)
    assert found, "no error summary"
    return re.findall(r'<a href="([^"]+)"', found.group(0))


def tags(html: str) -> list[str]:
    """The words on each GOV.UK tag, in order."""
    return [t.strip() for t in re.findall(r'class="govuk-tag[^"]*">([^<]*)<', html)]


def date_fields(name: str, day) -> dict:
    return {f"{name}-day": day.day, f"{name}-month": day.month, f"{name}-year": day.year}


@pytest.fixture
def moderator(browser):
    return browser(Role.MODERATOR)


@pytest.fixture
def made(db, audit, first, second):
    """Two actions made through the service (no client): one overdue and agreed."""
    full = audits.get_audit(db, audit_id=audit.id, actor=SYSTEM)
    overdue = service.create_action(
        db,
        actor=SYSTEM,
        audit=full,
        title="Add the child's voice to strategy minutes",
        owning_agency_id=first.id,
        owner_name="Jo Bloggs",
        due_on=TODAY - timedelta(days=40),
        success_measure="9 of 10 minutes",
    )
    service.change_status(db, actor=SYSTEM, action=overdue, to=ActionStatus.AGREED)
    later = service.create_action(
        db,
        actor=SYSTEM,
        audit=full,
        title="Invite health to strategy discussions",
        owning_agency_id=second.id,
        owner_name="Sam Smith",
        due_on=TODAY + timedelta(days=60),
        success_measure="95% attendance",
    )
    db.commit()
    return {"overdue": overdue.id, "later": later.id}


class TestTheTracker:
    def test_lists_the_actions_with_their_standing_in_words(self, moderator, made):
        page = moderator.get("/actions")
        assert page.status_code == 200
        html = unescape(page.text)
        assert "2 actions" in html
        assert "Add the child's voice to strategy minutes" in html
        assert {"Agreed", "Proposed", "Overdue", "On track"} <= set(tags(page.text))
        assert "40 days overdue" in html
        assert "QAPP, Executive" in html
        assert 'href="/api/v1/actions/export.xlsx"' in page.text

    def test_filters_narrow_the_rows_and_the_downloads(self, moderator, audit, made):
        page = moderator.get(
            "/actions",
            params={"audit_id": audit.id, "agency_id": "", "status": "", "overdue": "yes"},
        )
        html = unescape(page.text)
        assert "1 action match the filters" in html
        assert "Invite health" not in html
        query = f"audit_id={audit.id}&amp;overdue=yes"
        assert f'href="/api/v1/actions/export.xlsx?{query}"' in page.text
        assert f'href="/api/v1/actions/export.csv?{query}"' in page.text
        assert 'value="yes" checked' in page.text
        assert "Clear filters" in page.text

    def test_a_filter_that_is_not_a_choice_is_refused(self, moderator):
        assert moderator.get("/actions", params={"status": "nonsense"}).status_code == 422
        assert moderator.get("/actions", params={"audit_id": "x"}).status_code == 422

    def test_no_actions_yet(self, moderator, audit):
        assert "There are no learning actions" in moderator.get("/actions").text
        # Filtered by an audit with no actions yet (as its findings page links), the
        # form still shows which audit.
        page = moderator.get("/actions", params={"audit_id": audit.id}).text
        assert re.search(rf'<option value="{audit.id}" selected', page)


class TestAnActionsPage:
    def test_shows_history_and_the_next_steps_a_moderator_may_take(self, moderator, made):
        page = moderator.get(f"/actions/{made['later']}").text
        assert "Agree the action" in page and "Do not accept the action" in page
        assert 'id="not_accepted-reason"' in page
        assert "Change the action" in page
        assert "History" in page and "Proposed" in tags(page)

    def test_an_agency_lead_sees_their_steps_only_on_their_own_action(self, browser, made, first):
        lead = browser(Role.AGENCY_LEAD, first.id)
        ours = lead.get(f"/actions/{made['overdue']}").text
        assert "Start work on the action" in ours and "Add a progress note" in ours
        assert "Change the action" not in ours
        theirs = lead.get(f"/actions/{made['later']}").text
        assert "Agree the action" not in theirs and "Add a progress note" not in theirs

    def test_moving_it_on_and_the_error_summary_for_missing_evidence(self, moderator, db, made):
        aid = made["overdue"]
        csrf = token(moderator, f"/actions/{aid}")
        r = moderator.post(
            f"/actions/{aid}/status",
            data={"csrf_token": csrf, "status": "in_progress", "note": "Started", "version": 2},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == f"/actions/{aid}"
        assert "The action is now in progress." in moderator.get(r.headers["location"]).text

        r = moderator.post(
            f"/actions/{aid}/status",
            data={"csrf_token": csrf, "status": "completed", "note": "Kept", "version": 3},
        )
        assert r.status_code == 422
        assert summary_links(r.text) == ["#completed-evidence"]
        assert "Enter the evidence that the action has been completed" in r.text
        assert ">Kept</textarea>" in r.text  # what was typed is kept
        assert db.get(LearningAction, aid).status == ActionStatus.IN_PROGRESS

    def test_an_illegal_step_is_409(self, moderator, made):
        aid = made["later"]
        csrf = token(moderator, f"/actions/{aid}")
        r = moderator.post(f"/actions/{aid}/status", data={"csrf_token": csrf, "status": "closed"})
        assert (
            r.status_code == 409
            and "From here it can move to agreed or not accepted" in unescape(r.text)
        )

    def test_a_progress_note(self, moderator, made):
        aid = made["later"]
        csrf = token(moderator, f"/actions/{aid}")
        r = moderator.post(f"/actions/{aid}/notes", data={"csrf_token": csrf, "note": ""})
        assert r.status_code == 422 and summary_links(r.text) == ["#progress-note"]
        r = moderator.post(
            f"/actions/{aid}/notes", data={"csrf_token": csrf, "note": "Met the named nurse."}
        )
        assert r.status_code == 200 and "Met the named nurse." in r.text  # after the redirect


class TestProposeAndChangeAnAction:
    def test_from_a_finding_the_form_starts_linked_to_it(self, moderator, db, audit, first):
        finding = _finding(db, audit, agency_id=first.id)
        page = moderator.get(f"/audits/{audit.id}/actions/new", params={"finding_id": finding.id})
        assert page.status_code == 200
        assert re.search(rf'value="{finding.id}" checked', page.text)
        assert re.search(rf'<option value="{first.id}" selected', page.text)

    def test_mistakes_are_listed_in_page_order(self, moderator, audit):
        csrf = token(moderator, f"/audits/{audit.id}/actions/new")
        r = moderator.post(
            f"/audits/{audit.id}/actions/new",
            data={
                "csrf_token": csrf,
                "due_on-day": "31",
                "due_on-month": "2",
                "due_on-year": "2027",
            },
        )
        assert r.status_code == 422
        assert summary_links(r.text) == [
            "#title",
            "#owning_agency_id",
            "#owner_name",
            "#due_on-day",
            "#success_measure",
        ]
        assert "Due date must be a real date" in r.text

    def test_an_agency_not_in_the_audit_is_refused(self, moderator, db, audit):
        outsider = make_agency(db, name="Outsider")
        db.commit()
        csrf = token(moderator, f"/audits/{audit.id}/actions/new")
        r = moderator.post(
            f"/audits/{audit.id}/actions/new",
            data={
                "csrf_token": csrf,
                "title": "x",
                "owning_agency_id": outsider.id,
                "owner_name": "Jo",
                "success_measure": "y",
                **date_fields("due_on", TODAY),
            },
        )
        assert r.status_code == 422 and summary_links(r.text) == ["#owning_agency_id"]
        assert "Choose an agency taking part in this audit" in r.text

    def test_propose_then_change(self, moderator, db, audit, first):
        finding = _finding(db, audit)
        csrf = token(moderator, f"/audits/{audit.id}/actions/new")
        r = moderator.post(
            f"/audits/{audit.id}/actions/new",
            data={
                "csrf_token": csrf,
                "title": "Reissue the consent guidance",
                "finding_ids": [finding.id],
                "owning_agency_id": first.id,
                "owner_name": "Principal Social Worker",
                "success_measure": "Re-audit shows consent recorded",
                **date_fields("due_on", TODAY + timedelta(days=20)),
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        aid = int(re.fullmatch(r"/actions/(\d+)", r.headers["location"]).group(1))
        assert "The action has been proposed." in moderator.get(r.headers["location"]).text
        action = db.get(LearningAction, aid)
        assert action.status == ActionStatus.PROPOSED and action.owning_agency_id == first.id

        page = moderator.get(f"/actions/{aid}/edit").text
        assert 'value="Reissue the consent guidance"' in page and 'name="version" value="1"' in page
        r = moderator.post(
            f"/actions/{aid}/edit",
            data={
                "csrf_token": csrf,
                "version": "1",
                "title": "Reissue the consent guidance to all front door staff",
                "owning_agency_id": first.id,
                "owner_name": "Principal Social Worker",
                "success_measure": "Re-audit shows consent recorded",
                **date_fields("due_on", TODAY + timedelta(days=30)),
            },
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == f"/actions/{aid}"
        db.expire_all()
        action = db.get(LearningAction, aid)
        assert action.title.endswith("front door staff") and action.version == 2
        assert action.due_on == TODAY + timedelta(days=30)

    def test_a_finished_action_has_no_form_to_change_it(self, moderator, db, made):
        action = service.get_action(db, action_id=made["later"], actor=SYSTEM)
        service.change_status(
            db, actor=SYSTEM, action=action, to=ActionStatus.NOT_ACCEPTED, reason="Duplicate"
        )
        db.commit()
        assert moderator.get(f"/actions/{made['later']}/edit").status_code == 409
        page = moderator.get(f"/actions/{made['later']}").text
        assert "Change the action" not in page and "nothing more happens to it" in page

    def test_an_agency_lead_may_not_propose(self, browser, audit, first):
        lead = browser(Role.AGENCY_LEAD, first.id)
        assert lead.get(f"/audits/{audit.id}/actions/new").status_code == 403


def _finding(db, audit, **about) -> Finding:
    full = audits.get_audit(db, audit_id=audit.id, actor=SYSTEM)
    made = findings.create_finding(
        db,
        actor=SYSTEM,
        audit=full,
        kind="area_for_improvement",
        statement="Consent to share was not recorded.",
        **about,
    )
    db.commit()
    return made


class TestTheFindingsPage:
    def test_lists_findings_and_offers_the_form_to_moderators(self, moderator, db, audit, first):
        finding = _finding(db, audit, agency_id=first.id)
        page = moderator.get(f"/audits/{audit.id}/findings")
        assert page.status_code == 200
        assert "Consent to share was not recorded." in page.text
        assert f"Agency: {first.name}" in unescape(page.text)
        assert f'href="/audits/{audit.id}/actions/new?finding_id={finding.id}"' in page.text
        assert "Add a finding" in page.text

    def test_readers_see_no_form(self, browser, db, audit):
        _finding(db, audit)
        scrutineer = browser(Role.SCRUTINEER)
        page = scrutineer.get(f"/audits/{audit.id}/findings").text
        assert "Consent to share was not recorded." in page and "Add a finding" not in page

    def test_bad_input_comes_back_with_the_error_summary(self, moderator, db, audit):
        csrf = token(moderator, f"/audits/{audit.id}/findings")
        r = moderator.post(f"/audits/{audit.id}/findings", data={"csrf_token": csrf})
        assert r.status_code == 422
        assert summary_links(r.text) == ["#kind", "#statement"]
        assert r.text.count("Error:") >= 1 + 2

    def test_what_it_is_about_must_belong_to_the_audit(self, moderator, db, audit):
        outsider = make_agency(db, name="Outsider")
        db.commit()
        csrf = token(moderator, f"/audits/{audit.id}/findings")
        r = moderator.post(
            f"/audits/{audit.id}/findings",
            data={
                "csrf_token": csrf,
                "kind": "good_practice",
                "statement": "Good",
                "agency_id": outsider.id,
            },
        )
        assert r.status_code == 422 and summary_links(r.text) == ["#agency_id"]
        assert "Choose an agency taking part in this audit" in r.text
        assert db.scalar(select(Finding.id)) is None

    def test_add_then_change_a_finding(self, moderator, db, audit):
        child = cohort.list_children(db, audit=audit)[0]
        recording = db.scalar(select(Theme.id).where(Theme.name == "Recording"))
        csrf = token(moderator, f"/audits/{audit.id}/findings")
        r = moderator.post(
            f"/audits/{audit.id}/findings",
            data={
                "csrf_token": csrf,
                "kind": "area_for_improvement",
                "statement": "Minutes missing",
                "theme_ids": [recording],
                "child_id": child.id,
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        finding = db.scalar(select(Finding))
        assert finding.child_id == child.id
        edit = moderator.get(f"/findings/{finding.id}/edit").text
        assert ">Minutes missing</textarea>" in edit
        r = moderator.post(
            f"/findings/{finding.id}/edit",
            data={"csrf_token": csrf, "kind": "good_practice", "statement": "Minutes kept"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        db.expire_all()
        finding = db.get(Finding, finding.id)
        assert (finding.kind.value, finding.statement, finding.child_id) == (
            "good_practice",
            "Minutes kept",
            None,
        )


class TestThemesPage:
    def test_add_refuse_a_duplicate_and_deactivate(self, browser, db):
        admin = browser(Role.ADMIN)
        page = admin.get("/admin/themes")
        assert "Voice of the child" in page.text
        csrf = CSRF.search(page.text).group(1)
        r = admin.post("/admin/themes", data={"csrf_token": csrf, "name": "Neglect"})
        assert r.status_code == 200 and "The theme has been added." in r.text
        r = admin.post("/admin/themes", data={"csrf_token": csrf, "name": "neglect"})
        assert r.status_code == 409 and summary_links(r.text) == ["#name"]
        r = admin.post("/admin/themes", data={"csrf_token": csrf, "name": ""})
        assert r.status_code == 422 and summary_links(r.text) == ["#name"]
        neglect = db.scalar(select(Theme).where(Theme.name == "Neglect"))
        r = admin.post(f"/admin/themes/{neglect.id}/deactivate", data={"csrf_token": csrf})
        assert r.status_code == 200 and "Use again<span" in r.text
        db.expire_all()
        assert db.get(Theme, neglect.id).active is False

    def test_moderators_cannot_manage_themes(self, moderator):
        assert moderator.get("/admin/themes").status_code == 403
