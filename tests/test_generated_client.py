"""A client generated from the service's own OpenAPI document, by a standard generator
(openapi-python-client), walks an audit's whole cycle (issue 16): if the document
named two schemas alike, left a schema out, declared a field's type or nullability
other than the service sends it, or a status the service answers with, the generator
warns (the test fails on any warning), the generated models fail to read an answer,
or a typed call returns something other than the model it promises.

The client is generated into a temporary folder, with the generator's post-hooks
(formatting) off, and imported from there; its requests go to the app in the test's
own transaction (``anonymous_client``), each person with their own API token.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import time_machine

from app.access.models import Role
from app.config import Settings
from app.main import create_app
from tests.helpers.access import token_holder

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "case_audit_client"
NOON = datetime(2026, 3, 9, 12, tzinfo=UTC)
# The generator reads JSON, octet-stream and text/* only: the YAML template file and the
# XLSX downloads are handed over as bytes, and so is the CSV file of invitations sent
# (its own media type, so that the CSV downloads stay text).
CONFIG = """\
post_hooks: []
content_type_overrides:
  application/yaml: application/octet-stream
  application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: application/octet-stream
  "text/csv; charset=utf-8": application/octet-stream
"""


def _document() -> dict:
    unused = "postgresql+psycopg://unused@127.0.0.1:1/none"
    return create_app(Settings(database_url=unused, environment="test")).openapi()


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Iterator[ModuleType]:
    """The generated package, imported from its temporary folder."""
    folder = tmp_path_factory.mktemp("generated-client")
    (folder / "openapi.json").write_text(json.dumps(_document()))
    (folder / "config.yaml").write_text(CONFIG)
    run = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(folder / "openapi.json"),
            "--output-path",
            str(folder / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(folder / "config.yaml"),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


class Api:
    """The generated operations by their operation id (``api.audits_create``), each
    called as one person: ``api.audits_create(admin, body=...)`` is the generated
    ``sync``, whose answer must be the model it promises for success, else the test
    fails with the Error the service sent."""

    def __init__(self, package: ModuleType) -> None:
        self.models = importlib.import_module(f"{PACKAGE}.models")
        self.types = importlib.import_module(f"{PACKAGE}.types")
        self._client = package.AuthenticatedClient
        self._operations: dict[str, ModuleType] = {}
        api = importlib.import_module(f"{PACKAGE}.api")
        for tag in pkgutil.iter_modules(api.__path__):
            group = importlib.import_module(f"{PACKAGE}.api.{tag.name}")
            for operation in pkgutil.iter_modules(group.__path__):
                self._operations[operation.name] = importlib.import_module(
                    f"{PACKAGE}.api.{tag.name}.{operation.name}"
                )

    def client(self, http: httpx.Client, token: str, before_each) -> Any:
        """A generated client with this token, its requests sent through ``http``."""

        def send(request: httpx.Request) -> httpx.Response:
            before_each()
            return http.send(request)

        return self._client(
            base_url=str(http.base_url),
            token=token,
            raise_on_unexpected_status=True,
            httpx_args={"transport": httpx.MockTransport(send)},
        )

    def __getattr__(self, operation_id: str):
        module = self._operations[operation_id]

        def call(client, **kwargs):
            answer = module.sync(client=client, **kwargs)
            assert not isinstance(answer, self.models.Error), (operation_id, answer.to_dict())
            return answer

        return call

    def detailed(self, operation_id: str, client, **kwargs):
        """The generated ``sync_detailed``: the status and the parsed answer."""
        return self._operations[operation_id].sync_detailed(client=client, **kwargs)


@pytest.fixture
def pinned_clock() -> Iterator[None]:
    with time_machine.travel(NOON, tick=True):
        yield


def _person(db, role: Role, name: str, *, agency_id: int | None = None) -> str:
    return token_holder(db, role, name, agency_id=agency_id)[1]


def test_an_audit_s_whole_cycle_through_the_generated_client(
    generated, anonymous_client, db, pinned_clock
):
    api = Api(generated)
    m = api.models

    def as_(token: str):
        return api.client(anonymous_client, token, db.expire_all)

    admin = as_(_person(db, Role.ADMIN, "Business Unit"))
    moderator = as_(_person(db, Role.MODERATOR, "Chair Person"))

    # The business unit: agencies, and a template written for a new theme, published.
    police = api.agencies_create(
        admin, body=m.AgencyCreate(name="Police", kind=m.AgencyKind.POLICE)
    )
    school = api.agencies_create(
        admin, body=m.AgencyCreate(name="School", kind=m.AgencyKind.EDUCATION)
    )
    assert isinstance(police, m.AgencyOut) and police.active
    scale = m.ScaleIn(
        name="Ofsted four-point scale",
        levels=[
            m.LevelIn(code="O", label="Outstanding"),
            m.LevelIn(code="G", label="Good"),
            m.LevelIn(code="RI", label="Requires improvement to be good"),
            m.LevelIn(code="I", label="Inadequate"),
        ],
    )
    draft = api.templates_create(
        admin,
        body=m.TemplateContent(
            name="Neglect",
            theme="Neglect",
            scale=scale,
            key_areas=[
                m.KeyAreaIn(
                    title="Early help",
                    questions=[
                        m.QuestionIn(
                            prompt="Was help offered early?", type_=m.AnswerType.YES_PARTLY_NO
                        ),
                        m.QuestionIn(prompt="Date of the first contact", type_=m.AnswerType.DATE),
                    ],
                ),
                m.KeyAreaIn(
                    title="The child's voice",
                    questions=[
                        m.QuestionIn(
                            prompt="What did the child say?",
                            type_=m.AnswerType.FREE_TEXT,
                            required=False,
                        )
                    ],
                ),
            ],
        ),
    )
    assert isinstance(draft, m.TemplateVersionOut) and draft.status == m.TemplateStatus.DRAFT
    # The template's id and the version's are not the same thing.
    template = api.templates_get(admin, template_id=draft.template_id)
    assert [v.id for v in template.versions] == [draft.id]
    published = api.template_versions_publish(admin, version_id=draft.id)
    assert published.status == m.TemplateStatus.PUBLISHED
    early_help, voice = published.key_areas
    offered, first_contact = early_help.questions

    # An auditor in each agency, and the police's lead.
    auditors = {
        police.id: as_(_person(db, Role.AUDITOR, "Police Auditor", agency_id=police.id)),
        school.id: as_(_person(db, Role.AUDITOR, "School Auditor", agency_id=school.id)),
    }
    police_lead = as_(_person(db, Role.AGENCY_LEAD, "Police Lead", agency_id=police.id))

    # The audit: planned, its cohort (Child A known to both agencies, Child B to the
    # police, then to the school too), then opened.
    audit = api.audits_create(
        admin,
        body=m.AuditCreate(
            template_version_id=published.id,
            title="Neglect audit, spring 2026",
            returns_due_on=date(2026, 4, 30),
            moderation_meeting_on=date(2026, 5, 14),
            agency_ids=[police.id, school.id],
        ),
    )
    assert audit.status == m.AuditStatus.PLANNED
    assert (audit.template_version.id, audit.template_version.template_id) == (
        published.id,
        draft.template_id,
    )
    assert {a.id for a in audit.agencies} == {police.id, school.id}
    child_a = api.children_create(
        admin,
        audit_id=audit.id,
        body=m.ChildCreate(
            pseudonym="Child A", age_band=m.AgeBand.VALUE_1, agency_ids=[police.id, school.id]
        ),
    )
    assert len(child_a.involvements) == 2
    child_b = api.children_create(
        admin, audit_id=audit.id, body=m.ChildCreate(pseudonym="Child B", agency_ids=[police.id])
    )
    involvement = api.involvements_create(
        admin,
        audit_id=audit.id,
        body=m.InvolvementCreate(child_id=child_b.id, agency_id=school.id),
    )
    assert involvement.agency_id == school.id
    opened = api.audits_open(admin, audit_id=audit.id, body=m.OpenAudit())
    assert opened.status == m.AuditStatus.OPEN and opened.returns.expected == 4

    # Each agency's auditor fills in and submits their returns: a draft first.
    for agency_id, auditor in auditors.items():
        mine = api.returns_list(auditor, audit_id=audit.id)
        assert {r.agency.id for r in mine.items} == {agency_id} and mine.total == 2
        for summary in mine.items:
            saved = api.returns_save_draft(
                auditor,
                return_id=summary.id,
                body=m.DraftSave(
                    version=summary.version,
                    answers=[m.AnswerIn(question_id=offered.id, value="yes")],
                    grades=[m.GradeIn(key_area_id=early_help.id, level="G")],
                ),
            )
            assert saved.status == m.ReturnStatus.DRAFT
            # Submitting too early names what is missing.
            early = api.detailed(
                "returns_submit",
                auditor,
                return_id=summary.id,
                body=m.Submit(version=saved.version),
            )
            assert early.status_code == 422 and isinstance(early.parsed, m.Error)
            assert f"question:{first_contact.id}" in {e.field for e in early.parsed.errors}
            saved = api.returns_save_draft(
                auditor,
                return_id=summary.id,
                body=m.DraftSave(
                    version=saved.version,
                    answers=[m.AnswerIn(question_id=first_contact.id, value="2026-01-12")],
                    grades=[m.GradeIn(key_area_id=voice.id, level="RI")],
                    overall_grade="G",
                    evidence=[
                        m.EvidenceIn(key_area_id=voice.id, went_well="Seen alone at school.")
                    ],
                ),
            )
            submitted = api.returns_submit(
                auditor, return_id=summary.id, body=m.Submit(version=saved.version)
            )
            assert submitted.status == m.ReturnStatus.SUBMITTED and submitted.submitted_at
    progress = api.audits_progress(admin, audit_id=audit.id)
    assert progress.totals.submitted == 4 and progress.totals.not_started == 0

    # The chair moderates: every cell agreed but one, lowered with a rationale.
    grid = api.moderation_open(moderator, audit_id=audit.id)
    assert grid.status == m.AuditStatus.MODERATION and len(grid.cells) == 4 * 3
    for cell in grid.cells:
        lowered = cell.child_id == child_a.id and cell.key_area_id == early_help.id
        decision = api.moderation_decide(
            moderator,
            audit_id=audit.id,
            body=m.DecisionIn(
                return_id=cell.return_id,
                key_area_id=cell.key_area_id,
                level="RI" if lowered else cell.self_grade,
                rationale="Help came only after the second referral." if lowered else "",
            ),
        )
        assert decision.moderated_grade == ("RI" if lowered else cell.self_grade)
    finished = api.moderation_finish(moderator, audit_id=audit.id)
    assert finished.status == m.AuditStatus.LEARNING
    assert all(child.moderated for child in finished.children)

    # Learning: a finding, an action for the police, agreed, worked on and completed.
    finding = api.findings_create(
        moderator,
        audit_id=audit.id,
        body=m.FindingCreate(
            kind=m.FindingKind.AREA_FOR_IMPROVEMENT,
            statement="Early help was offered late where neglect was long-standing.",
            key_area_id=early_help.id,
        ),
    )
    action = api.actions_create(
        moderator,
        body=m.ActionCreate(
            audit_id=audit.id,
            title="Offer early help at the first referral",
            finding_ids=[finding.id],
            owning_agency_id=police.id,
            owner_name="Police Lead",
            due_on=date(2026, 9, 30),
            success_measure="Every referral for neglect is offered early help within a week.",
        ),
    )
    assert action.status == m.ActionStatus.PROPOSED and [f.id for f in action.findings] == [
        finding.id
    ]
    # A change leaves out what it keeps (a PATCH field is optional, never null).
    action = api.actions_update(
        moderator, action_id=action.id, body=m.ActionPatch(due_on=date(2026, 10, 30))
    )
    assert action.due_on == date(2026, 10, 30) and action.owner_name == "Police Lead"
    steps = [
        (moderator, m.StatusChangeIn(status=m.ActionStatus.AGREED)),
        (police_lead, m.StatusChangeIn(status=m.ActionStatus.IN_PROGRESS)),
        (
            police_lead,
            m.StatusChangeIn(
                status=m.ActionStatus.COMPLETED, evidence="New referral checklist in use."
            ),
        ),
    ]
    for who, change in steps:
        action = api.actions_change_status(who, action_id=action.id, body=change)
        assert action.status == change.status
    assert api.actions_get(police_lead, action_id=action.id).status == m.ActionStatus.COMPLETED

    # What the partnership reads afterwards.
    audit = api.audits_get(admin, audit_id=audit.id)
    assert audit.status == m.AuditStatus.LEARNING and audit.returns.moderated == 4
    analytics = api.moderation_analytics(moderator, audit_id=audit.id)
    # Two key areas' grades in each of four returns (the overall grade apart).
    assert isinstance(analytics, m.AnalyticsOut) and analytics.pairs == 4 * 2
    (group,) = analytics.groups
    assert group.levels == ["Outstanding", "Good", "Requires improvement to be good", "Inadequate"]
    assert analytics.headlines and isinstance(group.by_key_area[-1], m.OverallGradeRow)
    csv = api.actions_export_csv(moderator)
    assert "Offer early help at the first referral" in csv
    xlsx = api.actions_export_xlsx(moderator)
    assert isinstance(xlsx, api.types.File) and xlsx.payload.read().startswith(b"PK")
    exported = api.template_versions_export(admin, version_id=published.id)
    assert b"Was help offered early?" in exported
