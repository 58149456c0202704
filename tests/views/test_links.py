"""A person's links, one per way each was handed out: printing cards ends nobody's link,
the coordinator ends one link at a time, and an ended link's page says whom to call."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support.databases import in_store
from tests.support.server import LiveServer

PASSWORD = "correct horse battery"
pytestmark = pytest.mark.usefixtures("devices_closed")
LINK = re.compile(r"<code id=\"link-(\d+)\">(http://[^<]+/i/[^<]+)</code>")
CARD_LINK = re.compile(r"<code>(http://[^<]+/i/[^<]+)</code>")


@pytest.fixture(scope="module")
def coordinator(live_server: LiveServer) -> Iterator[httpx.Client]:
    live_server.instance.cli(
        "coordinator",
        "add",
        "els@example.org",
        "--name",
        "Els de Vries",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    client = live_server.client()
    login = client.post("/login", data={"email": "els@example.org", "password": PASSWORD})
    assert login.status_code == 303, login.text
    yield client
    client.close()


def new_conference(client: httpx.Client) -> str:
    response = client.post(
        "/conferences/new",
        data={"client_name": "Sam Yılmaz", "question": "Hoe kan Sam zijn diploma halen?"},
    )
    assert response.status_code == 303
    return response.headers["location"].rsplit("/", 1)[1]


def add_person(client: httpx.Client, conference_id: str, name: str) -> tuple[int, str]:
    """Add someone; their first link (to send in a message) is shown once."""
    response = client.post(
        f"/conferences/{conference_id}/participants", data={"name": name, "role": "network_member"}
    )
    assert response.status_code == 200
    match = LINK.search(response.text)
    assert match
    return int(match.group(1)), match.group(2)


def print_cards(client: httpx.Client, conference_id: str, *people: int) -> list[str]:
    sheet = client.post(
        f"/conferences/{conference_id}/cards", data={"participant": [str(p) for p in people]}
    )
    assert sheet.status_code == 200
    return CARD_LINK.findall(sheet.text)


def open_link(server: LiveServer, url: str) -> tuple[httpx.Client, httpx.Response]:
    """Open a personal link on a new device and confirm "that's me" (if it is offered)."""
    device = server.client()
    path = url.removeprefix(server.url)
    page = device.get(path)
    if page.status_code != 200:
        return device, page
    return device, device.post(path)


def link_ids(page: str, person_id: int) -> dict[str, list[int]]:
    """The person's working links in the participant list, by how they were handed out."""
    row = re.search(rf'<tr id="participant-{person_id}">(.*?)</tr>', page, re.DOTALL)
    assert row
    found: dict[str, list[int]] = {}
    for link_id, channel in re.findall(
        r'<li id="link-row-(\d+)">\s*<span><strong>(\w+)</strong>', row.group(1)
    ):
        found.setdefault(channel, []).append(int(link_id))
    return found


def end_link(
    client: httpx.Client, conference_id: str, person_id: int, link_id: object
) -> httpx.Response:
    return client.post(f"/conferences/{conference_id}/participants/{person_id}/links/{link_id}/end")


def test_printing_cards_leaves_the_links_already_sent_working(
    live_server: LiveServer, coordinator: httpx.Client
) -> None:
    conference_id = new_conference(coordinator)
    fatma, fatma_sent = add_person(coordinator, conference_id, "Fatma Yılmaz")
    mehmet, mehmet_sent = add_person(coordinator, conference_id, "Mehmet Yılmaz")
    tablet, opened = open_link(live_server, fatma_sent)
    assert opened.status_code == 303

    choose = coordinator.get(f"/conferences/{conference_id}/cards")
    ticked = re.findall(r'name="participant" value="(\d+)" checked', choose.text)
    assert set(ticked) == {str(fatma), str(mehmet)}, "nobody has a card yet"
    assert "de links die die persoon al heeft" in choose.text
    cards = print_cards(coordinator, conference_id, fatma, mehmet)
    assert len(cards) == 2 and not {fatma_sent, mehmet_sent} & set(cards)

    assert "Fatma Yılmaz" in tablet.get(f"/c/{conference_id}").text, "her device stays in"
    for url in (fatma_sent, mehmet_sent, *cards):
        assert open_link(live_server, url)[1].status_code == 303, url
    listing = coordinator.get(f"/conferences/{conference_id}").text
    assert {k: len(v) for k, v in link_ids(listing, fatma).items()} == {"Bericht": 1, "Kaart": 1}
    again = coordinator.get(f"/conferences/{conference_id}/cards")
    assert not re.findall(r'name="participant" value="\d+" checked', again.text), (
        "who has a card is not ticked again"
    )


def test_ending_one_link_leaves_the_persons_other_links_working(
    live_server: LiveServer, coordinator: httpx.Client
) -> None:
    contact = coordinator.post(
        "/account/contact",
        data={"contact_phone": "06 12345678", "contact_email": "els.devries@example.org"},
    )
    assert contact.status_code == 200 and "opgeslagen" in contact.text
    conference_id = new_conference(coordinator)
    person, sent = add_person(coordinator, conference_id, "Ans Bakker")
    [card] = print_cards(coordinator, conference_id, person)
    tablet, _ = open_link(live_server, sent)
    phone, _ = open_link(live_server, card)
    links = link_ids(coordinator.get(f"/conferences/{conference_id}").text, person)
    [message_link] = links["Bericht"]

    ended = end_link(coordinator, conference_id, person, message_link)
    assert ended.status_code == 200
    assert "De link van Ans Bakker (bericht, gemaakt" in ended.text
    assert "De andere links van Ans Bakker blijven werken." in ended.text
    assert link_ids(ended.text, person) == {"Kaart": links["Kaart"]}

    assert tablet.get(f"/c/{conference_id}").status_code == 401, "signed in with it: out"
    assert "Ans Bakker" in phone.get(f"/c/{conference_id}").text, "the card's device stays in"
    assert open_link(live_server, card)[1].status_code == 303, "the card still opens"

    page = open_link(live_server, sent)[1]
    assert page.status_code == 410 and "Deze link werkt niet meer" in page.text
    assert "Vraag een nieuwe link aan Els de Vries" in page.text
    assert 'href="tel:0612345678">06 12345678</a>' in page.text
    assert 'href="mailto:els.devries@example.org"' in page.text

    events = in_store(
        live_server.instance.database_url, lambda store: store.audit_events(conference_id)
    )
    [entry] = [e for e in events if e.kind == "link_ended"]
    assert entry.detail == {
        "participant_id": person,
        "invitation_id": message_link,
        "channel": "message",
    }


def test_ending_another_persons_or_an_unknown_link_ends_nothing(
    live_server: LiveServer, coordinator: httpx.Client
) -> None:
    conference_id = new_conference(coordinator)
    ans, _ = add_person(coordinator, conference_id, "Ans Bakker")
    bert, bert_sent = add_person(coordinator, conference_id, "Bert Bakker")
    [bert_link] = link_ids(coordinator.get(f"/conferences/{conference_id}").text, bert)["Bericht"]

    for wrong in (bert_link, 999999, "abc"):
        refused = end_link(coordinator, conference_id, ans, wrong)
        assert refused.status_code == 404, wrong
        assert "Deze link bestaat niet of is niet van Ans Bakker. Er is geen link beëindigd." in (
            refused.text
        )
    assert open_link(live_server, bert_sent)[1].status_code == 303, "Bert's link still works"

    assert end_link(coordinator, conference_id, bert, bert_link).status_code == 200
    twice = end_link(coordinator, conference_id, bert, bert_link)
    assert twice.status_code == 409 and "werkte al niet meer" in twice.text
    with live_server.client() as stranger:
        assert end_link(stranger, conference_id, bert, bert_link).status_code in (303, 401)


def test_contact_details_that_are_too_long_or_wrong_are_refused_and_kept(
    coordinator: httpx.Client,
) -> None:
    saved = coordinator.post(
        "/account/contact", data={"contact_phone": "030-1234567", "contact_email": ""}
    )
    assert saved.status_code == 200
    assert "Mijn contactgegevens" in coordinator.get("/conferences").text

    too_long = "0" * 41
    refused = coordinator.post(
        "/account/contact", data={"contact_phone": too_long, "contact_email": "els@voorbeeld"}
    )
    assert refused.status_code == 400
    assert "Het telefoonnummer mag hoogstens 40 tekens lang zijn." in refused.text
    assert "Dit is geen e-mailadres." in refused.text
    assert f'value="{too_long}"' in refused.text and 'value="els@voorbeeld"' in refused.text
    letters = coordinator.post(
        "/account/contact", data={"contact_phone": "bel me maar", "contact_email": ""}
    )
    assert letters.status_code == 400 and "Dit is geen telefoonnummer." in letters.text
    assert 'value="030-1234567"' in coordinator.get("/account/contact").text, "nothing stored"


def test_an_unknown_links_page_names_nobody(
    live_server: LiveServer, coordinator: httpx.Client
) -> None:
    with live_server.client() as browser:
        page = browser.get("/i/" + "x" * 43)
    assert page.status_code == 404 and "Deze link kennen we niet" in page.text
    assert "scan de QR-code op je kaart" in page.text
    assert "Els de Vries" not in page.text and "tel:" not in page.text


def test_the_ended_links_flash_names_it_on_the_local_clock_as_the_list_does(
    coordinator: httpx.Client,
) -> None:
    conference_id = new_conference(coordinator)
    person, _ = add_person(coordinator, conference_id, "Kees Bakker")
    listing = coordinator.get(f"/conferences/{conference_id}").text
    [link] = link_ids(listing, person)["Bericht"]
    row = re.search(rf'<li id="link-row-{link}">(.*?)</li>', listing, re.DOTALL)
    assert row
    made = re.search(r"gemaakt ([0-9-]+ [0-9:]+)", row.group(1))
    assert made

    ended = end_link(coordinator, conference_id, person, link)
    assert ended.status_code == 200
    flash = re.search(r'<p class="flash" role="status">(.*?)</p>', ended.text, re.DOTALL)
    assert flash
    assert f"(bericht, gemaakt {made.group(1)})" in flash.group(1)
    assert "UTC" not in flash.group(1)
