"""Invitations in preparation: the coordinator turns people on the network map (and people
the family proposes) into participants and keeps track of who is coming; each person answers
"coming" / "not coming" from their own page. Every decision is checked against the permission
table (``phases``: the compass for the map, ``ACTIONS`` for the rest), committed, audited and
announced on the console (``CHANGED``)."""

from __future__ import annotations

from dataclasses import dataclass

from server.conference.auth import Person
from server.conference.events import CHANGED, Events
from server.conference.refusals import FlowError, refusal
from server.i18n import _
from server.rooms.hub import RoomHub
from server.rules import invitations, networkmap, phases
from server.rules.networkmap import MapEntry, read_map
from server.rules.refusal import Refusal
from server.storage.models import Conference, InvitationProposal, Participant, utcnow
from server.storage.store import NotFound, Store, StoreError


@dataclass(frozen=True)
class MapPerson:
    """Someone on the network map as the coordinator's list shows them: who they became on
    the list (None: not invited), or why they cannot be invited (None: they can)."""

    entry: MapEntry
    participant: Participant | None
    refusal: str | None
    description: str  # kind, closeness, tie, support, marks: in words


def _not_coordinator() -> FlowError:
    return FlowError(Refusal.FORBIDDEN, _("Dit is het werk van de coördinator."), "forbidden")


def _wrong_phase(conference: Conference) -> FlowError:
    return FlowError(
        Refusal.CONFLICT,
        _(
            "Uitnodigen en bijhouden wie er komt, doe je in de voorbereiding; nu is het %(phase)s.",
            phase=phases.PHASE_LABELS.get(conference.phase, conference.phase),
        ),
        "wrong_phase",
    )


@dataclass(frozen=True)
class Invitations:
    """The preparation's invitations, for the coordinator and for each person."""

    store: Store
    hub: RoomHub
    events: Events

    # -- the network map ------------------------------------------------------------------

    def reads_map(self, conference: Conference) -> bool:
        """Whether the coordinator reads the network map now (the compass's own cell)."""
        return phases.access(conference.phase, "coordinator", "compass") >= phases.Access.READ

    async def _map(self, conference: Conference) -> list[MapEntry]:
        return read_map(await self.hub.document_state(conference.id, "compass"))

    async def map_people(self, conference: Conference) -> list[MapPerson] | None:
        """The people on the network map, each with who they became on the list; None while
        the coordinator may not read the compass."""
        if not self.reads_map(conference):
            return None
        entries = await self._map(conference)
        invited = {
            row.participant.map_entry: row.participant
            for row in await self.store.participants(conference.id)
            if row.participant.map_entry is not None
        }
        return [
            MapPerson(
                entry,
                invited.get(entry.id),
                invitations.map_refusal(entry),
                networkmap.describe(entry),
            )
            for entry in entries  # closest first, then around the ring
        ]

    async def invite_from_map(self, person: Person, entry_id: str) -> tuple[Participant, bool]:
        """Make the person on the map with ``entry_id`` a participant (name and role taken
        over, the link kept). A second tap gives the one made before (``False``: not new)."""
        conference = person.conference
        if person.role != "coordinator":
            raise _not_coordinator()
        if not self.reads_map(conference):
            raise _wrong_phase(conference)
        entry = next((e for e in await self._map(conference) if e.id == entry_id), None)
        if entry is None:
            raise FlowError(
                Refusal.MISSING,
                _("Deze persoon staat niet (meer) op de netwerkkaart."),
                "no_map_entry",
            )
        problem = invitations.map_refusal(entry)
        if problem is not None:
            raise FlowError(Refusal.INVALID, problem, "not_invitable")
        invitee = invitations.invitee(entry)
        participant, created = await self.store.invite_from_map(
            conference.id, entry.id, invitee.name, invitee.role, invitee.note, invitee.age
        )
        if created:
            await self.store.audit(
                conference.id,
                person.actor,
                "invited_from_map",
                {"participant_id": participant.id, "role": participant.role},
            )
            self.events.publish(conference.id, CHANGED)
        return participant, created

    # -- where each invitation stands -----------------------------------------------------

    async def set_status(
        self, person: Person, participant_id: int, status: str, note: str
    ) -> Participant:
        """The coordinator notes where someone's invitation stands, with a note of their
        own (replacing the one before)."""
        conference = person.conference
        if person.role != "coordinator":
            raise _not_coordinator()
        if not phases.may("track_invitations", conference.phase, person.role):
            raise _wrong_phase(conference)
        if status not in invitations.STATUSES:
            message = _("Kies hoe het met de uitnodiging staat uit de lijst.")
            raise FlowError(Refusal.INVALID, message, "bad_status")
        problem = invitations.note_problem(note)
        if problem is not None:
            raise FlowError(Refusal.INVALID, problem, "bad_note")
        participant = await self.store.participant(conference.id, participant_id)
        if participant is None or participant.role == "coordinator":
            message = _("Deze deelnemer staat niet (meer) op de lijst.")
            raise FlowError(Refusal.MISSING, message, "no_participant")
        try:
            await self.store.set_invitation_status(
                participant.id, status, note, by=person.actor, conference_id=conference.id
            )
        except NotFound as exc:  # removed at this very moment
            raise FlowError(Refusal.MISSING, refusal(exc), "no_participant") from None
        await self.store.audit(
            conference.id,
            person.actor,
            "invitation_status_set",
            {"participant_id": participant.id, "status": status},
        )
        self.events.publish(conference.id, CHANGED)
        return participant

    async def answer(self, person: Person, status: str) -> None:
        """A person answers "coming" or "not coming" on their own page; they can change it
        until the conference begins."""
        conference = person.conference
        if person.participant_id is None:
            raise _not_coordinator_answer()
        if status not in invitations.OWN_ANSWERS:
            message = _("Kies 'ik kom' of 'ik kom niet'.")
            raise FlowError(Refusal.INVALID, message, "bad_answer")
        now = utcnow()
        if not invitations.may_answer(conference.phase, person.role, conference.starts_at, now):
            reason = invitations.answer_closed_reason(conference.phase, conference.starts_at, now)
            raise FlowError(Refusal.CONFLICT, reason, "answer_closed")
        try:
            await self.store.set_invitation_status(
                person.participant_id, status, by=person.actor, conference_id=conference.id
            )
        except NotFound as exc:
            raise FlowError(Refusal.FORBIDDEN, refusal(exc), "no_participant") from None
        await self.store.audit(
            conference.id, person.actor, "invitation_answered", {"status": status}, coalesce=True
        )
        self.events.publish(conference.id, CHANGED)

    # -- the family's proposals -----------------------------------------------------------

    async def propose(
        self, person: Person, name: str, relation: str, why: str
    ) -> InvitationProposal:
        """The client or a network member proposes someone to invite (already checked by
        ``invitations.proposal_form``); the coordinator decides."""
        conference = person.conference
        if person.participant_id is None or not phases.may(
            "propose_invitee", conference.phase, person.role
        ):
            raise FlowError(
                Refusal.FORBIDDEN if conference.phase == "preparation" else Refusal.CONFLICT,
                _(
                    "Iemand voorstellen om uit te nodigen doen de cliënt en het netwerk, in de "
                    "voorbereiding."
                ),
                "forbidden",
            )
        try:
            proposal = await self.store.propose_invitee(
                conference.id,
                person.participant_id,
                name,
                relation,
                why,
                open_limit=invitations.MAX_OPEN_PROPOSALS,
            )
        except StoreError as exc:
            raise FlowError(Refusal.CONFLICT, refusal(exc), "too_many_proposals") from None
        await self.store.audit(
            conference.id, person.actor, "invitee_proposed", {"proposal_id": proposal.id}
        )
        self.events.publish(conference.id, CHANGED)
        return proposal

    def _deciding(self, person: Person) -> None:
        if person.role != "coordinator":
            raise _not_coordinator()
        if not phases.may("track_invitations", person.conference.phase, person.role):
            raise _wrong_phase(person.conference)

    async def accept(
        self, person: Person, proposal_id: int, role: str
    ) -> tuple[InvitationProposal, Participant]:
        """Invite someone the family proposed: a participant with their name and ``role``."""
        self._deciding(person)
        if role not in invitations.PROPOSAL_ROLES:
            message = _("Kies een rol uit de lijst.")
            raise FlowError(Refusal.INVALID, message, "bad_role")
        conference = person.conference
        try:
            proposal, participant = await self.store.accept_proposal(
                conference.id, proposal_id, role, by=person.actor
            )
        except StoreError as exc:
            raise _proposal_refused(exc) from None
        await self.store.audit(
            conference.id,
            person.actor,
            "proposal_accepted",
            {"proposal_id": proposal.id, "participant_id": participant.id, "role": role},
        )
        self.events.publish(conference.id, CHANGED)
        return proposal, participant

    async def decline(self, person: Person, proposal_id: int, reason: str) -> InvitationProposal:
        """Not now, with an optional reason the proposer reads on their page."""
        self._deciding(person)
        reason, problem = invitations.decline_reason(reason)
        if problem is not None:
            raise FlowError(Refusal.INVALID, problem, "bad_reason")
        conference = person.conference
        try:
            proposal = await self.store.decline_proposal(
                conference.id, proposal_id, reason, by=person.actor
            )
        except StoreError as exc:
            raise _proposal_refused(exc) from None
        await self.store.audit(
            conference.id,
            person.actor,
            "proposal_declined",
            {"proposal_id": proposal.id, "participant_id": proposal.proposed_by},
        )
        self.events.publish(conference.id, CHANGED)
        return proposal


def _not_coordinator_answer() -> FlowError:
    return FlowError(
        Refusal.FORBIDDEN,
        _("De coördinator geeft geen antwoord op een uitnodiging; zet het op de lijst."),
        "forbidden",
    )


def _proposal_refused(exc: StoreError) -> FlowError:
    kind = Refusal.MISSING if isinstance(exc, NotFound) else Refusal.CONFLICT
    return FlowError(kind, refusal(exc), "proposal")
