"""In a real browser: the demo agency lead's access review, its confirmation, and the
administrators' page of each agency's reviews pass axe. Nothing is confirmed: the
live server's demo is shared by the whole run."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from app.access.models import User
from tests.browser.conftest import DEMO, axe_violations

pytestmark = pytest.mark.usefixtures("live_server")


def lead_agency_id(live_database: str) -> int:
    engine = create_engine(live_database)
    try:
        with Session(engine) as db:
            agency_id = db.scalar(
                select(User.agency_id).where(User.email == DEMO["agency_lead"][0])
            )
    finally:
        engine.dispose()
    assert agency_id is not None
    return agency_id


def test_the_leads_review_and_its_confirmation_pass_axe(page_as, live_server, live_database):
    page = page_as("agency_lead", for_axe=True)
    page.goto(f"{live_server}/agencies/{lead_agency_id(live_database)}/access-review")
    expect(page.get_by_role("heading", name="Review your agency's accounts")).to_be_visible()
    assert axe_violations(page) == []
    # Nobody ticked: the confirmation lists every other account, and nothing changes
    # until it is confirmed (ticking everyone would record the review at once).
    expect(page.get_by_role("group", name="Who still needs access?")).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Remove access for")).to_be_visible()
    assert axe_violations(page) == []
    expect(page.get_by_role("button", name="Remove access and record the review")).to_be_visible()


def test_the_administrators_page_of_reviews_passes_axe(page_as, live_server):
    page = page_as("admin", for_axe=True)
    page.goto(f"{live_server}/admin/users")
    page.get_by_role("link", name="Agencies' access reviews").click()
    expect(page.get_by_role("heading", name="Access reviews")).to_be_visible()
    assert axe_violations(page) == []
