"""A conference moved along: the coordinator changes the phase (and the phase it is in, as
stored), and the meeting is run up to version 1 and the action team (the long way, as people
do it, or straight in the store); the first condition a mandated professional set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from server.rules.plan import add_agreement
from server.storage.models import Conference
from server.storage.store import Store
from tests.support.live import connected
from tests.support.people import DemoConference, as_, ids_by_role, server_store

LOCKED_OUT = "Tijdens de privétijd is het plan niet voor jou open."


async def move(conference: DemoConference, phase: str, reason: str = "") -> httpx.Response:
    """The coordinator moves the conference to ``phase`` (through the API)."""
    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        body = {"phase": phase, **({"reason": reason} if reason else {})}
        return await coordinator.post(f"/api/conferences/{conference.id}/phase", json=body)


async def phase_of(conference: DemoConference) -> str:
    """The conference's phase as the server stored it."""
    async with server_store(conference) as store:
        stored = await store.conference(conference.id)
    assert stored is not None
    return str(stored.phase)


async def first_condition_id(conference: DemoConference) -> int:
    """The id of the first condition set in the conference (to judge it, or to edit it)."""
    async with server_store(conference) as store:
        (condition, _person), *_ = await store.conditions(conference.id)
    return condition.id


async def run_to_action_team(
    conference: DemoConference, marks: dict[str, tuple[int, int]] | None = None
) -> dict[str, int]:
    """Run the conference up to version 1 and the action-team phase; the family's plan has
    two agreements; ``marks`` are given at the presentation (role -> conference, plan).
    Returns participant ids by role."""
    cid = conference.id
    assert (await move(conference, "private_time")).status_code == 200
    family = conference.device("plan", conference.cookie("client"), saved=True)
    async with connected(family):
        add_agreement(family.doc, "housing", what="Samen koken op zondag", who="Ayşe")
        add_agreement(family.doc, "children", what="Sam naar voetbal", who="Mehmet")
        await family.wait_for(family.all_saved)
    async with as_(conference, conference.cookie("client")) as sam:
        await sam.post(f"/c/{cid}/signal", data={"kind": "plan_ready", "confirmed": "yes"})
        assert (await move(conference, "presentation")).status_code == 200
        assert (await sam.post(f"/c/{cid}/answer", data={"answer": "agree"})).status_code == 303
    for role, (meeting, plan) in (marks or {}).items():
        async with as_(conference, conference.cookie(role)) as person:
            marked = await person.post(
                f"/c/{cid}/rating", data={"meeting": str(meeting), "plan": str(plan)}
            )
            assert marked.status_code == 303, marked.text
    ids = await ids_by_role(conference, "client", "network_member", "professional")
    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        chosen = await coordinator.post(
            f"/conferences/{cid}/action-team",
            data={"participant": [str(ids["client"]), str(ids["network_member"])]},
        )
        assert chosen.status_code == 303
        assert (await coordinator.post(f"/conferences/{cid}/finalise")).status_code == 303
    assert (await move(conference, "action_team")).status_code == 200
    return ids


async def agree_in_store(store: Store, conference_id: str) -> None:
    """Straight to the action team with version 1 frozen today (no live plan needed)."""
    await store.set_phase(conference_id, "presentation")
    await store.add_plan_version(conference_id, 1, b"", {}, "test")
    await store.set_phase(conference_id, "action_team")


async def closed_days_ago(conference: DemoConference, days: int) -> None:
    """Make a closed conference look closed ``days`` ago (as the retention purge reads it)."""
    async with server_store(conference) as store, store._sessions() as db:
        row = await db.get(Conference, conference.id)
        assert row is not None and row.phase == "closed"
        row.closed_at = datetime.now(UTC) - timedelta(days=days)
        await db.commit()
