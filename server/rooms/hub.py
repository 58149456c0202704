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
from collections.abc import Callable, Collection, MutableMapping
from typing import Any, Protocol

from server import i18n
from server.rooms import ended, protocol
from server.rooms.broker import Broker, LocalBroker, Notice
from server.rooms.protocol import CloseCode, ProtocolError
from server.rooms.room import Closed, Connection, DocChannel, Peer, Room, Socket
from server.rules import phases
from server.rules.phases import Access
from server.settings import Limits
from server.storage.documents import DocumentLog

log = logging.getLogger("kring.rooms")

RESTARTING = i18n.N_("De server start opnieuw op.")
ERASED = i18n.N_("Deze conferentie is gewist.")
KEEP_ALIVE_SECONDS = 15.0
KEEP_ALIVE = protocol.encode(protocol.Awareness(protocol.encode_awareness([])))
RESYNCING = i18n.N_("De verbinding wordt vernieuwd.")
ROOM_FULL = i18n.N_("Er zijn te veel verbindingen met deze conferentie.")
TOO_MANY_ON_DEVICE = i18n.N_(
    "Dit apparaat heeft dit document al te vaak open. Sluit een ander tabblad en probeer opnieuw."
)
TOO_MANY_FOR_PERSON = i18n.N_(
    "Je hebt al te veel verbindingen open. Sluit Kring op een ander apparaat of tabblad."
)


class RoomUnavailable(Exception):
    """The document could not be loaded (the database failed); nothing was created."""


class ServerSocket(Socket, Protocol):
    """A socket the hub reads from: an ASGI websocket's ``receive`` gives message dicts
    (``{"type": "websocket.receive", "bytes": ...}``)."""

    async def receive(self) -> MutableMapping[str, Any]: ...


class RoomHub:
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
        # (phase, action team, phase_since as a timestamp; 0: not known).
        self.latest: dict[str, tuple[str, frozenset[int], float]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        # Conferences erased while this process ran: never loaded again.
        self.erased: set[str] = set()
        # Told the conference id whenever someone joins or leaves one of its documents.
        self.on_presence: Callable[[str], None] | None = None
        # Told a console event another process published: (conference id, name, data).
        self.on_event: Callable[[str, str, dict[str, Any]], None] | None = None
        # Told the conference id when another process erased it.
        self.on_erased: Callable[[str], None] | None = None
        # Told the ids of sign-ins that ended (here or on another process).
        self.on_sessions_ended: Callable[[frozenset[int]], None] | None = None
        # Told (conference id, participant id, account id) of someone dropped from a
        # conference (here or on another process), one of the two ids set.
        self.on_dropped: Callable[[str, int | None, int | None], None] | None = None
        # Sign-ins ended and people dropped lately: a device checked just before, joining
        # just after, is refused rather than let in (nothing was there to close yet).
        self.ended = ended.EndedLately()

    def track(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- loading --------------------------------------------------------------------------

    async def channel(self, conference_id: str, document: str) -> DocChannel:
        room = self.rooms.get(conference_id)
        if room is None:
            room = self.rooms[conference_id] = Room(self, conference_id)
            if conference_id in self.latest:
                room.phase, room.action_team, room.phase_since = self.latest[conference_id]
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
            return channel.doc.get_update()
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
        access = phases.access(
            phase, peer.role, document, action_team_member=peer.action_team_member
        )
        conn = Connection(socket, peer, access, wants_saved=wants_saved, limits=self.limits)
        if access == Access.NONE:
            reason = _told(peer, phases.refusal_reason, phase, document)
            await _refuse(conn, CloseCode.FORBIDDEN, reason)
            return
        if self.closing:
            await _refuse(conn, CloseCode.SERVICE_RESTART, _told(peer, i18n.gettext, RESTARTING))
            return
        if conference_id in self.erased:
            await _refuse(conn, CloseCode.LOST_ACCESS, _told(peer, i18n.gettext, ERASED))
            return
        try:
            channel = await self.channel(conference_id, document)
        except RoomUnavailable:
            reason = _told(
                peer,
                i18n.gettext,
                i18n.N_("Dit document kan nu niet geladen worden. Probeer het zo opnieuw."),
            )
            await _refuse(conn, CloseCode.INTERNAL_ERROR, reason)
            return
        if conference_id in self.erased:  # erased while it was loading
            await _refuse(conn, CloseCode.LOST_ACCESS, _told(peer, i18n.gettext, ERASED))
            return
        room = channel.room
        if room.phase is not None and (
            room.phase != phase
            or (peer.participant_id in room.action_team) != peer.action_team_member
        ):
            room_phase = room.phase
            access = _access(room, peer, document)
            if access == Access.NONE:
                reason = _told(peer, phases.refusal_reason, room_phase, document)
                await _refuse(conn, CloseCode.LOST_ACCESS, reason)
                return
            conn.access = access
        gone = self.ended.since(
            ended.keys(conference_id, peer.session_id, peer.participant_id, peer.account_id),
            peer.checked_at,
        )
        if gone is not None:  # it ended between the device's check and now
            await _refuse(conn, CloseCode.LOST_ACCESS, _told(peer, i18n.gettext, gone))
            return
        refusal = self._fair_share(channel, peer)
        if refusal is not None:
            code, why = refusal
            log.warning("%s: refused %s: %s", channel.key, peer, why)
            await _refuse(conn, code, _told(peer, i18n.gettext, why))
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
                raise Closed(CloseCode.MESSAGE_TOO_BIG, f"message larger than {max_bytes} bytes")
            await channel.handle(conn, data)

    # -- phase changes and people leaving --------------------------------------------------

    def phase_changed(
        self,
        conference_id: str,
        phase: str,
        action_team: frozenset[int] = frozenset(),
        since: float = 0.0,
    ) -> None:
        """Apply a new phase to every open connection of a conference, at once.

        Every phase change must come through here, right after it is committed (a room
        remembers the latest one and applies it to devices still joining). It runs
        synchronously, so no
        update is forwarded between the change and the check: connections that lost read
        access are closed with 4001 and the phase named, writers that became readers are
        read-only from now on (their presence is withdrawn). ``action_team`` holds the
        participant ids of the action team (they write the plan in the action-team phase);
        a change of the team comes through here too, with the same phase. ``since`` is the
        change's ``phase_since`` as a timestamp: with several processes, it orders changes
        that reach a process by different ways.
        """
        meta = {"phase": phase, "team": sorted(action_team), "since": since}
        try:
            self.broker.publish(Notice("phase", conference_id, meta=meta))
        finally:  # this process applies it whatever happened to the notice
            self._apply_phase(conference_id, phase, action_team, since)

    def _apply_phase(
        self, conference_id: str, phase: str, action_team: frozenset[int], since: float
    ) -> None:
        known = self.latest.get(conference_id)
        if known is not None and since and since < known[2]:
            return  # an earlier change that arrived late
        self.latest[conference_id] = (phase, action_team, since)
        room = self.rooms.get(conference_id)
        if room is None:
            return
        room.phase, room.action_team, room.phase_since = phase, action_team, since
        for channel, conn in room.connections():
            try:
                allowed = _access(room, conn.peer, channel.name)
                reason = _told(conn.peer, phases.refusal_reason, phase, channel.name)
            except Exception:
                allowed, reason = Access.NONE, ""
            _enforce(channel, conn, allowed, reason)

    def drop_participant(self, conference_id: str, participant_id: int, reason: str) -> int:
        """Close every connection of someone removed or whose link was revoked. ``reason``
        is a Dutch message id: each device is told it in its person's language."""
        meta = {"participant": participant_id, "reason": reason}
        self.broker.publish(Notice("drop", conference_id, meta=meta))
        return self._drop_person(conference_id, participant_id, None, reason)

    def drop_account(self, conference_id: str, account_id: int, reason: str) -> int:
        """Close every connection a coordinator's account holds to one conference (they no
        longer run it); their sign-in goes on for their other conferences."""
        meta = {"account": account_id, "reason": reason}
        self.broker.publish(Notice("drop", conference_id, meta=meta))
        return self._drop_person(conference_id, None, account_id, reason)

    def _drop_person(
        self, conference_id: str, participant_id: int | None, account_id: int | None, reason: str
    ) -> int:
        if participant_id is None and account_id is None:
            log.warning("%s: ignored a drop that names nobody", conference_id)
            return 0  # (account_id == None would match every participant)
        for key in ended.keys(conference_id, None, participant_id, account_id):
            self.ended.add(key, reason)
        if self.on_dropped is not None:
            self.on_dropped(conference_id, participant_id, account_id)
        if participant_id is not None:
            return self._drop(conference_id, lambda p: p.participant_id == participant_id, reason)
        return self._drop(conference_id, lambda p: p.account_id == account_id, reason)

    def end_sessions(
        self, session_ids: Collection[int], reason: str, *, publish: bool = True
    ) -> int:
        """Close every connection opened with one of these sign-ins, in every conference and
        (unless ``publish`` is false: each process checks its own) on every process: the
        session ended (logout, forget this device, sent out, expired). ``reason`` is a Dutch
        message id."""
        ids = sorted(set(session_ids))
        if not ids:
            return 0
        if publish:
            # Not about one conference: published on the channel named by the empty
            # conference id, which every process hears like any other.
            self.broker.publish(Notice("sessions", "", meta={"ids": ids, "reason": reason}))
        return self._end_sessions(frozenset(ids), reason)

    def _end_sessions(self, ids: frozenset[int], reason: str) -> int:
        for session_id in ids:
            self.ended.add(("session", session_id), reason)
        closed = sum(
            self._drop(conference_id, lambda peer: peer.session_id in ids, reason)
            for conference_id in list(self.rooms)
        )
        if self.on_sessions_ended is not None:
            self.on_sessions_ended(ids)
        return closed

    def session_ids(self) -> set[int]:
        """The sign-ins behind this process's open connections (for the periodic check that
        each still exists)."""
        return {
            conn.peer.session_id
            for room in self.rooms.values()
            for _channel, conn in room.connections()
            if conn.peer.session_id is not None and not conn.closed
        }

    def _drop(self, conference_id: str, whose: Callable[[Peer], bool], reason: str) -> int:
        room = self.rooms.get(conference_id)
        if room is None:
            return 0
        dropped = 0
        for channel, conn in room.connections():
            if whose(conn.peer):
                _enforce(channel, conn, Access.NONE, _told(conn.peer, i18n.gettext, reason))
                dropped += 1
        return dropped

    def erase(self, conference_id: str) -> int:
        """Forget a conference that is being erased: close every open connection of it
        (4001, told in each person's language), drop its room from memory and never load it
        again. Its pending commits are the document log's business (``forgetting``)."""
        self.broker.publish(Notice("erase", conference_id))
        return self._erase(conference_id)

    def _erase(self, conference_id: str) -> int:
        self.erased.add(conference_id)
        self.remote_present.pop(conference_id, None)
        self.remote_sessions.pop(conference_id, None)
        self.latest.pop(conference_id, None)
        room = self.rooms.pop(conference_id, None)
        if room is None:
            return 0
        closed = 0
        for channel, conn in room.connections():
            _enforce(channel, conn, Access.NONE, _told(conn.peer, i18n.gettext, ERASED))
            closed += 1
        for channel in room.channels.values():
            if channel.unload_handle is not None:
                channel.unload_handle.cancel()
                channel.unload_handle = None
        room.channels.clear()
        return closed

    # -- what other processes say ----------------------------------------------------------

    def deliver(self, message: Notice) -> None:
        """Act on a message another process published (see broker.py)."""
        conference_id = message.conference_id
        match message.kind:
            case "update" | "presence":
                room = self.rooms.get(conference_id)
                if room is None:
                    return
                channel = room.channels.get(message.document)
                if channel is None:
                    if message.kind == "update" and message.document in room.early:
                        room.early[message.document].append(message)
                    return
                if message.kind == "update":
                    if "phase" in message.meta:  # what the committing process knew
                        phase = (str(message.meta["phase"]), float(message.meta["since"]))
                        self.seen_phases({conference_id: phase})
                    channel.remote_update(message.payload, int(message.meta.get("id", 0)))
                else:
                    channel.remote_presence(message.payload)
            case "phase":
                team = frozenset(int(i) for i in message.meta.get("team", []))
                since = float(message.meta.get("since", 0.0))
                self._apply_phase(conference_id, str(message.meta["phase"]), team, since)
            case "drop":
                reason = str(message.meta.get("reason", ""))
                participant, account = message.meta.get("participant"), message.meta.get("account")
                self._drop_person(
                    conference_id,
                    None if participant is None else int(participant),
                    None if account is None else int(account),
                    reason,
                )
            case "sessions":
                ids = frozenset(int(i) for i in message.meta.get("ids", []))
                self._end_sessions(ids, str(message.meta.get("reason", "")))
            case "erase":
                self.log.forget(conference_id)
                self._erase(conference_id)
                if self.on_erased is not None:
                    self.on_erased(conference_id)
            case "here":
                ids = frozenset(int(i) for i in message.meta.get("ids", []) if i is not None)
                there = self.remote_present.setdefault(conference_id, {})
                sessions = self.remote_sessions.setdefault(conference_id, {})
                if ids:
                    there[message.origin] = ids
                    sessions[message.origin] = {
                        int(pid): frozenset(int(i) for i in sids)
                        for pid, sids in dict(message.meta.get("sessions", {})).items()
                    }
                else:
                    there.pop(message.origin, None)
                    sessions.pop(message.origin, None)
                if self.on_presence is not None:
                    self.on_presence(conference_id)
            case "event":
                if self.on_event is not None:
                    data = message.meta.get("data", {})
                    self.on_event(conference_id, str(message.meta["name"]), dict(data))
            case _:
                log.warning("ignored a %r message from another process", message.kind)

    def seen_phases(self, phases: dict[str, tuple[str, float]]) -> None:
        """Phases as the database had them when updates were committed (by this process or,
        in an update's notice, by another): a phase change this process has not heard of yet
        is applied before any of those updates is shown, so a coordinator's tablet on this
        process never gets what the family writes in private time, however late the change's
        own notice comes. The action team is only known from notices, so a change this
        process knows nothing about is applied only when it starts private time (where the
        team does not matter); the notice brings the rest a moment later."""
        for conference_id, (phase, since) in phases.items():
            room = self.rooms.get(conference_id)
            if room is None:
                continue
            known = self.latest.get(conference_id)
            if known is not None and since <= known[2]:
                continue
            if known is None and phase != "private_time":
                continue
            team = known[1] if known is not None else frozenset()
            log.info("%s: a commit saw phase %s before its notice came", conference_id, phase)
            self._apply_phase(conference_id, phase, team, since)

    async def resync(self) -> None:
        """Catch up after the channel between processes was down: bring every loaded
        document up to what the database holds (and tell its devices what they lack), then
        let every device reconnect, so its access is checked again against the phase in the
        database (a phase change may have been missed)."""
        self.latest.clear()
        self.remote_present.clear()
        self.remote_sessions.clear()
        for room in list(self.rooms.values()):
            for channel in list(room.channels.values()):
                try:
                    stored = await self.log.state(room.conference_id, channel.name)
                except Exception as exc:
                    log.error("%s: could not catch up: %s", channel.key, exc)
                    continue
                channel.remote_update(stored, 0)
            room.phase = None
            for _channel, conn in room.connections():
                conn.close(CloseCode.SERVICE_RESTART, _told(conn.peer, i18n.gettext, RESYNCING))

    # -- keep-alive ------------------------------------------------------------------------

    async def connect(self) -> None:
        """Join the other processes (with a broker that relays); raises if it cannot."""
        if self.broker.relays:
            self.log.on_phases = self.seen_phases
        await self.broker.start(self.deliver, self.resync)

    def start(self) -> None:
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
                conn.close(CloseCode.SERVICE_RESTART, _told(conn.peer, i18n.gettext, RESTARTING))
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)


def _same_person(a: Peer, b: Peer) -> bool:
    if a.participant_id is not None or b.participant_id is not None:
        return a.participant_id == b.participant_id
    return a.account_id is not None and a.account_id == b.account_id


def _told(peer: Peer, reason: Callable[..., str], *args: str) -> str:
    """``reason(*args)`` (a close reason) in the language of the person on the other end."""
    with i18n.using(peer.language):
        return reason(*args)


def _enforce(channel: DocChannel, conn: Connection, access: Access, reason: str) -> None:
    """Give one open connection its new access; one that cannot be given it is closed.

    A phase change, a removal or an erasure holds for every connection whatever one of them
    does: a failure here is logged and ends that connection (4001, or dropped at once if even
    the close fails), and the caller goes on with the next.
    """
    try:
        channel.set_access(conn, access, reason)
        return
    except Exception:
        log.exception("%s: could not apply access %s to %s", channel.key, access.name, conn.peer)
    conn.access = Access.NONE  # before anything else: no more edits in, none out
    if not conn.closed:
        try:
            conn.close(CloseCode.LOST_ACCESS, reason)
            return
        except Exception:
            log.exception("%s: could not close %s; dropping it", channel.key, conn.peer)
    # Closed already (perhaps half-way, by what failed above) or the close failed: drop it.
    try:
        conn.abort(reason, force=True)
    except Exception:  # its own task ends at its next message: it is closed and reads nothing
        log.exception("%s: could not drop %s", channel.key, conn.peer)
        conn.closed = True


def _access(room: Room, peer: Peer, document: str) -> Access:
    """Access by the room's latest phase change (set once one was applied)."""
    assert room.phase is not None
    member = peer.participant_id in room.action_team
    return phases.access(room.phase, peer.role, document, action_team_member=member)


async def _refuse(conn: Connection, code: int, reason: str) -> None:
    conn.close_code, conn.close_reason = code, reason
    await conn.finish()
