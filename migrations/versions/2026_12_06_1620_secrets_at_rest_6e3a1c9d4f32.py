"""authenticator secrets encrypted at rest

Every authenticator (TOTP) secret is encrypted with the first of the settings' data
keys (``app.crypto``: Fernet, ``AUDIT_DATA_KEYS``, or a key derived from
``AUDIT_SECRET_KEY`` when that is empty) and stored as ``fernet:`` and the token,
which needs a wider column (64 -> 255). The service then reads only encrypted values.
Downgrading decrypts them again, so it needs the same keys.

Revision ID: 6e3a1c9d4f32
Revises: 5d2f0b8c3e21
Create Date: 2026-12-06 16:20:00
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from app import crypto

revision: str = "6e3a1c9d4f32"
down_revision: str | None = "5d2f0b8c3e21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns as stored, without the model's type, which would encrypt and decrypt.
users = sa.table("app_user", sa.column("id", sa.Integer), sa.column("totp_secret", sa.String))


def _resize(length: int, *, was: int) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "app_user",
            "totp_secret",
            existing_type=sa.String(length=was),
            type_=sa.String(length=length),
            existing_nullable=True,
        )
        return
    # SQLite changes a column's type only by copying the table (a batch), which the
    # many tables that refer to app_user refuse; a new column, copied, dropped and
    # renamed instead (SQLite 3.35 and later).
    op.add_column("app_user", sa.Column("totp_secret_resized", sa.String(length=length)))
    op.execute("UPDATE app_user SET totp_secret_resized = totp_secret")
    op.drop_column("app_user", "totp_secret")
    op.execute("ALTER TABLE app_user RENAME COLUMN totp_secret_resized TO totp_secret")


def _rewrite(change: Callable[[str], str | None]) -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(users.c.id, users.c.totp_secret).where(users.c.totp_secret.is_not(None))
    ).all()
    for row in rows:
        new = change(row.totp_secret)
        if new is not None:
            bind.execute(users.update().where(users.c.id == row.id).values(totp_secret=new))


def upgrade() -> None:
    _resize(255, was=64)
    # The key comes from the settings of the environment running the migration.
    _rewrite(lambda value: None if crypto.is_sealed(value) else crypto.seal(value))


def downgrade() -> None:
    _rewrite(lambda value: crypto.unseal(value) if crypto.is_sealed(value) else None)
    _resize(64, was=255)
