"""From the network map to the list, and who is coming, on a real `kring serve`: the client
puts people on the map; the coordinator invites them with one tap each (name and role taken
over, once however often or however fast it is tapped; a gap and someone no longer around
cannot be invited); a person answers "coming" from their own link and the coordinator's list
and console show it; the family sees who is invited and proposes people, and the coordinator
invites one and says "not now" to another, whose reason the proposer reads."""

from __future__ import annotations

import asyncio
import html

import pytest

from server.rules.networkmap import add_entry
from tests.support.live import EventStream, connected
from tests.support.meeting import move
from tests.support.people import (
    LINK,
    DemoConference,
    as_,
    demo_conference,
    open_link,
    server_store,
)
from tests.support.server import LiveServer

pytestmark = pytest.mark.usefixtures("devices_closed")


async def _draw_map(conference: DemoConference) -> None:
    """The client puts six people on the network map, live, as the map page does."""
    client = conference.device("compass", conference.cookie("client"), saved=True)
    async with connected(client):
        add_entry(client.doc, "oma", "Oma Truus", kind="family", ring=1)
        add_entry(client.doc, "karin", "Karin de Jong", kind="professional", ring=3)
        add_entry(client.doc, "noor", "Noor", kind="family", child=True, age=8)
        add_entry(client.doc, "opa", "Opa Piet", kind="family", gone=True)
        add_entry(client.doc, "nodig", "", kind="friend", gap=True)
        add_entry(client.doc, "els", "Buurvrouw Els", kind="neighbour", ring=2)
        await client.wait_for(client.all_saved)


def _words(page: str) -> str:
    return " ".join(html.unescape(page).split())


def _section(page: str, marker: str) -> str:
    return html.unescape(page.split(marker, 1)[1].split("</section>", 1)[0])


async def _listed(
    conference: DemoConference, map_entry: str
) -> list[tuple[str, str, str, int | None]]:
    """Who is on the list from this map entry: (name, role, coordinator's note, age) each."""
    async with server_store(conference) as store:
        rows = await store.participants(conference.id)
    return [
        (r.participant.name, r.participant.role, r.participant.invitation_note, r.participant.age)
        for r in rows
        if r.participant.map_entry == map_entry
    ]


async def test_the_map_becomes_the_list_once_and_an_answer_reaches_the_coordinator(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "preparation")
    cid = conference.id
    await _draw_map(conference)
    invite = f"/conferences/{cid}/map/%s/invite"
    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        page = await coordinator.get(f"/conferences/{cid}")
        from_map = _section(page.text, 'id="from-map"')
        for name in ("Oma Truus", "Karin de Jong", "Noor (8)", "Opa Piet", "Buurvrouw Els"):
            assert name in from_map
        # One button per person who can be invited: not for the gap, nor for Opa Piet.
        assert from_map.count("Uitnodigen</button>") == 4
        assert "Opa Piet uitnodigen" not in from_map

        added = await coordinator.post(invite % "oma")
        assert added.status_code == 200
        assert "Oma Truus staat nu op de lijst" in html.unescape(added.text)
        listed = _section(added.text, 'id="participants"')
        assert "Oma Truus" in listed and "Netwerklid" in listed
        # A second tap, and two at the same moment for Karin: nobody twice.
        again = await coordinator.post(invite % "oma")
        assert again.status_code == 200
        assert "Oma Truus stond al op de lijst" in html.unescape(again.text)
        both = await asyncio.gather(*(coordinator.post(invite % "karin") for _ in range(2)))
        assert [r.status_code for r in both] == [200, 200]
        await coordinator.post(invite % "noor")
        assert await _listed(conference, "oma") == [("Oma Truus", "network_member", "", None)]
        assert await _listed(conference, "karin") == [("Karin de Jong", "professional", "", None)]
        # a child: the first name, and the age in the practical side's own field
        assert await _listed(conference, "noor") == [("Noor", "network_member", "", 8)]

        # A gap and someone no longer around are refused with the reason (a forged post).
        gap = await coordinator.post(invite % "nodig")
        assert gap.status_code == 400
        assert "iemand die jullie nog nodig hebben" in html.unescape(gap.text)
        gone = await coordinator.post(invite % "opa")
        assert gone.status_code == 400
        assert "Opa Piet is niet meer in beeld" in html.unescape(gone.text)
        assert (await coordinator.post(invite % "niemand")).status_code == 404
        assert await _listed(conference, "nodig") == await _listed(conference, "opa") == []
        page = await coordinator.get(f"/conferences/{cid}")
        assert _section(page.text, 'id="from-map"').count("Op de lijst") == 3

        # Oma Truus gets her link and answers "coming" from it; the console hears of it.
        async with server_store(conference) as store:
            oma = (await store.invited_from_map(cid, "oma")).id  # type: ignore[union-attr]
        made = await coordinator.post(f"/conferences/{cid}/participants/{oma}/link")
        url = html.unescape(LINK.search(made.text)[2])  # type: ignore[index]
        async with (
            EventStream(conference, conference.coordinator_cookie()) as console,
            as_(conference, await open_link(conference, url)) as truus,
        ):
            own = await truus.get(f"/c/{cid}")
            assert "Kom je naar de conferentie?" in own.text
            answered = await truus.post(f"/c/{cid}/invitation", data={"status": "coming"})
            assert answered.status_code == 303
            await console.wait_for(lambda: ("changed", "changed") in console.events)
            assert "Je antwoord: <strong>komt</strong>" in (await truus.get(f"/c/{cid}")).text

        live = (await coordinator.get(f"/conferences/{cid}/console")).text
        counts = _section(live, 'id="live-invitations"')
        assert "1</strong> komt" in counts and "0</strong> komen niet" in counts
        row = _section(
            (await coordinator.get(f"/conferences/{cid}")).text, f'id="invitation-{oma}"'
        )
        assert 'status-coming">komt</span>' in row and "zelf geantwoord" in row
        log = html.unescape((await coordinator.get(f"/conferences/{cid}/audit")).text)
        assert "zette Oma Truus van de netwerkkaart op de lijst als netwerklid" in log
        assert "Oma Truus zei naar de conferentie te komen." in log
        noted = await coordinator.post(
            f"/conferences/{cid}/participants/{oma}/invitation",
            data={"status": "coming", "note": "Komt met de bus, ophalen om 13:30"},
        )
        assert noted.status_code == 200

    # The family sees who is invited and how they answered, never the coordinator's note.
    async with as_(conference, conference.cookie("client")) as client:
        invited = _section((await client.get(f"/c/{cid}")).text, 'id="who-is-invited"')
        assert "Oma Truus" in invited and "komt" in invited
        assert "ophalen om 13:30" not in invited

    # Once the meeting begins, the map is the family's again and answers are closed.
    assert (await move(conference, "information")).status_code == 200
    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        page = await coordinator.get(f"/conferences/{cid}")
        assert 'id="from-map"' not in page.text
        late = await coordinator.post(invite % "els")
        assert late.status_code == 409
    async with as_(conference, conference.cookie("client")) as client:
        refused = await client.post(f"/c/{cid}/invitation", data={"status": "not_coming"})
        assert refused.status_code == 409
        assert "Je antwoord kan tot de conferentie begint" in html.unescape(refused.text)


async def test_the_family_proposes_and_the_coordinator_invites_one_and_not_now_another(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "preparation")
    cid = conference.id
    async with (
        as_(conference, conference.cookie("client")) as client,
        as_(conference, conference.cookie("network_member")) as ayse,
    ):
        proposed = await client.post(
            f"/c/{cid}/proposals",
            data={"name": "Oom Kees", "relation": "oom", "why": "Hij kookt elke week"},
        )
        assert proposed.status_code == 303
        assert proposed.headers["location"].endswith("#proposals")
        await ayse.post(
            f"/c/{cid}/proposals", data={"name": "Trainer Bas", "relation": "", "why": ""}
        )
        assert "de coördinator beslist nog" in (await client.get(f"/c/{cid}")).text

        async with as_(conference, conference.coordinator_cookie()) as coordinator:
            page = html.unescape((await coordinator.get(f"/conferences/{cid}")).text)
            waiting = page.split('id="proposals"', 1)[1]
            assert "Voorstellen van de familie (2)" in page
            assert "Oom Kees" in waiting and "Hij kookt elke week" in waiting
            async with server_store(conference) as store:
                kees, bas = (p.id for p, _who in await store.proposals(cid))
            invited = await coordinator.post(
                f"/conferences/{cid}/proposals/{kees}/invite", data={"role": "network_member"}
            )
            assert invited.status_code == 200
            assert "Oom Kees staat nu op de lijst" in html.unescape(invited.text)
            twice = await coordinator.post(
                f"/conferences/{cid}/proposals/{kees}/invite", data={"role": "network_member"}
            )
            assert twice.status_code == 409
            assert "Over dit voorstel is al beslist." in html.unescape(twice.text)
            declined = await coordinator.post(
                f"/conferences/{cid}/proposals/{bas}/decline",
                data={"reason": "Eerst met Sam bespreken"},
            )
            assert declined.status_code == 200

        async with server_store(conference) as store:
            names = [r.participant.name for r in await store.participants(cid)]
        assert names.count("Oom Kees") == 1 and "Trainer Bas" not in names
        own = _words((await client.get(f"/c/{cid}")).text)
        assert "Oom Kees</strong>: de coördinator heeft deze persoon op de lijst gezet" in own
        mine = _words((await ayse.get(f"/c/{cid}")).text)
        assert "nodigt hem of haar nu niet uit" in mine
        assert "Reden: Eerst met Sam bespreken" in mine
        assert "Oom Kees" in _section(mine, 'id="who-is-invited"')
