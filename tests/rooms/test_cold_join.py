"""A document read back from disk as a snapshot: what a device opening it first receives.

A room whose stored snapshot is complete (nothing in it waits for an update that never
arrived) and has nothing logged after it answers a device that has nothing yet with that
snapshot as it is, before making its own Y doc; the server's own half of the handshake (its
sync step 1, and "saved") follows. A snapshot that carries a waiting update is never sent as
it is: the device would get the waiting part, which a browser then sends back as its own
edit (a reader is told its edit was dropped, and its page discards its copy)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, Text

from server.limits import Limits
from server.rooms import protocol
from server.rooms.connection import Peer
from server.rooms.hub import RoomHub
from server.storage.documents import DocumentLog
from server.storage.store import Store
from tests.rooms.test_hub import Device, until
from tests.support.databases import add_coordinator, migrated_sqlite

PHASE = "presentation"  # the client writes the plan, a professional reads it
WRITER, READER = Peer(1, "client", "Sam"), Peer(3, "professional", "Wijkteam")
SNAPSHOT = "SELECT data, complete_upto IS upto_id FROM doc_snapshot"


@pytest.fixture
def database(tmp_path: Path) -> Path:
    migrated_sqlite(tmp_path)
    return tmp_path / "kring.db"


@pytest.fixture
async def hub(database: Path) -> AsyncIterator[tuple[RoomHub, str]]:
    store = Store.connect(f"sqlite+aiosqlite:///{database}")
    conference = await store.create_conference(
        await add_coordinator(store), "Familie", "Wat is er nodig?", phase=PHASE
    )
    log = DocumentLog(store.engine)
    log.start()
    hub = RoomHub(log, Limits(idle_seconds=0.05))
    yield hub, conference.id
    await hub.close()
    await store.close()


def received(device: Device) -> list[protocol.Message]:
    return [protocol.decode(data) for data in device.sent]


def open_plan(hub: RoomHub, conference_id: str, peer: Peer) -> Device:
    device = Device(peer)
    device.task = asyncio.create_task(
        hub.serve(device, conference_id, "plan", peer, PHASE, wants_saved=True)
    )
    return device


async def leave(device: Device) -> None:
    device.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
    assert device.task is not None
    await asyncio.wait_for(device.task, 5)


async def store_and_unload(hub: RoomHub, conference_id: str, *updates: bytes) -> None:
    """A writer sends ``updates``; the log is folded into a snapshot; the room unloads."""
    writer = open_plan(hub, conference_id, WRITER)
    await until(lambda: conference_id in hub.rooms and "plan" in hub.rooms[conference_id].channels)
    channel = hub.rooms[conference_id].channels["plan"]
    writer.says(protocol.encode(protocol.SyncStep1(b"\x00")))
    for update in updates:
        writer.says(protocol.encode(protocol.Update(update)))
    saved = 1 + len(updates)  # one on joining, one per update
    await until(lambda: sum(isinstance(m, protocol.Saved) for m in received(writer)) >= saved)
    channel.start_compaction()
    await until(lambda: not channel.compacting)
    await leave(writer)
    await until(lambda: conference_id not in hub.rooms)


async def fresh_reader(hub: RoomHub, conference_id: str) -> tuple[Device, list[type], bytes]:
    """A reader with nothing yet opens the plan and syncs: the device, the kinds of message it
    got first (presence aside) once it has both the document and the server's greeting, and
    the document as its first sync step 2 held it."""
    reader = open_plan(hub, conference_id, READER)
    await until(lambda: conference_id in hub.rooms)
    reader.says(protocol.encode(protocol.SyncStep1(b"\x00")))

    def kinds_of() -> list[type]:
        return [type(m) for m in received(reader) if not isinstance(m, protocol.Awareness)]

    await until(lambda: {protocol.SyncStep2, protocol.Saved} <= set(kinds_of()))
    first = next(m for m in received(reader) if isinstance(m, protocol.SyncStep2))
    return reader, kinds_of()[:3], first.update


def text_of(update: bytes) -> str:
    copy: Doc[Any] = Doc()
    copy.apply_update(update)
    return str(copy.get("plan", type=Text))


async def test_a_complete_snapshot_reaches_a_new_device_first_then_the_servers_greeting(
    hub: tuple[RoomHub, str], database: Path
) -> None:
    room_hub, conference_id = hub
    typed: Doc[Any] = Doc(client_id=11)
    typed.get("plan", type=Text).insert(0, "Oma haalt Sam op dinsdag op.")
    await store_and_unload(room_hub, conference_id, typed.get_update())
    with sqlite3.connect(database) as db:
        (stored, complete), *_ = db.execute(SNAPSHOT).fetchall()
    assert complete == 1
    reader, kinds, first = await fresh_reader(room_hub, conference_id)
    assert kinds == [protocol.SyncStep2, protocol.SyncStep1, protocol.Saved]
    assert first == stored
    assert text_of(first) == "Oma haalt Sam op dinsdag op."
    await leave(reader)


async def test_a_snapshot_carrying_an_edit_that_waits_never_hands_its_waiting_part_out(
    hub: tuple[RoomHub, str], database: Path
) -> None:
    room_hub, conference_id = hub
    tablet: Doc[Any] = Doc(client_id=77)
    text = tablet.get("plan", type=Text)
    text += "Oma "
    before = tablet.get_state()
    text += "haalt Sam op"
    waits = tablet.get_update(before)  # needs "Oma ", which never reaches the server
    await store_and_unload(room_hub, conference_id, waits)
    with sqlite3.connect(database) as db:
        (stored, complete), *_ = db.execute(SNAPSHOT).fetchall()
    assert complete == 0 and b"haalt Sam op" in stored  # carried along, for when "Oma " comes
    reader, _kinds, first = await fresh_reader(room_hub, conference_id)
    assert b"haalt Sam op" not in first
    # The reader answers the server's sync step 1 with all it has: nothing is refused.
    reader.says(protocol.encode(protocol.SyncStep2(Doc().get_update())))
    await until(lambda: sum(isinstance(m, protocol.Saved) for m in received(reader)) >= 2)
    assert not any(isinstance(m, protocol.AuthDenied) for m in received(reader))
    await leave(reader)


async def test_a_snapshot_folded_by_a_process_not_yet_upgraded_is_not_trusted_as_complete(
    hub: tuple[RoomHub, str], database: Path
) -> None:
    """During a rolling update a process on the previous release may fold the log: it moves
    ``upto_id`` and knows nothing of ``complete_upto``, so the snapshot it wrote (which may
    carry a waiting update) is no longer taken as complete; the room makes its Y doc first."""
    room_hub, conference_id = hub
    typed: Doc[Any] = Doc(client_id=12)
    typed.get("plan", type=Text).insert(0, "Sam kookt op vrijdag.")
    await store_and_unload(room_hub, conference_id, typed.get_update())
    with sqlite3.connect(database) as db:
        db.execute("UPDATE doc_snapshot SET upto_id = upto_id + 1")  # as the old fold does
    reader, kinds, first = await fresh_reader(room_hub, conference_id)
    assert kinds == [protocol.SyncStep1, protocol.Saved, protocol.SyncStep2]
    assert text_of(first) == "Sam kookt op vrijdag."
    await leave(reader)
