"""In a real Chromium: a coordinator sets up a conference, a family member opens their link."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from tests.support.browser import TIMEOUT_MS, expect_text
from tests.support.people import DemoConference
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
INFORMATION = "#live-information .cm-content"  # the information phase's shared text


def test_a_coordinator_creates_a_conference_and_a_participant_opens_their_link(
    live_server: LiveServer, browser: object
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    live_server.instance.cli(
        "coordinator",
        "add",
        "sophie@example.org",
        "--name",
        "Sophie de Wit",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    blocked: list[str] = []

    coordinator = browser.new_context(viewport={"width": 1280, "height": 800})
    coordinator.set_default_timeout(TIMEOUT_MS)
    page = coordinator.new_page()
    page.on(
        "request",
        lambda r: None if r.url.startswith((live_server.url, "data:")) else blocked.append(r.url),
    )
    page.goto(f"{live_server.url}/login")
    page.get_by_label("E-mailadres").fill("sophie@example.org")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("heading", name="Conferenties")).to_be_visible()

    page.get_by_role("link", name="Nieuwe conferentie", exact=True).click()
    page.get_by_label("Naam van de cliënt").fill("Noor Aydın")
    page.get_by_label("Conferentievraag").fill("Hoe kan Noor weer naar school?")
    page.get_by_role("button", name="Conferentie maken").click()
    expect(page.get_by_role("heading", name="Noor Aydın")).to_be_visible()

    page.evaluate("window.kringTestMarker = 'still here'")
    page.get_by_role("button", name="Toevoegen en link maken").click()
    expect(page.get_by_text("Vul een naam in.")).to_be_visible()
    page.get_by_label("Naam", exact=True).fill("Zeynep Aydın")
    page.get_by_label("Rol").select_option("network_member")
    page.get_by_role("button", name="Toevoegen en link maken").click()
    expect(page.get_by_text("Zeynep Aydın is toegevoegd.")).to_be_visible()
    expect(page.locator(".invite .qr svg")).to_be_visible()
    link = page.locator(".invite code").inner_text()
    assert link.startswith(f"{live_server.url}/i/")
    assert page.evaluate("window.kringTestMarker") == "still here", (
        "htmx swapped the participants in place, without reloading the page"
    )

    tablet = browser.new_context(viewport={"width": 800, "height": 1280}, has_touch=True)
    tablet.set_default_timeout(TIMEOUT_MS)
    family = tablet.new_page()
    family.goto(link)
    family.get_by_role("button", name="Ja, dat ben ik: verder").click()
    expect(family.get_by_role("heading", name="Zeynep Aydın")).to_be_visible()
    expect(family.get_by_text("Hoe kan Noor weer naar school?")).to_be_visible()
    expect(family.get_by_text("Voorbereiding", exact=True)).to_be_visible()
    expect(family.get_by_role("heading", name="Voordat je begint")).to_be_visible()
    family.get_by_role("button", name="Begrepen").click()
    expect(family.get_by_role("heading", name="Voordat je begint")).to_have_count(0)

    page.reload()
    expect(page.locator("#participants")).to_contain_text("geopend")
    assert blocked == [], f"pages loaded something from another host: {blocked}"
    coordinator.close()
    tablet.close()


def test_demo_links_open_each_persons_page_in_chromium(
    live_server: LiveServer, browser: object
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    demo = live_server.instance.demo()
    by_role = {person["role"]: person for person in demo["participants"]}
    for person in by_role.values():  # one of each role, each on its own device
        device = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
        device.set_default_timeout(TIMEOUT_MS)
        page = device.new_page()
        page.goto(person["invitation_url"])
        page.get_by_role("button", name="Ja, dat ben ik: verder").click()
        expect(page.get_by_role("heading", name=person["name"], exact=True)).to_be_visible()
        expect(page.get_by_text("Informatiefase", exact=True)).to_be_visible()
        device.close()


def test_the_console_alerts_the_coordinator_when_the_family_calls(
    live_server: LiveServer, browser: object
) -> None:
    """Private time in Chromium: the console shows who is present and the family's signal,
    as an alert, without a reload; the coordinator then moves on to the presentation."""
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    demo = DemoConference(live_server, live_server.instance.demo("--phase", "private_time"))
    laptop = browser.new_context(viewport={"width": 1280, "height": 800})
    laptop.set_default_timeout(TIMEOUT_MS)
    page = laptop.new_page()
    page.goto(f"{live_server.url}/login")
    page.get_by_label("E-mailadres").fill(demo.data["coordinator"]["email"])
    page.get_by_label("Wachtwoord").fill(demo.data["coordinator"]["password"])
    page.get_by_role("button", name="Inloggen").click()
    page.goto(f"{live_server.url}/conferences/{demo.id}/console")
    expect(page.locator("#present-count")).to_have_text("0")
    expect(page.get_by_role("button", name="Privétijd beëindigen met deze reden")).to_be_visible()
    expect(page.get_by_text("Het plan (alleen lezen)")).to_have_count(0)

    page.evaluate("window.kringTestMarker = 'no reload'")
    with httpx.Client(
        base_url=live_server.url,
        headers={"origin": live_server.url, "cookie": demo.cookie("client")},
        timeout=10,
    ) as family:
        response = family.post(f"/api/conferences/{demo.id}/signals", json={"kind": "plan_ready"})
        assert response.status_code == 201
    expect(page.get_by_role("alert")).to_contain_text("Ons plan is klaar")
    # With "plan ready" given, the console offers the presentation, without a reload.
    expect(page.get_by_role("button", name="Naar presentatie van het plan")).to_be_visible()
    expect(page.get_by_role("button", name="Privétijd beëindigen met deze reden")).to_have_count(0)
    assert page.evaluate("window.kringTestMarker") == "no reload"
    page.get_by_role("button", name="Naar presentatie van het plan").click()
    expect(page.locator(".phase-badge")).to_have_text("Presentatie van het plan")
    expect(page.get_by_role("heading", name="Verhelderende vragen")).to_be_visible()
    laptop.close()


def test_information_is_shared_live_and_private_time_closes_it_for_professionals(
    live_server: LiveServer, browser: object
) -> None:
    """A professional types in the information document, the family sees it at once; when
    private time starts the professional's page says why it closed and stops reconnecting."""
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    demo = DemoConference(live_server, live_server.instance.demo())
    pages = {}
    sockets: dict[str, list[str]] = {"professional": [], "client": []}
    for role in ("professional", "client"):
        device = browser.new_context(viewport={"width": 800, "height": 1100}, has_touch=True)
        device.set_default_timeout(TIMEOUT_MS)
        page = device.new_page()
        page.on("websocket", lambda ws, role=role: sockets[role].append(ws.url))
        page.goto(demo.person(role)["invitation_url"])
        page.get_by_role("button", name="Ja, dat ben ik: verder").click()
        expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "saved")
        pages[role] = page
    iris, sam = pages["professional"], pages["client"]
    iris.locator(INFORMATION).click()
    iris.keyboard.type("De school meldt verzuim sinds maart.")
    expect_text(sam.locator(INFORMATION), "De school meldt verzuim sinds maart.")
    sam.locator(INFORMATION).click()
    sam.keyboard.press("Control+End")
    sam.keyboard.type(" Sam wil wel.")
    expect_text(iris.locator(INFORMATION), "De school meldt verzuim sinds maart. Sam wil wel.")

    with httpx.Client(
        base_url=live_server.url,
        headers={"origin": live_server.url, "cookie": demo.coordinator_cookie()},
        timeout=10,
    ) as coordinator:
        moved = coordinator.post(
            f"/api/conferences/{demo.id}/phase", json={"phase": "private_time"}
        )
        assert moved.status_code == 200
    # The professional's page follows the phase: the information is gone, and it says why.
    expect(iris.get_by_role("heading", name="De familie maakt nu het plan")).to_be_visible()
    expect(iris.locator("#live-information")).to_have_count(0)
    expect(sam.get_by_role("heading", name="De coördinator roepen")).to_be_visible()
    expect_text(sam.locator(INFORMATION), "De school meldt verzuim sinds maart. Sam wil wel.")
    expect(sam.locator(INFORMATION)).to_have_attribute("contenteditable", "false")
    assert len(sockets["professional"]) == 1, sockets["professional"]

    # Someone taken off the list: the server closes the connection (4001) with a reason; the
    # page shows it and does not knock again.
    sam_id = next(
        p["participant_id"] for p in _participants(live_server, demo) if p["role"] == "client"
    )
    with httpx.Client(
        base_url=live_server.url,
        headers={"origin": live_server.url, "cookie": demo.coordinator_cookie()},
        timeout=10,
    ) as coordinator:
        removed = coordinator.post(f"/conferences/{demo.id}/participants/{sam_id}/remove")
        assert removed.status_code == 200
    expect(sam.locator("[data-live-status]")).to_have_text("Je staat niet meer op de lijst.")
    expect(sam.locator(INFORMATION)).to_have_attribute("contenteditable", "false")
    sockets_before = len(sockets["client"])
    # y-websocket would retry within 200 ms; a second's wait shows it does not.
    sam.wait_for_timeout(1000)
    assert len(sockets["client"]) == sockets_before
    for page in pages.values():
        page.context.close()


def _participants(server: LiveServer, demo: DemoConference) -> list[dict[str, object]]:
    with sqlite3.connect(server.instance.folder / "kring.db") as db:
        rows = db.execute(
            "SELECT id, role FROM participant WHERE conference_id = ?", (demo.id,)
        ).fetchall()
    return [{"participant_id": row[0], "role": row[1]} for row in rows]
