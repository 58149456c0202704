"""Invitations in preparation: a person on the network map made a participant (once, whoever
taps at the same moment), where each person's invitation stands, and the people the family
proposes to invite."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Update, func, select, update
from sqlalchemy.exc import IntegrityError

from server.storage.base import StoreBase, rowcount
from server.storage.errors import NotFound, Reason, StoreError
from server.storage.models import (
    INVITATION_STATUSES,
    InvitationProposal,
    Participant,
    utcnow,
)


def _own(actor: str, participant_id: int) -> bool:
    """Whether ``actor`` (as the audit log names people) is this participant themselves."""
    return actor == f"participant:{participant_id}"


class InvitationsMixin(StoreBase):
    """Who is invited and who is coming; the family's proposals."""

    # -- from the network map -------------------------------------------------------------

    async def invited_from_map(self, conference_id: str, map_entry: str) -> Participant | None:
        """The participant made from this map entry (None: not invited, or removed since)."""
        async with self._sessions() as db:
            return await db.scalar(
                select(Participant).where(
                    Participant.conference_id == conference_id,
                    Participant.map_entry == map_entry,
                )
            )

    async def invite_from_map(
        self,
        conference_id: str,
        map_entry: str,
        name: str,
        role: str,
        note: str = "",
        age: int | None = None,
    ) -> tuple[Participant, bool]:
        """Make the person on the map with id ``map_entry`` a participant, keeping the link;
        if one was made from that entry already (a second tap, a double submit at the same
        moment: the unique index decides), that one. Returns it and whether it is new."""
        found = await self.invited_from_map(conference_id, map_entry)
        if found is not None:
            return found, False
        participant = Participant(
            conference_id=conference_id,
            name=name,
            role=role,
            map_entry=map_entry,
            invitation_note=note,
            age=age,
        )
        async with self._sessions() as db:
            db.add(participant)
            try:
                await db.commit()
            except IntegrityError:
                await db.rollback()
                found = await self.invited_from_map(conference_id, map_entry)
                if found is None:  # not the map entry's index: something else is wrong
                    raise
                return found, False
        return participant, True

    # -- where an invitation stands -------------------------------------------------------

    async def set_invitation_status(
        self,
        participant_id: int,
        status: str,
        note: str | None = None,
        *,
        by: str,
        conference_id: str | None = None,
        only_if: Collection[str] | None = None,
    ) -> bool:
        """Set where a participant's invitation stands (one of INVITATION_STATUSES) and, if
        ``note`` is not None, the coordinator's note. ``by`` is who did it, as the audit log
        names them: the person themselves ("participant:N") marks it as their own answer
        (``invitation_answered_at``), anyone else makes it the coordinator's again.

        ``conference_id``: only a participant of this conference. ``only_if``: only while
        the status is one of these (sending an invitation sets "invited" only over "to
        invite", never over an answer). Returns whether it was set; NotFound when there is
        no such participant (removed, or of another conference)."""
        if status not in INVITATION_STATUSES:
            raise ValueError(status)
        values: dict[str, object] = {
            "invitation_status": status,
            "invitation_answered_at": utcnow() if _own(by, participant_id) else None,
        }
        if note is not None:
            values["invitation_note"] = note
        conditions = [Participant.id == participant_id, Participant.removed_at.is_(None)]
        if conference_id is not None:
            conditions.append(Participant.conference_id == conference_id)
        async with self._sessions() as db:
            exists = await db.scalar(select(Participant.id).where(*conditions))
            if exists is None:
                raise NotFound(Reason.NO_PARTICIPANT)
            if only_if is not None:
                conditions.append(Participant.invitation_status.in_(list(only_if)))
            result = await db.execute(update(Participant).where(*conditions).values(**values))
            await db.commit()
        return rowcount(result) == 1

    # -- the family's proposals -----------------------------------------------------------

    async def propose_invitee(
        self,
        conference_id: str,
        proposed_by: int,
        name: str,
        relation: str,
        why: str,
        *,
        open_limit: int,
    ) -> InvitationProposal:
        """Record someone a participant proposes to invite. StoreError TOO_MANY_PROPOSALS
        when ``open_limit`` of theirs wait for the coordinator already."""
        waiting = (
            select(func.count())
            .select_from(InvitationProposal)
            .where(
                InvitationProposal.conference_id == conference_id,
                InvitationProposal.proposed_by == proposed_by,
                InvitationProposal.decision.is_(None),
            )
        )
        proposal = InvitationProposal(
            conference_id=conference_id,
            proposed_by=proposed_by,
            name=name,
            relation=relation,
            why=why,
            reason="",
        )
        async with self._sessions() as db:
            if (await db.scalar(waiting) or 0) >= open_limit:
                raise StoreError(Reason.TOO_MANY_PROPOSALS, number=open_limit)
            db.add(proposal)
            await db.commit()
        return proposal

    async def proposals(
        self, conference_id: str, *, proposed_by: int | None = None
    ) -> list[tuple[InvitationProposal, Participant]]:
        """The conference's proposals (or one person's), oldest first, with who proposed."""
        query = (
            select(InvitationProposal, Participant)
            .join(Participant, Participant.id == InvitationProposal.proposed_by)
            .where(InvitationProposal.conference_id == conference_id)
        )
        if proposed_by is not None:
            query = query.where(InvitationProposal.proposed_by == proposed_by)
        async with self._sessions() as db:
            rows = (await db.execute(query.order_by(InvitationProposal.id))).all()
        return [(row[0], row[1]) for row in rows]

    async def _undecided(self, conference_id: str, proposal_id: int) -> InvitationProposal:
        async with self._sessions() as db:
            proposal = await db.scalar(
                select(InvitationProposal).where(
                    InvitationProposal.id == proposal_id,
                    InvitationProposal.conference_id == conference_id,
                )
            )
        if proposal is None:
            raise NotFound(Reason.NO_PROPOSAL)
        if proposal.decision is not None:
            raise StoreError(Reason.PROPOSAL_DECIDED)
        return proposal

    @staticmethod
    def _decide(proposal_id: int, now: datetime, by: str, **values: object) -> Update:
        """The update that decides a proposal, only while nobody has (one decision wins)."""
        return (
            update(InvitationProposal)
            .where(InvitationProposal.id == proposal_id, InvitationProposal.decision.is_(None))
            .values(decided_at=now, decided_by=by, **values)
        )

    async def decline_proposal(
        self, conference_id: str, proposal_id: int, reason: str, *, by: str
    ) -> InvitationProposal:
        """Not now, with a reason the proposer reads (may be empty). NotFound NO_PROPOSAL,
        StoreError PROPOSAL_DECIDED (decided before, or at the same moment)."""
        proposal = await self._undecided(conference_id, proposal_id)
        now = utcnow()
        async with self._sessions() as db:
            result = await db.execute(
                self._decide(proposal_id, now, by, decision="declined", reason=reason)
            )
            if rowcount(result) != 1:
                await db.rollback()
                raise StoreError(Reason.PROPOSAL_DECIDED)
            await db.commit()
        proposal.decision, proposal.decided_at, proposal.decided_by = "declined", now, by
        proposal.reason = reason
        return proposal

    async def accept_proposal(
        self, conference_id: str, proposal_id: int, role: str, *, by: str
    ) -> tuple[InvitationProposal, Participant]:
        """Invite the person proposed: a participant with the proposed name and ``role``,
        made in the same transaction that decides the proposal (so two taps make one).
        NotFound NO_PROPOSAL, StoreError PROPOSAL_DECIDED."""
        proposal = await self._undecided(conference_id, proposal_id)
        now = utcnow()
        participant = Participant(conference_id=conference_id, name=proposal.name, role=role)
        async with self._sessions() as db:
            result = await db.execute(self._decide(proposal_id, now, by, decision="invited"))
            if rowcount(result) != 1:
                await db.rollback()
                raise StoreError(Reason.PROPOSAL_DECIDED)
            db.add(participant)
            await db.flush()
            await db.execute(
                update(InvitationProposal)
                .where(InvitationProposal.id == proposal_id)
                .values(participant_id=participant.id)
            )
            await db.commit()
        proposal.decision, proposal.decided_at, proposal.decided_by = "invited", now, by
        proposal.participant_id = participant.id
        return proposal, participant
