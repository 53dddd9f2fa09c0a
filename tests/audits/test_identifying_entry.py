"""The identification guard where a cohort is entered: a child's pseudonym and context
tags are structured fields, so anything in them that looks like a name, a number, an
address or a date of birth is refused outright (no confirmation), in the API and on
the planning page, and nothing is saved.

The payloads are those the issue found accepted before the guard: "Jane Smith" is an
invented name, 12/03/2021 an invented date of birth, and 943 476 5919 the example NHS
number the NHS publishes in its own documentation (its check digit is valid; it belongs
to no one).
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import func, select

from app.access import service as access
from app.access.models import Role
from app.auditlog.models import AuditEvent
from app.audits import cohort
from app.audits.models import Audit, Child
from app.errors import InvalidInput
from tests.helpers.access import browse_as
from tests.helpers.actions import summary_links, token
from tests.helpers.audits import API, fields
from tests.helpers.factories import make_audit
from tests.helpers.identify_entry import (
    messages,
)

NAME = "Jane Smith"
DATE_OF_BIRTH = "DOB 12/03/2021"
NHS_NUMBER = "NHS 9434765919"  # the NHS's own published example number: no one's
PAYLOADS = [
    pytest.param(NAME, "name", id="name"),
    pytest.param(DATE_OF_BIRTH, "date_of_birth", id="date_of_birth"),
    pytest.param(NHS_NUMBER, "nhs_number", id="nhs_number"),
]
# What a cohort is normally described by: never refused.
NORMAL_TAGS = ["5-9", "sibling group", "SEND", "child in need", "CP plan", "looked after", "Year 9"]
NORMAL_PSEUDONYMS = ["Child A", "Young person 3", "Sibling B2"]


@pytest.fixture
def audit(db) -> Audit:
    """A planned audit with two agencies and no children yet (committed, so a refused
    request's rollback leaves it)."""
    audit = make_audit(db, children=0, open_=False)
    db.commit()
    return audit


@pytest.fixture
def admin(anonymous_client, db):
    """The planning pages, signed in as an admin; each request reads afresh."""
    user = access.create_user(db, email="a@example.org", display_name="A", roles={Role.ADMIN})
    db.commit()
    browse_as(anonymous_client, db, user)
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    return anonymous_client


def children_in(db, audit: Audit) -> list[Child]:
    return list(db.scalars(select(Child).where(Child.audit_id == audit.id)))


def logged(db, action: str) -> int:
    return db.scalar(select(func.count()).where(AuditEvent.action == action))


def add(client, audit: Audit, tags: list[str], pseudonym: str = "Child A"):
    return client.post(
        f"{API}/audits/{audit.id}/children",
        json={"pseudonym": pseudonym, "context_tags": tags},
    )


class TestContextTagsInTheApi:
    @pytest.mark.parametrize(("tag", "kind"), PAYLOADS)
    def test_each_payload_is_refused_naming_the_tag_and_nothing_is_saved(
        self, client, db, audit, tag, kind
    ):
        created = logged(db, "child.create")
        r = add(client, audit, ["SEND", tag])
        assert r.status_code == 422, r.text
        assert fields(r) == {"context_tags[1]"}
        message = messages(r)["context_tags[1]"]
        assert message.startswith("\u201c") and message.split("\u201d")[0][1:] in tag
        assert "pseudonym" in r.json()["detail"]
        assert children_in(db, audit) == []
        assert logged(db, "child.create") == created

    def test_the_issues_payload_is_refused_tag_by_tag(self, client, db, audit):
        r = add(client, audit, [NAME, DATE_OF_BIRTH, NHS_NUMBER])
        assert r.status_code == 422
        # The name too, once names are detected (test_each_payload_... waits for it).
        assert {"context_tags[1]", "context_tags[2]"} <= fields(r)
        assert "looks like a date of birth" in messages(r)["context_tags[1]"]
        assert "looks like an NHS number" in messages(r)["context_tags[2]"]
        assert children_in(db, audit) == []

    @pytest.mark.parametrize(("tag", "kind"), PAYLOADS)
    def test_changing_a_childs_tags_to_a_payload_is_refused(self, client, db, audit, tag, kind):
        child = add(client, audit, ["SEND"]).json()
        db.commit()
        r = client.patch(f"{API}/children/{child['id']}", json={"context_tags": ["CP plan", tag]})
        assert r.status_code == 422 and fields(r) == {"context_tags[1]"}
        db.expire_all()
        assert db.get(Child, child["id"]).context_tags == ["SEND"]

    @pytest.mark.parametrize("pseudonym", NORMAL_PSEUDONYMS)
    def test_a_normal_cohort_is_accepted(self, client, db, audit, pseudonym):
        r = add(client, audit, NORMAL_TAGS, pseudonym=pseudonym)
        assert r.status_code == 201, r.text
        assert (r.json()["pseudonym"], r.json()["context_tags"]) == (pseudonym, NORMAL_TAGS)
        changed = client.patch(
            f"{API}/children/{r.json()['id']}", json={"context_tags": list(reversed(NORMAL_TAGS))}
        )
        assert changed.status_code == 200, changed.text
        assert logged(db, "identify.confirmed") == 0


class TestThePseudonymInTheService:
    """The API's pseudonym shape ("Child A") already refuses a name; the service refuses
    what looks identifying whoever calls it (the demo, the assurance questionnaires)."""

    def test_an_identifying_pseudonym_is_refused(self, db, audit):
        with pytest.raises(InvalidInput) as refused:
            cohort.add_child(db, audit=audit, pseudonym="born 12/03/2021")
        assert [f.field for f in refused.value.fields] == ["pseudonym"]

    def test_changing_one_to_an_identifying_pseudonym_is_refused(self, db, audit):
        child = cohort.add_child(db, audit=audit, pseudonym="Child A")
        with pytest.raises(InvalidInput) as refused:
            cohort.update_child(
                db, audit=audit, child=child, changes={"pseudonym": "NHS 9434765919"}
            )
        assert [f.field for f in refused.value.fields] == ["pseudonym"]

    def test_a_briefings_pseudonym_is_fine(self, db, audit):
        child = cohort.add_child(db, audit=audit, pseudonym="Briefing 12", context_tags=["5-9"])
        assert (child.pseudonym, child.context_tags) == ("Briefing 12", ["5-9"])


class TestContextTagsOnThePlanningPage:
    @pytest.mark.parametrize(("tag", "kind"), PAYLOADS)
    def test_each_payload_is_refused_with_the_error_summary(self, admin, db, audit, tag, kind):
        plan = f"/admin/audits/{audit.id}"
        typed = f"SEND, {tag}"
        r = admin.post(
            f"{plan}/children",
            data={"csrf_token": token(admin, plan), "pseudonym": "Child A", "context_tags": typed},
        )
        assert r.status_code == 422
        assert summary_links(r.text) == ["#context_tags"]
        html = unescape(r.text)
        assert re.search(r'id="context_tags-error"[^>]*>\s*<span[^>]*>Error:</span> \u201c', html)
        assert f'value="{typed}"' in html  # what was typed is kept
        assert "confirm_identifying" not in r.text  # refused: there is nothing to confirm
        assert children_in(db, audit) == []

    def test_a_normal_child_is_added(self, admin, db, audit):
        plan = f"/admin/audits/{audit.id}"
        r = admin.post(
            f"{plan}/children",
            data={
                "csrf_token": token(admin, plan),
                "pseudonym": "Sibling B2",
                "age_band": "5-9",
                "context_tags": ", ".join(NORMAL_TAGS),
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        [child] = children_in(db, audit)
        assert (child.pseudonym, child.context_tags) == ("Sibling B2", NORMAL_TAGS)
