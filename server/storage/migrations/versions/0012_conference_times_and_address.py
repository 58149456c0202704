"""a conference has a start and an end time (UTC, like every moment) and the address of its
place, shown on the invitation cards, the participant's page and in the .ics

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-20 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.add_column(sa.Column("starts_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("ends_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("address", sa.String(length=300), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.drop_column("address")
        batch_op.drop_column("ends_at")
        batch_op.drop_column("starts_at")
