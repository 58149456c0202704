"""Hostile input on a real `kring serve`: text no field can hold is refused with 400 naming
the field (never a 500, nothing stored), a plan is not frozen while a mandated professional
judges a condition not met, and guessed passwords lock the guessing address or, from many
addresses, the email. (Half-sent requests: tests/test_httpserver.py.)"""

from __future__ import annotations

import html
import json
from pathlib import Path

import httpx
import pytest

from tests.support.people import as_, demo_conference, server_store
from tests.support.server import LiveServer, make_instance, start_server, stop_server

pytestmark = pytest.mark.usefixtures("devices_closed")


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
        ready = {"kind": "plan_ready", "confirmed": "yes"}
        assert (await sam.post(f"/c/{cid}/signal", data=ready)).status_code == 303
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


# -- the login limit ----------------------------------------------------------------------------


def _login(server: LiveServer, email: str, password: str, address: str) -> int:
    """A login from ``address``, as the trusted proxy in front (loopback) forwards it."""
    response = httpx.post(
        f"{server.url}/login",
        data={"email": email, "password": password},
        headers={"origin": server.url, "x-forwarded-for": address},
        timeout=10,
    )
    return response.status_code


async def test_guesses_from_one_address_lock_that_address_not_the_owner(
    live_server: LiveServer,
) -> None:
    coordinator = (await demo_conference(live_server)).data["coordinator"]
    email, password = coordinator["email"], coordinator["password"]
    attacker, owner = "203.0.113.7", "198.51.100.9"
    guesses = [_login(live_server, email, f"guess {n}", attacker) for n in range(6)]
    assert guesses == [401] * 5 + [429]
    # From there the right password is refused too: the lock must not confirm a guess.
    assert _login(live_server, email, password, attacker) == 429
    # The owner, elsewhere, logs in.
    assert _login(live_server, email, password, owner) == 303
    assert _login(live_server, email, password, attacker) == 429


def test_guesses_from_many_addresses_lock_the_email_at_its_own_limit(tmp_path: Path) -> None:
    server = start_server(make_instance(tmp_path, KRING_LOGIN_MAX_FAILURES_PER_EMAIL="8"))
    try:
        email = "nobody@example.org"  # unknown or not: the same answers
        spread = [_login(server, email, "guess", f"203.0.113.{n // 4}") for n in range(8)]
        assert spread == [401] * 8
        assert _login(server, email, "guess", "203.0.113.99") == 429
        assert _login(server, "other@example.org", "guess", "203.0.113.99") == 401
    finally:
        stop_server(server)
