"""ratings: each participant's 1-10 for the meeting and the plan, at the presentation and at
each follow-up meeting

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rating",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "conference_id",
            sa.String(length=32),
            sa.ForeignKey("conference.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "participant_id",
            sa.Integer(),
            sa.ForeignKey("participant.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("occasion", sa.Integer(), nullable=False),
        sa.Column("meeting_score", sa.Integer(), nullable=False),
        sa.Column("plan_score", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("conference_id", "participant_id", "occasion"),
        sa.CheckConstraint("meeting_score BETWEEN 1 AND 10", name="meeting_score"),
        sa.CheckConstraint("plan_score BETWEEN 1 AND 10", name="plan_score"),
    )


def downgrade() -> None:
    op.drop_table("rating")
