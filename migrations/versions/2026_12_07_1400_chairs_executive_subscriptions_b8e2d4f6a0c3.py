"""subgroup chairs and the Executive, theme subscriptions, and how far an overdue
action's lateness has been told

Two roles widen the CHECK on ``user_role.role`` (app.migrate.set_check_values). Each
subgroup may name its chair (no one, for those existing). Practitioners may subscribe
to themes (none have). Each learning action records how far its lateness has been
told: existing overdue actions are marked as told already, as they were shown on the
tracker and in the daily digest before this, so upgrading does not send a burst of
e-mails about old news; any that become overdue from now on are told.

Revision ID: b8e2d4f6a0c3
Revises: a3c5e7f9b1d4
Create Date: 2026-12-07 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db
from app.migrate import set_check_values

revision: str = "b8e2d4f6a0c3"
down_revision: str | None = "a3c5e7f9b1d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ROLES = ("admin", "auditor", "moderator", "agency_lead", "practitioner", "scrutineer")
NEW_ROLES = (*OLD_ROLES, "subgroup_chair", "executive")
CHECK = "ck_user_role_role"
FK = "fk_subgroup_chair_user_id_app_user"
OPEN = ("proposed", "agreed", "in_progress")


def upgrade() -> None:
    set_check_values(
        op, table="user_role", column="role", constraint=CHECK, old=OLD_ROLES, new=NEW_ROLES
    )
    # Plain ALTER TABLE, not a batch: audits refer to subgroups. SQLite takes the
    # reference (named, as the models name it) inline in ADD COLUMN.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE subgroup ADD COLUMN chair_user_id INTEGER CONSTRAINT {FK} "
            "REFERENCES app_user (id) ON DELETE SET NULL"
        )
    else:
        op.add_column("subgroup", sa.Column("chair_user_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            FK, "subgroup", "app_user", ["chair_user_id"], ["id"], ondelete="SET NULL"
        )
    op.create_index(op.f("ix_subgroup_chair_user_id"), "subgroup", ["chair_user_id"], unique=False)
    op.create_table(
        "theme_subscription",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["theme_id"], ["theme.id"], name=op.f("fk_theme_subscription_theme_id_theme")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_theme_subscription_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "theme_id", name=op.f("pk_theme_subscription")),
    )
    op.create_index(
        op.f("ix_theme_subscription_theme_id"), "theme_subscription", ["theme_id"], unique=False
    )
    op.add_column(
        "learning_action",
        sa.Column("escalation_told", sa.String(length=16), server_default="none", nullable=False),
    )
    # What is overdue today was shown on the tracker already: told as far as it stands,
    # judged by the date the database gives (the escalation threshold's default, 28 days).
    learning_action = sa.table(
        "learning_action",
        sa.column("status", sa.String),
        sa.column("due_on", sa.Date),
        sa.column("escalation_told", sa.String),
    )
    today = sa.func.current_date()
    if op.get_bind().dialect.name == "sqlite":
        executive_from = sa.func.date("now", "-28 days")
    else:
        executive_from = sa.text("CURRENT_DATE - 28")
    op.execute(
        learning_action.update()
        .where(learning_action.c.status.in_(OPEN), learning_action.c.due_on < today)
        .values(
            escalation_told=sa.case(
                (learning_action.c.due_on < executive_from, "executive"), else_="subgroup"
            )
        )
    )


def downgrade() -> None:
    bind = op.get_bind()
    held = bind.execute(
        sa.text("SELECT count(*) FROM user_role WHERE role IN ('subgroup_chair', 'executive')")
    ).scalar_one()
    if held:
        # Refused, not dropped: a downgrade that silently took away people's roles would
        # change who is told what.
        raise RuntimeError(
            "Cannot downgrade: the earlier schema cannot hold the subgroup chair and "
            "Executive roles; take them away first."
        )
    op.drop_column("learning_action", "escalation_told")
    op.drop_index(op.f("ix_theme_subscription_theme_id"), table_name="theme_subscription")
    op.drop_table("theme_subscription")
    op.drop_index(op.f("ix_subgroup_chair_user_id"), table_name="subgroup")
    if bind.dialect.name == "postgresql":
        op.drop_constraint(FK, "subgroup", type_="foreignkey")
    op.drop_column("subgroup", "chair_user_id")
    set_check_values(
        op, table="user_role", column="role", constraint=CHECK, old=NEW_ROLES, new=OLD_ROLES
    )
