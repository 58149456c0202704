"""Who is in during private time: the family lets devices in, and sees and sends out devices.

The coordinator sees every link when it is made, so in private time no link is trusted on its
own: a device that first signs in then waits (``session.admission``) until an admitted family
member lets it in or not ("nu niet"). The family's plan page shows, live, who wants to join
and every family member with their signed-in devices, and can send any of those out. The
coordinator's console learns only how many wait. When private time ends, the devices still
waiting or not let in are signed out, so they sign in again as usual.

Who may read what stays the permission table's (``rules/phases.py``); this is a separate
check at the same seams (``auth.person_in`` answers :class:`auth.Waiting`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.conference import auth
from server.conference.events import Event, Events
from server.rooms.hub import RoomHub
from server.rules import phases
from server.storage.models import Conference
from server.storage.store import Store

# Events: "admission" (the waiting list or the devices changed: the family's lists and the
# console's count are drawn again) and "admitted" (one waiting device's answer, for that
# device's own stream only).
CHANGED = "admission"
DECIDED = "admitted"


@dataclass(frozen=True)
class WaitingDevice:
    session_id: int
    participant_id: int
    name: str
    role: str
    added_now: bool  # put on the list during this private time (by the coordinator)


@dataclass(frozen=True)
class Device:
    session_id: int
    since: datetime  # when it signed in (pages show it on the local clock)
    connected: bool
    mine: bool  # the device looking at the list


@dataclass(frozen=True)
class Member:
    participant_id: int
    name: str
    role: str
    devices: list[Device]


def keeps_watch(person: auth.Person) -> bool:
    """Whether this person lets devices in and sends them out now: an admitted family
    member, in private time."""
    return person.role in phases.FAMILY and person.conference.phase == "private_time"


async def waiting_devices(store: Store, conference: Conference) -> list[WaitingDevice]:
    """Who wants to join, with their role and whether the coordinator put them on the list
    during this private time: a look-alike of a family member's name is told apart."""
    return [
        WaitingDevice(
            session.id,
            participant.id,
            participant.name,
            participant.role,
            participant.created_at >= conference.phase_since,
        )
        for session, participant in await store.waiting_sessions(conference.id)
    ]


async def who_is_in(
    store: Store, hub: RoomHub, conference_id: str, my_session: int | None
) -> list[Member]:
    """Every family and network member with their signed-in devices, and which of those
    have a document open now (on any process)."""
    connected = hub.connected_sessions(conference_id)
    members: dict[int, Member] = {}
    for row in await store.participants(conference_id):
        p = row.participant
        if p.role in phases.FAMILY:
            members[p.id] = Member(p.id, p.name, p.role, [])
    for session, participant in await store.family_sessions(conference_id, phases.FAMILY):
        member = members.get(participant.id)
        if member is not None:
            member.devices.append(
                Device(
                    session.id,
                    session.created_at,
                    session.id in connected.get(participant.id, set()),
                    session.id == my_session,
                )
            )
    return list(members.values())


async def family_context(store: Store, hub: RoomHub, person: auth.Person) -> dict[str, Any]:
    """What the family's plan page shows of admission (nothing for anyone else)."""
    if not keeps_watch(person):
        return {"watch": False}
    conference_id = person.conference.id
    return {
        "watch": True,
        "waiting": await waiting_devices(store, person.conference),
        "members": await who_is_in(store, hub, conference_id, person.session_id),
    }


def changed(events: Events, conference_id: str) -> None:
    """Tell the family's pages and the console (on every process) that the lists changed."""
    events.publish(conference_id, Event(CHANGED))


async def device_waits(
    store: Store, events: Events, conference_id: str, participant_id: int
) -> None:
    """A device signed in during private time and waits: audit it, tell the family."""
    actor = f"participant:{participant_id}"
    detail = {"participant_id": participant_id}
    await store.audit(conference_id, actor, "admission_waiting", detail)
    changed(events, conference_id)


def decided(events: Events, conference_id: str, session_id: int, admission: str) -> None:
    """The family let a waiting device in ("in") or not ("refused"): tell that device (its
    own stream) and everyone's lists."""
    events.publish(
        conference_id, Event(DECIDED, {"session_id": session_id, "admission": admission})
    )
    changed(events, conference_id)
