"""Making one-time links (app/respond/service.py, the administrator's page): only for a
family survey's or an audit about agencies' returns, by those who plan audits; the
link shown once, its token never stored nor logged; a new link voids the older one."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.access.models import Role
from app.access.secrets import digest
from app.auditlog.models import AuditEvent
from app.errors import StateError
from app.respond import answering, service
from app.respond.models import RespondentLink
from app.returns.models import Return
from tests.helpers.access import actor_of, browse_as
from tests.helpers.factories import make_agency
from tests.helpers.links import NOON
from tests.respond.conftest import issue

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
LINK = re.compile(r'value="(https?://[^"]+/respond/([A-Za-z0-9_-]+))"')


def _links_page(web, audit_id: int) -> str:
    page = web.get(f"/audits/{audit_id}/respondent-links")
    assert page.status_code == 200, page.text
    return page.text


class TestTheAdministratorsPage:
    def test_lists_each_family_and_makes_a_link_shown_once(
        self, web, db, admin, family_survey, settings
    ):
        browse_as(web, db, admin)
        page = _links_page(web, family_survey.survey.id)
        assert page.count("No link") == 3 and "Child A" in page
        return_ = family_survey.return_for(db)
        made = web.post(
            f"/audits/{family_survey.survey.id}/respondent-links",
            data={"csrf_token": CSRF.search(page)[1], "return_id": str(return_.id)},
        )
        assert made.status_code == 200, made.text
        assert "One-time link made" in made.text and "shown only once" in made.text
        address, token = LINK.search(made.text).groups()
        assert address == f"{settings.public_url}/respond/{token}"
        row = db.scalar(select(RespondentLink))
        assert row.token_hash == digest(token) and token not in str(vars(row))
        assert row.expires_at == NOON + timedelta(days=settings.respondent_link_days)
        listed = _links_page(web, family_survey.survey.id)
        assert "Sent on 8 December 2026, expires on 22 December 2026" in listed
        assert token not in listed  # never shown again
        logged = db.scalar(select(AuditEvent).where(AuditEvent.action == "respondent_link.issue"))
        assert logged.user_label == admin.email and logged.object_id == row.id
        assert token not in json.dumps(logged.after, default=str)

    def test_the_token_is_not_in_the_audit_log(self, db, admin, family_survey, settings):
        return_ = family_survey.return_for(db)
        first, old = issue(db, family_survey.survey, return_, admin, settings)
        second, new = issue(db, family_survey.survey, return_, admin, settings)
        rows = list(
            db.scalars(select(AuditEvent).where(AuditEvent.object_type == "respondent_link"))
        )
        assert [(r.action, r.object_id) for r in rows] == [
            ("respondent_link.issue", first.id),
            ("respondent_link.void", first.id),
            ("respondent_link.issue", second.id),
        ]
        logged = json.dumps([[r.before, r.after] for r in rows], default=str)
        everything = json.dumps(
            [[r.before, r.after] for r in db.scalars(select(AuditEvent))], default=str
        )
        for token in (old, new):
            assert token not in everything and digest(token) not in logged
        assert rows[2].after["replaces"] == [first.id]

    def test_a_new_link_voids_the_unused_one(self, db, admin, family_survey, settings):
        return_ = family_survey.return_for(db)
        _first, old = issue(db, family_survey.survey, return_, admin, settings)
        _second, new = issue(db, family_survey.survey, return_, admin, settings)
        with pytest.raises(answering.LinkGone):
            answering.open_link(db, token=old)
        assert answering.open_link(db, token=new).return_.id == return_.id

    def test_stopping_a_link(self, web, db, admin, family_survey, settings):
        return_ = family_survey.return_for(db)
        _link, token = issue(db, family_survey.survey, return_, admin, settings)
        browse_as(web, db, admin)
        page = _links_page(web, family_survey.survey.id)
        assert "Stop the link working" in page
        stopped = web.post(
            f"/audits/{family_survey.survey.id}/respondent-links/void",
            data={"csrf_token": CSRF.search(page)[1], "return_id": str(return_.id)},
            follow_redirects=False,
        )
        assert stopped.status_code == 303
        assert "The link no longer works." in web.get(stopped.headers["location"]).text
        with pytest.raises(answering.LinkGone):
            answering.open_link(db, token=token)
        assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "respondent_link.void"))

    @pytest.mark.parametrize("role", [Role.MODERATOR, Role.AUDITOR, Role.AGENCY_LEAD])
    def test_only_those_who_plan_audits_make_links(self, web, db, family_survey, role):
        from app.access import service as access

        agency = family_survey.survey.agencies[0]
        person = access.create_user(
            db,
            email=f"{role.value}@example.org",
            display_name=role.value,
            roles={role},
            agency_id=agency.id if role in (Role.AUDITOR, Role.AGENCY_LEAD) else None,
        )
        db.commit()
        browse_as(web, db, person)
        path = f"/audits/{family_survey.survey.id}/respondent-links"
        assert web.get(path).status_code == 403
        return_ = family_survey.return_for(db)
        assert web.post(path, data={"return_id": str(return_.id)}).status_code == 403
        assert db.scalar(select(RespondentLink.id)) is None


class TestWhichReturns:
    def test_not_a_case_audits_returns(self, db, admin, family_survey, settings):
        source = family_survey.source
        return_ = db.scalar(select(Return).where(Return.audit_id == source.id))
        with pytest.raises(StateError):
            service.issue(
                db, audit=source, return_id=return_.id, actor=actor_of(admin), settings=settings
            )
        assert service.link_rows(db, audit=source) == []

    def test_every_return_of_an_audit_about_agencies(self, db, admin, settings):
        from app.audits import lifecycle
        from app.audits import service as audits
        from tests.respond.conftest import shipped

        version = shipped(db, "section-11-self-assessment")
        agencies = [make_agency(db) for _ in range(3)]
        audit = audits.create_audit(
            db,
            template_version_id=version.id,
            title="Section 11 self-assessment 2026",
            returns_due_on=NOON.date() + timedelta(days=30),
            agency_ids=[a.id for a in agencies],
        )
        rows = service.link_rows(db, audit=audit)
        assert len(rows) == 3 and not any(r.may_issue for r in rows)  # planned: not yet
        lifecycle.open_audit(db, audit=audit, confirm=True)
        rows = service.link_rows(db, audit=audit)
        assert all(r.may_issue for r in rows)
        assert sorted(r.case for r in rows) == sorted(a.name for a in agencies)
        link, _token = service.issue(
            db, audit=audit, return_id=rows[0].return_id, actor=actor_of(admin), settings=settings
        )
        assert link.return_id == rows[0].return_id

    def test_another_audits_return_is_not_found(self, db, admin, family_survey, settings):
        from app.errors import NotFound

        other = db.scalar(select(Return).where(Return.audit_id == family_survey.source.id))
        with pytest.raises(NotFound):
            service.issue(
                db,
                audit=family_survey.survey,
                return_id=other.id,
                actor=actor_of(admin),
                settings=settings,
            )
