"""Conferences: creating and changing one, its phase, and the lists and figures over the
conferences an account may see."""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import Select, Text, case, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from server.clock import time_zone
from server.rules.outcomes import Average, ConferenceFacts, Ratings, VersionFacts, versions_needed
from server.rules.phases import PHASES
from server.storage.base import StoreBase, as_utc, not_erasing
from server.storage.errors import NotFound, Reason
from server.storage.models import (
    Account,
    Conference,
    FollowUp,
    Participant,
    PlanVersion,
    Rating,
    Signal,
    utcnow,
)


@dataclass(frozen=True)
class ConferenceSummary:
    conference: Conference
    participant_count: int
    last_follow_up_at: datetime | None = None  # when the action team last closed a meeting


def new_conference_id() -> str:
    """An id for URLs: short, but not guessable by counting. Never starting with "-", so
    that a command line (``kring export ID``) does not read it as an option."""
    token = secrets.token_urlsafe(9)
    return "k" + token[1:] if token.startswith("-") else token


def _visible_to(account: Account, query: Select[Any], own_only: bool = False) -> Select[Any]:
    """Only the conferences ``account`` runs or co-runs (an admin's: all of them, unless
    ``own_only``), none being erased."""
    query = query.where(not_erasing())
    if account.role == "admin" and not own_only:
        return query
    co_coordinated = select(Participant.conference_id).where(
        Participant.account_id == account.id, Participant.removed_at.is_(None)
    )
    return query.where((Conference.owner_id == account.id) | Conference.id.in_(co_coordinated))


# Rows read at a time for the outcomes (and version ids asked for in one query): small
# enough that handling one part takes an event loop about a millisecond.
OUTCOME_PART = 500


async def _in_parts(db: AsyncSession, query: Executable, part: int) -> list[Any]:
    """Every row of ``query``, fetched ``part`` rows at a time from a server-side cursor, so
    that the event loop serves others between two parts."""
    rows: list[Any] = []
    result = await db.stream(query.execution_options(yield_per=part))
    async for some in result.partitions():
        rows.extend(some)
    return rows


def _versions_counted(frozen: list[Any], zone: tzinfo) -> list[int]:
    """The ids of the versions the outcomes read (``versions_needed`` of each conference)."""
    by_conference: dict[str, list[tuple[int, int, datetime]]] = {}
    for version_id, cid, number, at in frozen:
        by_conference.setdefault(cid, []).append((version_id, number, at))
    counted = []
    for versions in by_conference.values():
        needed = versions_needed([(number, at) for _id, number, at in versions], zone)
        counted += [version_id for version_id, number, _at in versions if number in needed]
    return sorted(counted)


def _outcome_facts(
    conferences: list[Any], summaries: list[Any], marks: list[Any]
) -> list[ConferenceFacts]:
    """The rows read for the outcomes put together (CPU work: off the event loop)."""
    ratings: dict[str, Ratings] = {row[0]: Ratings() for row in conferences}
    for cid, later, count, meeting, plan in marks:
        if cid not in ratings:  # made after the conferences were read
            continue
        meetings, plans = Average(count, int(meeting)), Average(count, int(plan))
        ratings[cid] += (
            Ratings(follow_ups=meetings, plan_followed_up=plans)
            if later
            else Ratings(conference=meetings, plan_presented=plans)
        )
    versions: dict[str, list[VersionFacts]] = {row[0]: [] for row in conferences}
    for cid, number, at, summary in sorted(summaries, key=lambda row: (row[0], row[1])):
        if cid in versions:
            versions[cid].append(VersionFacts(number, at, json.loads(summary)))
    return [
        ConferenceFacts(cid, name, phase, count or 0, versions[cid], ratings[cid])
        for cid, name, phase, count in conferences
    ]


class ConferencesMixin(StoreBase):
    """Conferences and their phase."""

    async def create_conference(
        self,
        owner: Account,
        client_name: str,
        question: str,
        meeting_date: date | None = None,
        location: str = "",
        phase: str = "preparation",
        *,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        address: str = "",
    ) -> Conference:
        """Create a conference; its coordinator gets a participant row with role coordinator."""
        conference = Conference(
            id=new_conference_id(),
            owner_id=owner.id,
            client_name=client_name,
            question=question,
            meeting_date=meeting_date,
            location=location,
            starts_at=starts_at,
            ends_at=ends_at,
            address=address,
            phase=phase,
            closed_at=utcnow() if phase == "closed" else None,
        )
        async with self._sessions() as db:
            db.add(conference)
            await db.flush()
            db.add(
                Participant(
                    conference_id=conference.id,
                    name=owner.name,
                    role="coordinator",
                    account_id=owner.id,
                )
            )
            await db.commit()
        return conference

    async def conference(self, conference_id: str) -> Conference | None:
        """The conference, unless there is none or it is being erased."""
        async with self._sessions() as db:
            found: Conference | None = await db.scalar(
                select(Conference).where(Conference.id == conference_id, not_erasing())
            )
            return found

    async def update_conference(self, conference_id: str, **fields: Any) -> Conference:
        allowed = {
            "client_name",
            "question",
            "meeting_date",
            "location",
            "starts_at",
            "ends_at",
            "address",
        }
        if not set(fields) <= allowed:
            raise ValueError(f"cannot update {sorted(set(fields) - allowed)}")
        async with self._sessions() as db:
            conference = await db.get(Conference, conference_id)
            if conference is None:
                raise NotFound(Reason.NO_CONFERENCE)
            for name, value in fields.items():
                setattr(conference, name, value)
            conference.updated_at = utcnow()
            await db.commit()
            return conference

    async def set_phase(self, conference_id: str, phase: str) -> Conference:
        """Store the phase. (Which transitions are legal is rules/phases.py's business.)"""
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}")
        async with self._sessions() as db:
            conference = await db.get(Conference, conference_id)
            if conference is None:
                raise NotFound(Reason.NO_CONFERENCE)
            conference.phase = phase
            conference.phase_since = conference.updated_at = utcnow()
            conference.closed_at = conference.updated_at if phase == "closed" else None
            await db.commit()
            return conference

    async def change_phase(
        self,
        conference_id: str,
        expected: str,
        phase: str,
        *,
        override_reason: str | None = None,
        back_reason: str | None = None,
    ) -> Conference | None:
        """Move the phase from ``expected`` to ``phase`` in one statement; None if the phase
        was no longer ``expected`` (another coordinator moved it first), or if the move is back
        to private time and the plan was frozen meanwhile. An override of private time is
        stored with it, in the same transaction, so the family always sees its reason; so is
        the reason of a move back from the presentation (``back_reason``)."""
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}")
        now = utcnow()
        conditions = [Conference.id == conference_id, Conference.phase == expected]
        if phase == "private_time":
            conditions.append(Conference.plan_frozen_at.is_(None))
        async with self._sessions() as db:
            # RETURNING: the commit is the last thing awaited, so the caller can apply the
            # phase to open connections right after it, with nothing in between.
            conference: Conference | None = await db.scalar(
                update(Conference)
                .where(*conditions)
                .values(
                    phase=phase,
                    phase_since=now,
                    updated_at=now,
                    closed_at=now if phase == "closed" else None,
                )
                .returning(Conference)
            )
            if conference is None:
                await db.rollback()
                return None
            for kind, reason in (("override", override_reason), ("back", back_reason)):
                if reason is not None:
                    db.add(
                        Signal(
                            conference_id=conference_id,
                            participant_id=None,
                            kind=kind,
                            text=reason,
                            at=now,
                        )
                    )
            await db.commit()
            return conference

    async def conferences_for(
        self, account: Account, *, own_only: bool = False
    ) -> list[ConferenceSummary]:
        """The conferences an account runs or co-runs (an admin sees all, unless
        ``own_only``), newest first."""
        count = (
            select(func.count(Participant.id))
            .where(Participant.conference_id == Conference.id, Participant.removed_at.is_(None))
            .scalar_subquery()
        )
        last_meeting = (
            select(func.max(FollowUp.closed_at))
            .where(FollowUp.conference_id == Conference.id)
            .scalar_subquery()
        )
        query = _visible_to(
            account,
            select(Conference, count, last_meeting).order_by(Conference.created_at.desc()),
            own_only=own_only,
        )
        async with self._sessions() as db:
            rows = (await db.execute(query)).all()
        return [
            ConferenceSummary(
                conference=c,
                participant_count=n,
                last_follow_up_at=as_utc(last) if isinstance(last, datetime) else None,
            )
            for c, n, last in rows
        ]

    async def outcome_facts(
        self, account: Account, part: int = OUTCOME_PART
    ) -> list[ConferenceFacts]:
        """What the outcomes dashboard counts, for every conference ``account`` may see
        (newest first): its people (the coordinator not counted), its plan versions and the
        marks given (summed in SQL).

        A whole organisation is thousands of conferences. The outcomes page reads them in a
        worker process of the heavy work (``views/outcomestable.py``), never in the server's
        process, whose live rooms would wait on the garbage collections of all that is made
        here. Called on an event loop all the same, nothing here holds it for long: every
        query is read in parts of ``part`` rows (the loop serves others between two parts),
        and what is CPU work (choosing the two versions each plan is counted by, decoding
        their summaries, putting it together) runs in a thread. Versions pile up over the
        months: their summaries are read only for the versions counted, ``part`` versions a
        query."""
        people = (
            select(func.count(Participant.id))
            .where(
                Participant.conference_id == Conference.id,
                Participant.removed_at.is_(None),
                Participant.role != "coordinator",
            )
            .scalar_subquery()
        )
        query = _visible_to(
            account,
            select(Conference.id, Conference.client_name, Conference.phase, people).order_by(
                Conference.created_at.desc()
            ),
        )
        visible = _visible_to(account, select(Conference.id))
        followed_up = case((Rating.occasion > 0, 1), else_=0)
        async with self._sessions() as db:
            conferences = await _in_parts(db, query, part)
            frozen = await _in_parts(
                db,
                select(
                    PlanVersion.id, PlanVersion.conference_id, PlanVersion.number,
                    PlanVersion.created_at,
                ).where(PlanVersion.conference_id.in_(visible)),
                part,
            )  # fmt: skip
            marks = await _in_parts(
                db,
                select(
                    Rating.conference_id,
                    followed_up,
                    func.count(),
                    func.sum(Rating.meeting_score),
                    func.sum(Rating.plan_score),
                )
                .where(Rating.conference_id.in_(visible))
                .group_by(Rating.conference_id, followed_up),
                part,
            )
            needed = await asyncio.to_thread(_versions_counted, frozen, time_zone())
            summaries: list[Any] = []
            for first in range(0, len(needed), part):
                summaries += await _in_parts(
                    db,
                    select(
                        PlanVersion.conference_id,
                        PlanVersion.number,
                        PlanVersion.created_at,
                        cast(PlanVersion.summary, Text),
                    ).where(PlanVersion.id.in_(needed[first : first + part])),
                    part,
                )
        return await asyncio.to_thread(_outcome_facts, conferences, summaries, marks)

    async def is_coordinator_of(self, conference_id: str, account_id: int) -> bool:
        async with self._sessions() as db:
            found = await db.scalar(
                select(Participant.id).where(
                    Participant.conference_id == conference_id,
                    Participant.account_id == account_id,
                    Participant.role == "coordinator",
                    Participant.removed_at.is_(None),
                )
            )
            return found is not None

    async def conferences_in_phase(self, phase: str) -> list[Conference]:
        async with self._sessions() as db:
            rows = await db.scalars(
                select(Conference)
                .where(Conference.phase == phase, not_erasing())
                .order_by(Conference.id)
            )
            return list(rows)
