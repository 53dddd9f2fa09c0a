"""Small keyword factories built on the services, so test data obeys the same rules."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from sqlalchemy.orm import Session

from app.agencies import service as agencies
from app.agencies.models import Agency, AgencyKind
from app.audit_templates import service as templates
from app.audit_templates.models import TemplateVersion
from app.audit_templates.schemas import TemplateContent
from app.audits import cohort, lifecycle
from app.audits import service as audits
from app.audits.models import Audit

_seq = itertools.count(1)

OFSTED = {
    "name": "Ofsted four-point scale",
    "levels": [
        {"code": "O", "label": "Outstanding"},
        {"code": "G", "label": "Good"},
        {"code": "RI", "label": "Requires improvement to be good"},
        {"code": "I", "label": "Inadequate"},
    ],
}


def template_content(*, name: str | None = None, key_areas: int = 2) -> dict:
    """A small graded template: each key area has a required yes/partly/no question, an
    optional free-text question and a required date."""
    return {
        "name": name or f"Test template {next(_seq)}",
        "theme": "Testing",
        "overall_grade": True,
        "scale": OFSTED,
        "key_areas": [
            {
                "title": f"Key area {i + 1}",
                "graded": True,
                "questions": [
                    {"prompt": f"Was practice in area {i + 1} timely?", "type": "yes_partly_no"},
                    {"prompt": "What did the child say?", "type": "free_text", "required": False},
                    {"prompt": "Date of the meeting", "type": "date"},
                ],
            }
            for i in range(key_areas)
        ],
    }


def make_template(
    session: Session, *, published: bool = True, key_areas: int = 2
) -> TemplateVersion:
    content = TemplateContent.model_validate(template_content(key_areas=key_areas))
    version = templates.create_draft(session, content=content)
    if published:
        templates.publish(session, version=version)
    return version


def make_agency(session: Session, *, name: str | None = None, kind=AgencyKind.POLICE) -> Agency:
    return agencies.create_agency(session, name=name or f"Agency {next(_seq)}", kind=kind)


def make_audit(
    session: Session,
    *,
    children: int = 2,
    agencies_count: int = 2,
    open_: bool = True,
    version: TemplateVersion | None = None,
) -> Audit:
    """An audit where every agency is involved with every child."""
    version = version or make_template(session)
    agency_rows = [make_agency(session) for _ in range(agencies_count)]
    audit = audits.create_audit(
        session,
        template_version_id=version.id,
        title=f"Audit {next(_seq)}",
        returns_due_on=date.today() + timedelta(days=14),
        agency_ids=[a.id for a in agency_rows],
    )
    for i in range(children):
        cohort.add_child(
            session,
            audit=audit,
            pseudonym=f"Child {chr(65 + i)}",
            agency_ids=[a.id for a in agency_rows],
        )
    if open_:
        lifecycle.open_audit(session, audit=audit, confirm=True)
    session.flush()
    return audit


def make_person(session: Session, address: str, name: str, role, agency: Agency | None = None):
    """A person with one role (in ``agency``, for an auditor or agency lead)."""
    from app.access import service as access

    return access.create_user(
        session,
        email=address,
        display_name=name,
        roles={role},
        agency_id=agency.id if agency else None,
    )


def downgrade_demo(connection, revision: str) -> None:
    """Downgrade a copy of the demo to ``revision``, first taking away what the earlier
    schema cannot hold and whose migration refuses to drop (the demo's subgroup chair and
    Executive member: b8e2d4f6a0c3 refuses while anyone holds those roles; the Section 11
    and 175 templates)."""
    from alembic import command
    from sqlalchemy import text

    from app.migrate import alembic_config

    connection.execute(text("DELETE FROM user_role WHERE role IN ('subgroup_chair', 'executive')"))
    # The shipped Section 11 and 175 templates (audits of agencies, with yes/no and
    # whole-number questions and declared boxes: d5e9a3b7c1f0 and d4a7c2e9f1b3 refuse),
    # unused in the demo; their key areas, questions and scales go with their versions.
    family = (
        "SELECT id FROM template_family "
        "WHERE slug IN ('section-11-self-assessment', 'section-175-self-assessment')"
    )
    connection.execute(text(f"DELETE FROM template_version WHERE family_id IN ({family})"))
    connection.execute(text(f"DELETE FROM template_family WHERE id IN ({family})"))
    command.downgrade(alembic_config(connection), revision)
