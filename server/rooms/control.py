"""What a hub does to the connections it already serves, on this process or told by another.

A phase change, someone removed, a sign-in ended or a conference erased is applied to every
open connection at once (``enforce``: one connection that cannot take its new access is
closed, never skipped), and published so every other process does the same. ``deliver`` acts
on what the other processes publish (see broker.py). ``RoomHub`` (hub.py) is a RoomControl:
this part of it knows the rooms, the latest phases and the broker, nothing of loading.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

from server import i18n
from server.rooms import ended
from server.rooms.broker import Broker, Notice
from server.rooms.connection import Connection, Peer
from server.rooms.protocol import CloseCode
from server.rooms.room import DocChannel, PhaseState, Room
from server.rules import phases
from server.rules.phases import Access
from server.storage.documents import DocumentLog

log = logging.getLogger("kring.rooms")

ERASED = i18n.N_("Deze conferentie is gewist.")
RESYNCING = i18n.N_("De verbinding wordt vernieuwd.")


class RoomControl:
    """Phase changes, people leaving, ended sign-ins and erasure, for every open connection.
    The attributes are the hub's (set in ``RoomHub.__init__``)."""

    log: DocumentLog
    broker: Broker
    rooms: dict[str, Room]
    latest: dict[str, PhaseState]
    erased: set[str]
    remote_present: dict[str, dict[str, frozenset[int]]]
    remote_sessions: dict[str, dict[str, dict[int, frozenset[int]]]]
    ended: ended.EndedLately
    on_presence: Callable[[str], None] | None
    on_event: Callable[[str, str, dict[str, Any]], None] | None
    on_erased: Callable[[str], None] | None
    on_sessions_ended: Callable[[frozenset[int]], None] | None
    on_dropped: Callable[[str, int | None, int | None], None] | None

    # -- phase changes and people leaving --------------------------------------------------

    def phase_changed(
        self,
        conference_id: str,
        phase: str,
        action_team: frozenset[int] = frozenset(),
        since: float = 0.0,
        supporters: frozenset[int] | None = None,
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
        that reach a process by different ways. ``supporters`` holds the participant ids of
        the client's supporters (they write the compass in the preparation, read it after);
        a supporter marked or unmarked comes through here too, with the same phase, so a
        mark taken away closes that person's compass at once, on every process (None: not
        known, the supporters stay as they were).
        """
        meta: dict[str, Any] = {"phase": phase, "team": sorted(action_team), "since": since}
        if supporters is not None:
            meta["supporters"] = sorted(supporters)
        try:
            self.broker.publish(Notice("phase", conference_id, meta=meta))
        finally:  # this process applies it whatever happened to the notice
            self._apply_phase(conference_id, PhaseState(phase, action_team, since, supporters))

    def _apply_phase(self, conference_id: str, change: PhaseState) -> None:
        known = self.latest.get(conference_id)
        if known is not None and change.since and change.since < known.since:
            return  # an earlier change that arrived late
        if change.supporters is None and known is not None:
            change = change._replace(supporters=known.supporters)
        self.latest[conference_id] = change
        room = self.rooms.get(conference_id)
        if room is None:
            return
        room.apply(change)
        for channel, conn in room.connections():
            try:
                allowed = access_of(room, conn.peer, channel.name)
                reason = refusal_of(room, conn.peer, channel.name)
            except Exception:
                allowed, reason = Access.NONE, ""
            enforce(channel, conn, allowed, reason)

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
                enforce(channel, conn, Access.NONE, told(conn.peer, i18n.gettext, reason))
                dropped += 1
        return dropped

    def erase(self, conference_id: str) -> int:
        """Forget a conference that is being erased: close every open connection of it
        (4001, told in each person's language), drop its room from memory and never load it
        again. Its pending commits are the document log's business (``forgotten``)."""
        self.broker.publish(Notice("erase", conference_id))
        closed = self._erase(conference_id)
        if self.on_erased is not None:
            self.on_erased(conference_id)
        return closed

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
            enforce(channel, conn, Access.NONE, told(conn.peer, i18n.gettext, ERASED))
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
                marked = message.meta.get("supporters")
                supporters = None if marked is None else frozenset(int(i) for i in marked)
                change = PhaseState(str(message.meta["phase"]), team, since, supporters)
                self._apply_phase(conference_id, change)
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
            if known is not None and since <= known.since:
                continue
            if known is None and phase != "private_time":
                continue
            team = known.action_team if known is not None else frozenset()
            log.info("%s: a commit saw phase %s before its notice came", conference_id, phase)
            self._apply_phase(conference_id, PhaseState(phase, team, since, None))

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
                conn.close(CloseCode.SERVICE_RESTART, told(conn.peer, i18n.gettext, RESYNCING))


def told(peer: Peer, reason: Callable[..., str], *args: str) -> str:
    """``reason(*args)`` (a close reason) in the language of the person on the other end."""
    with i18n.using(peer.language):
        return reason(*args)


def enforce(channel: DocChannel, conn: Connection, access: Access, reason: str) -> None:
    """Give one open connection its new access; one that cannot be given it is closed.

    A phase change, a removal or an erasure holds for every connection whatever one of them
    does: a failure here is logged and ends that connection, and the caller goes on with the
    next. One that was to lose the document is closed with 4001 (its device then forgets its
    copy); one that was to keep some access is asked to come back (1011: its device keeps
    everything, unsaved edits included, and its next handshake is checked afresh). If even the
    close fails, it is dropped at once.
    """
    try:
        channel.set_access(conn, access, reason)
        return
    except Exception:
        log.exception("%s: could not apply access %s to %s", channel.key, access.name, conn.peer)
    conn.access = Access.NONE  # before anything else: no more edits in, none out
    code = CloseCode.LOST_ACCESS if access == Access.NONE else CloseCode.INTERNAL_ERROR
    if not conn.closed:
        try:
            conn.close(code, reason)
            return
        except Exception:
            log.exception("%s: could not close %s; dropping it", channel.key, conn.peer)
    # Closed already (perhaps half-way, by what failed above) or the close failed: drop it.
    try:
        conn.abort(reason, force=True)
    except Exception:  # its own task ends at its next message: it is closed and reads nothing
        log.exception("%s: could not drop %s", channel.key, conn.peer)
        conn.closed = True


def refusal_of(room: Room, peer: Peer, document: str) -> str:
    """Why ``peer`` lost ``document`` by the room's latest phase change, in their language."""
    assert room.phase is not None
    supporter = room.is_supporter(peer.participant_id, peer.supporter)
    with i18n.using(peer.language):
        return phases.refusal_reason(room.phase, document, role=peer.role, supporter=supporter)


def access_of(room: Room, peer: Peer, document: str) -> Access:
    """Access by the room's latest phase change (set once one was applied); the supporter
    mark as the room knows it, else as the connection was authorised with."""
    assert room.phase is not None
    member = peer.participant_id in room.action_team
    return phases.connection_access(
        room.phase,
        peer.role,
        document,
        action_team_member=member,
        supporter=room.is_supporter(peer.participant_id, peer.supporter),
        presenting=peer.presenting,
    )
