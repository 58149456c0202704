"""Live events of a conference for the coordinator's console (server-sent events).

Each process delivers to its own listeners; with several processes (``KRING_REDIS_URL``) an
event is also handed to ``relay``, which tells the other processes (the room hub's broker),
and they ``deliver`` it to theirs. A listener that cannot keep up loses its stream (it
reconnects and reloads the state) rather than holding memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from server.rooms import ended

QUEUE_LIMIT = 100


@dataclass(frozen=True)
class Event:
    name: str  # "status" (phase, family present), "signal", "phase", "changed"
    data: dict[str, Any] = field(default_factory=dict)


# Something the console shows changed (a signal taken back, a condition, an answer, marks,
# the action team, who came to a follow-up). It carries nothing: the console reads its state
# again from the server, which shows it what the permission table lets it see.
CHANGED = Event("changed")


CLOSE = Event("close")
# Told a stream just before its CLOSE when its sign-in ended (a page that waits for the family
# reloads on it, and finds itself signed out).
ENDED = Event("ended")


@dataclass(frozen=True)
class Listener:
    """Whose stream it is (all None: nobody in particular)."""

    session_id: int | None = None
    participant_id: int | None = None
    account_id: int | None = None
    # When its sign-in was checked (monotonic): what ended after that ends the stream.
    checked_at: float = field(default_factory=time.monotonic, compare=False)


_BUSES: weakref.WeakSet[Events] = weakref.WeakSet()


class Events:
    """Publish/subscribe per conference."""

    def __init__(self, relay: Callable[[str, Event], None] | None = None) -> None:
        self.relay = relay
        self._listeners: dict[str, set[asyncio.Queue[Event]]] = {}
        # Whose stream each queue is, so ending a session, removing a person or taking a
        # coordinator off a conference ends their streams too.
        self._owners: dict[asyncio.Queue[Event], Listener] = {}
        # What ended lately: a stream checked just before that starts listening just after.
        self._ended = ended.EndedLately()
        self._loop = asyncio.get_running_loop()
        self.closed = False
        _BUSES.add(self)

    @contextmanager
    def listen(
        self, conference_id: str, who: Listener | None = None
    ) -> Iterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_LIMIT + 1)
        if self.closed:
            queue.put_nowait(CLOSE)
        listeners = self._listeners.setdefault(conference_id, set())
        listeners.add(queue)
        who = who or Listener()
        self._owners[queue] = who
        keys = ended.keys(conference_id, who.session_id, who.participant_id, who.account_id)
        if self._ended.since(keys, who.checked_at) is not None:
            self._end_where(lambda other: other is who, listeners)
        try:
            yield queue
        finally:
            listeners.discard(queue)
            self._owners.pop(queue, None)
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

    def end_sessions(self, session_ids: frozenset[int]) -> None:
        """End every stream opened with one of these sign-ins (they ended)."""
        for session_id in session_ids:
            self._ended.add(("session", session_id))
        self._end_where(lambda who: who.session_id in session_ids)

    def end_person(
        self,
        conference_id: str,
        *,
        participant_id: int | None = None,
        account_id: int | None = None,
    ) -> None:
        """End someone's streams of one conference: a participant removed or whose link was
        revoked, a coordinator who no longer runs it."""
        for key in ended.keys(conference_id, None, participant_id, account_id):
            self._ended.add(key)
        listeners = self._listeners.get(conference_id, set())
        self._end_where(
            lambda who: (
                (participant_id is not None and who.participant_id == participant_id)
                or (account_id is not None and who.account_id == account_id)
            ),
            listeners,
        )

    def _end_where(
        self, whose: Callable[[Listener], bool], among: set[asyncio.Queue[Event]] | None = None
    ) -> None:
        for queue, who in list(self._owners.items()):
            if (among is None or queue in among) and whose(who):
                for listeners in self._listeners.values():
                    listeners.discard(queue)
                while not queue.empty():  # nothing more for them, not even what was queued
                    queue.get_nowait()
                queue.put_nowait(ENDED)
                queue.put_nowait(CLOSE)

    def session_ids(self) -> set[int]:
        """The sign-ins behind the open streams of this process."""
        return {who.session_id for who in self._owners.values() if who.session_id is not None}

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
