"""The document log on SQLite and PostgreSQL: commit order, group commit, compaction, checks."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pycrdt import Doc, Text, TransactionEvent
from sqlalchemy import event, text

from server.storage.documents import DocumentLog, DurabilityError, check_durability
from server.storage.store import Store, create_engine
from tests.support.databases import add_coordinator, migrated_sqlite, opened_store


def typed_updates(words: list[str]) -> tuple[str, list[bytes]]:
    """The Yjs updates of someone typing these words, and the text they make."""
    doc: Doc = Doc()
    updates: list[bytes] = []

    def keep(event: TransactionEvent) -> None:
        updates.append(event.update)

    doc.observe(keep)
    body = doc.get("text", type=Text)
    for word in words:
        body.insert(len(body), word)
    return str(body), updates


def text_of(*updates: bytes) -> str:
    doc: Doc = Doc()
    for update in updates:
        doc.apply_update(update)
    return str(doc.get("text", type=Text))


@pytest.fixture
async def document_log(store: Store) -> AsyncIterator[tuple[DocumentLog, str]]:
    account = await add_coordinator(store)
    conference = await store.create_conference(account, "Familie Test", "Wat is nodig?")
    log = DocumentLog(store.engine)
    log.start()
    yield log, conference.id
    await log.close()


async def test_an_update_is_applied_only_after_its_commit_and_in_log_order(
    document_log: tuple[DocumentLog, str],
) -> None:
    log, conference_id = document_log
    _, updates = typed_updates(["een ", "twee ", "drie "])
    applied: list[int] = []

    def on_commit(log_id: int) -> None:
        # The row is committed: a separate connection can read it already.
        applied.append(log_id)

    ids = [await log.append(conference_id, "plan", u, on_commit) for u in updates]
    assert applied == ids == sorted(ids)
    stored = await log.load(conference_id, "plan")
    assert [data for _, data in stored.updates] == updates


async def test_updates_arriving_together_share_commits(
    document_log: tuple[DocumentLog, str],
) -> None:
    log, conference_id = document_log
    words = [f"woord{i} " for i in range(60)]
    expected, updates = typed_updates(words)
    commits_before = log.commits
    await asyncio.gather(*(log.append(conference_id, "plan", u, lambda _id: None) for u in updates))
    assert log.commits - commits_before < len(updates)  # fewer disk syncs than updates
    stored = await log.load(conference_id, "plan")
    assert text_of(*(data for _, data in stored.updates)) == expected


async def test_compaction_folds_the_log_into_a_snapshot_and_loading_adds_the_tail(
    document_log: tuple[DocumentLog, str],
) -> None:
    log, conference_id = document_log
    expected, updates = typed_updates(["Oma ", "haalt ", "Sam ", "op ", "op dinsdag."])
    ids = [await log.append(conference_id, "plan", u, lambda _id: None) for u in updates]
    removed = await log.compact(conference_id, "plan", text_of_snapshot(updates[:3]), ids[2])
    assert removed == 3
    stored = await log.load(conference_id, "plan")
    assert stored.snapshot_upto == ids[2]
    assert [log_id for log_id, _ in stored.updates] == ids[3:]
    assert stored.snapshot is not None
    assert text_of(stored.snapshot, *(data for _, data in stored.updates)) == expected
    # An older snapshot never replaces a newer one.
    assert await log.compact(conference_id, "plan", text_of_snapshot(updates[:1]), ids[0]) == 0


def text_of_snapshot(updates: list[bytes]) -> bytes:
    doc: Doc = Doc()
    for update in updates:
        doc.apply_update(update)
    return doc.get_update()


async def test_documents_do_not_mix(document_log: tuple[DocumentLog, str]) -> None:
    log, conference_id = document_log
    _, plan = typed_updates(["plan"])
    _, info = typed_updates(["informatie"])
    await log.append(conference_id, "plan", plan[0], lambda _id: None)
    await log.append(conference_id, "information", info[0], lambda _id: None)
    assert text_of(*(d for _, d in (await log.load(conference_id, "plan")).updates)) == "plan"
    assert (await log.load(conference_id, "compass")).updates == []


async def test_a_closed_log_commits_what_it_was_given_and_then_refuses(store: Store) -> None:
    account = await add_coordinator(store)
    conference = await store.create_conference(account, "Familie Test", "Wat is nodig?")
    log = DocumentLog(store.engine)
    log.start()
    _, updates = typed_updates(["a", "b", "c"])
    pending = [
        asyncio.ensure_future(log.append(conference.id, "plan", u, lambda _id: None))
        for u in updates
    ]
    await asyncio.sleep(0)  # handed in, not yet committed
    await log.close()
    assert all(p.done() and not p.exception() for p in pending)
    with pytest.raises(Exception, match="shutting down"):
        await log.append(conference.id, "plan", updates[0], lambda _id: None)


async def test_sqlite_without_full_sync_is_refused(tmp_path: object) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/weak.db")

    @event.listens_for(engine.sync_engine, "connect")
    def weaken(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()

    try:
        with pytest.raises(DurabilityError, match="synchronous=FULL"):
            await check_durability(engine)
    finally:
        await engine.dispose()


async def test_the_default_sqlite_settings_pass(tmp_path: object) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/kring.db")
    try:
        await check_durability(engine)
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_postgres_without_synchronous_commit_is_refused(postgres_url: str) -> None:
    engine = create_engine(postgres_url)

    @event.listens_for(engine.sync_engine, "connect")
    def weaken(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.run_async(  # type: ignore[attr-defined]
            lambda conn: conn.execute("SET synchronous_commit = off")
        )

    try:
        with pytest.raises(DurabilityError, match="synchronous_commit=off"):
            await check_durability(engine)
    finally:
        await engine.dispose()
    good = create_engine(postgres_url)
    try:
        await check_durability(good)
        async with good.connect() as conn:
            assert await conn.scalar(text("SHOW synchronous_commit")) == "on"
    finally:
        await good.dispose()


async def test_a_compaction_never_lets_a_later_update_reuse_an_old_id(
    document_log: tuple[DocumentLog, str],
) -> None:
    # Folding every row away must not let the next update get an id the snapshot covers.
    log, conference_id = document_log
    expected, updates = typed_updates(["een ", "twee ", "drie ", "vier"])
    ids = [await log.append(conference_id, "plan", u, lambda _id: None) for u in updates[:2]]
    await log.compact(conference_id, "plan", text_of_snapshot(updates[:2]), ids[-1])
    later = [await log.append(conference_id, "plan", u, lambda _id: None) for u in updates[2:]]
    assert min(later) > ids[-1]
    stored = await log.load(conference_id, "plan")
    assert stored.snapshot is not None
    assert text_of(stored.snapshot, *(d for _, d in stored.updates)) == expected


@pytest.mark.postgres
async def test_a_fold_never_passes_an_update_another_process_is_still_committing(
    postgres_url: str,
) -> None:
    """PostgreSQL numbers an update when it is inserted, not when it commits. Process A's
    update 1 is inserted but its commit is held up (a trigger makes it slow); process B
    commits update 2 and folds the log. The fold must wait for A: a snapshot claiming every id
    up to 2 would lose update 1 for good."""
    store = Store.connect(postgres_url)
    account = await add_coordinator(store)
    conference = await store.create_conference(account, "Familie Test", "Wat is nodig?")
    expected, updates = typed_updates(["een ", "twee"])
    slow = f"slow_{secrets.token_hex(4)}"
    async with store.engine.begin() as conn:
        await conn.execute(
            text(
                f"CREATE FUNCTION {slow}() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.conference_id = '{conference.id}' "
                f"AND NEW.data = decode('{updates[0].hex()}', 'hex') THEN "
                "PERFORM pg_sleep(2); END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        await conn.execute(
            text(
                f"CREATE TRIGGER {slow} AFTER INSERT ON doc_update "
                f"FOR EACH ROW EXECUTE FUNCTION {slow}()"
            )
        )
    engine_a = create_engine(postgres_url)
    log_a, log_b = DocumentLog(engine_a), DocumentLog(store.engine)
    log_a.start()
    log_b.start()
    try:
        first = asyncio.create_task(log_a.append(conference.id, "plan", updates[0], lambda _: None))
        for _ in range(200):  # until A's insert is numbered and held up (at most 2 s)
            async with store.engine.connect() as conn:
                sleeping = await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE wait_event = 'PgSleep' AND datname = current_database()"
                    )
                )
            if sleeping:
                break
            await asyncio.sleep(0.01)
        assert sleeping, "process A's insert never started"
        await log_b.append(conference.id, "plan", updates[1], lambda _: None)
        await log_b.compact(conference.id, "plan", None, 0)
        await asyncio.wait_for(first, 10)
        assert text_of(await log_b.state(conference.id, "plan")) == expected
    finally:
        await log_a.close()
        await log_b.close()
        await engine_a.dispose()
        async with store.engine.begin() as conn:
            await conn.execute(text(f"DROP TRIGGER IF EXISTS {slow} ON doc_update"))
            await conn.execute(text(f"DROP FUNCTION IF EXISTS {slow}()"))
        await store.close()


async def test_a_batch_reports_the_phases_it_was_stored_under_and_when_it_was_stored(
    store: Store, document_log: tuple[DocumentLog, str]
) -> None:
    """With several processes the log tells, with each commit, the phase each conference of
    the batch had in the database then (a process that missed a phase change learns it
    before it shows the update); every row keeps the moment it was stored."""
    from datetime import timedelta

    from sqlalchemy import select

    from server.storage.models import DocUpdate, utcnow

    log, conference_id = document_log
    await store.set_phase(conference_id, "private_time")
    conference = await store.conference(conference_id)
    assert conference is not None
    told: list[dict[str, tuple[str, float]]] = []
    log.on_phases = told.append
    _, updates = typed_updates(["een ", "twee "])
    before = utcnow()
    await asyncio.gather(*(log.append(conference_id, "plan", u, lambda _id: None) for u in updates))
    assert told and all(
        seen == {conference_id: ("private_time", conference.phase_since.timestamp())}
        for seen in told
    )
    async with store._sessions() as db:
        stored = (
            await db.scalars(
                select(DocUpdate.created_at).where(DocUpdate.conference_id == conference_id)
            )
        ).all()
    assert len(stored) == 2
    assert all(before - timedelta(seconds=1) <= at <= utcnow() for at in stored)


async def test_a_batch_waits_for_another_process_holding_the_write_lock(tmp_path: Path) -> None:
    """On SQLite another process (`kring purge`, say) may hold the database's one write lock
    for a while: the document log waits for it and then stores the batch; it does not fail.
    (PostgreSQL has no such lock for the whole database.)"""
    import sqlite3
    import threading

    url = await asyncio.to_thread(migrated_sqlite, tmp_path)  # (Alembic runs its own loop)
    async with opened_store(url) as store:
        account = await add_coordinator(store)
        conference_id = (await store.create_conference(account, "Familie Test", "Vraag?")).id
        log = DocumentLog(store.engine)
        log.start()
        other = sqlite3.connect(
            tmp_path / "kring.db", isolation_level=None, check_same_thread=False
        )
        other.execute("BEGIN IMMEDIATE")  # the other process's transaction, holding the lock
        threading.Timer(0.3, other.execute, args=("COMMIT",)).start()
        _, updates = typed_updates(["na ", "de ", "purge "])
        try:
            ids = [await log.append(conference_id, "plan", u, lambda _id: None) for u in updates]
            stored = await log.load(conference_id, "plan")
        finally:
            other.close()
            await log.close()
    assert len(ids) == 3
    assert text_of(*(data for _, data in stored.updates)) == "na de purge "
