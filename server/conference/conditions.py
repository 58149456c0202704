"""The conditions of the meeting: a mandated professional sets them in the information phase
(and may rewrite or remove their own there), and judges them at the presentation, all in one
save. Part of :class:`~server.conference.meeting.Meeting`, which holds the store and the
event bus; every decision is checked against the permission table, committed, audited and
announced to the console."""

from __future__ import annotations

from server.conference.auth import Person
from server.conference.events import CHANGED, Events
from server.conference.refusals import FlowError, checked_text, refusal
from server.i18n import N_, _
from server.rules import phases
from server.rules.refusal import Refusal
from server.storage.models import Condition
from server.storage.store import Reason, Store, StoreError


class ConditionsOfTheMeeting:
    """The conditions' decisions (a part of the meeting's use case)."""

    store: Store
    events: Events

    def _require(self, person: Person, action: str, message: str) -> None:
        """``message`` is a Dutch message id, told in the person's language."""
        if not phases.may(action, person.conference.phase, person.role):
            raise FlowError(Refusal.FORBIDDEN, _(message))

    async def add_condition(self, person: Person, text: str) -> None:
        self._require(
            person,
            "set_conditions",
            N_("Voorwaarden stelt een professional met verplicht toezicht, in de informatiefase."),
        )
        assert person.participant_id is not None
        text = checked_text(text, N_("De voorwaarde"))
        await self.store.add_condition(person.conference.id, person.participant_id, text)
        await self.store.audit(person.conference.id, person.actor, "condition_added")
        self.events.publish(person.conference.id, CHANGED)

    async def edit_condition(self, person: Person, condition_id: int, text: str) -> None:
        """A mandated professional rewrites one of their own conditions: in the information
        phase only, like setting one (at the presentation it is judged as it was set)."""
        self._require_conditions_phase(person)
        assert person.participant_id is not None
        text = checked_text(text, N_("De voorwaarde"))
        if not text.strip():
            raise FlowError(Refusal.INVALID, _("Schrijf de voorwaarde op."), "empty")
        try:
            await self.store.edit_condition(
                person.conference.id, condition_id, person.participant_id, text
            )
        except StoreError as exc:
            raise FlowError(Refusal.MISSING, refusal(exc)) from None
        await self.store.audit(
            person.conference.id, person.actor, "condition_edited", {"condition_id": condition_id}
        )
        self.events.publish(person.conference.id, CHANGED)

    async def own_condition(self, person: Person, condition_id: int) -> Condition:
        """One of this professional's own conditions, while they may still change it (the
        page asks "remove this one?" with it)."""
        self._require_conditions_phase(person)
        for condition, setter in await self.store.conditions(person.conference.id):
            if condition.id == condition_id and setter.id == person.participant_id:
                return condition
        raise FlowError(Refusal.MISSING, refusal(StoreError(Reason.NOT_OWN_CONDITION)))

    async def delete_condition(self, person: Person, condition_id: int) -> None:
        """Called once the professional confirmed it (the page asks first)."""
        self._require_conditions_phase(person)
        assert person.participant_id is not None
        try:
            await self.store.delete_condition(
                person.conference.id, condition_id, person.participant_id
            )
        except StoreError as exc:
            raise FlowError(Refusal.MISSING, refusal(exc)) from None
        await self.store.audit(person.conference.id, person.actor, "condition_deleted")
        self.events.publish(person.conference.id, CHANGED)

    def _require_conditions_phase(self, person: Person) -> None:
        if phases.may("set_conditions", person.conference.phase, person.role):
            return
        if person.role == "mandated_professional":
            raise FlowError(
                Refusal.CONFLICT,
                _(
                    "Voorwaarden schrijf en wijzig je in de informatiefase; nu is het "
                    "%(phase)s. Bij de presentatie beoordeel je ze zoals ze gesteld zijn.",
                    phase=phases.PHASE_LABELS.get(person.conference.phase, ""),
                ),
                "wrong_phase",
            )
        raise FlowError(
            Refusal.FORBIDDEN,
            _("Voorwaarden stelt een professional met verplicht toezicht, in de informatiefase."),
        )

    async def check_condition(
        self, person: Person, condition_id: int, status: str, remark: str
    ) -> None:
        """One condition judged (the JSON-like form of one condition); the page judges all of
        a professional's conditions at once (:meth:`check_conditions`)."""
        await self.check_conditions(person, {condition_id: (status, remark)})

    async def check_conditions(
        self, person: Person, judgements: dict[int, tuple[str | None, str]]
    ) -> int:
        """A mandated professional judges their conditions at the presentation, all in one
        save: condition id -> (status "met" / "not_met", or None for not judged yet; remark).
        All are stored or none. Returns how many were judged."""
        self._require(
            person,
            "check_conditions",
            N_(
                "Alleen de professional die de voorwaarde stelde, beoordeelt hem bij de "
                "presentatie."
            ),
        )
        assert person.participant_id is not None
        checked = {
            condition_id: (status, checked_text(remark, N_("De toelichting")))
            for condition_id, (status, remark) in judgements.items()
        }
        try:
            await self.store.check_conditions(person.conference.id, person.participant_id, checked)
        except StoreError as exc:
            raise FlowError(Refusal.MISSING, refusal(exc)) from None
        judged = [status for status, _remark in checked.values() if status is not None]
        if len(checked) == 1:
            ((condition_id, (status, _remark)),) = checked.items()
            kind, detail = "condition_checked", {"condition_id": condition_id, "status": status}
        else:
            kind = "conditions_checked"
            detail = {"met": judged.count("met"), "not_met": judged.count("not_met")}
        await self.store.audit(person.conference.id, person.actor, kind, detail)
        self.events.publish(person.conference.id, CHANGED)
        return len(judged)
