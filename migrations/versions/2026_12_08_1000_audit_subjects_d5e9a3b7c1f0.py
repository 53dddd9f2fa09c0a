"""audits about agencies: what a template (and each audit on it) looks at, a child or an
agency; a case that is an agency; a family survey of another audit's cohort

Every existing template and audit looks at children, except the shipped learning
assurance questionnaire, which until now stood its briefing in as a child ("Briefing
12") with every agency involved. Its versions and audits become audits of agencies:
each agency that answered becomes its own case, its return (answers, versions and all)
moved onto that case unchanged, and the stand-in is removed. Not written to the audit
log: a migration changes the shape of the records, not what anyone said.

A case's label grows to 200 characters, an agency's name being its label.

Revision ID: d5e9a3b7c1f0
Revises: c4d8f2a6b0e1
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.migrate import widen_string

revision: str = "d5e9a3b7c1f0"
down_revision: str | None = "c4d8f2a6b0e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUBJECTS = ("child", "agency")
QUESTIONNAIRE = "learning-assurance-questionnaire"
FK_AGENCY = "fk_child_agency_id_agency"
FK_SURVEY = "fk_audit_survey_of_audit_id_audit"


def _subject_column() -> sa.Column:
    return sa.Column(
        "subject",
        sa.Enum(
            *SUBJECTS,
            name="audit_subject",
            native_enum=False,
            create_constraint=True,
            length=32,
        ),
        server_default="child",
        nullable=False,
    )


def _add_reference(table: str, column: str, fk: str, target: str, ondelete: str | None) -> None:
    # Plain ALTER TABLE, not a batch: other tables refer to these. SQLite takes the
    # reference (named, as the models name it) inline in ADD COLUMN.
    if op.get_bind().dialect.name == "sqlite":
        on_delete = f" ON DELETE {ondelete}" if ondelete else ""
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN {column} INTEGER CONSTRAINT {fk} "
            f"REFERENCES {target} (id){on_delete}"
        )
    else:
        op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
        op.create_foreign_key(fk, table, target, [column], ["id"], ondelete=ondelete)


def _add_subject(table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite takes the CHECK inline in ADD COLUMN (not as a constraint added after).
        listed = ", ".join(f"'{s}'" for s in SUBJECTS)
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN subject VARCHAR(32) DEFAULT 'child' NOT NULL "
            f"CONSTRAINT ck_{table}_audit_subject CHECK (subject IN ({listed}))"
        )
    else:
        op.add_column(table, _subject_column())


def upgrade() -> None:
    _add_subject("template_version")
    _add_subject("audit")
    _add_reference("audit", "survey_of_audit_id", FK_SURVEY, "audit", "SET NULL")
    op.create_index(op.f("ix_audit_survey_of_audit_id"), "audit", ["survey_of_audit_id"])
    _add_reference("child", "agency_id", FK_AGENCY, "agency", None)
    op.create_index(
        op.f("ix_child_audit_id_agency_id"), "child", ["audit_id", "agency_id"], unique=True
    )
    widen_string(op, table="child", column="pseudonym", old=40, new=200, nullable=False)
    _questionnaires_about_agencies()


def _no_tags() -> str:
    """An empty list of context tags, as each database's JSON column takes it."""
    return "'[]'" if op.get_bind().dialect.name == "sqlite" else "CAST('[]' AS JSON)"


def _questionnaires_about_agencies() -> None:
    bind = op.get_bind()
    versions = sa.text(
        "SELECT v.id FROM template_version v JOIN template_family f ON f.id = v.family_id "
        "WHERE f.slug = :slug"
    ).bindparams(slug=QUESTIONNAIRE)
    version_ids = list(bind.execute(versions).scalars())
    if not version_ids:
        return
    in_versions = sa.bindparam("versions", version_ids, expanding=True)
    bind.execute(
        sa.text("UPDATE template_version SET subject = 'agency' WHERE id IN :versions").bindparams(
            in_versions
        )
    )
    audit_ids = list(
        bind.execute(
            sa.text("SELECT id FROM audit WHERE template_version_id IN :versions").bindparams(
                in_versions
            )
        ).scalars()
    )
    if not audit_ids:
        return
    in_audits = sa.bindparam("audits", audit_ids, expanding=True)
    crowded = (
        bind.execute(
            sa.text(
                "SELECT audit_id FROM child WHERE audit_id IN :audits "
                "GROUP BY audit_id HAVING count(*) > 1"
            ).bindparams(in_audits)
        )
        .scalars()
        .all()
    )
    if crowded:
        # A questionnaire is launched with its one stand-in; more were added by hand, and
        # which agency's answer belongs to which case cannot be known.
        raise RuntimeError(
            "Cannot upgrade: the learning assurance questionnaire audit(s) "
            f"{', '.join(map(str, crowded))} have more than one case; remove the extra ones "
            "(or their audits) first."
        )
    bind.execute(
        sa.text("UPDATE audit SET subject = 'agency' WHERE id IN :audits").bindparams(in_audits)
    )
    # Each agency involved becomes its own case, named as the agency is named.
    bind.execute(
        sa.text(
            "INSERT INTO child (audit_id, pseudonym, agency_id, context_tags, created_at) "
            f"SELECT i.audit_id, a.name, a.id, {_no_tags()}, min(c.created_at) "
            "FROM involvement i JOIN agency a ON a.id = i.agency_id "
            "JOIN child c ON c.id = i.child_id "
            "WHERE i.audit_id IN :audits AND c.agency_id IS NULL "
            "GROUP BY i.audit_id, a.name, a.id"
        ).bindparams(in_audits)
    )
    own_case = (
        "(SELECT own.id FROM child own WHERE own.audit_id = {t}.audit_id "
        "AND own.agency_id = {t}.agency_id)"
    )
    for table in ("involvement", "audit_return"):
        bind.execute(
            sa.text(
                f"UPDATE {table} SET child_id = {own_case.format(t=table)} "
                "WHERE audit_id IN :audits"
            ).bindparams(in_audits)
        )
    # The stand-ins ("Briefing 12"), nothing left pointing at them but findings, which
    # keep their audit and lose only the case (as deleting a child leaves them).
    bind.execute(
        sa.text("DELETE FROM child WHERE audit_id IN :audits AND agency_id IS NULL").bindparams(
            in_audits
        )
    )


def _questionnaires_back() -> None:
    """The questionnaires' agencies folded back into one stand-in per audit, named for
    its briefing as launching one named it."""
    bind = op.get_bind()
    audits = bind.execute(
        sa.text(
            "SELECT a.id, b.id, a.created_at FROM audit a "
            "JOIN template_version v ON v.id = a.template_version_id "
            "JOIN template_family f ON f.id = v.family_id "
            "LEFT JOIN briefing b ON b.assurance_audit_id = a.id "
            "WHERE f.slug = :slug AND a.subject = 'agency'"
        ).bindparams(slug=QUESTIONNAIRE)
    ).all()
    for audit_id, briefing_id, created_at in audits:
        label = f"Briefing {briefing_id}" if briefing_id else "Questionnaire"
        bind.execute(
            sa.text(
                "INSERT INTO child (audit_id, pseudonym, context_tags, created_at) "
                f"VALUES (:audit, :label, {_no_tags()}, :created)"
            ),
            {"audit": audit_id, "label": label, "created": created_at},
        )
        stand_in = bind.execute(
            sa.text("SELECT id FROM child WHERE audit_id = :audit AND agency_id IS NULL"),
            {"audit": audit_id},
        ).scalar_one()
        for table in ("involvement", "audit_return"):
            bind.execute(
                sa.text(f"UPDATE {table} SET child_id = :child WHERE audit_id = :audit"),
                {"child": stand_in, "audit": audit_id},
            )
        bind.execute(
            sa.text("DELETE FROM child WHERE audit_id = :audit AND agency_id IS NOT NULL"),
            {"audit": audit_id},
        )
        bind.execute(
            sa.text("UPDATE audit SET subject = 'child' WHERE id = :audit"), {"audit": audit_id}
        )


def downgrade() -> None:
    bind = op.get_bind()
    questionnaire = (
        "SELECT v.id FROM template_version v JOIN template_family f ON f.id = v.family_id "
        f"WHERE f.slug = '{QUESTIONNAIRE}'"
    )
    templates_of_agencies = bind.execute(
        sa.text(
            "SELECT count(*) FROM template_version "
            f"WHERE subject = 'agency' AND id NOT IN ({questionnaire})"
        )
    ).scalar_one()
    if templates_of_agencies:
        # Refused rather than turned silently into templates about children.
        raise RuntimeError(
            "Cannot downgrade: there are templates about agencies (a Section 11 or 175 "
            "self-assessment), which the earlier schema cannot hold; delete them first."
        )
    about_agencies = bind.execute(
        sa.text(
            "SELECT count(*) FROM audit WHERE subject = 'agency' "
            f"AND template_version_id NOT IN ({questionnaire})"
        )
    ).scalar_one()
    if about_agencies:
        # Refused rather than guessed: the earlier schema has no way to hold a case that
        # is an agency, and folding them into one stand-in child would mix answers.
        raise RuntimeError(
            "Cannot downgrade: there are audits about agencies, which the earlier schema "
            "cannot hold; delete them first."
        )
    _questionnaires_back()
    long_labels = bind.execute(
        sa.text("SELECT count(*) FROM child WHERE length(pseudonym) > 40")
    ).scalar_one()
    if long_labels:
        raise RuntimeError("Cannot downgrade: a pseudonym is longer than 40 characters.")
    widen_string(op, table="child", column="pseudonym", old=200, new=40, nullable=False)
    op.drop_index(op.f("ix_child_audit_id_agency_id"), table_name="child")
    if bind.dialect.name == "postgresql":
        op.drop_constraint(FK_AGENCY, "child", type_="foreignkey")
        op.drop_constraint(FK_SURVEY, "audit", type_="foreignkey")
    op.drop_column("child", "agency_id")
    op.drop_index(op.f("ix_audit_survey_of_audit_id"), table_name="audit")
    op.drop_column("audit", "survey_of_audit_id")
    op.drop_column("audit", "subject")
    op.drop_column("template_version", "subject")
