"""reminders: an optional email per participant, and which reminders of a follow-up meeting
were sent to whom (once per person per due date)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    op.create_table(
        "reminder_sent",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "conference_id",
            sa.String(length=32),
            sa.ForeignKey("conference.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("recipient", sa.String(length=40), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint(
            "conference_id", "recipient", "due_on", name=op.f("uq_reminder_sent_conference_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("reminder_sent")
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_column("email")
