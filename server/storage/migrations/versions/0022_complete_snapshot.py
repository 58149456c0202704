"""doc_snapshot.complete: the snapshot is the document alone, none of its updates waiting for
one that never arrived; a device with nothing yet may then be sent it as it is stored, before
the server has applied it (a snapshot written before this column is taken as not complete)

Revision ID: 0022
Revises: 0021
Create Date: 2027-01-26 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("doc_snapshot", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("complete", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("doc_snapshot", schema=None) as batch_op:
        batch_op.drop_column("complete")
