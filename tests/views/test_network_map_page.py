"""The network map's page (/c/{id}/compass/map) over HTTP on a real `kring serve`: who opens it
and who may change it is the compass's cell of the permission table, in every phase."""

from __future__ import annotations

import html
import json
import re

from server.rules.networkmap import add_entry
from tests.support.live import connected
from tests.support.meeting import move
from tests.support.people import as_, demo_conference, ids_by_role, server_store
from tests.support.server import LiveServer


def config(page: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="map-config">(.*?)</script>', page)
    assert found is not None
    data: dict[str, object] = json.loads(html.unescape(found.group(1)))
    return data


async def test_the_map_opens_to_whom_the_compass_is_open_and_writable_for_its_writers(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "preparation")
    url = f"/c/{conference.id}/compass/map"
    supporter_id = (await ids_by_role(conference, "network_member"))["network_member"]
    async with server_store(conference) as store:
        await store.set_supporters(conference.id, [supporter_id])
    # What is already on the map shows in the page itself (before its script runs), escaped.
    sam = conference.device("compass", conference.cookie("client"), saved=True)
    async with connected(sam):
        add_entry(sam.doc, "e1", "<b>Oom</b> Kees", kind="friend", ring=1, tie="tenuous")
        await sam.wait_for(sam.all_saved)

    cookies = {
        "client": conference.cookie("client"),
        "supporter": conference.cookie("network_member", 0),
        "network_member": conference.cookie("network_member", 1),
        "professional": conference.cookie("professional"),
        "mandated_professional": conference.cookie("mandated_professional"),
        "coordinator": conference.coordinator_cookie(),
    }
    people = {  # who has which cookie: (role, index) in the demo
        "network_member": ("network_member", 1),
        "professional": ("professional", 0),
        "mandated_professional": ("mandated_professional", 0),
    }
    expected = {  # preparation: the client and the supporter write, the coordinator reads
        "client": "w",
        "supporter": "w",
        "network_member": "-",
        "professional": "-",
        "mandated_professional": "-",
        "coordinator": "r",
    }
    for who, cell in expected.items():
        async with as_(conference, cookies[who]) as device:
            page = await device.get(url)
        if cell == "-":
            assert page.status_code == 403, who
            assert "Oom" not in page.text and "map-config" not in page.text, who
            # the refusal names whose offline copy this device drops (theirs, nobody else's)
            async with server_store(conference) as store:
                rows = await store.participants(conference.id)
            name = conference.person(*people[who])["name"]
            mine = next(r.participant.id for r in rows if r.participant.name == name)
            assert page.headers["kring-forget"] == str(mine), who
            continue
        assert page.status_code == 200, who
        assert page.headers["cache-control"] == "no-store"
        assert config(page.text)["writable"] is (cell == "w"), who
        assert ("data-read-only" in page.text) is (cell == "r"), who
        assert ("data-map-add" in page.text) is (cell == "w"), who
        assert "&lt;b&gt;Oom&lt;/b&gt; Kees" in page.text and "<b>Oom" not in page.text
        assert "Vriend of vriendin, heel dichtbij, losse band, geen steun" in page.text
    async with as_(conference, cookies["network_member"]) as other:
        refused = await other.get(url)
    assert "van de cliënt en de steunpersonen die de cliënt koos" in refused.text

    # After the preparation: the client and the supporter read it, the coordinator no more.
    assert (await move(conference, "information")).status_code == 200
    for who, status, writable in (
        ("client", 200, False),
        ("supporter", 200, False),
        ("coordinator", 403, None),
    ):
        async with as_(conference, cookies[who]) as device:
            page = await device.get(url)
        assert page.status_code == status, who
        if writable is not None:
            assert config(page.text)["writable"] is writable
            assert "De voorbereiding is voorbij" in page.text
        else:
            assert "Oom" not in page.text
