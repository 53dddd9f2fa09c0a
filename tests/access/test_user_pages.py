"""Admin: people's accounts (list, add, change, disable, reset the authenticator)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.access import service as access
from app.access.csrf import csrf_token_for
from app.access.demo import load_demo_users
from app.access.models import Role, RoleGrantRequest, User, WebSession
from app.agencies import service as agency_service
from app.agencies.models import AgencyKind
from tests.helpers.access import PASSWORD, signed_in_cookie
from tests.helpers.factories import make_agency

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
COOKIE = "case_audit_session"


@pytest.fixture
def agencies(db):
    return {
        "police": make_agency(db, name="Westshire Police", kind=AgencyKind.POLICE),
        "social care": make_agency(
            db, name="Westshire Children's Services", kind=AgencyKind.SOCIAL_CARE
        ),
    }


@pytest.fixture
def me(db):
    return access.create_user(
        db, email="business.unit@example.org", display_name="Bea Business", roles={Role.ADMIN}
    )


@pytest.fixture
def admin(anonymous_client, db, me):
    anonymous_client.cookies.set(COOKIE, signed_in_cookie(db, me))
    # The pages commit on the test's session: see what they wrote, not a stale copy.
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    return anonymous_client


@pytest.fixture
def demo(db, agencies):
    users = {u.email: u for u in load_demo_users(db, agencies)}
    db.commit()
    return users


def token(client, path="/admin/users/new") -> str:
    return CSRF.search(client.get(path).text).group(1)


def user_count(db) -> int:
    return db.scalar(select(func.count()).select_from(User))


def form(csrf: str, **fields) -> dict:
    return {"csrf_token": csrf, **fields}


class TestList:
    def test_shows_every_account_with_roles_agency_status_and_authenticator(self, admin, demo):
        page = admin.get("/admin/users")
        assert page.status_code == 200
        html = page.text
        priya = demo["auditor.police@example.org"]
        assert f'href="/admin/users/{priya.id}">Priya Auditor (police)</a>' in html
        row = html[html.index("Priya Auditor (police)") :].split("</tr>")[0]
        assert "auditor.police@example.org" in row
        assert ">Auditor<" in row and "Westshire Police" in row
        assert "Active" in row and "Set up" in row
        lead = html[html.index("Lee Lead (social care)") :].split("</tr>")[0]
        assert "Agency lead" in lead and "Westshire Children&#39;s Services" in lead
        table = html[html.index("<table") :]  # (the header names the admin too)
        mine = table[table.index("Bea Business") :].split("</tr>")[0]
        assert "Administrator" in mine and "Not set up" in mine and ">None<" in mine
        assert html.count('<tr class="govuk-table__row">') == len(demo) + 2  # + head + me

    def test_a_disabled_account_is_tagged(self, admin, db, demo):
        sam = demo["auditor.socialcare@example.org"]
        access.update_user(db, user=sam, changes={"active": False})
        db.commit()
        html = admin.get("/admin/users").text
        row = html[html.index("Sam Auditor (social care)") :].split("</tr>")[0]
        assert "Disabled" in row and "Active" not in row


class TestAddAUser:
    def test_the_error_summary_on_the_way_then_the_account(self, admin, db, agencies):
        csrf = token(admin)
        before = user_count(db)

        empty = admin.post("/admin/users/new", data=form(csrf))
        assert empty.status_code == 422
        assert "govuk-error-summary" in empty.text and "<title>Error: " in empty.text
        for anchor, message in [
            ("#display_name", "Enter the person&#39;s name"),
            ("#email", "Enter the person&#39;s email address"),
            ("#roles", "Choose at least one role"),
        ]:
            assert f'href="{anchor}">{message}</a>' in empty.text
        assert '<input class="govuk-checkboxes__input" id="roles"' in empty.text  # the anchor

        bad_email = admin.post(
            "/admin/users/new",
            data=form(csrf, display_name="Dee Auditor", email="not an address", roles="auditor"),
        )
        assert bad_email.status_code == 422
        assert "Enter an email address in the correct format" in bad_email.text

        no_agency = admin.post(
            "/admin/users/new",
            data=form(csrf, display_name="Dee Auditor", email="dee@example.org", roles="auditor"),
        )
        assert no_agency.status_code == 422
        assert (
            'href="#agency_id">Choose the agency an auditor or agency lead works for</a>'
            in no_agency.text
        )
        # What was typed is kept.
        assert 'value="dee@example.org"' in no_agency.text
        assert re.search(r'value="auditor"\s*checked', no_agency.text)

        short = admin.post(
            "/admin/users/new",
            data=form(
                csrf,
                display_name="Dee Auditor",
                email="dee@example.org",
                roles="auditor",
                agency_id=str(agencies["police"].id),
                password="short",
            ),
        )
        assert short.status_code == 422
        assert 'href="#password">The password must be at least 12 characters' in short.text
        assert "short" not in re.findall(r'name="password"[^>]*', short.text)[0]
        assert user_count(db) == before

        done = admin.post(
            "/admin/users/new",
            data=form(
                csrf,
                display_name="Dee Auditor",
                email="Dee@Example.org",
                roles="auditor",
                agency_id=str(agencies["police"].id),
                password=PASSWORD,
            ),
            follow_redirects=False,
        )
        assert done.status_code == 303
        dee = access.find_user(db, email="dee@example.org")
        assert done.headers["location"] == "/admin/users"  # the banner is not in the address
        assert dee.roles == {Role.AUDITOR} and dee.agency_id == agencies["police"].id
        assert dee.password_hash is not None and dee.display_name == "Dee Auditor"
        banner = admin.get(done.headers["location"]).text
        assert "govuk-notification-banner--success" in banner
        assert "Dee Auditor has been added." in banner

    def test_every_checked_role_is_saved_and_no_password_means_none(self, admin, db):
        csrf = token(admin)
        r = admin.post(
            "/admin/users/new",
            data={
                "csrf_token": csrf,
                "display_name": "Mo Moderator",
                "email": "mo@example.org",
                "roles": ["practitioner", "scrutineer"],
                "agency_id": "",
                "password": "",
            },
        )
        assert r.status_code == 200 and "Mo Moderator has been added." in r.text
        mo = access.find_user(db, email="mo@example.org")
        # The scrutineer reads every return: that role waits for a second administrator.
        assert mo.roles == {Role.PRACTITIONER}
        [asked] = db.scalars(select(RoleGrantRequest).where(RoleGrantRequest.user_id == mo.id))
        assert set(asked.roles) == {"practitioner", "scrutineer"}
        assert mo.password_hash is None and mo.agency_id is None

    def test_a_duplicate_email_is_an_error_on_the_email_field(self, admin, db, demo):
        csrf = token(admin)
        before = user_count(db)
        r = admin.post(
            "/admin/users/new",
            data=form(
                csrf, display_name="Another", email="MODERATOR@example.org", roles="moderator"
            ),
        )
        assert r.status_code == 409
        assert 'href="#email">Someone with this email address already has an account</a>' in r.text
        assert user_count(db) == before

    def test_an_unknown_role_or_agency_is_refused_not_a_500(self, admin, db):
        csrf = token(admin)
        r = admin.post(
            "/admin/users/new",
            data=form(
                csrf, display_name="X", email="x@example.org", roles="owner", agency_id="abc"
            ),
        )
        assert r.status_code == 422
        assert "Choose roles from the list" in r.text
        assert "Choose an agency from the list" in r.text

    def test_the_form_lists_only_active_agencies(self, admin, db, agencies):
        closed = make_agency(db, name="Closed agency")
        agency_service.update_agency(db, agency=closed, changes={"active": False})
        db.commit()
        html = admin.get("/admin/users/new").text
        assert "Westshire Police" in html and "Closed agency" not in html
        assert '<option value="" selected>No agency</option>' in html

    def test_without_the_csrf_token_nothing_is_saved(self, admin, db):
        before = user_count(db)
        r = admin.post(
            "/admin/users/new",
            data={"display_name": "X", "email": "x@example.org", "roles": "moderator"},
        )
        assert r.status_code == 403 and user_count(db) == before


class TestChangeAUser:
    def test_the_page_summarises_the_account(self, admin, demo):
        lee = demo["lead.socialcare@example.org"]
        html = admin.get(f"/admin/users/{lee.id}").text
        assert '<h1 class="govuk-heading-l">Lee Lead (social care)</h1>' in html
        assert "lead.socialcare@example.org" in html and "Agency lead" in html
        assert re.search(r'value="agency_lead"\s*checked', html)
        assert f'<option value="{lee.agency_id}" selected>' in html
        assert "Reset authenticator" in html and "Disable account" in html

    def test_change_name_roles_and_agency(self, admin, db, demo, agencies):
        priya = demo["auditor.police@example.org"]
        their_cookie = signed_in_cookie(db, priya)
        csrf = token(admin, f"/admin/users/{priya.id}")
        r = admin.post(
            f"/admin/users/{priya.id}",
            data={
                "csrf_token": csrf,
                "display_name": "Priya Shah",
                "roles": ["auditor", "agency_lead"],
                "agency_id": str(agencies["social care"].id),
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/admin/users"
        db.expire_all()
        assert priya.display_name == "Priya Shah"
        assert priya.roles == {Role.AUDITOR, Role.AGENCY_LEAD}
        assert priya.agency_id == agencies["social care"].id
        # Their access changed: the session they had has ended.
        assert their_cookie
        assert db.scalar(select(WebSession.end_reason).where(WebSession.user_id == priya.id)) == (
            "access changed"
        )
        assert (
            "Changes to Priya Shah&#39;s account have been saved."
            in admin.get(r.headers["location"]).text
        )

    def test_a_practitioner_can_lose_their_agency(self, admin, db, demo, agencies):
        pat = demo["practitioner@example.org"]
        access.update_user(db, user=pat, changes={"agency_id": agencies["police"].id})
        db.commit()
        csrf = token(admin, f"/admin/users/{pat.id}")
        r = admin.post(
            f"/admin/users/{pat.id}",
            data=form(csrf, display_name="Pat Practitioner", roles="practitioner", agency_id=""),
        )
        assert r.status_code == 200
        db.expire_all()
        assert pat.agency_id is None

    def test_errors_re_render_the_page_and_save_nothing(self, admin, db, demo):
        sam = demo["auditor.socialcare@example.org"]
        csrf = token(admin, f"/admin/users/{sam.id}")
        empty = admin.post(f"/admin/users/{sam.id}", data=form(csrf, display_name=" "))
        assert empty.status_code == 422
        assert 'href="#display_name">Enter the person&#39;s name</a>' in empty.text
        assert 'href="#roles">Choose at least one role</a>' in empty.text
        assert "Sam Auditor (social care)</h1>" in empty.text  # still their page
        lead = admin.post(
            f"/admin/users/{sam.id}",
            data=form(csrf, display_name="Sam Renamed", roles="agency_lead", agency_id=""),
        )
        assert lead.status_code == 422
        assert "Choose the agency an auditor or agency lead works for" in lead.text
        assert 'value="Sam Renamed"' in lead.text
        db.expire_all()
        assert sam.display_name == "Sam Auditor (social care)" and sam.roles == {Role.AUDITOR}

    def test_you_cannot_remove_your_own_administrator_role(self, admin, db, me):
        csrf = token(admin, f"/admin/users/{me.id}")
        r = admin.post(
            f"/admin/users/{me.id}", data=form(csrf, display_name="Bea", roles="moderator")
        )
        assert r.status_code == 422
        assert "You cannot remove your own administrator role" in r.text
        db.expire_all()
        assert me.roles == {Role.ADMIN} and me.display_name == "Bea Business"


class TestDisable:
    def test_disable_ends_their_sessions(self, admin, db, demo):
        morgan = demo["moderator@example.org"]
        signed_in_cookie(db, morgan)
        csrf = token(admin, f"/admin/users/{morgan.id}")
        r = admin.post(f"/admin/users/{morgan.id}/disable", data=form(csrf), follow_redirects=False)
        assert r.status_code == 303
        db.expire_all()
        assert not morgan.active
        open_sessions = db.scalars(
            select(WebSession).where(WebSession.user_id == morgan.id, WebSession.ended_at.is_(None))
        ).all()
        assert open_sessions == []
        listed = admin.get(r.headers["location"]).text
        assert "Morgan Moderator&#39;s account has been disabled" in listed
        page = admin.get(f"/admin/users/{morgan.id}").text
        assert "This account is disabled" in page and "Disable account</button>" not in page

    def test_you_cannot_disable_yourself(self, admin, db, me):
        page = admin.get(f"/admin/users/{me.id}").text
        assert "You cannot disable your own account" in page
        assert "Disable account</button>" not in page
        csrf = CSRF.search(page).group(1)
        r = admin.post(f"/admin/users/{me.id}/disable", data=form(csrf))
        assert r.status_code == 409
        assert 'href="#disable">You cannot disable your own account</a>' in r.text
        db.expire_all()
        assert me.active
        assert admin.get("/admin/users").status_code == 200  # still signed in


class TestResetSecondFactor:
    def test_reset_forgets_the_authenticator(self, admin, db, demo):
        sol = demo["practitioner@example.org"]
        assert sol.totp_confirmed_at is not None
        csrf = token(admin, f"/admin/users/{sol.id}")
        r = admin.post(f"/admin/users/{sol.id}/reset-second-factor", data=form(csrf))
        assert r.status_code == 200
        assert "Pat Practitioner&#39;s authenticator has been reset." in r.text
        db.expire_all()
        assert sol.totp_confirmed_at is None and sol.totp_secret is None
        page = admin.get(f"/admin/users/{sol.id}").text
        assert "Reset authenticator" not in page and "They have not set up" in page


class TestWhoMay:
    def test_a_moderator_gets_403(self, anonymous_client, db, demo):
        morgan = demo["moderator@example.org"]
        cookie = signed_in_cookie(db, morgan)
        anonymous_client.cookies.set(COOKIE, cookie)
        refused = anonymous_client.get("/admin/users")
        assert refused.status_code == 403
        assert anonymous_client.get("/admin/users/new").status_code == 403
        assert anonymous_client.get(f"/admin/users/{morgan.id}").status_code == 403
        # With their valid CSRF token, so it is the role that refuses.
        csrf = csrf_token_for(cookie, anonymous_client.app.state.settings.secret_key)
        data = form(csrf, display_name="X", email="x@example.org", roles="admin")
        before = user_count(db)
        assert anonymous_client.post("/admin/users/new", data=data).status_code == 403
        r = anonymous_client.post(f"/admin/users/{morgan.id}/disable", data=form(csrf))
        assert r.status_code == 403
        assert user_count(db) == before

    def test_signed_out_goes_to_sign_in(self, anonymous_client):
        r = anonymous_client.get("/admin/users", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/sign-in")

    def test_an_unknown_id_is_404(self, admin, db):
        csrf = token(admin)
        assert admin.get("/admin/users/999999").status_code == 404
        for path in ["", "/disable", "/reset-second-factor"]:
            r = admin.post(f"/admin/users/999999{path}", data=form(csrf, display_name="X"))
            assert r.status_code == 404, path
            assert "Page not found" in r.text
