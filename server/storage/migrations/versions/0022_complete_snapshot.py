"""doc_snapshot.complete_upto: the log id up to which the snapshot is the document alone,
none of its updates waiting for one that never arrived; when it is the snapshot's own
upto_id, a device with nothing yet may be sent it as it is stored, before the server has
applied it. A snapshot written before this column (or by a process not yet upgraded, which
moves upto_id without it) is taken as not complete

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

LOG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # as upto_id (0002)


def upgrade() -> None:
    with op.batch_alter_table("doc_snapshot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("complete_upto", LOG_ID, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("doc_snapshot", schema=None) as batch_op:
        batch_op.drop_column("complete_upto")
