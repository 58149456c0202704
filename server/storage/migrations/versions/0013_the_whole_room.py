"""the whole room at the presentation: who is at the conference (noted by the coordinator),
and answers the coordinator noted for someone without a device (``recorded_by``)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "present_at_conference", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("plan_answer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_by", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plan_answer", schema=None) as batch_op:
        batch_op.drop_column("recorded_by")
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_column("present_at_conference")
