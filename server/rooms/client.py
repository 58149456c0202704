"""A small y-websocket client on pycrdt: what the tests, the benchmark and scripts use.

It behaves like the browser's provider: it keeps its document across reconnects, so edits
made while it was offline are sent on the next connect (sync step 1 / step 2), and it
asks for Kring's "saved" acknowledgements with ``saved=True``.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable
from typing import Any

from pycrdt import Doc, Text, TransactionEvent
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.rooms import protocol


class YClient:
    """One device with one document. Use ``await YClient(url, ...).connect()``."""

    def __init__(
        self,
        url: str,
        *,
        cookie: str = "",
        origin: str | None = None,
        saved: bool = False,
        doc: Doc[Any] | None = None,
        on_update: Callable[[bytes], None] | None = None,  # each edit relayed from others
    ) -> None:
        self.url = url + ("?saved=1" if saved else "")
        self.cookie = cookie
        self.origin = origin
        # Yjs (browsers, y-py) draws 32-bit client ids; pycrdt's larger default ones are
        # garbled by y-py, so this client keeps to what every Yjs peer reads.
        self.doc: Doc[Any] = doc if doc is not None else Doc(client_id=secrets.randbits(32))
        self.on_update = on_update
        self.received: list[bytes] = []  # updates that came from the server
        self.saved_vectors: list[bytes] = []
        self.denied: list[str] = []
        self.messages = 0  # every message the server sent, of any kind
        self.presence: dict[int, str | None] = {}  # client id -> awareness state (JSON)
        self.close_code: int | None = None
        self.close_reason = ""
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._synced = asyncio.Event()
        self._changed = asyncio.Event()
        self._applying = False
        self._sending: set[asyncio.Future[None]] = set()
        self._sent = self._acks = 0  # update messages sent / acknowledged on this connection
        self._unsent = False  # edits made while offline, not yet sent
        self.doc.observe(self._local_change)

    # -- connection -----------------------------------------------------------------------

    async def connect(self, within: float = 10.0) -> YClient:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        self._synced.clear()
        self.close_code, self.close_reason = None, ""
        self._sent, self._acks = 0, -1  # the first "saved" comes with joining
        self._ws = await connect(
            self.url,
            origin=self.origin,  # type: ignore[arg-type]
            additional_headers=headers,
            compression=None,
            open_timeout=within,
            max_size=None,
            proxy=None,
        )
        self._reader = asyncio.create_task(self._read(self._ws))
        with contextlib.suppress(ConnectionClosed):  # refused: the reader keeps code and reason
            await self.send(protocol.SyncStep1(self.doc.get_state()))
        return self

    async def send(self, message: protocol.Message) -> None:
        await self.send_raw(protocol.encode(message))
        if isinstance(message, protocol.SyncStep2 | protocol.Update):
            self._sent += 1

    async def send_raw(self, data: bytes | str) -> None:
        if self._ws is None:
            raise ConnectionError("not connected")
        await self._ws.send(data)

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for data in ws:
                if isinstance(data, str):
                    continue
                self._handle(protocol.decode(data))
        except ConnectionClosed:
            pass
        finally:
            if ws.close_code is not None:
                self.close_code = ws.close_code
                self.close_reason = ws.close_reason or ""
            elif self.close_code is None:
                self.close_code = 1006
            self._changed.set()

    def _handle(self, message: protocol.Message) -> None:
        self.messages += 1
        match message:
            case protocol.SyncStep1(state_vector):
                self._send_soon(protocol.SyncStep2(self.doc.get_update(state_vector)))
                self._unsent = False
            case protocol.SyncStep2(update):
                self._apply(update)
                self._synced.set()
            case protocol.Update(update):
                self._apply(update)
                if self.on_update is not None:
                    self.on_update(update)
            case protocol.Saved(state_vector):
                self.saved_vectors.append(state_vector)
                self._acks += 1
            case protocol.AuthDenied(reason):
                self.denied.append(reason)
            case protocol.Awareness(payload):
                for entry in protocol.decode_awareness(payload):
                    self.presence[entry.client_id] = entry.state
        self._changed.set()

    def _apply(self, update: bytes) -> None:
        self.received.append(update)
        self._applying = True
        try:
            self.doc.apply_update(update)
        finally:
            self._applying = False

    def _local_change(self, event: TransactionEvent) -> None:
        if self._applying:
            return
        if self._ws is None or self.close_code is not None:
            self._unsent = True  # offline: sync step 2 sends it on the next connect
            return
        self._send_soon(protocol.Update(event.update))

    def _send_soon(self, message: protocol.Message) -> None:
        ws = self._ws
        if ws is None:
            return
        data = protocol.encode(message)
        if isinstance(message, protocol.SyncStep2 | protocol.Update):
            self._sent += 1
        task = asyncio.ensure_future(ws.send(data))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)
        task.add_done_callback(_ignore_closed)

    async def flush(self) -> None:
        """Wait until every edit made so far has been handed to the socket."""
        if self._sending:
            await asyncio.wait(list(self._sending))

    async def set_presence(self, state: str | None, clock: int) -> None:
        """Announce this device's presence (a JSON text, or None when leaving)."""
        entry = protocol.AwarenessState(self.doc.client_id, clock, state)
        await self.send(protocol.Awareness(protocol.encode_awareness([entry])))

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader
        self._ws = None

    def drop(self) -> None:
        """Vanish without a close frame (a tablet that walks out of Wi-Fi range)."""
        if self._ws is not None:
            self._ws.transport.abort()
        self._ws = None

    # -- waiting --------------------------------------------------------------------------

    async def synced(self, within: float = 10.0) -> None:
        await asyncio.wait_for(self._synced.wait(), within)

    async def wait_for(self, condition: Callable[[], bool], within: float = 10.0) -> None:
        """Wait until ``condition()`` holds, checking after every message (bounded)."""
        deadline = time.monotonic() + within
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("condition not met in time")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))

    async def wait_closed(self, within: float = 10.0) -> tuple[int, str]:
        await self.wait_for(lambda: self.close_code is not None, within)
        assert self.close_code is not None
        return self.close_code, self.close_reason

    def text(self, name: str = "text") -> Text:
        text: Text = self.doc.get(name, type=Text)
        return text

    def all_saved(self) -> bool:
        """Whether the server has stored every edit made on this device (its "saved" sign).

        The server answers each update message of a ``saved=True`` device with one "saved"
        message once it is on disk (the first one arrives on joining), so counting them
        covers deletions too, which do not move the state vector.
        """
        connected = self._ws is not None and self.close_code is None
        return connected and not self._unsent and self._acks >= self._sent


def _ignore_closed(task: asyncio.Future[None]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: a send on a closing socket is expected
