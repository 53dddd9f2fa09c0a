"""accounts for a real partnership: one-time links (invitations, password resets),
single sign-on identities, registrations and attempts, when each account was last
used, and agency leads' access reviews

New tables, and three columns on the accounts left empty. An account's last use is
not known before this: it is taken as the later of its creation and its latest web
session or token use, so that no one is counted unused for ever from the day of the
upgrade on, nor disabled at once for a quiet spell that left no trace.

Revision ID: b3f7c9e1d5a2
Revises: b8e2d4f6a0c3
Create Date: 2026-12-07 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "b3f7c9e1d5a2"
down_revision: str | None = "b8e2d4f6a0c3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DECISIONS = ("pending", "approved", "refused", "replaced")


def upgrade() -> None:
    op.add_column("app_user", sa.Column("last_active_at", app.db.UTCDateTime(), nullable=True))
    op.add_column(
        "app_user", sa.Column("inactivity_notice_at", app.db.UTCDateTime(), nullable=True)
    )
    op.add_column("app_user", sa.Column("disabled_reason", sa.String(length=200), nullable=True))
    op.create_table(
        "account_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum(
                "invitation",
                "reset",
                name="link_purpose",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("used_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_label", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["app_user.id"], name=op.f("fk_account_link_created_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_account_link_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_link_token_hash")),
    )
    op.create_index(op.f("ix_account_link_user_id"), "account_link", ["user_id"], unique=False)
    op.create_table(
        "external_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", app.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_external_identity_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_identity")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_external_identity_issuer_subject")),
    )
    op.create_index(
        op.f("ix_external_identity_user_id"), "external_identity", ["user_id"], unique=False
    )
    op.create_table(
        "sso_registration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=60), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", app.db.UTCDateTime(), nullable=False),
        sa.Column(
            "decision",
            sa.Enum(
                *DECISIONS,
                name="registration_decision",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_label", sa.String(length=320), nullable=False),
        sa.Column("decided_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_sso_registration_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["app_user.id"],
            name=op.f("fk_sso_registration_decided_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_sso_registration_user_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_registration")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_sso_registration_issuer_subject")),
    )
    op.create_index(
        op.f("ix_sso_registration_agency_id"), "sso_registration", ["agency_id"], unique=False
    )
    op.create_table(
        "sso_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=60), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("next_path", sa.String(length=500), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("used_at", app.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_attempt")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_sso_attempt_state_hash")),
    )
    op.create_table(
        "access_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_by_label", sa.String(length=320), nullable=False),
        sa.Column("reviewed_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("kept", sa.JSON(), nullable=False),
        sa.Column("removed", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_access_review_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["app_user.id"],
            name=op.f("fk_access_review_reviewed_by_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_review")),
    )
    op.create_index(
        op.f("ix_access_review_agency_id"), "access_review", ["agency_id"], unique=False
    )
    # Each account's last use, as well as it can be told: its latest web session seen,
    # its latest token use, or else when it was made.
    op.execute(
        """
        UPDATE app_user SET last_active_at = (
            SELECT MAX(t) FROM (
                SELECT app_user.created_at AS t
                UNION ALL
                SELECT MAX(web_session.last_seen_at) FROM web_session
                    WHERE web_session.user_id = app_user.id
                UNION ALL
                SELECT MAX(api_token.last_used_at) FROM api_token
                    WHERE api_token.user_id = app_user.id
            ) AS seen
        )
        """
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_access_review_agency_id"), table_name="access_review")
    op.drop_table("access_review")
    op.drop_table("sso_attempt")
    op.drop_index(op.f("ix_sso_registration_agency_id"), table_name="sso_registration")
    op.drop_table("sso_registration")
    op.drop_index(op.f("ix_external_identity_user_id"), table_name="external_identity")
    op.drop_table("external_identity")
    op.drop_index(op.f("ix_account_link_user_id"), table_name="account_link")
    op.drop_table("account_link")
    op.drop_column("app_user", "disabled_reason")
    op.drop_column("app_user", "inactivity_notice_at")
    op.drop_column("app_user", "last_active_at")
