"""Themes a person follows (app/notifications/subscriptions.py): chosen on a page or
through the API, each an active theme; when a learning briefing on one of them is
published, each follower is told once, in the publishing transaction; a new version
says it is an update; a subgroup report tells no one."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.audits.models import AuditStatus
from app.briefings import render_queue
from app.briefings.models import (
    Briefing,
    BriefingKind,
    BriefingVersion,
    Marking,
    RenderStatus,
    VersionStatus,
)
from app.findings import service as findings
from app.findings.models import Finding, FindingKind, Theme
from app.notifications import subscriptions
from app.notifications.models import Notification
from tests.helpers.access import bearer, browse_as, token_holder
from tests.helpers.factories import make_audit

PUBLISHED_ON = date(2027, 2, 1)


@pytest.fixture
def themes(db):
    """Three of the themes the migrations seed, and one retired; the others retired
    too, so that the lists are short."""
    named = ("Voice of the child", "Strategy discussion", "Information sharing")
    made = {t.name: t for t in db.scalars(select(Theme)) if t.name in named}
    for theme in db.scalars(select(Theme)):
        theme.active = theme.name in named
    retired = findings.create_theme(db, name="Retired theme")
    retired.active = False
    db.flush()
    assert len(made) == 3
    return made, retired


def _person(db, name, role=Role.PRACTITIONER):
    return access.create_user(
        db,
        email=f"{name.lower().replace(' ', '.')}@example.org",
        display_name=name,
        roles={role},
    )


def _publish(db, audit, *, kind=BriefingKind.BRIEFING, briefing=None, number=1):
    briefing = briefing or Briefing(audit_id=audit.id, kind=kind, title="Learning from the audit")
    db.add(briefing)
    db.flush()
    version = BriefingVersion(
        briefing_id=briefing.id,
        number=number,
        status=VersionStatus.APPROVED,
        marking=Marking.OFFICIAL,
        sections={"background": "Why the partnership looked."},
        render_status=RenderStatus.RENDERING,
    )
    db.add(version)
    db.flush()
    render_queue._finish_render(
        db, version_id=version.id, pdf=b"%PDF-1.7 synthetic", today=PUBLISHED_ON
    )
    return briefing, version


def _told(db) -> list[tuple[str, str]]:
    return sorted(
        (n.email, n.subject)
        for n in db.scalars(select(Notification).where(Notification.kind == "briefing_published"))
    )


class TestPublished:
    def test_followers_of_its_themes_are_told_once_and_no_one_else(self, db, themes):
        made, _retired = themes
        audit = make_audit(db, children=1, agencies_count=1)
        audit.status = AuditStatus.LEARNING
        db.add(
            Finding(
                audit_id=audit.id,
                kind=FindingKind.AREA_FOR_IMPROVEMENT,
                statement="Strategy discussions did not always include health.",
                themes=[made["Strategy discussion"]],
            )
        )
        audit.theme = "voice of the child"  # the audit's own theme, as typed
        follows_one = _person(db, "Pat Practitioner")
        follows_both = _person(db, "Dee Designated", Role.MODERATOR)
        follows_other = _person(db, "Ida Information")
        gone = _person(db, "Gone Away")
        gone.active = False
        subscriptions.follow(db, user_id=follows_one.id, theme_ids=[made["Strategy discussion"].id])
        subscriptions.follow(
            db,
            user_id=follows_both.id,
            theme_ids=[made["Strategy discussion"].id, made["Voice of the child"].id],
        )
        subscriptions.follow(
            db, user_id=follows_other.id, theme_ids=[made["Information sharing"].id]
        )
        subscriptions.follow(db, user_id=gone.id, theme_ids=[made["Information sharing"].id])
        briefing, _version = _publish(db, audit)
        subject = "New learning briefing: Learning from the audit"
        assert _told(db) == [
            ("dee.designated@example.org", subject),
            ("pat.practitioner@example.org", subject),
        ]
        body = db.scalar(
            select(Notification.body).where(Notification.email == "pat.practitioner@example.org")
        )
        assert "Its themes: Strategy discussion, Voice of the child." in body
        assert f"/library/{briefing.id}" in body and "/notifications/themes" in body

        _publish(db, audit, briefing=briefing, number=2)
        updated = [s for _e, s in _told(db) if s.startswith("Learning briefing updated")]
        assert len(updated) == 2

    def test_a_subgroup_report_tells_no_one(self, db, themes):
        made, _retired = themes
        audit = make_audit(db, children=1, agencies_count=1)
        audit.status = AuditStatus.LEARNING
        audit.theme = "Information sharing"
        reader = _person(db, "Pat Practitioner")
        subscriptions.follow(db, user_id=reader.id, theme_ids=[made["Information sharing"].id])
        _publish(db, audit, kind=BriefingKind.SUBGROUP_REPORT)
        assert _told(db) == []


class TestFollowing:
    def test_through_the_api(self, db, themes, anonymous_client):
        made, retired = themes
        user, token = token_holder(db, Role.PRACTITIONER, "Pat Practitioner")
        headers = bearer(token)
        listed = anonymous_client.get("/api/v1/me/themes", headers=headers)
        assert listed.status_code == 200
        assert [(t["name"], t["followed"]) for t in listed.json()["themes"]] == [
            ("Information sharing", False),
            ("Strategy discussion", False),
            ("Voice of the child", False),
        ]
        ids = [made["Information sharing"].id, made["Voice of the child"].id]
        put = anonymous_client.put("/api/v1/me/themes", json={"theme_ids": ids}, headers=headers)
        assert put.status_code == 200
        assert {t["name"] for t in put.json()["themes"] if t["followed"]} == {
            "Information sharing",
            "Voice of the child",
        }
        refused = anonymous_client.put(
            "/api/v1/me/themes", json={"theme_ids": [retired.id]}, headers=headers
        )
        assert refused.status_code == 422
        assert [e["field"] for e in refused.json()["errors"]] == ["theme_ids"]
        assert {t.name for t in subscriptions.followed(db, user_id=user.id)} == {
            "Information sharing",
            "Voice of the child",
        }
        cleared = anonymous_client.put("/api/v1/me/themes", json={"theme_ids": []}, headers=headers)
        assert not any(t["followed"] for t in cleared.json()["themes"])
        assert anonymous_client.get("/api/v1/me/themes").status_code == 401

    def test_a_retired_theme_still_followed_can_be_kept_but_not_newly_chosen(self, db, themes):
        made, retired = themes
        reader = _person(db, "Pat Practitioner")
        db.add_all([])
        from app.findings.models import ThemeSubscription

        db.add(ThemeSubscription(user_id=reader.id, theme_id=retired.id))  # before retiring
        db.flush()
        kept = subscriptions.follow(
            db, user_id=reader.id, theme_ids=[retired.id, made["Information sharing"].id]
        )
        assert [t.name for t in kept] == ["Information sharing", "Retired theme"]

    def test_my_notifications_through_the_api(self, db, themes, anonymous_client):
        made, _retired = themes
        user, token = token_holder(db, Role.PRACTITIONER, "Pat Practitioner")
        subscriptions.follow(db, user_id=user.id, theme_ids=[made["Information sharing"].id])
        audit = make_audit(db, children=1, agencies_count=1)
        audit.status = AuditStatus.LEARNING
        audit.theme = "Information sharing"
        _publish(db, audit)
        db.commit()
        found = anonymous_client.get("/api/v1/me/notifications", headers=bearer(token)).json()
        assert [(n["kind"], n["status"]) for n in found] == [("briefing_published", "queued")]


CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


class TestPage:
    def test_choose_themes_on_the_page(self, db, themes, anonymous_client):
        made, _retired = themes
        reader = _person(db, "Pat Practitioner")
        db.commit()
        browser = anonymous_client
        browse_as(browser, db, reader)
        page = browser.get("/notifications/themes")
        assert page.status_code == 200
        assert "Which themes do you want to hear about?" in page.text
        assert "Retired theme" not in page.text
        token = CSRF.search(page.text).group(1)
        chosen = [str(made["Information sharing"].id), str(made["Voice of the child"].id)]
        saved = browser.post(
            "/notifications/themes", data={"csrf_token": token, "theme_ids": chosen}
        )
        shown = saved  # redirected to the page again, with its banner
        assert saved.status_code == 200 and str(saved.url).endswith("/notifications/themes")
        assert (
            "You will be e-mailed when a learning briefing on Information sharing, Voice of "
            "the child is published." in shown.text
        )
        checked = re.findall(r'value="(\d+)" checked', shown.text)
        assert sorted(checked) == sorted(chosen)

    def test_a_theme_not_offered_is_refused_with_the_error_summary(
        self, db, themes, anonymous_client
    ):
        _made, retired = themes
        reader = _person(db, "Pat Practitioner")
        db.commit()
        browse_as(anonymous_client, db, reader)
        token = CSRF.search(anonymous_client.get("/notifications/themes").text).group(1)
        refused = anonymous_client.post(
            "/notifications/themes", data={"csrf_token": token, "theme_ids": [str(retired.id)]}
        )
        assert refused.status_code == 422
        assert (
            "govuk-error-summary" in refused.text and "Choose themes from the list" in refused.text
        )
        assert subscriptions.followed(db, user_id=reader.id) == []
