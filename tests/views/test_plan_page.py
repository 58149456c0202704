"""The plan page over HTTP on a real `kring serve`: beside the editor, one tap away, the
information and the mandated professionals' conditions, read-only and only for whoever may
read them now (server/rules/phases.py)."""

from __future__ import annotations

import html

from tests.support.live import connected
from tests.support.meeting import move
from tests.support.people import as_, demo_conference
from tests.support.server import LiveServer

INFORMATION = "De school meldt verzuim sinds maart."
CONDITION = "Sam gaat elke schooldag naar school."


def drawer(page: str) -> str:
    """The drawer's HTML: what the family reads while writing."""
    assert 'id="plan-drawer"' in page
    return html.unescape(page.split('id="plan-drawer"', 1)[1].split("</aside>", 1)[0])


async def test_the_information_and_the_conditions_are_beside_the_plan_read_only(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    cid = conference.id
    iris = conference.device("information", conference.cookie("professional"), saved=True)
    async with connected(iris):
        iris.text().insert(0, INFORMATION)
        await iris.wait_for(iris.all_saved)
    async with as_(conference, conference.cookie("mandated_professional")) as sanne:
        added = await sanne.post(f"/c/{cid}/conditions", data={"text": CONDITION})
        assert added.status_code == 303
    assert (await move(conference, "private_time")).status_code == 200

    async with as_(conference, conference.cookie("client")) as sam:
        page = await sam.get(f"/c/{cid}/plan")
        assert page.status_code == 200
        shown = drawer(page.text)
        assert INFORMATION in shown
        assert CONDITION in shown and "gesteld door Sanne Smit" in shown
        assert "beoordeeld" not in shown, "nobody judges a condition before the presentation"
        for editable in ("<form", "<input", "<textarea", "<select", "contenteditable"):
            assert editable not in shown
        assert 'data-drawer-toggle data-keeps-working aria-expanded="false"' in page.text
        # The plan's fields as the device offers them: no switched-off spelling or capitals.
        assert 'spellcheck="false"' not in page.text and 'autocorrect="off"' not in page.text
    # In private time the coordinator and the professionals read neither.
    for cookie in (conference.coordinator_cookie(), conference.cookie("mandated_professional")):
        async with as_(conference, cookie) as outsider:
            refused = await outsider.get(f"/c/{cid}/plan")
            assert refused.status_code == 403
            assert INFORMATION not in refused.text and CONDITION not in refused.text

    async with as_(conference, conference.cookie("client")) as sam:
        await sam.post(f"/c/{cid}/signal", data={"kind": "plan_ready", "confirmed": "yes"})
    assert (await move(conference, "presentation")).status_code == 200
    async with as_(conference, conference.cookie("professional")) as iris_page:
        shown = drawer((await iris_page.get(f"/c/{cid}/plan")).text)
        assert INFORMATION in shown and CONDITION in shown
        assert "nog niet beoordeeld" in shown
