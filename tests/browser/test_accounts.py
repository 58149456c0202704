"""Accounts in a real Chromium: an admin invites a coordinator, who opens the link, chooses a
password, logs in and creates a conference; when the admin then turns the account off, the
coordinator's open console loses its live connection at once and says they are signed out."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.browser import TIMEOUT_MS
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
CHOSEN = "lange wandeling langs de dijk"


def _device(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="nl-NL")
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def _log_in(page: Any, url: str, email: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{url}/conferences")


def test_an_invited_coordinator_starts_and_is_turned_off_while_the_console_is_open(
    live_server: LiveServer, browser: Any
) -> None:
    from playwright.sync_api import expect

    url = live_server.url
    live_server.instance.cli(
        "coordinator", "add", "ada@example.org", "--name", "Ada Beheer", "--admin",
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    admin = _device(browser)
    _log_in(admin, url, "ada@example.org", PASSWORD)
    admin.get_by_role("link", name="Beheer").click()
    admin.get_by_label("Naam", exact=True).fill("Kim Nieuw")
    admin.get_by_label("E-mailadres").fill("kim@example.org")
    admin.get_by_role("button", name="Uitnodigen").click()
    link = admin.locator("#account-link-url").text_content()
    assert link and link.startswith(f"{url}/password/")

    kim = _device(browser)
    kim.goto(link)
    expect(kim.get_by_role("heading", name="Welkom bij Kring, Kim Nieuw")).to_be_visible()
    kim.get_by_label("Wachtwoord", exact=True).fill(CHOSEN)
    kim.get_by_label("Wachtwoord, nog een keer").fill(CHOSEN)
    kim.get_by_role("button", name="Wachtwoord instellen").click()
    expect(kim.get_by_text("Je wachtwoord is ingesteld")).to_be_visible()
    _log_in(kim, url, "kim@example.org", CHOSEN)
    kim.get_by_role("link", name="Nieuwe conferentie", exact=True).click()
    kim.get_by_label("Naam van de cliënt").fill("Noor Bakker")
    kim.get_by_label("Conferentievraag").fill("Waar kan Noor wonen?")
    kim.get_by_role("button", name="Conferentie maken").click()
    kim.wait_for_url(re.compile(r"/conferences/[\w-]+$"))
    kim.goto(kim.url + "/console")
    kim.wait_for_selector("[data-live-page][data-stream=open]")

    admin.reload()
    admin.get_by_role("button", name="Account van Kim Nieuw uitzetten").click()
    expect(admin.get_by_text("Het account van Kim Nieuw staat uit.")).to_be_visible()
    # Kim's console: its live connection ends, and the page says the sign-in is over.
    expect(kim).to_have_url(re.compile(r"/login\?"))
    expect(kim.get_by_text("je sessie is beëindigd")).to_be_visible()
    kim.get_by_label("E-mailadres").fill("kim@example.org")
    kim.get_by_label("Wachtwoord").fill(CHOSEN)
    kim.get_by_role("button", name="Inloggen").click()
    expect(kim.get_by_text("Je account staat uit")).to_be_visible()
    admin.context.close()
    kim.context.close()
