"""the second factor: a coordinator's authenticator app (``second_factor``), their one-time
recovery codes, logins halfway between password and code (``login_step``), and the admin's
choices for the whole instance (``instance_setting``: whether a second factor is required)

Revision ID: 0018
Revises: 0017
Create Date: 2027-01-10 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _account(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id"],
        ["account.id"],
        name=op.f(f"fk_{table}_account_id_account"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "second_factor",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        _account("second_factor"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_second_factor")),
    )
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        _account("recovery_code"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_code")),
        sa.UniqueConstraint("account_id", "code_hash", name=op.f("uq_recovery_code_account_id")),
    )
    op.create_table(
        "login_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("next_url", sa.String(length=2000), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("purpose IN ('code', 'set_up')", name=op.f("ck_login_step_purpose")),
        _account("login_step"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_step")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_login_step_token_hash")),
    )
    op.create_table(
        "instance_setting",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("changed_by", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_instance_setting")),
    )


def downgrade() -> None:
    for table in ("instance_setting", "login_step", "recovery_code", "second_factor"):
        op.drop_table(table)
