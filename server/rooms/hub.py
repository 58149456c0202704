"""The rooms of one process: loads each document once, routes websockets, unloads idle rooms.

Ten tablets opening a document that is not loaded yet share one load: the first starts it as
a task of its own (so a tablet that gives up cannot cancel it for the others) and everyone
awaits that task. A load that fails is never replaced by an empty document: the tablets are
told to try again, and the next attempt reads the database afresh.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, MutableMapping
from typing import Any, Protocol

from pycrdt import Doc

from server import i18n, metrics
from server.limits import Limits
from server.rooms import ended, protocol
from server.rooms.broker import Broker, LocalBroker, Notice
from server.rooms.connection import Closed, Connection, Peer, Socket
from server.rooms.control import ERASED, RoomControl, access_of, refusal_of, told
from server.rooms.protocol import CloseCode, ProtocolError
from server.rooms.room import DocChannel, PhaseState, Room
from server.rules import phases
from server.rules.phases import Access
from server.storage.documents import DocumentLog

log = logging.getLogger("kring.rooms")

RESTARTING = i18n.N_("De server start opnieuw op.")
KEEP_ALIVE_SECONDS = 15.0
KEEP_ALIVE = protocol.encode(protocol.Awareness(protocol.encode_awareness([])))
ROOM_FULL = i18n.N_("Er zijn te veel verbindingen met deze conferentie.")
TOO_MANY_ON_DEVICE = i18n.N_(
    "Dit apparaat heeft dit document al te vaak open. Sluit een ander tabblad en probeer opnieuw."
)
TOO_MANY_FOR_PERSON = i18n.N_(
    "Je hebt al te veel verbindingen open. Sluit Kring op een ander apparaat of tabblad."
)


# How often a device that keeps writing is told to ``on_written``. The audit log coalesces a
# repeat into the row it repeats only while that row is less than a quarter of an hour old
# (AUDIT_COALESCE), so each telling must come well within it: told once a quarter of an hour,
# the next telling (with the first edit after it) found the row just too old, and a tablet
# writing all evening was a new row every quarter of an hour.
WRITTEN_TOLD_SECONDS = 10 * 60


class RoomUnavailable(Exception):
    """The document could not be loaded (the database failed); nothing was created."""


class ServerSocket(Socket, Protocol):
    """A socket the hub reads from: an ASGI websocket's ``receive`` gives message dicts
    (``{"type": "websocket.receive", "bytes": ...}``)."""

    async def receive(self) -> MutableMapping[str, Any]: ...


class RoomHub(RoomControl):
    """Every loaded room of this process."""

    def __init__(self, log: DocumentLog, limits: Limits, broker: Broker | None = None) -> None:
        self.log = log
        self.limits = limits
        # The other processes serving the same rooms (none: a LocalBroker relays nothing).
        self.broker: Broker = broker or LocalBroker()
        # Family members present per conference as other processes last said: {process: ids}.
        self.remote_present: dict[str, dict[str, frozenset[int]]] = {}
        # ... and their sign-ins with a document open: {process: {participant: sessions}}.
        self.remote_sessions: dict[str, dict[str, dict[int, frozenset[int]]]] = {}
        self.rooms: dict[str, Room] = {}
        self.closing = False
        # The latest phase change per conference, also for rooms not loaded when it came: a
        # device authorised just before it must not join with the old phase's access.
        # (phase, action team, phase_since as a timestamp, supporters: see PhaseState).
        self.latest: dict[str, PhaseState] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        # Conferences erased while this process ran: never loaded again.
        self.erased: set[str] = set()
        # Told the conference id whenever someone joins or leaves one of its documents.
        self.on_presence: Callable[[str], None] | None = None
        # Told a console event another process published: (conference id, name, data).
        self.on_event: Callable[[str, str, dict[str, Any]], None] | None = None
        # Told the conference id when it is erased (here or on another process).
        self.on_erased: Callable[[str], None] | None = None
        # Told the ids of sign-ins that ended (here or on another process).
        self.on_sessions_ended: Callable[[frozenset[int]], None] | None = None
        # Told (conference id, participant id, account id) of someone dropped from a
        # conference (here or on another process), one of the two ids set.
        self.on_dropped: Callable[[str, int | None, int | None], None] | None = None
        # Told (conference id, document, who) when a device's edit is committed here: at its
        # first edit, then at most once per WRITTEN_TOLD_SECONDS while it goes on (the access
        # report's "wrote in"; never per edit).
        self.on_written: Callable[[str, str, Peer], None] | None = None
        # Sign-ins ended and people dropped lately: a device checked just before, joining
        # just after, is refused rather than let in (nothing was there to close yet).
        self.ended = ended.EndedLately()

    def written(self, conference_id: str, document: str, conn: Connection) -> None:
        """A device's edit was committed: tell ``on_written`` if it is this connection's first
        in WRITTEN_TOLD_SECONDS."""
        now = time.monotonic()
        if self.on_written is None or (
            conn.written_told is not None and now - conn.written_told < WRITTEN_TOLD_SECONDS
        ):
            return
        conn.written_told = now
        try:
            self.on_written(conference_id, document, conn.peer)
        except Exception:  # telling must never undo or stop the edit's broadcast
            log.exception("%s/%s: a write by %s was not told", conference_id, document, conn.peer)

    def track(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- loading --------------------------------------------------------------------------

    async def channel(self, conference_id: str, document: str) -> DocChannel:
        room = self.rooms.get(conference_id)
        if room is None:
            room = self.rooms[conference_id] = Room(self, conference_id)
            if conference_id in self.latest:
                room.apply(self.latest[conference_id])
        channel = room.channels.get(document)
        if channel is not None:
            return channel
        loading = room.loading.get(document)
        if loading is None:
            loading = asyncio.ensure_future(self._load(room, document))
            room.loading[document] = loading
        return await asyncio.shield(loading)

    async def _load(self, room: Room, document: str) -> DocChannel:
        # What other processes commit while this load reads the database is kept and applied
        # after it (the read may or may not have seen it; applying twice changes nothing).
        early = room.early.setdefault(document, [])
        try:
            with metrics.heavy("document load"):  # a long log is read and applied on the loop
                stored = await self.log.load(room.conference_id, document)
                channel = DocChannel(room, document, stored)
            for message in early:
                channel.remote_update(message.payload, int(message.meta.get("id", 0)))
        except Exception as exc:
            log.error("%s/%s could not be loaded: %s", room.conference_id, document, exc)
            room.early.pop(document, None)
            room.loading.pop(document, None)
            if not room.channels and not room.loading:
                self.rooms.pop(room.conference_id, None)
            raise RoomUnavailable(str(exc)) from None
        room.early.pop(document, None)
        room.loading.pop(document, None)
        room.channels[document] = channel
        log.info(
            "%s/%s loaded (%d logged updates after the snapshot)",
            room.conference_id,
            document,
            len(stored.updates),
        )
        if channel.logged >= self.limits.compact_after:  # so the next load is quick
            channel.start_compaction()
        self.schedule_unload(channel)  # in case everyone who asked has gone meanwhile
        return channel

    async def document_state(self, conference_id: str, document: str) -> bytes:
        """The committed content of a document (a Yjs update), for pages and exports. Uses
        the loaded room if there is one, else reads the store without loading a room."""
        room = self.rooms.get(conference_id)
        channel = room.channels.get(document) if room is not None else None
        if channel is not None:
            return channel.content()
        try:
            return await self.log.state(conference_id, document)
        except Exception as exc:
            raise RoomUnavailable(str(exc)) from None

    def schedule_unload(self, channel: DocChannel) -> None:
        if channel.connections or channel.unload_handle is not None:
            return
        loop = asyncio.get_running_loop()
        channel.unload_handle = loop.call_later(self.limits.idle_seconds, self._unload, channel)

    def _unload(self, channel: DocChannel) -> None:
        channel.unload_handle = None
        if channel.connections:
            return
        if channel.inflight or channel.compacting:  # a commit will still apply to it
            self.schedule_unload(channel)
            return
        room = channel.room
        if room.channels.get(channel.name) is channel:
            del room.channels[channel.name]
        if not room.channels and not room.loading and self.rooms.get(room.conference_id) is room:
            del self.rooms[room.conference_id]
        log.info("%s unloaded", channel.key)

    # -- connections ----------------------------------------------------------------------

    async def serve(
        self,
        socket: ServerSocket,
        conference_id: str,
        document: str,
        peer: Peer,
        phase: str,
        *,
        wants_saved: bool = False,
    ) -> None:
        """Run one accepted websocket until it closes: join, sync, relay, leave.

        ``phase`` is the phase the connection was authorised in. If the room has seen a
        later phase change meanwhile (while this one was loading), that one counts.
        """
        access = phases.connection_access(
            phase,
            peer.role,
            document,
            action_team_member=peer.action_team_member,
            supporter=peer.supporter,
            presenting=peer.presenting,
        )
        conn = Connection(socket, peer, access, wants_saved=wants_saved, limits=self.limits)
        if access == Access.NONE:
            with i18n.using(peer.language):
                reason = phases.refusal_reason(
                    phase, document, role=peer.role, supporter=peer.supporter
                )
            await _refuse(conn, CloseCode.FORBIDDEN, reason, "forbidden")
            return
        if self.closing:
            restarting = told(peer, i18n.gettext, RESTARTING)
            await _refuse(conn, CloseCode.SERVICE_RESTART, restarting, "restarting")
            return
        if conference_id in self.erased:
            await _refuse(conn, CloseCode.LOST_ACCESS, told(peer, i18n.gettext, ERASED), "erased")
            return
        try:
            channel = await self.channel(conference_id, document)
        except RoomUnavailable:
            reason = told(
                peer,
                i18n.gettext,
                i18n.N_("Dit document kan nu niet geladen worden. Probeer het zo opnieuw."),
            )
            await _refuse(conn, CloseCode.INTERNAL_ERROR, reason, "unavailable")
            return
        if conference_id in self.erased:  # erased while it was loading
            await _refuse(conn, CloseCode.LOST_ACCESS, told(peer, i18n.gettext, ERASED), "erased")
            return
        room = channel.room
        if room.phase is not None and (
            room.phase != phase
            or (peer.participant_id in room.action_team) != peer.action_team_member
            or room.is_supporter(peer.participant_id, peer.supporter) != peer.supporter
        ):
            access = access_of(room, peer, document)
            if access == Access.NONE:
                lost = refusal_of(room, peer, document)
                await _refuse(conn, CloseCode.LOST_ACCESS, lost, "lost_access")
                return
            conn.access = access
        gone = self.ended.since(
            ended.keys(conference_id, peer.session_id, peer.participant_id, peer.account_id),
            peer.checked_at,
        )
        if gone is not None:  # it ended between the device's check and now
            await _refuse(conn, CloseCode.LOST_ACCESS, told(peer, i18n.gettext, gone), "ended")
            return
        refusal = self._fair_share(channel, peer)
        if refusal is not None:
            code, why = refusal
            log.warning("%s: refused %s: %s", channel.key, peer, why)
            await _refuse(conn, code, told(peer, i18n.gettext, why), _COUNTED_AS[why])
            return
        conn.start()
        channel.join(conn)
        self._presence_changed(conference_id)
        try:
            await self._relay(socket, channel, conn)
        except (ProtocolError, Closed) as exc:
            code = exc.code
            log.warning("%s: closed %s with %d: %s", channel.key, peer, code, exc.reason)
            conn.close_code, conn.close_reason = code, exc.reason
            await conn.finish()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not conn.dropped or task is None:
                raise
            task.uncancel()  # we dropped it ourselves: end quietly, uvicorn drops the socket
            log.warning("%s: dropped %s: %s", channel.key, peer, conn.close_reason)
        finally:
            channel.leave(conn)
            self._presence_changed(conference_id)
            await conn.stopped()

    def _fair_share(self, channel: DocChannel, peer: Peer) -> tuple[int, str] | None:
        """Why this connection would take more than its share (None: it may join). Counted on
        this process: one device (session) opens at most a few sockets per document, one
        person at most a dozen over all documents and devices, and the last places of a
        full room are kept for the family, so nobody can crowd the family out of its plan."""
        limits = self.limits
        same_device = sum(
            1
            for conn in channel.connections
            if not conn.closed
            and peer.session_id is not None
            and conn.peer.session_id == peer.session_id
        )
        if same_device >= limits.connections_per_session:
            return CloseCode.POLICY_VIOLATION, TOO_MANY_ON_DEVICE
        same_person = sum(
            1
            for _channel, conn in channel.room.connections()
            if not conn.closed and _same_person(conn.peer, peer)
        )
        if same_person >= limits.connections_per_person:
            return CloseCode.POLICY_VIOLATION, TOO_MANY_FOR_PERSON
        room_limit = limits.connections_per_room
        if peer.role not in phases.FAMILY:
            room_limit -= limits.family_reserved_connections
        if channel.room.connection_count() >= room_limit:
            return CloseCode.TRY_AGAIN_LATER, ROOM_FULL
        return None

    def _presence_changed(self, conference_id: str) -> None:
        if self.broker.relays:
            here = sorted(i for i in self._here(conference_id, phases.FAMILY) if i is not None)
            sessions = {
                str(pid): sorted(ids)
                for pid, ids in self._connected(conference_id, phases.FAMILY).items()
            }
            meta = {"ids": here, "sessions": sessions}
            self.broker.publish(Notice("here", conference_id, meta=meta))
        if self.on_presence is not None:
            self.on_presence(conference_id)

    def _here(self, conference_id: str, roles: frozenset[str]) -> set[int | None]:
        room = self.rooms.get(conference_id)
        if room is None:
            return set()
        return {
            conn.peer.participant_id
            for _channel, conn in room.connections()
            if conn.peer.role in roles and not conn.closed
        }

    def _connected(self, conference_id: str, roles: frozenset[str]) -> dict[int, set[int]]:
        room = self.rooms.get(conference_id)
        found: dict[int, set[int]] = {}
        if room is None:
            return found
        for _channel, conn in room.connections():
            peer = conn.peer
            if (
                peer.role in roles
                and not conn.closed
                and peer.participant_id is not None
                and peer.session_id is not None
            ):
                found.setdefault(peer.participant_id, set()).add(peer.session_id)
        return found

    def connected_sessions(self, conference_id: str) -> dict[int, set[int]]:
        """Which sign-ins of the family have a document open now, per participant, on any
        process: what the family's "who is in" list shows."""
        found = self._connected(conference_id, phases.FAMILY)
        for there in self.remote_sessions.get(conference_id, {}).values():
            for participant_id, ids in there.items():
                found.setdefault(participant_id, set()).update(ids)
        return found

    def present(self, conference_id: str, roles: frozenset[str]) -> int:
        """How many people (not devices) with one of ``roles`` have a document open, on any
        process (other processes count family members only: the console's question)."""
        here = self._here(conference_id, roles)
        if roles == phases.FAMILY:
            for ids in self.remote_present.get(conference_id, {}).values():
                here |= ids
        return len(here)

    async def _relay(self, socket: ServerSocket, channel: DocChannel, conn: Connection) -> None:
        max_bytes = self.limits.max_message_bytes
        while not conn.closed:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None:
                raise protocol.UnsupportedMessage("text messages are not part of the protocol")
            if len(data) > max_bytes:
                metrics.REFUSED.labels("too_big").inc()
                raise Closed(CloseCode.MESSAGE_TOO_BIG, f"message larger than {max_bytes} bytes")
            await channel.handle(conn, data)

    def held(self) -> tuple[dict[str, int], int, int]:
        """Open connections per kind of document, conferences and documents loaded (for
        /metrics, read when it is asked)."""
        connections: dict[str, int] = {}
        documents = 0
        for room in self.rooms.values():
            for name, channel in room.channels.items():
                connections[name] = connections.get(name, 0) + len(channel.connections)
                documents += 1
        return connections, len(self.rooms), documents

    # -- keep-alive ------------------------------------------------------------------------

    async def connect(self) -> None:
        """Join the other processes (with a broker that relays); raises if it cannot."""
        if self.broker.relays:
            self.log.on_phases = self.seen_phases
        await self.broker.start(self.deliver, self.resync)

    def start(self) -> None:
        # pycrdt's first Doc imports anyio's asyncio backend, about 20 ms: here at start-up,
        # not on the event loop while the first device after a restart joins.
        Doc()
        self.track(asyncio.create_task(self._keep_alive(), name="kring-keep-alive"))

    async def _keep_alive(self) -> None:
        """Send a quiet device an empty presence message now and then.

        The y-websocket provider reconnects when it has heard nothing for 30 seconds; a
        reader, or someone alone in a document, would otherwise churn forever.
        """
        interval = KEEP_ALIVE_SECONDS
        while not self.closing:
            await asyncio.sleep(interval / 2)
            quiet_since = time.monotonic() - interval
            for room in list(self.rooms.values()):
                for _channel, conn in room.connections():
                    if conn.last_sent < quiet_since:
                        conn.send(KEEP_ALIVE)

    # -- shutdown -------------------------------------------------------------------------

    async def close(self) -> None:
        """Commit what was handed in, then close every connection (they reconnect)."""
        self.closing = True
        for task in list(self._tasks):
            if task.get_name() == "kring-keep-alive":
                task.cancel()
        await self.log.close()
        await self.broker.close()
        for room in list(self.rooms.values()):
            for _channel, conn in room.connections():
                conn.close(CloseCode.SERVICE_RESTART, told(conn.peer, i18n.gettext, RESTARTING))
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)


def _same_person(a: Peer, b: Peer) -> bool:
    if a.participant_id is not None or b.participant_id is not None:
        return a.participant_id == b.participant_id
    return a.account_id is not None and a.account_id == b.account_id


# A fair-share refusal as /metrics counts it.
_COUNTED_AS = {
    ROOM_FULL: "room_full",
    TOO_MANY_ON_DEVICE: "too_many_on_device",
    TOO_MANY_FOR_PERSON: "too_many_for_person",
}


async def _refuse(conn: Connection, code: int, reason: str, counted_as: str) -> None:
    metrics.JOINS_REFUSED.labels(counted_as).inc()
    conn.close_code, conn.close_reason = code, reason
    await conn.finish()
