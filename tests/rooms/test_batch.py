"""A group's updates are applied in one Yrs transaction, ended on the next turn of the loop
(DocChannel._batched). Whatever reads the document for someone else before that turn (a
device's sync, a page, a frozen version) must see it as after the transaction: text typed
and deleted again in the group is collected then, and must not leave the process before."""

from __future__ import annotations

import asyncio
from typing import Any

from pycrdt import Doc, Text

from server.rooms import protocol
from server.rooms.connection import Connection, Peer, Unsaved
from server.rooms.hub import RoomHub
from server.rules.phases import Access
from tests.rooms.test_hub import CONFERENCE, Device, hub, sqlite_url  # noqa: F401

SECRET = "Oom Kees-Geheimnaam"


def typed_and_deleted() -> list[bytes]:
    """A tablet's queued edits: a name typed, deleted again, then the plan as it stays."""
    offline: Doc[Any] = Doc()
    queued: list[bytes] = []
    offline.observe(lambda event: queued.append(event.update))
    text = offline.get("plan", type=Text)
    text.insert(0, SECRET)
    del text[0 : len(SECRET)]
    text.insert(0, "ok")
    return queued


async def test_nothing_read_before_a_group_ends_holds_its_deleted_text(hub: RoomHub) -> None:  # noqa: F811
    channel = await hub.channel(CONFERENCE, "plan")
    writer, reader = Device(Peer(1, "client", "Sam")), Device(Peer(None, "coordinator", "C"))
    tablet = Connection(writer, writer.peer, Access.WRITE, wants_saved=False, limits=hub.limits)
    coordinator = Connection(reader, reader.peer, Access.READ, wants_saved=False, limits=hub.limits)
    # As the document log calls it for one group commit, all in one go:
    for log_id, update in enumerate(typed_and_deleted(), start=1):
        channel._committed(tablet, update, log_id, Unsaved(len(update)))
    # ... and what runs before the loop turns (nothing below waits):
    state = await hub.document_state(CONFERENCE, "plan")  # a page, a frozen plan version
    await channel.handle(coordinator, protocol.encode(protocol.SyncStep1(b"\x00")))
    (reply,) = [protocol.decode(data) for data in coordinator._queue]
    assert isinstance(reply, protocol.SyncStep2)
    assert SECRET.encode() not in state
    assert SECRET.encode() not in reply.update
    await asyncio.sleep(0)
    assert SECRET.encode() not in channel.doc.get_update()
