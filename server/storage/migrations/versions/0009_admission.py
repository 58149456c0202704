"""session.admission: a device that first signs in during private time waits until the
family lets it in (the coordinator sees every link, so no link is trusted on its own then)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("session", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "admission", sa.String(length=16), server_default=sa.text("'in'"), nullable=False
            )
        )
        batch_op.add_column(sa.Column("admission_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("admission_at", sa.DateTime(), nullable=True))
        batch_op.create_check_constraint(
            "admission", sa.text("admission IN ('in', 'waiting', 'refused')")
        )


def downgrade() -> None:
    with op.batch_alter_table("session", schema=None) as batch_op:
        batch_op.drop_constraint("admission", type_="check")
        batch_op.drop_column("admission_at")
        batch_op.drop_column("admission_by")
        batch_op.drop_column("admission")
