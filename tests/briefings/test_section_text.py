"""A briefing's sections refuse control characters through the page and the API, on
every database (PostgreSQL cannot store NUL at all; SQLite would have stored any of
them), with the field named; tabs and line breaks are text."""

from __future__ import annotations

import re

import pytest

from app.access import service as access
from app.access.models import Role
from app.audits.models import AuditStatus
from app.briefings import service, workflow
from app.briefings.models import BriefingKind, Marking
from tests.helpers.access import actor_of, browse_as
from tests.helpers.factories import make_audit

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
LOCK = re.compile(r'name="lock_version" value="(\d+)"')


@pytest.fixture
def author(db):
    return access.create_user(
        db, email="author@example.org", display_name="Ash Author", roles={Role.MODERATOR}
    )


@pytest.fixture
def version(db, author):
    audit = make_audit(db, children=3, agencies_count=2)
    audit.status = AuditStatus.LEARNING
    db.flush()
    made = workflow.create(
        db,
        audit=audit,
        kind=BriefingKind.SUBGROUP_REPORT,
        title="A report",
        marking=Marking.OFFICIAL,
        public=False,
        actor=actor_of(author),
    )
    db.commit()
    return made


def _save(client, version, **sections):
    editor = f"/briefings/versions/{version.id}"
    page = client.get(editor).text
    data = {
        "csrf_token": CSRF.search(page)[1],
        "lock_version": LOCK.search(page)[1],
        "marking": "OFFICIAL",
        **sections,
    }
    return client.post(editor, data=data, follow_redirects=False)


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x08", "\x0b", "\x1b", "\x7f"])
def test_a_section_with_a_control_character_is_refused_and_nothing_saved(
    anonymous_client, db, author, version, character
):
    browse_as(anonymous_client, db, author)
    key = next(iter(service.section_headings(version.briefing.kind)))
    r = _save(anonymous_client, version, **{key: f"What we found{character} here"})
    assert r.status_code == 422
    assert "A section must not contain control characters" in r.text
    assert f'href="#{key}"' in r.text  # the error summary links to the section
    db.expire_all()
    assert character not in (version.sections or {}).get(key, "")


def test_tabs_and_line_breaks_are_text(anonymous_client, db, author, version):
    browse_as(anonymous_client, db, author)
    key = next(iter(service.section_headings(version.briefing.kind)))
    r = _save(anonymous_client, version, **{key: "First\tline\r\nsecond line"})
    assert r.status_code == 303, r.text
    db.expire_all()
    assert version.sections[key] == "First\tline\r\nsecond line"


def test_the_api_refuses_them_in_every_text_field(client):
    # A field with no check of its own: every request model checks every field.
    r = client.post("/api/v1/briefings/versions/1/suppressed-tables", json={"table": "a\x01b"})
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "table", "message": "must not contain control characters (such as NUL)"}
    ]
