"""The audit log in the store, on SQLite and PostgreSQL: a repeat is one row with a count, and
events handed in together (a room full of tablets joining at once) are committed in a few
transactions, each caller returning only once its own event is stored."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from server.rooms.hub import WRITTEN_TOLD_SECONDS
from server.storage import audit
from server.storage.models import utcnow
from server.storage.store import Store
from tests.support.databases import add_coordinator, opened_store


async def _conference(store: Store, name: str = "Sam") -> str:
    account = await add_coordinator(store)
    return (await store.create_conference(account, name, "Vraag")).id


async def test_a_repeat_within_a_quarter_of_an_hour_is_counted_not_added(store: Store) -> None:
    cid = await _conference(store)
    for _ in range(3):
        await store.audit(cid, "participant:1", "room_joined", {"document": "plan"}, coalesce=True)
    await store.audit(cid, "participant:1", "room_joined", {"document": "compass"}, coalesce=True)
    await store.audit(cid, "participant:2", "room_joined", {"document": "plan"}, coalesce=True)
    await store.audit(cid, "participant:1", "room_joined", {"document": "plan"})  # not coalesced
    events = await store.audit_events(cid)
    rows = [(e.actor, e.detail["document"], e.count) for e in events if e.kind == "room_joined"]
    assert sorted(rows) == [
        ("participant:1", "compass", 1),
        ("participant:1", "plan", 1),
        ("participant:1", "plan", 3),
        ("participant:2", "plan", 1),
    ]


async def test_forty_devices_joining_at_once_are_a_few_transactions(store: Store) -> None:
    cid = await _conference(store)
    before = store.audit_groups
    joined = await asyncio.gather(
        *(
            store.audit(cid, f"participant:{n % 20}", "room_joined", {"document": "plan"},
                        coalesce=True)
            for n in range(40)
        )
    )  # fmt: skip
    assert store.audit_groups - before <= 3
    # Twenty people, each joined twice: one row each, counted twice.
    events = [e for e in await store.audit_events(cid) if e.kind == "room_joined"]
    assert sorted((e.actor, e.count) for e in events) == sorted(
        (f"participant:{n}", 2) for n in range(20)
    )
    assert joined == [None] * 40  # each caller returned once its event was stored


async def test_an_event_that_cannot_be_stored_fails_alone(store: Store) -> None:
    """An event of a conference erased meanwhile is refused by the database; the others of its
    group are stored all the same."""
    kept, erased = await _conference(store, "Sam"), await _conference(store, "Noor")
    await store.erase_conference(erased, "coordinator:1")
    results = await asyncio.gather(
        store.audit(kept, "participant:1", "room_joined", {"document": "plan"}, coalesce=True),
        store.audit(erased, "participant:2", "room_joined", {"document": "plan"}, coalesce=True),
        store.audit(kept, "participant:3", "document_written", {"document": "plan"}),
        return_exceptions=True,
    )
    assert not isinstance(results[0], BaseException)
    assert isinstance(results[1], Exception)
    assert not isinstance(results[2], BaseException)
    kinds = sorted(e.kind for e in await store.audit_events(kept))
    assert kinds == ["document_written", "room_joined"]


async def test_a_caller_that_gives_up_does_not_lose_the_event(store: Store) -> None:
    """A device that disconnects while its join is being written cancels its wait, not the
    write: the event is in the log."""
    cid = await _conference(store)
    waiting = asyncio.ensure_future(
        store.audit(cid, "participant:7", "room_joined", {"document": "plan"}, coalesce=True)
    )
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await store.audit(cid, "participant:8", "room_joined", {"document": "plan"}, coalesce=True)
    actors = {e.actor for e in await store.audit_events(cid) if e.kind == "room_joined"}
    assert actors == {"participant:7", "participant:8"}


async def test_first_edits_that_trickle_in_are_written_together(store: Store) -> None:
    """Tablets writing their first lines one after another (events nobody waits on) are a
    transaction or two, not one each beside the plan's own commits; every one is stored."""
    cid = await _conference(store)
    before = store.audit_groups

    async def first_edit(n: int) -> None:
        await asyncio.sleep(0.005 * n)  # ten tablets within 50 ms, well inside AUDIT_LINGER
        await store.audit(
            cid, f"participant:{n}", "document_written", {"document": "plan"},
            coalesce=True, urgent=False,
        )  # fmt: skip

    await asyncio.gather(*(first_edit(n) for n in range(10)))
    assert store.audit_groups - before <= 2
    written = [e.actor for e in await store.audit_events(cid) if e.kind == "document_written"]
    assert sorted(written) == sorted(f"participant:{n}" for n in range(10))


async def test_an_event_someone_waits_for_does_not_wait_for_company(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A device opening the plan waits for its room_joined event: it is written at once, and
    takes along the events that were waiting for company, however long they would wait."""
    monkeypatch.setattr("server.storage.audit.AUDIT_LINGER", 3600.0)
    cid = await _conference(store)
    before = store.audit_groups
    waiting = asyncio.create_task(
        store.audit(cid, "participant:1", "document_written", {"document": "plan"}, urgent=False)
    )
    await asyncio.sleep(0.05)
    assert not waiting.done(), "an event nobody waits on waits for company"
    async with asyncio.timeout(10):
        await store.audit(cid, "participant:2", "room_joined", {"document": "plan"})
        await waiting
    assert store.audit_groups - before == 1
    kinds = sorted(e.kind for e in await store.audit_events(cid))
    assert kinds == ["document_written", "room_joined"]


async def test_a_writer_stopped_half_way_leaves_nobody_waiting(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shutdown that cancels the writer (store.close() cancelled while it waits for the
    writer) while a group is being written: its callers are told, not left waiting for ever."""
    cid = await _conference(store)
    writing = asyncio.Event()
    store_audit = store._store_audit

    async def slow(group: list[Any]) -> list[None]:
        writing.set()
        await asyncio.sleep(3600)
        return await store_audit(group)

    monkeypatch.setattr(store, "_store_audit", slow)
    joined = asyncio.create_task(store.audit(cid, "participant:1", "room_joined"))
    await writing.wait()
    closing = asyncio.create_task(store.close())
    await asyncio.sleep(0)
    closing.cancel()
    done, _ = await asyncio.wait([joined], timeout=5)
    assert done, "the caller still waits for an event nobody writes any more"
    with pytest.raises(asyncio.CancelledError):
        joined.result()


async def test_repeats_counted_by_two_processes_at_once_are_all_counted(
    store: Store, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two server processes (scale-out) raise the same row at the same moment, a person's two
    tablets on two processes opening the plan: the row counts both, neither overwrites the
    count the other wrote."""
    cid = await _conference(store)
    joined = (cid, "participant:1", "room_joined", {"document": "plan"})
    await store.audit(*joined, coalesce=True)
    read, go_on = asyncio.Event(), asyncio.Event()
    recent = audit._recent

    async def paused(*args: Any) -> Any:
        found = await recent(*args)
        if not read.is_set():  # the first process has read the row's count, then waits
            read.set()
            await go_on.wait()
        return found

    monkeypatch.setattr(audit, "_recent", paused)
    first = asyncio.create_task(store.audit(*joined, coalesce=True))
    await read.wait()
    async with opened_store(database_url) as other:  # the second process, meanwhile
        await other.audit(*joined, coalesce=True)
    go_on.set()
    await first
    assert [e.count for e in await store.audit_events(cid)] == [3]


async def test_a_device_that_keeps_writing_stays_one_row(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub tells of a device's writing at its first edit, then at most once per
    WRITTEN_TOLD_SECONDS, and the telling comes with its next edit after that (a second
    later, here). Each telling must find the row the one before it raised still within
    AUDIT_COALESCE, or a tablet writing all evening is a new row every quarter of an hour."""
    cid = await _conference(store)
    start = utcnow()
    for told in range(4):
        at = start + told * timedelta(seconds=WRITTEN_TOLD_SECONDS + 1)
        monkeypatch.setattr(audit, "utcnow", lambda at=at: at)
        await store.audit(cid, "participant:1", "document_written", {"document": "plan"},
                          coalesce=True, urgent=False)  # fmt: skip
    assert [e.count for e in await store.audit_events(cid)] == [4]


async def test_an_event_is_dated_when_it_happened_not_when_its_group_is_written(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first edit waits for company before it is written; the access log (NEN 7513) still
    says when the device wrote, not when the group was committed: another process's event
    that came after it must not be dated before it."""
    monkeypatch.setattr(audit, "AUDIT_LINGER", 1.0)
    cid = await _conference(store)
    before = utcnow()
    await store.audit(cid, "participant:1", "document_written", {"document": "plan"},
                      coalesce=True, urgent=False)  # fmt: skip
    (written,) = await store.audit_events(cid)
    assert written.at - before < timedelta(seconds=0.5)
