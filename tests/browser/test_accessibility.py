"""axe-core (from npm) on Kring's main pages in a real Chromium: no serious or critical
problems for people who use a screen reader, a keyboard or large text. The plan editor's own
pages are checked in tests/browser/test_plan_editor.py, the network map being edited (its
form and its dialogs) in tests/browser/test_network_map.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.browser import TIMEOUT_MS, let_page_in, serious_accessibility_problems
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser


def test_the_main_pages_have_no_serious_accessibility_problems(
    live_server: LiveServer, browser: Any
) -> None:
    demo = live_server.instance.demo()  # the information phase
    # A second conference, at the presentation (its marks form); the same demo coordinator,
    # whose password each `kring demo` renews.
    presenting = live_server.instance.demo("--phase", "presentation")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    checked: dict[str, list[str]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state("load")
        checked[name] = serious_accessibility_problems(page)

    page.goto(f"{live_server.url}/")
    check("home")
    page.goto(f"{live_server.url}/login")
    check("login")
    page.get_by_label("E-mailadres").fill(demo["coordinator"]["email"])
    page.get_by_label("Wachtwoord").fill(presenting["coordinator"]["password"])
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url("**/conferences")
    check("conference list")
    conference = demo["conference_id"]
    page.goto(f"{live_server.url}/conferences/{conference}")
    check("conference and its participants")
    page.goto(f"{live_server.url}/conferences/{conference}/cards")
    check("choosing whose cards to print")
    page.goto(f"{live_server.url}/conferences/{conference}")
    page.get_by_role("link", name="Uitnodiging versturen aan Ayşe Yılmaz").click()
    check("sending someone their invitation")
    invite = page.url
    page.get_by_role("button", name="Link maken om te delen").click()
    check("an invitation ready to share")
    page.goto(invite)
    page.get_by_role("button", name="Brief maken om af te drukken").click()
    check("an invitation letter to print")
    page.goto(f"{live_server.url}/account/contact")
    page.get_by_label("Telefoonnummer").fill("bel me maar")
    page.get_by_role("button", name="Opslaan").click()
    page.wait_for_selector("#f-contact_phone-error")
    check("contact details, refused")
    page.goto(f"{live_server.url}/i/{'x' * 43}")
    check("a link Kring does not know")
    page.goto(f"{live_server.url}/conferences/{conference}/console")
    page.wait_for_selector("[data-live-document][data-ready]")
    check("coordinator's console with the shared information")
    page.goto(f"{live_server.url}/conferences/{presenting['conference_id']}/console")
    page.wait_for_selector("[data-live-page][data-stream=open]")
    check("coordinator's console at the presentation")
    page.goto(f"{live_server.url}/conferences/{conference}/audit")
    check("audit log")
    page.goto(f"{live_server.url}/outcomes")
    page.wait_for_selector("svg.chart")
    check("outcomes with their chart")

    family = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    family.set_default_timeout(TIMEOUT_MS)
    phone = family.new_page()
    phone.goto(demo["participants"][0]["invitation_url"])
    checked["is this you?"] = serious_accessibility_problems(phone)
    phone.get_by_role("button", name="Ja, dat ben ik: verder").click()
    phone.wait_for_selector("[data-live-document][data-ready]")
    checked["participant's page"] = serious_accessibility_problems(phone)
    phone.goto(f"{live_server.url}/c/{conference}/compass/map")
    phone.wait_for_selector("[data-sync-status][data-state=saved]")
    checked["the network map, read after the preparation"] = serious_accessibility_problems(phone)
    phone.goto(presenting["participants"][1]["invitation_url"])
    phone.get_by_role("button", name="Ja, dat ben ik: verder").click()
    phone.wait_for_selector("fieldset.scale")
    checked["participant's page with the marks form"] = serious_accessibility_problems(phone)
    private = live_server.instance.demo("--phase", "private_time")
    phone.goto(private["participants"][0]["invitation_url"])
    phone.get_by_role("button", name="Ja, dat ben ik: verder").click()
    let_page_in(phone)
    phone.get_by_role("button", name="Ons plan is klaar").click()
    phone.wait_for_selector("#confirm-ready")
    checked["the family asked whether its plan is ready"] = serious_accessibility_problems(phone)

    assert {name: found for name, found in checked.items() if found} == {}
    assert len(checked) == 19
    family.close()
    context.close()
