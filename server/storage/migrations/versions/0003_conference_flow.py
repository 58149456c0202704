"""conference flow: conditions, signals, questions, answers, plan versions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clarifying_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conference_id", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conference_id"],
            ["conference.id"],
            name=op.f("fk_clarifying_question_conference_id_conference"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clarifying_question")),
    )
    with op.batch_alter_table("clarifying_question", schema=None) as batch_op:
        batch_op.create_index(
            "ix_clarifying_question_conference", ["conference_id", "id"], unique=False
        )

    op.create_table(
        "plan_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conference_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["conference_id"],
            ["conference.id"],
            name=op.f("fk_plan_version_conference_id_conference"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_version")),
        sa.UniqueConstraint("conference_id", "number", name=op.f("uq_plan_version_conference_id")),
    )
    op.create_table(
        "condition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conference_id", sa.String(length=32), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=True),
        sa.Column("remark", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conference_id"],
            ["conference.id"],
            name=op.f("fk_condition_conference_id_conference"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_condition_participant_id_participant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_condition")),
    )
    with op.batch_alter_table("condition", schema=None) as batch_op:
        batch_op.create_index("ix_condition_conference", ["conference_id", "id"], unique=False)

    op.create_table(
        "plan_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conference_id", sa.String(length=32), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=10), nullable=False),
        sa.Column("remark", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conference_id"],
            ["conference.id"],
            name=op.f("fk_plan_answer_conference_id_conference"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_plan_answer_participant_id_participant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_answer")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_plan_answer_participant_id")),
    )
    op.create_table(
        "signal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conference_id", sa.String(length=32), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conference_id"],
            ["conference.id"],
            name=op.f("fk_signal_conference_id_conference"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_signal_participant_id_participant"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal")),
    )
    with op.batch_alter_table("signal", schema=None) as batch_op:
        batch_op.create_index("ix_signal_conference", ["conference_id", "at"], unique=False)

    # Existing conferences: their phase counts as begun now, in UTC like every stored time
    # (PostgreSQL's now() in a column without a zone would be the server's local time).
    utc_now = (
        "timezone('utc', now())"
        if op.get_bind().dialect.name == "postgresql"
        else "CURRENT_TIMESTAMP"  # SQLite: UTC
    )
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("phase_since", sa.DateTime(), nullable=False, server_default=sa.text(utc_now))
        )
        batch_op.add_column(sa.Column("plan_frozen_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("action_team", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_column("action_team")

    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.drop_column("plan_frozen_at")
        batch_op.drop_column("phase_since")

    with op.batch_alter_table("signal", schema=None) as batch_op:
        batch_op.drop_index("ix_signal_conference")

    op.drop_table("signal")
    op.drop_table("plan_answer")
    with op.batch_alter_table("condition", schema=None) as batch_op:
        batch_op.drop_index("ix_condition_conference")

    op.drop_table("condition")
    op.drop_table("plan_version")
    with op.batch_alter_table("clarifying_question", schema=None) as batch_op:
        batch_op.drop_index("ix_clarifying_question_conference")

    op.drop_table("clarifying_question")
