"""The engine and its sessions: what every part of the store is built on.

One code path for SQLite (aiosqlite, WAL, synchronous=FULL) and PostgreSQL (asyncpg); the
dialect is configuration. Each part of the store (one module per subject) is a mixin over
:class:`StoreBase`; ``server.storage.store.Store`` puts them together.
"""

from __future__ import annotations

import contextlib
import os
import stat
from datetime import UTC, datetime
from typing import Any, Self, TypeVar, cast

from sqlalchemy import ColumnElement, CursorResult, Result, event, func, make_url, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from server.storage.models import Base, Conference

M = TypeVar("M", bound=Base)

BUSY_TIMEOUT_MS = 30_000
ID_BATCH = 1000  # ids named in one statement (databases bound their parameters)
# Connections the pool keeps open; a request that finds all of them in use waits its turn.
# None is opened beyond them: SQLAlchemy's default (5, and 10 more opened when needed and
# closed when given back) opened and closed connections all through a storm of tablets
# connecting, each a new thread and file handle with its pragmas on SQLite, a new backend on
# PostgreSQL: a quarter of the CPU of a connect (bench/README.md). Reads are short, so a few
# connections serve any number of requests in turn.
POOL_SIZE = 8


def create_engine(database_url: str, *, pooled: bool = True) -> AsyncEngine:
    """Make the engine; SQLite connections get WAL, synchronous=FULL and foreign keys.

    ``pooled`` False: a connection is opened for each use and closed after it, none kept
    idle (a worker process of the heavy work, which reads now and then)."""
    pool: dict[str, Any] = _pool(database_url) if pooled else {"poolclass": NullPool}
    if database_url.startswith("sqlite"):
        # hide_parameters: a failing statement must not put document content in the log.
        engine = create_async_engine(
            database_url, connect_args={"timeout": 30}, hide_parameters=True, **pool
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            sqlite_pragmas(cursor)
            cursor.close()

        return engine
    return create_async_engine(database_url, pool_pre_ping=pooled, hide_parameters=True, **pool)


def keep_private(database: str) -> None:
    """Only Kring's own user may read a SQLite database, whatever the umask: it holds all
    that families typed (its backups and exports are made the same way). Called as each
    connection opens, before it switches to WAL: SQLite gives the -wal and -shm files it
    makes the database's own mode, and those left from before are set too."""
    for path in (database, f"{database}-wal", f"{database}-shm"):
        with contextlib.suppress(OSError):  # not there, or not Kring's own file
            mode = stat.S_IMODE(os.stat(path).st_mode)
            if mode & 0o077:
                os.chmod(path, mode & ~0o077)


def _pool(database_url: str) -> dict[str, Any]:
    """POOL_SIZE connections, none beyond them; but SQLite in memory is a single connection
    that SQLAlchemy shares (its StaticPool: a second connection would be another, empty
    database), which takes no size at all (create_engine refuses one)."""
    return {} if _in_memory(database_url) else {"pool_size": POOL_SIZE, "max_overflow": 0}


def sqlite_file_missing(database_url: str) -> str | None:
    """The path of a SQLite database file that is not there (SQLite would make it empty on
    opening it); None for one that is, one in memory, or PostgreSQL."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or _in_memory(database_url) or url.query.get("uri"):
        return None
    database = url.database or ""
    return None if os.path.exists(database) else database


def _in_memory(database_url: str) -> bool:
    url = make_url(database_url)
    return url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
    )


def sqlite_pragmas(cursor: Any) -> None:
    """What every SQLite connection of Kring runs with (SQLAlchemy's, and the document log's
    own writer): WAL, synchronous=FULL, foreign keys, a busy timeout; its files private."""
    listed = cursor.execute("PRAGMA database_list")  # (a connection answers a cursor)
    for _seq, name, file in (cursor if hasattr(cursor, "fetchall") else listed).fetchall():
        if name == "main" and file:  # (a database in memory has no file)
            keep_private(file)
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # Deleted content is overwritten with zeros, so an erased conference is gone from the
    # file too, not only from the tables (costs little: see erase_conference).
    cursor.execute("PRAGMA secure_delete=ON")


def not_erasing() -> ColumnElement[bool]:
    """A conference that is not being erased. Every read that finds a conference as a way in
    (its page, a link, a sign-in, a list, a feed) asks this, so a conference whose erasure has
    begun is refused exactly as one erased (see erasure.py). Through an outer join a row
    without a conference (a coordinator's sign-in) passes too: its ``erasing_since`` is null."""
    return Conference.erasing_since.is_(None)


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched."""
    return int(cast("CursorResult[Any]", result).rowcount or 0)


def as_utc(moment: datetime) -> datetime:
    """An aggregate's datetime as aware UTC (SQLite may hand it back without a zone)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class StoreBase:
    """The engine and a session maker; functions return detached ORM rows
    (``expire_on_commit=False``), which callers treat as read-only values."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def connect(cls, database_url: str, *, pooled: bool = True) -> Self:
        return cls(create_engine(database_url, pooled=pooled))

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        """A trivial query; raises whatever the database raises (for /healthz)."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    def pool_use(self) -> dict[str, int]:
        """The connection pool now: connections in use and idle, and at most how many it opens
        (empty for a pool that keeps none)."""
        pool: Any = self.engine.pool
        if not hasattr(pool, "checkedout"):
            return {}
        limit = pool.size() + max(0, getattr(pool, "_max_overflow", 0))
        return {"in_use": pool.checkedout(), "idle": pool.checkedin(), "limit": limit}

    async def schema_revision(self) -> str | None:
        """The Alembic revision the database is at, or None if it was never migrated."""
        async with self.engine.connect() as conn:
            try:
                result = await conn.execute(text("SELECT version_num FROM alembic_version"))
            except Exception:  # the table does not exist yet
                return None
            row = result.first()
            return None if row is None else str(row[0])

    async def _of_conference(self, model: type[M], conference_id: str, *order: Any) -> list[M]:
        """Every row of ``model`` that belongs to one conference, in ``order``."""
        async with self._sessions() as db:
            column = model.__table__.c.conference_id
            rows = await db.scalars(select(model).where(column == conference_id).order_by(*order))
            return list(rows)

    async def is_empty(self) -> bool:
        async with self._sessions() as db:
            count = await db.scalar(select(func.count()).select_from(Conference))
            return not count
