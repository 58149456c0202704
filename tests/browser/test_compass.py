"""The network compass in a real Chromium, against a real `kring serve`: the client chooses a
supporter on their own page, and the two write the compass together live, on a tablet and a
phone; the phone goes offline and its edits arrive when it is back; "saved" tells the truth."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.browser import (
    PHONE,
    TABLET,
    TIMEOUT_MS,
    expect_text,
    serious_accessibility_problems,
)
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser


def signed_in(browser: Any, person: dict[str, Any], **device: Any) -> Any:
    """A new device (its own cookies and storage) that opened the person's link."""
    context = browser.new_context(**device)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(person["invitation_url"])
    page.get_by_role("button", name="Ja, dat ben ik: verder").click()
    page.wait_for_url("**/c/*")
    return page


def status(page: Any) -> Any:
    return page.locator("[data-sync-status]")


def answer(page: Any, key: str) -> Any:
    return page.locator(f'[data-answer="{key}"] .cm-content')


def test_the_client_and_a_supporter_write_the_compass_together_live_and_offline(
    live_server: LiveServer, browser: Any
) -> None:
    from playwright.sync_api import expect

    demo = live_server.instance.demo("--phase", "preparation")
    client_person, ayse_person = demo["participants"][:2]

    # The client chooses Ayşe as supporter on their own page, then opens the compass.
    client = signed_in(browser, client_person, **TABLET)
    client.get_by_label(ayse_person["name"]).check()
    client.get_by_role("button", name="Steunpersonen opslaan").click()
    expect(client.get_by_label(ayse_person["name"])).to_be_checked()
    client.get_by_role("link", name="Het netwerkkompas invullen").click()
    client.wait_for_selector("[data-compass][data-ready]")
    expect(status(client)).to_have_attribute("data-state", "saved")

    phone = signed_in(browser, ayse_person, **{**PHONE, "viewport": {"width": 360, "height": 740}})
    phone.get_by_role("link", name="Het netwerkkompas invullen").click()
    phone.wait_for_selector("[data-compass][data-ready]")
    expect(status(phone)).to_have_attribute("data-state", "saved")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360, "no sideways scrolling"
    assert serious_accessibility_problems(phone) == []

    # Live both ways: an answer, a strength, a priority, a question.
    answer(client, "if_nothing").click()
    client.keyboard.type("Dan raak ik mijn huis kwijt.")
    expect_text(answer(phone, "if_nothing"), "Dan raak ik mijn huis kwijt.")
    expect(status(client)).to_have_attribute("data-state", "saved")
    health = phone.locator('[data-strength="health"]')
    health.locator(".cm-content").click()
    phone.keyboard.type("Ik wandel elke dag.")
    health.get_by_role("button", name="Gaat voor").click()
    expect(client.locator('[data-strength="health"] [data-priority]')).to_have_attribute(
        "aria-pressed", "true"
    )
    expect_text(client.locator('[data-strength="health"] .cm-content'), "Ik wandel elke dag.")
    for area in ("safety", "housing", "children"):
        client.locator(f'[data-strength="{area}"] [data-priority]').click()
    # Four chosen: a fifth is not offered, and the page says why.
    expect(phone.locator('[data-strength="leisure"] [data-priority]')).to_be_disabled()
    expect(phone.locator("[data-priority-count]")).to_contain_text("4 gekozen")

    # The phone loses its connection and keeps writing; nothing is lost.
    phone.context.set_offline(True)
    # Chromium's offline mode refuses new connections but leaves an open websocket be: drop
    # it as the lost Wi-Fi would (the page's reconnects then fail until it is back).
    phone.evaluate("window.kringCompass.live.provider.ws.close()")
    expect(status(phone)).to_have_attribute("data-state", "offline")
    answer(phone, "wishes_others").click()
    phone.keyboard.type("Dat mijn moeder rust krijgt.")
    expect(status(phone)).to_have_attribute("data-state", "offline-unsaved")
    client.fill("#new-question", "Wie haalt de kinderen van school?")
    client.get_by_role("button", name="Vraag toevoegen").click()
    client.get_by_label("naar de conferentie").check()
    expect(status(client)).to_have_attribute("data-state", "saved")

    phone.context.set_offline(False)
    expect(status(phone)).to_have_attribute("data-state", "saved", timeout=20_000)
    expect_text(answer(client, "wishes_others"), "Dat mijn moeder rust krijgt.", timeout=20_000)
    question = phone.locator("[data-question]")
    expect_text(question.locator(".cm-content"), "Wie haalt de kinderen van school?")
    expect(question.get_by_label("naar de conferentie")).to_be_checked()

    # Removed and brought back, by the other device.
    question.get_by_role("button", name="Weghalen").click()
    expect(client.locator("[data-question]")).to_have_count(0)
    client.locator("[data-removed-questions] summary").click()
    client.get_by_role("button", name="Terugzetten").click()
    expect(phone.locator("[data-question]")).to_have_count(1)
    expect(status(phone)).to_have_attribute("data-state", "saved")
    phone.context.close()
    client.context.close()
