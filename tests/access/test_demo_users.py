"""The demo's accounts: one per role, signing in with the documented password and the
shared authenticator secret."""

from __future__ import annotations

from pathlib import Path

import pyotp

from app.access.demo import DEMO_TOTP_SECRET, DEMO_USERS, load_demo_users
from app.access.models import Role
from app.access.secrets import password_problem
from tests.helpers.access import API
from tests.helpers.factories import make_agency

README = Path(__file__).resolve().parents[2] / "README.md"


def _load(db):
    social_care, police = make_agency(db, name="Social care"), make_agency(db, name="Police")
    users = load_demo_users(db, {"social care": social_care, "police": police})
    db.commit()
    return users, social_care, police


class TestDemoUsers:
    def test_one_account_per_role_and_auditors_for_two_agencies(self, db):
        users, social_care, police = _load(db)
        roles = [r for u in users for r in u.roles]
        assert sorted(set(roles)) == sorted(Role)
        auditors = [u for u in users if Role.AUDITOR in u.roles]
        assert {u.agency_id for u in auditors} == {social_care.id, police.id}
        assert all(u.email.endswith("@example.org") for u in users)
        assert all(u.totp_confirmed_at and u.totp_secret == DEMO_TOTP_SECRET for u in users)

    def test_passwords_meet_the_rules(self):
        assert all(password_problem(u.password) is None for u in DEMO_USERS)

    def test_loading_twice_adds_nothing(self, db):
        _load(db)
        again = load_demo_users(db, {"social care": None, "police": None})
        assert again == []

    def test_a_demo_auditor_signs_in_with_the_documented_secret(self, db, web):
        _load(db)
        demo = next(u for u in DEMO_USERS if u.email == "auditor.police@example.org")
        r = web.post(f"{API}/auth/sign-in", json={"email": demo.email, "password": demo.password})
        assert r.json()["status"] == "second_factor_required"
        r = web.post(f"{API}/auth/second-factor", json={"code": pyotp.TOTP(DEMO_TOTP_SECRET).now()})
        assert r.status_code == 200, r.text
        me = web.get(f"{API}/auth/me").json()
        assert me["roles"] == ["auditor"] and me["agency"]["name"] == "Police"

    def test_the_readme_lists_every_account(self):
        text = README.read_text(encoding="utf-8")
        assert "## Demo accounts" in text
        assert DEMO_TOTP_SECRET in text
        for demo in DEMO_USERS:
            assert demo.email in text and demo.password in text
