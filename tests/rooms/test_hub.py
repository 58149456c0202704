"""The hub enforces a phase change, a removal or an erasure on every open connection, whatever
one of them does: a real RoomHub and real connections, with one connection made to fail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.types import Message

from server.conference.auth import Person
from server.conference.events import Events
from server.conference.meeting import Meeting
from server.rooms import protocol
from server.rooms.connection import Connection, Peer
from server.rooms.hub import RoomHub
from server.rooms.room import DocChannel
from server.rules.phases import Access
from server.settings import Limits
from server.storage.documents import DocumentLog
from server.storage.store import Store
from tests.support.databases import add_coordinator, migrated_sqlite

CONFERENCE = "c0nference"
DOCUMENT = "information"


class Device:
    """The server's end of one websocket, fed by the test (what Starlette's WebSocket does)."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.sent: list[bytes] = []
        self.closed_with: tuple[int, str | None] | None = None
        self.task: asyncio.Task[None] | None = None

    async def receive(self) -> Message:
        return await self.inbox.get()

    async def send_bytes(self, data: bytes) -> None:
        self.sent.append(data)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed_with = (code, reason)
        self.inbox.put_nowait({"type": "websocket.disconnect", "code": code})

    def says(self, data: bytes) -> None:
        self.inbox.put_nowait({"type": "websocket.receive", "bytes": data})

    def presence(self) -> dict[int, str | None]:
        seen: dict[int, str | None] = {}
        for data in self.sent:
            message = protocol.decode(data)
            if isinstance(message, protocol.Awareness):
                for entry in protocol.decode_awareness(message.payload):
                    seen[entry.client_id] = entry.state
        return seen


PEOPLE = [
    Peer(1, "client", "Sam"),
    Peer(2, "network_member", "Ayşe"),
    Peer(2, "network_member", "Ayşe"),  # her second tablet
    Peer(3, "professional", "Wijkteam"),
    Peer(4, "mandated_professional", "Jeugdbescherming"),
    Peer(None, "coordinator", "Coördinator"),
]


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return migrated_sqlite(tmp_path)


@pytest.fixture
async def hub(sqlite_url: str) -> AsyncIterator[RoomHub]:
    store = Store.connect(sqlite_url)
    log = DocumentLog(store.engine)
    log.start()
    hub = RoomHub(log, Limits(idle_seconds=0.05))
    yield hub
    await hub.close()
    await store.close()


@pytest.fixture
async def devices(hub: RoomHub) -> AsyncIterator[list[Device]]:
    """Everyone in the information document during the information phase (all write it)."""
    devices = [Device(peer) for peer in PEOPLE]
    for device in devices:
        device.task = asyncio.create_task(
            hub.serve(device, CONFERENCE, DOCUMENT, device.peer, "information")
        )
    await until(lambda: joined(hub) == len(devices))
    yield devices
    for device in devices:
        device.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await asyncio.wait_for(
        asyncio.gather(*(d.task for d in devices if d.task), return_exceptions=True), 5
    )


def _channel(hub: RoomHub) -> DocChannel:
    return hub.rooms[CONFERENCE].channels[DOCUMENT]


def joined(hub: RoomHub) -> int:
    room = hub.rooms.get(CONFERENCE)
    channel = room.channels.get(DOCUMENT) if room is not None else None
    return 0 if channel is None else len(channel.connections)


def connection(hub: RoomHub, device: Device) -> Connection:
    return next(c for c in _channel(hub).connections if c.socket is device)


FAILURES = ["set_access", "set_access_and_close"]
# whose update fails: someone private time leaves reading, or someone it takes it from
VICTIMS = ["network_member", "professional"]


def fail_first(
    monkeypatch: pytest.MonkeyPatch, hub: RoomHub, how: str, role: str | None = None
) -> Connection:
    """Make the access update of the first connection the hub will visit (of someone with
    ``role``, if given) raise (and, with ``set_access_and_close``, its close too); return
    that connection."""
    room = hub.rooms[CONFERENCE]
    victim = next(conn for _channel, conn in room.connections() if role in (None, conn.peer.role))
    original = DocChannel.set_access

    def set_access(channel: DocChannel, conn: Connection, access: Access, reason: str) -> None:
        if conn is victim:
            raise RuntimeError("injected: this connection's update fails")
        original(channel, conn, access, reason)

    monkeypatch.setattr(DocChannel, "set_access", set_access)
    if how == "set_access_and_close":

        def close(code: int, reason: str) -> None:
            raise RuntimeError("injected: this connection's close fails")

        monkeypatch.setattr(victim, "close", close)
    return victim


def ended(device: Device) -> bool:
    return device.task is not None and device.task.done()


@pytest.mark.parametrize("how", FAILURES)
@pytest.mark.parametrize("whose", VICTIMS)
async def test_a_phase_change_reaches_every_connection_when_one_fails(
    hub: RoomHub, devices: list[Device], monkeypatch: pytest.MonkeyPatch, how: str, whose: str
) -> None:
    sam, ayse, ayse_tablet, *_ = devices
    ayse.says(
        protocol.encode(
            protocol.Awareness(
                protocol.encode_awareness(
                    [protocol.AwarenessState(202, protocol.MAX_CLOCK, '{"user":{"name":"A"}}')]
                )
            )
        )
    )
    await until(lambda: 202 in sam.presence())
    victim = fail_first(monkeypatch, hub, how, whose)

    hub.phase_changed(CONFERENCE, "private_time")  # raises nothing

    victim_device = next(d for d in devices if d is victim.socket)
    others = [d for d in devices if d is not victim_device]
    # The one that failed is gone, or dropped at once if even that failed: closed with 4001
    # when private time takes the document away from them (the device forgets its copy), and
    # asked to come back (1011) when they keep reading it (the device keeps what it holds).
    assert victim.access == Access.NONE and victim.closed
    await until(lambda: ended(victim_device))
    if how == "set_access":
        assert victim_device.closed_with is not None
        keeps = victim_device.peer.role in ("client", "network_member")
        assert victim_device.closed_with[0] == (
            protocol.CloseCode.INTERNAL_ERROR if keeps else protocol.CloseCode.LOST_ACCESS
        )
    # Everyone else got exactly what private time gives them.
    for device in others:
        if device.peer.role in ("client", "network_member"):
            assert connection(hub, device).access == Access.READ, device.peer
            assert not ended(device)
        else:
            await until(lambda d=device: d.closed_with is not None)  # type: ignore[misc]
            assert device.closed_with is not None
            code, reason = device.closed_with
            assert code == protocol.CloseCode.LOST_ACCESS, device.peer
            assert reason == "Tijdens de privétijd is de informatie niet voor jou open."
            await until(lambda d=device: ended(d))  # type: ignore[misc]
    # Ayşe reads now: her presence is taken away from everyone still here, none left behind.
    watchers = [d for d in (sam, ayse_tablet) if d is not victim_device]
    for watcher in watchers:
        await until(lambda w=watcher: w.presence().get(202, "") is None)  # type: ignore[misc]
    assert 202 not in _channel(hub).awareness


async def test_an_erasure_closes_every_connection_when_one_fails(
    hub: RoomHub, devices: list[Device], monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = fail_first(monkeypatch, hub, "set_access_and_close")
    assert hub.erase(CONFERENCE) == len(devices)
    for device in devices:
        await until(lambda d=device: ended(d))  # type: ignore[misc]
        if device is victim.socket:
            assert victim.closed and device.closed_with is None  # dropped without a close
            continue
        assert device.closed_with == (4001, "Deze conferentie is gewist.")


async def test_a_removed_person_loses_every_device_when_one_fails(
    hub: RoomHub, devices: list[Device], monkeypatch: pytest.MonkeyPatch
) -> None:
    room = hub.rooms[CONFERENCE]
    hers = [conn for _channel, conn in room.connections() if conn.peer.participant_id == 2]
    original = DocChannel.set_access

    def set_access(channel: DocChannel, conn: Connection, access: Access, reason: str) -> None:
        if conn is hers[0]:
            raise RuntimeError("injected")
        original(channel, conn, access, reason)

    monkeypatch.setattr(DocChannel, "set_access", set_access)
    assert hub.drop_participant(CONFERENCE, 2, "Je staat niet meer op de lijst.") == 2
    for conn in hers:
        device: Any = conn.socket
        await until(lambda d=device: ended(d))
        assert device.closed_with == (4001, "Je staat niet meer op de lijst.")
    assert all(not ended(d) for d in devices if d.peer.participant_id != 2)


# -- the flow: a committed phase change is audited and announced whatever applying it did ----


async def test_a_committed_phase_change_is_audited_and_announced_even_if_applying_fails(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.connect(sqlite_url)
    log = DocumentLog(store.engine)
    hub = RoomHub(log, Limits())
    events = Events()
    try:
        account = await add_coordinator(store)
        conference = await store.create_conference(
            account, "Familie Test", "Wat is nodig?", phase="information"
        )
        coordinator = Person(conference, "coordinator", None, "Coördinator", "coordinator")

        def broken(*args: object) -> None:
            raise RuntimeError("injected: applying the phase fails")

        monkeypatch.setattr(hub, "_apply_phase", broken)
        with events.listen(conference.id) as console:
            changed = await Meeting(store, hub, events).change_phase(coordinator, "private_time")
            assert changed.phase == "private_time"
            event = console.get_nowait()
        assert (event.name, event.data) == ("phase", {"phase": "private_time"})
        audited = [(e.kind, e.detail) for e in await store.audit_events(conference.id)]
        assert ("phase_changed", {"from": "information", "to": "private_time"}) in audited
    finally:
        events.close()
        await store.close()
