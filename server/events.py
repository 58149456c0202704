"""Live events of a conference for the coordinator's console (server-sent events).

Each process delivers to its own listeners; with several processes (``KRING_REDIS_URL``) an
event is also handed to ``relay``, which tells the other processes (the room hub's broker),
and they ``deliver`` it to theirs. A listener that cannot keep up loses its stream (it
reconnects and reloads the state) rather than holding memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

QUEUE_LIMIT = 100


@dataclass(frozen=True)
class Event:
    name: str  # "status" (phase, family present), "signal", "phase"
    data: dict[str, Any] = field(default_factory=dict)


CLOSE = Event("close")
_BUSES: weakref.WeakSet[Events] = weakref.WeakSet()


class Events:
    """Publish/subscribe per conference."""

    def __init__(self, relay: Callable[[str, Event], None] | None = None) -> None:
        self.relay = relay
        self._listeners: dict[str, set[asyncio.Queue[Event]]] = {}
        self._loop = asyncio.get_running_loop()
        self.closed = False
        _BUSES.add(self)

    @contextmanager
    def listen(self, conference_id: str) -> Iterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_LIMIT + 1)
        if self.closed:
            queue.put_nowait(CLOSE)
        listeners = self._listeners.setdefault(conference_id, set())
        listeners.add(queue)
        try:
            yield queue
        finally:
            listeners.discard(queue)
            if not listeners and self._listeners.get(conference_id) is listeners:
                del self._listeners[conference_id]

    def listening(self, conference_id: str) -> int:
        return len(self._listeners.get(conference_id, ()))

    def publish(self, conference_id: str, event: Event, *, relay: bool = True) -> None:
        """Deliver ``event`` here and (unless ``relay`` is false: an event each process
        makes for itself) on every other process."""
        if relay and self.relay is not None:
            self.relay(conference_id, event)
        self.deliver(conference_id, event)

    def deliver(self, conference_id: str, event: Event) -> None:
        """Deliver to this process's listeners only."""
        for queue in list(self._listeners.get(conference_id, ())):
            if queue.qsize() >= QUEUE_LIMIT:  # stuck: end its stream; the browser reconnects
                queue.put_nowait(CLOSE)
                self._listeners[conference_id].discard(queue)
            else:
                queue.put_nowait(event)

    def end(self, conference_id: str) -> None:
        """End every stream of one conference (it was erased)."""
        for queue in self._listeners.pop(conference_id, set()):
            with contextlib.suppress(asyncio.QueueFull):  # full: it holds a CLOSE already
                queue.put_nowait(CLOSE)

    def close(self) -> None:
        """End every stream (the server is stopping; browsers reconnect to the next one)."""
        self.closed = True
        for listeners in self._listeners.values():
            for queue in listeners:
                queue.put_nowait(CLOSE)

    def close_soon(self) -> None:
        """:meth:`close`, safe to call from a signal handler."""
        self._loop.call_soon_threadsafe(self.close)


def shutdown_all() -> None:
    """The process was asked to stop: end the event streams now, so the graceful shutdown
    does not wait for them (a stream never completes on its own)."""
    for bus in list(_BUSES):
        if not bus._loop.is_closed():
            bus.close_soon()
