"""invitation.channel: how a link was handed out (message, card, mail), so the coordinator
sees a person's several working links apart and ends one of them; account.contact_phone and
contact_email: how the coordinator is reached, named on the page of a link that ended

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs (no table rebuild on SQLite: the session rows that point at an
    # invitation must not be touched). Links made before were all handed out as a message.
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "channel", sa.String(length=16), server_default=sa.text("'message'"), nullable=False
            )
        )
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_phone", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("contact_email", sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_column("contact_email")
        batch_op.drop_column("contact_phone")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_column("channel")
