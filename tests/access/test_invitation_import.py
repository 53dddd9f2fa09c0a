"""Invitations in bulk from a CSV file (name, email, agency, roles): a dry run lists every
row with its problem and writes nothing; sending invites everyone or, if any row has a
problem, no one; through the service, the API and the pages, for an administrator and
for an agency lead (their own agency, their roles)."""

from __future__ import annotations

import re

import pytest
import time_machine
from sqlalchemy import func, select

from app.access import links
from app.access.models import AccountLink, Role, User
from app.agencies.models import AgencyKind
from app.notifications.models import Notification
from tests.helpers.access import API, actor_of, browse_as
from tests.helpers.factories import make_agency
from tests.helpers.links import NOON, emails

GOOD = """name,email,agency,roles
Priya Shah,priya.shah@example.org,Westshire Police,auditor
Lee Lead,lee.lead@example.org,Westshire Police,Agency lead; practitioner
Pat Reader,pat.reader@example.org,,practitioner
"""
# One bad row among good ones: the whole file is refused.
ONE_BAD = GOOD + "Sam Stray,sam.stray@example.org,Nowhere Trust,auditor\n"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def police(db):
    return make_agency(db, name="Westshire Police", kind=AgencyKind.POLICE)


@pytest.fixture
def admin(make_user, police):
    return make_user(roles=(Role.ADMIN,), email="alex.admin@example.org")


@pytest.fixture
def lead(make_user, police):
    return make_user(roles=(Role.AGENCY_LEAD,), agency=police, email="lead@example.org")


def written(db) -> tuple[int, int, int]:
    """(accounts, links, e-mails): what an import would have written."""
    count = lambda model: db.scalar(select(func.count(model.id)))  # noqa: E731
    return count(User), count(AccountLink), count(Notification)


class TestChecking:
    def test_each_rows_problem_is_named(self, db, admin, police, make_user):
        make_user(roles=(Role.PRACTITIONER,), email="taken@example.org")
        old = make_agency(db, name="Old Trust")
        old.active = False
        db.flush()
        text = (
            "Name,E-mail address,Agency,Roles\n"
            "Ok Person,ok@example.org,westshire police,auditor\n"  # 2
            ",blank.name@example.org,,practitioner\n"  # 3
            "Bad Email,not-an-address,,practitioner\n"  # 4
            "Twice,ok@example.org,,practitioner\n"  # 5
            "Has One,Taken@example.org,,practitioner\n"  # 6
            "Lost,lost@example.org,Nowhere Trust,auditor\n"  # 7
            "Gone,gone@example.org,Old Trust,practitioner\n"  # 8
            "No Roles,none@example.org,,\n"  # 9
            "Odd Role,odd@example.org,,auditor; wizard\n"  # 10
            "No Agency,noagency@example.org,,auditor\n"  # 11
            "\n"  # a blank line is no one
        )
        rows = links.check_import(db, text=text, actor=actor_of(admin))
        problems = {r.line: r.problems for r in rows}
        assert problems == {
            2: [],
            3: ["Enter the person's name"],
            4: ["Enter an email address in the correct format, like name@example.org"],
            5: ["The same email address as row 2"],
            6: ["Already has an account"],
            7: ["There is no agency called 'Nowhere Trust'"],
            8: ["Old Trust has been deactivated"],
            9: ["Give at least one role"],
            10: ["Not a role: wizard"],
            11: ["Auditors and agency leads belong to an agency: name it"],
        }
        assert rows[0].agency_id == police.id and rows[0].roles == {Role.AUDITOR}

    def test_a_lead_may_invite_to_their_own_agency_only_with_their_roles(self, db, lead, police):
        make_agency(db, name="Westshire Hospital")
        text = (
            "name,email,agency,roles\n"
            "Mine,mine@example.org,,auditor\n"
            "Also Mine,also@example.org,Westshire Police,agency_lead\n"
            "Theirs,theirs@example.org,Westshire Hospital,auditor\n"
            "Too Much,much@example.org,,moderator\n"
        )
        rows = links.check_import(db, text=text, actor=actor_of(lead))
        assert [r.problems for r in rows] == [
            [],
            [],
            ["You can invite people to your own agency only"],
            ["You can give the auditor, agency lead and practitioner roles only"],
        ]
        assert rows[0].agency_id == police.id  # theirs, when the column is blank

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            (b"name,email\nA,a@example.org\n", "missing: agency, roles"),
            (b"name,email,agency,roles\n", "no one in it"),
            (b"", "first row must name its columns"),
            ("name,email,agency,roles\nZo\xeb,z@example.org,,auditor\n".encode("cp1252"), "UTF-8"),
        ],
    )
    def test_a_file_that_cannot_be_read_is_refused_whole(self, db, admin, raw, message):
        with pytest.raises(links.InvalidInput) as refused:
            links.check_import(db, text=links.read_csv(raw), actor=actor_of(admin))
        assert message in refused.value.message

    def test_excels_byte_order_mark_is_read(self, db, admin, police):
        text = links.read_csv(b"\xef\xbb\xbf" + GOOD.encode())
        assert [r.problems for r in links.check_import(db, text=text, actor=actor_of(admin))] == [
            []
        ] * 3


class TestApi:
    def _post(self, web, headers, body: str, dry_run: bool):
        return web.post(
            f"{API}/invitations/import",
            params={"dry_run": "true"} if dry_run else {},
            content=body.encode(),
            headers={**headers, "Content-Type": "text/csv"},
        )

    @pytest.mark.parametrize("dry_run", [True, False])
    def test_one_bad_row_and_nothing_is_written(self, db, web, admin, token_for, dry_run):
        headers = token_for(admin)
        before = written(db)
        r = self._post(web, headers, ONE_BAD, dry_run)
        if dry_run:
            assert r.status_code == 200, r.text
            rows = r.json()["rows"]
            assert [row["problems"] for row in rows] == [
                [],
                [],
                [],
                ["There is no agency called 'Nowhere Trust'"],
            ]
            assert r.json()["invited"] == 0
        else:
            assert r.status_code == 422, r.text
            assert r.json()["errors"] == [
                {"field": "row 5", "message": "There is no agency called 'Nowhere Trust'"}
            ]
        assert written(db) == before

    def test_a_dry_run_of_a_good_file_writes_nothing_and_sending_invites_everyone(
        self, db, web, admin, token_for
    ):
        headers = token_for(admin)
        before = written(db)
        dry = self._post(web, headers, GOOD, True)
        assert dry.status_code == 200 and dry.json()["dry_run"] is True
        assert written(db) == before
        sent = self._post(web, headers, GOOD, False)
        assert sent.status_code == 200, sent.text
        assert sent.json()["invited"] == 3
        lee = db.scalar(select(User).where(User.email == "lee.lead@example.org"))
        assert lee.roles == {Role.AGENCY_LEAD, Role.PRACTITIONER}
        assert len(emails(db, "invitation")) == 3
        # The same file again: everyone has an account now.
        again = self._post(web, headers, GOOD, False)
        assert again.status_code == 422 and len(again.json()["errors"]) == 3

    def test_only_those_who_may_invite(self, db, web, make_user, token_for):
        caller = token_for(make_user(roles=(Role.MODERATOR,)))
        r = self._post(web, caller, GOOD, True)
        assert r.status_code == 403 and r.json()["code"] == "forbidden"


def _upload(client, path: str, body: bytes):
    page = client.get(path)
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)[1]
    return client.post(
        path,
        data={"csrf_token": csrf},
        files={"file": ("people.csv", body, "text/csv")},
    )


def _send(client, checked: str, path: str):
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', checked)[1]
    file = re.search(r'name="file" value="([^"]+)"', checked)[1]
    return client.post(path, data={"csrf_token": csrf, "file": file}, follow_redirects=False)


class TestPages:
    def test_the_dry_run_lists_every_row_and_offers_no_send_while_one_is_bad(self, db, web, admin):
        browse_as(web, db, admin)
        before = written(db)
        checked = _upload(web, "/admin/users/import", ONE_BAD.encode())
        assert checked.status_code == 422
        assert "There is a problem" in checked.text and 'href="#row-5"' in checked.text
        assert "Row 5: There is no agency called" in checked.text
        assert "priya.shah@example.org" in checked.text and "Send" not in checked.text
        assert written(db) == before

    def test_send_invites_everyone(self, db, web, admin):
        browse_as(web, db, admin)
        checked = _upload(web, "/admin/users/import", GOOD.encode())
        assert checked.status_code == 200 and "Send 3 invitations" in checked.text
        sent = _send(web, checked.text, "/admin/users/import/send")
        assert sent.status_code == 303 and sent.headers["location"] == "/admin/users"
        assert "3 invitations sent." in web.get("/admin/users").text
        assert len(emails(db, "invitation")) == 3

    def test_a_row_gone_bad_since_the_check_stops_the_whole_file(self, db, web, admin, make_user):
        browse_as(web, db, admin)
        checked = _upload(web, "/admin/users/import", GOOD.encode())
        make_user(roles=(Role.PRACTITIONER,), email="pat.reader@example.org")  # meanwhile
        before = written(db)
        sent = _send(web, checked.text, "/admin/users/import/send")
        assert sent.status_code == 422 and "Row 4: Already has an account" in sent.text
        assert written(db) == before

    def test_no_file_or_not_a_csv(self, db, web, admin):
        browse_as(web, db, admin)
        page = web.get("/admin/users/import")
        csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)[1]
        none = web.post(
            "/admin/users/import",
            data={"csrf_token": csrf},
            files={"file": ("", b"", "application/octet-stream")},
        )
        assert none.status_code == 422 and "Choose a CSV file" in none.text
        wrong = _upload(web, "/admin/users/import", b"\xff\xfe not text")
        assert wrong.status_code == 422 and "CSV UTF-8" in wrong.text

    def test_a_lead_imports_to_their_own_agency(self, db, web, lead, police):
        browse_as(web, db, lead)
        text = "name,email,agency,roles\nMine,mine@example.org,,auditor\n"
        checked = _upload(web, "/agency/people/import", text.encode())
        assert "Send 1 invitation" in checked.text
        sent = _send(web, checked.text, "/agency/people/import/send")
        assert sent.status_code == 303 and sent.headers["location"] == "/agency/people/invite"
        mine = db.scalar(select(User).where(User.email == "mine@example.org"))
        assert mine.agency_id == police.id and mine.roles == {Role.AUDITOR}
