"""Backup files: what a check finds in a good copy, and what it says about a truncated,
damaged or wrongly keyed one; a lease, taken by one holder at a time."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from pycrdt import Doc, Text
from sqlalchemy import func, select, update

from server.storage import backup, sealed
from server.storage.backup import Report
from server.storage.documents import DocumentLog
from server.storage.errors import BackupError
from server.storage.migrate import head_revision
from server.storage.models import DocUpdate, PlanVersion, utcnow
from server.storage.store import Store
from tests.support.databases import add_coordinator, migrated_sqlite, opened_store
from tests.support.server import missing_service


def _nothing(_log_id: int) -> None:
    pass


async def conference_with_a_plan(database_url: str, *, updates: int = 30) -> str:
    """A conference whose plan is a snapshot and a tail, with version 1 frozen."""
    async with opened_store(database_url) as store:
        owner = await add_coordinator(store)
        conference = await store.create_conference(owner, "Sam", "Hoe gaat het verder?")
        log = DocumentLog(store.engine)
        log.start()
        doc: Doc = Doc()  # type: ignore[type-arg]
        text = doc.get("text", type=Text)
        ids = []
        snapshot = b""
        for i in range(updates):
            before = doc.get_state()
            text += f"[{i}]"
            ids.append(await log.append(conference.id, "plan", doc.get_update(before), _nothing))
            if i == updates // 2:
                snapshot = doc.get_update()
        await log.compact(conference.id, "plan", snapshot, ids[updates // 2])
        await log.close()
        async with store._sessions() as db:
            db.add(
                PlanVersion(
                    conference_id=conference.id,
                    number=1,
                    state=doc.get_update(),
                    content={},
                    summary=[],
                    created_by="test",
                )
            )
            await db.commit()
    return conference.id


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    url = await asyncio.to_thread(migrated_sqlite, tmp_path)
    await conference_with_a_plan(url)
    return url


def fails(path: Path, key: sealed.Key | None = None) -> str:
    with pytest.raises(BackupError) as refused:
        backup.verify(path, key)
    return str(refused.value)


def make(url: str, path: Path, key: sealed.Key | None = None) -> Report:
    return backup.make(url, path, key)


async def test_a_copy_holds_every_document_and_version_and_only_its_owner_reads_it(
    sqlite_url: str, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.sqlite"
    report = await asyncio.to_thread(make, sqlite_url, copy)
    assert (report.kind, report.documents, report.versions) == ("SQLite", 1, 1)
    assert report.summary(copy).endswith("1 document and 1 plan version readable")
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    with sqlite3.connect(copy) as db:  # a plain SQLite file, standing alone
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert db.execute("SELECT count(*) FROM doc_snapshot").fetchone() == (1,)


async def test_a_truncated_copy_fails_its_check_wherever_it_was_cut(
    sqlite_url: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "key"
    sealed.write_new_key(key_file)
    key = sealed.read_key(key_file)
    plain, locked = tmp_path / "plain.sqlite", tmp_path / "locked.sqlite.sealed"
    await asyncio.to_thread(make, sqlite_url, plain)
    await asyncio.to_thread(make, sqlite_url, locked, key)
    for original, with_key in ((plain, None), (locked, key)):
        data = original.read_bytes()
        for cut in (0, 10, 200, len(data) // 2, len(data) - 4096, len(data) - 1):
            cut_short = tmp_path / f"cut-{cut}-{original.name}"
            cut_short.write_bytes(data[:cut])
            said = fails(cut_short, with_key)
            assert any(w in said for w in ("truncated", "ends early", "empty")), said
            assert said.startswith(str(cut_short))


async def test_a_wrong_or_missing_key_and_a_changed_byte_are_told_apart(
    sqlite_url: str, tmp_path: Path
) -> None:
    for name in ("right", "wrong"):
        sealed.write_new_key(tmp_path / name)
    right, wrong = sealed.read_key(tmp_path / "right"), sealed.read_key(tmp_path / "wrong")
    locked = tmp_path / "locked.sqlite.sealed"
    await asyncio.to_thread(make, sqlite_url, locked, right)
    assert backup.verify(locked, right).encrypted
    assert (
        fails(locked, wrong) == f"{locked} was encrypted with another key; this key cannot open it"
    )
    assert fails(locked) == f"{locked} is encrypted: give its key file with --key"
    data = bytearray(locked.read_bytes())
    data[len(data) // 2] ^= 1
    locked.write_bytes(bytes(data))
    assert fails(locked, right) == f"{locked} is damaged: part 1 does not decrypt"
    assert "not a Kring backup key" in _refused(lambda: sealed.read_key(locked))


def _refused(call: object) -> str:
    assert callable(call)
    with pytest.raises(BackupError) as refused:
        call()
    return str(refused.value)


async def test_a_damaged_page_or_document_fails_and_the_document_is_named(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with opened_store(sqlite_url) as store:
        conference_id = await conference_with_a_plan(sqlite_url, updates=4)
        async with store._sessions() as db:
            last = await db.scalar(select(func.max(DocUpdate.id)))
            await db.execute(
                update(DocUpdate).where(DocUpdate.id == last).values(data=b"\xff" * 40)
            )
            await db.commit()
    copy = tmp_path / "copy.sqlite"
    said = _refused(lambda: make(sqlite_url, copy))
    assert said == f"{copy} is damaged: document plan of {conference_id} cannot be read"

    async with opened_store(sqlite_url) as store, store._sessions() as db:
        await db.execute(update(DocUpdate).where(DocUpdate.id == last).values(data=b"\x00\x00"))
        await db.commit()
    good = tmp_path / "good.sqlite"
    await asyncio.to_thread(make, sqlite_url, good)
    data = bytearray(good.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page * 2 : page * 3] = b"\xa5" * page  # the third page overwritten
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(bytes(data))
    assert fails(broken).startswith(f"{broken} is damaged")


async def test_only_a_kring_database_of_a_known_schema_passes(
    sqlite_url: str, tmp_path: Path
) -> None:
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (text)")
    assert fails(other) == f"{other} is not a Kring database: it has no schema revision"
    (tmp_path / "notes.txt").write_text("hello")
    assert "is not a Kring backup" in fails(tmp_path / "notes.txt")

    copy = tmp_path / "copy.sqlite"
    await asyncio.to_thread(make, sqlite_url, copy)
    with sqlite3.connect(copy) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    said = fails(copy)
    assert "is at schema 9999, which this Kring does not know" in said
    with sqlite3.connect(copy) as db:
        db.execute("UPDATE alembic_version SET version_num = '0015'")
    assert backup.verify(copy).notes == [
        f"older than this Kring's {head_revision()}: run `kring db upgrade` after"
    ]
    refused = _refused(lambda: backup.restore("postgresql+asyncpg://kring@127.0.0.1:1/none", copy))
    assert (
        refused
        == f"{copy} is a SQLite backup and KRING_DATABASE_URL is PostgreSQL: restore it into SQLite"
    )


@pytest.mark.postgres
async def test_a_truncated_or_wrongly_keyed_dump_fails_its_check(
    postgres_url: str, tmp_path: Path
) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        missing_service("pg_dump", "run `make test` (it installs Debian's postgresql-client)")
    await conference_with_a_plan(postgres_url)
    for name in ("right", "wrong"):
        sealed.write_new_key(tmp_path / name)
    right, wrong = sealed.read_key(tmp_path / "right"), sealed.read_key(tmp_path / "wrong")
    dump, locked = tmp_path / "kring.pgdump", tmp_path / "kring.pgdump.sealed"
    report = await asyncio.to_thread(make, postgres_url, dump)
    assert report.kind == "PostgreSQL" and report.documents >= 1 and report.versions >= 1
    await asyncio.to_thread(make, postgres_url, locked, right)
    data = dump.read_bytes()
    cut_short = tmp_path / "cut.pgdump"
    cut_short.write_bytes(data[: len(data) - 100])
    said = fails(cut_short)
    assert said.startswith(f"{cut_short} is truncated or damaged: pg_restore failed")
    assert (
        fails(locked, wrong) == f"{locked} was encrypted with another key; this key cannot open it"
    )


# -- the lease --------------------------------------------------------------------------------


async def test_a_lease_is_taken_again_only_by_its_holder_or_when_its_time_is_up(
    store: Store,
) -> None:
    name, now = "test-lease", utcnow()
    await store.take_lease(name, "cleaner", now)
    assert await store.take_lease(name, "a", now + timedelta(hours=1))
    assert not await store.take_lease(name, "b", now + timedelta(hours=1))
    assert await store.take_lease(name, "a", now + timedelta(hours=2)), "its holder renews it"
    await store.give_back_lease(name, "a")
    assert await store.take_lease(name, "b", now + timedelta(hours=1))
    assert not await store.take_lease(name, "a", now + timedelta(hours=1))
