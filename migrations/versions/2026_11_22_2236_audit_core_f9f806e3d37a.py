"""audit core

Revision ID: f9f806e3d37a
Revises:
Create Date: 2026-11-22 22:36:46.681403
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "f9f806e3d37a"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "social_care",
                "police",
                "acute_health",
                "community_health",
                "gp",
                "education",
                "probation",
                "youth_justice",
                "district_council",
                "voluntary",
                "other",
                name="agency_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency")),
        sa.UniqueConstraint("name", name=op.f("uq_agency_name")),
    )
    op.create_table(
        "subgroup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subgroup")),
        sa.UniqueConstraint("name", name=op.f("uq_subgroup_name")),
    )
    op.create_table(
        "template_family",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template_family")),
        sa.UniqueConstraint("name", name=op.f("uq_template_family_name")),
        sa.UniqueConstraint("slug", name=op.f("uq_template_family_slug")),
    )
    op.create_table(
        "template_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                "retired",
                name="template_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("theme", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("method", sa.String(length=100), nullable=False),
        sa.Column("has_overall_grade", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("published_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("retired_at", app.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["family_id"],
            ["template_family.id"],
            name=op.f("fk_template_version_family_id_template_family"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template_version")),
        sa.UniqueConstraint(
            "family_id", "number", name=op.f("uq_template_version_family_id_number")
        ),
    )
    with op.batch_alter_table("template_version", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_template_version_family_id"), ["family_id"], unique=False
        )

    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_version_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("theme", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("lead_subgroup_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "open",
                "moderation",
                "learning",
                "closed",
                name="audit_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("returns_due_on", sa.Date(), nullable=True),
        sa.Column("moderation_meeting_on", sa.Date(), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("opened_at", app.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_subgroup_id"], ["subgroup.id"], name=op.f("fk_audit_lead_subgroup_id_subgroup")
        ),
        sa.ForeignKeyConstraint(
            ["template_version_id"],
            ["template_version.id"],
            name=op.f("fk_audit_template_version_id_template_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit")),
    )
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_lead_subgroup_id"), ["lead_subgroup_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_audit_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_template_version_id"), ["template_version_id"], unique=False
        )

    op.create_table(
        "grading_scale",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_version_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_version_id"],
            ["template_version.id"],
            name=op.f("fk_grading_scale_template_version_id_template_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grading_scale")),
        sa.UniqueConstraint(
            "template_version_id", name=op.f("uq_grading_scale_template_version_id")
        ),
    )
    op.create_table(
        "key_area",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("graded", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_version_id"],
            ["template_version.id"],
            name=op.f("fk_key_area_template_version_id_template_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_area")),
    )
    with op.batch_alter_table("key_area", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_key_area_template_version_id"), ["template_version_id"], unique=False
        )

    op.create_table(
        "audit_agency",
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_audit_agency_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audit.id"],
            name=op.f("fk_audit_agency_audit_id_audit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("audit_id", "agency_id", name=op.f("pk_audit_agency")),
    )
    op.create_table(
        "child",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.String(length=40), nullable=False),
        sa.Column(
            "age_band",
            sa.Enum(
                "under 1",
                "1-4",
                "5-9",
                "10-13",
                "14-15",
                "16-17",
                "18+",
                name="age_band",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("context_tags", sa.JSON(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"], ["audit.id"], name=op.f("fk_child_audit_id_audit"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_child")),
        sa.UniqueConstraint("audit_id", "pseudonym", name=op.f("uq_child_audit_id_pseudonym")),
    )
    with op.batch_alter_table("child", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_child_audit_id"), ["audit_id"], unique=False)

    op.create_table(
        "grade_level",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scale_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scale_id"],
            ["grading_scale.id"],
            name=op.f("fk_grade_level_scale_id_grading_scale"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grade_level")),
        sa.UniqueConstraint("scale_id", "code", name=op.f("uq_grade_level_scale_id_code")),
    )
    op.create_table(
        "question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_area_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column(
            "answer_type",
            sa.Enum(
                "free_text",
                "yes_partly_no",
                "single_choice",
                "date",
                "number",
                name="answer_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("required", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("guidance", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_area_id"],
            ["key_area.id"],
            name=op.f("fk_question_key_area_id_key_area"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question")),
    )
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_question_key_area_id"), ["key_area_id"], unique=False)

    op.create_table(
        "involvement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_involvement_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audit.id"],
            name=op.f("fk_involvement_audit_id_audit"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["child.id"],
            name=op.f("fk_involvement_child_id_child"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_involvement")),
        sa.UniqueConstraint(
            "child_id", "agency_id", name=op.f("uq_involvement_child_id_agency_id")
        ),
    )
    with op.batch_alter_table("involvement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_involvement_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_involvement_audit_id"), ["audit_id"], unique=False)

    op.create_table(
        "audit_return",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("involvement_id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "not_started",
                "draft",
                "submitted",
                "returned_for_amendment",
                "moderated",
                name="return_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("auditor_name", sa.String(length=200), nullable=True),
        sa.Column("overall_grade_id", sa.Integer(), nullable=True),
        sa.Column("amendment_note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("started_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("submitted_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("returned_at", app.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_audit_return_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audit.id"],
            name=op.f("fk_audit_return_audit_id_audit"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["child.id"],
            name=op.f("fk_audit_return_child_id_child"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["involvement_id"],
            ["involvement.id"],
            name=op.f("fk_audit_return_involvement_id_involvement"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["overall_grade_id"],
            ["grade_level.id"],
            name=op.f("fk_audit_return_overall_grade_id_grade_level"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_return")),
        sa.UniqueConstraint("involvement_id", name=op.f("uq_audit_return_involvement_id")),
    )
    with op.batch_alter_table("audit_return", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_return_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_return_audit_id"), ["audit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_return_child_id"), ["child_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_return_status"), ["status"], unique=False)

    op.create_table(
        "answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"], ["question.id"], name=op.f("fk_answer_question_id_question")
        ),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["audit_return.id"],
            name=op.f("fk_answer_return_id_audit_return"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer")),
        sa.UniqueConstraint(
            "return_id", "question_id", name=op.f("uq_answer_return_id_question_id")
        ),
    )
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answer_question_id"), ["question_id"], unique=False)

    op.create_table(
        "grade",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("key_area_id", sa.Integer(), nullable=False),
        sa.Column("level_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_area_id"], ["key_area.id"], name=op.f("fk_grade_key_area_id_key_area")
        ),
        sa.ForeignKeyConstraint(
            ["level_id"], ["grade_level.id"], name=op.f("fk_grade_level_id_grade_level")
        ),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["audit_return.id"],
            name=op.f("fk_grade_return_id_audit_return"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grade")),
        sa.UniqueConstraint(
            "return_id", "key_area_id", name=op.f("uq_grade_return_id_key_area_id")
        ),
    )
    with op.batch_alter_table("grade", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grade_key_area_id"), ["key_area_id"], unique=False)

    op.create_table(
        "key_area_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("key_area_id", sa.Integer(), nullable=False),
        sa.Column("went_well", sa.Text(), nullable=False),
        sa.Column("could_be_better", sa.Text(), nullable=False),
        sa.Column("impact_on_child", sa.Text(), nullable=False),
        sa.Column("updated_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_area_id"], ["key_area.id"], name=op.f("fk_key_area_evidence_key_area_id_key_area")
        ),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["audit_return.id"],
            name=op.f("fk_key_area_evidence_return_id_audit_return"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_area_evidence")),
        sa.UniqueConstraint(
            "return_id", "key_area_id", name=op.f("uq_key_area_evidence_return_id_key_area_id")
        ),
    )
    with op.batch_alter_table("key_area_evidence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_key_area_evidence_key_area_id"), ["key_area_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("key_area_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_key_area_evidence_key_area_id"))

    op.drop_table("key_area_evidence")
    with op.batch_alter_table("grade", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grade_key_area_id"))

    op.drop_table("grade")
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answer_question_id"))

    op.drop_table("answer")
    with op.batch_alter_table("audit_return", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_return_status"))
        batch_op.drop_index(batch_op.f("ix_audit_return_child_id"))
        batch_op.drop_index(batch_op.f("ix_audit_return_audit_id"))
        batch_op.drop_index(batch_op.f("ix_audit_return_agency_id"))

    op.drop_table("audit_return")
    with op.batch_alter_table("involvement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_involvement_audit_id"))
        batch_op.drop_index(batch_op.f("ix_involvement_agency_id"))

    op.drop_table("involvement")
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_key_area_id"))

    op.drop_table("question")
    op.drop_table("grade_level")
    with op.batch_alter_table("child", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_child_audit_id"))

    op.drop_table("child")
    op.drop_table("audit_agency")
    with op.batch_alter_table("key_area", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_key_area_template_version_id"))

    op.drop_table("key_area")
    op.drop_table("grading_scale")
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_template_version_id"))
        batch_op.drop_index(batch_op.f("ix_audit_status"))
        batch_op.drop_index(batch_op.f("ix_audit_lead_subgroup_id"))

    op.drop_table("audit")
    with op.batch_alter_table("template_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_template_version_family_id"))

    op.drop_table("template_version")
    op.drop_table("template_family")
    op.drop_table("subgroup")
    op.drop_table("agency")
