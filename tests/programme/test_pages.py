"""The programme's pages: who may read and who may change it, the entry form and its
error summary, archiving, and planning a month's audit now."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from app.access.models import Role
from app.auditlog.models import AuditEvent
from app.audits.models import Audit, AuditStatus
from app.programme import service
from app.programme.models import ProgrammeEntry, Repeat
from tests.programme.conftest import make_entry

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def token(client, path: str = "/programme") -> str:
    return CSRF.search(client.get(path).text).group(1)


def form(world, **changes) -> dict:
    return {
        "title": "Neglect in the under-fives",
        "template_family_id": str(world.version.family_id),
        "theme": "Neglect",
        "lead_subgroup_id": str(world.qapp.id),
        "agency_ids": [str(a.id) for a in world.agencies],
        "first_month": "2026-09-01",
        "repeat": "quarterly",
        "occurrences": "2",
        "cohort_size": "6",
        "returns_due_after_days": "21",
        "moderation_after_days": "35",
        "notes": "The Executive asked for this after the spring rapid reviews.",
        **changes,
    }


class TestWhoMay:
    @pytest.mark.parametrize("role", [Role.AUDITOR, Role.PRACTITIONER])
    def test_those_outside_the_programme_get_403(self, db, world, browse, role):
        reader = browse(role, world.agencies[0] if role == Role.AUDITOR else None)
        assert reader.get("/programme").status_code == 403
        assert reader.get("/programme/export.xlsx").status_code == 403
        assert reader.get("/api/v1/programme").status_code == 403

    def test_the_executive_reads_the_timeline_and_the_spreadsheet_but_cannot_add(
        self, db, world, browse
    ):
        entry = make_entry(db, world)
        executive = browse(Role.EXECUTIVE)
        page = executive.get("/programme")
        assert page.status_code == 200
        assert "Front Door referrals audit" in page.text
        assert "Download the programme (XLSX)" in page.text
        assert "Add to the programme" not in page.text and "Change" not in page.text
        assert 'href="/programme"' in page.text  # in the service navigation
        xlsx = executive.get("/programme/export.xlsx", params={"year": 2026})
        assert xlsx.status_code == 200
        assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert "programme-2026-27.xlsx" in xlsx.headers["content-disposition"]
        assert executive.get("/programme/entries/new").status_code == 403
        assert executive.get(f"/programme/entries/{entry.id}").status_code == 403
        refused = executive.post(
            "/programme/entries/new", data={"csrf_token": token(executive), **form(world)}
        )
        assert refused.status_code == 403
        assert (
            db.scalar(select(ProgrammeEntry.id).where(ProgrammeEntry.title != entry.title)) is None
        )
        plan = executive.post(
            f"/programme/entries/{entry.id}/months/2026-06/plan",
            data={"csrf_token": token(executive)},
        )
        assert plan.status_code == 403

    def test_an_auditor_sees_no_programme_in_the_navigation(self, db, world, browse):
        page = browse(Role.AUDITOR, world.agencies[0]).get("/my-work")
        assert page.status_code == 200
        assert 'href="/programme"' not in page.text


class TestAddingAnEntry:
    def test_with_the_error_summary_on_the_way(self, db, world, browse):
        admin = browse(Role.ADMIN)
        new = admin.get("/programme/entries/new", params={"year": 2026})
        assert new.status_code == 200
        assert 'href="/programme?year=2026" class="govuk-back-link"' in new.text
        csrf = CSRF.search(new.text).group(1)
        blank = admin.post(
            "/programme/entries/new",
            data={"csrf_token": csrf, "occurrences": "", "returns_due_after_days": "x"},
        )
        assert blank.status_code == 422
        for field, words in [
            ("title", "Enter a title for the planned audit"),
            ("template_family_id", "Choose the template its audits will use"),
            ("first_month", "Choose the month of its first audit"),
            ("returns_due_after_days", "Enter the number of days, as a whole number"),
        ]:
            assert f'href="#{field}"' in blank.text and words in blank.text, field
        wrong = admin.post(
            "/programme/entries/new",
            data={
                "csrf_token": csrf,
                **form(world, repeat="none", occurrences="3", moderation_after_days="7"),
            },
        )
        assert wrong.status_code == 422
        assert "A one-off audit happens once: enter 1" in wrong.text
        assert "The moderation meeting must be at least as many days" in wrong.text
        assert 'value="Neglect in the under-fives"' in wrong.text  # kept as typed
        too_many = admin.post(
            "/programme/entries/new",
            data={"csrf_token": csrf, **form(world, occurrences="25", first_month="2031-04-01")},
        )
        assert too_many.status_code == 422
        assert "There can be at most 24 audits" in too_many.text
        assert db.scalar(select(ProgrammeEntry.id)) is None
        done = admin.post(
            "/programme/entries/new",
            data={"csrf_token": csrf, **form(world)},
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"] == "/programme?year=2026"
        page = admin.get(done.headers["location"]).text
        assert "Neglect in the under-fives has been added to the programme." in page
        entry = db.scalar(select(ProgrammeEntry))
        assert (entry.repeat, entry.occurrences, entry.first_month) == (
            Repeat.QUARTERLY,
            2,
            date(2026, 9, 1),
        )
        assert page.count("Neglect in the under-fives") >= 3  # September, December, the list
        logged = db.scalar(select(AuditEvent).where(AuditEvent.action == "programme_entry.create"))
        assert logged.object_id == entry.id and logged.after["cohort_size"] == 6

    def test_a_month_out_of_reach_is_refused(self, db, world, browse):
        admin = browse(Role.ADMIN)
        r = admin.post(
            "/programme/entries/new",
            data={"csrf_token": token(admin), **form(world, first_month="2031-04-01")},
        )
        assert r.status_code == 422 and "Must be between April 2025 and March 2029" in r.text

    def test_an_inactive_agency_is_refused(self, db, world, browse):
        from app.agencies import service as agencies

        agencies.update_agency(db, agency=world.agencies[1], changes={"active": False})
        db.commit()
        admin = browse(Role.ADMIN)
        r = admin.post("/programme/entries/new", data={"csrf_token": token(admin), **form(world)})
        assert r.status_code == 422 and "Choose only agencies that are still active" in r.text


class TestChangingAndArchiving:
    def test_change_an_entry(self, db, world, browse):
        entry = make_entry(db, world)
        admin = browse(Role.ADMIN)
        page = admin.get(f"/programme/entries/{entry.id}", params={"from": "/programme?year=2026"})
        assert page.status_code == 200
        assert 'value="Front Door referrals audit"' in page.text
        assert 'href="/programme?year=2026" class="govuk-back-link"' in page.text
        done = admin.post(
            f"/programme/entries/{entry.id}",
            data={
                "csrf_token": CSRF.search(page.text).group(1),
                **form(
                    world,
                    title="Front Door audit",
                    repeat="monthly",
                    occurrences="6",
                    first_month="2026-04-01",
                ),
            },
        )
        assert done.status_code == 200 and "Front Door audit has been changed." in done.text
        db.expire_all()
        changed = service.get_entry(db, entry_id=entry.id)
        assert (changed.title, changed.occurrences, changed.cohort_size) == (
            "Front Door audit",
            6,
            6,
        )

    def test_a_month_with_an_audit_must_stay(self, db, world, browse):
        entry = make_entry(db, world)
        service.plan_audit(db, entry=entry, month=date(2026, 6, 1))
        db.commit()
        admin = browse(Role.ADMIN)
        r = admin.post(
            f"/programme/entries/{entry.id}",
            data={
                "csrf_token": token(admin),
                **form(world, repeat="monthly", occurrences="2", first_month="2026-04-01"),
            },
        )
        assert r.status_code == 422
        assert "An audit is planned for June 2026: keep that month" in r.text

    def test_archive_with_confirmation(self, db, world, browse):
        entry = make_entry(db, world)
        admin = browse(Role.ADMIN)
        sure = admin.get(f"/programme/entries/{entry.id}/archive")
        assert sure.status_code == 200
        assert "Are you sure you want to archive this planned audit?" in sure.text
        assert 'class="govuk-back-link"' in sure.text
        done = admin.post(
            f"/programme/entries/{entry.id}/archive",
            data={"csrf_token": CSRF.search(sure.text).group(1)},
        )
        assert done.status_code == 200 and "has been archived" in done.text
        assert "Nothing is planned for this year yet." in done.text
        assert admin.get(f"/programme/entries/{entry.id}").status_code == 409


class TestPlanNow:
    def test_the_months_audit_is_made_and_its_planning_page_shown(self, db, world, browse):
        entry = make_entry(db, world)
        admin = browse(Role.ADMIN)
        page = admin.get("/programme").text
        assert f'action="/programme/entries/{entry.id}/months/2026-05/plan"' in page
        done = admin.post(
            f"/programme/entries/{entry.id}/months/2026-05/plan",
            data={"csrf_token": CSRF.search(page).group(1)},
            follow_redirects=False,
        )
        audit = db.scalar(select(Audit))
        assert done.status_code == 303 and done.headers["location"] == f"/admin/audits/{audit.id}"
        assert (audit.title, audit.status) == (
            "Front Door referrals audit - May 2026",
            AuditStatus.PLANNED,
        )
        # Its planning page offers to draw as many cases as the programme plans.
        plan = admin.get(f"/admin/audits/{audit.id}").text
        assert re.search(r'<input[^>]*id="count"[^>]*value="10"', plan), plan
        again = admin.post(
            f"/programme/entries/{entry.id}/months/2026-05/plan",
            data={"csrf_token": CSRF.search(page).group(1)},
        )
        assert again.status_code == 409
        outside = admin.post(
            f"/programme/entries/{entry.id}/months/2028-05/plan",
            data={"csrf_token": CSRF.search(page).group(1)},
        )
        assert outside.status_code == 404
