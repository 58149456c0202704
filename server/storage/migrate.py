"""Database migrations (Alembic), run from the CLI, the Procfile's release step and tests.

Alembic (~10 MB in memory) is imported only to migrate or to check a backup: a serving process
needs nothing of it but the newest revision's name, read from the migration files themselves.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would eat a '%' in a password.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


class NewerSchema(RuntimeError):
    """The database was migrated by a newer Kring: this one cannot bring it anywhere."""


def upgrade(database_url: str) -> None:
    """Bring the database to the newest schema (idempotent). Must not run inside an event loop.
    NewerSchema (saying so) for a database at a revision these migrations do not know."""
    from alembic import command
    from alembic.util.exc import CommandError

    try:
        command.upgrade(alembic_config(database_url), "head")
    except CommandError as exc:
        unknown = re.search(r"Can't locate revision identified by '([^']*)'", str(exc))
        if unknown is None:
            raise
        problem = schema_problem(unknown.group(1))
        raise NewerSchema(problem or str(exc)) from None


def _revisions() -> tuple[set[str], set[str]]:
    """Every revision the migration files name, and those another one revises."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            targets: list[ast.expr]
            if isinstance(node, ast.AnnAssign):
                targets, value = [node.target], node.value
            elif isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            else:
                continue
            if not isinstance(value, ast.Constant) or not isinstance(value.value, str):
                continue
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            if "revision" in names:
                revisions.add(value.value)
            elif "down_revision" in names:
                revised.add(value.value)
    return revisions, revised


def head_revision() -> str:
    """The newest revision: the one no migration names as the one it revises."""
    return _head(*_revisions())


def _head(revisions: set[str], revised: set[str]) -> str:
    heads = revisions - revised
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} newest revisions: {sorted(heads)}")
    return next(iter(heads))


def schema_problem(revision: str | None) -> str | None:
    """What is wrong with a database at ``revision`` for this Kring (None: nothing), said to
    whoever runs it: a database not migrated yet, or migrated by a newer Kring."""
    known, revised = _revisions()  # (the migration files, read once)
    head = _head(known, revised)
    if revision == head:
        return None
    if revision is None or revision in known:
        return (
            f"the database is at schema {revision or 'none'}, this Kring needs {head}: "
            "run `kring db upgrade` first"
        )
    return (
        f"the database is at schema {revision}, which this Kring does not know (its newest "
        f"is {head}): a newer Kring migrated it; run that one, or restore a backup made "
        "before it"
    )
