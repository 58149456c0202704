"""Erasing a conference: every row of it in one transaction, an audit event that keeps
nothing of it but its id, and cleaning the database's own files of what was deleted."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Delete, delete, literal, select

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
)

CHECKPOINT_ATTEMPTS = 5
CHECKPOINT_BUSY_TIMEOUT_MS = 1_000  # per attempt: wait this long for readers to move on


@dataclass(frozen=True)
class ErasedConference:
    """What an erasure removed: the conference's id, when it had closed, rows per table."""

    conference_id: str
    closed_at: datetime | None
    rows: dict[str, int]


@dataclass(frozen=True)
class Scrubbed:
    """Whether the database's files were cleaned of deleted rows, and how (for the log)."""

    done: bool
    how: str


def _conference_rows(conference_id: str) -> list[tuple[str, Delete]]:
    """Per table, the statement that deletes this conference's rows from it, children first.
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
        ("account_link", delete(AccountLink).where(AccountLink.conference_id == conference_id)),
        ("session", delete(Session).where(Session.invitation_id.in_(links))),
        ("invitation", delete(Invitation).where(Invitation.participant_id.in_(people))),
        (
            "follow_up_attendance",
            delete(FollowUpAttendance).where(FollowUpAttendance.follow_up_id.in_(meetings)),
        ),
        *(
            (model.__tablename__, delete(model).where(model.conference_id == conference_id))
            for model in owned
        ),
        ("conference", delete(Conference).where(Conference.id == conference_id)),
    ]


# The tables an erasure deletes from (and vacuums, on PostgreSQL).
ERASED_TABLES: tuple[str, ...] = tuple(name for name, _statement in _conference_rows(""))


class ErasureMixin(StoreBase):
    """Erasing conferences, and finding the ones due for it."""

    async def erase_conference(self, conference_id: str, actor: str) -> ErasedConference:
        """Delete every row of a conference in one transaction, and record that it happened
        in an audit event that keeps nothing of it but its id, when it closed and how many
        rows went (NotFound if there is no such conference). The conference's row is locked
        first, so a write of it at the same moment waits and then finds it gone."""
        async with self._sessions() as db:
            closed_at = await db.execute(
                select(Conference.closed_at).where(Conference.id == conference_id).with_for_update()
            )
            found = closed_at.one_or_none()
            if found is None:
                await db.rollback()
                raise NotFound(Reason.NO_CONFERENCE)
            rows = {
                table: rowcount(await db.execute(statement))
                for table, statement in _conference_rows(conference_id)
            }
            erased = ErasedConference(conference_id, found[0], rows)
            db.add(
                AuditEvent(
                    conference_id=None,
                    actor=actor,
                    kind="conference_erased",
                    detail={
                        "conference_id": conference_id,
                        "closed_at": found[0].isoformat() if found[0] else None,
                        "rows": rows,
                    },
                )
            )
            await db.commit()
        return erased

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
            await auto.exec_driver_sql(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_TIMEOUT_MS}")
            try:
                for attempt in range(1, CHECKPOINT_ATTEMPTS + 1):
                    result = await auto.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                    if not result.one()[0]:  # (busy, WAL frames, frames copied)
                        return Scrubbed(True, f"wal_checkpoint(TRUNCATE) on attempt {attempt}")
                    await asyncio.sleep(0.1 * attempt)
            finally:
                await auto.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return Scrubbed(
            False,
            f"wal_checkpoint(TRUNCATE) stayed busy {CHECKPOINT_ATTEMPTS} times: the erased "
            "rows are zeroed in the WAL, which the next checkpoint copies into the main file",
        )

    async def closed_before(self, moment: datetime) -> list[tuple[str, datetime]]:
        """Conferences closed before ``moment`` (id and when it closed), oldest first."""
        async with self._sessions() as db:
            rows = await db.execute(
                select(Conference.id, Conference.closed_at)
                .where(
                    Conference.phase == "closed",
                    Conference.closed_at.is_not(None),
                    Conference.closed_at < literal(moment, UTCDateTime),
                )
                .order_by(Conference.closed_at, Conference.id)
            )
            return [(cid, closed) for cid, closed in rows.all() if closed is not None]
