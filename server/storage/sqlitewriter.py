"""The document log's writer on SQLite: one connection of Python's own ``sqlite3``, on a thread
of its own, that stores a whole batch (its inserts, the phases the log must report, the commit)
in one call from the event loop.

Through SQLAlchemy and aiosqlite the same transaction was five or six hand-overs between the
event loop and aiosqlite's thread (check-out, insert, fetch, commit, reset), each a wake-up of
both and a round of statement compilation: in a meeting of fifty rooms that was nearly half of
the event loop's busy time. The connection runs with the same pragmas as every other
(``base.sqlite_pragmas``: WAL, synchronous=FULL), so a batch is on disk when ``insert`` returns,
exactly as before. The document log holds its lock around every call, as for the SQLAlchemy
path, so a compaction or an erasure never runs beside a batch of this process.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from server.storage.base import BUSY_TIMEOUT_MS, sqlite_pragmas
from server.storage.models import utcnow

_INSERT = "INSERT INTO doc_update (conference_id, document, data, created_at) VALUES (?, ?, ?, ?)"
# How SQLAlchemy's SQLite dialect writes a DateTime (UTCDateTime stores UTC without a zone).
_STORED_AT = "%Y-%m-%d %H:%M:%S.%f"

Row = tuple[str, str, bytes]  # conference id, document, the update
Phases = dict[str, tuple[str, float]]  # conference id -> (phase, since, as a timestamp)


class SqliteBatchWriter:
    """Stores batches of document updates in one SQLite file, one transaction each."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="kring-commit")
        self._conn: sqlite3.Connection | None = None

    async def insert(self, rows: list[Row], phases_of: set[str] | None) -> tuple[list[int], Phases]:
        """Store the rows in one committed transaction: their log ids, in order, and (when
        ``phases_of`` is given) those conferences' phases as the transaction saw them."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._insert, rows, phases_of)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=False)

    # -- on the writer's thread -----------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            # isolation_level=None: no implicit transactions; each batch says BEGIN itself.
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            sqlite_pragmas(conn)
            # No busy handler: _begin waits for the write lock itself, in steps of a
            # millisecond (SQLite's own handler sleeps up to 100 ms at a time, however soon
            # another process, `kring purge` say, lets go of the lock).
            conn.execute("PRAGMA busy_timeout=0")
            self._conn = conn
        return self._conn

    def _insert(self, rows: list[Row], phases_of: set[str] | None) -> tuple[list[int], Phases]:
        conn = self._connection()
        now = utcnow().astimezone(UTC).replace(tzinfo=None).strftime(_STORED_AT)
        _begin(conn)
        try:
            ids: list[int] = []
            for conference_id, document, data in rows:
                cursor = conn.execute(_INSERT, (conference_id, document, data, now))
                ids.append(int(cursor.lastrowid or 0))
            phases: Phases = {}
            if phases_of:
                marks = ", ".join("?" * len(phases_of))
                seen = conn.execute(
                    f"SELECT id, phase, phase_since FROM conference WHERE id IN ({marks})",  # noqa: S608
                    sorted(phases_of),
                )
                for conference_id, phase, since in seen:
                    moment = datetime.fromisoformat(since).replace(tzinfo=UTC)
                    phases[conference_id] = (phase, moment.timestamp())
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        return ids, phases

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _begin(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE: take the write lock now, never half-way through the batch; while
    another connection holds it, try again every millisecond for up to BUSY_TIMEOUT_MS."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", 0)
            busy = code & 0xFF == sqlite3.SQLITE_BUSY  # any SQLITE_BUSY_* extended code
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.001)
