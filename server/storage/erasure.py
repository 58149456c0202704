"""Erasing a conference in small steps: first it is marked as being erased (one short
transaction; from then on every way in refuses it as if it were gone), then its rows go table
by table, children first, a bounded number per transaction, and last the conference's row
itself with an audit event that keeps nothing of it but its id. Then the database's own files
are cleaned of what was deleted.

Between two steps anything else gets the database: the document log's group commits of the
other conferences (the caller holds the log's turn around each step), the pages. A crash
half-way leaves the conference marked, and so refused everywhere; ``erase_marked`` finishes
it (the next start-up or purge does, see conference/erasure.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Delete, delete, literal, select, tuple_, update

from server.storage.base import BUSY_TIMEOUT_MS, StoreBase, rowcount
from server.storage.errors import NotFound, Reason
from server.storage.models import (
    AccountLink,
    AuditEvent,
    ClarifyingQuestion,
    Condition,
    Conference,
    ConferenceQuestion,
    DocSnapshot,
    DocUpdate,
    FollowUp,
    FollowUpAttendance,
    Invitation,
    InvitationProposal,
    Participant,
    PlanAnswer,
    PlanVersion,
    Rating,
    ReminderSent,
    Session,
    Signal,
    UTCDateTime,
    utcnow,
)

# The scrub's TRUNCATE checkpoint keeps every writer waiting while it waits for readers of the
# WAL to move on (a backup, an export, the outcomes page read for seconds): it waits only a few
# milliseconds each time, so that the rooms' commits are never held longer than that, and
# tries again after a pause (0.05 s, 0.1 s, ... at most 0.5 s; about 8 s in all).
CHECKPOINT_ATTEMPTS = 20
CHECKPOINT_BUSY_TIMEOUT_MS = 10
# Rows deleted per transaction: short enough that a group commit of another conference never
# waits long behind one (each is one fsync on SQLite), large enough to get on with it.
BATCH_ROWS = 500

# Something held around each step (the document log's turn), or nothing.
Turn = Callable[[], AbstractAsyncContextManager[object]]


@dataclass(frozen=True)
class ErasedConference:
    """What an erasure removed: the conference's id, when it had closed, rows per table (the
    rows of the run that finished it: after a crash, those deleted before it are not told)."""

    conference_id: str
    closed_at: datetime | None
    rows: dict[str, int]
    actor: str = ""
    resumed: bool = False


@dataclass(frozen=True)
class Scrubbed:
    """Whether the database's files were cleaned of deleted rows, and how (for the log)."""

    done: bool
    how: str


def _conference_rows(conference_id: str) -> list[tuple[Any, ColumnElement[bool]]]:
    """Per table, the model and which of its rows are this conference's, children first.
    Every table that holds anything of a conference is named here, so an erasure forgets
    none (the foreign keys cascade as well, as a second line)."""
    people = select(Participant.id).where(Participant.conference_id == conference_id)
    links = select(Invitation.id).where(Invitation.participant_id.in_(people))
    meetings = select(FollowUp.id).where(FollowUp.conference_id == conference_id)
    owned: tuple[Any, ...] = (
        ReminderSent,
        Rating,
        PlanAnswer,
        Condition,
        Signal,
        ClarifyingQuestion,
        ConferenceQuestion,
        FollowUp,
        PlanVersion,
        DocSnapshot,
        DocUpdate,
        AuditEvent,
        InvitationProposal,
        Participant,
    )
    return [
        # An invitation to run this conference with its coordinator ends with it (the
        # invited account stays, without a password, until an admin sends a new link).
        (AccountLink, AccountLink.conference_id == conference_id),
        (Session, Session.invitation_id.in_(links)),
        (Invitation, Invitation.participant_id.in_(people)),
        (FollowUpAttendance, FollowUpAttendance.follow_up_id.in_(meetings)),
        *((model, model.conference_id == conference_id) for model in owned),
        (Conference, Conference.id == conference_id),
    ]


def _batch(model: Any, where: ColumnElement[bool], limit: int) -> Delete:
    """Delete at most ``limit`` of the rows ``where`` picks (by primary key, so any table)."""
    key = list(model.__table__.primary_key.columns)
    chosen = select(*key).where(where).limit(limit)
    picked = key[0].in_(chosen) if len(key) == 1 else tuple_(*key).in_(chosen)
    return delete(model).where(picked)


# The tables an erasure deletes from (and vacuums, on PostgreSQL), children first.
ERASED_TABLES: tuple[str, ...] = tuple(
    model.__tablename__ for model, _where in _conference_rows("")
)


class ErasureMixin(StoreBase):
    """Erasing conferences, and finding the ones due for it."""

    async def erase_conference(
        self,
        conference_id: str,
        actor: str,
        *,
        batch_rows: int = BATCH_ROWS,
        turn: Turn | None = None,
    ) -> ErasedConference:
        """Mark a conference as being erased, then delete it in steps (``erase_marked``).
        NotFound if there is no such conference, or it is being erased already."""
        await self.mark_erasing(conference_id, actor)
        return await self.erase_marked(conference_id, batch_rows=batch_rows, turn=turn)

    async def mark_erasing(self, conference_id: str, actor: str) -> None:
        """Mark a conference as being erased by ``actor``, in one short transaction: from its
        commit on, nothing reads it as a conference any more (its pages, links, sign-ins and
        lists refuse it as if it were gone). NotFound: no such conference, or it is being
        erased already (by someone else, who finishes it)."""
        async with self._sessions() as db:
            marked = await db.scalar(
                update(Conference)
                .where(Conference.id == conference_id, Conference.erasing_since.is_(None))
                .values(erasing_since=utcnow(), erasing_by=actor)
                .returning(Conference.id)
            )
            if marked is None:
                await db.rollback()
                raise NotFound(Reason.NO_CONFERENCE)
            await db.commit()

    async def being_erased(self) -> list[str]:
        """The conferences marked as being erased, longest ago first (a crash or a failure
        stopped their erasure half-way, or another process is at it now)."""
        async with self._sessions() as db:
            rows = await db.scalars(
                select(Conference.id)
                .where(Conference.erasing_since.is_not(None))
                .order_by(Conference.erasing_since, Conference.id)
            )
            return list(rows)

    async def erase_batch(self, conference_id: str, table: str, limit: int = BATCH_ROWS) -> int:
        """One step: delete at most ``limit`` of a marked conference's rows in ``table`` (one
        of ERASED_TABLES but its last, the conference itself), in one transaction; how many
        went. Fewer than ``limit``: that table holds nothing of it any more (none at all,
        too, for a conference that is not marked)."""
        if table == "conference":
            raise ValueError("the conference's own row goes last, in erase_marked")
        model, where = next(
            (model, where)
            for model, where in _conference_rows(conference_id)
            if model.__tablename__ == table
        )
        marked = (
            select(Conference.id)
            .where(Conference.id == conference_id, Conference.erasing_since.is_not(None))
            .exists()
        )  # in the same statement: nothing goes of a conference that is not being erased
        async with self._sessions() as db:
            deleted = rowcount(await db.execute(_batch(model, where, limit).where(marked)))
            await db.commit()
        return deleted

    async def erase_marked(
        self,
        conference_id: str,
        *,
        batch_rows: int = BATCH_ROWS,
        turn: Turn | None = None,
        resumed: bool = False,
    ) -> ErasedConference:
        """Delete a marked conference's rows, table by table, children first, at most
        ``batch_rows`` per transaction (``turn()`` held around each), giving the event loop
        back between two; then, in one transaction, its own row (taking along anything
        written in the meantime, by cascade) and the audit event ``conference_erased``, as
        by whoever marked it. NotFound if it is not marked (never was, or someone else
        finished it meanwhile: then they recorded it)."""
        rows: dict[str, int] = {}
        for table in ERASED_TABLES[:-1]:
            while True:
                async with turn() if turn is not None else contextlib.nullcontext():
                    deleted = await self.erase_batch(conference_id, table, batch_rows)
                rows[table] = rows.get(table, 0) + deleted
                await asyncio.sleep(0)  # whatever waits for the database goes first
                if deleted < batch_rows:
                    break
        async with turn() if turn is not None else contextlib.nullcontext():
            return await self._end_erasure(conference_id, rows, resumed)

    async def _end_erasure(
        self, conference_id: str, rows: dict[str, int], resumed: bool
    ) -> ErasedConference:
        async with self._sessions() as db:
            found = (
                await db.execute(
                    delete(Conference)
                    .where(Conference.id == conference_id, Conference.erasing_since.is_not(None))
                    .returning(Conference.closed_at, Conference.erasing_by)
                )
            ).one_or_none()
            if found is None:
                await db.rollback()
                raise NotFound(Reason.NO_CONFERENCE)
            closed_at, actor = found[0], found[1] or "?"
            rows = {**rows, "conference": 1}
            detail: dict[str, Any] = {
                "conference_id": conference_id,
                "closed_at": closed_at.isoformat() if closed_at else None,
                "rows": rows,
            }
            if resumed:  # rows deleted before the interruption are not in ``rows``
                detail["resumed"] = True
            db.add(
                AuditEvent(conference_id=None, actor=actor, kind="conference_erased", detail=detail)
            )
            await db.commit()
        return ErasedConference(conference_id, closed_at, rows, actor, resumed)

    async def scrub_deleted(self) -> Scrubbed:
        """Make deleted rows unreadable in the database's own files, as far as the database
        can. SQLite (secure_delete on every connection): copy the WAL into the main file and
        truncate it, retried a few times while readers keep it busy. PostgreSQL: VACUUM the
        tables an erasure touches (outside a transaction)."""
        async with self.engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            if self.engine.dialect.name != "sqlite":
                for table in ERASED_TABLES:
                    await auto.exec_driver_sql(f'VACUUM "{table}"')
                return Scrubbed(True, "VACUUM " + ", ".join(ERASED_TABLES))
            # First copy what it can without holding up anyone (PASSIVE): the TRUNCATE after
            # it, which keeps every writer waiting while it runs, then has only the rest to
            # copy (after a big erasure, copying all of it kept the rooms' commits waiting
            # for 0.6 s).
            await auto.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            await auto.exec_driver_sql(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_TIMEOUT_MS}")
            try:
                for attempt in range(1, CHECKPOINT_ATTEMPTS + 1):
                    result = await auto.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                    if not result.one()[0]:  # (busy, WAL frames, frames copied)
                        return Scrubbed(True, f"wal_checkpoint(TRUNCATE) on attempt {attempt}")
                    if attempt < CHECKPOINT_ATTEMPTS:
                        await asyncio.sleep(min(0.05 * attempt, 0.5))
            finally:
                await auto.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return Scrubbed(
            False,
            f"wal_checkpoint(TRUNCATE) stayed busy {CHECKPOINT_ATTEMPTS} times: the erased "
            "rows are zeroed in the WAL, which the next checkpoint copies into the main file",
        )

    async def closed_before(self, moment: datetime) -> list[tuple[str, datetime]]:
        """Conferences closed before ``moment`` (id and when it closed), oldest first; not
        those being erased already."""
        async with self._sessions() as db:
            rows = await db.execute(
                select(Conference.id, Conference.closed_at)
                .where(
                    Conference.phase == "closed",
                    Conference.closed_at.is_not(None),
                    Conference.erasing_since.is_(None),  # its erasure is under way already
                    Conference.closed_at < literal(moment, UTCDateTime),
                )
                .order_by(Conference.closed_at, Conference.id)
            )
            return [(cid, closed) for cid, closed in rows.all() if closed is not None]
