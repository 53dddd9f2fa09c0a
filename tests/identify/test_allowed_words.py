"""The admin's list of words the identification check allows, and trying the check:
the partnership's own words stop being flagged, on the pages and over the API."""

from __future__ import annotations

from sqlalchemy import select

from app.access.models import Role
from app.auditlog.models import AuditEvent
from app.identify import detect
from app.identify.models import AllowedTerm
from app.identify.service import vocabulary
from tests.helpers import action_fixtures
from tests.helpers.actions import CSRF, summary_links

# The pages signed in for real, on the pinned clock (this folder's other tests need no
# database, so these fixtures are this module's, not a conftest's).
browser = action_fixtures.browser
person = action_fixtures.person
fresh_reads = action_fixtures.fresh_reads
fixed_clock = action_fixtures.fixed_clock

PAGE = "/admin/identification"
# "Sue Ryder" is a charity's name, which reads like a person's.
CHARITY = "A Sue Ryder nurse supported the family."


def test_a_charity_named_after_a_person_is_flagged_until_it_is_allowed(browser, db):
    admin = browser(Role.ADMIN)
    page = admin.get(PAGE)
    csrf = CSRF.search(page.text).group(1)
    tried = admin.post(f"{PAGE}/try", data={"csrf_token": csrf, "text": CHARITY})
    assert tried.status_code == 200
    assert "A person&#39;s name (“Sue Ryder”)" in tried.text

    added = admin.post(PAGE, data={"csrf_token": csrf, "term": "  sue   RYDER "})
    assert added.status_code == 200 and "will no longer be flagged" in added.text
    db.expire_all()
    term = db.scalar(select(AllowedTerm))
    assert (term.term, term.key) == ("sue RYDER", "sue ryder")
    assert "sue ryder" in vocabulary(db)
    tried = admin.post(f"{PAGE}/try", data={"csrf_token": csrf, "text": CHARITY})
    assert "The check would find nothing in this text." in tried.text

    again = admin.post(PAGE, data={"csrf_token": csrf, "term": "Sue Ryder"})
    assert again.status_code == 409 and summary_links(again.text) == ["#term"]
    blank = admin.post(PAGE, data={"csrf_token": csrf, "term": " "})
    assert blank.status_code == 422 and summary_links(blank.text) == ["#term"]

    removed = admin.post(f"{PAGE}/{term.id}/remove", data={"csrf_token": csrf})
    assert removed.status_code == 200 and "will flag it again" in removed.text
    db.expire_all()
    assert db.scalar(select(AllowedTerm)) is None
    actions = db.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "identify_allowed_term")
    ).all()
    assert actions == ["identify.allow", "identify.disallow"]


def test_agencies_are_never_names_and_words_inside_an_allowed_phrase_only(db):
    allowed = ["Westshire Police", "Sue Ryder"]
    assert detect.find("Westshire Police attended the strategy discussion.", allowed=allowed) == []
    # An allowed phrase does not hide a name beside it.
    [found] = detect.find("PC Jayden Smith of Westshire Police attended.", allowed=allowed)
    assert (found.kind, found.text) == ("name", "Jayden Smith")


def test_the_api_lists_adds_and_removes_and_tries(browser, db):
    admin = browser(Role.ADMIN)
    csrf = CSRF.search(admin.get(PAGE).text).group(1)
    headers = {"X-CSRF-Token": csrf}
    api = "/api/v1/identification"
    r = admin.post(f"{api}/allowed-terms", json={"term": "Wyre Forest"}, headers=headers)
    assert r.status_code == 201 and r.json()["term"] == "Wyre Forest"
    assert [t["term"] for t in admin.get(f"{api}/allowed-terms").json()] == ["Wyre Forest"]
    r = admin.post(f"{api}/allowed-terms", json={"term": ""}, headers=headers)
    assert r.status_code == 422
    text = "Call 07700 900123 about Jayden."
    r = admin.post(f"{api}/try", json={"text": text}, headers=headers)
    # 07700 900123 is in Ofcom's range for drama: an invented number.
    assert [(p["kind"], p["blocking"]) for p in r.json()] == [("phone", True), ("name", True)]
    assert "»07700 900123«" in r.json()[0]["excerpt"]
    term_id = db.scalar(select(AllowedTerm.id))
    assert admin.delete(f"{api}/allowed-terms/{term_id}", headers=headers).status_code == 204
    assert admin.delete(f"{api}/allowed-terms/{term_id}", headers=headers).status_code == 404


def test_only_those_who_keep_the_reference_lists_may_change_it(browser):
    moderator = browser(Role.MODERATOR)
    assert moderator.get(PAGE).status_code == 403
