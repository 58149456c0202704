"""What a device keeps of the compass for offline use, in a real Chromium against a real
`kring serve`: once the server takes the compass away from a person, their device keeps
nothing of it either, so it does not open there without a connection after all."""

from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from server.rules.compass import write_text
from tests.support.browser import PHONE, TABLET, TIMEOUT_MS, wait_until
from tests.support.databases import in_store
from tests.support.people import DemoConference
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser

COMPASS_COPIES = """async () => (await indexedDB.databases())
  .map((d) => d.name).filter((n) => n.includes(":compass:"))"""


def _client_writes(conference: DemoConference, word: str) -> None:
    """The client types ``word`` into the compass from their own phone (a live connection,
    on a thread of its own: Playwright's loop runs in this one)."""

    async def write() -> None:
        device = conference.device("compass", conference.cookie("client"), saved=True)
        await device.connect()
        try:
            await device.synced()
            write_text(device.doc, "answers", "if_nothing", f"Dan woont {word} alleen.")
            await device.wait_for(device.all_saved)
        finally:
            await device.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, write()).result(timeout=30)


def test_a_device_that_loses_the_compass_keeps_nothing_of_it_offline(
    live_server: LiveServer, browser: Any
) -> None:
    from playwright.sync_api import expect

    data = live_server.instance.demo("--phase", "preparation")
    conference = DemoConference(live_server, data)
    cid, word = conference.id, f"Zx{secrets.token_hex(4)}"
    supporter = next(p for p in data["participants"] if p["role"] == "network_member")
    _client_writes(conference, word)

    def opened(page: Any, path: str) -> None:
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("[data-sync-status]")).to_have_attribute("data-state", "saved")
        expect(page.locator("html")).to_have_attribute("data-offline-ready", "true")
        expect(page.locator("main")).to_contain_text(word)
        assert page.evaluate(COMPASS_COPIES)  # its copy in IndexedDB

    # The coordinator reads along in the preparation, on a laptop that keeps the page, and
    # goes on to the conference's page.
    laptop = browser.new_context(**TABLET).new_page()
    laptop.context.set_default_timeout(TIMEOUT_MS)
    laptop.goto(f"{live_server.url}/login")
    laptop.get_by_label("E-mailadres").fill(data["coordinator"]["email"])
    laptop.get_by_label("Wachtwoord").fill(data["coordinator"]["password"])
    laptop.get_by_role("button", name="Inloggen").click()
    laptop.wait_for_url("**/conferences")
    opened(laptop, f"/c/{cid}/compass")
    laptop.goto(f"{live_server.url}/conferences/{cid}")

    # A supporter the client chose has it open on their phone when the client takes them off:
    # the server closes it (4001) and the phone forgets it at once.
    rows = in_store(live_server.instance.database_url, lambda store: store.participants(cid))
    supporter_id = next(r.participant.id for r in rows if r.participant.name == supporter["name"])
    phone = browser.new_context(**PHONE).new_page()
    phone.context.set_default_timeout(TIMEOUT_MS)
    phone.goto(supporter["invitation_url"])
    phone.get_by_role("button", name="Ja, dat ben ik: verder").click()
    with httpx.Client(
        base_url=live_server.url,
        headers={"origin": live_server.url, "cookie": conference.cookie("client")},
        timeout=10,
    ) as client:  # the client, on their own page
        chosen = client.post(f"/c/{cid}/supporters", data={"supporter": str(supporter_id)})
        assert chosen.status_code == 303
        opened(phone, f"/c/{cid}/compass")
        assert client.post(f"/c/{cid}/supporters", data={}).status_code == 303
    expect(phone.locator("[data-sync-status]")).to_have_attribute("data-state", "closed")
    expect(phone.locator("html")).to_have_attribute("data-offline-forgotten", "compass")
    assert phone.evaluate(COMPASS_COPIES) == []

    # The preparation ends. The laptop's next visit is refused (403), and the laptop forgets
    # the page it kept and its copy of the compass.
    cookies = {c["name"]: c["value"] for c in laptop.context.cookies()}
    with httpx.Client(base_url=live_server.url, cookies=cookies, timeout=10) as coordinator:
        moved = coordinator.post(
            f"/api/conferences/{cid}/phase",
            json={"phase": "information"},
            headers={"origin": live_server.url},
        )
        assert moved.status_code == 200, moved.text
    refused = laptop.goto(f"{live_server.url}/c/{cid}/compass")
    assert refused is not None and refused.status == 403 and word not in laptop.content()
    wait_until(laptop, f"async () => (await ({COMPASS_COPIES})()).length === 0")

    # Without a connection, neither device opens the compass any more.
    for device in (laptop, phone):
        device.context.set_offline(True)
        device.goto(f"{live_server.url}/c/{cid}/compass")
        expect(device.get_by_role("heading", name="Geen verbinding")).to_be_visible()
        assert word not in device.content()
        device.context.close()


def test_a_supporter_taken_off_on_the_familys_tablet_forgets_only_their_own_copy(
    live_server: LiveServer, browser: Any
) -> None:
    from playwright.sync_api import expect

    data = live_server.instance.demo("--phase", "preparation")
    conference = DemoConference(live_server, data)
    cid = conference.id
    member = next(p for p in data["participants"] if p["role"] == "network_member")
    client_link = next(p for p in data["participants"] if p["role"] == "client")
    rows = in_store(live_server.instance.database_url, lambda store: store.participants(cid))
    ids = {r.participant.name: r.participant.id for r in rows}
    client_copy = f"kring:{cid}:compass:{ids[client_link['name']]}"
    member_copy = f"kring:{cid}:compass:{ids[member['name']]}"
    copies = f"({COMPASS_COPIES})()"

    def as_person(page: Any, url: str) -> None:  # "switch person" on the tablet
        page.goto(url)
        page.get_by_role("button", name="Ja, dat ben ik: verder").click()

    def kept(page: Any) -> None:
        page.goto(f"{live_server.url}/c/{cid}/compass")
        expect(page.locator("html")).to_have_attribute("data-offline-ready", "true")

    with httpx.Client(
        base_url=live_server.url,
        headers={"origin": live_server.url, "cookie": conference.cookie("client")},
        timeout=10,
    ) as client:
        chosen = client.post(f"/c/{cid}/supporters", data={"supporter": str(ids[member["name"]])})
        assert chosen.status_code == 303
        # One tablet for the family: the supporter writes the compass on it, then the client.
        tablet = browser.new_context(**TABLET).new_page()
        tablet.context.set_default_timeout(TIMEOUT_MS)
        as_person(tablet, member["invitation_url"])
        kept(tablet)
        as_person(tablet, client_link["invitation_url"])
        kept(tablet)
        assert sorted(tablet.evaluate(copies)) == sorted([client_copy, member_copy])
        assert client.post(f"/c/{cid}/supporters", data={}).status_code == 303

    # The supporter, taken off, picks up the tablet again: the compass is refused (403), and
    # the tablet forgets their copy, never the client's (which may hold edits not sent yet).
    as_person(tablet, member["invitation_url"])
    refused = tablet.goto(f"{live_server.url}/c/{cid}/compass")
    assert refused is not None and refused.status == 403
    wait_until(
        tablet,
        f"async ([member, client]) => {{ const n = await ({COMPASS_COPIES})();"
        " return !n.includes(member) || !n.includes(client); }",
        [member_copy, client_copy],
    )
    assert tablet.evaluate(copies) == [client_copy]
    tablet.context.close()
