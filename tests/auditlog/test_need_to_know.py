"""The audit log applies the same need-to-know as the objects it describes: a reader
sees a row's values only if they may read that object now, judged here by the
object's own read route answering that reader. Over every kind of object the service
logs and every role: the service's answer (``Visibility``), the JSON list and the CSV
export all agree with the routes.

The partnership here is synthetic: two agencies, and three audits - X (the other
agency alone, in moderation), Y (both agencies, in moderation) and W (a third
agency's, in learning, with a draft briefing) - so each agency-bound role has rows it
may read and rows it may not."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select

from app.access import grants
from app.access import service as access
from app.access.auth import actor_for
from app.access.models import AccessReview, Role, SsoRegistration, User
from app.access.policy import SYSTEM, Via
from app.audit_templates.models import KeyArea, Question
from app.auditlog import service as auditlog
from app.auditlog import visibility
from app.auditlog.models import AuditEvent
from app.auditlog.visibility import READERS, WITHHELD, Visibility, kind_of, write_csv
from app.audits import cohort, lifecycle
from app.audits import service as audits
from app.audits.models import AuditStatus, Child, Involvement
from app.briefings import workflow
from app.briefings.models import BriefingKind, Marking
from app.moderation import meeting
from app.moderation.models import ModeratedGrade
from app.respond import service as respond
from app.respond import survey as respond_survey
from app.respond.models import RespondentLink
from app.returns.models import Return
from tests.helpers.audits import set_status
from tests.helpers.factories import make_audit, make_template
from tests.moderation.test_moderation import complete

API = "/api/v1"
ROOT = Path(__file__).resolve().parents[2]

# Every role, and a person holding two (the business unit's lead who also chairs QAPP).
READER_ROLES: dict[str, set[Role]] = {
    "admin": {Role.ADMIN},
    "qapp_chair": {Role.MODERATOR},
    "scrutineer": {Role.SCRUTINEER},
    "auditor": {Role.AUDITOR},
    "agency_lead": {Role.AGENCY_LEAD},
    "practitioner": {Role.PRACTITIONER},
    "admin_and_moderator": {Role.ADMIN, Role.MODERATOR},
}
# Kinds whose readers depend on the object, not the role alone: the auditor must meet
# some rows of each it may read and some it may not, or the scope goes untested.
SCOPED = (
    "return",
    "moderated_grade",
    "child_meeting_note",
    "audit",
    "child",
    "involvement",
    "finding",
    "learning_action",
    "user",
    "api_token",
)


@dataclass
class Person:
    user: User
    headers: dict


@dataclass
class World:
    people: dict[str, Person] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)


def _submit_all(client, audit_id: int, template: dict) -> list[dict]:
    returns = client.get(f"{API}/audits/{audit_id}/returns").json()["items"]
    for r in returns:
        saved = client.put(f"{API}/returns/{r['id']}/draft", json=complete(template, 1))
        assert saved.status_code == 200, saved.text
        done = client.post(f"{API}/returns/{r['id']}/submit", json={"version": 2})
        assert done.status_code == 200, done.text
    return returns


def _agree(client, audit_id: int, return_id: int, key_area_id: int) -> int:
    r = client.post(
        f"{API}/audits/{audit_id}/moderation/decisions",
        json={"return_id": return_id, "key_area_id": key_area_id, "level": "G"},
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.fixture
def world(app, client, db, monkeypatch) -> World:
    """Every kind of object the service logs, made through the API and the services as
    the system, then a person per role (with a token) to read them."""
    found = World()
    post = client.post
    home = post(f"{API}/agencies", json={"name": "Home agency", "kind": "police"}).json()
    other = post(f"{API}/agencies", json={"name": "Other agency", "kind": "social_care"}).json()
    assert post(f"{API}/subgroups", json={"name": "QAPP"}).status_code == 201
    assert (
        post(f"{API}/themes", json={"name": "Recording of strategy minutes (test)"}).status_code
        == 201
    )
    term = post(f"{API}/identification/allowed-terms", json={"term": "Wyre Forest"})
    assert term.status_code in (200, 201), term.text
    draft = post(f"{API}/templates", json={"name": "A draft template"}).json()
    area = post(f"{API}/template-versions/{draft['id']}/key-areas", json={"title": "Referral"})
    assert area.status_code == 201, area.text
    area_id = area.json()["key_areas"][0]["id"]
    question = post(
        f"{API}/key-areas/{area_id}/questions",
        json={"prompt": "Was it timely?", "type": "yes_partly_no"},
    )
    assert question.status_code == 201, question.text

    version = make_template(db)
    planned = post(
        f"{API}/programme/entries",
        json={
            "title": "Front Door referrals audit",
            "template_family_id": version.family_id,
            "first_month": date.today().replace(day=1).isoformat(),
            "repeat": "monthly",
            "occurrences": 3,
        },
    )
    assert planned.status_code == 201, planned.text
    due = date.today() + timedelta(days=14)
    x = audits.create_audit(
        db,
        template_version_id=version.id,
        title="The other agency alone",
        returns_due_on=due,
        agency_ids=[other["id"]],
    )
    child_a = cohort.add_child(db, audit=x, pseudonym="Child A", agency_ids=[other["id"]])
    y = audits.create_audit(
        db,
        template_version_id=version.id,
        title="Both agencies",
        returns_due_on=due,
        agency_ids=[home["id"], other["id"]],
    )
    child_b = cohort.add_child(
        db, audit=y, pseudonym="Child B", agency_ids=[home["id"], other["id"]]
    )
    child_c = cohort.add_child(db, audit=y, pseudonym="Child C", agency_ids=[other["id"]])
    for audit in (x, y):
        lifecycle.open_audit(db, audit=audit, confirm=True)
    db.commit()

    template = client.get(f"{API}/template-versions/{version.id}").json()
    first_area = template["key_areas"][0]["id"]
    for audit in (x, y):
        _submit_all(client, audit.id, template)
        assert post(f"{API}/audits/{audit.id}/moderation/open").status_code == 200
    by_child_agency = {(r.child_id, r.agency_id): r.id for r in db.scalars(select(Return))}
    found.ids["x_decision"] = _agree(
        client, x.id, by_child_agency[(child_a.id, other["id"])], first_area
    )
    found.ids["y_other_decision"] = _agree(
        client, y.id, by_child_agency[(child_c.id, other["id"])], first_area
    )
    found.ids["y_home_decision"] = _agree(
        client, y.id, by_child_agency[(child_b.id, home["id"])], first_area
    )
    x, y = (audits.get_audit(db, audit_id=a.id, actor=SYSTEM) for a in (x, y))
    for audit, child in ((x, child_a), (y, child_c)):
        meeting.save_note(
            db,
            audit=audit,
            child=db.get(Child, child.id),
            notes={"discussion": "Agencies agreed the referral was handled well."},
            actor=SYSTEM,
            confirmed=True,
        )
    db.commit()
    # A family survey of Y's children, carried by the other agency, and a one-time link
    # for one family (made by the system: there is no administrator yet).
    surveyed = respond_survey.create_survey(
        db,
        audit=y,
        template_version_id=version.id,
        agency_id=other["id"],
        returns_due_on=due,
        today=date.today(),
    )
    family_return = db.scalar(select(Return).where(Return.audit_id == surveyed.id).limit(1))
    respond.issue(
        db,
        audit=surveyed,
        return_id=family_return.id,
        actor=SYSTEM,
        settings=app.state.settings,
    )
    db.commit()
    for audit, child in ((x, child_a), (y, child_b), (y, child_c)):
        r = post(
            f"{API}/audits/{audit.id}/findings",
            json={
                "kind": "good_practice",
                "statement": "The referral was acted on the same day.",
                "child_id": child.id,
                "confirm_identifying": True,
            },
        )
        assert r.status_code == 201, r.text
    for audit, agency in ((x, other), (y, home)):
        r = post(
            f"{API}/actions",
            json={
                "audit_id": audit.id,
                "title": "Share strategy minutes",
                "owning_agency_id": agency["id"],
                "owner_name": "A Manager",
                "due_on": (date.today() + timedelta(days=60)).isoformat(),
                "success_measure": "Minutes shared in every case audited next time.",
                "confirm_identifying": True,
            },
        )
        assert r.status_code == 201, r.text
    w = make_audit(db, children=1, agencies_count=1)
    set_status(db, w.id, AuditStatus.LEARNING)
    workflow.create(
        db,
        audit=audits.get_audit(db, audit_id=w.id, actor=SYSTEM),
        kind=BriefingKind.BRIEFING,
        title="What we learnt",
        marking=Marking.OFFICIAL,
        public=False,
        actor=SYSTEM,
    )
    assert client.get(f"{API}/audit-log").status_code == 200  # an audit_log row
    db.commit()
    monkeypatch.undo()  # from here on, requests authenticate for real

    for name, roles in READER_ROLES.items():
        agency_id = home["id"] if roles & {Role.AUDITOR, Role.AGENCY_LEAD} else None
        user = access.create_user(
            db,
            email=f"{name}@example.org",
            display_name=name,
            roles=roles,
            agency_id=agency_id,
        )
        _row, plain = access.create_token(db, user=user, name="reading", days=1)
        found.people[name] = Person(user, {"Authorization": f"Bearer {plain}"})
    asker = found.people["admin"].user
    grants.ask(
        db,
        actor=actor_for(asker, via=Via.TOKEN, credential_id=None),
        user=found.people["practitioner"].user,
        roles={Role.MODERATOR},
    )
    # Accounts: a request for one through single sign-on, and an access review, in each
    # agency (the lead reads their own agency's only); an identity provider's refusal.
    for agency in (home, other):
        asked = SsoRegistration(
            provider="westshire",
            issuer="https://login.example/tenant/v2.0",
            subject=f"subject-{agency['id']}",
            email=f"new.starter.{agency['id']}@example.org",
            display_name="New starter",
            agency_id=agency["id"],
        )
        reviewed = AccessReview(
            agency_id=agency["id"], reviewed_by_label="lead", kept=[], removed=[]
        )
        db.add_all([asked, reviewed])
        db.flush()
        auditlog.record(
            db,
            action="auth.sso_registration",
            object_type="sso_registration",
            object_id=asked.id,
            after={"email": asked.email, "agency_id": asked.agency_id},
        )
        auditlog.record(
            db,
            action="access_review.record",
            object_type="access_review",
            object_id=reviewed.id,
            after={"kept": [], "removed": []},
        )
    auditlog.record(
        db,
        action="auth.sso_refused",
        object_type="sso_provider",
        object_id=None,
        after={"provider": "westshire", "reason": "ID token for another audience"},
    )
    db.commit()
    return found


# --- the object's own read route, as each reader ---------------------------------------


def _ids(key):
    return lambda body: [item["id"] for item in key(body)]


def _route(db, kind: str, object_id: int | None, reader: User) -> tuple[str, object]:
    """The route that reads the object, and what in its answer shows it was read (a
    list of ids that must hold it), or None when a 200 is enough."""
    match kind:
        case "return":
            return f"{API}/returns/{object_id}", None
        case "moderated_grade":
            return_id = db.get(ModeratedGrade, object_id).return_id
            return f"{API}/returns/{return_id}/moderation", _ids(lambda b: b)
        case "child_meeting_note":
            audit_id = db.get(Child, object_id).audit_id
            return f"/audits/{audit_id}/moderation/meeting?child={object_id}", None
        case "audit":
            return f"{API}/audits/{object_id}", None
        case "child":
            audit_id = db.get(Child, object_id).audit_id
            return f"{API}/audits/{audit_id}/children?per_page=200", _ids(lambda b: b["items"])
        case "involvement":
            audit_id = db.get(Involvement, object_id).audit_id
            return f"{API}/audits/{audit_id}/children?per_page=200", _ids(
                lambda b: [i for c in b["items"] for i in c["involvements"]]
            )
        case "finding":
            return f"{API}/findings/{object_id}", None
        case "learning_action":
            return f"{API}/actions/{object_id}", None
        case "briefing_version":
            return f"{API}/briefings/versions/{object_id}", None
        case "user":
            if object_id == reader.id:
                return f"{API}/auth/me", None
            return f"{API}/users/{object_id}", None
        case "api_token":
            return f"{API}/auth/tokens", _ids(lambda b: b)
        case "role_grant_request":
            return f"{API}/role-grants/{object_id}", None
        case "sso_registration":
            return f"{API}/registrations/{object_id}", None
        case "access_review":
            return f"{API}/access-reviews/{object_id}", None
        case "sso_provider":  # an identity provider's refusals: no object of their own
            return f"{API}/audit-log", None
        case "audit_log":
            return f"{API}/audit-log", None
        case "respondent_link":  # listed on its audit's page of one-time links
            return_id = db.get(RespondentLink, object_id).return_id
            return f"/audits/{db.get(Return, return_id).audit_id}/respondent-links", None
        case "programme_entry":
            return f"{API}/programme/entries/{object_id}", None
        case "agency":
            return f"{API}/agencies/{object_id}", None
        case "subgroup":
            return f"{API}/subgroups/{object_id}", None
        case "theme":
            return f"{API}/themes", None
        case "identify_allowed_term":
            return f"{API}/identification/allowed-terms", None
        case "template_version":
            return f"{API}/template-versions/{object_id}", None
        case "key_area":
            version_id = db.get(KeyArea, object_id).template_version_id
            return f"{API}/template-versions/{version_id}", None
        case "question":
            key_area_id = db.get(Question, object_id).key_area_id
            version_id = db.get(KeyArea, key_area_id).template_version_id
            return f"{API}/template-versions/{version_id}", None
    raise AssertionError(f"no read route for {kind}: add one here")


class Oracle:
    """Whether a reader may read an object, by asking its route (each route once)."""

    def __init__(self, client, db) -> None:
        self.client, self.db = client, db
        self.answers: dict[tuple[str, str], object] = {}

    def may_read(self, person: Person, kind: str, object_id: int | None) -> bool:
        path, listed = _route(self.db, kind, object_id, person.user)
        key = (person.user.email, path)
        if key not in self.answers:
            self.answers[key] = self.client.get(path, headers=person.headers)
        response = self.answers[key]
        assert response.status_code in (200, 403, 404), (path, response.status_code)
        if response.status_code != 200:
            return False
        return listed is None or object_id in listed(response.json())


def _reader(person: Person):
    return actor_for(person.user, via=Via.TOKEN, credential_id=None)


def _all_withheld(shown: dict | None, logged: dict | None) -> bool:
    if logged is None:
        return shown is None
    return shown == {k: v if k in visibility.HARMLESS_KEYS else WITHHELD for k, v in logged.items()}


# --- the tests ---------------------------------------------------------------------------


def test_every_object_type_the_service_logs_has_a_reader():
    """Each ``object_type="..."`` in app/ is in READERS (a new kind of object must say
    who may read its rows; until it does, they are withheld from everyone)."""
    logged = set()
    for path in (ROOT / "app").rglob("*.py"):
        logged |= set(re.findall(r'object_type="([a-z_]+)"', path.read_text()))
    logged |= {"agency", "subgroup"}  # app/agencies/service.py logs obj.__tablename__
    assert logged - set(READERS) == set()


def test_values_are_shown_exactly_when_the_reader_may_read_the_object(world, anonymous_client, db):
    events = list(db.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    kinds = {kind_of(e) for e in events}
    assert kinds == set(READERS), set(READERS) ^ kinds  # the world logs every kind
    oracle = Oracle(anonymous_client, db)
    wrong, met = [], set()
    for name, person in world.people.items():
        seen = Visibility(db, _reader(person))
        seen.learn(events)
        for e in events:
            kind = kind_of(e)
            may = oracle.may_read(person, kind, e.object_id)
            met.add((name, kind, may))
            before, after = seen.values(e)
            if may != seen.may_read(e):
                wrong.append((name, e.action, kind, e.object_id, "route says", may))
            elif may:
                assert (before, after) == (e.before, e.after)
            else:
                assert _all_withheld(before, e.before) and _all_withheld(after, e.after)
    assert wrong == []
    for kind in SCOPED:
        assert {("auditor", kind, True), ("auditor", kind, False)} <= met, kind
    # The issue's finding: the admin reads no moderation decision, the chair every one.
    assert ("admin", "moderated_grade", True) not in met
    assert ("qapp_chair", "moderated_grade", False) not in met


def test_the_json_list_and_the_csv_show_what_the_reader_may_see(world, anonymous_client, db):
    for name in ("admin", "scrutineer", "admin_and_moderator"):
        person = world.people[name]
        events = list(db.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        seen = Visibility(db, _reader(person))
        exported = anonymous_client.get(f"{API}/audit-log.csv", headers=person.headers)
        assert exported.status_code == 200
        rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))[1:]
        assert len(rows) == len(events)  # the export's own row comes after it
        for row, e in zip(rows, events, strict=True):
            before, after = seen.values(e)
            assert (row[2], row[4]) == (e.action, str(e.object_id or ""))
            assert row[5:7] == [visibility._compact(before), visibility._compact(after)]
        by_id = {e.id: e for e in events}
        page, listed = 1, 0
        while True:
            body = anonymous_client.get(
                f"{API}/audit-log",
                params={"per_page": 200, "page": page},
                headers=person.headers,
            ).json()
            for item in body["items"]:
                if item["id"] in by_id:
                    listed += 1
                    assert (item["before"], item["after"]) == seen.values(by_id[item["id"]])
            if page * 200 >= body["total"]:
                break
            page += 1
        assert listed == len(events)


class TestModerationDecisionsInTheLog:
    """The regression: ``GET /api/v1/audit-log.csv?action=moderation.decide`` as the
    admin returned every decision's level, own level, rationale and return id."""

    @pytest.fixture
    def decided(self, client, db, monkeypatch):
        audit = make_audit(db, children=1, agencies_count=1)
        db.commit()
        template = client.get(f"{API}/template-versions/{audit.template_version_id}").json()
        [submitted] = _submit_all(client, audit.id, template)
        assert client.post(f"{API}/audits/{audit.id}/moderation/open").status_code == 200
        r = client.post(
            f"{API}/audits/{audit.id}/moderation/decisions",
            json={
                "return_id": submitted["id"],
                "key_area_id": template["key_areas"][0]["id"],
                "level": "RI",
                "rationale": "The strategy discussion was held a week late.",
                "confirm_identifying": True,
            },
        )
        assert r.status_code == 201, r.text
        db.commit()
        monkeypatch.undo()
        made = {}
        for role in (Role.ADMIN, Role.SCRUTINEER):
            user = access.create_user(
                db, email=f"{role.value}@example.org", display_name=role.value, roles={role}
            )
            _row, plain = access.create_token(db, user=user, name="reading", days=1)
            made[role] = {"Authorization": f"Bearer {plain}"}
        db.commit()
        return made

    def test_the_admin_sees_who_when_and_which_decision_but_not_what_it_says(
        self, decided, anonymous_client
    ):
        params = {"action": "moderation.decide"}
        exported = anonymous_client.get(
            f"{API}/audit-log.csv", params=params, headers=decided[Role.ADMIN]
        )
        assert exported.status_code == 200
        [header, row] = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
        assert header[:5] == ["when", "user", "action", "object type", "object id"]
        assert row[1:4] == ["system", "moderation.decide", "moderated_grade"] and row[4]
        assert json.loads(row[6]) == {
            key: WITHHELD for key in ("cell", "level", "rationale", "return_id", "self_level")
        }
        assert "held a week late" not in exported.text and '"RI"' not in exported.text
        listed = anonymous_client.get(
            f"{API}/audit-log", params=params, headers=decided[Role.ADMIN]
        ).json()
        assert set(listed["items"][0]["after"].values()) == {WITHHELD}
        # Still 403 on the moderation routes, and now the log agrees.
        rid = anonymous_client.get(f"{API}/returns/1/moderation", headers=decided[Role.ADMIN])
        assert rid.status_code == 403

    def test_the_scrutineer_who_may_read_moderation_sees_it(self, decided, anonymous_client):
        exported = anonymous_client.get(
            f"{API}/audit-log.csv",
            params={"action": "moderation.decide"},
            headers=decided[Role.SCRUTINEER],
        )
        assert "The strategy discussion was held a week late." in exported.text


class TestReadingTheLogCostsAQueryPerKind:
    def test_a_page_of_fifty_rows_is_one_query_for_each_kind_on_it(self, world, db):
        # The newest 50 rows about objects whose readers need a query for the auditor.
        events = list(
            db.scalars(
                select(AuditEvent)
                .where(AuditEvent.object_type.in_(SCOPED))
                .order_by(AuditEvent.id.desc())
                .limit(50)
            )
        )
        kinds = {kind_of(e) for e in events}
        assert len(events) >= 40 and len(kinds) >= 6, kinds
        statements: list[str] = []
        engine = db.get_bind().engine

        def count(_conn, _cursor, statement, *_args) -> None:
            statements.append(statement)

        seen = Visibility(db, _reader(world.people["auditor"]))
        event.listen(engine, "before_cursor_execute", count)
        try:
            seen.learn(events)
            for e in events:
                seen.values(e)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(statements) <= len(kinds), statements


class TestWhatNoReaderKnows:
    def test_an_unknown_kind_of_object_is_withheld_from_everyone_but_the_system(self, world, db):
        row = AuditEvent(
            action="new.thing",
            object_type="something_new",
            object_id=1,
            after={"said": "text", "status": "done"},
        )
        for person in world.people.values():
            before, after = Visibility(db, _reader(person)).values(row)
            assert after == {"said": WITHHELD, "status": "done"}
        assert Visibility(None, SYSTEM).values(row) == (None, row.after)

    def test_the_server_command_line_exports_everything(self, world, db):
        events = list(
            db.scalars(select(AuditEvent).where(AuditEvent.action == "moderation.decide"))
        )
        out = io.StringIO()
        assert write_csv(events, out) == len(events) == 3
        assert WITHHELD not in out.getvalue()
