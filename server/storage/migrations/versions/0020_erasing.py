"""conference.erasing_since and erasing_by: a conference being erased in small steps is marked
first, so every way in refuses it while its rows go, and a crash half-way leaves it refused
and marked for the next start-up or purge to finish

Revision ID: 0020
Revises: 0019
Create Date: 2027-01-12 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erasing_since", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("erasing_by", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.drop_column("erasing_by")
        batch_op.drop_column("erasing_since")
