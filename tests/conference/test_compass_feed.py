"""The compass feeds the meeting, on a real `kring serve`: the questions the client marks for
the conference are proposed on the conference form in preparation and copied, once, when the
meeting begins, for everyone to read; a question not marked is never shown to anyone else;
the plan editor gets the life areas with the client's priorities first, and only that."""

from __future__ import annotations

import html
import json
import re

import pytest
from pycrdt import Map

from server.rules.compass import add_question
from server.rules.plan import LIFE_AREAS
from tests.support.live import connected
from tests.support.meeting import move
from tests.support.people import as_, demo_conference, server_store
from tests.support.server import LiveServer

pytestmark = pytest.mark.usefixtures("devices_closed")

HOME = "Hoe kan ik thuis blijven wonen?"
POST = "Wie helpt me met de post?"
PRIVATE = "Waarom praat mijn broer niet meer met me?"


def _plan_config(page: str) -> dict[str, object]:
    found = re.search(
        r'<script type="application/json" id="plan-config">(.*?)</script>', page, re.S
    )
    assert found
    config: dict[str, object] = json.loads(html.unescape(found[1]))
    return config


async def test_the_questions_marked_in_the_compass_go_to_the_meeting_and_nothing_else(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "preparation")
    cid = conference.id
    client_cookie = conference.cookie("client")
    compass = conference.device("compass", client_cookie, saved=True)
    async with connected(compass):
        home = add_question(compass.doc, HOME, to_conference=True)
        add_question(compass.doc, PRIVATE)
        post = add_question(compass.doc, POST, to_conference=True)
        priorities = compass.doc.get("priorities", type=Map)
        priorities["health"] = True
        priorities["housing"] = True
        await compass.wait_for(compass.all_saved)
    post_id, home_id = str(post["id"]), str(home["id"])

    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        # In preparation the conference form proposes the marked questions, and only those.
        form = html.unescape((await coordinator.get(f"/conferences/{cid}/edit")).text)
        assert "Voorstel uit het kompas" in form
        assert form.index(HOME) < form.index(POST) and PRIVATE not in form
        # Taking one over puts it in the question field; nothing is stored until saved.
        taken = await coordinator.post(f"/conferences/{cid}/edit", data={"take_question": post_id})
        assert taken.status_code == 200
        field = re.search(r'<textarea id="f-question"[^>]*>([^<]*)</textarea>', taken.text)
        assert field and html.unescape(field[1]) == POST
        async with server_store(conference) as store:
            assert (await store.conference(cid)).question != POST  # type: ignore[union-attr]
        gone = await coordinator.post(f"/conferences/{cid}/edit", data={"take_question": "nope"})
        assert gone.status_code == 409 and "niets overgenomen" in gone.text
        # The checklist counts them.
        page = html.unescape((await coordinator.get(f"/conferences/{cid}")).text)
        assert "De cliënt heeft 2 vragen voor de conferentie gekozen in het kompas." in page

        # The meeting begins: the marked questions are copied, before the move answers.
        assert (await move(conference, "information")).status_code == 200
        async with server_store(conference) as store:
            copied = [q.text for q in await store.conference_questions(cid)]
        assert copied == [HOME, POST]
        console = html.unescape((await coordinator.get(f"/conferences/{cid}/console")).text)
        assert HOME in console and POST in console and PRIVATE not in console
        # The coordinator reads no compass any more: nothing is proposed now.
        form = html.unescape((await coordinator.get(f"/conferences/{cid}/edit")).text)
        assert "Voorstel uit het kompas" not in form and PRIVATE not in form
        refused = await coordinator.post(
            f"/conferences/{cid}/edit", data={"take_question": home_id}
        )
        assert refused.status_code == 409
        log = html.unescape((await coordinator.get(f"/conferences/{cid}/audit")).text)
        assert "nam 2 vragen uit het kompas mee naar de bijeenkomst" in log

    # Everyone reads them in the information phase; the question not marked, nobody.
    for role in ("professional", "network_member"):
        async with as_(conference, conference.cookie(role)) as person:
            mine = html.unescape((await person.get(f"/c/{cid}")).text)
            assert mine.index(HOME) < mine.index(POST), role
            assert PRIVATE not in mine, role
    # The family writes its plan in private time: the choice of life areas puts the client's
    # priorities first, and the drawer holds the questions.
    assert (await move(conference, "private_time", reason="Tijd is op.")).status_code == 200
    async with as_(conference, client_cookie) as client:
        plan = await client.get(f"/c/{cid}/plan")
        assert plan.status_code == 200
        shown = html.unescape(plan.text)
        drawer = shown.split('id="plan-drawer"', 1)[1]
        assert HOME in drawer and POST in drawer and PRIVATE not in shown
        # Only the order of the life areas leaves the compass: the priorities first.
        config = _plan_config(plan.text)
        assert config["area_order"][:2] == ["housing", "health"]  # type: ignore[index]
        assert len(config["area_order"]) == 10  # type: ignore[arg-type]
        assert PRIVATE not in plan.text and "priorities" not in json.dumps(config)

    # Back and forth through the meeting copies nothing again.
    for target in ("presentation", "private_time", "presentation"):
        moved = await move(conference, target, reason="Tijd is op.")
        assert moved.status_code == 200, moved.text
    async with server_store(conference) as store:
        assert [q.text for q in await store.conference_questions(cid)] == [HOME, POST]
    # Whoever only reads the plan (the coordinator at the presentation) chooses no life area:
    # the usual order, nothing of the priorities.
    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        reading = await coordinator.get(f"/c/{cid}/plan")
        assert _plan_config(reading.text)["area_order"] == list(LIFE_AREAS)
        assert HOME in html.unescape(reading.text.split('id="plan-drawer"', 1)[1])
