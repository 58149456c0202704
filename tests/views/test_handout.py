"""The invitation page on a real `kring serve` without a mail server: it says mail is off and
offers no mail form; bad input (an unknown or removed person, one of another conference, a
phone number or language that is not one, a way Kring does not know, someone else's
conference) gets a clear answer and makes no link. In Chromium on a phone, the share button
copies the message where the device has no share sheet, and uses the sheet where it has one."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest

from tests.support.browser import PHONE, TIMEOUT_MS, wait_until
from tests.support.people import as_, demo_conference, ids_by_role, other_coordinator
from tests.support.server import LiveServer

A_LINK = re.compile(r"http://127\.0\.0\.1:\d+/i/[A-Za-z0-9_-]{43}")


def links_of(page: str, person: int) -> list[str]:
    """The kinds of the person's working links in the participant list."""
    row = re.search(rf'<tr id="participant-{person}">(.*?)</tr>', page, re.DOTALL)
    assert row
    return re.findall(r'<li id="link-row-\d+">\s*<span><strong>([^<]+)</strong>', row[1])


async def test_without_mail_and_with_bad_input_the_page_says_why_and_makes_no_link(
    live_server: LiveServer,
) -> None:
    elsewhere = await demo_conference(live_server, "preparation")  # the same coordinator's
    conference = await demo_conference(live_server, "preparation")  # (its password is current)
    people = await ids_by_role(conference, "network_member", "professional")
    ayse = people["network_member"]
    stranger = (await ids_by_role(elsewhere, "network_member"))["network_member"]
    base = f"/conferences/{conference.id}/participants"
    invite = f"{base}/{ayse}/invite"

    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        page = await coordinator.get(invite)
        assert page.status_code == 200
        text = html.unescape(page.text)
        assert 'id="mail-off"' in page.text and f'action="{invite}/mail"' not in page.text
        assert "E-mail staat uit: er is geen mailserver ingesteld" in text
        assert "Beste Ayşe Yılmaz," in text, "the preview, in her language (Dutch)"
        off = await coordinator.post(f"{invite}/mail", data={"email": "ayse@example.org"})
        assert off.status_code == 409
        assert "E-mail staat uit" in html.unescape(off.text)

        english = await coordinator.get(f"{invite}?language=en")
        assert "Dear Ayşe Yılmaz," in html.unescape(english.text)
        hidden = 'type="hidden" name="language" value="en"'
        assert english.text.count(hidden) == 4, "each way's form writes English"

        phone = await coordinator.post(f"{invite}/whatsapp", data={"phone": "bel maar"})
        assert phone.status_code == 400
        assert 'id="f-whatsapp-phone-error"' in phone.text and 'value="bel maar"' in phone.text
        assert "Dit is geen telefoonnummer." in phone.text
        short = await coordinator.post(f"{invite}/sms", data={"phone": "+31 6"})
        assert short.status_code == 400 and 'id="f-sms-phone-error"' in short.text
        language = await coordinator.post(f"{invite}/share", data={"language": "tlh"})
        assert language.status_code == 400 and "Kies een taal uit de lijst." in language.text
        asked = await coordinator.get(f"{invite}?language=tlh")
        assert asked.status_code == 400 and 'id="f-language-error"' in asked.text
        way = await coordinator.post(f"{invite}/pigeon")
        assert way.status_code == 404
        assert "Zo kan Kring geen uitnodiging versturen." in way.text

        for wrong in (999999, stranger):
            for response in (
                await coordinator.get(f"{base}/{wrong}/invite"),
                await coordinator.post(f"{base}/{wrong}/invite/share"),
            ):
                assert response.status_code == 404
                assert "Deze deelnemer staat niet (meer) op de lijst." in response.text
        professional = people["professional"]
        removed = await coordinator.post(f"{base}/{professional}/remove")
        assert removed.status_code == 200
        gone = await coordinator.post(f"{base}/{professional}/invite/letter")
        assert gone.status_code == 404 and "staat niet (meer) op de lijst" in gone.text
        for_nobody = await coordinator.get(f"{base}/abc/invite")
        assert for_nobody.status_code == 404

        listing = (await coordinator.get(f"/conferences/{conference.id}")).text
        assert f'href="{invite}"' in listing, "the way to the page, from the list"
        assert links_of(listing, ayse) == ["Bericht"], "no bad request made a link"

    other, _ = await other_coordinator(conference)
    async with as_(conference, other) as intruder:
        assert (await intruder.get(invite)).status_code == 403
        assert (await intruder.post(f"{invite}/share")).status_code == 403
    async with httpx.AsyncClient(
        base_url=live_server.url, headers={"origin": live_server.url}
    ) as anonymous:
        response = await anonymous.post(f"{invite}/share")
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        listing = (await coordinator.get(f"/conferences/{conference.id}")).text
        assert links_of(listing, ayse) == ["Bericht"]


# -- in Chromium (last in this module: Playwright keeps its own event loop) ---------------------

NO_SHARE_SHEET = "delete Navigator.prototype.share; delete navigator.share;"
A_SHARE_SHEET = """Navigator.prototype.share = function (data) {
    window.sharedWith = data; return Promise.resolve(); };"""


@pytest.mark.browser
def test_the_share_button_copies_the_message_where_the_device_has_no_share_sheet(
    live_server: LiveServer, browser: Any
) -> None:
    demo = live_server.instance.demo("--phase", "preparation")
    for sheet, said in ((NO_SHARE_SHEET, "geen deelmenu"), (A_SHARE_SHEET, "Gedeeld.")):
        context = browser.new_context(
            **{**PHONE, "viewport": {"width": 360, "height": 740}},
            permissions=["clipboard-read", "clipboard-write"],
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(sheet)
        page = context.new_page()
        page.goto(f"{live_server.url}/login")
        page.get_by_label("E-mailadres").fill(demo["coordinator"]["email"])
        page.get_by_label("Wachtwoord").fill(demo["coordinator"]["password"])
        page.get_by_role("button", name="Inloggen").click()
        page.wait_for_url("**/conferences")
        page.goto(f"{live_server.url}/conferences/{demo['conference_id']}")
        page.get_by_role("link", name="Uitnodiging versturen aan Ayşe Yılmaz").click()
        page.get_by_role("button", name="Link maken om te delen").click()
        message = page.locator("#handout-text").inner_text()
        [link] = A_LINK.findall(message)
        fits = "document.documentElement.scrollWidth <= window.innerWidth"
        assert page.evaluate(fits), "no sideways scrolling on a phone"

        page.get_by_role("button", name="Delen", exact=True).click()
        wait_until(
            page,
            "(said) => document.getElementById('handout-status').textContent.includes(said)",
            said,
        )
        if sheet is NO_SHARE_SHEET:
            copied = page.evaluate("navigator.clipboard.readText()")
            assert copied == message.strip(), "the whole message, link and all"
        else:
            shared = page.evaluate("window.sharedWith")
            assert shared == {"text": message.strip()}
        with httpx.Client(headers={"origin": live_server.url}, timeout=10) as device:
            assert device.post(link).status_code == 303, "the shared link works"
        context.close()
