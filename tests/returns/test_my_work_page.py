"""My work: an auditor's returns, overdue first, each linked."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.returns.models import Return
from tests.helpers.access import PASSWORD, enrolled_auditor, next_code, sign_in_with_the_form


@pytest.fixture
def browser(anonymous_client, db):
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    return anonymous_client


@pytest.fixture
def auditor(db):
    return enrolled_auditor(db)


class TestMyWork:
    def test_lists_my_agencys_returns_with_overdue_first(self, browser, db, auditor):
        user, audit = auditor
        sign_in_with_the_form(browser, user)
        page = browser.get("/my-work").text
        mine = db.scalars(select(Return).where(Return.agency_id == user.agency_id)).all()
        assert page.count("Not started") == len(mine) == 2
        assert "2 returns for your agency" in page and "Overdue" not in page
        audit.returns_due_on = date.today() - timedelta(days=1)
        db.commit()
        page = browser.get("/my-work").text
        assert "2 overdue" in page and page.count("govuk-tag--red") == 2

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
        browser.post("/sign-in", data={"email": moderator.email, "password": PASSWORD})
        browser.post("/sign-in/code", data={"code": next_code(moderator)})
        page = browser.get("/my-work")
        assert page.status_code == 403
        assert "You do not have access to this page" in page.text


def test_my_work_links_each_return(browser, db, auditor):
    user, _audit = auditor
    sign_in_with_the_form(browser, user)
    page = browser.get("/my-work").text
    mine = db.scalars(select(Return.id).where(Return.agency_id == user.agency_id)).all()
    for return_id in mine:
        assert f'<a class="govuk-link" href="/returns/{return_id}">' in page
    assert "&lt;a" not in page
