"""from the network map to invitations: participant.map_entry (the map entry a person was
invited from, unique per conference), the invitation's status with the coordinator's note and
when the person answered themselves; invitation_proposal, someone the family proposes to invite

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-28 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "invitation_status IN ('to_invite', 'invited', 'coming', 'not_coming', 'maybe')"


def upgrade() -> None:
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("map_entry", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                "invitation_status",
                sa.String(length=16),
                server_default=sa.text("'to_invite'"),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("invitation_note", sa.Text(), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("invitation_answered_at", sa.DateTime(), nullable=True))
        batch_op.create_check_constraint("invitation_status", sa.text(STATUSES))
    # Everyone already on a list was given a link when added, before there was a status:
    # "invited" says that better than "to invite" (which new people start with).
    op.execute("UPDATE participant SET invitation_status = 'invited'")
    op.create_index(
        "ux_participant_map_entry", "participant", ["conference_id", "map_entry"], unique=True
    )
    op.create_table(
        "invitation_proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conference_id", sa.String(length=32), nullable=False),
        sa.Column("proposed_by", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("relation", sa.String(length=200), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=300), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "decision IN ('invited', 'declined')", name=op.f("ck_invitation_proposal_decision")
        ),
        sa.ForeignKeyConstraint(
            ["conference_id"],
            ["conference.id"],
            name=op.f("fk_invitation_proposal_conference_id_conference"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_invitation_proposal_participant_id_participant"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by"],
            ["participant.id"],
            name=op.f("fk_invitation_proposal_proposed_by_participant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation_proposal")),
    )
    op.create_index(
        "ix_invitation_proposal_conference",
        "invitation_proposal",
        ["conference_id", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_invitation_proposal_conference", table_name="invitation_proposal")
    op.drop_table("invitation_proposal")
    op.drop_index("ux_participant_map_entry", table_name="participant")
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_constraint("invitation_status", type_="check")
        batch_op.drop_column("invitation_answered_at")
        batch_op.drop_column("invitation_note")
        batch_op.drop_column("invitation_status")
        batch_op.drop_column("map_entry")
