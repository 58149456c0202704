"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL: a
column, index or constraint added to ``server/storage/models.py`` without its migration (or
the other way round) fails here, not on somebody's production database."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint
from sqlalchemy.engine import Connection

from server.storage.migrate import alembic_config, upgrade
from server.storage.models import Base
from server.storage.store import create_engine
from tests.support.databases import migrated_sqlite


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrated_schema_is_the_declared_one(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []


def test_every_foreign_key_has_an_index_that_starts_with_its_columns() -> None:
    """Deleting a row looks up the rows that refer to it: without such an index, a scan of
    the whole referring table per deleted row, under the write lock (an erasure's participants
    kept every family's edit waiting for a quarter of a second)."""
    unindexed = []
    for table in Base.metadata.sorted_tables:
        leads = [[c.name for c in index.columns] for index in table.indexes]
        leads += [
            [c.name for c in constraint.columns]
            for constraint in table.constraints
            if isinstance(constraint, PrimaryKeyConstraint | UniqueConstraint)
        ]
        for key in table.foreign_key_constraints:
            columns = [c.name for c in key.columns]
            if not any(lead[: len(columns)] == columns for lead in leads):
                unindexed.append(f"{table.name}({', '.join(columns)})")
    assert unindexed == []


def test_versions_frozen_before_summaries_get_theirs(tmp_path: Path) -> None:
    """Migration 0008 fills in the outcomes' summary of every version already frozen."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'kring.db'}"
    command.upgrade(alembic_config(url), "0007")
    content = {
        "agreements": [
            {"id": "a1", "life_area": "housing", "what": "Koken", "status": "done"},
            {"id": "a2", "life_area": "finances", "what": "Post", "request": "Help"},
        ]
    }
    with sqlite3.connect(tmp_path / "kring.db") as db:
        db.execute(
            "INSERT INTO account (id, email, name, password_hash, role, created_at) "
            "VALUES (1, 'c@example.org', 'C', 'x', 'coordinator', '2026-01-01 00:00:00')"
        )
        db.execute(
            "INSERT INTO conference (id, owner_id, client_name, question, phase, phase_since, "
            "location, created_at, updated_at) VALUES ('c1', 1, 'Sam', 'Hoe?', 'action_team', "
            "'2026-01-01 00:00:00', '', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
        db.execute(
            "INSERT INTO plan_version (conference_id, number, state, content, created_at, "
            "created_by) VALUES ('c1', 1, x'0000', ?, '2026-01-01 00:00:00', 'test')",
            (json.dumps(content),),
        )
    upgrade(url)
    with sqlite3.connect(tmp_path / "kring.db") as db:
        (summary,) = db.execute("SELECT summary FROM plan_version").fetchone()
    assert json.loads(summary) == [
        ["a1", "housing", False, "done"],
        ["a2", "finances", True, "open"],
    ]


def test_going_back_and_forth_on_sqlite_keeps_every_row(tmp_path: Path) -> None:
    """SQLite drops and copies a table to drop a column (0011-0013 going back): rows that
    point at it (a participant's links, their sign-ins) must not go with it."""
    url = migrated_sqlite(tmp_path)
    tables = ("account", "conference", "participant", "invitation", "session", "plan_answer")
    with sqlite3.connect(tmp_path / "kring.db") as db:
        db.execute(
            "INSERT INTO account (id, email, name, password_hash, role, created_at) "
            "VALUES (1, 'c@example.org', 'C', 'x', 'coordinator', '2026-01-01 00:00:00')"
        )
        db.execute(
            "INSERT INTO conference (id, owner_id, client_name, question, phase, phase_since, "
            "location, created_at, updated_at) VALUES ('c1', 1, 'Sam', 'Hoe?', 'presentation', "
            "'2026-01-01 00:00:00', '', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
        db.execute(
            "INSERT INTO participant (id, conference_id, name, role, created_at) "
            "VALUES (1, 'c1', 'Ans', 'network_member', '2026-01-01 00:00:00')"
        )
        db.execute(
            "INSERT INTO invitation (id, participant_id, token_hash, created_at, channel) "
            "VALUES (1, 1, 'h', '2026-01-01 00:00:00', 'card')"
        )
        db.execute(
            "INSERT INTO session (id, token_hash, invitation_id, created_at, last_seen_at) "
            "VALUES (1, 's', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
        db.execute(
            "INSERT INTO plan_answer (conference_id, participant_id, answer, remark, at) "
            "VALUES ('c1', 1, 'agree', '', '2026-01-01 00:00:00')"
        )

    def counts() -> dict[str, int]:
        with sqlite3.connect(tmp_path / "kring.db") as db:
            return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}

    before = counts()
    assert set(before.values()) == {1}
    command.downgrade(alembic_config(url), "0010")
    assert counts() == before
    upgrade(url)
    assert counts() == before


def test_invitation_status_comes_and_goes_without_losing_people(tmp_path: Path) -> None:
    """0015 gives everyone already on a list the status "invited" (they got a link when
    added), holds one participant per map entry, and going back drops only what it added."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'kring.db'}"
    command.upgrade(alembic_config(url), "0013")
    with sqlite3.connect(tmp_path / "kring.db") as db:
        db.execute(
            "INSERT INTO account (id, email, name, password_hash, role, created_at) "
            "VALUES (1, 'c@example.org', 'C', 'x', 'coordinator', '2026-01-01 00:00:00')"
        )
        db.execute(
            "INSERT INTO conference (id, owner_id, client_name, question, phase, phase_since, "
            "location, created_at, updated_at) VALUES ('c1', 1, 'Sam', 'Hoe?', 'preparation', "
            "'2026-01-01 00:00:00', '', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
        db.execute(
            "INSERT INTO participant (id, conference_id, name, role, created_at) "
            "VALUES (1, 'c1', 'Ans', 'network_member', '2026-01-01 00:00:00')"
        )
        db.execute(
            "INSERT INTO invitation (id, participant_id, token_hash, created_at) "
            "VALUES (1, 1, 'h', '2026-01-01 00:00:00')"
        )
    upgrade(url)
    with sqlite3.connect(tmp_path / "kring.db") as db:
        assert db.execute(
            "SELECT invitation_status, invitation_note, map_entry FROM participant"
        ).fetchall() == [("invited", "", None)]
        db.execute(
            "INSERT INTO participant (id, conference_id, name, role, created_at, map_entry) "
            "VALUES (2, 'c1', 'Oma', 'network_member', '2026-01-01 00:00:00', 'oma')"
        )
        try:
            db.execute(
                "INSERT INTO participant (id, conference_id, name, role, created_at, map_entry) "
                "VALUES (3, 'c1', 'Oma', 'network_member', '2026-01-01 00:00:00', 'oma')"
            )
        except sqlite3.IntegrityError:
            pass
        else:
            raise AssertionError("a second participant for one map entry was stored")
        db.execute(
            "INSERT INTO invitation_proposal (conference_id, proposed_by, name, relation, why, "
            "created_at, reason) VALUES ('c1', 1, 'Kees', 'oom', '', '2026-01-01 00:00:00', '')"
        )
    command.downgrade(alembic_config(url), "0013")
    with sqlite3.connect(tmp_path / "kring.db") as db:
        assert db.execute("SELECT id, name FROM participant ORDER BY id").fetchall() == [
            (1, "Ans"),
            (2, "Oma"),
        ]
        assert db.execute("SELECT count(*) FROM invitation").fetchone() == (1,)
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        assert "invitation_proposal" not in tables
    upgrade(url)


def test_the_server_knows_the_newest_revision_without_alembic() -> None:
    """A serving process checks the database's revision against the newest one, read from the
    migration files (Alembic itself stays out of its memory): the same answer Alembic gives."""
    import subprocess
    import sys

    from alembic.script import ScriptDirectory

    from server.storage.migrate import head_revision

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revision() == script.get_current_head()
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, server.app; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split("'")
    assert not {"alembic", "fpdf", "zxcvbn"} & set(loaded)
