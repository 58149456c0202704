"""plan_version.summary: what the outcomes count of each version's agreements, so the
organisation's dashboard reads a few bytes per version instead of whole plans

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.rules.outcomes import summarise

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plan_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("summary", sa.JSON(), nullable=True))
    versions = sa.table(
        "plan_version",
        sa.column("id", sa.Integer()),
        sa.column("content", sa.JSON()),
        sa.column("summary", sa.JSON()),
    )
    connection = op.get_bind()
    for row_id, content in connection.execute(sa.select(versions.c.id, versions.c.content)):
        connection.execute(
            versions.update()
            .where(versions.c.id == row_id)
            .values(summary=summarise(content or {}))
        )
    with op.batch_alter_table("plan_version", schema=None) as batch_op:
        batch_op.alter_column("summary", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("plan_version", schema=None) as batch_op:
        batch_op.drop_column("summary")
