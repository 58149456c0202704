"""Participants of a conference, their links (invitations), and which of their devices the
family lets in during private time (admission)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.storage.base import StoreBase, not_erasing, rowcount
from server.storage.errors import NotFound, Reason, StoreError
from server.storage.models import (
    LINK_CHANNELS,
    Conference,
    Invitation,
    Participant,
    Session,
    utcnow,
)


@dataclass(frozen=True)
class ParticipantRow:
    """A participant with what the coordinator needs to know about their links: the newest
    one's date, the last time any was used, and each working link (oldest first)."""

    participant: Participant
    has_link: bool
    link_created_at: datetime | None
    link_last_used_at: datetime | None
    links: tuple[Invitation, ...] = ()

    def has_channel(self, channel: str) -> bool:
        return any(link.channel == channel for link in self.links)


@dataclass(frozen=True)
class SupportersChange:
    """The client's supporters after a change, who was added and taken off, and the phase
    (with its start) the change was committed in."""

    supporters: frozenset[int]
    added: frozenset[int]
    removed: frozenset[int]
    phase: str
    phase_since: datetime


@dataclass(frozen=True)
class InvitationMatch:
    invitation: Invitation
    participant: Participant
    conference: Conference


def active_participant(conference_id: str, participant_id: int) -> Select[Participant]:
    """A participant of this conference (never of another one) who was not removed."""
    return select(Participant).where(
        Participant.id == participant_id,
        Participant.conference_id == conference_id,
        Participant.removed_at.is_(None),
    )


def invitation_with_people() -> Select[Invitation, Participant, Conference]:
    return (
        select(Invitation, Participant, Conference)
        .join(Participant, Participant.id == Invitation.participant_id)
        .join(Conference, Conference.id == Participant.conference_id)
        .where(not_erasing())  # a link of a conference being erased is unknown already
    )


async def revoke_links(db: AsyncSession, participant_id: int, now: datetime) -> int:
    """Within ``db``'s transaction: revoke all of a participant's links and end their
    sessions; returns how many links were revoked."""
    ids = (
        await db.scalars(
            select(Invitation.id).where(
                Invitation.participant_id == participant_id, Invitation.revoked_at.is_(None)
            )
        )
    ).all()
    if ids:
        await db.execute(update(Invitation).where(Invitation.id.in_(ids)).values(revoked_at=now))
        await db.execute(delete(Session).where(Session.invitation_id.in_(ids)))
    return len(ids)


class ParticipantsMixin(StoreBase):
    """Who takes part in a conference, and their links."""

    async def add_participant(
        self,
        conference_id: str,
        name: str,
        role: str,
        account_id: int | None = None,
        email: str | None = None,
        language: str | None = None,
    ) -> Participant:
        participant = Participant(
            conference_id=conference_id,
            name=name,
            role=role,
            account_id=account_id,
            email=email,
            language=language,
        )
        async with self._sessions() as db:
            db.add(participant)
            await db.commit()
        return participant

    async def participant(self, conference_id: str, participant_id: int) -> Participant | None:
        """An active participant of this conference (never one of another conference)."""
        async with self._sessions() as db:
            return await db.scalar(active_participant(conference_id, participant_id))

    async def participants(
        self, conference_id: str, *, include_removed: bool = False
    ) -> list[ParticipantRow]:
        """Active participants (and with ``include_removed`` the removed ones too) in the
        order they were added, with their working links."""
        # A person may hold several links (a message, a card, a mail): one row per person,
        # with each link that was not ended, the newest one's date and the last use of any.
        people = select(Participant).where(Participant.conference_id == conference_id)
        if not include_removed:
            people = people.where(Participant.removed_at.is_(None))
        links = (
            select(Invitation)
            .join(Participant, Participant.id == Invitation.participant_id)
            .where(Participant.conference_id == conference_id, Invitation.revoked_at.is_(None))
            .order_by(Invitation.id)
        )
        async with self._sessions() as db:
            participants = (await db.scalars(people.order_by(Participant.id))).all()
            invitations = (await db.scalars(links)).all()
        held: dict[int, list[Invitation]] = {}
        for invitation in invitations:
            held.setdefault(invitation.participant_id, []).append(invitation)
        rows = []
        for p in participants:
            own = held.get(p.id, [])
            used = [i.last_used_at for i in own if i.last_used_at is not None]
            rows.append(
                ParticipantRow(
                    participant=p,
                    has_link=bool(own),
                    link_created_at=max((i.created_at for i in own), default=None),
                    link_last_used_at=max(used, default=None),
                    links=tuple(own),
                )
            )
        return rows

    async def remove_participant(self, conference_id: str, participant_id: int) -> Participant:
        """Mark someone removed, revoke their link and end their sessions on every device."""
        now = utcnow()
        async with self._sessions() as db:
            participant = await db.scalar(active_participant(conference_id, participant_id))
            if participant is None:
                raise NotFound(Reason.NO_PARTICIPANT)
            participant.removed_at = now
            # Off the list, off the map's link too: the map shows them as not invited again.
            participant.map_entry = None
            await revoke_links(db, participant_id, now)
            await db.commit()
            return participant

    async def set_participant_email(
        self, conference_id: str, participant_id: int, email: str | None
    ) -> None:
        """Where this participant's reminders go (None: nowhere)."""
        async with self._sessions() as db:
            result = await db.execute(
                update(Participant)
                .where(
                    Participant.id == participant_id,
                    Participant.conference_id == conference_id,
                    Participant.removed_at.is_(None),
                )
                .values(email=email)
            )
            if rowcount(result) != 1:
                await db.rollback()
                raise NotFound(Reason.NO_PARTICIPANT)
            await db.commit()

    # -- supporters (the compass) ---------------------------------------------------------

    async def set_supporters(
        self, conference_id: str, participant_ids: Collection[int]
    ) -> SupportersChange:
        """Make exactly these the client's supporters: active network members of this
        conference (anyone else in ``participant_ids`` is passed over; the caller says why).
        Someone new is marked only in the preparation (StoreError(SUPPORTERS_FIXED) after);
        a mark is taken away in any phase. The conference's row is updated first, which locks
        it: a phase change waits for this transaction, and the change says the phase it was
        made in, so the caller tells the rooms the phase as it stands."""
        chosen = set(participant_ids)
        async with self._sessions() as db:
            conference: Conference | None = await db.scalar(
                update(Conference)
                .where(Conference.id == conference_id)
                .values(updated_at=utcnow())
                .returning(Conference)
            )
            if conference is None:
                await db.rollback()
                raise NotFound(Reason.NO_CONFERENCE)
            people = (
                await db.scalars(
                    select(Participant).where(
                        Participant.conference_id == conference_id,
                        Participant.removed_at.is_(None),
                        Participant.role == "network_member",
                    )
                )
            ).all()
            before = frozenset(p.id for p in people if p.supporter)
            after = frozenset(p.id for p in people if p.id in chosen)
            if after - before and conference.phase != "preparation":
                await db.rollback()
                raise StoreError(Reason.SUPPORTERS_FIXED)
            for person in people:
                person.supporter = person.id in after
            phase, since = conference.phase, conference.phase_since
            await db.commit()
        return SupportersChange(after, after - before, before - after, phase, since)

    async def supporters(self, conference_id: str) -> frozenset[int]:
        """The client's supporters: active network members marked as such."""
        async with self._sessions() as db:
            ids = await db.scalars(
                select(Participant.id).where(
                    Participant.conference_id == conference_id,
                    Participant.removed_at.is_(None),
                    Participant.role == "network_member",
                    Participant.supporter.is_(True),
                )
            )
            return frozenset(ids)

    async def mark_privacy_seen(self, participant_id: int) -> None:
        async with self._sessions() as db:
            await db.execute(
                update(Participant)
                .where(Participant.id == participant_id, Participant.privacy_seen_at.is_(None))
                .values(privacy_seen_at=utcnow())
            )
            await db.commit()

    # -- languages ------------------------------------------------------------------------

    async def set_participant_language(self, participant_id: int, language: str) -> None:
        """Remember the language a participant chose (for every device they use)."""
        async with self._sessions() as db:
            await db.execute(
                update(Participant)
                .where(Participant.id == participant_id)
                .values(language=language)
            )
            await db.commit()

    # -- invitations ----------------------------------------------------------------------

    async def issue_invitation(
        self,
        participant_id: int,
        token_hash: str,
        expires_at: datetime | None = None,
        channel: str = "message",
    ) -> Invitation:
        """Give a participant one more link, handed out by ``channel`` (one of
        LINK_CHANNELS); their earlier links keep working (ending one or revoking them all
        is the coordinator's separate choice)."""
        if channel not in LINK_CHANNELS:
            raise ValueError(channel)
        now = utcnow()
        async with self._sessions() as db:
            invitation = Invitation(
                participant_id=participant_id,
                token_hash=token_hash,
                created_at=now,
                expires_at=expires_at,
                channel=channel,
            )
            db.add(invitation)
            await db.commit()
        return invitation

    async def revoke_invitation(self, participant_id: int) -> int:
        """Revoke all of a participant's links and end their sessions; returns how many
        were revoked."""
        async with self._sessions() as db:
            revoked = await revoke_links(db, participant_id, utcnow())
            await db.commit()
            return revoked

    async def end_invitation(
        self, conference_id: str, participant_id: int, invitation_id: int
    ) -> tuple[Invitation, list[int]]:
        """End one link of an active participant of this conference (their other links keep
        working) and the sign-ins made with it; returns the link and those sign-ins' ids.
        NotFound (NO_LINK) when the link is not this person's in this conference; StoreError
        (LINK_ENDED) when it no longer works already."""
        query = (
            select(Invitation)
            .join(Participant, Participant.id == Invitation.participant_id)
            .where(
                Invitation.id == invitation_id,
                Participant.id == participant_id,
                Participant.conference_id == conference_id,
                Participant.removed_at.is_(None),
            )
        )
        async with self._sessions() as db:
            invitation = await db.scalar(query)
            if invitation is None:
                raise NotFound(Reason.NO_LINK)
            if invitation.revoked_at is not None:
                raise StoreError(Reason.LINK_ENDED)
            result = await db.execute(
                update(Invitation)
                .where(Invitation.id == invitation_id, Invitation.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            if rowcount(result) != 1:  # ended at the same moment by another request
                await db.rollback()
                raise StoreError(Reason.LINK_ENDED)
            signed_in = select(Session.id).where(Session.invitation_id == invitation_id)
            ended = list((await db.scalars(signed_in)).all())
            if ended:
                await db.execute(delete(Session).where(Session.id.in_(ended)))
            await db.commit()
        return invitation, ended

    async def expire_invitation(self, participant_id: int, expires_at: datetime) -> None:
        async with self._sessions() as db:
            await db.execute(
                update(Invitation)
                .where(Invitation.participant_id == participant_id, Invitation.revoked_at.is_(None))
                .values(expires_at=expires_at)
            )
            await db.commit()

    async def invitation_by_hash(self, token_hash: str) -> InvitationMatch | None:
        async with self._sessions() as db:
            row = (
                await db.execute(
                    invitation_with_people().where(Invitation.token_hash == token_hash)
                )
            ).first()
        if row is None:
            return None
        return InvitationMatch(invitation=row[0], participant=row[1], conference=row[2])

    async def first_invitation(self, participant_id: int) -> InvitationMatch | None:
        """A participant's oldest link that was not revoked: what their calendar feed's key
        is made over, so a new link leaves the feed alone and revoking them all ends it."""
        query = (
            invitation_with_people()
            .where(Invitation.participant_id == participant_id, Invitation.revoked_at.is_(None))
            .order_by(Invitation.id)
            .limit(1)
        )
        async with self._sessions() as db:
            row = (await db.execute(query)).first()
        return None if row is None else InvitationMatch(row[0], row[1], row[2])

    async def touch_invitation(self, invitation_id: int) -> None:
        async with self._sessions() as db:
            await db.execute(
                update(Invitation)
                .where(Invitation.id == invitation_id)
                .values(last_used_at=utcnow())
            )
            await db.commit()


class AdmissionMixin(StoreBase):
    """Devices the family lets in (or not) during private time."""

    @staticmethod
    def _sessions_of(conference_id: str) -> Select[Session, Participant]:
        """The participants' sign-ins of one conference, with whose they are."""
        return (
            select(Session, Participant)
            .join(Invitation, Invitation.id == Session.invitation_id)
            .join(Participant, Participant.id == Invitation.participant_id)
            .where(
                Participant.conference_id == conference_id,
                Participant.removed_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
        )

    async def waiting_sessions(self, conference_id: str) -> list[tuple[Session, Participant]]:
        """The devices waiting to be let in, in the order they came."""
        query = self._sessions_of(conference_id).where(Session.admission == "waiting")
        async with self._sessions() as db:
            rows = (await db.execute(query.order_by(Session.id))).all()
        return [(row[0], row[1]) for row in rows]

    async def family_sessions(
        self, conference_id: str, roles: Collection[str]
    ) -> list[tuple[Session, Participant]]:
        """The let-in sign-ins of the participants with one of ``roles`` (not expired)."""
        now = utcnow()
        query = self._sessions_of(conference_id).where(
            Session.admission == "in",
            Participant.role.in_(list(roles)),
            Session.expires_at.is_(None) | (Session.expires_at > now),
        )
        async with self._sessions() as db:
            rows = (await db.execute(query.order_by(Participant.id, Session.id))).all()
        return [(row[0], row[1]) for row in rows]

    async def conference_session(
        self, conference_id: str, session_id: int
    ) -> tuple[Session, Participant] | None:
        """One participant's sign-in, if it belongs to this conference."""
        query = self._sessions_of(conference_id).where(Session.id == session_id)
        async with self._sessions() as db:
            row = (await db.execute(query)).first()
        return None if row is None else (row[0], row[1])

    async def decide_admission(
        self, conference_id: str, session_id: int, admission: str, actor: str
    ) -> bool:
        """Let a waiting device in (``"in"``) or not now (``"refused"``); False when it was
        not waiting (any more). Whether the device is of this conference is the caller's."""
        if admission not in ("in", "refused"):
            raise ValueError(admission)
        async with self._sessions() as db:
            result = await db.execute(
                update(Session)
                .where(Session.id == session_id, Session.admission == "waiting")
                .values(admission=admission, admission_by=actor, admission_at=utcnow())
            )
            await db.commit()
        return rowcount(result) == 1

    async def end_session(self, session_id: int) -> bool:
        """End one sign-in by its id (a device the family sent out)."""
        async with self._sessions() as db:
            result = await db.execute(delete(Session).where(Session.id == session_id))
            await db.commit()
        return rowcount(result) == 1

    async def end_unadmitted_sessions(self, conference_id: str) -> list[int]:
        """Private time is over: end the sign-ins still waiting or not let in, so those
        devices sign in again as usual. Returns their ids."""
        ids = (
            select(Session.id)
            .join(Invitation, Invitation.id == Session.invitation_id)
            .join(Participant, Participant.id == Invitation.participant_id)
            .where(Participant.conference_id == conference_id, Session.admission != "in")
        )
        async with self._sessions() as db:
            ended = list((await db.scalars(ids)).all())
            if ended:
                await db.execute(delete(Session).where(Session.id.in_(ended)))
            await db.commit()
        return ended
