"""What `kring serve` adds to uvicorn's protocols: a deadline for a request's headers (HTTP/1.1),
and finished frames written straight to a websocket (``FrameWritingProtocol``, at the end).

uvicorn closes a connection that stays idle after a response (``timeout_keep_alive``), but a
fresh connection, or one that sent half a request line and then stalls, is kept open for ever:
a few hundred such sockets hold the server's file descriptors (a "slowloris"). Here each
connection must finish the headers of its next request within ``KRING_HTTP_HEADER_TIMEOUT``
seconds of opening or of its previous response, and may send at most ``MAX_HEADER_BYTES``
before they are complete; otherwise it is closed. A request whose headers arrived (a long
upload, an event stream) is not cut off, and a websocket is no longer this protocol's.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

from server.rooms.connection import FRAMES_EXTENSION

MAX_HEADER_BYTES = 64 * 1024
# At shutdown, how long a websocket still owed frames may take to read them and its close.
SHUTDOWN_GRACE_SECONDS = 2.0


def header_deadline_protocol(timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol, closing connections whose headers do not arrive within
    ``timeout`` seconds."""

    class HeaderDeadlineProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None
        _waiting_since: Any = None  # the request cycle that was current when the clock started
        _pending_bytes = 0

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._start_clock()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_clock()
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._start_clock()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.transport.get_protocol() is not self:  # upgraded: a websocket's now
                self._stop_clock()  # (its timer would keep this protocol alive until it fires)
                return
            if self._between_requests():
                self._pending_bytes += len(data)
                if self._pending_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
                    self.transport.close()

        def _between_requests(self) -> bool:
            """No new request's headers since the clock started, and none being answered."""
            return self.cycle is self._waiting_since and (
                self.cycle is None or self.cycle.response_complete
            )

        def _start_clock(self) -> None:
            self._stop_clock()
            self._waiting_since = self.cycle
            self._pending_bytes = 0
            self._deadline = self.loop.call_later(timeout, self._too_slow)

        def _stop_clock(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            upgraded = self.transport.get_protocol() is not self  # now a websocket's
            if not upgraded and self._between_requests() and not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadlineProtocol


class _Frames:
    """A FrameWriter over one uvicorn websocket connection (see server/rooms/connection.py)."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    def is_open(self) -> bool:
        # A close from either side sets close_sent or closes the transport (uvicorn answers a
        # client's close frame and closes it at once); a lost connection closes it too.
        protocol = self._protocol
        return not protocol.close_sent and not protocol.transport.is_closing()

    def buffered(self) -> int:
        return self._protocol.transport.get_write_buffer_size()

    def write(self, frame: bytes) -> None:
        self._protocol.transport.write(frame)

    def abort(self) -> None:
        self._protocol.transport.abort()


class FrameWritingProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websocket protocol (on websockets' sans-I/O core), offering the app a
    FrameWriter in the scope: the rooms write a broadcast's frame, made once, to every
    receiver's transport, instead of one ASGI send (and one framing) per receiver."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)  # makes the scope; the app's task has not run yet
        if self.response.status_code != 101:  # refused (no key, a wrong version): no scope
            return
        self.scope["extensions"][FRAMES_EXTENSION] = _Frames(self)  # type: ignore[assignment]

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # The handshake's request and response are not read again once the websocket is
            # open, and with their headers (a list per header) they were a quarter of the
            # objects an open connection kept for every full garbage collection to walk.
            del self.request, self.response

    def shutdown(self) -> None:
        """The server stops: uvicorn sends a close frame (1012) behind whatever is buffered and
        closes the transport, which stays open until that is sent. A device that reads takes
        it in a moment; one whose app froze would keep it open for ever, and uvicorn waits
        for every connection (its whole graceful timeout) before the app's own shutdown, which
        commits what is pending. Past a short grace, such a connection is dropped."""
        super().shutdown()
        if self.transport.get_write_buffer_size():
            self.loop.call_later(SHUTDOWN_GRACE_SECONDS, self._drop_if_open)

    def _drop_if_open(self) -> None:
        if not self.disconnected:
            self.transport.abort()

    def keepalive_timeout(self) -> None:
        """No pong in time: uvicorn sends a close frame and closes the transport, which first
        tries to send everything still buffered (up to ``send_queue_bytes`` of frames), and
        a device that reads nothing never takes it: the connection, its frames and the
        room's task reading it would stay for as long as the device is frozen. Drop it."""
        open_until_now = not self.close_sent and not self.transport.is_closing()
        super().keepalive_timeout()
        if open_until_now:
            self.transport.abort()
