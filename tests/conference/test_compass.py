"""The network compass on a real `kring serve`: the client chooses supporters, who then write
the compass with them in the preparation; a mark taken away closes that supporter's compass at
once; other network members and professionals never get it, and the coordinator only reads
along in the preparation."""

from __future__ import annotations

from typing import Any

import pytest
from pycrdt import Map, Text

from server.rooms.client import YClient
from server.rules.compass import read_compass
from tests.support.live import connected
from tests.support.meeting import move
from tests.support.people import DemoConference, as_, demo_conference, server_store
from tests.support.server import LiveServer

pytestmark = pytest.mark.usefixtures("devices_closed")

NOT_A_SUPPORTER = "Het netwerkkompas is van de cliënt en de steunpersonen die de cliënt koos."


async def network_members(conference: DemoConference) -> list[int]:
    async with server_store(conference) as store:
        rows = await store.participants(conference.id)
    return [r.participant.id for r in rows if r.participant.role == "network_member"]


async def choose(conference: DemoConference, cookie: str, *ids: int) -> None:
    """The client ticks exactly these supporters on their own page."""
    async with as_(conference, cookie) as client:
        sent = await client.post(
            f"/c/{conference.id}/supporters", data={"supporter": [str(i) for i in ids]}
        )
    assert sent.status_code == 303, sent.text


def write(device: YClient, key: str, text: str) -> None:
    device.doc.get("answers", type=Map)[key] = Text(text)


def answers(device: YClient) -> dict[str, Any]:
    return dict(read_compass(device.doc.get_update())["answers"])


async def refused(device: YClient) -> tuple[int, str]:
    await device.connect()
    try:
        return await device.wait_closed()
    finally:
        await device.close()


async def test_a_supporter_writes_with_the_client_until_the_mark_is_taken_away(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "preparation")
    ayse, mehmet = (await network_members(conference))[:2]
    client_cookie = conference.cookie("client")
    ayse_cookie = conference.cookie("network_member", 0)
    coordinator_cookie = conference.coordinator_cookie()

    # Not chosen (yet): no byte of the compass, and told whose it is.
    assert await refused(conference.device("compass", ayse_cookie)) == (4403, NOT_A_SUPPORTER)

    await choose(conference, client_cookie, ayse)
    client = conference.device("compass", client_cookie, saved=True)
    supporter = conference.device("compass", ayse_cookie, saved=True)
    coordinator = conference.device("compass", coordinator_cookie)
    async with connected(client, supporter, coordinator):
        write(supporter, "if_nothing", "Dan raakt Sam het huis kwijt.")
        await supporter.wait_for(supporter.all_saved)
        await client.wait_for(lambda: answers(client)["if_nothing"] != "")
        await coordinator.wait_for(lambda: answers(coordinator)["if_nothing"] != "")
        # The coordinator reads along: what they send is refused, nobody gets it.
        write(coordinator, "wishes_self", "Door de coördinator")
        await coordinator.wait_for(lambda: coordinator.denied != [])
        write(client, "wishes_self", "Rust")
        await client.wait_for(client.all_saved)
        await supporter.wait_for(lambda: answers(supporter)["wishes_self"] == "Rust")

        # The client takes the mark away: her open compass closes at once, the others stay.
        await choose(conference, client_cookie)
        assert await supporter.wait_closed() == (4001, NOT_A_SUPPORTER)
        assert client.close_code is None and coordinator.close_code is None
    assert await refused(conference.device("compass", ayse_cookie)) == (4403, NOT_A_SUPPORTER)

    # Other network members and the professionals never get it; the page says why.
    mehmet_cookie = conference.cookie("network_member", 1)
    assert await refused(conference.device("compass", mehmet_cookie)) == (4403, NOT_A_SUPPORTER)
    for role in ("professional", "mandated_professional"):
        code, _reason = await refused(conference.device("compass", conference.cookie(role)))
        assert code == 4403
    async with as_(conference, mehmet_cookie) as other:
        page = await other.get(f"/c/{conference.id}/compass")
        assert page.status_code == 403 and NOT_A_SUPPORTER in page.text
        assert "Dan raakt Sam" not in page.text
        landing = await other.get(f"/c/{conference.id}")
        assert f"/c/{conference.id}/compass" not in landing.text and mehmet

    # Chosen again, she opens it on her next connect; the coordinator's page reads along.
    await choose(conference, client_cookie, ayse)
    async with as_(conference, ayse_cookie) as again:
        page = await again.get(f"/c/{conference.id}/compass")
        assert page.status_code == 200 and '"writable": true' in page.text
    async with as_(conference, coordinator_cookie) as coordinating:
        page = await coordinating.get(f"/c/{conference.id}/compass")
        assert page.status_code == 200 and '"writable": false' in page.text
        assert "Je leest mee." in page.text and "Dan raakt Sam het huis kwijt." in page.text
        detail = await coordinating.get(f"/conferences/{conference.id}")
        assert f'href="/c/{conference.id}/compass"' in detail.text

    # The preparation ends: client and supporter read it, the coordinator no longer does.
    reader = conference.device("compass", ayse_cookie)
    coordinator = conference.device("compass", coordinator_cookie)
    async with connected(reader, coordinator):
        assert (await move(conference, "information")).status_code == 200
        assert await coordinator.wait_closed() == (
            4001,
            "Tijdens de informatiefase is het netwerkkompas niet voor jou open.",
        )
        write(reader, "wishes_others", "Te laat")
        await reader.wait_for(lambda: reader.denied != [])
        assert reader.close_code is None
    async with as_(conference, client_cookie) as owner:
        page = await owner.get(f"/c/{conference.id}/compass")
        assert page.status_code == 200 and '"writable": false' in page.text
        assert "De voorbereiding is voorbij" in page.text
    async with as_(conference, coordinator_cookie) as coordinating:
        page = await coordinating.get(f"/c/{conference.id}/compass")
        assert page.status_code == 403 and "Dan raakt Sam" not in page.text
    async with server_store(conference) as store:
        log = [(row.kind, row.detail) for row in await store.audit_events(conference.id)]
    chosen = [detail for kind, detail in log if kind == "supporters_chosen"]
    assert chosen == [
        {"added": [ayse], "removed": []},
        {"added": [], "removed": [ayse]},
        {"added": [ayse], "removed": []},
    ]
