"""Hostile input on a real `kring serve`: text no field can hold is refused with 400 naming
the field (never a 500, nothing stored), and a plan is not frozen while a mandated
professional judges a condition not met."""

from __future__ import annotations

import contextlib
import html
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from server.store import Store
from tests.conftest import DemoConference, LiveServer, demo_conference

pytestmark = pytest.mark.usefixtures("devices_closed")


@contextlib.asynccontextmanager
async def as_(conference: DemoConference, cookie: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=conference.server.url,
        headers={"origin": conference.server.url, "cookie": cookie},
        timeout=10,
    ) as client:
        yield client


@contextlib.asynccontextmanager
async def server_store(server: LiveServer) -> AsyncIterator[Store]:
    store = Store.connect(server.instance.database_url)
    try:
        yield store
    finally:
        await store.close()


# A lone surrogate cannot travel in a form (UTF-8 has none); JSON's \ud800 escape carries it.
LONE_SURROGATE_JSON = b'{"phase": "presentation", "reason": "sorry \\ud800 hoor"}'


async def test_a_lone_surrogate_or_control_character_in_the_phase_reason_is_a_400(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "private_time")
    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        url = f"/api/conferences/{conference.id}/phase"
        headers = {"content-type": "application/json"}
        assert json.loads(LONE_SURROGATE_JSON)["reason"] == "sorry \ud800 hoor"
        for body in (
            LONE_SURROGATE_JSON,
            b'{"phase": "presentation", "reason": "nul \\u0000 erin"}',
            b'{"phase": "presentation\\n", "reason": "genoeg"}',  # a line break in one line
            b'{"phase": "presentation", "reason": "ok", "\\ud800": 1}',  # even in a key
        ):
            response = await coordinator.post(url, content=body, headers=headers)
            assert response.status_code == 400, response.text
            refusal = response.json()
            assert refusal["error"] == "bad_text"
            assert refusal["field"] in ("reason", "phase", "\\ud800")
            assert refusal["field"] in refusal["reason"]
        # Several lines in the reason are fine: it is a text, not a header.
        fine = await coordinator.post(
            url, json={"phase": "presentation", "reason": "Tijd is op.\nSorry."}
        )
        assert fine.status_code == 200, fine.text
    async with server_store(live_server) as store:
        signals = await store.signals(conference.id)
        assert [s.text for s, _n in signals if s.kind == "override"] == ["Tijd is op.\nSorry."]


async def test_forms_refuse_bad_names_questions_and_logins_and_store_nothing(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    async with server_store(live_server) as store:
        before = {r.participant.name for r in await store.participants(conference.id)}
        question = (await store.conference(conference.id)).question  # type: ignore[union-attr]
    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        # A name with a line break would end up in a mail header.
        added = await coordinator.post(
            f"/conferences/{conference.id}/participants",
            data={"name": "Bcc: iedereen\r\nX", "role": "network_member", "email": ""},
        )
        assert added.status_code == 400
        assert "name" in added.text and "regeleinde" in added.text
        nul = await coordinator.post(
            f"/conferences/{conference.id}/participants",
            data={"name": "Jan\x00", "role": "network_member", "email": ""},
        )
        assert nul.status_code == 400 and "U+0000" in nul.text
        edited = await coordinator.post(
            f"/conferences/{conference.id}/edit",
            data={"client_name": "Sam", "question": "Hoe\x1b verder?", "location": ""},
        )
        assert edited.status_code == 400
        assert "question" in edited.text and "conferentievraag" in edited.text
        bad_next = await coordinator.get("/login?next=/conferences%0d%0aSet-Cookie:x")
        assert bad_next.status_code == 400 and "next" in bad_next.text
    async with httpx.AsyncClient(
        base_url=live_server.url, headers={"origin": live_server.url}, timeout=10
    ) as anonymous:
        login = await anonymous.post(
            "/login", data={"email": "a@example.org\x7f", "password": "whatever1234"}
        )
        assert login.status_code == 400 and "email" in login.text
    async with server_store(live_server) as store:
        after = {r.participant.name for r in await store.participants(conference.id)}
        assert after == before
        assert (await store.conference(conference.id)).question == question  # type: ignore[union-attr]


async def test_a_condition_judged_not_met_stops_version_1_and_goes_back_to_the_family(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    cid = conference.id
    condition_text = "Sam slaapt elke nacht thuis, ook in het weekend, " * 4
    async with (
        as_(conference, conference.coordinator_cookie()) as coordinator,
        as_(conference, conference.cookie("mandated_professional")) as sanne,
        as_(conference, conference.cookie("client")) as sam,
    ):
        added = await sanne.post(f"/c/{cid}/conditions", data={"text": condition_text})
        assert added.status_code == 303
        await conference.set_phase("presentation")
        async with server_store(live_server) as store:
            (condition, _p), *_ = await store.conditions(cid)
        judged = await sanne.post(
            f"/c/{cid}/conditions/{condition.id}/check",
            data={"status": "not_met", "remark": "In het plan staat niets over de weekenden."},
        )
        assert judged.status_code == 303
        assert (await sam.post(f"/c/{cid}/answer", data={"answer": "agree"})).status_code == 303

        refused = await coordinator.post(f"/conferences/{cid}/finalise")
        assert refused.status_code == 409
        message = html.unescape(refused.text.split('class="error-box" role="alert">')[1])
        message = message.split("</p>")[0]
        assert "niet voldaan aan “Sam slaapt elke nacht thuis" in message
        assert "…” (Sanne Smit)" in message  # shortened: it is long
        async with server_store(live_server) as store:
            assert await store.plan_version(cid) is None

        # Back to private time: the family reads which condition is not met, and why.
        back = await coordinator.post(f"/conferences/{cid}/phase", data={"phase": "private_time"})
        assert back.status_code == 303
        page = await sam.get(f"/c/{cid}")
        assert "Terug naar de privétijd" in page.text
        assert "Niet voldaan volgens Sanne Smit" in page.text
        assert "In het plan staat niets over de weekenden." in page.text

        # The family changes the plan, says it is ready; the professional judges again.
        assert (await sam.post(f"/c/{cid}/signal", data={"kind": "plan_ready"})).status_code == 303
        moved = await coordinator.post(f"/conferences/{cid}/phase", data={"phase": "presentation"})
        assert moved.status_code == 303
        assert "Niet voldaan volgens" not in (await sam.get(f"/c/{cid}")).text
        judged = await sanne.post(
            f"/c/{cid}/conditions/{condition.id}/check",
            data={"status": "met", "remark": "Oma is er in het weekend."},
        )
        assert judged.status_code == 303
        assert (await sam.post(f"/c/{cid}/answer", data={"answer": "agree"})).status_code == 303
        frozen = await coordinator.post(f"/conferences/{cid}/finalise")
        assert frozen.status_code == 303, frozen.text
        async with server_store(live_server) as store:
            version = await store.plan_version(cid)
            assert version is not None and version.number == 1
