"""Kring in five languages: each person reads their own and keeps their choice.

What the catalogues must hold is checked in ``tests/test_catalogues.py``.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server import i18n
from server.rules import phases
from server.storage.models import Account, Participant
from server.storage.store import Store
from tests.support.browser import TIMEOUT_MS
from tests.support.databases import add_coordinator, in_store
from tests.support.live import connected
from tests.support.people import DemoConference, demo_conference
from tests.support.server import LiveServer

ROOT = Path(__file__).resolve().parent.parent
EN_PO = ROOT / "server" / "locale" / "en" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]")
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.usefixtures("devices_closed")


def test_close_reasons_fit_in_a_websocket_close_frame_in_every_language() -> None:
    for language in i18n.LANGUAGES:
        with i18n.using(language):
            reasons = [phases.refusal_reason(p, d) for p in phases.PHASES for d in phases.DOCUMENTS]
            reasons += [
                i18n.gettext(msgid)
                for msgid in (
                    "Deze verbinding komt van een andere website.",
                    "Dit document bestaat niet.",
                    "Je bent niet aangemeld. Open je persoonlijke link opnieuw.",
                    "Deze conferentie wordt door een andere coördinator begeleid.",
                    "Dit document kan nu niet geladen worden. Probeer het zo opnieuw.",
                    "Er zijn te veel verbindingen met deze conferentie.",
                    "De server start opnieuw op.",
                    "Je wacht tot de familie je binnenlaat.",
                    "De familie heeft je nu niet binnengelaten.",
                    "De familie heeft dit apparaat gevraagd te vertrekken.",
                    "De privétijd is voorbij. Open je persoonlijke link opnieuw.",
                    "Je kunt dit document nu alleen lezen.",
                )
            ]
        too_long = [r for r in reasons if len(r.encode()) > 123]
        assert not too_long, (language, too_long)


def test_a_sentence_is_translated_with_its_parameters_and_labels_when_read() -> None:
    assert i18n.gettext("%(name)s is toegevoegd.", name="Derya") == "Derya is toegevoegd."
    with i18n.using("en"):
        assert i18n.gettext("%(name)s is toegevoegd.", name="Derya") == "Derya has been added."
        assert phases.PHASE_LABELS["private_time"] == "private time"
        assert i18n.ngettext(
            "familielid of netwerklid verbonden", "familieleden en netwerkleden verbonden", 2
        ) == ("family and network members connected")
    assert phases.PHASE_LABELS["private_time"] == "de privétijd", "Dutch again outside"


# -- on a real server -------------------------------------------------------------------------


def run(work: Any) -> Any:
    return asyncio.run(work)


def participant_row(conference: DemoConference, name: str) -> Participant:
    async def find(store: Store) -> Participant:
        rows = await store.participants(conference.id)
        return next(r.participant for r in rows if r.participant.name == name)

    result: Participant = in_store(conference.server.instance.database_url, find)
    return result


def sign_in(server: LiveServer, url: str, device: httpx.Client | None = None) -> httpx.Client:
    """Open a personal link on a device (a new one unless given) and confirm "that's me"."""
    device = device or server.client()
    response = device.post(url.removeprefix(server.url))
    assert response.status_code == 303, response.text
    return device


def choose(device: httpx.Client, language: str, next_url: str) -> httpx.Response:
    return device.post("/language", data={"language": language, "next": next_url})


def lang_of(page: httpx.Response) -> str:
    match = re.search(r'<html lang="([a-z]+)" dir="(?:ltr|rtl)">', page.text)
    assert match, "every page names its language"
    return match.group(1)


@pytest.fixture(scope="module")
def conference(live_server: LiveServer) -> Iterator[DemoConference]:
    yield run(demo_conference(live_server, "information"))


def test_a_participant_who_chooses_english_sees_english_pages(
    live_server: LiveServer, conference: DemoConference
) -> None:
    person = conference.person("client")
    tablet = sign_in(live_server, person["invitation_url"])
    page = tablet.get(f"/c/{conference.id}")
    assert lang_of(page) == "nl" and "Je bent hier als" in page.text
    assert 'name="language" value="en"' in page.text, "the page offers English"

    response = choose(tablet, "en", f"/c/{conference.id}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/c/{conference.id}"
    assert "kring_lang=en" in response.headers["set-cookie"]

    page = tablet.get(f"/c/{conference.id}")
    assert lang_of(page) == "en"
    assert "You are here as" in page.text and "Je bent hier als" not in page.text
    assert "Information phase" in page.text, "labels are translated too"
    assert 'name="language" value="nl"' in page.text, "and the way back to Dutch is offered"
    assert participant_row(conference, person["name"]).language == "en"

    # What the server says in JSON is in English too.
    signal = tablet.post(f"/api/conferences/{conference.id}/signals", json={"kind": "question"})
    assert signal.status_code == 409
    assert signal.json() == {
        "error": "wrong_phase",
        "reason": "You give signals during private time.",
    }

    # Another device of the same person (a new session, no cookie of ours): still English.
    phone = sign_in(live_server, person["invitation_url"])
    assert "kring_lang" not in phone.cookies
    page = phone.get(f"/c/{conference.id}")
    assert lang_of(page) == "en" and "You are here as" in page.text

    # The next person on the shared tablet gets their own language, not the previous one's.
    other = conference.person("network_member")
    confirm = tablet.get(other["invitation_url"].removeprefix(live_server.url))
    assert lang_of(confirm) == "nl" and "Ja, dat ben ik" in confirm.text
    sign_in(live_server, other["invitation_url"], tablet)
    assert tablet.cookies.get("kring_lang") == "en", "the tablet's cookie is still there"
    page = tablet.get(f"/c/{conference.id}")
    assert lang_of(page) == "nl" and "Je bent hier als" in page.text
    assert participant_row(conference, other["name"]).language is None


def test_choosing_on_the_is_this_you_page_is_that_persons_choice(
    live_server: LiveServer, conference: DemoConference
) -> None:
    person = conference.person("professional")
    path = person["invitation_url"].removeprefix(live_server.url)
    device = live_server.client()
    response = choose(device, "en", path)
    assert response.status_code == 303 and response.headers["location"] == path
    confirm = device.get(path)
    assert lang_of(confirm) == "en" and "Yes, that is me" in confirm.text
    assert participant_row(conference, person["name"]).language == "en"
    device.post(path)
    assert "You are here as" in device.get(f"/c/{conference.id}").text


def test_a_coordinators_choice_is_remembered_at_the_next_login(live_server: LiveServer) -> None:
    account: Account = in_store(
        live_server.instance.database_url, lambda store: add_coordinator(store, PASSWORD)
    )
    login = {"email": account.email, "password": PASSWORD}
    laptop = live_server.client()
    assert laptop.post("/login", data=login).status_code == 303
    page = laptop.get("/conferences")
    assert lang_of(page) == "nl" and "Nieuwe conferentie" in page.text

    assert choose(laptop, "en", "/conferences").headers["location"] == "/conferences"
    page = laptop.get("/conferences")
    assert lang_of(page) == "en" and "New conference" in page.text
    assert "Log out" in page.text and "Uitloggen" not in page.text
    assert laptop.post("/logout").status_code == 303

    office = live_server.client()  # another computer: no language cookie
    assert office.post("/login", data=login).status_code == 303
    page = office.get("/conferences")
    assert lang_of(page) == "en" and "New conference" in page.text
    form = office.get("/conferences/new?x=1")
    assert 'name="next" value="/conferences/new?x=1"' in form.text, "the form comes back here"

    # Errors of a form come back in English as well.
    bad = office.post("/conferences/new", data={"client_name": "", "question": ""})
    assert bad.status_code == 400
    assert "Fill in the name of the client." in html.unescape(bad.text)


def test_a_bad_language_is_refused_with_a_reason_and_changes_nothing(
    live_server: LiveServer, conference: DemoConference
) -> None:
    person = conference.person("mandated_professional")
    device = sign_in(live_server, person["invitation_url"])
    for value in ("de", "", "EN", "en-GB"):
        response = choose(device, value, f"/c/{conference.id}")
        assert response.status_code == 400
        # the reason names every language Kring speaks, each as its readers know it
        reason = html.unescape(response.text)
        assert "Kring is er in het Nederlands en in het Engels." not in reason
        assert all(name in reason for name in i18n.LANGUAGES.values()), reason
        assert "kring_lang" not in response.headers.get("set-cookie", "")
    missing = device.post("/language", data={"next": "/"})
    assert missing.status_code == 400
    assert participant_row(conference, person["name"]).language is None
    assert lang_of(device.get(f"/c/{conference.id}")) == "nl"


def test_next_never_leads_to_another_site(live_server: LiveServer) -> None:
    device = live_server.client()
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "evil"):
        response = choose(device, "en", target)
        assert response.status_code == 303
        assert response.headers["location"] == "/", target
    assert choose(device, "nl", "/privacy").headers["location"] == "/privacy"


def test_someone_unknown_gets_their_devices_choice_or_else_dutch(
    live_server: LiveServer,
) -> None:
    assert lang_of(live_server.client().get("/")) == "nl"
    # Dutch by default, also where the browser says it prefers English.
    english_browser = live_server.client(headers={"accept-language": "en-US,en;q=0.9"})
    home = english_browser.get("/")
    assert lang_of(home) == "nl" and "Welkom bij Kring" in home.text
    chooser = live_server.client()
    choose(chooser, "en", "/login")
    login = chooser.get("/login")
    assert lang_of(login) == "en" and "Log in as a coordinator" in login.text
    missing = chooser.get("/nowhere")
    assert missing.status_code == 404 and "This page does not exist." in missing.text


async def test_live_documents_tell_each_person_why_in_their_own_language(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    english_cookie = conference.cookie("professional")
    with httpx.Client(
        base_url=live_server.url, headers={"origin": live_server.url, "cookie": english_cookie}
    ) as device:
        assert choose(device, "en", f"/c/{conference.id}").status_code == 303
    refused = conference.device("compass", english_cookie)
    await refused.connect()
    try:
        assert await refused.wait_closed() == (
            4403,
            "During the information phase, the network compass is not open to you.",
        )
    finally:
        await refused.close()

    # A phase change closes both professionals, each in their own language.
    english = conference.device("information", english_cookie)
    dutch = conference.device("information", conference.cookie("mandated_professional"))
    async with connected(english, dutch):
        coordinator = conference.coordinator_cookie()
        async with httpx.AsyncClient(
            base_url=live_server.url, headers={"origin": live_server.url, "cookie": coordinator}
        ) as console:
            moved = await console.post(
                f"/api/conferences/{conference.id}/phase", json={"phase": "private_time"}
            )
            assert moved.status_code == 200, moved.text
        assert await english.wait_closed() == (
            4001,
            "During private time, the information is not open to you.",
        )
        assert await dutch.wait_closed() == (
            4001,
            "Tijdens de privétijd is de informatie niet voor jou open.",
        )


@pytest.mark.browser
def test_in_chromium_without_javascript_one_tap_switches_the_language(
    live_server: LiveServer, browser: object
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    tablet = browser.new_context(
        locale="en-GB",  # the browser asks for English: Kring still starts in Dutch
        viewport={"width": 800, "height": 1280},
        has_touch=True,
        java_script_enabled=False,
    )
    tablet.set_default_timeout(TIMEOUT_MS)
    page = tablet.new_page()
    page.goto(f"{live_server.url}/login?next=/conferences")
    expect(page.get_by_role("heading", name="Inloggen als coördinator")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "nl"

    button = page.get_by_role("button", name="English")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44, box
    button.tap()
    expect(page.get_by_role("heading", name="Log in as a coordinator")).to_be_visible()
    assert page.url == f"{live_server.url}/login?next=/conferences", "back on the same page"
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("button", name="Nederlands").tap()
    expect(page.get_by_role("heading", name="Inloggen als coördinator")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "nl"
    tablet.close()
