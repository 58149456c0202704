"""The meeting's decisions: conditions, signals, clarifying questions and answers; the action
team, the plan's frozen versions and the marks people give (ratings)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.rules.outcomes import summarise
from server.storage.base import StoreBase, rowcount
from server.storage.errors import NotFound, Reason, StoreError
from server.storage.models import (
    ANSWERS,
    CONDITION_STATUSES,
    RATING_SCORES,
    SIGNAL_KINDS,
    ClarifyingQuestion,
    Condition,
    Conference,
    Participant,
    PlanAnswer,
    PlanVersion,
    Rating,
    Signal,
    utcnow,
)


async def _lock_presentation(
    db: AsyncSession, conference_id: str, refusal: Reason, *, freeze: bool
) -> None:
    """Within ``db``'s transaction: make sure the conference is still at the presentation
    with its plan not frozen (and freeze it), or raise StoreError(``refusal``). The update
    locks the row, so a concurrent phase change waits for this transaction and then sees it."""
    now = utcnow()
    values: dict[str, Any] = {"updated_at": now}
    if freeze:
        values["plan_frozen_at"] = now
    result = await db.execute(
        update(Conference)
        .where(
            Conference.id == conference_id,
            Conference.phase == "presentation",
            Conference.plan_frozen_at.is_(None),
        )
        .values(**values)
    )
    if rowcount(result) != 1:
        raise StoreError(refusal)


async def _own_condition(
    db: AsyncSession, conference_id: str, condition_id: int, participant_id: int
) -> Condition:
    row = await db.scalar(
        select(Condition).where(
            Condition.id == condition_id,
            Condition.conference_id == conference_id,
            Condition.participant_id == participant_id,
        )
    )
    if row is None:
        raise NotFound(Reason.NOT_OWN_CONDITION)
    return row


def new_version(
    conference_id: str, number: int, state: bytes, content: dict[str, Any], by: str
) -> PlanVersion:
    """A plan version's row, with the summary the outcomes are counted from."""
    return PlanVersion(
        conference_id=conference_id,
        number=number,
        state=state,
        content=content,
        summary=summarise(content),
        created_by=by,
    )


def _rating_of(conference_id: str, participant_id: int, occasion: int) -> Select[Rating]:
    return select(Rating).where(
        Rating.conference_id == conference_id,
        Rating.participant_id == participant_id,
        Rating.occasion == occasion,
    )


class MeetingMixin(StoreBase):
    """What is said at the meeting: conditions, signals, questions, answers."""

    async def add_condition(self, conference_id: str, participant_id: int, text: str) -> Condition:
        row = Condition(conference_id=conference_id, participant_id=participant_id, text=text)
        async with self._sessions() as db:
            db.add(row)
            await db.commit()
        return row

    async def conditions(self, conference_id: str) -> list[tuple[Condition, Participant]]:
        """Every condition with the professional who set it, in the order they were set."""
        async with self._sessions() as db:
            rows = await db.execute(
                select(Condition, Participant)
                .join(Participant, Participant.id == Condition.participant_id)
                .where(Condition.conference_id == conference_id)
                .order_by(Condition.id)
            )
            return [(c, p) for c, p in rows.all()]

    async def edit_condition(
        self, conference_id: str, condition_id: int, participant_id: int, text: str
    ) -> Condition:
        async with self._sessions() as db:
            row = await _own_condition(db, conference_id, condition_id, participant_id)
            row.text = text
            await db.commit()
            return row

    async def delete_condition(
        self, conference_id: str, condition_id: int, participant_id: int
    ) -> None:
        async with self._sessions() as db:
            row = await _own_condition(db, conference_id, condition_id, participant_id)
            await db.delete(row)
            await db.commit()

    async def check_condition(
        self,
        conference_id: str,
        condition_id: int,
        participant_id: int,
        status: str,
        remark: str,
    ) -> Condition:
        """Mark a condition met / not met; only the professional who set it may."""
        if status not in CONDITION_STATUSES:
            raise ValueError(f"unknown condition status {status!r}")
        async with self._sessions() as db:
            row = await _own_condition(db, conference_id, condition_id, participant_id)
            row.status, row.remark, row.checked_at = status, remark, utcnow()
            await db.commit()
            return row

    async def check_conditions(
        self,
        conference_id: str,
        participant_id: int,
        judgements: dict[int, tuple[str | None, str]],
    ) -> list[Condition]:
        """Judge several of one professional's conditions at once, all or none: condition id
        -> (status, remark); a status None leaves the condition's status as it was (its remark
        is stored). A condition that is not theirs (or not of this conference) refuses all."""
        for status, _remark in judgements.values():
            if status is not None and status not in CONDITION_STATUSES:
                raise ValueError(f"unknown condition status {status!r}")
        async with self._sessions() as db:
            rows = []
            try:
                for condition_id, (status, remark) in judgements.items():
                    row = await _own_condition(db, conference_id, condition_id, participant_id)
                    row.remark = remark
                    if status is not None:
                        row.status, row.checked_at = status, utcnow()
                    rows.append(row)
            except StoreError:
                await db.rollback()
                raise
            await db.commit()
            return rows

    # -- signals, clarifying questions, answers ------------------------------------------------

    async def add_signal(
        self, conference_id: str, participant_id: int | None, kind: str, text: str = ""
    ) -> Signal:
        if kind not in SIGNAL_KINDS:
            raise ValueError(f"unknown signal {kind!r}")
        row = Signal(
            conference_id=conference_id, participant_id=participant_id, kind=kind, text=text
        )
        async with self._sessions() as db:
            db.add(row)
            await db.commit()
        return row

    async def withdraw_plan_ready(
        self, conference_id: str, participant_id: int | None, phase_since: datetime
    ) -> Signal | None:
        """The family's "plan ready" taken back, stored only while the conference is still in
        the private time that began at ``phase_since`` (None: the coordinator moved on first).
        The conference's row is written first, so a phase change at the same moment waits for
        this transaction or this one finds the phase moved: never both."""
        now = utcnow()
        async with self._sessions() as db:
            still = await db.scalar(
                update(Conference)
                .where(
                    Conference.id == conference_id,
                    Conference.phase == "private_time",
                    Conference.phase_since == phase_since,
                )
                .values(updated_at=now)
                .returning(Conference.id)
            )
            if still is None:
                await db.rollback()
                return None
            row = Signal(
                conference_id=conference_id,
                participant_id=participant_id,
                kind="plan_withdrawn",
                at=now,
            )
            db.add(row)
            await db.commit()
            return row

    async def signals(
        self, conference_id: str, since: datetime | None = None
    ) -> list[tuple[Signal, str]]:
        """Signals (oldest first) with the name of who gave them ("" for none)."""
        query = (
            select(Signal, Participant.name)
            .outerjoin(Participant, Participant.id == Signal.participant_id)
            .where(Signal.conference_id == conference_id)
            .order_by(Signal.at, Signal.id)
        )
        if since is not None:
            query = query.where(Signal.at >= since)
        async with self._sessions() as db:
            return [(row, name or "") for row, name in (await db.execute(query)).all()]

    async def add_question(self, conference_id: str, text: str) -> ClarifyingQuestion:
        row = ClarifyingQuestion(conference_id=conference_id, text=text)
        async with self._sessions() as db:
            db.add(row)
            await db.commit()
        return row

    async def questions(self, conference_id: str) -> Sequence[ClarifyingQuestion]:
        async with self._sessions() as db:
            return (
                await db.scalars(
                    select(ClarifyingQuestion)
                    .where(ClarifyingQuestion.conference_id == conference_id)
                    .order_by(ClarifyingQuestion.id)
                )
            ).all()

    async def set_answer(
        self, conference_id: str, participant_id: int, answer: str, remark: str
    ) -> PlanAnswer:
        """A participant's own "agree" / "not yet": it replaces their previous answer, and
        one the coordinator noted for them."""
        return await self._put_answer(conference_id, participant_id, answer, remark, None)

    async def record_answer(
        self, conference_id: str, participant_id: int, answer: str, remark: str, by: str
    ) -> PlanAnswer:
        """An answer the coordinator (actor ``by``) notes for someone without a device. It
        replaces only an answer noted before, never the person's own: then
        StoreError(OWN_ANSWER), whoever came first by a moment."""
        return await self._put_answer(conference_id, participant_id, answer, remark, by)

    async def _put_answer(
        self,
        conference_id: str,
        participant_id: int,
        answer: str,
        remark: str,
        recorded_by: str | None,
    ) -> PlanAnswer:
        if answer not in ANSWERS:
            raise ValueError(f"unknown answer {answer!r}")
        for _round in range(2):  # the second round only if someone answered at the same moment
            async with self._sessions() as db:
                row = await db.scalar(
                    select(PlanAnswer).where(PlanAnswer.participant_id == participant_id)
                )
                if row is None:
                    row = PlanAnswer(conference_id=conference_id, participant_id=participant_id)
                    db.add(row)
                elif recorded_by is not None:
                    # Only over a noted answer, checked in the statement that writes it: the
                    # person's own answer given meanwhile is never overwritten.
                    result = await db.execute(
                        update(PlanAnswer)
                        .where(
                            PlanAnswer.id == row.id,
                            PlanAnswer.recorded_by.is_not(None),
                        )
                        .values(answer=answer, remark=remark, at=utcnow(), recorded_by=recorded_by)
                        .execution_options(synchronize_session=False)
                    )
                    if rowcount(result) != 1:
                        await db.rollback()
                        raise StoreError(Reason.OWN_ANSWER)
                    await db.commit()
                    await db.refresh(row)
                    return row
                row.answer, row.remark, row.at = answer, remark, utcnow()
                row.recorded_by = recorded_by
                try:
                    await db.commit()
                    return row
                except IntegrityError:
                    await db.rollback()
        raise StoreError(Reason.CONTENDED, detail="could not store the answer")

    async def answers(self, conference_id: str) -> dict[int, PlanAnswer]:
        """Each participant's latest answer, by participant id."""
        async with self._sessions() as db:
            rows = await db.scalars(
                select(PlanAnswer).where(PlanAnswer.conference_id == conference_id)
            )
            return {row.participant_id: row for row in rows}


class PlanMixin(StoreBase):
    """The action team, the plan's frozen versions, and the marks people give."""

    async def set_action_team(
        self, conference_id: str, participant_ids: set[int]
    ) -> frozenset[int]:
        """Make exactly these (active, non-coordinator) participants the action team; only at
        the presentation, before the plan is frozen (StoreError otherwise)."""
        async with self._sessions() as db:
            try:
                await _lock_presentation(db, conference_id, Reason.TEAM_FIXED, freeze=False)
            except StoreError:
                await db.rollback()
                raise
            people = await _people_in_the_meeting(db, conference_id)
            for person in people:
                person.action_team = person.id in participant_ids
            await db.commit()
            return frozenset(p.id for p in people if p.action_team)

    async def set_conference_attendance(
        self, conference_id: str, participant_ids: set[int]
    ) -> frozenset[int]:
        """Note exactly these (active, non-coordinator) participants as present at the
        conference; only before the plan is frozen (StoreError(PRESENTATION_OVER) after)."""
        async with self._sessions() as db:
            result = await db.execute(
                update(Conference)
                .where(Conference.id == conference_id, Conference.plan_frozen_at.is_(None))
                .values(updated_at=utcnow())
            )
            if rowcount(result) != 1:
                await db.rollback()
                raise StoreError(Reason.PRESENTATION_OVER)
            people = await _people_in_the_meeting(db, conference_id)
            for person in people:
                person.present_at_conference = person.id in participant_ids
            await db.commit()
            return frozenset(p.id for p in people if p.present_at_conference)

    async def action_team(self, conference_id: str) -> frozenset[int]:
        async with self._sessions() as db:
            ids = await db.scalars(
                select(Participant.id).where(
                    Participant.conference_id == conference_id,
                    Participant.removed_at.is_(None),
                    Participant.action_team.is_(True),
                )
            )
            return frozenset(ids)

    async def add_plan_version(
        self,
        conference_id: str,
        number: int,
        state: bytes,
        content: dict[str, Any],
        created_by: str,
    ) -> PlanVersion:
        """Freeze version ``number`` of the plan. Versions are never changed; a version that
        exists already (frozen at the same moment by someone else) raises StoreError.
        Version 1 is the plan as agreed at the presentation: it is frozen only while the
        conference is there, and marks the conference as frozen in the same transaction."""
        row = new_version(conference_id, number, state, content, created_by)
        async with self._sessions() as db:
            try:
                if number == 1:
                    await _lock_presentation(
                        db, conference_id, Reason.PRESENTATION_OVER, freeze=True
                    )
                    # Checked again under the lock: a condition judged not met meanwhile.
                    refused = await db.scalar(
                        select(func.count(Condition.id)).where(
                            Condition.conference_id == conference_id,
                            Condition.status == "not_met",
                        )
                    )
                    if refused:
                        raise StoreError(Reason.CONDITION_NOT_MET)
                db.add(row)
                await db.commit()
            except IntegrityError:
                await db.rollback()
                raise StoreError(Reason.VERSION_EXISTS, number=number) from None
            except StoreError:
                await db.rollback()
                raise
        return row

    async def plan_version(
        self, conference_id: str, number: int | None = None
    ) -> PlanVersion | None:
        """Version ``number`` of the plan, or the latest one (None: not frozen yet)."""
        query = select(PlanVersion).where(PlanVersion.conference_id == conference_id)
        if number is None:
            query = query.order_by(PlanVersion.number.desc()).limit(1)
        else:
            query = query.where(PlanVersion.number == number)
        async with self._sessions() as db:
            return await db.scalar(query)

    async def plan_versions(self, conference_id: str) -> list[PlanVersion]:
        return await self._of_conference(PlanVersion, conference_id, PlanVersion.number)

    # -- ratings ---------------------------------------------------------------------------

    async def set_rating(
        self,
        conference_id: str,
        participant_id: int,
        occasion: int,
        meeting_score: int,
        plan_score: int,
    ) -> Rating:
        """One person's marks for an occasion (0: the presentation, N: follow-up N); a new
        rating for the same occasion replaces the earlier one."""
        if meeting_score not in RATING_SCORES or plan_score not in RATING_SCORES:
            raise ValueError("a rating is 1 to 10")
        for _round in range(2):  # the second round only if the same person rated at once
            async with self._sessions() as db:
                row = await db.scalar(_rating_of(conference_id, participant_id, occasion))
                if row is None:
                    row = Rating(
                        conference_id=conference_id,
                        participant_id=participant_id,
                        occasion=occasion,
                    )
                    db.add(row)
                row.meeting_score, row.plan_score, row.at = meeting_score, plan_score, utcnow()
                try:
                    await db.commit()
                    return row
                except IntegrityError:
                    await db.rollback()
        raise StoreError(Reason.CONTENDED, detail="could not store the rating")

    async def rating(self, conference_id: str, participant_id: int, occasion: int) -> Rating | None:
        """The marks one person gave for one occasion, if any."""
        async with self._sessions() as db:
            return await db.scalar(_rating_of(conference_id, participant_id, occasion))

    async def ratings(self, conference_id: str) -> list[Rating]:
        """Every rating of a conference, by occasion, then in the order they were given."""
        return await self._of_conference(Rating, conference_id, Rating.occasion, Rating.id)


async def _people_in_the_meeting(db: AsyncSession, conference_id: str) -> Sequence[Participant]:
    """The conference's participants on the list, the coordinators left out: whom the action
    team and the attendance are chosen from."""
    return (
        await db.scalars(
            select(Participant).where(
                Participant.conference_id == conference_id,
                Participant.removed_at.is_(None),
                Participant.role != "coordinator",
            )
        )
    ).all()
