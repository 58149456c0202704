"""session ids are never handed out again on SQLite (AUTOINCREMENT): an open connection is
checked against its session by id, so an id that came back after a sign-in ended (a
password reset on the command line) would keep that connection open

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 21:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL's sequences never hand out an id twice
    with op.batch_alter_table(
        "session", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "session", recreate="always", table_kwargs={"sqlite_autoincrement": False}
    ):
        pass
