"""The audit log: who did what to a conference, and when.

Events are written in groups: a hundred tablets opening the plan at once, or each writing its
first line, are a few transactions rather than a hundred that queue for the database's one
writer beside the plan's own group commits (SQLite has a single writer, and each commit is an
fsync). Each caller still returns only once its event is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.storage.base import StoreBase
from server.storage.models import AuditEvent, utcnow

log = logging.getLogger("kring.storage")

AUDIT_COALESCE = timedelta(minutes=15)
COALESCE_LOOKBACK = 10  # of an actor's recent events of one kind, how many may be the repeat
AUDIT_GROUP = 200  # events written in one transaction at most
# Events nobody waits on (a device's first edit: ``urgent=False``) wait this long for others
# before their group is written, unless an event someone waits on comes first. A meeting's
# first minute, when every tablet writes its first line, took a transaction per one or two
# events (about 3 ms of CPU each: 0.8 s for 600 tablets), each an fsync beside the plan's
# group commits; the slowest edits of the whole meeting were those.
AUDIT_LINGER = 0.25

_Key = tuple[str | None, str, str]


@dataclass
class _Wanted:
    """One event waiting for its group's transaction."""

    conference_id: str | None
    actor: str
    kind: str
    detail: dict[str, Any]
    coalesce: bool
    urgent: bool
    # When it happened: its row says so, however long it then waits for its group.
    at: datetime = field(default_factory=lambda: utcnow())
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    @property
    def key(self) -> _Key:
        return (self.conference_id, self.actor, self.kind)


class AuditMixin(StoreBase):
    """Recording and reading audit events."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self._audit_wanted: list[_Wanted] = []
        self._audit_writer: asyncio.Task[None] | None = None
        self._audit_hurry = asyncio.Event()  # set: an event someone waits on is waiting
        self.audit_groups = 0  # transactions that wrote events (for tests and the benchmark)

    async def audit(
        self,
        conference_id: str | None,
        actor: str,
        kind: str,
        detail: dict[str, Any] | None = None,
        *,
        coalesce: bool = False,
        urgent: bool = True,
    ) -> None:
        """Record an event; return once it is committed. With ``coalesce``, a repeat of an
        event by the same actor (same kind and detail, the latest such within AUDIT_COALESCE)
        raises its count and moves it to now instead of adding a row: a device retrying a
        refused link is one line in the log, not hundreds, and a tablet that reloads the
        plan's page (which opens the plan's live document too) adds no row per reload.
        Not ``urgent`` (nobody waits for it), it may wait AUDIT_LINGER for others to join its
        group."""
        wanted = _Wanted(conference_id, actor, kind, detail or {}, coalesce, urgent)
        self._audit_wanted.append(wanted)
        if urgent:
            self._audit_hurry.set()
        if self._audit_writer is None:
            self._audit_writer = asyncio.create_task(self._write_audit(), name="kring-audit")
        # Shielded: a caller that is cancelled (its device went away) leaves the group intact.
        return await asyncio.shield(wanted.done)

    async def _write_audit(self) -> None:
        """Write the waiting events, a group per transaction, until none wait. A group the
        database refuses (an event of a conference erased meanwhile) is written again one
        event at a time, so only the events that cannot be stored fail."""
        group: list[_Wanted] = []
        try:
            while self._audit_wanted:
                if not any(wanted.urgent for wanted in self._audit_wanted):
                    self._audit_hurry.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(AUDIT_LINGER):
                            await self._audit_hurry.wait()
                group = self._audit_wanted[:AUDIT_GROUP]
                del self._audit_wanted[:AUDIT_GROUP]
                try:
                    await self._store_audit(group)
                except Exception:
                    for wanted in group:
                        try:
                            await self._store_audit([wanted])
                        except Exception as exc:
                            wanted.done.set_exception(exc)
                        else:
                            wanted.done.set_result(None)
                else:
                    for wanted in group:
                        wanted.done.set_result(None)
        except BaseException as exc:  # cancelled at shutdown: nobody waits for ever
            for wanted in [*group, *self._audit_wanted]:  # the group being written too
                if not wanted.done.done():
                    wanted.done.set_exception(exc)
            self._audit_wanted.clear()
            raise
        finally:
            self._audit_writer = None

    async def _store_audit(self, group: list[_Wanted]) -> None:
        """One transaction: a row per event, or the recent row it repeats (its count raised).
        Plain statements, no ORM rows: a group of a hundred first edits built, flushed and
        tracked a hundred objects on the event loop (tens of milliseconds)."""
        now = utcnow()
        table = cast(Table, AuditEvent.__table__)
        async with self.engine.begin() as conn:
            recent = await _recent(conn, [w for w in group if w.coalesce], now)
            raised: dict[int, _Row] = {}
            new: list[tuple[_Wanted, _Row]] = []
            for wanted in group:
                same = recent.get(wanted.key, []) if wanted.coalesce else []
                row = next((r for r in same if r.detail == wanted.detail), None)
                if row is None:
                    row = _Row(None, wanted.detail)
                    new.append((wanted, row))
                    if wanted.coalesce:  # a repeat later in this group raises this one
                        recent[wanted.key] = [row, *same]
                elif row.id is not None:
                    raised[row.id] = row
                row.added += 1
                row.at = wanted.at
            # Raised by as many, not set to the count read: another process may raise it
            # meanwhile (scale-out).
            if raised:
                await conn.execute(
                    update(table)
                    .where(table.c.id == bindparam("row_id"))
                    .values(count=table.c.count + bindparam("added"), at=bindparam("last")),
                    [{"row_id": i, "added": r.added, "last": r.at} for i, r in raised.items()],
                )
            if new:
                await conn.execute(
                    insert(table),
                    [
                        {
                            "conference_id": wanted.conference_id,
                            "actor": wanted.actor,
                            "kind": wanted.kind,
                            "detail": wanted.detail,
                            "at": row.at,
                            "count": row.added,
                        }
                        for wanted, row in new
                    ],
                )
        self.audit_groups += 1

    async def close(self) -> None:
        """Let the events handed in be written, then close the engine."""
        writer = self._audit_writer
        if writer is not None:
            try:
                await writer
            except Exception:
                log.exception("writing the last audit events failed")
        await super().close()

    async def audit_events(self, conference_id: str) -> Sequence[AuditEvent]:
        async with self._sessions() as db:
            return (
                await db.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.conference_id == conference_id)
                    .order_by(AuditEvent.at, AuditEvent.id)
                )
            ).all()

    async def audit_events_of(
        self, conference_id: str, kinds: Collection[str]
    ) -> Sequence[AuditEvent]:
        """A conference's events of these kinds, newest first."""
        query = (
            select(AuditEvent)
            .where(AuditEvent.conference_id == conference_id, AuditEvent.kind.in_(sorted(kinds)))
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        )
        async with self._sessions() as db:
            return (await db.scalars(query)).all()


@dataclass
class _Row:
    """A recent event a repeat may raise (``id`` None: added by this group): how many events
    of this group it counts, and when the latest of them happened."""

    id: int | None
    detail: dict[str, Any]
    added: int = 0
    at: datetime | None = None


async def _recent(
    conn: AsyncConnection, wanted: list[_Wanted], now: datetime
) -> dict[_Key, list[_Row]]:
    """Per (conference, actor, kind) of the coalesced events wanted: its latest events within
    AUDIT_COALESCE (at most COALESCE_LOOKBACK), newest first. One query for the group."""
    if not wanted:
        return {}
    keys = {w.key for w in wanted}
    table = cast(Table, AuditEvent.__table__)
    conferences = sorted({k[0] for k in keys if k[0] is not None})
    of_conference = [table.c.conference_id.in_(conferences)] if conferences else []
    if any(k[0] is None for k in keys):
        of_conference.append(table.c.conference_id.is_(None))
    rows = await conn.execute(
        select(
            table.c.id,
            table.c.conference_id,
            table.c.actor,
            table.c.kind,
            table.c.detail,
        )
        .where(
            or_(*of_conference),
            table.c.actor.in_(sorted({k[1] for k in keys})),
            table.c.kind.in_(sorted({k[2] for k in keys})),
            table.c.at > now - AUDIT_COALESCE,
        )
        .order_by(table.c.id.desc())
    )
    found: defaultdict[_Key, list[_Row]] = defaultdict(list)
    for row_id, conference_id, actor, kind, detail in rows:
        key = (conference_id, actor, kind)
        if key in keys and len(found[key]) < COALESCE_LOOKBACK:
            found[key].append(_Row(row_id, detail))
    return dict(found)
