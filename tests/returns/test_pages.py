"""Completing a return in the browser without JavaScript: key area by key area, the
error summary, check your answers, submit, and the stale-tab conflict."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.agencies.models import Agency
from app.audit_templates import service as templates
from app.auditlog.models import AuditEvent
from app.formatting import format_time
from app.returns.models import Return
from tests.helpers.access import browse_as, signed_in_cookie
from tests.helpers.factories import make_audit, make_template

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')


def _signed_in_to_a_return(anonymous_client, db, version=None):
    """An auditor signed in, with the one return of a new one-child, one-agency audit
    (of ``version``, or a new template): (browser, return id, template version)."""
    audit = make_audit(db, children=1, agencies_count=1, version=version)
    auditor = access.create_user(
        db,
        email="auditor@example.org",
        display_name="Auditor",
        roles={Role.AUDITOR},
        agency_id=audit.agencies[0].id,
    )
    cookie = signed_in_cookie(db, auditor)
    anonymous_client.cookies.set("case_audit_session", cookie)
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    return_ = db.scalar(select(Return).where(Return.audit_id == audit.id))
    version = templates.get_version(db, version_id=audit.template_version_id)
    db.commit()
    return anonymous_client, return_.id, version


@pytest.fixture
def setting(anonymous_client, db):
    return _signed_in_to_a_return(anonymous_client, db)


def _form(page: str, **fields) -> dict:
    return {
        "csrf_token": CSRF.search(page).group(1),
        "version": VERSION.search(page).group(1),
        **fields,
    }


def _fill(key_area, *, date="27") -> dict:
    yes_no, free_text, when = key_area.questions
    return {
        f"q-{yes_no.id}": "partly",
        f"q-{free_text.id}": "She said she felt listened to.",
        f"q-{when.id}-day": date,
        f"q-{when.id}-month": "3",
        f"q-{when.id}-year": "2024",
        "ev-went_well": "Seen the same day.",
        "ev-could_be_better": "",
        "ev-impact_on_child": "",
        "grade": "G",
    }


def test_task_list_then_each_key_area_then_check_and_submit(setting):
    browser, return_id, version = setting
    first, second = version.key_areas
    tasks = browser.get(f"/returns/{return_id}").text
    assert "Not yet started" in tasks and first.title in tasks

    page = browser.get(f"/returns/{return_id}/areas/{first.id}").text
    r = browser.post(
        f"/returns/{return_id}/areas/{first.id}",
        data=_form(page, **_fill(first)),
        follow_redirects=False,
    )
    assert (
        r.status_code == 303 and r.headers["location"] == f"/returns/{return_id}/areas/{second.id}"
    )
    assert "Completed" in browser.get(f"/returns/{return_id}").text

    # Unfinished: the task list says so, and Check your answers lists what is left as
    # links rather than offering a submit that would fail with an error per question.
    tasks = browser.get(f"/returns/{return_id}").text
    assert "You have completed 1 of 3 sections." in tasks and "Cannot start yet" in tasks
    assert f'href="/returns/{return_id}/check"' not in tasks
    check = browser.get(f"/returns/{return_id}/check").text
    assert "Finish these sections before you submit" in check and "Submit return" not in check
    assert f'<a class="govuk-link" href="/returns/{return_id}/areas/{second.id}">' in check
    assert f'<a class="govuk-link" href="/returns/{return_id}/overall">Overall grade</a>' in check
    # A submit posted anyway lists what is missing, each linking to its place.
    page = browser.get(f"/returns/{return_id}/areas/{second.id}").text
    refused = browser.post(f"/returns/{return_id}/submit", data=_form(page))
    assert refused.status_code == 422 and "There is a problem" in refused.text
    assert f'href="/returns/{return_id}/areas/{second.id}#grade"' in refused.text
    assert f'href="/returns/{return_id}/overall#overall"' in refused.text

    page = browser.get(f"/returns/{return_id}/areas/{second.id}").text
    browser.post(f"/returns/{return_id}/areas/{second.id}", data=_form(page, **_fill(second)))
    page = browser.get(f"/returns/{return_id}/overall").text
    r = browser.post(
        f"/returns/{return_id}/overall", data=_form(page, overall="G"), follow_redirects=False
    )
    assert r.headers["location"] == f"/returns/{return_id}/check"

    check = browser.get(f"/returns/{return_id}/check").text
    assert "She said she felt listened to." in check and "Good" in check
    assert "Partly" in check and "27 March 2024" in check  # as the template words them
    assert "partly" not in check and "2024-03-27" not in check
    done = browser.post(f"/returns/{return_id}/submit", data=_form(check))
    assert done.status_code == 200 and "Return submitted" in done.text
    locked = browser.get(f"/returns/{return_id}").text
    assert "can no longer be changed" in locked


def test_change_returns_to_check_answers_and_save_and_come_back_later(setting):
    browser, return_id, version = setting
    first = version.key_areas[0]
    page = browser.get(f"/returns/{return_id}/areas/{first.id}").text
    assert "key area 1 of 2" in page and "Save and come back later" in page
    later = browser.post(
        f"/returns/{return_id}/areas/{first.id}",
        data=_form(page, **_fill(first), then="later"),
        follow_redirects=False,
    )
    assert later.status_code == 303 and later.headers["location"] == f"/returns/{return_id}"
    assert "Your answers have been saved" in browser.get(f"/returns/{return_id}").text
    check = browser.get(f"/returns/{return_id}/check").text
    change = f"/returns/{return_id}/areas/{first.id}?back=check"
    assert f'href="{change}#q-{first.questions[0].id}"' in check
    page = browser.get(change).text
    assert f'action="{change}"' in page
    changed = browser.post(change, data=_form(page, **_fill(first)), follow_redirects=False)
    assert changed.headers["location"] == f"/returns/{return_id}/check"


def test_a_bad_date_is_shown_in_the_error_summary_and_nothing_is_saved(setting, db):
    browser, return_id, version = setting
    first = version.key_areas[0]
    when = first.questions[2]  # read now: the refusal's rollback expires what was loaded
    page = browser.get(f"/returns/{return_id}/areas/{first.id}").text
    r = browser.post(
        f"/returns/{return_id}/areas/{first.id}", data=_form(page, **_fill(first, date="31-ish"))
    )
    assert r.status_code == 422
    # The one date reader's words, linking to the day box as GOV.UK's date input does.
    assert f'href="#q-{when.id}-day"' in r.text and "The date must be a real date" in r.text
    assert "She said she felt listened to." in r.text  # what was typed is kept
    assert db.get(Return, return_id).version == 1


def test_a_date_that_does_not_exist_is_refused_in_the_page_s_words(setting, db):
    browser, return_id, version = setting
    first = version.key_areas[0]
    when = first.questions[2]
    february_31 = _fill(first, date="31") | {f"q-{when.id}-month": "2"}
    no_year = _fill(first) | {f"q-{when.id}-year": ""}
    page = browser.get(f"/returns/{return_id}/areas/{first.id}").text
    r = browser.post(f"/returns/{return_id}/areas/{first.id}", data=_form(page, **february_31))
    assert r.status_code == 422 and "The date must be a real date" in r.text
    assert "YYYY-MM-DD" not in r.text
    r = browser.post(f"/returns/{return_id}/areas/{first.id}", data=_form(page, **no_year))
    assert r.status_code == 422 and "The date must include a year" in r.text
    assert db.get(Return, return_id).version == 1


def test_a_stale_tab_is_told_and_shown_both_versions(setting):
    browser, return_id, version = setting
    first = version.key_areas[0]
    old_tab = browser.get(f"/returns/{return_id}/areas/{first.id}").text
    new_tab = browser.get(f"/returns/{return_id}/areas/{first.id}").text
    browser.post(f"/returns/{return_id}/areas/{first.id}", data=_form(new_tab, **_fill(first)))
    stale = _fill(first)
    stale[f"q-{first.questions[1].id}"] = "Typed in the older tab."
    r = browser.post(f"/returns/{return_id}/areas/{first.id}", data=_form(old_tab, **stale))
    assert r.status_code == 409
    assert "This return was saved elsewhere while you had it open" in r.text
    # The same person in another tab is not blamed on "someone else".
    assert "saved by you, in another tab or window, at " in r.text
    assert "someone else" not in r.text.lower()
    assert "Typed in the older tab." in r.text  # this tab's words are kept ...
    # ... beside the saved ones.
    assert (
        'Saved version:</strong> <span class="app-pre-line">She said she felt listened to.'
        in r.text
    )
    saved = browser.get(f"/returns/{return_id}/check").text
    assert "Typed in the older tab." not in saved


def test_autosave_saves_a_draft_and_answers_with_the_new_version(setting):
    browser, return_id, version = setting
    first = version.key_areas[0]
    page = browser.get(f"/returns/{return_id}/areas/{first.id}").text
    assert "data-autosave" in page
    fields = _form(page, **{f"q-{first.questions[1].id}": "Typed, not yet submitted."})
    r = browser.post(
        f"/returns/{return_id}/areas/{first.id}",
        data=fields,
        headers={"X-Autosave": "1", "X-CSRF-Token": fields["csrf_token"]},
    )
    assert r.status_code == 200 and r.json() == {"saved": True, "version": 2}
    assert "Typed, not yet submitted." in browser.get(f"/returns/{return_id}/check").text
    stale = browser.post(
        f"/returns/{return_id}/areas/{first.id}",
        data=fields,
        headers={"X-Autosave": "1", "X-CSRF-Token": fields["csrf_token"]},
    )
    assert stale.status_code == 409 and "in another tab or window" in stale.json()["detail"]


def test_a_conflict_names_who_saved_and_when(setting, db):
    browser, return_id, version = setting
    first = version.key_areas[0]
    page = browser.get(f"/returns/{return_id}/areas/{first.id}").text
    colleague = access.create_user(
        db,
        email="sam.patel@example.org",
        display_name="Sam Patel",
        roles={Role.AUDITOR},
        agency_id=db.get(Return, return_id).agency_id,
    )
    db.commit()
    mine = browser.cookies.get("case_audit_session")
    browse_as(browser, db, colleague)
    theirs = browser.get(f"/returns/{return_id}/areas/{first.id}").text
    saved = browser.post(
        f"/returns/{return_id}/areas/{first.id}",
        data=_form(theirs, **_fill(first)),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    browser.cookies.set("case_audit_session", mine)
    r = browser.post(f"/returns/{return_id}/areas/{first.id}", data=_form(page, **_fill(first)))
    at = db.scalar(select(AuditEvent.at).where(AuditEvent.action == "return.save_draft"))
    agency = db.get(Agency, db.get(Return, return_id).agency_id).name
    assert r.status_code == 409
    assert f"This return was saved by Sam Patel, {agency}, at {format_time(at)}" in r.text
    assert "sam.patel@example.org" not in r.text


def test_a_conflict_is_resolved_field_by_field(setting, db):
    """Someone else saved the key area while this page was open: the page asks, for
    each field whose words differ, which to keep; saving takes the saved words where
    chosen and this page's everywhere else."""
    browser, return_id, version = setting
    first = version.key_areas[0]
    yes_no, free_text, when = first.questions
    area = f"/returns/{return_id}/areas/{first.id}"
    page = browser.get(area).text
    theirs = _fill(first) | {f"q-{free_text.id}": "Their account.", "ev-went_well": "Theirs."}
    assert browser.post(area, data=_form(page, **theirs), follow_redirects=False).status_code == 303
    mine = _fill(first) | {f"q-{free_text.id}": "My account.", "ev-went_well": "Mine."}
    conflict = browser.post(area, data=_form(page, **mine))
    assert conflict.status_code == 409
    # A choice only where the words differ; the same words say so.
    asked = set(re.findall(r'name="keep-([^"]+)" type="radio" value="theirs"', conflict.text))
    assert asked == {f"q-{free_text.id}", "ev-went_well"}
    # The yes/no and date answers, two empty boxes and the grade are the same.
    assert conflict.text.count("Saved version: the same as yours.") == 5
    assert "Keep the saved version of everything and discard your changes" in conflict.text
    # Theirs for the account, mine for what went well (the default).
    choices = {f"keep-q-{free_text.id}": "theirs", "keep-ev-went_well": "mine"}
    saved = browser.post(area, data=_form(conflict.text, **mine, **choices), follow_redirects=False)
    assert saved.status_code == 303
    again = browser.get(area).text
    assert "Their account." in again and "My account." not in again
    assert ">Mine.</textarea>" in again and "Theirs." not in again


def test_a_template_without_evidence_boxes_asks_only_its_questions(anonymous_client, db):
    """A questionnaire leaves out the three boxes of evidence: no boxes on its pages,
    and saving a key area neither asks for nor clears them."""
    version = make_template(db)
    version.has_evidence_boxes = False
    db.commit()
    browser, return_id, version = _signed_in_to_a_return(anonymous_client, db, version)
    first = version.key_areas[0]
    area = f"/returns/{return_id}/areas/{first.id}"
    page = browser.get(area).text
    assert "What went well" not in page and ">Evidence</h2>" not in page
    answers = {k: v for k, v in _fill(first).items() if not k.startswith("ev-")}
    saved = browser.post(area, data=_form(page, **answers), follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert "What went well" not in browser.get(f"/returns/{return_id}/check").text


@pytest.mark.parametrize("path", ["areas", "overall", "submit"])
def test_an_unreadable_version_is_refused_as_stale_not_a_server_error(setting, path):
    browser, return_id, version = setting
    page = browser.get(f"/returns/{return_id}/areas/{version.key_areas[0].id}").text
    target = f"areas/{version.key_areas[0].id}" if path == "areas" else path
    fields = _form(page) | {"version": "not-a-number"}
    r = browser.post(f"/returns/{return_id}/{target}", data=fields)
    assert r.status_code in (409, 422), r.text


def test_someone_who_may_only_read_a_draft_sees_answers_not_a_form(setting, db):
    browser, return_id, version = setting
    first = version.key_areas[0]
    page = browser.get(f"/returns/{return_id}/areas/{first.id}").text
    saved = browser.post(f"/returns/{return_id}/areas/{first.id}", data=_form(page, **_fill(first)))
    assert saved.status_code == 200
    moderator = access.create_user(
        db, email="mod@example.org", display_name="Moderator", roles={Role.MODERATOR}
    )
    db.commit()
    browse_as(browser, db, moderator)
    read = browser.get(f"/returns/{return_id}/areas/{first.id}").text
    assert "She said she felt listened to." in read and "Partly" in read
    assert "Save and continue" not in read and "<textarea" not in read
    assert "Good" in read  # the grade's label, not its code


def test_the_overall_grade_page_shows_the_key_area_grades_and_what_each_grade_means(
    anonymous_client, db
):
    from app.audit_templates.schemas import TemplateContent
    from tests.helpers.factories import template_content

    content = template_content()
    for level in content["scale"]["levels"]:
        level["description"] = f"What {level['label']} means in practice."
    version = templates.create_draft(db, content=TemplateContent.model_validate(content))
    templates.publish(db, version=version)
    browser, return_id, version = _signed_in_to_a_return(anonymous_client, db, version)
    first, second = version.key_areas
    page = browser.get(f"/returns/{return_id}/areas/{first.id}").text
    browser.post(f"/returns/{return_id}/areas/{first.id}", data=_form(page, **_fill(first)))
    overall = browser.get(f"/returns/{return_id}/overall").text
    given = overall[overall.index("grades for each key area") : overall.index("<fieldset")]
    assert first.title in given and "Good" in given  # graded
    assert second.title in given and "Not graded yet" in given
    for label in ("Outstanding", "Good", "Inadequate"):
        assert f"What {label} means in practice." in overall
