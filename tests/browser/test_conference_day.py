"""A whole conference day in Chromium, on the devices people hold: the client on a small phone
(360x780), the coordinator on a 10" tablet, the plan on the room's big screen. From the
information phase to the copy of version 1: no page scrolls sideways, the console follows the
family's "our plan is ready" without a reload, the big screen follows a live edit, and an
answer the coordinator notes for someone without a device is on the copy as such."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.browser import TABLET, TIMEOUT_MS, add_agreement, expect_text
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser

SMALL_PHONE = {
    "viewport": {"width": 360, "height": 780},
    "has_touch": True,
    "is_mobile": True,
    "locale": "nl-NL",
}
PHONE_SIZE = SMALL_PHONE["viewport"]


def sideways(page: Any) -> str | None:
    """What sticks out on the right of the page as it is now (None: nothing; the page does
    not scroll sideways)."""
    width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    if width[0] <= width[1]:
        return None
    wider = page.evaluate(
        """(limit) => [...document.querySelectorAll("body *")]
            .filter((e) => e.getBoundingClientRect().right > limit + 1)
            .slice(0, 3).map((e) => e.outerHTML.slice(0, 80))""",
        width[1],
    )
    return f"{page.url} is {width[0]} px wide on a {width[1]} px screen: {wider}"


def test_a_whole_conference_on_a_phone_and_a_tablet(live_server: LiveServer, browser: Any) -> None:
    from playwright.sync_api import expect

    demo = live_server.instance.demo()  # the information phase
    cid = demo["conference_id"]
    people = {p["name"]: p for p in demo["participants"]}
    client = next(p for p in demo["participants"] if p["role"] == "client")
    without_device = people["Mehmet Yılmaz"]
    base = live_server.url
    too_wide: list[str] = []

    def check(page: Any) -> None:
        page.wait_for_load_state("load")
        problem = sideways(page)
        if problem:
            too_wide.append(problem)

    def check_on_a_phone_too(page: Any) -> None:
        """The coordinator's page as it is now, on the tablet and on a phone."""
        check(page)
        page.set_viewport_size(PHONE_SIZE)
        check(page)
        page.set_viewport_size(TABLET["viewport"])

    # The coordinator's tablet.
    tablet = browser.new_context(**TABLET)
    tablet.set_default_timeout(TIMEOUT_MS)
    console = tablet.new_page()
    console.goto(f"{base}/login")
    check(console)
    console.get_by_label("E-mailadres").fill(demo["coordinator"]["email"])
    console.get_by_label("Wachtwoord").fill(demo["coordinator"]["password"])
    console.get_by_role("button", name="Inloggen").click()
    console.wait_for_url("**/conferences")
    check_on_a_phone_too(console)
    for page in ("", "/cards", "/edit", "/audit"):
        console.goto(f"{base}/conferences/{cid}{page}")
        check_on_a_phone_too(console)

    # The client's phone: their link, their page.
    phone_context = browser.new_context(**SMALL_PHONE)
    phone_context.set_default_timeout(TIMEOUT_MS)
    phone = phone_context.new_page()
    phone.goto(client["invitation_url"])
    check(phone)
    phone.get_by_role("button", name="Ja, dat ben ik: verder").click()
    expect(phone.get_by_role("heading", name=client["name"], exact=True)).to_be_visible()
    check(phone)
    phone.get_by_role("button", name="Begrepen").click()

    # Private time: the family writes its plan on the phone.
    console.goto(f"{base}/conferences/{cid}/console")
    check_on_a_phone_too(console)
    console.get_by_role("button", name="Naar privétijd").click()
    expect(console.locator(".phase-badge")).to_have_text("Privétijd")
    check_on_a_phone_too(console)
    phone.goto(f"{base}/c/{cid}/plan")
    phone.wait_for_selector("[data-plan-editor][data-ready]")
    add_agreement(phone, "safety", "Als het thuis misgaat, belt Sam oma Ayşe")
    add_agreement(phone, "children", "Mehmet brengt Sam op woensdag naar voetbal")
    expect(phone.locator("[data-sync-status]")).to_have_attribute("data-state", "saved")
    check(phone)

    # "Our plan is ready", asked once; the console shows its button without a reload.
    console.evaluate("window.kringTestMarker = 'no reload'")
    phone.goto(f"{base}/c/{cid}")
    phone.get_by_role("button", name="Ons plan is klaar").click()
    check(phone)
    phone.get_by_role("button", name="Ja, ons plan is klaar").click()
    expect(phone.get_by_text("Jullie hebben gezegd dat het plan klaar is.")).to_be_visible()
    to_presentation = console.get_by_role("button", name="Naar presentatie van het plan")
    expect(to_presentation).to_be_visible()
    assert console.evaluate("window.kringTestMarker") == "no reload"
    to_presentation.click()
    expect(console.locator(".phase-badge")).to_have_text("Presentatie van het plan")
    check_on_a_phone_too(console)

    # The big screen follows the plan as the family edits it on the phone.
    screen = tablet.new_page()
    screen.goto(f"{base}/c/{cid}/present")
    plan_on_screen = screen.locator("[data-presentation-plan]")
    expect(plan_on_screen).to_contain_text("Als het thuis misgaat, belt Sam oma Ayşe")
    expect(plan_on_screen).to_contain_text("Mehmet brengt Sam op woensdag naar voetbal")
    check(screen)
    phone.goto(f"{base}/c/{cid}/plan")
    phone.wait_for_selector("[data-plan-editor][data-ready]")
    what = phone.locator('[data-area="safety"] [data-agreement] .field-what .cm-content').first
    what.click()
    phone.keyboard.press("Control+End")
    phone.keyboard.type(" of opa Kees")
    expect_text(what, "Als het thuis misgaat, belt Sam oma Ayşe of opa Kees")
    expect(plan_on_screen).to_contain_text("belt Sam oma Ayşe of opa Kees")
    phone.goto(f"{base}/c/{cid}/present")  # the big screen's page on a phone, too
    expect(phone.locator("[data-presentation-plan]")).to_contain_text("of opa Kees")
    check(phone)

    # Who is there, and an answer noted for Mehmet, who has no device; Sam answers himself.
    console.bring_to_front()
    attendance = console.locator("#attendance-title").locator("xpath=..")
    for name in (client["name"], "Ayşe Yılmaz", without_device["name"]):
        attendance.get_by_label(name, exact=True).check()
    console.get_by_role("button", name="Aanwezigheid opslaan").click()
    console.get_by_role("button", name=f"eens ({without_device['name']})").click()
    answers = console.locator("#live-answers")
    expect(answers).to_contain_text(
        f"{without_device['name']}: eens (genoteerd door de coördinator)"
    )
    phone.goto(f"{base}/c/{cid}")
    phone.get_by_label("Ik ben het eens").check()
    phone.get_by_role("button", name="Antwoord geven").click()
    expect(answers).to_contain_text(f"{client['name']}: eens (zelf)")
    check_on_a_phone_too(console)

    console.get_by_role("button", name="Plan vaststellen als versie 1").click()
    expect(console.get_by_text("Het plan is vastgesteld als versie 1.")).to_be_visible()

    # The copy on the phone: who agreed, and how.
    phone.goto(f"{base}/c/{cid}/plan/1")
    copy = phone.locator("main")
    expect(copy).to_contain_text("Als het thuis misgaat, belt Sam oma Ayşe of opa Kees")
    expect(copy).to_contain_text(without_device["name"])
    expect(copy).to_contain_text("genoteerd door de coördinator")
    check(phone)
    console.goto(f"{base}/c/{cid}/plan/1")
    check_on_a_phone_too(console)

    assert too_wide == []
    phone_context.close()
    tablet.close()
