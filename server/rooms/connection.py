"""One websocket in one document, as the rooms see it: who is on the other end (``Peer``), and
the connection with its access, its bounded send queue and its message budget.

Sending never waits, so a slow or gone receiver never delays anyone else. Under `kring serve`
a message goes out as a finished websocket frame written straight to the connection's
transport (``FrameWriter``): a broadcast frames its message once for the whole room, and no
task per connection is woken per message. Elsewhere (another ASGI server) a task of its own
drains a queue through the socket's ``send_bytes``. Either way, a receiver with more than
``send_queue_bytes`` waiting is dropped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from server import i18n, metrics
from server.limits import Limits
from server.rooms.protocol import CloseCode
from server.rules.phases import Access

log = logging.getLogger("kring.rooms")


# The ASGI scope extension under which `kring serve`'s websocket protocol offers a FrameWriter.
FRAMES_EXTENSION = "kring.frames"


class FrameWriter(Protocol):
    """Writes finished frames straight to one websocket connection, in order with whatever
    its ASGI ``send`` writes (server/httpserver.py)."""

    def is_open(self) -> bool: ...

    def buffered(self) -> int:
        """Bytes written but not yet taken by the network."""
        ...

    def write(self, frame: bytes) -> None: ...

    def abort(self) -> None:
        """Drop the connection at once, with whatever is still buffered for it."""
        ...


def binary_frame(message: bytes) -> bytes:
    """A server's frame of one whole binary message: final, unmasked, uncompressed
    (RFC 6455, section 5.2)."""
    size = len(message)
    if size < 126:
        return bytes((0x82, size)) + message
    if size < 1 << 16:
        return b"\x82\x7e" + size.to_bytes(2, "big") + message
    return b"\x82\x7f" + size.to_bytes(8, "big") + message


def frame_writer(socket: object) -> FrameWriter | None:
    """The socket's FrameWriter, when its server offers one."""
    scope = getattr(socket, "scope", None)
    if not isinstance(scope, dict):
        return None
    writer: FrameWriter | None = scope.get("extensions", {}).get(FRAMES_EXTENSION)
    return writer


@dataclass(eq=False)
class Unsaved:
    """One update of a device that waits for its commit."""

    size: int
    committed: asyncio.Future[int] | None = None
    # Messages the device sent after it that store nothing: acknowledged right after it.
    acknowledgements_after: int = 0


def not_saved(conn: Connection, unsaved: Unsaved, done: asyncio.Future[int]) -> None:
    """A commit ended: if it failed, the update was neither applied nor shown; the device
    keeps it and sends it again when it reconnects, so close it with a reason."""
    if not done.cancelled() and done.exception() is None:
        return
    conn.saved(unsaved)
    if not conn.closed:  # closed already (its conference was erased): that reason stands
        metrics.REFUSED.labels("not_saved").inc()
        log.warning("an edit of %s was not saved: closing it", conn.peer)
        conn.close(CloseCode.INTERNAL_ERROR, "the edit was not saved; reconnect")


class Socket(Protocol):
    """What a room needs of a websocket (Starlette's WebSocket fits)."""

    async def send_bytes(self, data: bytes) -> None: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


@dataclass(frozen=True)
class Peer:
    """Who is on the other end (for permission checks and logs; never content)."""

    participant_id: int | None
    role: str
    name: str
    action_team_member: bool = False  # as it was when the connection was authorised
    language: str = i18n.DEFAULT_LANGUAGE  # what the server tells this person is in this
    session_id: int | None = None  # the sign-in on this device: ending it closes the socket
    account_id: int | None = None  # a coordinator's account (None for participants)
    # When its sign-in was checked (monotonic): what ended after that keeps it from joining.
    checked_at: float = field(default_factory=time.monotonic, compare=False)
    # A presentation view (the plan on the room's big screen): its own row of the table.
    presenting: bool = False
    # One of the client's supporters (the compass), as it was when the connection was
    # authorised; the room's own set (a later change) counts over it.
    supporter: bool = False

    def __str__(self) -> str:
        return f"{self.role}#{self.participant_id if self.participant_id is not None else '-'}"


class Closed(Exception):
    """Raised inside a connection's loop when it must end with this code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Connection:
    """One websocket in one document: its access, its send queue and its rate budget."""

    def __init__(
        self,
        socket: Socket,
        peer: Peer,
        access: Access,
        *,
        wants_saved: bool,
        limits: Limits,
    ) -> None:
        self.socket = socket
        self._frames = frame_writer(socket)
        self.peer = peer
        self.access = access
        self.wants_saved = wants_saved
        self.awareness_ids: set[int] = set()
        self.closed = False
        self.close_code: int | None = None
        self.close_reason = ""
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self._queue_limit = limits.send_queue_bytes
        self._ready = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._owner: asyncio.Task[Any] | None = None
        self._closing: asyncio.Task[None] | None = None
        self.dropped = False  # its task was cancelled by us, not by the server shutting down
        self.last_sent = time.monotonic()
        self.written_told: float | None = None  # when the hub last told of its writing
        # Its updates waiting for their commit, in the order sent (see DocChannel).
        self.unsaved: deque[Unsaved] = deque()
        self.unsaved_bytes = 0
        # Token bucket: a sustained rate with a burst of a few seconds' worth.
        self._rate = float(limits.messages_per_second)
        self._budget = self._burst = 4.0 * limits.messages_per_second
        self._refilled = time.monotonic()

    def start(self) -> None:
        self._owner = asyncio.current_task()
        if self._frames is None:
            self._pump = asyncio.create_task(self._drain(), name=f"kring-send-{self.peer}")

    def send(self, data: bytes, frame: bytes | None = None) -> None:
        """Queue a message; never waits. A receiver that cannot keep up is dropped. ``frame``
        is the message's ``binary_frame``, when the caller made it already (a broadcast)."""
        if self.closed:
            return
        frames = self._frames
        if frames is not None:
            if not frames.is_open():  # the client went away: its receive loop ends on its own
                self.closed = True
                return
            if frame is None:
                frame = binary_frame(data)
            waiting = frames.buffered()
            if waiting and waiting + len(frame) > self._queue_limit:
                self.abort("this device fell too far behind")
                return
            frames.write(frame)
            self.last_sent = time.monotonic()
            return
        if self._queue and self._queued_bytes + len(data) > self._queue_limit:
            self.abort("this device fell too far behind")
            return
        self._queue.append(data)
        self._queued_bytes += len(data)
        self.last_sent = time.monotonic()
        self._ready.set()

    def saved(self, unsaved: Unsaved) -> None:
        """One of its updates no longer waits (committed, or failed)."""
        try:
            self.unsaved.remove(unsaved)  # the oldest: commits keep the order sent
        except ValueError:
            return
        self.unsaved_bytes -= unsaved.size

    def allow_message(self) -> bool:
        now = time.monotonic()
        self._budget = min(self._burst, self._budget + (now - self._refilled) * self._rate)
        self._refilled = now
        if self._budget < 1.0:
            return False
        self._budget -= 1.0
        return True

    async def _drain(self) -> None:
        try:
            while True:
                while not self._queue:
                    self._ready.clear()
                    await self._ready.wait()
                data = self._queue.popleft()
                self._queued_bytes -= len(data)
                await self.socket.send_bytes(data)
        except asyncio.CancelledError:
            raise
        except Exception:  # the client went away: its receive loop ends on its own
            self.closed = True

    def close(self, code: int, reason: str) -> None:
        """Close from outside this connection's own task (lost access, shutdown)."""
        if self.closed:
            return
        self.closed = True
        self.close_code, self.close_reason = code, reason
        self._closing = asyncio.create_task(self.finish())

    async def finish(self) -> None:
        """Send what is queued (bounded), then the close frame with its code and reason."""
        self.closed = True
        pump = self._pump
        deadline = time.monotonic() + 2.0
        while self._queue and pump is not None and not pump.done():
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.005)
        if pump is not None:
            pump.cancel()
        try:
            await asyncio.wait_for(
                self.socket.close(self.close_code or CloseCode.NORMAL, self.close_reason),
                timeout=2.0,
            )
        except Exception:  # gone already, or its buffer is full: drop it
            if self._frames is not None and self._frames.is_open():  # no close frame went out
                self._drop_transport()
            self._cancel_owner()

    def abort(self, reason: str, *, force: bool = False) -> None:
        """Drop a receiver at once (its buffer is full, so no close frame could get through).
        ``force``: even if a close was begun (one that failed)."""
        if self.closed and not force:
            return
        self.closed = True
        self.close_code, self.close_reason = CloseCode.TRY_AGAIN_LATER, reason
        self._queue.clear()
        self._queued_bytes = 0
        if self._pump is not None:
            self._pump.cancel()
        self._drop_transport()
        self._cancel_owner()

    def _drop_transport(self) -> None:
        """Let go of a frame writer's connection now: closed the usual way, its transport
        would first try to send its backlog (up to ``send_queue_bytes``) and so hold it, and
        the socket, for as long as the device does not read: for ever, for a stuck one."""
        if self._frames is not None:
            self._frames.abort()

    def _cancel_owner(self) -> None:
        """End the connection's own task (its receive loop), which then drops the socket."""
        owner = self._owner
        if owner is not None and not owner.done() and owner is not asyncio.current_task():
            self.dropped = True
            owner.cancel()

    async def stopped(self) -> None:
        """The connection's own task is ending: let a close finish, or stop the pump."""
        self.closed = True
        if self._closing is not None:
            with contextlib.suppress(Exception):
                await self._closing
        elif self._pump is not None:
            self._pump.cancel()
