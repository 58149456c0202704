"""The action team's follow-up meetings: opening one, who came, closing it (the plan as it is
then becomes the next version), the next date; and their calendar, the schedule's rules
(``rules/schedule.py``) applied to a conference's rows in the meetings' time zone
(``clock.time_zone()``, KRING_TIMEZONE)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from server.clock import time_zone
from server.conference.auth import Person
from server.conference.events import CHANGED, Events
from server.conference.plancopy import checked_plan
from server.conference.refusals import FlowError, refusal
from server.i18n import _
from server.rooms.hub import RoomHub
from server.rules import schedule
from server.rules.refusal import Refusal
from server.storage.models import Conference, FollowUp, PlanVersion
from server.storage.store import Store, StoreError


def today() -> date:
    """Today where the meetings are held."""
    return schedule.today(time_zone())


def local_date(moment: datetime) -> date:
    return schedule.local_date(moment, time_zone())


def due_after(conference: Conference, last_closed: datetime | None) -> date | None:
    """When the next meeting is due, from the moment the last one was closed (None: none
    yet); None before the action team phase."""
    if conference.phase != "action_team":
        return None
    return schedule.due_after(
        conference.plan_frozen_at, conference.next_follow_up_on, last_closed, time_zone()
    )


def next_due(conference: Conference, follow_ups: Sequence[FollowUp]) -> date | None:
    """The day the next follow-up meeting is due; None before the plan is agreed."""
    return due_after(conference, schedule.last_closed(f.closed_at for f in follow_ups))


async def follow_up(store: Store, person: Person, number: int) -> FollowUp:
    """Meeting ``number`` of the person's conference; FlowError (missing) if there is none."""
    row = await store.follow_up(person.conference.id, number) if number < 2**31 else None
    if row is None:
        raise FlowError(Refusal.MISSING, _("Deze bijeenkomst bestaat niet."), "not_found")
    return row


@dataclass(frozen=True)
class FollowUps:
    """The action team's meetings of one running app."""

    store: Store
    hub: RoomHub
    events: Events

    def _require_team(self, person: Person) -> None:
        if person.conference.phase != "action_team":
            raise FlowError(
                Refusal.CONFLICT,
                _("Bijeenkomsten van het actieteam zijn er in de actieteamfase."),
                "wrong_phase",
            )
        if person.role != "coordinator" and not person.action_team_member:
            raise FlowError(
                Refusal.FORBIDDEN,
                _("Alleen het actieteam en de coördinator houden deze bijeenkomsten."),
            )

    async def start_follow_up(self, person: Person) -> FollowUp:
        """Open the action team's next meeting (due as schedule.next_due says)."""
        self._require_team(person)
        conference = person.conference
        due = next_due(conference, await self.store.follow_ups(conference.id))
        try:
            row = await self.store.start_follow_up(conference.id, due or today(), person.actor)
        except StoreError as exc:
            raise FlowError(Refusal.CONFLICT, refusal(exc), "already_open") from None
        await self.store.audit(
            conference.id, person.actor, "follow_up_started", {"number": row.number}
        )
        return row

    async def record_attendance(
        self, person: Person, number: int, ids: Collection[int | None]
    ) -> None:
        """Who was at the meeting: people of this conference, ticked on the meeting's page.
        ``None`` is a value that names nobody (not a number): refused like a stranger, once
        it is clear the person may record who came at all."""
        self._require_team(person)
        row = await follow_up(self.store, person, number)
        known = {r.participant.id for r in await self.store.participants(person.conference.id)}
        came = {i for i in ids if i is not None}
        if None in ids or not came <= known:
            raise FlowError(
                Refusal.INVALID, _("Kies alleen mensen van deze conferentie."), "unknown_person"
            )
        try:
            await self.store.set_attendance(row.id, frozenset(came))
        except StoreError as exc:
            raise FlowError(Refusal.CONFLICT, refusal(exc), "closed") from None
        self.events.publish(person.conference.id, CHANGED)

    async def close_follow_up(self, person: Person, number: int) -> PlanVersion:
        """Close the meeting: the plan as it is now becomes the next version."""
        self._require_team(person)
        conference = person.conference
        row = await follow_up(self.store, person, number)
        if row.closed_at is not None:
            raise FlowError(Refusal.CONFLICT, _("Deze bijeenkomst is al afgesloten."), "closed")
        everyone = [r.participant for r in await self.store.participants(conference.id)]
        state, content = await checked_plan(self.hub, conference, everyone)
        came = await self.store.attendance(row.id)
        first = await self.store.plan_version(conference.id, 1)
        content.update(
            {
                "conditions": first.content.get("conditions", []) if first else [],
                "answers": first.content.get("answers", []) if first else [],
                "follow_up": {
                    "number": row.number,
                    "held_on": today().isoformat(),
                    "attended": [p.name for p in everyone if p.id in came],
                },
            }
        )
        try:
            version = await self.store.close_follow_up(
                row.id, conference.id, state, content, person.actor
            )
        except StoreError as exc:
            raise FlowError(Refusal.CONFLICT, refusal(exc), "refused") from None
        await self.store.audit(
            conference.id,
            person.actor,
            "follow_up_closed",
            {"number": row.number, "version": version.number},
        )
        return version

    async def set_next_follow_up(self, person: Person, day: date) -> None:
        """The coordinator sets the next meeting's date (today or later)."""
        self._require_team(person)
        if person.role != "coordinator":
            raise FlowError(
                Refusal.FORBIDDEN, _("De datum van de volgende bijeenkomst zet de coördinator.")
            )
        if day < today():
            raise FlowError(
                Refusal.INVALID, _("Die datum is al voorbij. Kies vandaag of later."), "past"
            )
        await self.store.set_next_follow_up(person.conference.id, day)
