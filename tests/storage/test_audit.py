"""The audit log in the store, on SQLite and PostgreSQL: a repeat is one row with a count, and
events handed in together (a room full of tablets joining at once) are committed in a few
transactions, each caller returning only once its own event is stored."""

from __future__ import annotations

import asyncio

import pytest

from server.storage.store import Store
from tests.support.databases import add_coordinator


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
    # Twenty people, each joined twice: one row each, counted twice, the same row returned.
    events = [e for e in await store.audit_events(cid) if e.kind == "room_joined"]
    assert sorted((e.actor, e.count) for e in events) == sorted(
        (f"participant:{n}", 2) for n in range(20)
    )
    assert len({id(row) for row in joined}) == 20


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
