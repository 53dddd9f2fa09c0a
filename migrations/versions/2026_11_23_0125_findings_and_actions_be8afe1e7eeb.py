"""findings and actions: findings with their themes, learning actions and their history

Revision ID: be8afe1e7eeb
Revises: 69deebd8aff8
Create Date: 2026-11-23 01:25:20.054785
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "be8afe1e7eeb"
down_revision: str | None = "69deebd8aff8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The themes a partnership's findings are usually tagged with (JTAI and practice-review
# learning); the business unit adds its own and deactivates any it does not use.
THEMES = [
    "Voice of the child",
    "Information sharing",
    "Recording",
    "Strategy discussion",
    "Consent and capacity",
    "SMART planning",
    "Professional curiosity",
    "Management oversight and supervision",
    "Escalation and professional challenge",
    "Think family",
    "Risk assessment",
    "Early help",
]


def upgrade() -> None:
    theme = op.create_table(
        "theme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_theme")),
        sa.UniqueConstraint("name", name=op.f("uq_theme_name")),
    )
    seeded_at = datetime(2026, 11, 23, tzinfo=UTC)
    op.bulk_insert(theme, [{"name": n, "active": True, "created_at": seeded_at} for n in THEMES])
    op.create_table(
        "learning_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owning_agency_id", sa.Integer(), nullable=False),
        sa.Column("owner_name", sa.String(length=200), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("success_measure", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "proposed",
                "agreed",
                "in_progress",
                "completed",
                "impact_evidenced",
                "closed",
                "not_accepted",
                name="action_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("evidence_of_completion", sa.Text(), nullable=False),
        sa.Column("evidence_of_impact", sa.Text(), nullable=False),
        sa.Column("not_accepted_reason", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_label", sa.String(length=200), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audit.id"],
            name=op.f("fk_learning_action_audit_id_audit"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["app_user.id"],
            name=op.f("fk_learning_action_created_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["app_user.id"],
            name=op.f("fk_learning_action_owner_user_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["owning_agency_id"],
            ["agency.id"],
            name=op.f("fk_learning_action_owning_agency_id_agency"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_action")),
    )
    with op.batch_alter_table("learning_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_learning_action_audit_id"), ["audit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_learning_action_due_on"), ["due_on"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_learning_action_owning_agency_id"), ["owning_agency_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_learning_action_status"), ["status"], unique=False)

    op.create_table(
        "action_status_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "proposed",
                "agreed",
                "in_progress",
                "completed",
                "impact_evidenced",
                "closed",
                "not_accepted",
                name="from_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "proposed",
                "agreed",
                "in_progress",
                "completed",
                "impact_evidenced",
                "closed",
                "not_accepted",
                name="to_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_by_label", sa.String(length=200), nullable=False),
        sa.Column("changed_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["learning_action.id"],
            name=op.f("fk_action_status_change_action_id_learning_action"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["app_user.id"],
            name=op.f("fk_action_status_change_changed_by_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_status_change")),
    )
    with op.batch_alter_table("action_status_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_action_status_change_action_id"), ["action_id"], unique=False
        )

    op.create_table(
        "finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "good_practice",
                "area_for_improvement",
                name="finding_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("key_area_id", sa.Integer(), nullable=True),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("child_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_label", sa.String(length=200), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_finding_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["audit_id"], ["audit.id"], name=op.f("fk_finding_audit_id_audit"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["child_id"], ["child.id"], name=op.f("fk_finding_child_id_child"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["app_user.id"], name=op.f("fk_finding_created_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["key_area_id"], ["key_area.id"], name=op.f("fk_finding_key_area_id_key_area")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding")),
    )
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finding_audit_id"), ["audit_id"], unique=False)

    op.create_table(
        "action_finding",
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["learning_action.id"],
            name=op.f("fk_action_finding_action_id_learning_action"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["finding.id"],
            name=op.f("fk_action_finding_finding_id_finding"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("action_id", "finding_id", name=op.f("pk_action_finding")),
    )
    op.create_table(
        "finding_theme",
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["finding.id"],
            name=op.f("fk_finding_theme_finding_id_finding"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"], ["theme.id"], name=op.f("fk_finding_theme_theme_id_theme")
        ),
        sa.PrimaryKeyConstraint("finding_id", "theme_id", name=op.f("pk_finding_theme")),
    )


def downgrade() -> None:
    op.drop_table("finding_theme")
    op.drop_table("action_finding")
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finding_audit_id"))

    op.drop_table("finding")
    with op.batch_alter_table("action_status_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_status_change_action_id"))

    op.drop_table("action_status_change")
    with op.batch_alter_table("learning_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_learning_action_status"))
        batch_op.drop_index(batch_op.f("ix_learning_action_owning_agency_id"))
        batch_op.drop_index(batch_op.f("ix_learning_action_due_on"))
        batch_op.drop_index(batch_op.f("ix_learning_action_audit_id"))

    op.drop_table("learning_action")
    op.drop_table("theme")
