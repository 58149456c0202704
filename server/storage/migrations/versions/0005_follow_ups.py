"""follow-ups: the action team's meetings after the conference, and who came

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_follow_up_on", sa.Date(), nullable=True))
    op.create_table(
        "follow_up",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "conference_id",
            sa.String(length=32),
            sa.ForeignKey("conference.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("started_by", sa.String(length=300), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=300), nullable=True),
        sa.Column("version_number", sa.Integer(), nullable=True),
        sa.UniqueConstraint("conference_id", "number"),
    )
    op.create_index(
        "ux_follow_up_open",
        "follow_up",
        ["conference_id"],
        unique=True,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    op.create_table(
        "follow_up_attendance",
        sa.Column(
            "follow_up_id",
            sa.Integer(),
            sa.ForeignKey("follow_up.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "participant_id",
            sa.Integer(),
            sa.ForeignKey("participant.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )


def downgrade() -> None:
    op.drop_table("follow_up_attendance")
    op.drop_index("ux_follow_up_open", table_name="follow_up")
    op.drop_table("follow_up")
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.drop_column("next_follow_up_on")
