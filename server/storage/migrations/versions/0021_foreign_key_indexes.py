"""An index on every foreign key that had none: deleting a row (an erasure deletes a
conference's participants one statement at a time) looked up the rows referring to it by
scanning their whole table, under the write lock, so every family's edit waited behind it

Revision ID: 0021
Revises: 0020
Create Date: 2027-01-19 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (index, table, column): the same as FOREIGN_KEY_INDEXES and LoginStep's in the models.
INDEXES = (
    ("ix_conference_owner", "conference", "owner_id"),
    ("ix_account_link_conference", "account_link", "conference_id"),
    ("ix_participant_account", "participant", "account_id"),
    ("ix_participant_supported_by", "participant", "supported_by_id"),
    ("ix_session_account", "session", "account_id"),
    ("ix_session_invitation", "session", "invitation_id"),
    ("ix_condition_participant", "condition", "participant_id"),
    ("ix_signal_participant", "signal", "participant_id"),
    ("ix_plan_answer_conference", "plan_answer", "conference_id"),
    ("ix_follow_up_attendance_participant", "follow_up_attendance", "participant_id"),
    ("ix_rating_participant", "rating", "participant_id"),
    ("ix_invitation_proposal_proposed_by", "invitation_proposal", "proposed_by"),
    ("ix_invitation_proposal_participant", "invitation_proposal", "participant_id"),
    ("ix_login_step_account", "login_step", "account_id"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _column in reversed(INDEXES):
        op.drop_index(name, table_name=table)
