"""Accounts in a real Chromium: an admin invites a coordinator, who opens the link, chooses a
password, logs in and creates a conference; when the admin then turns the account off, the
coordinator's open console loses its live connection at once and says they are signed out.
An invited coordinator who turns on a second factor (an authenticator app, here pyotp fed the
key the page shows for typing in) logs in with the password and then a code, and a wrong code
is refused with a message that says so."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
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


def _log_in(page: Any, url: str, email: str, password: str, then: str = "/conferences") -> None:
    page.goto(f"{url}/login")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{url}{then}")


def _admin(server: LiveServer, browser: Any, email: str) -> Any:
    """An admin (made on the command line) logged in on a device of their own."""
    server.instance.cli(
        "coordinator", "add", email, "--name", "Ada Beheer", "--admin",
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    admin = _device(browser)
    _log_in(admin, server.url, email, PASSWORD)
    return admin


def _invited(browser: Any, url: str, admin: Any, name: str, email: str) -> Any:
    """The admin invites a coordinator, who opens the link on their own device and chooses a
    password; that device."""
    from playwright.sync_api import expect

    admin.get_by_role("link", name="Beheer").click()
    admin.get_by_label("Naam", exact=True).fill(name)
    admin.get_by_label("E-mailadres").fill(email)
    admin.get_by_role("button", name="Uitnodigen").click()
    link = admin.locator("#account-link-url").text_content()
    assert link and link.startswith(f"{url}/password/")

    invited = _device(browser)
    invited.goto(link)
    expect(invited.get_by_role("heading", name=f"Welkom bij Kring, {name}")).to_be_visible()
    invited.get_by_label("Wachtwoord", exact=True).fill(CHOSEN)
    invited.get_by_label("Wachtwoord, nog een keer").fill(CHOSEN)
    invited.get_by_role("button", name="Wachtwoord instellen").click()
    expect(invited.get_by_text("Je wachtwoord is ingesteld")).to_be_visible()
    return invited


def _new_conference(page: Any, client: str, question: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="Nieuwe conferentie", exact=True).click()
    page.get_by_label("Naam van de cliënt").fill(client)
    page.get_by_label("Conferentievraag").fill(question)
    page.get_by_role("button", name="Conferentie maken").click()
    page.wait_for_url(re.compile(r"/conferences/[\w-]+$"))
    expect(page.get_by_role("heading", name=client)).to_be_visible()


def test_an_invited_coordinator_starts_and_is_turned_off_while_the_console_is_open(
    live_server: LiveServer, browser: Any
) -> None:
    from playwright.sync_api import expect

    url = live_server.url
    admin = _admin(live_server, browser, "ada@example.org")
    kim = _invited(browser, url, admin, "Kim Nieuw", "kim@example.org")
    _log_in(kim, url, "kim@example.org", CHOSEN)
    _new_conference(kim, "Noor Bakker", "Waar kan Noor wonen?")
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


def _a_wrong_code(app: pyotp.TOTP) -> str:
    """Six digits that are none of the codes the server accepts around now."""
    now = time.time()
    near = {app.at(now + 30 * offset) for offset in range(-2, 3)}
    return next(c for c in (f"{n:06d}" for n in range(0, 1_000_000, 7919)) if c not in near)


def test_an_invited_coordinator_turns_on_a_second_factor_and_logs_in_with_its_code(
    live_server: LiveServer, browser: Any
) -> None:
    from playwright.sync_api import expect

    url = live_server.url
    admin = _admin(live_server, browser, "bea@example.org")
    joris = _invited(browser, url, admin, "Joris Tweede", "joris@example.org")
    _log_in(joris, url, "joris@example.org", CHOSEN)

    # Set up: the QR code, and the key to type into an app that cannot scan.
    joris.get_by_role("link", name="Tweestapsverificatie").click()
    joris.wait_for_url(f"{url}/account/two-factor")
    expect(joris.locator(".qr svg")).to_be_visible()
    key = joris.locator("#secret").inner_text()
    app = pyotp.TOTP(key.replace(" ", ""))  # the phone's authenticator app
    joris.get_by_label("Typ de code van zes cijfers die de app nu laat zien").fill(app.now())
    joris.get_by_role("button", name="Aanzetten").click()
    expect(joris.get_by_role("heading", name="Je herstelcodes")).to_be_visible()
    expect(joris.get_by_text("Je tweestapsverificatie staat aan.")).to_be_visible()
    codes = joris.locator("#recovery-codes li").all_inner_texts()
    assert len(set(codes)) == 10 and all(re.fullmatch(r"[0-9a-z]{5}-[0-9a-z]{5}", c) for c in codes)
    joris.get_by_role("link", name="Ik heb ze bewaard, verder").click()
    joris.wait_for_url(f"{url}/account/two-factor")
    expect(
        joris.get_by_text("Je hebt nog 10 herstelcodes die je niet hebt gebruikt.")
    ).to_be_visible()
    joris.get_by_role("button", name="Uitloggen").click()
    joris.wait_for_url(f"{url}/login")

    # The password alone opens nothing: the next step asks the code.
    _log_in(joris, url, "joris@example.org", CHOSEN, then="/login/code")
    expect(joris.get_by_role("heading", name="Inloggen: de code uit je app")).to_be_visible()
    joris.goto(f"{url}/conferences")
    expect(joris).to_have_url(re.compile(r"/login\?next=/conferences"))
    joris.goto(f"{url}/login/code")

    code = joris.get_by_label("Code", exact=True)
    code.fill(_a_wrong_code(app))
    joris.get_by_role("button", name="Inloggen").click()
    expect(joris.get_by_role("alert")).to_have_text("Deze code klopt niet.")
    expect(code).to_have_attribute("aria-invalid", "true")
    assert joris.url == f"{url}/login/code"

    # The code that set the app up is used; a phone a step ahead already shows the next one,
    # which the server accepts (a phone's clock may be off by one step), rather than waiting.
    code.fill(app.at(time.time() + 30))
    joris.get_by_role("button", name="Inloggen").click()
    joris.wait_for_url(f"{url}/conferences")
    _new_conference(joris, "Noor Aydın", "Hoe kan Noor weer naar school?")
    admin.context.close()
    joris.context.close()
