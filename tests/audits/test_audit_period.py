"""The period of practice an audit looks at (``period_from`` to ``period_to``): set
and cleared over the API and on the planning pages, shown on the overview, needed to
open an audit whose template asks for dates within it, and the bounds a return's
date answers must keep to."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.audit_templates import service as templates
from app.audit_templates.schemas import TemplateContent
from app.auditlog.models import AuditEvent
from app.audits import cohort
from app.audits import service as audits
from app.audits.models import Audit
from tests.helpers.access import browse_as
from tests.helpers.audit_templates import create_draft, new_content, publish
from tests.helpers.audits import (
    API,
    add_child,
    children,
    create_audit,
    fields,
    get_audit,
    key_areas,
    return_ids,
)
from tests.helpers.factories import make_agency, make_template

NOW = datetime(2026, 7, 15, 12, tzinfo=UTC)
FROM, TO = date(2026, 1, 1), date(2026, 6, 30)
DUE = date(2026, 8, 14)
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
ERROR_SUMMARY = re.compile(r'class="govuk-error-summary".*?</div>\s*</div>', re.S)
PERIOD_ROW = re.compile(
    r'Period looked at\s*</dt>\s*<dd class="govuk-summary-list__value">\s*(.*?)\s*</dd>', re.S
)


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(NOW, tick=True):
        yield


def summary_links(html: str) -> list[str]:
    found = ERROR_SUMMARY.search(html)
    assert found, "no error summary"
    return re.findall(r'<a href="([^"]+)"', found.group(0))


def date_fields(name: str, day: date) -> dict:
    return {f"{name}-day": str(day.day), f"{name}-month": str(day.month), f"{name}-year": day.year}


def period_shown(html: str) -> str:
    found = PERIOD_ROW.search(html)
    assert found, "no 'Period looked at' row"
    return found.group(1)


# --- the API -------------------------------------------------------------------------


class TestOverTheApi:
    def test_set_when_created_and_changed_and_cleared(self, client, db, version):
        audit = create_audit(client, version.id, period_from=str(FROM), period_to=str(TO))
        assert (audit["period_from"], audit["period_to"]) == ("2026-01-01", "2026-06-30")
        assert get_audit(client, audit["id"])["period_to"] == "2026-06-30"
        created = db.scalars(select(AuditEvent).where(AuditEvent.action == "audit.create")).one()
        assert (created.after["period_from"], created.after["period_to"]) == (
            "2026-01-01",
            "2026-06-30",
        )

        r = client.patch(f"{API}/audits/{audit['id']}", json={"period_to": "2026-03-31"})
        assert r.status_code == 200, r.text
        assert (r.json()["period_from"], r.json()["period_to"]) == ("2026-01-01", "2026-03-31")
        changed = db.scalars(select(AuditEvent).where(AuditEvent.action == "audit.update")).one()
        assert (changed.before, changed.after) == (
            {"period_to": "2026-06-30"},
            {"period_to": "2026-03-31"},
        )

        r = client.patch(f"{API}/audits/{audit['id']}", json={"period_from": None})
        assert r.status_code == 200, r.text
        assert (r.json()["period_from"], r.json()["period_to"]) == (None, "2026-03-31")
        r = client.patch(f"{API}/audits/{audit['id']}", json={"title": "Renamed"})
        assert r.json()["period_to"] == "2026-03-31"  # left out: unchanged

    def test_not_set_unless_given(self, client, version):
        audit = create_audit(client, version.id)
        assert (audit["period_from"], audit["period_to"]) == (None, None)

    def test_an_end_before_the_start_is_refused_naming_the_end(self, client, db, version):
        db.commit()  # the set-up, as its own transaction: a refused request undoes the rest
        r = client.post(
            f"{API}/audits",
            json={
                "template_version_id": version.id,
                "title": "Audit",
                "period_from": "2026-06-30",
                "period_to": "2026-01-01",
            },
        )
        assert r.status_code == 422 and fields(r) == {"period_to"}
        assert r.json()["errors"][0]["message"] == "Must be on or after the start of the period"

        audit = create_audit(client, version.id, period_from=str(FROM), period_to=str(TO))
        r = client.patch(f"{API}/audits/{audit['id']}", json={"period_from": "2026-07-01"})
        assert r.status_code == 422 and fields(r) == {"period_to"}
        assert get_audit(client, audit["id"])["period_from"] == "2026-01-01"
        # One day long is a period.
        r = client.patch(f"{API}/audits/{audit['id']}", json={"period_from": "2026-06-30"})
        assert r.status_code == 200, r.text

    def test_a_date_that_is_not_one_is_refused(self, client, db, version):
        db.commit()
        body = {"template_version_id": version.id, "title": "Audit", "period_from": "1 Jan 2026"}
        r = client.post(f"{API}/audits", json=body)
        assert r.status_code == 422 and fields(r) == {"period_from"}
        r = client.post(f"{API}/audits", json={**body, "period_from": "1066-10-14"})
        assert r.status_code == 422 and fields(r) == {"period_from"}


# --- opening, and the returns' date answers ------------------------------------------


@pytest.fixture
def asks_within(client) -> dict:
    """A published template whose first key area's date question must fall within
    the audit's period."""
    content = new_content()
    content["key_areas"][0]["questions"][2]["within_audit_period"] = True
    return publish(client, create_draft(client, content)["id"])


@pytest.fixture
def ready(client, asks_within, police) -> dict:
    """A planned audit on that template, ready to open but for its period."""
    audit = create_audit(client, asks_within["id"], returns_due_on=str(DUE), agency_ids=[police.id])
    add_child(client, audit["id"], "Child A", [police.id])
    return audit


def open_(client, audit_id: int):
    return client.post(f"{API}/audits/{audit_id}/open", json={"confirm": True})


class TestOpening:
    def test_refused_without_the_period_when_the_template_asks_for_dates_within_it(
        self, client, ready
    ):
        r = open_(client, ready["id"])
        assert r.status_code == 422 and fields(r) == {"period_from"}
        assert r.json()["errors"][0]["message"] == (
            "Set the period the audit looks at: the template asks for dates within it"
        )
        # Half a period is not enough.
        client.patch(f"{API}/audits/{ready['id']}", json={"period_from": str(FROM)})
        r = open_(client, ready["id"])
        assert r.status_code == 422 and fields(r) == {"period_from"}
        assert get_audit(client, ready["id"])["status"] == "planned"

        client.patch(f"{API}/audits/{ready['id']}", json={"period_to": str(TO)})
        r = open_(client, ready["id"])
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "open"

    def test_a_template_that_does_not_ask_opens_without_a_period(self, client, version, police):
        audit = create_audit(client, version.id, returns_due_on=str(DUE), agency_ids=[police.id])
        add_child(client, audit["id"], "Child A", [police.id])
        r = open_(client, audit["id"])
        assert r.status_code == 200, r.text

    def test_a_case_question_that_asks_counts_too(self, client, police):
        content = new_content()
        content["case_questions"] = [
            {
                "prompt": "When was the child first seen?",
                "type": "date",
                "within_audit_period": True,
            }
        ]
        version = publish(client, create_draft(client, content)["id"])
        audit = create_audit(client, version["id"], returns_due_on=str(DUE), agency_ids=[police.id])
        add_child(client, audit["id"], "Child A", [police.id])
        r = open_(client, audit["id"])
        assert r.status_code == 422 and fields(r) == {"period_from"}

    def test_a_date_answer_outside_the_period_is_refused(self, client, ready, police):
        client.patch(
            f"{API}/audits/{ready['id']}", json={"period_from": str(FROM), "period_to": str(TO)}
        )
        assert open_(client, ready["id"]).status_code == 200
        return_id = return_ids(children(client, ready["id"])[0])[police.id]
        question = key_areas(client, ready["template_version"]["id"])[0]["questions"][2]
        assert question["within_audit_period"] is True
        path = f"{API}/returns/{return_id}/draft"

        for outside in ("2025-12-31", "2026-07-01"):
            r = client.put(
                path,
                json={"version": 1, "answers": [{"question_id": question["id"], "value": outside}]},
            )
            assert r.status_code == 422, r.text
            assert fields(r) == {"answers[0].value"}

        r = client.put(
            path,
            json={
                "version": 1,
                "answers": [{"question_id": question["id"], "value": "2026-03-01"}],
            },
        )
        assert r.status_code == 200, r.text
        saved = client.get(f"{API}/returns/{return_id}").json()
        assert {a["question_id"]: a["value"] for a in saved["answers"]}[question["id"]] == (
            "2026-03-01"
        )


# --- the pages -----------------------------------------------------------------------


@pytest.fixture
def admin(anonymous_client, db):
    user = access.create_user(db, email="a@example.org", display_name="A", roles={Role.ADMIN})
    browse_as(anonymous_client, db, user)
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    return anonymous_client


@pytest.fixture
def token(admin):
    return CSRF.search(admin.get("/admin/audits/new").text).group(1)


@pytest.fixture
def page_version(db):
    return make_template(db)


class TestThePages:
    def test_set_on_the_new_audit_page_and_shown(self, admin, db, token, page_version):
        db.commit()
        form = admin.get("/admin/audits/new").text
        assert "Period the audit looks at: from (optional)" in form
        assert "For example, the six months before the audit." in form
        r = admin.post(
            "/admin/audits/new",
            data={"csrf_token": token, "title": "Neglect audit"}
            | {"template_version_id": page_version.id}
            | date_fields("returns_due_on", DUE)
            | date_fields("period_from", FROM)
            | date_fields("period_to", TO),
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        audit_id = int(r.headers["location"].split("/")[-1])
        audit = db.get(Audit, audit_id)
        assert (audit.period_from, audit.period_to) == (FROM, TO)
        plan = admin.get(f"/admin/audits/{audit_id}").text
        assert period_shown(plan) == "1 January 2026 to 30 June 2026"
        assert f'href="/admin/audits/{audit_id}?change=details#period_from-day"' in plan
        assert period_shown(admin.get(f"/audits/{audit_id}").text) == (
            "1 January 2026 to 30 June 2026"
        )

    def test_not_set_on_the_overview(self, admin, db, page_version):
        audit = audits.create_audit(db, template_version_id=page_version.id, title="Audit")
        db.commit()
        assert period_shown(admin.get(f"/audits/{audit.id}").text) == "Not set"

    def test_a_bad_date_gets_a_govuk_error(self, admin, db, token, page_version):
        db.commit()
        r = admin.post(
            "/admin/audits/new",
            data={"csrf_token": token, "title": "Neglect audit"}
            | {"template_version_id": page_version.id}
            | {"period_from-day": "31", "period_from-month": "2", "period_from-year": "2026"}
            | {"period_to-month": "6", "period_to-year": "2026"},
        )
        assert r.status_code == 422
        assert summary_links(r.text) == ["#period_from-day", "#period_to-day"]
        assert "Start of the period must be a real date" in r.text
        assert "End of the period must include a day" in r.text
        assert db.scalar(select(Audit.id)) is None

    def test_changed_cleared_and_an_end_before_the_start(self, admin, db, token, page_version):
        audit = audits.create_audit(
            db, template_version_id=page_version.id, title="Audit", period_from=FROM, period_to=TO
        )
        db.commit()
        form = admin.get(f"/admin/audits/{audit.id}?change=details").text
        assert 'name="period_to-month"' in form and 'value="30"' in form
        path = f"/admin/audits/{audit.id}"
        bad = admin.post(
            path,
            data={"csrf_token": token, "title": "Audit"}
            | date_fields("period_from", TO)
            | date_fields("period_to", FROM),
        )
        assert bad.status_code == 422
        assert summary_links(bad.text) == ["#period_to-day"]
        assert "End of the period must be on or after the start of the period" in bad.text
        db.expire_all()
        assert db.get(Audit, audit.id).period_from == FROM
        # Left blank, both are cleared.
        ok = admin.post(path, data={"csrf_token": token, "title": "Audit"}, follow_redirects=False)
        assert ok.status_code == 303, ok.text
        db.expire_all()
        assert (db.get(Audit, audit.id).period_from, db.get(Audit, audit.id).period_to) == (
            None,
            None,
        )

    def test_opening_links_to_the_period(self, admin, db, token):
        content = new_content()
        content["key_areas"][0]["questions"][2]["within_audit_period"] = True
        version = templates.create_draft(db, content=TemplateContent.model_validate(content))
        templates.publish(db, version=version)
        police = make_agency(db, name="Westshire Police")
        audit = audits.create_audit(
            db,
            template_version_id=version.id,
            title="Audit",
            returns_due_on=DUE,
            agency_ids=[police.id],
        )
        cohort.add_child(db, audit=audit, pseudonym="Child A", agency_ids=[police.id])
        db.commit()
        page = admin.get(f"/admin/audits/{audit.id}/open").text
        assert "This audit cannot open yet" in page
        href = f"/admin/audits/{audit.id}?change=details#period_from-day"
        assert (
            f'<a class="govuk-link" href="{href}">Set the period the audit looks at: '
            "the template asks for dates within it</a>"
        ) in page
        refused = admin.post(f"/admin/audits/{audit.id}/open", data={"csrf_token": token})
        assert refused.status_code == 422
        assert summary_links(refused.text) == [href]
