"""Erasing a conference for good, from the conference page or by the retention purge.

One code path for both (:func:`erase`). First the conference is marked as being erased (one
short transaction): from then on every way in, on every process, refuses it as if it were
gone. Then the live side (every open websocket of it is closed with 4001, its room is dropped
from memory and never loaded again, its console streams end, and the document log stores
nothing of it any more), then its rows in small steps (a bounded number per transaction, each
taking its turn at the document log, so the group commits of the other conferences get in
between), then its own row with the audit event, which keeps nothing of it but its id. Last,
once, the database's files (SQLite: the WAL checkpointed into the main file, which
``secure_delete`` has zeroed; PostgreSQL: VACUUM).

A crash or a database failure half-way leaves the conference marked, so still refused
everywhere; the server finishes it at its next start-up and at every hourly run after
(:func:`finish_interrupted`, from :func:`purging`), and so does ``kring purge``.

The retention purge (:func:`purge`) erases the same way, one conference after another, every
conference closed longer than ``KRING_RETENTION_MONTHS`` ago. The server runs it itself, at
start-up and then hourly (:func:`purging`), with its rooms, so a device still reading such a
conference is closed with 4001 like after "Conferentie wissen". ``kring purge`` runs it in a
process of its own, for when no server runs: it has no rooms, so a server that does run and
still holds the room of such a conference keeps it in memory until it unloads (in the closed
phase every document is read-only, so nothing of it is written again) or until its own purge
drops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import unicodedata
from calendar import monthrange
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from server import metrics
from server.conference import periodic
from server.conference.events import Events
from server.rooms.hub import RoomHub
from server.settings import Settings
from server.storage.models import utcnow
from server.storage.store import ErasedConference, NotFound, Scrubbed, Store

log = logging.getLogger("kring")

# Conferences this process is erasing right now (finishing interrupted ones leaves them be).
_under_way: set[str] = set()

_LATER = Scrubbed(False, "not yet: the files are scrubbed once, after the run's last erasure")


@dataclass(frozen=True)
class Erasure:
    """What one erasure did: the rows, the files, and how many live connections it closed."""

    erased: ErasedConference
    scrubbed: Scrubbed
    connections_closed: int


async def erase(
    store: Store,
    conference_id: str,
    actor: str,
    *,
    hub: RoomHub | None = None,
    events: Events | None = None,
) -> Erasure:
    """Erase a conference: mark it, then its live connections (with ``hub``), its rows in
    steps, its traces in the database files. Raises NotFound for a conference that does not
    exist or is being erased already. If the database fails halfway, the conference stays
    marked, refused everywhere, and the next start-up or purge finishes it."""
    await store.mark_erasing(conference_id, actor)
    try:
        erasure = await _rows_of(store, conference_id, hub, events, resumed=False)
    except NotFound:  # another process's start-up or purge finished it meanwhile, and told
        erasure = Erasure(ErasedConference(conference_id, None, {}, actor), _LATER, 0)
    erasure = dataclasses.replace(erasure, scrubbed=await _scrub(store))
    _told(erasure)
    return erasure


async def _scrub(store: Store) -> Scrubbed:
    with metrics.heavy("erasure's scrub"):
        return await store.scrub_deleted()


async def _rows_of(
    store: Store,
    conference_id: str,
    hub: RoomHub | None,
    events: Events | None,
    *,
    resumed: bool,
) -> Erasure:
    """A marked conference's live side, then its rows (the files are not scrubbed yet)."""
    _under_way.add(conference_id)
    try:
        with metrics.heavy("erasure"):  # named if the event loop is late meanwhile
            closed = hub.erase(conference_id) if hub is not None else 0
            if events is not None:
                events.end(conference_id)
            if hub is not None:
                await hub.log.forgotten(conference_id)
            erased = await store.erase_marked(
                conference_id, turn=hub.log.turn if hub is not None else None, resumed=resumed
            )
    finally:
        _under_way.discard(conference_id)
    return Erasure(erased, _LATER, closed)


def _told(erasure: Erasure) -> None:
    erased = erasure.erased
    log.info(
        "conference %s erased by %s%s: %d rows, %d connections closed; files: %s",
        erased.conference_id,
        erased.actor,
        " (finished after an interruption)" if erased.resumed else "",
        sum(erased.rows.values()),
        erasure.connections_closed,
        erasure.scrubbed.how,
    )


async def _scrubbed_once(store: Store, erasures: list[Erasure]) -> list[Erasure]:
    """Scrub the files once, after a run's erasures, and log each."""
    if not erasures:
        return []
    scrubbed = await _scrub(store)
    done = [dataclasses.replace(erasure, scrubbed=scrubbed) for erasure in erasures]
    for erasure in done:
        _told(erasure)
    return done


@contextlib.asynccontextmanager
async def _scrubbing(store: Store) -> AsyncIterator[list[Erasure]]:
    """A list for a run's erasures (files not scrubbed yet); the files are scrubbed once when
    the block ends, also when it fails half-way (then raising what it raised)."""
    erasures: list[Erasure] = []
    try:
        yield erasures
    finally:
        erasures[:] = await _scrubbed_once(store, erasures)


async def _finish_marked(
    store: Store, hub: RoomHub | None, events: Events | None, into: list[Erasure]
) -> None:
    """Finish, one after another, every erasure that stopped half-way (files not scrubbed)."""
    for conference_id in await store.being_erased():
        if conference_id in _under_way:
            continue  # this process is at it now
        log.warning("conference %s: finishing an erasure that was interrupted", conference_id)
        try:
            into.append(await _rows_of(store, conference_id, hub, events, resumed=True))
        except NotFound:  # another process finished it a moment ago
            continue
        await asyncio.sleep(0)


async def finish_interrupted(
    store: Store, *, hub: RoomHub | None = None, events: Events | None = None
) -> list[Erasure]:
    """Finish every erasure a crash or a failure stopped half-way (its conference is still
    marked as being erased), as by whoever started it; then scrub the files once."""
    async with _scrubbing(store) as erasures:
        await _finish_marked(store, hub, events, erasures)
    return erasures


# -- retention ---------------------------------------------------------------------------------


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the month's last day when
    that month is shorter)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


async def due_for_purge(
    store: Store, retention_months: int, now: datetime
) -> list[tuple[str, datetime]]:
    """Conferences closed longer than ``retention_months`` ago (none when it is 0)."""
    if retention_months <= 0:
        return []
    return await store.closed_before(months_before(now, retention_months))


@dataclass(frozen=True)
class Purged:
    """One conference of a purge: its id, when it closed (None for an interrupted erasure the
    purge finished: it need not have been closed), and what erasing it did (None in a dry
    run, or when it was erased by someone else meanwhile)."""

    conference_id: str
    closed_at: datetime | None
    erasure: Erasure | None


async def purge(
    store: Store,
    retention_months: int,
    actor: str,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    hub: RoomHub | None = None,
    events: Events | None = None,
) -> list[Purged]:
    """Finish any erasure that was interrupted, then erase (audited as by ``actor``) every
    conference closed longer than ``retention_months`` ago, one after another, oldest first,
    each in its own steps with the event loop given back between two; then scrub the files
    once. ``dry_run`` only lists what is due: the interrupted erasures first (``closed_at``
    None), then the conferences the retention period ends."""
    due = await due_for_purge(store, retention_months, now or utcnow())
    if dry_run:
        interrupted = [cid for cid in await store.being_erased() if cid not in _under_way]
        return [Purged(cid, None, None) for cid in interrupted] + [
            Purged(conference_id, closed_at, None) for conference_id, closed_at in due
        ]
    async with _scrubbing(store) as erasures:
        await _finish_marked(store, hub, events, erasures)
        found: list[tuple[str, datetime | None]] = [
            (erasure.erased.conference_id, None) for erasure in erasures
        ]
        for conference_id, closed_at in due:
            found.append((conference_id, closed_at))
            try:
                await store.mark_erasing(conference_id, actor)
            except NotFound:  # another process (cron, another server) erased it a moment ago
                continue
            erasures.append(await _rows_of(store, conference_id, hub, events, resumed=False))
            await asyncio.sleep(0)
    done = {erasure.erased.conference_id: erasure for erasure in erasures}
    return [Purged(cid, closed_at, done.get(cid)) for cid, closed_at in found]


@contextlib.asynccontextmanager
async def purging(
    store: Store, settings: Settings, hub: RoomHub, events: Events
) -> AsyncIterator[None]:
    """The server's own erasures, with its rooms, at start-up and then hourly: any erasure
    that was interrupted is finished, and with ``KRING_RETENTION_MONTHS`` set the retention
    purge runs (audited as by ``retention``)."""

    async def run() -> None:  # each erasure is logged (and audited) as it ends
        if settings.retention_months > 0:
            await purge(store, settings.retention_months, "retention", hub=hub, events=events)
        else:
            await finish_interrupted(store, hub=hub, events=events)

    async with periodic.running("retention", settings.housekeeping_seconds, run):
        yield


# -- the confirmation on the conference page's "Conferentie wissen" ------------------------------


# Letters that are no letter plus an accent, so Unicode does not take them apart, and that a
# Dutch keyboard lacks: typed as the letter they are written like.
_LIKE_A_PLAIN_LETTER = str.maketrans(
    {"ı": "i", "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d"}
)


def same_name(typed: str, client_name: str) -> bool:
    """Whether the typed confirmation is the client's name. Spaces, case and accents do not
    count: "sam yilmaz" confirms Sam Yılmaz, "Zoe" Zoë (a coordinator types the name on
    whatever keyboard they have, and the name still has to be this client's)."""

    def plain(text: str) -> str:
        letters = unicodedata.normalize("NFKD", text.translate(_LIKE_A_PLAIN_LETTER))
        kept = "".join(c for c in letters if not unicodedata.combining(c))
        return " ".join(kept.split()).casefold()

    return bool(typed.strip()) and plain(typed) == plain(client_name)
