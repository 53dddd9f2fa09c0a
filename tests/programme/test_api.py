"""The programme through the API: entries created, read, changed and archived, the
year's programme, and a month's audit made now or linked."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from app.access.models import Role
from app.auditlog.models import AuditEvent
from app.audits import service as audits
from tests.helpers.access import bearer, token_holder
from tests.programme.conftest import make_entry

API = "/api/v1"


def body(world, **changes) -> dict:
    return {
        "title": "Front Door referrals audit",
        "template_family_id": world.version.family_id,
        "first_month": "2026-04-01",
        "repeat": "monthly",
        "occurrences": 12,
        "lead_subgroup_id": world.qapp.id,
        "agency_ids": [a.id for a in world.agencies],
        "cohort_size": 10,
        **changes,
    }


def fields(response) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json().get("errors", [])}


class TestEntries:
    def test_create_read_change_and_archive(self, client, db, world):
        made = client.post(f"{API}/programme/entries", json=body(world))
        assert made.status_code == 201, made.text
        entry = made.json()
        assert entry["template_name"] and entry["returns_due_after_days"] == 21
        assert entry["moderation_after_days"] == 35 and entry["archived_at"] is None
        assert [m["month"] for m in entry["months"]][:2] == ["2026-04-01", "2026-05-01"]
        assert len(entry["months"]) == 12
        assert entry["months"][0] == {
            "month": "2026-04-01",
            "state": "not_planned",
            "late": True,
            "audit_id": None,
        }
        got = client.get(f"{API}/programme/entries/{entry['id']}")
        assert got.json() == entry
        changed = client.patch(
            f"{API}/programme/entries/{entry['id']}",
            json={"occurrences": 6, "cohort_size": None, "notes": "Schools only."},
        )
        assert changed.status_code == 200, changed.text
        assert (changed.json()["occurrences"], changed.json()["cohort_size"]) == (6, None)
        assert len(changed.json()["months"]) == 6
        listed = client.get(f"{API}/programme/entries").json()
        assert [e["id"] for e in listed] == [entry["id"]]
        archived = client.post(f"{API}/programme/entries/{entry['id']}/archive")
        assert archived.status_code == 200 and archived.json()["archived_at"]
        assert client.get(f"{API}/programme/entries").json() == []
        assert [e["id"] for e in client.get(f"{API}/programme/entries?archived=true").json()] == [
            entry["id"]
        ]
        again = client.patch(f"{API}/programme/entries/{entry['id']}", json={"title": "X"})
        assert again.status_code == 409
        actions = db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "programme_entry")
            .order_by(AuditEvent.id)
        ).all()
        assert actions == [
            "programme_entry.create",
            "programme_entry.update",
            "programme_entry.archive",
        ]

    def test_what_is_refused_is_said_field_by_field(self, client, db, world):
        from tests.helpers.factories import make_template

        draft = make_template(db, published=False)
        r = client.post(
            f"{API}/programme/entries",
            json=body(
                world,
                template_family_id=draft.family_id,
                first_month="2026-04-15",
                repeat="none",
                occurrences=2,
                agency_ids=[world.agencies[0].id, 999_999],
                returns_due_after_days=40,
                moderation_after_days=30,
            ),
        )
        assert r.status_code == 422
        assert fields(r) == {
            "template_family_id": f"{draft.name} has no published version yet",
            "agency_ids[1]": "There is no agency with id 999999",
            "first_month": "Must be the 1st of a month",
            "occurrences": "A one-off audit happens once: enter 1",
            "moderation_after_days": "Must be at least as many days as the returns are due after",
        }
        bounds = client.post(
            f"{API}/programme/entries",
            json=body(world, occurrences=25, cohort_size=0, title="x" * 181),
        )
        assert bounds.status_code == 422
        assert {"occurrences", "cohort_size", "title"} <= set(fields(bounds))
        null = client.patch(f"{API}/programme/entries/1", json={"title": None})
        assert null.status_code == 422
        assert client.get(f"{API}/programme/entries/999999").status_code == 404

    def test_a_first_month_left_as_it_was_is_not_checked_again(self, client, db, world):
        entry = make_entry(db, world, today=date(2025, 4, 10), first_month=date(2024, 4, 1))
        # A year on, April 2024 is more than a year ago; changing something else is fine.
        r = client.patch(f"{API}/programme/entries/{entry.id}", json={"title": "Renamed"})
        assert r.status_code == 200, r.text
        moved = client.patch(
            f"{API}/programme/entries/{entry.id}", json={"first_month": "2024-05-01"}
        )
        assert moved.status_code == 422 and "first_month" in fields(moved)


class TestTheYear:
    def test_the_years_entries_with_their_months_in_it(self, client, db, world):
        make_entry(db, world, first_month=date(2026, 10, 1))
        r = client.get(f"{API}/programme", params={"year": 2026})
        assert r.status_code == 200
        year = r.json()
        assert (year["year"], year["first_month"], year["last_month"]) == (
            2026,
            "2026-04-01",
            "2027-03-01",
        )
        (entry,) = year["entries"]
        assert [m["month"] for m in entry["months"]] == [
            f"{y}-{m:02d}-01"
            for y, m in [(2026, 10), (2026, 11), (2026, 12)] + [(2027, n) for n in (1, 2, 3)]
        ]
        next_year = client.get(f"{API}/programme", params={"year": 2027}).json()
        assert len(next_year["entries"][0]["months"]) == 6
        assert client.get(f"{API}/programme").json()["year"] == 2026  # today's
        assert client.get(f"{API}/programme", params={"year": 1999}).status_code == 422
        assert client.get(f"{API}/programme", params={"yr": 2026}).status_code == 422


class TestAMonthsAudit:
    def test_plan_now_then_not_again(self, client, db, world):
        entry = make_entry(db, world)
        r = client.post(f"{API}/programme/entries/{entry.id}/occurrences/2026-07/plan")
        assert r.status_code == 201, r.text
        made = r.json()
        assert made["title"] == "Front Door referrals audit - July 2026"
        assert (made["month"], made["status"]) == ("2026-07-01", "planned")
        again = client.post(f"{API}/programme/entries/{entry.id}/occurrences/2026-07/plan")
        assert again.status_code == 409
        assert (
            client.post(f"{API}/programme/entries/{entry.id}/occurrences/2027-07/plan").status_code
            == 404
        )
        assert (
            client.post(f"{API}/programme/entries/{entry.id}/occurrences/2026-13/plan").status_code
            == 422
        )
        month = client.get(f"{API}/programme/entries/{entry.id}").json()["months"][3]
        assert month == {
            "month": "2026-07-01",
            "state": "planned",
            "late": False,
            "audit_id": made["audit_id"],
        }

    def test_link_an_audit_already_made(self, client, db, world):
        entry = make_entry(db, world)
        audit = audits.create_audit(
            db,
            template_version_id=world.version.id,
            title="Front Door referrals: June",
            agency_ids=[world.agencies[0].id],
        )
        db.commit()
        url = f"{API}/programme/entries/{entry.id}/occurrences/2026-06/link"
        r = client.post(url, json={"audit_id": audit.id})
        assert r.status_code == 200, r.text
        assert r.json()["audit_id"] == audit.id and r.json()["month"] == "2026-06-01"
        # Neither the month nor the audit can be linked twice.
        assert client.post(url, json={"audit_id": audit.id}).status_code == 409
        other = f"{API}/programme/entries/{entry.id}/occurrences/2026-08/link"
        twice = client.post(other, json={"audit_id": audit.id})
        assert twice.status_code == 409 and "audit_id" in fields(twice)
        missing = client.post(other, json={"audit_id": 999_999})
        assert missing.status_code == 422
        logged = db.scalar(select(AuditEvent).where(AuditEvent.action == "programme_entry.link"))
        assert logged.after == {"month": "2026-06-01", "audit_id": audit.id}


class TestWhoMay:
    def test_readers_read_and_only_planners_change(self, anonymous_client, db, world):
        entry = make_entry(db, world)
        for role in (Role.SCRUTINEER, Role.EXECUTIVE, Role.MODERATOR, Role.SUBGROUP_CHAIR):
            _user, plain = token_holder(db, role, f"Reader {role.value}")
            headers = bearer(plain)
            assert anonymous_client.get(f"{API}/programme", headers=headers).status_code == 200
            refused = anonymous_client.post(
                f"{API}/programme/entries/{entry.id}/occurrences/2026-07/plan", headers=headers
            )
            assert refused.status_code == 403, role
        _user, plain = token_holder(db, Role.AUDITOR, "An auditor", agency_id=world.agencies[0].id)
        assert anonymous_client.get(f"{API}/programme", headers=bearer(plain)).status_code == 403


def test_notes_that_could_identify_someone_are_refused(client, db, world):
    """The notes become each month's audit's description: no name or number (the name
    and the NHS number are invented)."""
    from app.programme.models import ProgrammeEntry

    r = client.post(
        f"{API}/programme/entries",
        json=body(world, notes="Include the referral for Jayden Okafor, NHS 943 476 5919."),
    )
    assert r.status_code == 422, r.text
    assert set(fields(r)) == {"notes"}
    assert db.scalar(select(func.count()).select_from(ProgrammeEntry)) == 0
    fine = client.post(
        f"{API}/programme/entries", json=body(world, notes="Referrals from the Front Door.")
    )
    assert fine.status_code == 201, fine.text
    changed = client.patch(
        f"{API}/programme/entries/{fine.json()['id']}", json={"notes": "Ask Jayden Okafor."}
    )
    assert changed.status_code == 422 and set(fields(changed)) == {"notes"}
