"""document update log and snapshots (live rooms)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "doc_update",
        sa.Column("id", LOG_ID, autoincrement=True, nullable=False),
        sa.Column("conference_id", sa.String(length=32), nullable=False),
        sa.Column("document", sa.String(length=20), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conference_id"],
            ["conference.id"],
            name=op.f("fk_doc_update_conference_id_conference"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_doc_update")),
        # Never reuse the id of a compacted row (see DocUpdate in models.py).
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_doc_update_document", "doc_update", ["conference_id", "document", "id"], unique=False
    )
    op.create_table(
        "doc_snapshot",
        sa.Column("conference_id", sa.String(length=32), nullable=False),
        sa.Column("document", sa.String(length=20), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("upto_id", LOG_ID, nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conference_id"],
            ["conference.id"],
            name=op.f("fk_doc_snapshot_conference_id_conference"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conference_id", "document", name=op.f("pk_doc_snapshot")),
    )


def downgrade() -> None:
    op.drop_table("doc_snapshot")
    op.drop_index("ix_doc_update_document", table_name="doc_update")
    op.drop_table("doc_update")
