"""The preparation in Chromium, on the devices people hold: the client and a supporter on two
phones draw the network map and write the strengths inventory together (one of them offline
for a while); the coordinator, on a tablet, reads along, turns three people on the map into
participants and sends each an invitation; one answers "I'm coming" from the link they got;
the conference moves to the information phase and the coordinator's compass closes, for good."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.browser import PHONE, TABLET, TIMEOUT_MS, expect_text, let_page_in
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser

SMALL_PHONE = {**PHONE, "viewport": {"width": 360, "height": 780}, "is_mobile": True}
A_LINK = re.compile(r"https?://\S+/i/\S+")


def device(browser: Any, **kind: Any) -> Any:
    context = browser.new_context(**kind)
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def person_opens_link(browser: Any, link: str, **kind: Any) -> Any:
    """A new device that opens a personal link and says "that's me": the person's own page."""
    page = device(browser, **kind)
    page.goto(link)
    page.get_by_role("button", name="Ja, dat ben ik: verder").click()
    page.wait_for_url("**/c/*")
    let_page_in(page)
    return page


def on_map(page: Any, name: str) -> Any:
    return page.locator(".netmap-name", has_text=name)


def put_on_map(page: Any, name: str, kind: str) -> None:
    page.locator("#new-name").fill(name)
    page.locator("#new-kind").select_option(kind)
    page.get_by_role("button", name="Op de kaart zetten").click()


def saved(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.locator("[data-sync-status]")).to_have_attribute("data-state", "saved")


def test_from_the_compass_to_who_is_coming(live_server: LiveServer, browser: Any) -> None:
    from playwright.sync_api import expect

    demo = live_server.instance.demo("--phase", "preparation")
    cid, base = demo["conference_id"], live_server.url
    sam_person, ayse_person = demo["participants"][:2]

    # Sam, the client, chooses Ayşe as supporter on their own page.
    sam = person_opens_link(browser, sam_person["invitation_url"], **SMALL_PHONE)
    sam.get_by_label(ayse_person["name"]).check()
    sam.get_by_role("button", name="Steunpersonen opslaan").click()
    expect(sam.get_by_label(ayse_person["name"])).to_be_checked()
    ayse = person_opens_link(browser, ayse_person["invitation_url"], **SMALL_PHONE)

    # The coordinator reads the map along on a tablet.
    tablet = device(browser, **TABLET)
    tablet.goto(f"{base}/login")
    tablet.get_by_label("E-mailadres").fill(demo["coordinator"]["email"])
    tablet.get_by_label("Wachtwoord").fill(demo["coordinator"]["password"])
    tablet.get_by_role("button", name="Inloggen").click()
    coordinators_map = tablet.context.new_page()
    coordinators_map.goto(f"{base}/c/{cid}/compass/map")
    saved(coordinators_map)
    expect(coordinators_map.locator("#new-name")).to_have_count(0)  # reads, never writes

    # The map, drawn on two phones at once; Ayşe's phone loses the Wi-Fi for a while.
    for phone in (sam, ayse):
        phone.goto(f"{base}/c/{cid}/compass/map")
        saved(phone)
    put_on_map(sam, "Oom Kees", "family")
    expect(on_map(ayse, "Oom Kees")).to_have_count(1)
    ayse.context.set_offline(True)
    # Chromium's offline mode leaves an open websocket be: drop it, as the lost Wi-Fi would.
    ayse.evaluate("window.kringMap.live.provider.ws.close()")
    expect(ayse.locator("[data-sync-status]")).to_have_attribute("data-state", "offline")
    put_on_map(ayse, "Juf Anna", "school")
    put_on_map(ayse, "Trainer Bas", "friend")
    expect(ayse.locator("[data-sync-status]")).to_have_attribute("data-state", "offline-unsaved")
    put_on_map(sam, "Buurvrouw Fatma", "neighbour")
    ayse.context.set_offline(False)
    expect(ayse.locator("[data-sync-status]")).to_have_attribute(
        "data-state", "saved", timeout=20_000
    )
    everyone = ["Buurvrouw Fatma", "Juf Anna", "Oom Kees", "Trainer Bas"]
    for page in (sam, ayse, coordinators_map):
        expect(page.locator(".netmap-name")).to_have_text(everyone, timeout=20_000)

    # The strengths inventory, together: Ayşe types, Sam chooses it as a priority.
    for phone in (sam, ayse):
        phone.goto(f"{base}/c/{cid}/compass")
        phone.wait_for_selector("[data-compass][data-ready]")
    ayse.locator('[data-strength="relations"] .cm-content').click()
    ayse.keyboard.type("Ik heb een grote familie die me helpt.")
    expect_text(
        sam.locator('[data-strength="relations"] .cm-content'),
        "Ik heb een grote familie die me helpt.",
    )
    sam.locator('[data-strength="relations"] [data-priority]').click()
    expect(ayse.locator('[data-strength="relations"] [data-priority]')).to_have_attribute(
        "aria-pressed", "true"
    )
    saved(sam)
    saved(ayse)

    # The coordinator turns three people on the map into participants, one tap each.
    tablet.goto(f"{base}/conferences/{cid}")
    for name in ("Oom Kees", "Juf Anna", "Trainer Bas"):
        tablet.get_by_role("button", name=f"{name} uitnodigen").click()
        expect(tablet.locator("#from-map .map-person", has_text=name)).to_contain_text(
            "Op de lijst"
        )
    expect(tablet.get_by_role("button", name="Buurvrouw Fatma uitnodigen")).to_have_count(1)
    coordinators_map.reload()
    saved(coordinators_map)
    badge = coordinators_map.locator(".netmap-badge:visible")
    expect(coordinators_map.locator(".netmap-item", has=badge)).to_contain_text(
        ["Juf Anna", "Oom Kees", "Trainer Bas"]
    )

    # ... and sends each an invitation, each in another way, each with a link of its own.
    links = {}
    for name, way in (
        ("Oom Kees", "Link maken voor WhatsApp"),
        ("Juf Anna", "Brief maken om af te drukken"),
        ("Trainer Bas", "Link maken om te delen"),
    ):
        tablet.goto(f"{base}/conferences/{cid}")
        tablet.get_by_role("link", name=f"Uitnodiging versturen aan {name}").click()
        tablet.get_by_role("button", name=way).click()
        shown = tablet.locator("#handout-link, .letter code").first.inner_text()
        assert A_LINK.fullmatch(shown.strip()), shown
        links[name] = shown.strip()
    assert len(set(links.values())) == 3
    tablet.goto(f"{base}/conferences/{cid}")
    for name in links:
        expect(tablet.locator("#from-map .map-person", has_text=name)).to_contain_text(
            "uitgenodigd"
        )

    # Oom Kees opens the WhatsApp link on his own phone and says he is coming.
    kees = person_opens_link(browser, links["Oom Kees"], **SMALL_PHONE)
    kees.get_by_role("button", name="Ik kom", exact=True).click()
    expect(kees.locator("#invitation")).to_contain_text("Je antwoord: komt")
    expect(kees.get_by_role("link", name="Het netwerkkompas invullen")).to_have_count(0)
    tablet.reload()
    expect(tablet.locator("#from-map .map-person", has_text="Oom Kees")).to_contain_text("komt")
    sam.goto(f"{base}/c/{cid}")
    expect(sam.locator("#who-is-invited li", has_text="Oom Kees")).to_contain_text("komt")

    # The meeting begins: the coordinator's open compass closes, and stays closed.
    tablet.goto(f"{base}/conferences/{cid}/console")
    tablet.get_by_role("button", name="Naar informatiefase").click()
    # The console opens again in the new phase (the form's answer, or the page following the
    # phase's event): only then is the tablet free to go elsewhere, else that opening cuts in.
    expect(tablet.locator("[data-live-page]")).to_have_attribute("data-phase", "information")
    expect(coordinators_map.locator("[data-sync-status]")).to_have_attribute("data-state", "closed")
    for path in ("compass", "compass/map"):
        assert tablet.goto(f"{base}/c/{cid}/{path}").status == 403
    tablet.goto(f"{base}/conferences/{cid}")
    expect(tablet.locator("#from-map")).to_have_count(0)
    # Sam still reads their own compass, now read-only.
    sam.goto(f"{base}/c/{cid}/compass")
    sam.wait_for_selector("[data-compass][data-ready]")
    expect_text(
        sam.locator('[data-strength="relations"] .cm-content'),
        "Ik heb een grote familie die me helpt.",
    )
    for page in (sam, ayse, kees, tablet):
        page.context.close()
