"""The coordinator's console in a real Chromium follows the room: the family's "plan ready"
and its undo show without a reload, and so does a "plan ready" the console missed while its
event stream was cut (the server restarted; for the page, as when the venue's Wi-Fi drops)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from server.storage.store import Store
from tests.support.browser import TIMEOUT_MS
from tests.support.databases import in_store
from tests.support.people import DemoConference
from tests.support.server import LiveServer, make_instance, start_again, start_server, stop_server

pytestmark = pytest.mark.browser

PRESENTATION = "Naar presentatie van het plan"
OVERRIDE = "Privétijd beëindigen met deze reden"


def test_the_console_follows_plan_ready_its_undo_and_what_it_missed_while_cut_off(
    tmp_path: Path, browser: object
) -> None:
    live_server = start_server(make_instance(tmp_path))  # its own: it is restarted below
    try:
        _follow(live_server, browser)
    finally:
        stop_server(live_server)


def _follow(live_server: LiveServer, browser: Any) -> None:
    from playwright.sync_api import expect

    demo = DemoConference(live_server, live_server.instance.demo("--phase", "private_time"))
    laptop = browser.new_context(viewport={"width": 1280, "height": 800}, locale="nl-NL")
    laptop.set_default_timeout(TIMEOUT_MS)
    page = laptop.new_page()
    page.goto(f"{live_server.url}/login")
    page.get_by_label("E-mailadres").fill(demo.data["coordinator"]["email"])
    page.get_by_label("Wachtwoord").fill(demo.data["coordinator"]["password"])
    page.get_by_role("button", name="Inloggen").click()
    page.goto(f"{live_server.url}/conferences/{demo.id}/console")
    page.wait_for_selector("[data-live-page][data-stream=open]")
    # The coordinator starts typing why they might end private time anyway.
    page.get_by_label("Toch beëindigen? Reden (de familie ziet deze)").fill("Het is al laat")
    page.evaluate("window.kringTestMarker = 'no reload'")

    with httpx.Client(
        base_url=live_server.url,
        headers={"origin": live_server.url, "cookie": demo.cookie("client")},
        timeout=10,
    ) as family:

        def say(path: str, **form: str) -> None:
            assert family.post(f"/c/{demo.id}/{path}", data=form).status_code == 303

        say("signal", kind="plan_ready", confirmed="yes")
        expect(page.get_by_role("button", name=PRESENTATION)).to_be_visible()
        expect(page.get_by_role("button", name=OVERRIDE)).to_have_count(0)

        say("signal/undo")  # not ready after all: the override is all there is again
        expect(page.get_by_role("button", name=PRESENTATION)).to_have_count(0)
        expect(page.get_by_role("button", name=OVERRIDE)).to_be_visible()
        # what the coordinator typed before is still there
        expect(page.get_by_label("Toch beëindigen? Reden (de familie ziet deze)")).to_have_value(
            "Het is al laat"
        )

        say("signal", kind="plan_ready", confirmed="yes")
        expect(page.get_by_role("button", name=PRESENTATION)).to_be_visible()
        say("signal/undo")
    expect(page.get_by_role("button", name=PRESENTATION)).to_have_count(0)

    # The console's stream is cut (the server stops); meanwhile the family's "plan ready" is
    # stored, an event the console never receives. When the stream is back, it shows.
    stop_server(live_server)
    page.wait_for_selector("[data-live-page][data-stream=lost]", state="attached")

    async def ready(store: Store) -> None:
        rows = await store.participants(demo.id)
        client = next(r.participant.id for r in rows if r.participant.role == "client")
        await store.add_signal(demo.id, client, "plan_ready")

    in_store(live_server.instance.database_url, ready)
    live_server.process = start_again(live_server).process
    page.wait_for_selector("[data-live-page][data-stream=open]", state="attached")
    expect(page.get_by_role("button", name=PRESENTATION)).to_be_visible()
    assert page.evaluate("window.kringTestMarker") == "no reload"
    laptop.close()
