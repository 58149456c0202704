"""the practical side of the preparation: per participant the language an interpreter is
needed for (and whether one is arranged), a child's age and who supports the child at the
meeting; per conference notes on food, childcare and who brings whom; and the questions the
client marked in the compass, copied for the meeting (``conference_question``)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-22 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "interpreter_language", sa.String(length=100), nullable=False, server_default=""
            )
        )
        batch_op.add_column(
            sa.Column(
                "interpreter_arranged", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(sa.Column("age", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("supported_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_participant_supported_by_id_participant",
            "participant",
            ["supported_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("conference", schema=None) as batch_op:
        for name in ("food_notes", "childcare_notes", "transport_notes"):
            batch_op.add_column(sa.Column(name, sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "conference_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conference_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conference_id"],
            ["conference.id"],
            name=op.f("fk_conference_question_conference_id_conference"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conference_question")),
        sa.UniqueConstraint(
            "conference_id", "position", name=op.f("uq_conference_question_conference_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("conference_question")
    with op.batch_alter_table("conference", schema=None) as batch_op:
        for name in ("transport_notes", "childcare_notes", "food_notes"):
            batch_op.drop_column(name)
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_constraint("fk_participant_supported_by_id_participant", type_="foreignkey")
        batch_op.drop_column("supported_by_id")
        batch_op.drop_column("age")
        batch_op.drop_column("interpreter_arranged")
        batch_op.drop_column("interpreter_language")
