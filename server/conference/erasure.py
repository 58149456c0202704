"""Erasing a conference for good, from the conference page or by the retention purge.

One code path for both (:func:`erase`): the live side first (every open websocket of the
conference is closed with 4001, its room is dropped from memory and never loaded again, its
console streams end, and the document log stores nothing of it any more), then every row of
it in one transaction, then the database's files (SQLite: the WAL checkpointed into the main
file, which ``secure_delete`` has zeroed; PostgreSQL: VACUUM). The erasure is audited
without anything of the conference but its id.

The retention purge (:func:`purge`) erases the same way every conference closed longer than
``KRING_RETENTION_MONTHS`` ago. The server runs it itself, at start-up and then hourly
(:func:`purging`), with its rooms, so a device still reading such a conference is closed with
4001 like after "Conferentie wissen". ``kring purge`` runs it in a process of its own, for
when no server runs: it has no rooms, so a server that does run and still holds the room of
such a conference keeps it in memory until it unloads (in the closed phase every document is
read-only, so nothing of it is written again) or until its own purge drops it.
"""

from __future__ import annotations

import contextlib
import logging
import unicodedata
from calendar import monthrange
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime

from server.conference import periodic
from server.conference.events import Events
from server.rooms.hub import RoomHub
from server.settings import Settings
from server.storage.models import utcnow
from server.storage.store import ErasedConference, NotFound, Scrubbed, Store

log = logging.getLogger("kring")


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
    """Erase a conference: its live connections (with ``hub``), its rows, its traces in the
    database files. Raises NotFound for a conference that does not exist. If the database
    fails halfway, nothing is deleted (one transaction) and this process still refuses the
    conference's documents until it restarts: erase it again."""
    closed = hub.erase(conference_id) if hub is not None else 0
    if events is not None:
        events.end(conference_id)
    quiet: AbstractAsyncContextManager[None] = (
        hub.log.forgetting(conference_id) if hub is not None else contextlib.nullcontext()
    )
    async with quiet:
        erased = await store.erase_conference(conference_id, actor)
    scrubbed = await store.scrub_deleted()
    log.info(
        "conference %s erased by %s: %d rows, %d connections closed; files: %s",
        conference_id,
        actor,
        sum(erased.rows.values()),
        closed,
        scrubbed.how,
    )
    return Erasure(erased, scrubbed, closed)


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
    """One conference of a purge: its id, when it closed, and what erasing it did (None in a
    dry run, or when it was erased by someone else meanwhile)."""

    conference_id: str
    closed_at: datetime
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
    """Erase (with :func:`erase`, audited as by ``actor``) every conference closed longer than
    ``retention_months`` ago, oldest first; ``dry_run`` only lists them."""
    purged = []
    for conference_id, closed_at in await due_for_purge(store, retention_months, now or utcnow()):
        if dry_run:
            purged.append(Purged(conference_id, closed_at, None))
            continue
        try:
            result = await erase(store, conference_id, actor, hub=hub, events=events)
        except NotFound:  # another process (cron, another server) erased it a moment ago
            result = None
        purged.append(Purged(conference_id, closed_at, result))
    return purged


@contextlib.asynccontextmanager
async def purging(
    store: Store, settings: Settings, hub: RoomHub, events: Events
) -> AsyncIterator[None]:
    """The server's own retention purge, with its rooms: at start-up and then hourly, when
    ``KRING_RETENTION_MONTHS`` is set; audited as by ``retention``."""
    if settings.retention_months <= 0:
        yield
        return

    async def run() -> None:  # each erasure is logged (and audited) by erase()
        await purge(store, settings.retention_months, "retention", hub=hub, events=events)

    async with periodic.running("retention", settings.housekeeping_seconds, run):
        yield


# -- the confirmation on the conference page's "Conferentie wissen" ------------------------------


def same_name(typed: str, client_name: str) -> bool:
    """Whether the typed confirmation is the client's name (spaces, case and the way an
    accent was typed do not count)."""

    def plain(text: str) -> str:
        return " ".join(unicodedata.normalize("NFC", text).split()).casefold()

    return bool(typed.strip()) and plain(typed) == plain(client_name)
