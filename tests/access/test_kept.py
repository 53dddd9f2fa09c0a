"""Nothing typed is lost at the session timeout (app/access/kept.py): a form posted
after the session sat idle is kept for its author, the sign-in page says so, and after
signing in again it is posted back and saved; nobody else sees it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.access.models import KeptPost, WebSession
from app.agencies.models import Agency
from app.audit_templates import service as templates
from app.audits.models import Audit
from app.clock import utcnow
from app.returns.models import KeyAreaEvidence, Return
from tests.helpers.access import (
    PASSWORD,
    enrolled_auditor,
    next_code,
    post_sign_in,
    sign_in_with_the_form,
)

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
TYPED = "She waited nine days for a visit; the notes say why & what changed."


@pytest.fixture
def browser(anonymous_client, db):
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    return anonymous_client


@pytest.fixture
def working(browser, db):
    """An auditor signed in, with a key area of one of their returns open."""
    user, audit = enrolled_auditor(db)
    sign_in_with_the_form(browser, user)
    return_id = db.scalar(
        select(Return.id).where(Return.audit_id == audit.id, Return.agency_id == user.agency_id)
    )
    key_area = templates.get_version(db, version_id=audit.template_version_id).key_areas[0]
    path = f"/returns/{return_id}/areas/{key_area.id}"
    page = browser.get(path).text
    form = {
        "csrf_token": CSRF.search(page).group(1),
        "version": VERSION.search(page).group(1),
        "ev-could_be_better": TYPED,
    }
    return user, return_id, key_area, path, form


def idle_seconds(page: str) -> int:
    return int(re.search(r'data-idle-seconds="(\d+)"', page).group(1))


def sit_idle(db, settings_minutes: int = 15) -> None:
    for web in db.scalars(select(WebSession)):
        web.last_seen_at = utcnow() - timedelta(minutes=settings_minutes, seconds=1)
    db.commit()


def sign_in_again(browser, user) -> str:
    """Password, then code; where the service sends them afterwards."""
    post_sign_in(browser, {"email": user.email, "password": PASSWORD, "next": "/x"})
    r = browser.post(
        "/sign-in/code", data={"code": next_code(user), "next": "/my-work"}, follow_redirects=False
    )
    assert r.status_code == 303
    return r.headers["location"]


def evidence(db, return_id: int, key_area_id: int) -> str | None:
    return db.scalar(
        select(KeyAreaEvidence.could_be_better).where(
            KeyAreaEvidence.return_id == return_id, KeyAreaEvidence.key_area_id == key_area_id
        )
    )


def test_a_form_posted_after_the_timeout_is_kept_and_saved_after_signing_in(browser, db, working):
    user, return_id, key_area, path, form = working
    sit_idle(db)
    posted = browser.post(path, data=form, follow_redirects=False)
    assert posted.status_code == 303 and posted.headers["location"].startswith("/sign-in")
    assert evidence(db, return_id, key_area.id) is None  # nothing saved yet ...
    (kept,) = db.scalars(select(KeptPost)).all()  # ... but kept, for its author
    assert kept.user_id == user.id and kept.path == path
    assert ["ev-could_be_better", TYPED] in kept.fields
    assert all(name != "csrf_token" for name, _ in kept.fields)

    page = browser.get(posted.headers["location"]).text
    assert "You were signed out because you had not done anything for 15 minutes" in page
    assert "What you were saving when you were signed out has been kept" in page

    assert sign_in_again(browser, user) == "/kept"
    page = browser.get("/kept").text
    assert f'action="{path}"' in page and "Save what you typed" in page
    replay = dict(HIDDEN.findall(page))
    assert replay["ev-could_be_better"] == TYPED.replace("&", "&amp;")
    replay["ev-could_be_better"] = TYPED  # as the browser sends it
    saved = browser.post(path, data=replay, follow_redirects=False)
    assert saved.status_code == 303 and "/sign-in" not in saved.headers["location"]
    assert evidence(db, return_id, key_area.id) == TYPED
    assert db.scalars(select(KeptPost)).all() == []
    assert browser.get("/kept", follow_redirects=False).status_code == 303  # nothing waiting


def test_a_post_without_the_sessions_own_token_is_not_kept(browser, db, working):
    _user, _return_id, _key_area, path, form = working
    sit_idle(db)
    browser.post(path, data=form | {"csrf_token": "0" * 64}, follow_redirects=False)
    browser.post(path, data={k: v for k, v in form.items() if k != "csrf_token"})
    assert db.scalars(select(KeptPost)).all() == []
    page = browser.get("/sign-in").text
    assert "You were signed out because" in page and "has been kept" not in page


def test_only_its_author_sees_it_and_it_is_kept_for_a_day(browser, db, working):
    user, _return_id, _key_area, path, form = working
    sit_idle(db)
    browser.post(path, data=form, follow_redirects=False)
    colleague, _audit = enrolled_auditor(db, email="colleague@example.org")
    browser.cookies.clear()
    sign_in_with_the_form(browser, colleague)
    assert browser.get("/kept", follow_redirects=False).status_code == 303
    (kept,) = db.scalars(select(KeptPost)).all()
    kept.created_at = utcnow() - timedelta(hours=24, seconds=1)
    db.commit()
    browser.cookies.clear()
    assert sign_in_again(browser, user) == "/my-work"  # too old: gone
    assert db.scalars(select(KeptPost)).all() == []


def test_stay_signed_in_starts_the_idle_time_again(browser, db, working):
    _user, _return_id, _key_area, path, form = working
    web = db.scalars(select(WebSession)).one()
    web.last_seen_at = utcnow() - timedelta(minutes=14)
    db.commit()
    stayed = browser.post("/signed-in", data={"csrf_token": form["csrf_token"]})
    assert stayed.status_code == 200 and "You are still signed in." in stayed.text
    # The warning as a plain page, for a browser without JavaScript.
    assert "you are signed out after 15 minutes without doing anything" in stayed.text
    assert utcnow() - web.last_seen_at < timedelta(seconds=5)
    by_script = browser.post("/signed-in", headers={"X-CSRF-Token": form["csrf_token"]})
    assert by_script.json() == {"idle_seconds": 900}
    web.last_seen_at = utcnow() - timedelta(minutes=16)
    db.commit()
    late = browser.post(
        "/signed-in", data={"csrf_token": form["csrf_token"]}, follow_redirects=False
    )
    assert late.status_code == 303 and late.headers["location"].startswith("/sign-in")


def test_every_signed_in_page_carries_the_timeout_warning(browser, db, working):
    page = browser.get("/my-work").text
    assert 'id="timeout-warning" role="alertdialog"' in page
    assert 895 <= idle_seconds(page) <= 900
    # Activity is noted at most once a minute: the warning counts from the last noted,
    # so it still comes two minutes before the service signs the person out.
    for web in db.scalars(select(WebSession)):
        web.last_seen_at = utcnow() - timedelta(seconds=40)
    db.commit()
    assert 855 <= idle_seconds(browser.get("/my-work").text) <= 860
    browser.cookies.clear()
    assert 'id="timeout-warning"' not in browser.get("/sign-in").text


def test_only_the_forms_people_write_in_are_kept_and_only_for_a_day(browser, db, working):
    user, _return_id, _key_area, path, form = working
    sit_idle(db)
    # Signing out (an action, not writing) is never carried out later.
    browser.post("/sign-out", data={"csrf_token": form["csrf_token"]}, follow_redirects=False)
    assert db.scalars(select(KeptPost)).all() == []
    # A session that timed out more than a day ago, though only now found ended.
    for web in db.scalars(select(WebSession)):
        web.ended_at, web.end_reason = None, None
        web.last_seen_at = utcnow() - timedelta(hours=24, minutes=16)
    db.commit()
    browser.post(path, data=form, follow_redirects=False)
    assert db.scalars(select(KeptPost)).all() == []


def test_nothing_kept_is_posted_after_signing_out_or_an_access_change(browser, db, working):
    from app.access import service as access

    user, _return_id, _key_area, path, form = working
    sit_idle(db)
    browser.post(path, data=form, follow_redirects=False)
    assert len(db.scalars(select(KeptPost)).all()) == 1
    access.end_sessions(db, user=user, reason="password changed")
    db.commit()
    assert db.scalars(select(KeptPost)).all() == []


def test_saving_the_page_yourself_clears_what_was_kept_for_it(browser, db, working):
    user, return_id, key_area, path, form = working
    sit_idle(db)
    browser.post(path, data=form, follow_redirects=False)
    assert sign_in_again(browser, user) == "/kept"
    # Rather than save what was kept, they write the key area again and save it.
    page = browser.get(path).text
    fresh = {
        "csrf_token": CSRF.search(page).group(1),
        "version": VERSION.search(page).group(1),
        "ev-could_be_better": "Written again after signing in.",
    }
    assert browser.post(path, data=fresh, follow_redirects=False).status_code == 303
    assert db.scalars(select(KeptPost)).all() == []  # it will not come back over this
    assert evidence(db, return_id, key_area.id) == "Written again after signing in."


def test_several_kept_pages_are_named_and_saved_one_after_another(browser, db, working):
    user, return_id, key_area, path, form = working
    audit = db.get(Audit, db.get(Return, return_id).audit_id)
    second = templates.get_version(db, version_id=audit.template_version_id).key_areas[1]
    other_path = f"/returns/{return_id}/areas/{second.id}"
    sit_idle(db)
    browser.post(path, data=form, follow_redirects=False)
    browser.post(other_path, data=form, follow_redirects=False)
    assert len(db.scalars(select(KeptPost)).all()) == 2
    assert sign_in_again(browser, user) == "/kept"
    page = browser.get("/kept").text
    # Each named by the page it was for; each comes back here once saved.
    agency = db.get(Agency, db.get(Return, return_id).agency_id).name
    assert f"Child A, {agency}: {key_area.title}" in page
    assert f": {second.title}" in page and "2 pages" in page
    forms = {
        action: dict(HIDDEN.findall(body))
        for action, body in re.findall(
            r'<form method="post" action="([^"]+)"(.*?)</form>', page, re.S
        )
        if action.startswith("/returns/")
    }
    assert forms[path]["then"] == "kept" and forms[other_path]["then"] == "kept"
    for fields in forms.values():
        fields["ev-could_be_better"] = TYPED
    first = browser.post(path, data=forms[path], follow_redirects=False)
    assert first.headers["location"] == "/kept"  # the other still waits
    # Both were typed on the same version of the return, so the second is told the
    # first was saved meanwhile (by the auditor), with its words still in the form.
    stale = browser.post(other_path, data=forms[other_path], follow_redirects=False)
    assert stale.status_code == 409 and "in another tab or window" in stale.text
    assert TYPED.replace("&", "&amp;") in stale.text
    again = forms[other_path] | {"version": VERSION.search(stale.text).group(1)}
    last = browser.post(other_path, data=again, follow_redirects=False)
    assert last.status_code == 303 and last.headers["location"] != "/kept"
    assert evidence(db, return_id, key_area.id) == TYPED
    assert evidence(db, return_id, second.id) == TYPED


def test_a_form_from_another_site_after_the_timeout_is_not_kept(browser, db, working):
    """The cookie and even the token are not enough: the post must come from the
    service's own page (app.access.csrf)."""
    _user, return_id, key_area, path, form = working
    sit_idle(db)
    posted = browser.post(
        path, data=form, headers={"Origin": "https://evil.example"}, follow_redirects=False
    )
    assert posted.status_code == 303 and posted.headers["location"].startswith("/sign-in")
    assert db.scalars(select(KeptPost)).all() == []
    assert evidence(db, return_id, key_area.id) is None
