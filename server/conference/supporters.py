"""Who fills in the network compass with the client: the supporters.

The client chooses them among the network members, on their own page, or the coordinator
sets them on the participant list together with the client (the form asks to confirm that).
A change is committed, then told to the rooms like a phase change (``hub.phase_changed``
with the phase as it stands), so a supporter whose mark is taken away loses the compass at
once, on every process, and someone newly marked opens it on their next connect. What may be
done with the compass, by whom and when, is ``rules/phases.py``'s.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from server.conference.auth import Person
from server.conference.events import CHANGED, Events
from server.conference.refusals import FlowError, refusal
from server.i18n import _
from server.rooms.hub import RoomHub
from server.rules.refusal import Refusal
from server.storage.store import Reason, Store, StoreError, SupportersChange

log = logging.getLogger("kring.supporters")


@dataclass(frozen=True)
class Supporters:
    store: Store
    hub: RoomHub
    events: Events

    async def choose(
        self, person: Person, participant_ids: Collection[int], *, with_client: bool = False
    ) -> SupportersChange:
        """Make exactly these network members the client's supporters. The client chooses
        on their own; the coordinator only with ``with_client`` (the form's "we do this
        together" ticked)."""
        conference = person.conference
        if person.role == "coordinator" and not with_client:
            message = _(
                "Steunpersonen kiest de cliënt. Kies ze samen met de cliënt, en zet het vinkje "
                "dat je dit samen doet."
            )
            raise FlowError(Refusal.INVALID, message, "with_client")
        if person.role not in ("client", "coordinator"):
            message = _("Alleen de cliënt kiest steunpersonen (eventueel met de coördinator).")
            raise FlowError(Refusal.FORBIDDEN, message)
        rows = await self.store.participants(conference.id)
        everyone = {row.participant.id: row.participant for row in rows}
        for participant_id in sorted(set(participant_ids)):
            chosen = everyone.get(participant_id)
            if chosen is None:
                message = _("Deze persoon staat niet (meer) op de lijst van deze conferentie.")
                raise FlowError(Refusal.INVALID, message, "unknown_participant")
            if chosen.role != "network_member":
                message = _(
                    "%(name)s is geen netwerklid. Alleen netwerkleden kunnen steunpersoon zijn.",
                    name=chosen.name,
                )
                raise FlowError(Refusal.INVALID, message, "not_network_member")
        # Read before the change: nothing is awaited between committing it and telling the
        # rooms (the team changes only at the presentation, where nobody marks supporters).
        team = await self.store.action_team(conference.id)
        try:
            change = await self.store.set_supporters(conference.id, participant_ids)
        except StoreError as exc:
            if exc.reason is Reason.SUPPORTERS_FIXED:
                raise FlowError(Refusal.CONFLICT, refusal(exc), "supporters_fixed") from None
            message = _("Deze conferentie bestaat niet (meer).")
            raise FlowError(Refusal.MISSING, message) from None
        try:
            self.hub.phase_changed(
                conference.id,
                change.phase,
                team,
                change.phase_since.timestamp(),
                change.supporters,
            )
        except Exception:
            log.exception("%s: telling the rooms about the supporters failed", conference.id)
        if change.added or change.removed:
            detail: dict[str, Any] = {
                "added": sorted(change.added),
                "removed": sorted(change.removed),
            }
            if person.role == "coordinator":
                detail["with_client"] = True
            await self.store.audit(conference.id, person.actor, "supporters_chosen", detail)
            self.events.publish(conference.id, CHANGED)
        return change
