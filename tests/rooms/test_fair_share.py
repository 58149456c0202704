"""Fair share of a room: one device or one person cannot fill a conference, and the family
can always reach its plan (small limits here; the defaults are 4 per device and document, 12
per person, 300 per conference of which 30 only for the family)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest

from server.rooms.client import YClient
from tests.support.people import DemoConference, demo_conference
from tests.support.server import LiveServer, make_instance, serving

pytestmark = pytest.mark.usefixtures("devices_closed")

LIMITS = {
    "KRING_MAX_CONNECTIONS_PER_ROOM": "20",
    "KRING_FAMILY_RESERVED_CONNECTIONS": "6",
    "KRING_MAX_CONNECTIONS_PER_SESSION": "4",
    "KRING_MAX_CONNECTIONS_PER_PERSON": "12",
}
ONE_DEVICE = "Dit apparaat heeft dit document al te vaak open."
ONE_PERSON = "Je hebt al te veel verbindingen open."


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serving(make_instance(tmp_path_factory.mktemp("fair"), **LIMITS)) as server:
        yield server


@contextlib.asynccontextmanager
async def opened(conference: DemoConference) -> AsyncIterator[list[YClient]]:
    """Devices opened in the block, all closed after it."""
    devices: list[YClient] = []
    try:
        yield devices
    finally:
        for device in devices:
            await device.close()


async def open_one(
    conference: DemoConference, devices: list[YClient], document: str, cookie: str
) -> YClient:
    device = conference.device(document, cookie)
    devices.append(device)
    await device.connect()
    await device.wait_for(lambda: device.close_code is not None or device._synced.is_set(), 5)
    return device


async def test_one_device_gets_four_sockets_per_document_and_a_reason_for_the_fifth(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    cookie = conference.cookie("professional")
    async with opened(conference) as devices:
        accepted = [await open_one(conference, devices, "information", cookie) for _ in range(4)]
        assert all(d.close_code is None for d in accepted)
        fifth = await open_one(conference, devices, "information", cookie)
        code, reason = await fifth.wait_closed(5)
        assert code == 1008 and reason.startswith(ONE_DEVICE)
        assert fifth.messages == 0  # refused before any sync byte
        # Another device of someone else is not affected.
        other = await open_one(conference, devices, "information", conference.cookie("client"))
        assert other.close_code is None


async def test_one_person_on_many_devices_is_stopped_at_twelve_and_the_family_still_gets_in(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    async with opened(conference) as devices:
        # A professional on three devices, four sockets each: twelve, all accepted.
        for _ in range(3):
            cookie = conference.cookie("professional")
            for _ in range(4):
                assert (
                    await open_one(conference, devices, "information", cookie)
                ).close_code is None
        thirteenth = await open_one(
            conference, devices, "information", conference.cookie("professional")
        )
        code, reason = await thirteenth.wait_closed(5)
        assert code == 1008 and reason.startswith(ONE_PERSON)

        # Two more of others make fourteen: the places not held back for the family are taken.
        mandated = conference.cookie("mandated_professional")
        for _ in range(2):
            assert (await open_one(conference, devices, "information", mandated)).close_code is None
        coordinator = await open_one(
            conference, devices, "information", conference.coordinator_cookie()
        )
        assert (await coordinator.wait_closed(5))[0] == 1013

        # The family still reaches its plan and the information.
        client = conference.cookie("client")
        plan = await open_one(conference, devices, "plan", client)
        information = await open_one(conference, devices, "information", client)
        assert plan.close_code is None and information.close_code is None
        await plan.synced()
