"""The practical side of a conference (interpreters, children and who supports them, notes on
food, childcare and transport) and the questions the client marked in the compass, copied
for the meeting."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from server.storage.base import StoreBase, rowcount
from server.storage.errors import NotFound, Reason
from server.storage.models import Conference, ConferenceQuestion, Participant, utcnow
from server.storage.participants import active_participant


class PracticalMixin(StoreBase):
    """Interpreters, children, notes; the conference's questions from the compass."""

    async def set_participant_practical(
        self,
        conference_id: str,
        participant_id: int,
        *,
        interpreter_language: str,
        interpreter_arranged: bool,
        age: int | None,
        supported_by_id: int | None,
    ) -> None:
        """Note what this participant needs. A child's supporter must be someone else on this
        conference's list who is no child (checked again here, in the same transaction, so a
        supporter removed a moment ago is not taken): NotFound otherwise."""
        async with self._sessions() as db:
            if supported_by_id is not None:
                supporter = await db.scalar(active_participant(conference_id, supported_by_id))
                if (
                    supporter is None
                    or supporter.id == participant_id
                    or supporter.age is not None
                    or supporter.role == "coordinator"
                ):
                    await db.rollback()
                    raise NotFound(Reason.NO_PARTICIPANT)
            result = await db.execute(
                update(Participant)
                .where(
                    Participant.id == participant_id,
                    Participant.conference_id == conference_id,
                    Participant.removed_at.is_(None),
                )
                .values(
                    interpreter_language=interpreter_language,
                    interpreter_arranged=interpreter_arranged,
                    age=age,
                    supported_by_id=supported_by_id,
                )
            )
            if rowcount(result) != 1:
                await db.rollback()
                raise NotFound(Reason.NO_PARTICIPANT)
            await db.commit()

    async def set_practical_notes(
        self, conference_id: str, *, food_notes: str, childcare_notes: str, transport_notes: str
    ) -> None:
        async with self._sessions() as db:
            result = await db.execute(
                update(Conference)
                .where(Conference.id == conference_id)
                .values(
                    food_notes=food_notes,
                    childcare_notes=childcare_notes,
                    transport_notes=transport_notes,
                    updated_at=utcnow(),
                )
            )
            if rowcount(result) != 1:
                await db.rollback()
                raise NotFound(Reason.NO_CONFERENCE)
            await db.commit()

    # -- the questions from the compass ---------------------------------------------------

    async def conference_questions(self, conference_id: str) -> list[ConferenceQuestion]:
        """The questions copied from the compass for the meeting, in the compass's order."""
        async with self._sessions() as db:
            rows = await db.scalars(
                select(ConferenceQuestion)
                .where(ConferenceQuestion.conference_id == conference_id)
                .order_by(ConferenceQuestion.position)
            )
            return list(rows.all())

    async def copy_conference_questions(self, conference_id: str, texts: Sequence[str]) -> int:
        """Keep ``texts`` as the conference's questions, once: when the conference already
        has its questions (copied before, or by another request at the same moment: the
        positions are unique), nothing is added. Returns how many were added."""
        if not texts:
            return 0
        async with self._sessions() as db:
            already = await db.scalar(
                select(func.count())
                .select_from(ConferenceQuestion)
                .where(ConferenceQuestion.conference_id == conference_id)
            )
            if already:
                return 0
            now = utcnow()
            db.add_all(
                ConferenceQuestion(
                    conference_id=conference_id, position=number, text=text, created_at=now
                )
                for number, text in enumerate(texts, start=1)
            )
            try:
                await db.commit()
            except IntegrityError:  # copied at the same moment elsewhere: that copy stands
                await db.rollback()
                return 0
        return len(texts)
