"""The family's "plan ready" on a real `kring serve`: asked once, taken back until the
coordinator acts, audited; and the coordinator's console, which hears of each change on its
event stream and reads its live parts again, shows the button for the presentation exactly
while the family's "plan ready" stands."""

from __future__ import annotations

import html

import httpx
import pytest

from tests.support.live import EventStream
from tests.support.meeting import move
from tests.support.people import DemoConference, as_, demo_conference, server_store
from tests.support.server import LiveServer

pytestmark = pytest.mark.usefixtures("devices_closed")

PRESENTATION = "Naar presentatie van het plan"
OVERRIDE = "Privétijd beëindigen met deze reden"


@pytest.fixture
async def private_time(live_server: LiveServer) -> DemoConference:
    conference = await demo_conference(live_server, "information")
    assert (await move(conference, "private_time")).status_code == 200
    return conference


async def next_step(coordinator: httpx.AsyncClient, conference: DemoConference) -> str:
    """The console's live part with the next step, as the console reads it again."""
    page = await coordinator.get(f"/conferences/{conference.id}/console")
    assert page.status_code == 200
    return page.text.split('id="live-phase"', 1)[1].split("</section>", 1)[0]


async def test_the_console_follows_plan_ready_and_its_undo(private_time: DemoConference) -> None:
    conference, cid = private_time, private_time.id
    async with (
        EventStream(conference, conference.coordinator_cookie()) as console,
        as_(conference, conference.coordinator_cookie()) as coordinator,
        as_(conference, conference.cookie("client")) as family,
    ):
        assert OVERRIDE in await next_step(coordinator, conference)

        # Asked once: the first press only asks whether the plan is really ready.
        asked = await family.post(f"/c/{cid}/signal", data={"kind": "plan_ready"})
        assert asked.status_code == 200
        assert "Is jullie plan echt klaar?" in asked.text
        assert PRESENTATION not in await next_step(coordinator, conference)

        ready = await family.post(
            f"/c/{cid}/signal", data={"kind": "plan_ready", "confirmed": "yes"}
        )
        assert ready.status_code == 303
        await console.wait_for(lambda: any(name == "signal" for name, _ in console.events))
        step = await next_step(coordinator, conference)
        assert PRESENTATION in step and OVERRIDE not in step
        page = await family.get(f"/c/{cid}")
        assert "Toch nog niet klaar: terugnemen" in page.text

        # Taken back: the console hears that something changed (nothing more) and the button
        # for the presentation is gone; leaving private time needs a reason again.
        taken_back = await family.post(f"/c/{cid}/signal/undo")
        assert taken_back.status_code == 303
        await console.wait_for(lambda: ("changed", "changed") in console.events)
        step = await next_step(coordinator, conference)
        assert PRESENTATION not in step and OVERRIDE in step
        assert (await move(conference, "presentation")).status_code == 409
        again = await family.post(f"/c/{cid}/signal/undo")
        assert again.status_code == 409
        assert "er is niets terug te nemen" in html.unescape(again.text)

        # Ready after all, at once again (not taken for a second press of the first).
        ready = await family.post(
            f"/c/{cid}/signal", data={"kind": "plan_ready", "confirmed": "yes"}
        )
        assert ready.status_code == 303
        assert PRESENTATION in await next_step(coordinator, conference)
    async with server_store(conference) as store:
        events = await store.audit_events(cid)
    said = [e.detail.get("kind") for e in events if e.kind == "signal"]
    assert said == ["plan_ready", "plan_withdrawn", "plan_ready"]


async def test_the_family_cannot_take_plan_ready_back_once_the_coordinator_moved_on(
    private_time: DemoConference,
) -> None:
    conference, cid = private_time, private_time.id
    async with as_(conference, conference.cookie("network_member")) as family:
        ready = await family.post(
            f"/c/{cid}/signal", data={"kind": "plan_ready", "confirmed": "yes"}
        )
        assert ready.status_code == 303
        assert (await move(conference, "presentation")).status_code == 200
        too_late = await family.post(f"/c/{cid}/signal/undo")
    assert too_late.status_code == 409
    assert (
        "De coördinator is al verdergegaan naar de presentatie. 'Ons plan is klaar' kan niet "
        "meer worden teruggenomen" in html.unescape(too_late.text)
    )
    async with server_store(conference) as store:
        stored = await store.conference(cid)
        signals = await store.signals(cid)
    assert stored is not None and stored.phase == "presentation"
    assert [s.kind for s, _name in signals] == ["plan_ready"]
