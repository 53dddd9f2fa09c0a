"""The pages: an audit's findings and the themes. Each form's mistakes come back with
the GOV.UK error summary."""

from __future__ import annotations

from html import unescape

from sqlalchemy import select

from app.access.models import Role
from app.audits import cohort
from app.findings.models import Finding, Theme
from tests.helpers.actions import CSRF, make_finding, summary_links, token
from tests.helpers.factories import make_agency


class TestTheFindingsPage:
    def test_lists_findings_and_offers_the_form_to_moderators(self, moderator, db, audit, first):
        finding = make_finding(db, audit, agency_id=first.id)
        page = moderator.get(f"/audits/{audit.id}/findings")
        assert page.status_code == 200
        assert "Consent to share was not recorded." in page.text
        assert f"Agency: {first.name}" in unescape(page.text)
        assert f'href="/audits/{audit.id}/actions/new?finding_id={finding.id}"' in page.text
        assert "Add a finding" in page.text

    def test_readers_see_no_form(self, browser, db, audit):
        make_finding(db, audit)
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
