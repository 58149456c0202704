"""Bad requests in the meeting's flow on a real `kring serve`: each phase change, signal or
form that is wrong in shape, in place or in phase gets a clear error, and changes nothing of
what was there."""

from __future__ import annotations

import html

import pytest

from tests.support.meeting import first_condition_id, move, phase_of
from tests.support.people import DemoConference, as_, demo_conference
from tests.support.server import LiveServer

pytestmark = pytest.mark.usefixtures("devices_closed")

JSON = {"content-type": "application/json"}


async def test_each_bad_phase_request_gets_a_clear_error_and_changes_nothing(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    url = f"/api/conferences/{conference.id}/phase"
    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        cases = [
            (coordinator.post(url, content="phase=private_time"), 415, "not_json"),
            (
                coordinator.post(url, content="{", headers=JSON),
                400,
                "bad_json",
            ),
            (coordinator.post(url, json=["private_time"]), 400, "bad_json"),
            (coordinator.post(url, json={"phase": 3}), 400, "bad_field"),
            (coordinator.post(url, json={"phase": "holiday"}), 400, "unknown_phase"),
            (coordinator.post(url, json={"phase": "closed"}), 409, "illegal_transition"),
            (coordinator.post(url, json={"phase": "information"}), 409, "illegal_transition"),
            (coordinator.post(url, json={"phase": "x" * 20_000}), 413, "too_large"),
            (
                coordinator.post(url, content="[" * 5000, headers=JSON),
                400,
                "bad_json",
            ),
            (
                coordinator.post(url, json={"phase": "private_time", "reason": "te laat\x00"}),
                400,
                "bad_text",
            ),
        ]
        for request, status, code in cases:
            response = await request
            assert (response.status_code, response.json()["error"]) == (status, code)
            assert response.json()["reason"]
    async with as_(conference, conference.cookie("client")) as client:
        response = await client.post(url, json={"phase": "private_time"})
        assert response.status_code == 403
        assert "coördinator" in response.json()["reason"]
    async with as_(conference, "") as stranger:
        response = await stranger.post(url, json={"phase": "private_time"})
        assert (response.status_code, response.json()["error"]) == (401, "not_signed_in")
    assert await phase_of(conference) == "information"


async def test_each_bad_signal_gets_a_clear_error(live_server: LiveServer) -> None:
    conference = await demo_conference(live_server, "information")
    url = f"/api/conferences/{conference.id}/signals"
    async with as_(conference, conference.cookie("client")) as client:
        wrong_phase = await client.post(url, json={"kind": "plan_ready"})
        assert (wrong_phase.status_code, wrong_phase.json()["error"]) == (409, "wrong_phase")
        bad = await client.post(url, json={"kind": "party"})
        assert (bad.status_code, bad.json()["error"]) == (400, "bad_signal")
    assert (await move(conference, "private_time")).status_code == 200
    async with as_(conference, conference.cookie("professional")) as professional:
        response = await professional.post(url, json={"kind": "question"})
        assert response.status_code == 403
    # The professional's attempt did not count as the family's "plan ready".
    assert (await move(conference, "presentation")).status_code == 409


async def test_each_bad_form_gets_a_clear_error_and_keeps_what_was_there(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    cid = conference.id
    async with (
        as_(conference, conference.cookie("mandated_professional")) as sanne,
        as_(conference, conference.coordinator_cookie()) as coordinator,
    ):
        empty = await sanne.post(f"/c/{cid}/conditions", data={"text": "  "})
        assert empty.status_code == 400 and "Schrijf de voorwaarde op." in empty.text
        control = await sanne.post(f"/c/{cid}/conditions", data={"text": "ok\x00"})
        assert control.status_code == 400 and "U+0000" in control.text and "text" in control.text
        long = await sanne.post(f"/c/{cid}/conditions", data={"text": "x" * 2001})
        assert long.status_code == 400 and "langer dan 2000 tekens" in long.text
        assert (
            await sanne.post(f"/c/{cid}/conditions", data={"text": "Sam slaapt thuis."})
        ).status_code == 303
        for huge in (2**31, 2**70):
            response = await sanne.post(f"/c/{cid}/conditions/{huge}/delete")
            assert response.status_code == 404
        assert (await move(conference, "private_time")).status_code == 200
        assert (await move(conference, "presentation", reason="De zaal sluit.")).status_code == 200
        condition_id = await first_condition_id(conference)
        no_status = await sanne.post(f"/c/{cid}/conditions/{condition_id}/check", data={})
        assert (
            no_status.status_code == 400
            and "Kies 'voldaan' of 'niet voldaan'." in html.unescape(no_status.text)
        )
        odd = await coordinator.post(f"/conferences/{cid}/action-team", data={"participant": "²"})
        assert odd.status_code == 303
        blank = await coordinator.post(f"/conferences/{cid}/questions", data={"text": ""})
        assert blank.status_code == 400 and "Schrijf de vraag op." in blank.text
    page = await sanne_page(conference)
    assert "Sam slaapt thuis." in page


async def sanne_page(conference: DemoConference) -> str:
    async with as_(conference, conference.cookie("mandated_professional")) as sanne:
        return (await sanne.get(f"/c/{conference.id}")).text
