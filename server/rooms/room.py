"""One conference's live documents: their Y docs, their connections, and the message rules.

An inbound update is validated, committed to the log, then applied and broadcast (see
storage/documents.py: ``on_commit`` runs after the commit, in log order). Nobody is shown an update
that is not on disk.

Each connection has a bounded send queue drained by its own task, so a receiver that is
slow or gone never delays the sender or anyone else: past its bound it is dropped, and it
resyncs when it comes back. Awareness (presence: names, cursors) is relayed only between
connections that may read the document, and accepted only from those that may write it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from functools import cache
from typing import Any, NamedTuple, Protocol

from pycrdt import Doc, Transaction, merge_updates

from server import i18n, metrics
from server.limits import Limits
from server.rooms import presence, protocol, readers
from server.rooms.broker import Broker, Notice
from server.rooms.connection import Closed, Connection, Unsaved, binary_frame, not_saved
from server.rooms.protocol import CloseCode
from server.rules.networkmap import FORGETS_ON_REMOVAL, entry_ids
from server.rules.phases import Access
from server.storage.documents import (
    FATAL,
    CommitFailed,
    DocumentLog,
    StoredDocument,
    apply_all,
    lacks,
)

log = logging.getLogger("kring.rooms")

EMPTY_UPDATE = b"\x00\x00"  # no structs, no deletions: what a client with nothing new sends
EMPTY_STATE = b"\x00"  # the state vector of a device that has nothing of the document yet
FIRST_SYNC_WAIT = 1.0  # seconds a device joining a room read from disk has to send its sync
# At most this many updates, or bytes, of one device wait for their commit at once.
PIPELINE_UPDATES = 500
PIPELINE_BYTES = 8 * 1024 * 1024
READ_ONLY_NOTICE_TEXT = i18n.N_("Je kunt dit document nu alleen lezen.")
MAX_PRESENCE_CLIENTS = 4  # a device announces its own Yjs client id (a few after reloads)


@cache
def read_only_notice(language: str) -> bytes:
    """The notice a reader's dropped edit gets, in the reader's language."""
    with i18n.using(language):
        return protocol.encode(protocol.AuthDenied(i18n.gettext(READ_ONLY_NOTICE_TEXT)))


def _validate(update: bytes) -> None:
    """Raise InvalidPayload unless ``update`` is a Yjs update (parses and integrates)."""
    try:
        Doc().apply_update(update)  # parses it all, integrates (missing dependencies wait)
    except FATAL:
        raise
    except BaseException:  # ValueError, or a panic inside Yrs
        metrics.REFUSED.labels("not_yjs").inc()
        raise protocol.InvalidPayload("the update is not a Yjs update") from None


class DocChannel:
    """One document of one conference, loaded: the Y doc and who is connected to it."""

    def __init__(self, room: Room, name: str, stored: StoredDocument) -> None:
        self.room = room
        self.name = name
        self.connections: set[Connection] = set()
        self.awareness: dict[int, presence.Held] = {}
        self.inflight = 0
        self.compacting = False
        self.compact_again = False  # a removal came in while a compaction was being written
        self.unload_handle: asyncio.TimerHandle | None = None
        self._batch: Transaction | None = None  # see _batched
        self.last_id = stored.updates[-1][0] if stored.updates else stored.snapshot_upto
        self.logged = len(stored.updates)  # log entries since the snapshot
        # Updates holding structs that wait for a missing dependency: Doc.get_update() leaves
        # those out, so a snapshot must carry them along until the dependency arrives.
        self.carry: list[bytes] = []
        # The Y doc is made from what was stored when it is first needed (``doc``). Until
        # then a complete stored snapshot (nothing in it waits for a missing update) with
        # nothing logged after it is the whole document, as the compaction that wrote it
        # encoded it: a device that has nothing yet gets it as it is (``handle``), without
        # waiting for it to be applied to a new Y doc (6-7 ms for a long plan's 300 KB, on
        # the event loop, most of a cold join). Not an incomplete one: what waits would
        # reach the device, which would send it back as its own edit.
        self._doc: Doc[Any] | None = None
        self._stored: list[bytes] | None = stored.in_order()
        whole = stored.snapshot_complete and not stored.updates
        self._whole: bytes | None = stored.snapshot if whole else None
        self._greet_when_built: list[Connection] = []

    @property
    def doc(self) -> Doc[Any]:
        if self._doc is None:
            self._build()
            assert self._doc is not None
        return self._doc

    def _build(self) -> None:
        loaded, self._stored, self._whole = self._stored or [], None, None
        doc: Doc[Any] = Doc()
        apply_all(doc, loaded, self.key)
        self._doc = doc
        state = doc.get_state()
        self.carry = [data for data in loaded if self._lacks(data, state)]
        waiting, self._greet_when_built = self._greet_when_built, []
        for conn in waiting:
            if conn in self.connections:
                self._greet(conn)

    @staticmethod
    def _lacks(update: bytes, state: bytes) -> bool:
        return lacks(update, state)

    def _build_if_needed(self) -> None:
        if self._doc is None and self.connections:
            self._build()

    @property
    def key(self) -> str:
        return f"{self.room.conference_id}/{self.name}"

    # -- joining and leaving --------------------------------------------------------------

    def join(self, conn: Connection) -> None:
        self.connections.add(conn)
        if self.unload_handle is not None:
            self.unload_handle.cancel()
            self.unload_handle = None
        if self._whole is None:
            self._greet(conn)
        else:
            # Greeted once the Y doc is made: right after the device's sync step 1 took the
            # stored snapshot (handle()), or after a moment if it sends none.
            self._greet_when_built.append(conn)
            asyncio.get_running_loop().call_later(FIRST_SYNC_WAIT, self._build_if_needed)
        if conn.access >= Access.READ:
            states = self._current_presence()
            if states is not None:
                conn.send(states)

    def _greet(self, conn: Connection) -> None:
        # The server's half of the handshake: our state vector, so the client sends what we
        # lack. The client's own sync step 1 is answered with what it lacks (handle()).
        state = self.doc.get_state()
        conn.send(protocol.encode(protocol.SyncStep1(state)))
        if conn.wants_saved:
            conn.send(protocol.encode(protocol.Saved(state)))

    def leave(self, conn: Connection) -> None:
        self.connections.discard(conn)
        gone = []
        for client_id in conn.awareness_ids:
            held = self.awareness.get(client_id)
            if held is not None and held.owner is conn:
                del self.awareness[client_id]
                if held.state is not None:
                    gone.append(presence.withdrawn(client_id, held.clock))
        conn.awareness_ids.clear()
        try:
            if gone:
                self._broadcast_presence(gone, origin=None)
        except Exception:  # never: clocks are checked on arrival; the leaving must complete
            log.exception("%s: could not withdraw the presence of %s", self.key, conn.peer)
        finally:
            if not self.connections:
                self.room.hub.schedule_unload(self)

    # -- inbound messages -----------------------------------------------------------------

    async def handle(self, conn: Connection, data: bytes) -> None:
        """Act on one binary message; raise ProtocolError or Closed to end the connection."""
        if not conn.allow_message():
            metrics.REFUSED.labels("flood").inc()
            raise Closed(CloseCode.POLICY_VIOLATION, "too many messages: slow down")
        message = protocol.decode(data)
        match message:
            case protocol.SyncStep1(state_vector):
                if self._whole is not None and state_vector == EMPTY_STATE:
                    conn.send(protocol.encode(protocol.SyncStep2(self._whole)))
                    asyncio.get_running_loop().call_soon(self._build_if_needed)
                    return
                try:
                    diff = self.content(state_vector)
                except ValueError:
                    raise protocol.InvalidPayload("the state vector does not parse") from None
                conn.send(protocol.encode(protocol.SyncStep2(diff)))
            case protocol.SyncStep2(update) | protocol.Update(update):
                await self._receive_update(conn, update)
            case protocol.Awareness(payload):
                self._receive_presence(conn, payload)
            case protocol.QueryAwareness():
                states = self._current_presence()
                if states is not None and conn.access >= Access.READ:
                    conn.send(states)
            case _:
                raise protocol.UnsupportedMessage("clients may not send this message type")

    async def _receive_update(self, conn: Connection, update: bytes) -> None:
        """Validate, commit, then apply and broadcast one update.

        A device that opened with ``?saved=1`` gets exactly one "saved" message per update
        message it sent, in order, once that message is dealt with (committed, or nothing to
        store): counting them tells it which of its edits are on disk, deletions included.

        The next message is read while this one waits for its commit (at most
        PIPELINE_UPDATES or PIPELINE_BYTES of one device wait at once), so a tablet that
        comes back with a burst of edits shares group commits instead of paying one each.
        Commits, and so "saved" messages, stay in the order sent.
        """
        if update == EMPTY_UPDATE:
            self._acknowledge_in_turn(conn)
            return
        _validate(update)
        if conn.access < Access.WRITE:
            if readers.would_change(self.doc, update, self.key):
                metrics.REFUSED.labels("read_only").inc()
                log.info("%s: dropped an update from read-only %s", self.key, conn.peer)
                conn.send(read_only_notice(conn.peer.language))
            # else: a reader's reconnect handshake (its copy's delete set): nothing to refuse
            self._acknowledge_in_turn(conn)
            return
        unsaved = Unsaved(len(update))
        try:
            committed = self.room.hub.log.submit(
                self.room.conference_id,
                self.name,
                update,
                lambda log_id: self._committed(conn, update, log_id, unsaved),
            )
        except CommitFailed:
            metrics.REFUSED.labels("not_saved").inc()
            if conn.closed:  # closed meanwhile (its conference was erased): that reason stands
                return
            raise Closed(CloseCode.SERVICE_RESTART, "the server is restarting") from None
        self.inflight += 1
        committed.add_done_callback(self._settled)
        unsaved.committed = committed
        conn.unsaved.append(unsaved)
        conn.unsaved_bytes += unsaved.size
        committed.add_done_callback(lambda done: not_saved(conn, unsaved, done))
        # With several processes, one device's updates wait one at a time: a process learns
        # of a phase change made elsewhere only from its broker or its next commit, and every
        # update read before then is accepted under the old phase (so at most one, as before).
        pipeline = 0 if self.room.hub.broker.relays else PIPELINE_UPDATES
        if len(conn.unsaved) > pipeline or conn.unsaved_bytes > PIPELINE_BYTES:
            oldest = conn.unsaved[0].committed
            if oldest is not None:
                await asyncio.wait([oldest])

    def _batched(self) -> None:
        """Let the updates committed in one group (the document log calls ``_committed`` for
        each in turn, in one go) be applied in one Yrs transaction, ended once they all are.
        Yrs merges a device's run of typed text into one block when a transaction ends,
        copying the block each time: an update per transaction made a tablet's thousands of
        queued edits (one author appending) cost more with every one, 65 us each at 20,000
        (bench/README.md). Reads meanwhile (the state vector for "saved", a joining device's
        sync) see every update applied so far: a nested transaction is the open one. Not
        for a document whose removals are compacted at once (the compass): Yrs collects
        deleted content when a transaction ends, and that snapshot must not hold it."""
        if self._batch is None:
            batch = self._batch = self.doc.transaction()
            batch.__enter__()
            asyncio.get_running_loop().call_soon(self._end_batch, batch)

    def _end_batch(self, batch: Transaction) -> None:
        if self._batch is batch:
            self._batch = None
            batch.__exit__(None, None, None)

    def content(self, state_vector: bytes | None = None) -> bytes:
        """The document (what ``state_vector`` lacks) for anyone but the document itself: a
        device, a page, a frozen version, a snapshot. An open batch is ended first, else it
        holds the text its updates typed and deleted again (collected when it ends)."""
        if self._batch is not None:
            self._end_batch(self._batch)
        return self.doc.get_update(state_vector)

    def _settled(self, _future: asyncio.Future[int]) -> None:
        self.inflight -= 1
        if not self.connections:
            self.room.hub.schedule_unload(self)

    def _acknowledge_in_turn(self, conn: Connection) -> None:
        """Acknowledge a message that stores nothing: now, or right after the "saved" of
        the device's update still waiting for its commit, so acknowledgements keep the
        order of the messages."""
        if conn.unsaved:
            conn.unsaved[-1].acknowledgements_after += 1
        else:
            self._acknowledge(conn)

    def _acknowledge(self, conn: Connection, state: bytes | None = None) -> None:
        if conn.wants_saved and not conn.closed:
            committed = self.doc.get_state() if state is None else state
            conn.send(protocol.encode(protocol.Saved(committed)))

    def _committed(self, origin: Connection, update: bytes, log_id: int, unsaved: Unsaved) -> None:
        """Runs right after the commit, in log order: apply, broadcast, acknowledge."""
        origin.saved(unsaved)
        self.last_id = log_id
        self.logged += 1
        forgets = self.name in FORGETS_ON_REMOVAL
        before = entry_ids(self.doc) if forgets else frozenset()
        if not forgets:  # (a removal's snapshot below must be of the collected document)
            self._batched()
        try:
            self.doc.apply_update(update)
        except FATAL:
            raise
        except BaseException:  # valid bytes that Yrs still cannot integrate: skip it
            log.error("%s: an update from %s did not apply; it is skipped", self.key, origin.peer)
            origin.close(CloseCode.INVALID_PAYLOAD, "the update does not apply")
            return
        state = self.doc.get_state()
        if self._lacks(update, state):
            self.carry.append(update)
        self._broadcast(update, origin)
        for _ in range(1 + unsaved.acknowledgements_after):
            self._acknowledge(origin, state)
        self.room.hub.written(self.room.conference_id, self.name, origin)
        broker = self.room.hub.broker
        if broker.relays:
            meta: dict[str, Any] = {"id": log_id}
            if self.room.phase is not None:
                meta |= {"phase": self.room.phase, "since": self.room.phase_since}
            broker.publish(Notice("update", self.room.conference_id, self.name, update, meta))
        if forgets and before - entry_ids(self.doc):
            # Someone was taken off the map for good: fold the log now, so the stored
            # updates that hold their name are gone (the snapshot is the collected document).
            self.start_compaction()
        elif self.logged >= self.room.hub.limits.compact_after and not self.compacting:
            self.start_compaction()

    def _broadcast(self, update: bytes, origin: Connection | None) -> None:
        message = protocol.encode(protocol.Update(update))
        frame = binary_frame(message)  # framed once for the whole room
        for conn in self.connections:
            if conn is not origin and conn.access >= Access.READ:
                conn.send(message, frame)

    def remote_update(self, update: bytes, log_id: int) -> None:
        """An update another process committed (or the database holds): apply it and show it
        to this process's readers, unless this replica has all of it already."""
        self.last_id = max(self.last_id, log_id)
        if not self._lacks(update, self.doc.get_state()):
            return
        try:
            self.doc.apply_update(update)
        except FATAL:
            raise
        except BaseException:  # it was validated where it came in; skip rather than stop
            log.error("%s: an update from another process did not apply", self.key)
            return
        if log_id:
            self.logged += 1
        state = self.doc.get_state()
        if self._lacks(update, state):
            self.carry.append(update)
        self._broadcast(update, None)
        if self.logged >= self.room.hub.limits.compact_after and not self.compacting:
            self.start_compaction()

    # -- compaction -----------------------------------------------------------------------

    def start_compaction(self) -> None:
        if self.compacting:  # the one being written may not hold the latest: fold again after
            self.compact_again = True
            return
        if self.room.hub.broker.relays:
            # Other processes write this document too: this replica may not have all of the
            # log up to its own last id yet, so the database folds what it holds.
            self.logged = 0
            self.compacting = True
            self.room.hub.track(asyncio.create_task(self._compact(None, 0, False)))
            return
        with metrics.heavy("compaction"):  # the whole document encoded, on the loop
            snapshot = self.content()
            state = self.doc.get_state()
            self.carry = [u for u in self.carry if self._lacks(u, state)]
            if self.carry:
                snapshot = merge_updates(snapshot, *self.carry)
        upto = self.last_id
        self.logged = 0
        self.compacting = True
        task = asyncio.create_task(self._compact(snapshot, upto, not self.carry))
        self.room.hub.track(task)

    async def _compact(self, snapshot: bytes | None, upto: int, complete: bool) -> None:
        try:
            with metrics.heavy("compaction"):
                removed = await self.room.hub.log.compact(
                    self.room.conference_id, self.name, snapshot, upto, complete=complete
                )
            log.info("%s: folded %d updates into a snapshot", self.key, removed)
        except Exception as exc:  # the log stays as it was; the next threshold tries again
            log.error("%s: compaction failed: %s", self.key, exc)
        finally:
            self.compacting = False
            if self.compact_again:
                self.compact_again = False
                self.start_compaction()

    # -- presence -------------------------------------------------------------------------

    def _current_presence(self) -> bytes | None:
        now = time.monotonic()
        for client_id in [c for c, p in self.awareness.items() if p.stale(now)]:
            del self.awareness[client_id]
        states = [
            protocol.AwarenessState(client_id, p.clock, p.state)
            for client_id, p in self.awareness.items()
            if p.state is not None
        ]
        return presence.message(states) if states else None

    def _receive_presence(self, conn: Connection, payload: bytes) -> None:
        if conn.access < Access.WRITE:
            return  # presence is content: a reader shows no cursor and no name
        accepted = []
        # Refused (the connection closes): clocks a withdrawal could not count past, states
        # too large or too deep, anything not JSON. The rest is cleaned to what Kring's
        # browsers can show (presence.py).
        for entry in presence.from_device(payload):
            if (
                entry.state is not None
                and entry.client_id not in conn.awareness_ids
                and len(conn.awareness_ids) >= MAX_PRESENCE_CLIENTS
            ):
                raise Closed(CloseCode.POLICY_VIOLATION, "presence for too many clients")
            current = self.awareness.get(entry.client_id)
            if (
                current is not None
                and current.owner not in (conn, None)
                and not (current.owner is not None and current.owner.closed)
            ):
                continue  # another device's presence: not this connection's to change
            if current is not None and entry.clock < current.clock:
                continue
            if entry.state is None:
                self.awareness.pop(entry.client_id, None)
                conn.awareness_ids.discard(entry.client_id)
            else:
                self.awareness[entry.client_id] = presence.Held(entry.clock, entry.state, conn)
                conn.awareness_ids.add(entry.client_id)
            accepted.append(entry)
        if accepted:
            self._broadcast_presence(accepted, origin=conn)

    def _broadcast_presence(
        self,
        states: list[protocol.AwarenessState],
        origin: Connection | None,
        *,
        relay: bool = True,
    ) -> None:
        payload = protocol.encode_awareness(states)
        message = protocol.encode(protocol.Awareness(payload))
        frame = binary_frame(message)
        for conn in self.connections:
            if conn is not origin and conn.access >= Access.READ:
                conn.send(message, frame)
        if relay and self.room.hub.broker.relays:
            self.room.hub.broker.publish(
                Notice("presence", self.room.conference_id, self.name, payload)
            )

    def remote_presence(self, payload: bytes) -> None:
        """Presence another process accepted from one of its writers: keep it (it is shown
        to devices joining here) and show it to this process's readers."""
        now = time.monotonic()
        accepted = []
        try:  # checked where it came in; checked again here, but nothing here is closed
            entries = presence.from_process(payload)
        except protocol.ProtocolError:
            log.warning("%s: ignored bad presence from another process", self.key)
            return
        for entry in entries:
            current = self.awareness.get(entry.client_id)
            if current is not None and current.owner is not None and not current.owner.closed:
                continue  # a device of this process holds that client id
            if current is not None and entry.clock < current.clock:
                continue
            if entry.state is None:
                self.awareness.pop(entry.client_id, None)
            else:
                self.awareness[entry.client_id] = presence.Held(entry.clock, entry.state, None, now)
            accepted.append(entry)
        if accepted:
            self._broadcast_presence(accepted, None, relay=False)

    # -- access changes -------------------------------------------------------------------

    def set_access(self, conn: Connection, access: Access, reason: str) -> None:
        """Apply a new permission to an open connection (after a phase change)."""
        if access == conn.access:
            return
        if access == Access.NONE:
            conn.access = access
            conn.close(CloseCode.LOST_ACCESS, reason)
            return
        if access < Access.WRITE and conn.access >= Access.WRITE:
            # A reader shows no presence: withdraw theirs from everyone else.
            gone = [
                presence.withdrawn(cid, self.awareness[cid].clock)
                for cid in conn.awareness_ids
                if cid in self.awareness and self.awareness[cid].owner is conn
            ]
            for cid in conn.awareness_ids:
                if cid in self.awareness and self.awareness[cid].owner is conn:
                    del self.awareness[cid]
            conn.awareness_ids.clear()
            conn.access = access  # first: nothing below may leave it a writer
            try:
                if gone:
                    self._broadcast_presence(gone, origin=conn)
            except Exception:  # never: clocks are checked on arrival
                log.exception("%s: could not withdraw the presence of %s", self.key, conn.peer)
        conn.access = access


class Hub(Protocol):
    """What a room needs from the hub that owns it."""

    log: DocumentLog
    limits: Limits
    broker: Broker

    def schedule_unload(self, channel: DocChannel) -> None: ...

    def written(self, conference_id: str, document: str, conn: Connection) -> None: ...

    def track(self, task: asyncio.Task[Any]) -> None: ...


class PhaseState(NamedTuple):
    """What a conference's latest phase change said: the phase, the action team, when the
    phase began (``phase_since`` as a timestamp; 0: not known) and the supporters (None: not
    known here, so each connection keeps the mark it was authorised with)."""

    phase: str
    action_team: frozenset[int]
    since: float
    supporters: frozenset[int] | None


class Room:
    """A conference: the documents of it that are loaded, and their connections."""

    def __init__(self, hub: Hub, conference_id: str) -> None:
        self.hub = hub
        self.conference_id = conference_id
        self.channels: dict[str, DocChannel] = {}
        self.loading: dict[str, asyncio.Future[DocChannel]] = {}
        # Updates other processes published while a document was loading (see hub._load).
        self.early: dict[str, list[Notice]] = {}
        self.phase: str | None = None  # the latest phase change this process applied
        self.action_team: frozenset[int] = frozenset()  # ... and the action team with it
        self.phase_since = 0.0  # ... and when it began (a timestamp; 0: not known)
        # ... and the client's supporters (None: no change said them yet on this process)
        self.supporters: frozenset[int] | None = None

    def apply(self, change: PhaseState) -> None:
        """Take a phase change (or a change of the action team or the supporters) as known."""
        self.phase, self.action_team = change.phase, change.action_team
        self.phase_since, self.supporters = change.since, change.supporters

    def is_supporter(self, participant_id: int | None, authorised_as: bool) -> bool:
        """Whether this person is one of the client's supporters now, as the latest change
        said, else as their connection was authorised (``authorised_as``)."""
        if self.supporters is None:
            return authorised_as
        return participant_id is not None and participant_id in self.supporters

    def connection_count(self) -> int:
        return sum(len(c.connections) for c in self.channels.values())

    def connections(self) -> Iterable[tuple[DocChannel, Connection]]:
        for channel in list(self.channels.values()):
            for conn in list(channel.connections):
                yield channel, conn
