"""Admin: planning an audit through its pages, from a new audit to opening it."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.access import service as access
from app.access.models import Role, User
from app.auditlog.models import AuditEvent
from app.audits.models import Audit, AuditStatus, Child, Involvement, audit_agency
from app.errors import FieldError, InvalidInput
from app.returns.models import Return, ReturnStatus
from tests.helpers.access import browse_as
from tests.helpers.factories import make_agency, make_audit, make_template

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
SHOWN = re.compile(r'<input type="hidden" name="warnings" value="([^"]+)">')
ERROR_LINKS = re.compile(r'class="govuk-error-summary".*?</div>\s*</div>', re.S)


@pytest.fixture
def admin(anonymous_client, db):
    user = access.create_user(db, email="a@example.org", display_name="A", roles={Role.ADMIN})
    browse_as(anonymous_client, db, user)
    # Each request reads afresh, as in production, not from what the test holds.
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    return anonymous_client


@pytest.fixture
def token(admin):
    return CSRF.search(admin.get("/admin/audits/new").text).group(1)


@pytest.fixture
def version(db):
    return make_template(db)


@pytest.fixture
def police(db):
    return make_agency(db, name="Westshire Police")


@pytest.fixture
def school(db):
    return make_agency(db, name="Westshire Schools")


def date_fields(name: str, day: date) -> dict:
    return {f"{name}-day": str(day.day), f"{name}-month": str(day.month), f"{name}-year": day.year}


DUE = date.today() + timedelta(days=14)


def summary_links(html: str) -> list[str]:
    """The error summary's links, in order; the summary must come before the form."""
    found = ERROR_LINKS.search(html)
    assert found, "no error summary"
    assert html.index("govuk-error-summary") < html.index("<form", html.index("govuk-main"))
    return re.findall(r'<a href="([^"]+)"', found.group(0))


def create(admin, token, version, **extra) -> int:
    data = {"csrf_token": token, "title": "Neglect audit", "template_version_id": version.id}
    response = admin.post(
        "/admin/audits/new",
        data=data | date_fields("returns_due_on", DUE) | extra,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert re.fullmatch(r"/admin/audits/\d+", location)  # the banner is not in the address
    return int(location.split("/")[-1].split("?")[0])


def taking_part(db, audit_id: int) -> set[int]:
    query = select(audit_agency.c.agency_id).where(audit_agency.c.audit_id == audit_id)
    return set(db.scalars(query))


def audits_count(db) -> int:
    return db.scalar(select(func.count()).select_from(Audit))


class TestCreateAnAudit:
    def test_the_form_lists_only_published_templates(self, admin, db, version):
        draft = make_template(db, published=False)
        db.commit()
        page = admin.get("/admin/audits/new").text
        assert f'value="{version.id}"' in page and f'value="{draft.id}"' not in page

    def test_missing_title_and_template_are_listed_first(self, admin, db, token, version):
        db.commit()
        r = admin.post("/admin/audits/new", data={"csrf_token": token})
        assert r.status_code == 422
        assert summary_links(r.text) == ["#title", "#template_version_id"]
        assert "Enter a title for the audit" in r.text
        assert "Choose the template the audit will use" in r.text
        assert r.text.count("Error:") == 1 + 2  # the page title and each field's message
        assert audits_count(db) == 0

    def test_dates_that_are_not_real_are_refused(self, admin, db, token, version):
        db.commit()
        r = admin.post(
            "/admin/audits/new",
            data={
                "csrf_token": token,
                "title": "Neglect audit",
                "template_version_id": version.id,
                "returns_due_on-day": "31",
                "returns_due_on-month": "2",
                "returns_due_on-year": "2030",
                "moderation_meeting_on-day": "4",
            },
        )
        assert r.status_code == 422
        assert summary_links(r.text) == ["#returns_due_on-day", "#moderation_meeting_on-day"]
        assert "Returns due date must be a real date" in r.text
        assert "Moderation meeting date must include a month and year" in r.text
        assert 'value="31"' in r.text  # what was typed is kept
        assert audits_count(db) == 0

    def test_a_two_digit_year_is_refused(self, admin, db, token, version):
        db.commit()
        fields = {
            "returns_due_on-day": "1",
            "returns_due_on-month": "5",
            "returns_due_on-year": "26",
        }
        r = admin.post(
            "/admin/audits/new",
            data={"csrf_token": token, "title": "T", "template_version_id": version.id} | fields,
        )
        assert r.status_code == 422 and "must have a year with 4 numbers" in r.text

    def test_a_moderation_meeting_before_the_due_date_is_refused(self, admin, db, token, version):
        db.commit()
        r = admin.post(
            "/admin/audits/new",
            data={"csrf_token": token, "title": "Neglect audit", "template_version_id": version.id}
            | date_fields("returns_due_on", DUE)
            | date_fields("moderation_meeting_on", DUE - timedelta(days=1)),
        )
        assert r.status_code == 422
        assert summary_links(r.text) == ["#moderation_meeting_on-day"]
        assert "must be on or after the date returns are due" in r.text
        assert audits_count(db) == 0

    def test_an_unpublished_template_is_refused(self, admin, db, token):
        draft = make_template(db, published=False)
        db.commit()
        r = admin.post(
            "/admin/audits/new",
            data={"csrf_token": token, "title": "Neglect audit", "template_version_id": draft.id},
        )
        assert r.status_code == 422 and "Choose a published template" in r.text
        assert audits_count(db) == 0

    def test_created_it_goes_to_the_planning_page(self, admin, db, token, version):
        audit_id = create(admin, token, version, theme="", description="Why we audit")
        audit = db.get(Audit, audit_id)
        assert audit.status == AuditStatus.PLANNED and audit.returns_due_on == DUE
        assert audit.theme == version.theme and audit.description == "Why we audit"
        page = admin.get(f"/admin/audits/{audit_id}")
        assert page.status_code == 200 and "Audit created." in page.text
        assert f'href="/admin/audits/{audit_id}?change=details#title"' in page.text


class TestChangeTheDetails:
    def test_change_and_a_bad_date(self, admin, db, token, version):
        audit_id = create(admin, token, version)
        form = admin.get(f"/admin/audits/{audit_id}?change=details").text
        assert 'value="Neglect audit"' in form and f'value="{DUE.day}"' in form
        bad = admin.post(
            f"/admin/audits/{audit_id}",
            data={"csrf_token": token, "title": "", "returns_due_on-year": "2030"},
        )
        assert bad.status_code == 422
        assert summary_links(bad.text) == ["#title", "#returns_due_on-day"]
        assert "Returns due date must include a day and month" in bad.text
        assert db.get(Audit, audit_id).title == "Neglect audit"
        ok = admin.post(
            f"/admin/audits/{audit_id}",
            data={"csrf_token": token, "title": "Renamed audit", "theme": "Neglect"}
            | date_fields("returns_due_on", DUE + timedelta(days=1)),
            follow_redirects=False,
        )
        assert ok.status_code == 303 and ok.headers["location"] == f"/admin/audits/{audit_id}"
        db.expire_all()
        audit = db.get(Audit, audit_id)
        assert (audit.title, audit.theme) == ("Renamed audit", "Neglect")
        assert audit.returns_due_on == DUE + timedelta(days=1)

    def test_the_lead_sign_off_is_chosen_with_the_details(self, admin, db, token, version):
        audit_id = create(admin, token, version)
        form = admin.get(f"/admin/audits/{audit_id}?change=details").text
        assert "Must each agency&#39;s lead sign off its returns" in form
        assert 'name="lead_sign_off" type="radio" value="no" checked' in form
        ok = admin.post(
            f"/admin/audits/{audit_id}",
            data={"csrf_token": token, "title": "Neglect audit", "lead_sign_off": "yes"}
            | date_fields("returns_due_on", DUE),
            follow_redirects=False,
        )
        assert ok.status_code == 303
        db.expire_all()
        assert db.get(Audit, audit_id).lead_sign_off is True
        assert admin.get(f"/api/v1/audits/{audit_id}").json()["lead_sign_off"] is True


class TestTheWholeJourney:
    def test_plan_then_open(self, admin, db, token, version, police, school):
        audit_id = create(admin, token, version)
        plan = f"/admin/audits/{audit_id}"

        r = admin.post(
            f"{plan}/agencies",
            data={"csrf_token": token, "agency_ids": [police.id, school.id]},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert taking_part(db, audit_id) == {police.id, school.id}

        # Child A with both agencies at once; Child B with none yet.
        r = admin.post(
            f"{plan}/children",
            data={
                "csrf_token": token,
                "pseudonym": "child a",
                "age_band": "5-9",
                "context_tags": "SEND, neglect",
                "child_agency_ids": [police.id, school.id],
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
        r = admin.post(f"{plan}/children", data={"csrf_token": token, "pseudonym": "Child B"})
        assert r.status_code == 200 and "The child has been added" in r.text
        children = {c.pseudonym: c for c in db.scalars(select(Child))}
        assert set(children) == {"Child A", "Child B"}
        assert children["Child A"].context_tags == ["SEND", "neglect"]

        db.commit()
        again = admin.post(f"{plan}/children", data={"csrf_token": token, "pseudonym": "Child A"})
        assert again.status_code == 409
        assert summary_links(again.text) == ["#pseudonym"]
        assert "already has a child called Child A" in again.text
        named = admin.post(f"{plan}/children", data={"csrf_token": token, "pseudonym": "Jane"})
        assert named.status_code == 422 and "then up to 3 letters or numbers" in named.text
        assert db.scalar(select(func.count()).select_from(Child)) == 2

        # Opening now is refused: Child B has no agency.
        refused = admin.post(f"{plan}/open", data={"csrf_token": token})
        assert refused.status_code == 422
        assert summary_links(refused.text) == ["#child_id"]
        assert "Add the agencies involved with Child B" in refused.text

        child_b = children["Child B"]
        r = admin.post(
            f"{plan}/involvements",
            data={"csrf_token": token, "child_id": child_b.id, "agency_id": police.id},
        )
        assert r.status_code == 200 and "The involvement has been added" in r.text
        db.commit()
        dup = admin.post(
            f"{plan}/involvements",
            data={"csrf_token": token, "child_id": child_b.id, "agency_id": police.id},
        )
        assert dup.status_code == 409 and "already involved with this child" in dup.text
        r = admin.post(
            f"{plan}/involvements",
            data={"csrf_token": token, "child_id": child_b.id, "agency_id": school.id},
        )
        assert r.status_code == 200

        # Remove one involvement: its return goes with it.
        involvement = db.scalar(
            select(Involvement).where(
                Involvement.child_id == child_b.id, Involvement.agency_id == school.id
            )
        )
        page = admin.get(plan).text
        assert f'action="/admin/involvements/{involvement.id}/remove"' in page
        assert "Opening the audit asks for <strong>4 returns</strong>" in page
        r = admin.post(f"/admin/involvements/{involvement.id}/remove", data={"csrf_token": token})
        assert r.status_code == 200 and "The involvement has been removed" in r.text
        assert db.get(Involvement, involvement.id) is None
        assert "Opening the audit asks for <strong>3 returns</strong>" in r.text

        # Opening is confirmed on its own page: neither agency has an auditor yet.
        assert f'href="{plan}/open"' in page
        check = admin.get(f"{plan}/open").text
        assert "Open this audit?" in check
        assert "Westshire Police has no active auditor to complete its 2 returns" in check
        db.commit()
        unconfirmed = admin.post(f"{plan}/open", data={"csrf_token": token})
        assert unconfirmed.status_code == 422 and summary_links(unconfirmed.text) == ["#confirm"]
        assert db.get(Audit, audit_id).status == AuditStatus.PLANNED
        opened = admin.post(
            f"{plan}/open",
            data={"csrf_token": token, "confirm": "yes", "warnings": SHOWN.findall(check)},
            follow_redirects=False,
        )
        assert opened.status_code == 303 and opened.headers["location"] == f"/audits/{audit_id}"
        db.expire_all()
        assert db.get(Audit, audit_id).status == AuditStatus.OPEN
        involvements = db.scalars(select(Involvement).where(Involvement.audit_id == audit_id))
        pairs = {(i.child_id, i.agency_id) for i in involvements}
        returns = db.scalars(select(Return).where(Return.audit_id == audit_id)).all()
        assert pairs == {(r.child_id, r.agency_id) for r in returns} and len(pairs) == 3
        assert all(r.status == ReturnStatus.NOT_STARTED for r in returns)

        # Now read-only here; changes are refused.
        page = admin.get(plan).text
        assert "can no longer be changed here" in page and f'href="/audits/{audit_id}"' in page
        assert "/open" not in page and "/remove" not in page
        db.commit()
        late = admin.post(f"{plan}/children", data={"csrf_token": token, "pseudonym": "Child C"})
        assert late.status_code == 409
        assert db.scalar(select(func.count()).select_from(Child)) == 2

    def test_remove_a_child(self, admin, db, token, version, police):
        audit_id = create(admin, token, version)
        admin.post(
            f"/admin/audits/{audit_id}/agencies",
            data={"csrf_token": token, "agency_ids": police.id},
        )
        admin.post(
            f"/admin/audits/{audit_id}/children",
            data={"csrf_token": token, "pseudonym": "Child A", "child_agency_ids": police.id},
        )
        child = db.scalar(select(Child).where(Child.audit_id == audit_id))
        r = admin.post(f"/admin/children/{child.id}/remove", data={"csrf_token": token})
        assert r.status_code == 200 and "removed from the cohort" in r.text
        assert db.scalar(select(func.count()).select_from(Return)) == 0
        assert db.get(Child, child.id) is None


class TestRefusals:
    def test_opening_an_empty_audit_lists_what_is_missing(self, admin, db, token, version):
        no_date = {f"returns_due_on-{part}": "" for part in ("day", "month", "year")}
        audit_id = create(admin, token, version, **no_date)
        db.commit()
        r = admin.post(f"/admin/audits/{audit_id}/open", data={"csrf_token": token})
        assert r.status_code == 422
        assert summary_links(r.text) == [
            f"/admin/audits/{audit_id}?change=details#returns_due_on-day",
            "#agency_ids",
            "#pseudonym",
        ]
        assert "Add the children in the cohort" in r.text
        assert db.get(Audit, audit_id).status == AuditStatus.PLANNED

    def test_an_agency_still_involved_cannot_be_removed(
        self, admin, db, token, version, police, school
    ):
        audit_id = create(admin, token, version)
        plan = f"/admin/audits/{audit_id}"
        admin.post(
            f"{plan}/agencies", data={"csrf_token": token, "agency_ids": [police.id, school.id]}
        )
        admin.post(
            f"{plan}/children",
            data={"csrf_token": token, "pseudonym": "Child A", "child_agency_ids": police.id},
        )
        db.commit()
        r = admin.post(f"{plan}/agencies", data={"csrf_token": token, "agency_ids": school.id})
        assert r.status_code == 422 and summary_links(r.text) == ["#agency_ids"]
        assert "Westshire Police is still involved with children" in r.text
        assert taking_part(db, audit_id) == {police.id, school.id}
        junk = admin.post(f"{plan}/agencies", data={"csrf_token": token, "agency_ids": "x"})
        assert junk.status_code == 422 and "Choose agencies from the list" in junk.text

    def test_involvement_choices_must_come_from_this_audit(self, admin, db, token, version, police):
        audit_id = create(admin, token, version)
        other = make_audit(db, children=1, agencies_count=1, open_=False)
        other_child = db.scalar(select(Child).where(Child.audit_id == other.id))
        db.commit()
        plan = f"/admin/audits/{audit_id}"
        admin.post(f"{plan}/agencies", data={"csrf_token": token, "agency_ids": police.id})
        admin.post(f"{plan}/children", data={"csrf_token": token, "pseudonym": "Child A"})
        db.commit()
        empty = admin.post(f"{plan}/involvements", data={"csrf_token": token})
        assert empty.status_code == 422
        assert summary_links(empty.text) == ["#child_id", "#agency_id"]
        elsewhere = admin.post(
            f"{plan}/involvements",
            data={"csrf_token": token, "child_id": other_child.id, "agency_id": police.id},
        )
        assert elsewhere.status_code == 422
        assert "Choose a child in this audit" in elsewhere.text
        (outsider,) = taking_part(db, other.id)
        mine = db.scalar(select(Child).where(Child.audit_id == audit_id))
        not_taking_part = admin.post(
            f"{plan}/involvements",
            data={"csrf_token": token, "child_id": mine.id, "agency_id": outsider},
        )
        assert not_taking_part.status_code == 422
        assert "Choose an agency taking part" in not_taking_part.text
        assert (
            db.scalar(
                select(func.count())
                .select_from(Involvement)
                .where(Involvement.audit_id == audit_id)
            )
            == 0
        )

    def test_a_refusal_half_way_through_writes_nothing(
        self, admin, db, token, version, police, monkeypatch
    ):
        audit_id = create(admin, token, version)
        plan = f"/admin/audits/{audit_id}"
        admin.post(f"{plan}/agencies", data={"csrf_token": token, "agency_ids": police.id})
        db.commit()

        def refuse(*_args, **_kwargs):  # after the child's row has been written
            raise InvalidInput("No.", fields=[FieldError("agency_ids[0]", "Refused")])

        monkeypatch.setattr("app.audits.cohort.add_involvement", refuse)
        r = admin.post(
            f"{plan}/children",
            data={"csrf_token": token, "pseudonym": "Child A", "child_agency_ids": police.id},
        )
        assert r.status_code == 422 and summary_links(r.text) == ["#child_agency_ids"]
        assert "Choose only agencies taking part in this audit" in r.text
        assert db.scalar(select(func.count()).select_from(Child)) == 0

    def test_unknown_ids_are_404(self, admin, db, token):
        db.commit()
        assert admin.get("/admin/audits/999999").status_code == 404
        for path in (
            "/admin/audits/999999",
            "/admin/audits/999999/agencies",
            "/admin/audits/999999/children",
            "/admin/audits/999999/involvements",
            "/admin/audits/999999/open",
            "/admin/children/999999/remove",
            "/admin/involvements/999999/remove",
        ):
            assert admin.post(path, data={"csrf_token": token}).status_code == 404, path

    def test_a_form_without_the_csrf_token_is_refused(self, admin, db, version):
        db.commit()
        r = admin.post("/admin/audits/new", data={"title": "X", "template_version_id": version.id})
        assert r.status_code == 403 and audits_count(db) == 0


def sign_in_as(client, db, role: Role):
    user = access.create_user(
        db, email=f"{role.value}@example.org", display_name=role.value, roles={role}
    )
    browse_as(client, db, user)
    return client


class TestWhoMayPlan:
    def test_a_moderator_is_refused(self, anonymous_client, db):
        audit = make_audit(db, open_=False)
        client = sign_in_as(anonymous_client, db, Role.MODERATOR)
        token = CSRF.search(client.get("/audits").text).group(1)
        assert client.get("/admin/audits/new").status_code == 403
        assert client.get(f"/admin/audits/{audit.id}").status_code == 403
        r = client.post(f"/admin/audits/{audit.id}/open", data={"csrf_token": token})
        assert r.status_code == 403
        listing = client.get("/audits").text
        assert "Plan a new audit" not in listing
        assert f'href="/audits/{audit.id}"' in listing
        assert "Continue planning" not in client.get(f"/audits/{audit.id}").text

    def test_admins_reach_planning_from_the_list_and_the_overview(self, admin, db):
        planned = make_audit(db, open_=False)
        opened = make_audit(db)
        db.commit()
        listing = admin.get("/audits").text
        assert 'href="/admin/audits/new"' in listing
        assert f'href="/admin/audits/{planned.id}"' in listing
        assert f'href="/audits/{opened.id}"' in listing
        assert f'href="/admin/audits/{planned.id}"' in admin.get(f"/audits/{planned.id}").text
        assert "Continue planning" not in admin.get(f"/audits/{opened.id}").text


class TestOpeningConfirmation:
    """Acceptance (issue 12), on the pages: an agency with no active auditor is a
    warning, and opening needs the box ticked that says the admin understands."""

    @pytest.fixture
    def planned(self, db):
        audit = make_audit(db, children=2, agencies_count=2, open_=False)
        audit.moderation_meeting_on = DUE + timedelta(days=14)
        staffed, _unstaffed = audit.agencies
        for name, role in (("Alex Auditor", Role.AUDITOR), ("Lee Lead", Role.AGENCY_LEAD)):
            access.create_user(
                db,
                email=name.split()[0].lower() + "@example.org",
                display_name=name,
                roles={role},
                agency_id=staffed.id,
            )
        db.commit()
        return audit

    def test_the_page_states_the_returns_who_is_told_and_the_warning(self, admin, planned):
        staffed, unstaffed = planned.agencies
        page = admin.get(f"/admin/audits/{planned.id}/open")
        assert page.status_code == 200
        html = page.text
        assert "Open this audit?" in html and "<strong>4 returns</strong> from 2 agencies" in html
        assert "Auditors: Alex Auditor. Agency leads: Lee Lead" in html
        assert "No one: the agency has no active auditor or agency lead" in html
        assert f"{unstaffed.name} has no active auditor to complete its 2 returns" in html
        assert 'name="confirm" type="checkbox" value="yes"' in html

    def test_opening_with_a_warning_needs_the_confirmation(self, admin, db, token, planned):
        path = f"/admin/audits/{planned.id}/open"
        shown = SHOWN.findall(admin.get(path).text)
        refused = admin.post(path, data={"csrf_token": token, "warnings": shown})
        assert refused.status_code == 422 and summary_links(refused.text) == ["#confirm"]
        assert "Confirm that you understand the warnings" in refused.text
        assert db.get(Audit, planned.id).status == AuditStatus.PLANNED
        opened = admin.post(path, data={"csrf_token": token, "confirm": "yes", "warnings": shown})
        assert opened.status_code == 200 and "The audit is open" in opened.text
        assert db.get(Audit, planned.id).status == AuditStatus.OPEN

    def test_the_box_confirms_only_the_warnings_shown(self, admin, db, token, planned):
        staffed, unstaffed = planned.agencies
        path = f"/admin/audits/{planned.id}/open"
        shown = SHOWN.findall(admin.get(path).text)
        assert shown == [f"agencies.{unstaffed.id}"]
        # After the page is drawn, the staffed agency's only auditor is disabled.
        alex = db.scalars(select(User).where(User.display_name == "Alex Auditor")).one()
        alex.active = False
        db.commit()
        new_warning = f"{staffed.name} has no active auditor to complete its 2 returns"
        refused = admin.post(path, data={"csrf_token": token, "confirm": "yes", "warnings": shown})
        assert refused.status_code == 409
        assert summary_links(refused.text) == ["#confirm"]
        summary = ERROR_LINKS.search(refused.text).group(0)
        assert f"New warning: {new_warning}" in summary
        assert "check them and confirm again" in refused.text  # by the box, unticked again
        assert 'name="confirm" type="checkbox" value="yes" checked' not in refused.text
        assert sorted(SHOWN.findall(refused.text)) == sorted(
            [f"agencies.{staffed.id}", f"agencies.{unstaffed.id}"]
        )
        assert db.get(Audit, planned.id).status == AuditStatus.PLANNED
        assert db.scalar(select(func.count()).where(AuditEvent.action == "audit.open")) == 0
        # Confirmed on the page that shows both, it opens, and both are logged.
        again = SHOWN.findall(refused.text)
        opened = admin.post(path, data={"csrf_token": token, "confirm": "yes", "warnings": again})
        assert opened.status_code == 200 and "The audit is open" in opened.text
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "audit.open")).one()
        assert new_warning in event.after["warnings_confirmed"]

    def test_a_confirmation_naming_no_warnings_does_not_confirm_them(
        self, admin, db, token, planned
    ):
        # A form that sends the box without the warnings it showed confirms none.
        path = f"/admin/audits/{planned.id}/open"
        refused = admin.post(path, data={"csrf_token": token, "confirm": "yes"})
        assert refused.status_code == 409 and summary_links(refused.text) == ["#confirm"]
        assert db.get(Audit, planned.id).status == AuditStatus.PLANNED

    def test_without_warnings_there_is_nothing_to_tick(self, admin, db, token, planned):
        _staffed, unstaffed = planned.agencies
        access.create_user(
            db,
            email="kim@example.org",
            display_name="Kim Auditor",
            roles={Role.AUDITOR},
            agency_id=unstaffed.id,
        )
        db.commit()
        html = admin.get(f"/admin/audits/{planned.id}/open").text
        assert "Check before opening" not in html and 'name="confirm"' not in html
        opened = admin.post(f"/admin/audits/{planned.id}/open", data={"csrf_token": token})
        assert opened.status_code == 200 and "The audit is open" in opened.text

    def test_what_is_missing_links_to_the_plan(self, admin, db, version):
        audit = make_audit(db, children=0, agencies_count=1, open_=False, version=version)
        db.commit()
        page = admin.get(f"/admin/audits/{audit.id}/open")
        assert page.status_code == 200 and "This audit cannot open yet" in page.text
        assert f'href="/admin/audits/{audit.id}#pseudonym"' in page.text
        assert f'action="/admin/audits/{audit.id}/open"' not in page.text

    def test_an_open_audit_has_no_confirmation_page(self, admin, db):
        audit = make_audit(db)
        db.commit()
        assert admin.get(f"/admin/audits/{audit.id}/open").status_code == 409


def test_draw_the_cohort_at_random_on_the_planning_page(admin, db, token, police):
    from app.audits import sampling

    audit = make_audit(db, children=0, agencies_count=1, open_=False)
    agency_id = audit.agencies[0].id
    db.commit()
    plan = f"/admin/audits/{audit.id}"
    assert "Or draw the cohort at random" in admin.get(plan).text
    refused = admin.post(
        f"{plan}/cohort/draw", data={"csrf_token": token, "eligible": "5", "count": "9"}
    )
    assert refused.status_code == 422
    assert "You cannot draw 9 from 5 eligible children" in refused.text
    blank = admin.post(
        f"{plan}/cohort/draw", data={"csrf_token": token, "eligible": "", "count": "x"}
    )
    assert blank.status_code == 422
    assert "Enter how many children are eligible, as a whole number" in blank.text
    assert "Enter how many children to draw, as a whole number" in blank.text
    assert db.scalar(select(func.count()).select_from(Child).where(Child.audit_id == audit.id)) == 0

    done = admin.post(
        f"{plan}/cohort/draw",
        data={
            "csrf_token": token,
            "eligible": "143",
            "count": "3",
            "seed": "westshire-2027-01",
            "draw_agency_ids": [str(agency_id)],
        },
    )
    assert done.status_code == 200
    positions = sampling.draw(eligible=143, count=3, seed="westshire-2027-01").positions
    assert (
        f"3 of 143 eligible children drawn with the seed westshire-2027-01: Child A is number "
        f"{positions[0]}, Child B is number {positions[1]}, Child C is number {positions[2]}"
        in done.text
    )
    drawn = db.scalars(select(Child).where(Child.audit_id == audit.id).order_by(Child.id)).all()
    assert [c.pseudonym for c in drawn] == ["Child A", "Child B", "Child C"]
    assert (
        db.scalar(
            select(func.count())
            .select_from(Involvement)
            .where(Involvement.child_id.in_([c.id for c in drawn]))
        )
        == 3
    )

    # Then one age band's own list, with the same seed: its children have the band.
    band = admin.post(
        f"{plan}/cohort/draw",
        data={
            "csrf_token": token,
            "eligible": "12",
            "count": "2",
            "seed": "westshire-2027-01",
            "draw_age_band": "14-15",
        },
    )
    assert band.status_code == 200
    aged = sampling.draw(eligible=12, count=2, seed="westshire-2027-01", stratum="14-15")
    assert (
        f"2 of 12 eligible children aged 14-15 drawn with the seed westshire-2027-01: Child D "
        f"is number {aged.positions[0]}, Child E is number {aged.positions[1]}" in band.text
    )
    banded = db.scalars(select(Child).where(Child.audit_id == audit.id).order_by(Child.id)).all()
    assert [(c.pseudonym, c.age_band and c.age_band.value) for c in banded[3:]] == [
        ("Child D", "14-15"),
        ("Child E", "14-15"),
    ]
    wrong = admin.post(
        f"{plan}/cohort/draw",
        data={"csrf_token": token, "eligible": "12", "count": "2", "draw_age_band": "teens"},
    )
    assert wrong.status_code == 422 and "Choose an age band from the list" in wrong.text
