"""The access review: an agency lead ticks which of their agency's accounts still need
access, confirms whose access goes (listed first), and the review is recorded and
logged; only the agency's own lead may review it; the lead's start page says when a
review is due; administrators see each agency's last review."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import time_machine
from sqlalchemy import select

from app.access import service as access
from app.access.models import AccessReview, ApiToken, Role, User, WebSession
from app.auditlog.models import AuditEvent
from app.home import service as attention
from tests.helpers.access import actor_of, browse_as, signed_in_cookie
from tests.helpers.factories import make_agency

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
ADDED = datetime(2027, 1, 4, 12, tzinfo=UTC)  # when the agencies were added


def person(db, email: str, role: Role, agency=None) -> User:
    return access.create_user(
        db,
        email=email,
        display_name=email.split("@")[0].replace(".", " ").title(),
        roles={role},
        agency_id=agency.id if agency else None,
    )


@pytest.fixture
def world(db):
    with time_machine.travel(ADDED, tick=False):
        police, nhs = make_agency(db, name="Westshire Police"), make_agency(db, name="NHS Trust")
        people = {
            "lead": person(db, "lee.lead@example.org", Role.AGENCY_LEAD, police),
            "ann": person(db, "ann.auditor@example.org", Role.AUDITOR, police),
            "bob": person(db, "bob.auditor@example.org", Role.AUDITOR, police),
            "pat": person(db, "pat.practitioner@example.org", Role.PRACTITIONER, police),
            "gone": person(db, "gone.auditor@example.org", Role.AUDITOR, police),
            "nhs_lead": person(db, "nina.lead@example.org", Role.AGENCY_LEAD, nhs),
            "nhs_auditor": person(db, "nick.auditor@example.org", Role.AUDITOR, nhs),
            "admin": person(db, "ada.admin@example.org", Role.ADMIN),
            # An administrator based in the agency: not the lead's to remove.
            "based_admin": person(db, "bea.admin@example.org", Role.ADMIN, police),
        }
        access.update_user(db, user=people["gone"], changes={"active": False})
        db.commit()
    return police, nhs, people


@pytest.fixture
def as_(anonymous_client, db):
    """``as_(user)``: the browser, signed in as ``user``."""
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())

    def sign_in(user: User):
        browse_as(anonymous_client, db, user)
        return anonymous_client

    return sign_in


def path(agency, end: str = "") -> str:
    return f"/agencies/{agency.id}/access-review{end}"


def token(browser, agency) -> str:
    return CSRF.search(browser.get(path(agency)).text).group(1)


class TestTheReview:
    def test_the_page_lists_the_agencys_active_accounts(self, as_, world):
        police, _nhs, people = world
        page = as_(people["lead"]).get(path(police))
        assert page.status_code == 200
        html = unescape(page.text)
        assert "Review your agency's accounts" in html and "Westshire Police" in html
        for who in ("ann", "bob", "pat"):
            assert f'value="{people[who].id}"' in html
            assert people[who].email in html
        assert "Auditor; never signed in (added 4 January 2027). Active." in html
        assert "gone.auditor@example.org" not in html  # disabled already
        assert "nick.auditor@example.org" not in html  # another agency's
        assert f'value="{people["lead"].id}"' not in html  # their own account stays
        assert f'value="{people["based_admin"].id}"' not in html  # the administrators' to review
        assert "Your own account (lee.lead@example.org) stays" in html
        assert "have not been reviewed yet" in html

    def test_the_unticked_are_listed_then_disabled_and_the_review_recorded(self, as_, db, world):
        police, _nhs, people = world
        ann, bob, pat = people["ann"], people["bob"], people["pat"]
        signed_in_cookie(db, bob)
        access.create_token(db, user=bob, name="scripts", days=30)
        db.commit()
        lead = as_(people["lead"])
        csrf = token(lead, police)
        checked = lead.post(path(police), data={"csrf_token": csrf, "keep": [str(ann.id)]})
        assert checked.status_code == 200
        html = unescape(checked.text)
        assert "Remove access for 2 people?" in html
        listed = html[html.index('id="removed"') :].split("</ul>")[0]
        assert "bob.auditor@example.org" in listed and "pat.practitioner@example.org" in listed
        assert "ann.auditor@example.org" not in listed
        db.expire_all()
        assert bob.active and pat.active  # nothing yet
        assert db.scalar(select(AccessReview)) is None

        done = lead.post(
            path(police, "/confirm"),
            data={"csrf_token": csrf, "keep": [str(ann.id)], "remove": [str(bob.id), str(pat.id)]},
        )
        assert done.status_code == 200  # the start page, with the flash
        assert "Your agency's access review is recorded: 1 account kept." in unescape(done.text)
        db.expire_all()
        assert ann.active and not bob.active and not pat.active
        assert bob.disabled_reason == "removed in the access review by Lee Lead"
        assert db.scalar(select(WebSession.end_reason).where(WebSession.user_id == bob.id)) == (
            "access changed"
        )
        assert db.scalar(select(ApiToken.revoked_at).where(ApiToken.user_id == bob.id))
        review = db.scalar(select(AccessReview))
        assert review.agency_id == police.id and review.reviewed_by_id == people["lead"].id
        assert review.kept == sorted([ann.id, people["lead"].id])
        assert review.removed == sorted([bob.id, pat.id])
        logged = db.scalar(select(AuditEvent).where(AuditEvent.action == "access_review.record"))
        assert logged.object_id == review.id and logged.user_label == "lee.lead@example.org"
        assert logged.after["removed"] == review.removed

    def test_everyone_kept_is_recorded_at_once(self, as_, db, world):
        police, _nhs, people = world
        lead = as_(people["lead"])
        keep = [str(people[w].id) for w in ("ann", "bob", "pat")]
        done = lead.post(path(police), data={"csrf_token": token(lead, police), "keep": keep})
        assert "recorded: 3 accounts kept." in unescape(done.text)
        review = db.scalar(select(AccessReview))
        assert review.removed == [] and len(review.kept) == 4

    def test_someone_added_since_the_lead_looked_stops_the_confirmation(self, as_, db, world):
        police, _nhs, people = world
        lead = as_(people["lead"])
        csrf = token(lead, police)
        person(db, "new.auditor@example.org", Role.AUDITOR, police)
        db.commit()
        refused = lead.post(
            path(police, "/confirm"),
            data={
                "csrf_token": csrf,
                "keep": [str(people["ann"].id)],
                "remove": [str(people["bob"].id), str(people["pat"].id)],
            },
        )
        assert refused.status_code == 409
        assert "have changed since you started the review" in unescape(refused.text)
        assert "new.auditor@example.org" in refused.text
        db.expire_all()
        assert people["bob"].active and db.scalar(select(AccessReview)) is None

    def test_someone_disabled_since_stops_it_too(self, as_, db, world):
        police, _nhs, people = world
        lead = as_(people["lead"])
        csrf = token(lead, police)
        access.update_user(db, user=people["pat"], changes={"active": False})
        db.commit()
        refused = lead.post(
            path(police, "/confirm"),
            data={
                "csrf_token": csrf,
                "keep": [str(people["ann"].id)],
                "remove": [str(people["bob"].id), str(people["pat"].id)],
            },
        )
        assert refused.status_code == 409
        db.expire_all()
        assert people["bob"].active and db.scalar(select(AccessReview)) is None

    def test_an_account_not_in_the_list_is_422(self, as_, world):
        police, _nhs, people = world
        lead = as_(people["lead"])
        other = str(people["nhs_auditor"].id)
        refused = lead.post(path(police), data={"csrf_token": token(lead, police), "keep": other})
        assert refused.status_code == 422
        assert 'href="#keep">Choose accounts from the list' in refused.text


class TestOnlyTheAgencysOwnLead:
    @pytest.mark.parametrize("who", ["nhs_lead"])
    def test_another_agencys_lead_finds_no_review(self, as_, db, world, who):
        police, _nhs, people = world
        browser = as_(people[who])
        assert browser.get(path(police)).status_code == 404
        csrf = CSRF.search(browser.get(path(world[1])).text).group(1)
        posted = browser.post(
            path(police, "/confirm"),
            data={"csrf_token": csrf, "remove": [str(people["ann"].id)]},
        )
        assert posted.status_code == 404
        db.expire_all()
        assert people["ann"].active

    @pytest.mark.parametrize("who", ["ann", "admin", "pat"])
    def test_anyone_but_a_lead_is_refused(self, as_, world, who):
        police, _nhs, people = world
        assert as_(people[who]).get(path(police)).status_code == 403


class TestWhenItIsDue:
    def rows(self, db, user, when):
        with time_machine.travel(when, tick=False):
            page = attention.start_page(db, actor=actor_of(user), today=when.date())
        return {s.title: [(r.key, r.value) for r in s.rows] for s in page.sections}

    def test_the_lead_is_told_a_period_after_the_last_review(self, as_, db, world):
        police, _nhs, people = world
        lead = people["lead"]
        assert self.rows(db, lead, ADDED + timedelta(days=90)) == {}
        due = self.rows(db, lead, ADDED + timedelta(days=91))
        assert due == {"Your agency's accounts": [("Access review due", "Not reviewed yet")]}
        reviewed = ADDED + timedelta(days=95)
        with time_machine.travel(reviewed, tick=False):
            browser = as_(lead)
            keep = [str(people[w].id) for w in ("ann", "bob", "pat")]
            browser.post(path(police), data={"csrf_token": token(browser, police), "keep": keep})
        assert self.rows(db, lead, reviewed + timedelta(days=90)) == {}
        assert self.rows(db, lead, reviewed + timedelta(days=91)) == {
            "Your agency's accounts": [("Access review due", "Last reviewed 9 April 2027")]
        }
        assert self.rows(db, people["nhs_lead"], reviewed) != {}  # NHS Trust's is still due

    def test_administrators_see_each_agencys_last_review(self, as_, db, world):
        police, _nhs, people = world
        with time_machine.travel(ADDED + timedelta(days=10), tick=False):
            lead = as_(people["lead"])
            keep = [str(people[w].id) for w in ("ann", "bob")]
            csrf = token(lead, police)
            lead.post(
                path(police, "/confirm"),
                data={"csrf_token": csrf, "keep": keep, "remove": str(people["pat"].id)},
            )
        with time_machine.travel(ADDED + timedelta(days=100), tick=False):
            page = as_(people["admin"]).get("/admin/access-reviews")
        assert page.status_code == 200
        html = unescape(page.text)
        police_row = html[html.index("Westshire Police") :].split("</tr>")[0]
        assert "14 January 2027" in police_row and "lee.lead@example.org" in police_row
        assert "15 April 2027" in police_row  # 91 days later
        nhs_row = html[html.index("NHS Trust") :].split("</tr>")[0]
        assert "Not reviewed yet" in nhs_row and "Due" in nhs_row
        users = as_(people["admin"]).get("/admin/users").text
        assert 'href="/admin/access-reviews"' in users
