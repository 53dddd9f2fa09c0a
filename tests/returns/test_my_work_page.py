"""My work: an auditor's own agency's returns, to do (overdue first) and done, grouped
by audit with each return's progress; questionnaires apart; the same list in the API."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.access.policy import SYSTEM
from app.agencies.models import Agency
from app.audits import cohort, lifecycle
from app.audits import service as audits
from app.briefings import assurance
from app.briefings.models import Briefing, BriefingKind
from app.moderation import lifecycle as moderating
from app.returns.models import Return
from tests.helpers.access import (
    PASSWORD,
    enrolled_auditor,
    next_code,
    post_sign_in,
    sign_in_with_the_form,
)
from tests.moderation.test_moderation import submit_all

API = "/api/v1"
RETURN_LINK = re.compile(r'href="/returns/(\d+)"')


@pytest.fixture
def browser(anonymous_client, db):
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    return anonymous_client


@pytest.fixture
def auditor(db):
    return enrolled_auditor(db)


def linked(page: str) -> set[int]:
    return {int(n) for n in RETURN_LINK.findall(page)}


def own_returns(db, user, audit) -> set[int]:
    return set(
        db.scalars(
            select(Return.id).where(Return.audit_id == audit.id, Return.agency_id == user.agency_id)
        )
    )


class TestMyWork:
    def test_my_agencys_returns_by_audit_with_progress(self, browser, db, auditor):
        user, audit = auditor
        sign_in_with_the_form(browser, user)
        page = browser.get("/my-work").text
        assert linked(page) == own_returns(db, user, audit) and len(linked(page)) == 2
        assert "2 returns to do" in page and "0 done" in page and "Overdue" not in page
        assert page.count("0 of 2 key areas done") == 2
        assert f'<h3 class="govuk-heading-s govuk-!-margin-bottom-1">{audit.title}</h3>' in page
        assert f"Due {audit.returns_due_on:%-d %B %Y}" in page

    def test_overdue_audits_come_first(self, browser, db, auditor):
        user, audit = auditor
        later = audits.create_audit(
            db,
            template_version_id=audit.template_version_id,
            title="A later audit",
            returns_due_on=date.today() + timedelta(days=3),
            agency_ids=[user.agency_id],
        )
        cohort.add_child(db, audit=later, pseudonym="Child Z", agency_ids=[user.agency_id])
        lifecycle.open_audit(db, audit=later, confirm=True)
        audit.returns_due_on = date.today() - timedelta(days=1)
        db.commit()
        sign_in_with_the_form(browser, user)
        page = browser.get("/my-work").text
        assert "3 returns to do" in page and "<strong>2 overdue</strong>" in page
        assert page.index(audit.title) < page.index(later.title)
        assert page.count("govuk-tag--red") == 1  # the overdue audit, once

    def test_other_roles_cannot_open_it(self, browser, db):
        moderator = access.create_user(
            db,
            email="m@example.org",
            display_name="M",
            roles={Role.MODERATOR},
            password=PASSWORD,
        )
        moderator.totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
        from app.clock import utcnow

        moderator.totp_confirmed_at = utcnow()
        db.commit()
        post_sign_in(browser, {"email": moderator.email, "password": PASSWORD})
        browser.post("/sign-in/code", data={"code": next_code(moderator)})
        page = browser.get("/my-work")
        assert page.status_code == 403
        assert "You do not have access to this page" in page.text
        # No dead end: the error page keeps who is signed in, the navigation and Sign out.
        assert "Signed in as M" in page.text and ">Sign out</button>" in page.text
        assert 'href="/audits"' in page.text


@pytest.fixture
def in_moderation(client, db, auditor, monkeypatch):
    """The auditor's audit with every return submitted and moderation open: every
    agency may now read every return of it (the reveal)."""
    user, audit = auditor
    template = client.get(f"{API}/template-versions/{audit.template_version_id}").json()
    submit_all(client, audit, template)
    monkeypatch.undo()  # the API as the system, for the set-up only
    moderating.open_moderation(db, audit=audits.get_audit(db, audit_id=audit.id, actor=SYSTEM))
    db.commit()
    return user, audit


def test_once_moderation_opens_only_my_agencys_returns_are_listed(browser, db, in_moderation):
    user, audit = in_moderation
    everyone = set(db.scalars(select(Return.id).where(Return.audit_id == audit.id)))
    mine = own_returns(db, user, audit)
    assert len(everyone) == 4 and len(mine) == 2
    sign_in_with_the_form(browser, user)
    # The auditor may read the other agency's returns now (the reveal) ...
    other = next(iter(everyone - mine))
    assert browser.get(f"{API}/returns/{other}").status_code == 200
    # ... but they are not the auditor's work.
    page = browser.get("/my-work").text
    assert linked(page) == mine
    assert "0 returns to do" in page and "2 done" in page
    assert page.count("2 of 2 key areas done") == 2
    work = browser.get(f"{API}/me/work").json()
    assert work["counts"] == {"to_do": 0, "overdue": 0, "done": 2}
    assert {r["id"] for a in work["done"] for r in a["returns"]} == mine


def test_the_api_gives_the_same_list(browser, db, auditor):
    user, audit = auditor
    audit.returns_due_on = date.today() - timedelta(days=2)
    db.commit()
    sign_in_with_the_form(browser, user)
    work = browser.get(f"{API}/me/work").json()
    assert work["agency"] == db.get(Agency, user.agency_id).name
    assert work["counts"] == {"to_do": 2, "overdue": 2, "done": 0}
    (group,) = work["to_do"]
    assert group["id"] == audit.id and group["overdue"] is True and not group["questionnaire"]
    assert group["due_on"] == audit.returns_due_on.isoformat()
    assert [r["child"] for r in group["returns"]] == ["Child A", "Child B"]
    assert {r["id"] for r in group["returns"]} == own_returns(db, user, audit)
    assert all(r["key_areas_done"] == 0 and r["key_areas_total"] == 2 for r in group["returns"])


def test_questionnaires_are_listed_apart(browser, db, auditor):
    user, audit = auditor
    briefing = Briefing(audit_id=audit.id, kind=BriefingKind.BRIEFING, title="Seen and heard")
    db.add(briefing)
    db.flush()
    questionnaire = assurance.launch(db, briefing=briefing, due_on=date.today() + timedelta(30))
    db.commit()
    sign_in_with_the_form(browser, user)
    page = browser.get("/my-work").text
    assert "Questionnaires and self-assessments to do" in page
    table = page[page.index("Questionnaires and self-assessments to do") :]
    assert questionnaire.title in table and "Briefing" not in table.split("</table>")[0].replace(
        questionnaire.title, ""
    )
    assert "3 returns to do" in page
    work = browser.get(f"{API}/me/work").json()
    assert [a["questionnaire"] for a in work["to_do"]].count(True) == 1


def test_my_work_links_each_return(browser, db, auditor):
    user, audit = auditor
    sign_in_with_the_form(browser, user)
    page = browser.get("/my-work").text
    for return_id in own_returns(db, user, audit):
        assert f'<a class="govuk-link" href="/returns/{return_id}">' in page
    assert "&lt;a" not in page


def test_a_self_assessment_is_the_agencys_own_return_listed_apart(browser, db, auditor):
    """An audit about agencies (the shipped Section 11 self-assessment): the auditor's
    agency has one return in it, about itself, listed by the audit's title."""
    from pathlib import Path

    from app.audit_templates import files
    from app.audit_templates import service as templates
    from app.audits import lifecycle

    user, _audit = auditor
    path = Path(files.library_files()[0]).with_name("section-11-self-assessment.yaml")
    version = templates.publish(db, version=files.import_text(db, text=path.read_text()))
    section_11 = audits.create_audit(
        db,
        template_version_id=version.id,
        title="Section 11 self-assessment 2027",
        returns_due_on=date.today() + timedelta(30),
        agency_ids=[user.agency_id],
    )
    lifecycle.open_audit(db, audit=section_11, confirm=True)
    db.commit()
    sign_in_with_the_form(browser, user)
    page = browser.get("/my-work").text
    table = page[page.index("Questionnaires and self-assessments to do") :].split("</table>")[0]
    assert "Section 11 self-assessment 2027" in table and "About your agency" in table
    (own,) = own_returns(db, user, section_11)
    assert f"/returns/{own}" in table
