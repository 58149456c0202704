"""The presentation view in a real Chromium: the plan on the room's big screen, numbered, live
while the family edits it on their own device, and blank the moment the meeting goes back to
private time."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from pycrdt import Array

from server.rooms.client import YClient
from server.rules.plan import add_agreement
from tests.support.browser import TABLET, TIMEOUT_MS, serious_accessibility_problems
from tests.support.people import DemoConference
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser

T = TypeVar("T")


class Elsewhere:
    """Another device, off the test's thread: an event loop of its own for a live document
    (Playwright's sync API keeps the test thread's loop busy)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(TIMEOUT_MS / 1000)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def elsewhere() -> Iterator[Elsewhere]:
    device = Elsewhere()
    yield device
    device.stop()


def test_the_presentation_view_follows_live_edits_and_goes_blank_in_private_time(
    live_server: LiveServer, browser: Any, elsewhere: Elsewhere
) -> None:
    from playwright.sync_api import expect

    conference = DemoConference(live_server, live_server.instance.demo("--phase", "private_time"))
    cid = conference.id
    family_cookie = conference.cookie("client")
    coordinator_cookie = conference.coordinator_cookie()

    async def write_plan() -> YClient:
        family = conference.device("plan", family_cookie, saved=True)
        await family.connect()
        await family.synced()
        add_agreement(family.doc, "housing", what="Oma kookt op zondag", who="Ayşe")
        add_agreement(family.doc, "safety", what="Bellen als het thuis misgaat", who="Jan")
        await family.wait_for(family.all_saved)
        return family

    family = elsewhere.run(write_plan())
    with httpx.Client(base_url=live_server.url, headers={"origin": live_server.url}) as http:
        signal = {"kind": "plan_ready"}
        ready = http.post(
            f"/api/conferences/{cid}/signals", json=signal, headers={"cookie": family_cookie}
        )
        assert ready.status_code == 201
        as_coordinator = {"cookie": coordinator_cookie}
        moved = http.post(
            f"/api/conferences/{cid}/phase", json={"phase": "presentation"}, headers=as_coordinator
        )
        assert moved.status_code == 200

        # The coordinator puts the plan on the big screen.
        context = browser.new_context(**{**TABLET, "viewport": {"width": 1920, "height": 1080}})
        context.set_default_timeout(TIMEOUT_MS)
        name, value = coordinator_cookie.split("=", 1)
        context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
        screen = context.new_page()
        screen.goto(f"{live_server.url}/c/{cid}/present")
        # Numbered in the copy's order: by life area (safety before housing).
        first, second = screen.locator('[data-number="1"]'), screen.locator('[data-number="2"]')
        expect(first).to_contain_text("1. Bellen als het thuis misgaat")
        expect(second).to_contain_text("2. Oma kookt op zondag")
        expect(second).to_contain_text("Ayşe")
        assert serious_accessibility_problems(screen) == []

        # The family changes its plan on its own device: the screen follows.
        async def edit_plan() -> None:
            agreements = family.doc.get("agreements", type=Array)
            what = next(a for a in agreements if a["life_area"] == "housing")["what"]
            what.insert(len(what), " en maandag")
            await family.wait_for(family.all_saved)

        elsewhere.run(edit_plan())
        expect(second).to_contain_text("2. Oma kookt op zondag en maandag")

        # Back to private time: nothing of the plan stays on the screen. The page also reloads
        # on the phase event; that is switched off here, so what clears the screen is the
        # server closing the plan's connection.
        screen.evaluate(
            """document.querySelectorAll("[data-reload-on-message]")
                .forEach((el) => el.removeAttribute("data-reload-on-message"))"""
        )
        back = http.post(
            f"/api/conferences/{cid}/phase", json={"phase": "private_time"}, headers=as_coordinator
        )
        assert back.status_code == 200
        expect(screen.locator("[data-sync-status]")).to_have_text(
            "Tijdens de privétijd is het plan niet voor jou open."
        )
        expect(screen.locator("[data-presentation-plan]")).to_be_empty()
        expect(screen.locator("body")).not_to_contain_text("Oma kookt")
        # Opened again, it shows no plan at all.
        response = screen.reload()
        assert response is not None and response.status == 403
        expect(screen.get_by_role("heading", level=1)).to_have_text("De familie maakt nu het plan")
        expect(screen.locator("body")).not_to_contain_text("Bellen als")
    elsewhere.run(family.close())
    context.close()
