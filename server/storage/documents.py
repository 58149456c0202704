"""Durable documents: an append-only update log with group commit, and snapshots.

The order that makes "saved" mean saved: an update is appended to the log and committed,
and only then applied to the loaded document and broadcast (``on_commit`` runs after the
transaction has committed, in log order, before anything else can touch the document).

Group commit: one writer task takes every update that is waiting when it starts a
transaction, so the updates that arrive while a commit (an fsync) is in progress share the
next one. Under light load an update waits for no timer; under heavy load fifteen typists
pay one disk sync per batch, not one each.

Compaction folds the log into a snapshot: in one transaction the snapshot row (the loaded
document's ``Doc.get_update()``, plus any update still waiting for a missing dependency) is
written with the id of the last log entry it contains, and those entries are deleted. A
crash at any moment leaves either the old snapshot and log or the new snapshot and tail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc, get_update, merge_updates
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server import metrics
from server.storage.models import Conference, DocSnapshot, DocUpdate, utcnow
from server.storage.sqlitewriter import SqliteBatchWriter

log = logging.getLogger("kring.rooms")

# A load retries when a compaction committed between reading the snapshot and the tail.
_LOAD_ATTEMPTS = 5


# What a catch-all (even of a Rust panic inside Yrs, a BaseException) must still let through.
FATAL = (asyncio.CancelledError, KeyboardInterrupt, SystemExit)


class CommitFailed(RuntimeError):
    """The database did not take an update; it was not applied and nobody saw it."""


class DurabilityError(RuntimeError):
    """The database is configured so that a commit may not survive a crash."""


@dataclass(frozen=True)
class StoredDocument:
    snapshot: bytes | None
    snapshot_upto: int  # last log id folded into the snapshot (0: none)
    updates: list[tuple[int, bytes]]  # the tail, in log order
    # The snapshot holds no update waiting for a missing one (DocSnapshot.complete_upto).
    snapshot_complete: bool = False

    def in_order(self) -> list[bytes]:
        """The snapshot (if any), then the tail: what applied in turn makes the document."""
        return ([] if self.snapshot is None else [self.snapshot]) + [u for _, u in self.updates]


@dataclass
class _Pending:
    conference_id: str
    document: str
    data: bytes
    on_commit: Callable[[int], None]
    done: asyncio.Future[int] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class DocumentLog:
    """The update log of every document, for one process. Start it, then append and load."""

    def __init__(self, engine: AsyncEngine, *, max_batch: int = 500) -> None:
        self.engine = engine
        self.max_batch = max_batch
        # On a SQLite file a batch is one call to a writer of its own (see sqlitewriter).
        path = engine.url.database
        sqlite_file = engine.dialect.name == "sqlite" and path not in (None, "", ":memory:")
        self._sqlite = SqliteBatchWriter(str(path)) if sqlite_file else None
        self.commits = 0  # transactions that stored updates (for tests and the benchmark)
        self.appended = 0
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        # Conferences being erased or erased: nothing of them is written again.
        self._forgotten: set[str] = set()
        # Held while a batch or a compaction is written, and during each step of an erasure.
        self._writing = asyncio.Lock()
        # With several processes: told, after each commit and before its updates are applied,
        # the phase (and since when, as a timestamp) each conference of the batch had in the
        # database when the batch was stored.
        self.on_phases: Callable[[dict[str, tuple[str, float]]], None] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_forever(), name="kring-group-commit")

    async def close(self) -> None:
        """Commit everything already handed in, then stop taking updates."""
        self._closing = True
        if self._writer is None:
            return
        await self._queue.join()
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        self._writer = None
        if self._sqlite is not None:
            await self._sqlite.close()

    # -- writing --------------------------------------------------------------------------

    def submit(
        self, conference_id: str, document: str, data: bytes, on_commit: Callable[[int], None]
    ) -> asyncio.Future[int]:
        """Hand in one update; after its commit ``on_commit(log_id)`` runs, then the future
        resolves. It fails with CommitFailed when the database refused the batch."""
        if self._closing or self._writer is None:
            raise CommitFailed("the server is shutting down")
        if conference_id in self._forgotten:
            raise CommitFailed("the conference was erased")
        item = _Pending(conference_id, document, data, on_commit)
        self._queue.put_nowait(item)
        return item.done

    async def append(
        self, conference_id: str, document: str, data: bytes, on_commit: Callable[[int], None]
    ) -> int:
        """Store one update and wait for its commit (see submit)."""
        return await asyncio.shield(self.submit(conference_id, document, data, on_commit))

    async def _write_forever(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._commit(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    def forget(self, conference_id: str) -> None:
        """Store nothing of a conference again (another process is erasing it)."""
        self._forgotten.add(conference_id)

    async def forgotten(self, conference_id: str) -> None:
        """Stop storing anything of a conference, for good; returns once no batch or
        compaction of this process that could still hold some of it is being written (its
        rows may be erased from then on: none of this process comes back)."""
        self._forgotten.add(conference_id)
        async with self._writing:
            pass

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Take a turn at the database between this process's batches: inside the block no
        batch or compaction is being written, and the ones that queued up meanwhile go
        first after it (the lock is fair). For other heavy work in small steps, each its own
        short transaction (an erasure's deletes), so typing in other rooms never waits for
        more than one step."""
        async with self._writing:
            yield

    async def _commit(self, batch: list[_Pending]) -> None:
        phases: dict[str, tuple[str, float]] = {}
        async with self._writing:
            batch = self._without_forgotten(batch)
            stored = await self._insert(batch, phases) if batch else []
        if stored is None:  # refused: every update of it failed, nobody saw them
            return
        if phases and self.on_phases is not None:
            try:
                self.on_phases(phases)
            except FATAL:
                raise
            except BaseException:
                log.exception("applying the phases a commit saw failed")
        for pending, log_id in zip(batch, stored, strict=True):
            try:
                pending.on_commit(log_id)
            except FATAL:
                raise
            except BaseException:  # one room's trouble (even a Rust panic) must not stop the writer
                log.exception(
                    "applying a committed update failed (conference %s, %s)",
                    pending.conference_id,
                    pending.document,
                )
            if not pending.done.done():
                pending.done.set_result(log_id)

    def _without_forgotten(self, batch: list[_Pending]) -> list[_Pending]:
        """The batch minus updates of erased conferences (those fail on their own: inserting
        them would fail the whole batch, or bring back rows of an erased conference)."""
        kept = []
        for pending in batch:
            if pending.conference_id not in self._forgotten:
                kept.append(pending)
            elif not pending.done.done():
                pending.done.set_exception(CommitFailed("the conference was erased"))
        return kept

    async def _insert(
        self, batch: list[_Pending], phases: dict[str, tuple[str, float]]
    ) -> list[int] | None:
        """Store a batch in one transaction: its log ids, or None when the database refused
        it (then every update of it has failed). With ``on_phases`` set, ``phases`` gets the
        phase of each conference of the batch, read in the same transaction."""
        started = time.perf_counter()
        try:
            if self._sqlite is not None:
                wanted = {p.conference_id for p in batch} if self.on_phases is not None else None
                ids, seen = await self._sqlite.insert(
                    [(p.conference_id, p.document, p.data) for p in batch], wanted
                )
                phases.update(seen)
            else:
                ids = await self._insert_rows(batch, phases)
        except Exception as exc:  # the database is down or full: nobody sees these updates
            metrics.COMMITS_FAILED.inc()
            log.error("committing %d document updates failed: %s", len(batch), exc)
            for pending in batch:
                if not pending.done.done():
                    pending.done.set_exception(CommitFailed("the database did not store it"))
            return None
        metrics.COMMIT_SECONDS.observe(time.perf_counter() - started)
        metrics.COMMIT_BATCH.observe(len(batch))
        metrics.COMMITTED.inc(len(batch))
        self.commits += 1
        self.appended += len(batch)
        return ids

    async def _insert_rows(
        self, batch: list[_Pending], phases: dict[str, tuple[str, float]]
    ) -> list[int]:
        """The batch's transaction through SQLAlchemy (PostgreSQL): its log ids."""
        now = utcnow()
        rows = [
            {
                "conference_id": p.conference_id,
                "document": p.document,
                "data": p.data,
                "created_at": now,
            }
            for p in batch
        ]
        async with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                # Shared with other writers, exclusive for a compaction (_fold): a fold
                # never reads past an update that another process has numbered but not
                # yet committed (its snapshot would claim that id and lose the update).
                await conn.execute(
                    text(
                        "SELECT pg_advisory_xact_lock_shared(hashtext(k)) "
                        "FROM unnest(CAST(:keys AS text[])) AS k"
                    ),
                    {"keys": sorted({f"{p.conference_id}/{p.document}" for p in batch})},
                )
            result = await conn.execute(
                insert(DocUpdate).returning(DocUpdate.id, sort_by_parameter_order=True),
                rows,
            )
            ids = [row[0] for row in result]
            if self.on_phases is not None:
                seen = await conn.execute(
                    select(Conference.id, Conference.phase, Conference.phase_since).where(
                        Conference.id.in_({p.conference_id for p in batch})
                    )
                )
                for cid, phase, since in seen:
                    phases[cid] = (phase, since.timestamp())
        return ids

    # -- reading --------------------------------------------------------------------------

    async def load(self, conference_id: str, document: str) -> StoredDocument:
        """The snapshot and the log tail after it. Raises whatever the database raises."""
        for _ in range(_LOAD_ATTEMPTS):
            async with self.engine.connect() as conn:
                stored = await _read(conn, conference_id, document)
                # Each statement may see a later commit (read committed, or SQLite's implicit
                # transactions): if a compaction landed in between, read again.
                again = await conn.scalar(
                    select(func.coalesce(func.max(DocSnapshot.upto_id), 0)).where(
                        DocSnapshot.conference_id == conference_id,
                        DocSnapshot.document == document,
                    )
                )
                await conn.rollback()
            if again == stored.snapshot_upto:
                return stored
        raise RuntimeError(f"document {conference_id}/{document} kept changing while loading")

    async def state(self, conference_id: str, document: str) -> bytes:
        """The stored content of a document as one Yjs update (snapshot and tail applied)."""
        stored = await self.load(conference_id, document)
        doc: Doc[Any] = Doc()
        apply_all(doc, stored.in_order(), f"{conference_id}/{document}")
        return doc.get_update()

    # -- compaction -----------------------------------------------------------------------

    async def compact(
        self,
        conference_id: str,
        document: str,
        snapshot: bytes | None,
        upto: int,
        *,
        complete: bool = False,
    ) -> int:
        """Replace log entries up to ``upto`` by ``snapshot``, atomically; return how many.
        With no ``snapshot`` the database's own snapshot and log are folded (several
        processes write the document, so no one replica is known to hold all of it)."""
        async with self._writing:
            if conference_id in self._forgotten:
                return 0
            return await self._compact(conference_id, document, snapshot, upto, complete)

    async def _compact(
        self,
        conference_id: str,
        document: str,
        snapshot: bytes | None,
        upto: int,
        complete: bool,
    ) -> int:
        async with self.engine.begin() as conn:
            where = (
                DocSnapshot.conference_id == conference_id,
                DocSnapshot.document == document,
            )
            if snapshot is None:
                folded = await self._fold(conn, conference_id, document)
                if folded is None:
                    return 0
                snapshot, upto, complete = folded
            current = await conn.scalar(select(DocSnapshot.upto_id).where(*where))
            row = {
                "data": snapshot,
                "upto_id": upto,
                "updated_at": utcnow(),
                "complete_upto": upto if complete else None,
            }
            if current is None:
                await conn.execute(
                    insert(DocSnapshot).values(
                        conference_id=conference_id, document=document, **row
                    )
                )
            elif current < upto:
                await conn.execute(update(DocSnapshot).where(*where).values(**row))
            else:
                return 0
            result = await conn.execute(
                delete(DocUpdate).where(
                    DocUpdate.conference_id == conference_id,
                    DocUpdate.document == document,
                    DocUpdate.id <= upto,
                )
            )
        return int(result.rowcount or 0)

    async def _fold(
        self, conn: AsyncConnection, conference_id: str, document: str
    ) -> tuple[bytes, int, bool] | None:
        """Inside a compaction's transaction: the stored snapshot and log of a document as
        one snapshot, the last log id in it and whether it is complete; None when there is
        nothing to fold. On PostgreSQL a lock per document keeps two processes from folding
        it at once (the later one would write a snapshot that lacks what the earlier one
        folded away) and waits for every commit of it under way (each holds that lock
        shared, see _insert): PostgreSQL numbers an update before it commits, so without it
        a fold could take in a later id, claim everything up to it, and lose an earlier one
        still committing."""
        key = f"{conference_id}/{document}"
        if self.engine.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
        else:  # SQLite: take the write lock before reading, so the read is the latest
            await conn.execute(
                update(DocSnapshot)
                .where(DocSnapshot.conference_id == "", DocSnapshot.document == "")
                .values(upto_id=0)
            )
        stored = await _read(conn, conference_id, document)
        if not stored.updates:
            return None
        snapshot, complete = fold(stored.in_order(), key)
        return snapshot, stored.updates[-1][0], complete


async def _read(conn: AsyncConnection, conference_id: str, document: str) -> StoredDocument:
    """A document's snapshot and the log after it, read on ``conn``."""
    snap = (
        await conn.execute(
            select(DocSnapshot.data, DocSnapshot.upto_id, DocSnapshot.complete_upto).where(
                DocSnapshot.conference_id == conference_id, DocSnapshot.document == document
            )
        )
    ).one_or_none()
    upto = snap.upto_id if snap else 0
    tail = (
        await conn.execute(
            select(DocUpdate.id, DocUpdate.data)
            .where(
                DocUpdate.conference_id == conference_id,
                DocUpdate.document == document,
                DocUpdate.id > upto,
            )
            .order_by(DocUpdate.id)
        )
    ).all()
    return StoredDocument(
        snapshot=snap.data if snap else None,
        snapshot_upto=upto,
        snapshot_complete=snap is not None and snap.complete_upto == snap.upto_id,
        updates=[(row.id, row.data) for row in tail],
    )


def apply_all(doc: Doc[Any], updates: list[bytes], key: str) -> None:
    """Apply stored updates in turn. They were validated before they were stored, so one
    that still does not apply is skipped (and logged) rather than refusing the document."""
    for data in updates:
        try:
            doc.apply_update(data)
        except FATAL:
            raise
        except BaseException:  # ValueError, or a panic inside Yrs
            log.error("%s: a stored update does not apply; it is skipped", key)


def fold(updates: list[bytes], key: str) -> tuple[bytes, bool]:
    """Updates as one snapshot: the document they make, plus any update that still waits
    for a missing dependency (``Doc.get_update()`` leaves those out); and whether there was
    none (the snapshot is complete)."""
    doc: Doc[Any] = Doc()
    apply_all(doc, updates, key)
    snapshot = doc.get_update()
    state = doc.get_state()
    carry = [data for data in updates if lacks(data, state)]
    return (merge_updates(snapshot, *carry), False) if carry else (snapshot, True)


def lacks(update: bytes, state: bytes) -> bool:
    """Whether a document at ``state`` lacks some struct of ``update``: after applying it,
    that struct waits for a missing dependency; before, the update adds something."""
    try:
        missing = get_update(update, state)
    except ValueError:
        return False
    return missing[:1] != b"\x00"  # a diff with no structs starts with a zero count


async def check_durability(engine: AsyncEngine) -> None:
    """Refuse to run when a commit could be lost on a crash (raise DurabilityError)."""
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            journal = str(await conn.scalar(text("PRAGMA journal_mode"))).lower()
            synchronous = int(await conn.scalar(text("PRAGMA synchronous")) or 0)
            if journal != "wal" or synchronous < 2:
                raise DurabilityError(
                    f"SQLite runs with journal_mode={journal}, synchronous={synchronous}; "
                    "Kring needs WAL with synchronous=FULL (2) or EXTRA (3)"
                )
        elif engine.dialect.name == "postgresql":
            sync_commit = str(await conn.scalar(text("SHOW synchronous_commit")))
            fsync = str(await conn.scalar(text("SHOW fsync")))
            if sync_commit == "off" or fsync != "on":
                raise DurabilityError(
                    f"PostgreSQL runs with synchronous_commit={sync_commit}, fsync={fsync}; "
                    "Kring needs synchronous_commit=on (or local/remote_*) and fsync=on"
                )
        await conn.rollback()
