"""The action team's follow-up meetings (who came, closing one freezes the next plan
version) and the reminders of them sent by mail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from server.storage.base import StoreBase, rowcount
from server.storage.errors import Reason, StoreError
from server.storage.meeting import new_version
from server.storage.models import (
    Account,
    Conference,
    FollowUp,
    FollowUpAttendance,
    Participant,
    PlanVersion,
    ReminderSent,
    utcnow,
)


@dataclass(frozen=True)
class Recipient:
    """Someone who gets reminders of a conference's follow-up meetings by mail."""

    key: str  # "account:3" or "participant:12": one reminder per key and due date
    name: str
    email: str
    language: str | None
    coordinator: bool


class FollowUpsMixin(StoreBase):
    """The action team's follow-up meetings."""

    async def follow_ups(self, conference_id: str) -> list[FollowUp]:
        """The conference's follow-up meetings, first one first."""
        return await self._of_conference(FollowUp, conference_id, FollowUp.number)

    async def follow_ups_of(self, conference_ids: Sequence[str]) -> dict[str, list[FollowUp]]:
        """The follow-up meetings of several conferences at once, by conference id."""
        found: dict[str, list[FollowUp]] = {cid: [] for cid in conference_ids}
        if not found:
            return found
        async with self._sessions() as db:
            rows = await db.scalars(
                select(FollowUp)
                .where(FollowUp.conference_id.in_(list(found)))
                .order_by(FollowUp.conference_id, FollowUp.number)
            )
            for row in rows:
                found[row.conference_id].append(row)
        return found

    async def follow_up(self, conference_id: str, number: int) -> FollowUp | None:
        async with self._sessions() as db:
            return await db.scalar(
                select(FollowUp).where(
                    FollowUp.conference_id == conference_id, FollowUp.number == number
                )
            )

    async def attendance(self, follow_up_id: int) -> frozenset[int]:
        """The participants who were at a follow-up meeting."""
        async with self._sessions() as db:
            ids = await db.scalars(
                select(FollowUpAttendance.participant_id).where(
                    FollowUpAttendance.follow_up_id == follow_up_id
                )
            )
            return frozenset(ids)

    async def start_follow_up(self, conference_id: str, due_on: date, by: str) -> FollowUp:
        """Open the next follow-up meeting. One is open at a time: another start while one is
        open (or at the same moment) raises StoreError."""
        async with self._sessions() as db:
            open_one = await db.scalar(
                select(FollowUp.number).where(
                    FollowUp.conference_id == conference_id, FollowUp.closed_at.is_(None)
                )
            )
            if open_one is not None:
                raise StoreError(Reason.FOLLOW_UP_OPEN, number=open_one)
            last = await db.scalar(
                select(func.max(FollowUp.number)).where(FollowUp.conference_id == conference_id)
            )
            row = FollowUp(
                conference_id=conference_id, number=(last or 0) + 1, due_on=due_on, started_by=by
            )
            db.add(row)
            try:
                await db.commit()
            except IntegrityError:
                await db.rollback()
                raise StoreError(Reason.FOLLOW_UP_STARTED) from None
            return row

    async def set_attendance(self, follow_up_id: int, participant_ids: frozenset[int]) -> None:
        """Who was there (replaces the list); a closed meeting keeps its list."""
        async with self._sessions() as db:
            # A no-op update that only matches an open meeting: it takes the row (as closing
            # does), so attendance and closing never cross.
            still_open = await db.execute(
                update(FollowUp)
                .where(FollowUp.id == follow_up_id, FollowUp.closed_at.is_(None))
                .values(closed_at=None)
            )
            if rowcount(still_open) != 1:
                await db.rollback()
                raise StoreError(Reason.FOLLOW_UP_CLOSED)
            await db.execute(
                delete(FollowUpAttendance).where(FollowUpAttendance.follow_up_id == follow_up_id)
            )
            db.add_all(
                FollowUpAttendance(follow_up_id=follow_up_id, participant_id=pid)
                for pid in sorted(participant_ids)
            )
            await db.commit()

    async def close_follow_up(
        self,
        follow_up_id: int,
        conference_id: str,
        state: bytes,
        content: dict[str, Any],
        by: str,
    ) -> PlanVersion:
        """Close a follow-up meeting and freeze the next plan version, in one transaction.
        Refused (StoreError) when nobody is recorded as there, when it is closed already, or
        when another version was frozen at the same moment."""
        async with self._sessions() as db:
            last = await db.scalar(
                select(func.max(PlanVersion.number)).where(
                    PlanVersion.conference_id == conference_id
                )
            )
            number = (last or 0) + 1
            # Closing takes the meeting's row first (PostgreSQL locks it; SQLite has one
            # writer): a change of attendance at the same moment waits, then finds it closed.
            closed = await db.execute(
                update(FollowUp)
                .where(FollowUp.id == follow_up_id, FollowUp.closed_at.is_(None))
                .values(closed_at=utcnow(), closed_by=by, version_number=number)
            )
            if rowcount(closed) != 1:
                await db.rollback()
                raise StoreError(Reason.FOLLOW_UP_CLOSED)
            came = await db.scalar(
                select(func.count()).where(FollowUpAttendance.follow_up_id == follow_up_id)
            )
            if not came:
                await db.rollback()
                raise StoreError(Reason.NOBODY_ATTENDED)
            version = new_version(conference_id, number, state, content, by)
            db.add(version)
            await db.execute(
                update(Conference)
                .where(Conference.id == conference_id)
                .values(next_follow_up_on=None)
            )
            try:
                await db.commit()
            except IntegrityError:
                await db.rollback()
                raise StoreError(Reason.VERSION_EXISTS, number=number) from None
            return version

    async def set_next_follow_up(self, conference_id: str, due_on: date) -> None:
        async with self._sessions() as db:
            await db.execute(
                update(Conference)
                .where(Conference.id == conference_id)
                .values(next_follow_up_on=due_on)
            )
            await db.commit()


class RemindersMixin(StoreBase):
    """Who gets reminders of the follow-up meetings, and which were sent."""

    async def reminder_recipients(self, conference_id: str) -> list[Recipient]:
        """The conference's coordinators (by their account's email) and the members of its
        action team who have an email address; nobody who was removed, and no account that
        was turned off."""
        async with self._sessions() as db:
            accounts = await db.scalars(
                select(Account)
                .join(Participant, Participant.account_id == Account.id)
                .where(
                    Participant.conference_id == conference_id,
                    Participant.role == "coordinator",
                    Participant.removed_at.is_(None),
                    Account.deactivated_at.is_(None),
                )
                .distinct()
                .order_by(Account.id)
            )
            found = [
                Recipient(f"account:{a.id}", a.name, a.email, a.language, coordinator=True)
                for a in accounts
            ]
            members = await db.scalars(
                select(Participant)
                .where(
                    Participant.conference_id == conference_id,
                    Participant.action_team.is_(True),
                    Participant.removed_at.is_(None),
                    Participant.email.is_not(None),
                    Participant.email != "",
                )
                .order_by(Participant.id)
            )
            found += [
                Recipient(f"participant:{p.id}", p.name, p.email or "", p.language, False)
                for p in members
            ]
        return found

    async def claim_reminder(self, conference_id: str, recipient: str, due_on: date) -> bool:
        """Note that this reminder is being sent; False if it was (or is being) sent already,
        by this process or another."""
        async with self._sessions() as db:
            db.add(ReminderSent(conference_id=conference_id, recipient=recipient, due_on=due_on))
            try:
                await db.commit()
            except IntegrityError:
                await db.rollback()
                return False
            return True

    async def release_reminder(self, conference_id: str, recipient: str, due_on: date) -> None:
        """Sending failed: forget the claim, so the next run tries again."""
        async with self._sessions() as db:
            await db.execute(
                delete(ReminderSent).where(
                    ReminderSent.conference_id == conference_id,
                    ReminderSent.recipient == recipient,
                    ReminderSent.due_on == due_on,
                )
            )
            await db.commit()

    async def reminders_sent(self, conference_id: str) -> list[ReminderSent]:
        return await self._of_conference(ReminderSent, conference_id, ReminderSent.id)
