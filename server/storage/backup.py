"""Backups of the whole database: made while the servers run, checked, restored.

- SQLite: SQLite's online backup API copies the database in one step inside one read
  transaction, so the copy is the database as it was at one moment: every commit before it
  (every edit a device was told is saved) is in it, none after. Writers are not held up
  (WAL). The copy is a plain SQLite file (``sqlite3 FILE`` opens it).
- PostgreSQL: ``pg_dump --format=custom`` (one snapshot as well), restored with
  ``pg_restore`` (``storage/pgdump.py``).

A backup file is written under a temporary name with mode 0600, synced, then renamed, and it
never replaces an existing file. With a key it is sealed (``storage/sealed.py``). Making,
checking and restoring are slow, blocking work: call them from a worker thread
(``asyncio.to_thread``), never on the event loop. The copy is held in memory while it is
written or read (about the database's size), so nothing unencrypted lies on disk beside it.

A check (:func:`verify`) opens the copy: its schema revision must be one this Kring knows,
SQLite's ``integrity_check`` and ``foreign_key_check`` must pass (for a dump: ``pg_restore``
must read every block), and every stored document (snapshot and update log) and every frozen
plan version must load into pycrdt. Anything else is a BackupError that says what is wrong.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pycrdt import Doc
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import make_url

from server.storage import pgdump, sealed
from server.storage.base import create_engine, keep_private
from server.storage.documents import FATAL
from server.storage.errors import BackupError, DatabaseError
from server.storage.migrate import alembic_config
from server.storage.models import Base

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
# Bookkeeping that does not make a database "hold data" for a restore.
NOT_DATA = ("lease",)


@dataclass
class Report:
    """What a backup is, and what its check found."""

    kind: str  # "SQLite" or "PostgreSQL"
    encrypted: bool
    revision: str = ""
    bytes: int = 0
    documents: int = 0
    versions: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self, path: Path) -> str:
        sealed_ = "encrypted " if self.encrypted else ""
        check = "integrity check passed" if self.kind == "SQLite" else "every block read"
        return (
            f"{path}: {sealed_}{self.kind} backup, {self.bytes:,} bytes; schema {self.revision}; "
            f"{check}; {_count(self.documents, 'document')} and "
            f"{_count(self.versions, 'plan version')} readable"
            + "".join(f"; {note}" for note in self.notes)
        )


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}" + ("" if number == 1 else "s")


def dialect(database_url: str) -> str:
    return "SQLite" if database_url.startswith("sqlite") else "PostgreSQL"


def sqlite_file(database_url: str) -> Path:
    name = make_url(database_url).database
    if not name or name == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up or restore")
    return Path(name)


# -- making one -------------------------------------------------------------------------------


def make(database_url: str, path: Path, key: sealed.Key | None = None) -> Report:
    """HEAVY WORK (blocking, seconds to minutes): back up the database to ``path`` (a new
    file, mode 0600), then check the file as :func:`verify` does."""
    if path.exists():
        raise BackupError(f"{path} exists already; a backup never overwrites a file")
    if dialect(database_url) == "SQLite":
        chunks: Iterable[bytes] = [_sqlite_copy(sqlite_file(database_url))]
    else:
        chunks = pgdump.dump(database_url)
    _write_private(path, sealed.seal(chunks, key) if key is not None else chunks)
    return verify(path, key)


def _sqlite_copy(database: Path) -> bytes:
    if not database.is_file():
        raise BackupError(f"there is no database at {database}")
    keep_private(str(database))  # as every connection of Kring's does
    source = sqlite3.connect(database, timeout=30)
    memory = sqlite3.connect(":memory:")
    try:
        source.backup(memory)  # all pages in one step: one read transaction, one moment
        if not _schema_revision(memory):  # (an empty file SQLite made when it was opened)
            raise BackupError(
                f"there is no Kring database at {database}: it has no schema revision "
                "(run `kring db upgrade` to make one)"
            )
        data = bytearray(memory.serialize())
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not copy {database}: {exc}") from None
    finally:
        source.close()
        memory.close()
    data[18:20] = b"\x01\x01"  # a copy stands alone: rollback journal, not WAL
    return bytes(data)


def _schema_revision(db: sqlite3.Connection) -> str | None:
    try:
        row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:  # no such table
        return None
    return None if row is None else str(row[0])


def _write_private(path: Path, chunks: Iterable[bytes]) -> None:
    """Write a file only its owner can read, whole or not at all."""
    partial = path.with_name(f".{path.name}.partial-{secrets.token_hex(4)}")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise BackupError(f"cannot write in {path.parent}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            raise BackupError(f"{path} appeared while the backup was written; kept it")
        os.rename(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


# -- reading one ------------------------------------------------------------------------------


def _contents(path: Path, key: sealed.Key | None) -> tuple[str, bool, Iterator[bytes]]:
    """The kind of backup in ``path``, whether it is sealed, and its bytes (unsealed)."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    try:
        head = handle.read(len(sealed.MAGIC))
        handle.seek(0)
        kind = None if head == sealed.MAGIC else _kind(head, path)
    except BaseException:
        handle.close()
        raise

    def plain() -> Iterator[bytes]:
        with handle:
            yield from iter(lambda: handle.read(sealed.CHUNK), b"")

    if head == sealed.MAGIC:

        def unsealed() -> Generator[bytes]:
            with handle:
                yield from sealed.unseal(handle, key, str(path))

        chunks = unsealed()
        try:
            first = next(chunks, b"")  # the key is checked here, before anything else
            return _kind(first, path), True, _chained(first, chunks)
        except BaseException:
            chunks.close()
            raise
    assert kind is not None
    return kind, False, plain()


def _chained(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _kind(head: bytes, path: Path) -> str:
    if not head:
        raise BackupError(f"{path} is empty: the copy is truncated")
    if SQLITE_MAGIC.startswith(head[: len(SQLITE_MAGIC)]):
        return "SQLite"  # (a few bytes of it: found truncated when opened)
    if head.startswith(PGDUMP_MAGIC) or PGDUMP_MAGIC.startswith(head):
        return "PostgreSQL"
    raise BackupError(f"{path} is not a Kring backup (neither SQLite nor a pg_dump archive)")


def verify(path: Path, key: sealed.Key | None = None) -> Report:
    """HEAVY WORK: open the backup in ``path`` and check it (see the module's docstring)."""
    report, connection = _open(path, key)
    if connection is not None:
        connection.close()
    return report


def _open(path: Path, key: sealed.Key | None) -> tuple[Report, sqlite3.Connection | None]:
    kind, encrypted, chunks = _contents(path, key)
    report = Report(kind=kind, encrypted=encrypted, bytes=path.stat().st_size)
    if kind == "PostgreSQL":
        rows = pgdump.read_rows(chunks, str(path))
        _check_revision(report, [r[0] for r in rows["alembic_version"]], path)
        try:
            snapshots = [(c, d, pgdump.bytea(data)) for c, d, data in rows["doc_snapshot"]]
            updates = [
                (int(i or ""), c, d, pgdump.bytea(data)) for i, c, d, data in rows["doc_update"]
            ]
            versions = [(c, n, pgdump.bytea(state)) for c, n, state in rows["plan_version"]]
        except ValueError:
            raise BackupError(f"{path} is damaged: a document's bytes cannot be read") from None
        _check_documents(report, snapshots, updates, versions, path)
        return report, None
    connection = _sqlite_in_memory(b"".join(chunks), path)
    try:
        _check_sqlite(report, connection, path)
    except BaseException:
        connection.close()
        raise
    return report, connection


def _sqlite_in_memory(data: bytes, path: Path) -> sqlite3.Connection:
    truncated = BackupError(f"{path} is truncated: it ends inside the database")
    if len(data) < 100:
        raise truncated
    page_size = int.from_bytes(data[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(data[28:32], "big")
    pages_valid = data[24:28] == data[92:96] and pages > 0
    if page_size < 512 or len(data) % page_size or (pages_valid and len(data) < pages * page_size):
        raise truncated
    data = data[:18] + b"\x01\x01" + data[20:]  # WAL files are opened as plain ones here
    connection = sqlite3.connect(":memory:")
    try:
        connection.deserialize(data)
        connection.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    except sqlite3.Error as exc:
        connection.close()
        raise BackupError(f"{path} is damaged: SQLite says {exc}") from None
    return connection


def _check_sqlite(report: Report, db: sqlite3.Connection, path: Path) -> None:
    try:
        try:
            revisions = [row[0] for row in db.execute("SELECT version_num FROM alembic_version")]
        except sqlite3.OperationalError:
            revisions = []
        _check_revision(report, revisions, path)
        problems = [row[0] for row in db.execute("PRAGMA integrity_check(5)")]
        if problems != ["ok"]:
            raise BackupError(f"{path} is damaged: {'; '.join(problems)}")
        if db.execute("PRAGMA foreign_key_check").fetchone() is not None:
            raise BackupError(f"{path} is damaged: rows point at rows that are not there")
        snapshots = db.execute("SELECT conference_id, document, data FROM doc_snapshot")
        updates = db.execute("SELECT id, conference_id, document, data FROM doc_update")
        versions = db.execute("SELECT conference_id, number, state FROM plan_version")
        _check_documents(report, snapshots, updates, versions, path)
    except sqlite3.Error as exc:
        raise BackupError(f"{path} is damaged: SQLite says {exc}") from None


def _check_revision(report: Report, found: list[str | None], path: Path) -> None:
    from alembic.script import ScriptDirectory  # only when a backup is checked

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    known = [revision.revision for revision in script.walk_revisions()]  # newest first
    if len(found) != 1 or not found[0]:
        raise BackupError(f"{path} is not a Kring database: it has no schema revision")
    revision = found[0]
    if revision not in known:
        raise BackupError(
            f"{path} is at schema {revision}, which this Kring does not know (it goes up to "
            f"{known[0]}): restore it with the Kring that made it, or a newer one"
        )
    report.revision = revision
    if revision != known[0]:
        report.notes.append(f"older than this Kring's {known[0]}: run `kring db upgrade` after")


def _check_documents(
    report: Report,
    snapshots: Iterable[tuple[object, object, bytes]],
    updates: Iterable[tuple[int, object, object, bytes]],
    versions: Iterable[tuple[object, object, bytes]],
    path: Path,
) -> None:
    """Every document (its snapshot, then its log in order) and every frozen version must
    load into a pycrdt document; the error names the conference and document, nothing of
    what they say."""
    documents: dict[tuple[object, object], list[tuple[int, bytes]]] = {}
    for conference_id, document, data in snapshots:
        documents.setdefault((conference_id, document), []).append((-1, data))
    for log_id, conference_id, document, data in updates:
        documents.setdefault((conference_id, document), []).append((log_id, data))
    for (conference_id, document), parts in documents.items():
        parts.sort(key=lambda part: part[0])
        _load([data for _, data in parts], f"document {document} of {conference_id}", path)
    report.documents = len(documents)
    for conference_id, number, state in versions:
        _load([state], f"plan version {number} of {conference_id}", path)
        report.versions += 1


def _load(parts: list[bytes], what: str, path: Path) -> None:
    doc: Doc = Doc()  # type: ignore[type-arg]
    try:
        for data in parts:
            if data:  # an empty state is an empty document
                doc.apply_update(bytes(data))
    except FATAL:
        raise
    except BaseException:  # a panic inside Yrs is a BaseException
        raise BackupError(f"{path} is damaged: {what} cannot be read") from None


# -- restoring one ----------------------------------------------------------------------------


async def held_rows(database_url: str) -> dict[str, int]:
    """How many rows each of Kring's tables holds in this database (empty: none at all)."""
    if dialect(database_url) == "SQLite" and not sqlite_file(database_url).exists():
        return {}
    engine = create_engine(database_url)
    held: dict[str, int] = {}
    try:
        async with engine.connect() as conn:
            present = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            for table in Base.metadata.sorted_tables:
                if table.name in present and table.name not in NOT_DATA:
                    count = await conn.scalar(select(func.count()).select_from(table))
                    if count:
                        held[table.name] = int(count)
    except (DatabaseError, OSError) as exc:
        said = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise BackupError(f"cannot open the database to restore into: {said}") from None
    finally:
        await engine.dispose()
    return held


def restore(database_url: str, path: Path, key: sealed.Key | None = None) -> Report:
    """HEAVY WORK: check the backup as :func:`verify` does, then replace the database with
    it (SQLite: through the backup API; PostgreSQL: pg_restore in one transaction). A backup
    that fails its check changes nothing. The caller asks first whether the database holds
    data (:func:`held_rows`); no server may be running on it."""
    report, copy = _open(path, key)
    target = dialect(database_url)
    if report.kind != target:
        if copy is not None:
            copy.close()
        raise BackupError(
            f"{path} is a {report.kind} backup and KRING_DATABASE_URL is {target}: restore it "
            f"into {report.kind}"
        )
    if copy is None:
        pgdump.restore(database_url, _contents(path, key)[2])
        return report
    database = sqlite_file(database_url)
    try:
        if not database.exists():
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        destination = sqlite3.connect(database, timeout=30)
        try:
            copy.backup(destination)
            destination.execute("PRAGMA journal_mode=WAL")
            destination.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            destination.close()
    except (OSError, sqlite3.Error) as exc:
        raise BackupError(f"could not restore into {database}: {exc}") from None
    finally:
        copy.close()
    return report
