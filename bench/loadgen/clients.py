"""The devices: websocket clients speaking y-websocket (server.rooms.protocol).

Receiving is lean: decode the message and look for markers. Every edit inserts a unique
marker ``[m000000042]``; inserted text appears verbatim (UTF-8) in a Yjs v1 update, so a
receiver finds it in the update bytes, whichever server re-encoded it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from pycrdt import Doc, Text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.rooms import protocol

MARKER = re.compile(rb"\[m(\d{9})\]")
SYNC_STEP1_EMPTY = protocol.encode(protocol.SyncStep1(Doc().get_state()))
SYNC_STEP2_EMPTY = protocol.encode(protocol.SyncStep2(b"\x00\x00"))


class Tally:
    """Every marker sent: when, by whom, how many receivers expected it, how many got it."""

    def __init__(self) -> None:
        # id -> [t_send, expected, received, sender]
        self.sent: dict[int, list[Any]] = {}
        self.latencies: list[float] = []
        self.sent_at: list[float] = []  # per delivery, the send time of its edit
        self.unknown = 0
        self.echoes = 0  # an edit sent back to its own writer (the reference does that)
        self.next_id = 0
        self.expected_total = 0
        self.received_total = 0
        # Kring's "saved" (type 100, asked for with ?saved=1): from just before an edit's send
        # to the acknowledgement that covers it (the server commits, then acknowledges)
        self.saved_latencies: list[float] = []

    def new_marker(self) -> int:
        self.next_id += 1
        return self.next_id

    def delivered(self, marker: int, now: float, receiver: object) -> None:
        entry = self.sent.get(marker)
        if entry is None:
            self.unknown += 1
            return
        if entry[3] is receiver:
            self.echoes += 1
            return
        entry[2] += 1
        self.received_total += 1
        self.latencies.append(now - entry[0])
        self.sent_at.append(entry[0])

    def losses(self) -> tuple[int, int]:
        lost = dup = 0
        for _t, expected, received, _sender in self.sent.values():
            if received < expected:
                lost += int(expected - received)
            elif received > expected:
                dup += int(received - expected)
        return lost, dup


def connect_ws(url: str, cookie: str, origin: str, within: float) -> Any:
    return connect(
        url,
        origin=origin,  # type: ignore[arg-type]
        additional_headers={"Cookie": cookie} if cookie else None,
        compression=None,
        open_timeout=within,
        close_timeout=5,
        ping_interval=None,
        max_size=None,
        proxy=None,
    )


class Device:
    """One tablet in one document. Receiving is lean (decode, find markers); a device that
    edits keeps a pycrdt Doc of its own edits, so what it sends is a real Yjs update.

    A device whose URL asks for Kring's "saved" (``?saved=1``, as the plan editor does)
    times each edit until the server's acknowledgement that covers it: the committed state
    vector holds the device's own clock after that edit."""

    def __init__(self, url: str, cookie: str, origin: str, tally: Tally, peers: list[Device]):
        self.url, self.cookie, self.origin = url, cookie, origin
        self.tally = tally  # a scenario may hand every device a fresh one between steps
        self.peers = peers
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.synced = asyncio.Event()
        self.open = False
        self.close_code: int | None = None
        self.close_reason = ""
        self.error = ""
        self.denied = 0
        self.edits = 0
        self.doc: Doc[Any] | None = None
        self.text: Text | None = None
        self._last: bytes = b""
        self.tracks_saved = "saved=1" in url
        self.unsaved: deque[tuple[int, float]] = deque()  # (own clock after the edit, sent)

    async def connect(self, within: float = 30.0) -> None:
        self.ws = await connect_ws(self.url, self.cookie, self.origin, within)
        self.reader = asyncio.create_task(self._read(self.ws))
        await self.ws.send(SYNC_STEP1_EMPTY)

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for data in ws:
                now = time.perf_counter()
                if isinstance(data, str):
                    continue
                message = protocol.decode(data)
                kind = type(message)
                if kind is protocol.Update:
                    tally = self.tally
                    for marker in MARKER.findall(message.update):  # type: ignore[union-attr]
                        tally.delivered(int(marker), now, self)
                elif kind is protocol.SyncStep1:
                    reply = (
                        SYNC_STEP2_EMPTY
                        if self.doc is None
                        else protocol.encode(
                            protocol.SyncStep2(self.doc.get_update(message.state_vector))  # type: ignore[union-attr]
                        )
                    )
                    await ws.send(reply)
                elif kind is protocol.SyncStep2:
                    self.open = True
                    self.synced.set()
                elif kind is protocol.Saved:
                    if self.unsaved and self.doc is not None:
                        self._saved(message.state_vector, now)  # type: ignore[union-attr]
                elif kind is protocol.AuthDenied:
                    self.denied += 1
        except ConnectionClosed:
            pass
        except Exception as exc:  # a protocol error: report it, never hide it
            self.error = repr(exc)
        finally:
            self.open = False
            self.close_code = ws.close_code if ws.close_code is not None else 1006
            self.close_reason = ws.close_reason or ""

    def _saved(self, state_vector: bytes, now: float) -> None:
        assert self.doc is not None
        committed = protocol.decode_state_vector(state_vector).get(self.doc.client_id, 0)
        latencies = self.tally.saved_latencies
        while self.unsaved and self.unsaved[0][0] <= committed:
            latencies.append(now - self.unsaved.popleft()[1])

    def _capture(self, event: Any) -> None:
        self._last = event.update

    def expected_receivers(self) -> int:
        expected = 0
        for peer in self.peers:
            if peer is not self and peer.open:
                expected += 1
        return expected

    async def edit(self) -> None:
        if not self.open or self.ws is None:
            return
        if self.doc is None:
            self.doc = Doc(client_id=random.getrandbits(32))  # like Yjs in a browser
            self.text = self.doc.get("plan", type=Text)
            self._subscription = self.doc.observe(self._capture)
        assert self.text is not None
        tally = self.tally
        marker = tally.new_marker()
        self.text.insert(len(self.text), f"afspraak [m{marker:09d}] ")
        data = protocol.encode(protocol.Update(self._last))
        expected = self.expected_receivers()
        tally.expected_total += expected
        sent = time.perf_counter()
        tally.sent[marker] = [sent, expected, 0, self]
        self.edits += 1
        if self.tracks_saved:
            clock = protocol.decode_state_vector(self.doc.get_state())[self.doc.client_id]
            self.unsaved.append((clock, sent))
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(data)

    async def send_marked(self, marker: int, update: bytes) -> None:
        """Send a prepared update that carries ``marker`` (bursts: no CRDT work meanwhile)."""
        assert self.ws is not None
        tally = self.tally
        expected = self.expected_receivers()
        tally.expected_total += expected
        tally.sent[marker] = [time.perf_counter(), expected, 0, self]
        self.edits += 1
        await self.ws.send(protocol.encode(protocol.Update(update)))

    async def close(self) -> None:
        ws = self.ws
        if ws is None:
            return
        try:
            await asyncio.wait_for(ws.close(), 5)
        except Exception:
            ws.transport.abort()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader


def room_devices(
    urls: Sequence[tuple[str, list[str]]], origin: str, tally: Tally
) -> tuple[list[Device], list[list[Device]]]:
    """Devices for rooms given as (websocket URL, one cookie per device); all of them, and
    per room (each room's devices are one another's peers)."""
    devices: list[Device] = []
    rooms: list[list[Device]] = []
    for url, cookies in urls:
        peers: list[Device] = []
        for cookie in cookies:
            peers.append(Device(url, cookie, origin, tally, peers))
        devices.extend(peers)
        rooms.append(peers)
    return devices, rooms


async def connect_all(devices: list[Device], concurrency: int, within: float) -> float:
    """Open every device (bounded concurrency), then wait for each to be synced; seconds."""
    t0 = time.perf_counter()
    gate = asyncio.Semaphore(concurrency)

    async def one(device: Device) -> None:
        async with gate:
            try:
                await device.connect(within)
            except Exception as exc:
                device.error = repr(exc)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(one(d) for d in devices)), within)
    deadline = t0 + within
    for device in devices:
        if device.ws is None or device.error:
            continue
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(device.synced.wait(), remaining)
    return time.perf_counter() - t0


async def close_all(devices: Iterable[Device]) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(d.close() for d in devices)), 30)


async def drain(tally: Tally, within: float) -> float:
    t0 = time.perf_counter()
    deadline = t0 + within
    while tally.received_total < tally.expected_total:
        if time.perf_counter() > deadline:
            break
        await asyncio.sleep(0.02)
    return time.perf_counter() - t0


async def timed_join(
    url: str, cookie: str, origin: str, within: float = 30.0
) -> tuple[float, float, bytes]:
    """Connect, send sync step 1, wait for the server's sync step 2.

    Returns (seconds to the open websocket, seconds to synced, the synced update)."""
    t0 = time.perf_counter()
    async with asyncio.timeout(within):
        ws = await connect_ws(url, cookie, origin, within)
        t_open = time.perf_counter() - t0
        try:
            await ws.send(SYNC_STEP1_EMPTY)
            while True:
                data = await ws.recv()
                if isinstance(data, str):
                    continue
                message = protocol.decode(data)
                if isinstance(message, protocol.SyncStep2):
                    t_synced = time.perf_counter() - t0
                    return t_open, t_synced, message.update
                if isinstance(message, protocol.SyncStep1):
                    await ws.send(SYNC_STEP2_EMPTY)
        finally:
            await ws.close()


async def push_updates(
    url: str, cookie: str, origin: str, updates: Iterable[bytes], within: float = 120.0
) -> bytes:
    """Send updates into a room one by one (how the reference gets a document: it has no
    storage), then ask for the whole document; returns it once the server has applied all
    (its sync step 2 answers the step 1 sent after them, on the same connection)."""
    async with asyncio.timeout(within):
        ws = await connect_ws(url, cookie, origin, within)
        try:

            async def swallow() -> bytes:  # the echoes the reference sends back
                while True:
                    data = await ws.recv()
                    if isinstance(data, bytes):
                        message = protocol.decode(data)
                        if isinstance(message, protocol.SyncStep2) and reading.is_set():
                            return message.update

            reading = asyncio.Event()
            reader = asyncio.create_task(swallow())
            for update in updates:
                await ws.send(protocol.encode(protocol.Update(update)))
            reading.set()
            await ws.send(SYNC_STEP1_EMPTY)
            return await reader
        finally:
            await ws.close()
