"""A coordinator and a family use Kring's pages on a real server over HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from server.storage.models import utcnow
from tests.support.databases import in_store
from tests.support.people import add_account, logged_in
from tests.support.server import LiveServer

pytestmark = pytest.mark.usefixtures("devices_closed")
LINK = re.compile(r"<code id=\"link-(\d+)\">(http://[^<]+/i/[^<]+)</code>")


@pytest.fixture(scope="module")
def coordinator(live_server: LiveServer) -> Iterator[httpx.Client]:
    add_account(live_server, "lotte@example.org")
    client = logged_in(live_server, "lotte@example.org")
    yield client
    client.close()


def new_conference(client: httpx.Client, client_name: str = "Sam Yılmaz") -> str:
    response = client.post(
        "/conferences/new",
        data={
            "client_name": client_name,
            "question": "Hoe kan Sam zijn diploma halen?",
            "meeting_date": "2026-12-12",
            "location": "Buurthuis",
        },
    )
    assert response.status_code == 303
    return response.headers["location"].rsplit("/", 1)[1]


def add_person(
    client: httpx.Client, conference_id: str, name: str, role: str = "network_member"
) -> tuple[int, str]:
    response = client.post(
        f"/conferences/{conference_id}/participants", data={"name": name, "role": role}
    )
    assert response.status_code == 200
    match = LINK.search(response.text)
    assert match, "the new person's link is shown once"
    return int(match.group(1)), match.group(2)


def open_link(server: LiveServer, url: str) -> tuple[httpx.Client, httpx.Response]:
    """Open a personal link on a new device and confirm "that's me" (if it is offered)."""
    device = server.client()
    path = url.removeprefix(server.url)
    page = device.get(path)
    if page.status_code != 200:
        return device, page
    assert "Ja, dat ben ik" in page.text
    return device, device.post(path)


# -- conferences and participants -----------------------------------------------------------


def test_a_coordinator_creates_a_conference_and_finds_it_in_the_list(
    coordinator: httpx.Client,
) -> None:
    conference_id = new_conference(coordinator, "Małgorzata Nowak")
    page = coordinator.get(f"/conferences/{conference_id}")
    assert "Małgorzata Nowak" in page.text
    assert "Hoe kan Sam zijn diploma halen?" in page.text
    assert "zaterdag 12 december 2026" in page.text
    listing = coordinator.get("/conferences")
    assert f'href="/conferences/{conference_id}"' in listing.text


def test_a_bad_conference_form_comes_back_with_errors_and_what_was_typed(
    coordinator: httpx.Client,
) -> None:
    response = coordinator.post(
        "/conferences/new",
        data={
            "client_name": "",
            "question": "Wat heeft Noor nodig?",
            "meeting_date": "31-12-2026",
        },
    )
    assert response.status_code == 400
    assert "Vul de naam van de cliënt in." in response.text
    assert "Geef een datum als 2026-12-31" in response.text
    assert "Wat heeft Noor nodig?" in response.text, "the question typed is kept"
    too_long = coordinator.post(
        "/conferences/new", data={"client_name": "Noor", "question": "x" * 1001}
    )
    assert too_long.status_code == 400
    assert "mag hoogstens 1000 tekens lang zijn" in too_long.text


def test_a_date_or_time_no_clock_can_show_is_refused_not_a_server_error(
    coordinator: httpx.Client,
) -> None:
    typed = {
        "client_name": "Noor Bakker",
        "question": "Wat heeft Noor nodig?",
        "start_time": "00:00",
        "end_time": "00:30",
    }
    # Before the year 1 in UTC; and the year after 9999 in the .ics's time zone.
    for day in ("0001-01-01", "9999-12-31"):
        refused = coordinator.post("/conferences/new", data={**typed, "meeting_date": day})
        assert refused.status_code == 400, day
        assert "Geef een datum tussen 2000 en 2999." in refused.text
    # The last Sunday of March: in Amsterdam the clock jumps from 02:00 to 03:00.
    spring = {**typed, "meeting_date": "2026-03-29", "start_time": "02:30", "end_time": "04:00"}
    skipped = coordinator.post("/conferences/new", data=spring)
    assert skipped.status_code == 400
    assert "02:30 bestaat niet op deze dag" in skipped.text
    # The last Sunday of October: 02:30 happens twice, and is taken as the first.
    autumn = {**spring, "meeting_date": "2026-10-25"}
    assert coordinator.post("/conferences/new", data=autumn).status_code == 303


def test_a_conference_gets_a_start_an_end_and_an_address_shown_on_its_page_and_cards(
    coordinator: httpx.Client,
) -> None:
    typed = {
        "client_name": "Noor Bakker",
        "question": "Wat heeft Noor nodig?",
        "meeting_date": "2026-12-12",
        "start_time": "16:00",
        "end_time": "14:30",
        "location": "Buurthuis",
        "address": "Kringweg 1, 3511 AA Utrecht",
    }
    backwards = coordinator.post("/conferences/new", data=typed)
    assert backwards.status_code == 400
    assert "De eindtijd moet na de begintijd (16:00) liggen." in backwards.text
    for value in ("2026-12-12", "16:00", "14:30", "Buurthuis", "Kringweg 1, 3511 AA Utrecht"):
        assert f'value="{value}"' in backwards.text, f"{value} typed is kept"
    dateless = coordinator.post("/conferences/new", data={**typed, "meeting_date": ""})
    assert dateless.status_code == 400 and "Vul de datum in" in dateless.text
    half = coordinator.post("/conferences/new", data={**typed, "end_time": ""})
    assert half.status_code == 400 and "Vul ook de eindtijd in" in half.text

    created = coordinator.post("/conferences/new", data={**typed, "end_time": "18:30"})
    assert created.status_code == 303
    conference_id = created.headers["location"].rsplit("/", 1)[1]
    page = coordinator.get(f"/conferences/{conference_id}").text
    for shown in ("zaterdag 12 december 2026", "van 16:00 tot 18:30 uur", "Kringweg 1, 3511 AA"):
        assert shown in page
    edit = coordinator.get(f"/conferences/{conference_id}/edit").text
    assert 'value="16:00"' in edit and 'value="18:30"' in edit

    person_id, _url = add_person(coordinator, conference_id, "Fatma Bakker")
    sheet = coordinator.post(
        f"/conferences/{conference_id}/cards", data={"participant": [str(person_id)]}
    )
    assert sheet.status_code == 200
    assert "zaterdag 12 december 2026, van 16:00 tot 18:30 uur" in sheet.text
    assert "Buurthuis, Kringweg 1, 3511 AA Utrecht" in sheet.text


def test_editing_a_conference_changes_its_question(coordinator: httpx.Client) -> None:
    conference_id = new_conference(coordinator)
    response = coordinator.post(
        f"/conferences/{conference_id}/edit",
        data={
            "client_name": "Sam Yılmaz",
            "question": "Hoe blijft Sam veilig thuis wonen?",
            "meeting_date": "",
            "location": "",
        },
    )
    assert response.status_code == 303
    page = coordinator.get(f"/conferences/{conference_id}")
    assert "Hoe blijft Sam veilig thuis wonen?" in page.text
    assert "nog niet gepland" in page.text


def test_adding_a_person_shows_their_link_and_qr_code_once(coordinator: httpx.Client) -> None:
    conference_id = new_conference(coordinator)
    response = coordinator.post(
        f"/conferences/{conference_id}/participants",
        data={"name": "Oma Fatma", "role": "network_member"},
        headers={"hx-request": "true"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section class="stack" id="participants"'), (
        "htmx gets only the participants section"
    )
    assert "Oma Fatma is toegevoegd." in response.text
    assert LINK.search(response.text)
    assert "<svg" in response.text and "Persoonlijke link van Oma Fatma" in response.text
    later = coordinator.get(f"/conferences/{conference_id}")
    assert "Oma Fatma" in later.text
    assert not LINK.search(later.text), "a stored link cannot be shown again"


def test_a_bad_participant_form_names_the_field(coordinator: httpx.Client) -> None:
    conference_id = new_conference(coordinator)
    response = coordinator.post(
        f"/conferences/{conference_id}/participants", data={"name": "Tante Elif", "role": "boss"}
    )
    assert response.status_code == 400
    assert "Kies een rol uit de lijst." in response.text
    assert 'value="Tante Elif"' in response.text
    nameless = coordinator.post(
        f"/conferences/{conference_id}/participants", data={"name": "  ", "role": "client"}
    )
    assert nameless.status_code == 400
    assert "Vul een naam in." in nameless.text


def test_an_unknown_conference_is_a_404_page(coordinator: httpx.Client) -> None:
    response = coordinator.get("/conferences/does-not-exist")
    assert response.status_code == 404
    assert "Deze conferentie bestaat niet (meer)." in response.text


def test_another_coordinators_conference_is_refused(
    live_server: LiveServer, coordinator: httpx.Client
) -> None:
    conference_id = new_conference(coordinator)
    add_account(live_server, "dirk@example.org")
    other = logged_in(live_server, "dirk@example.org")
    page = other.get(f"/conferences/{conference_id}")
    post = other.post(
        f"/conferences/{conference_id}/participants", data={"name": "Indringer", "role": "client"}
    )
    assert page.status_code == post.status_code == 403
    assert "andere coördinator" in page.text
    assert "Indringer" not in coordinator.get(f"/conferences/{conference_id}").text


def test_an_admin_sees_every_conference(live_server: LiveServer, coordinator: httpx.Client) -> None:
    conference_id = new_conference(coordinator, "Joris Admin-Test")
    add_account(live_server, "admin@example.org", "--admin")
    admin = logged_in(live_server, "admin@example.org")
    assert "Joris Admin-Test" in admin.get("/conferences").text
    assert admin.get(f"/conferences/{conference_id}").status_code == 200


def test_a_form_posted_from_another_site_is_refused(
    live_server: LiveServer, coordinator: httpx.Client
) -> None:
    conference_id = new_conference(coordinator)
    response = coordinator.post(
        f"/conferences/{conference_id}/participants",
        data={"name": "Via phishing", "role": "client"},
        headers={"origin": "https://evil.example"},
    )
    assert response.status_code == 403
    without_origin = httpx.Client(base_url=live_server.url, cookies=coordinator.cookies)
    fetch_meta = without_origin.post(
        f"/conferences/{conference_id}/participants",
        data={"name": "Via phishing", "role": "client"},
        headers={"sec-fetch-site": "cross-site"},
    )
    without_origin.close()
    assert fetch_meta.status_code == 403
    assert "Via phishing" not in coordinator.get(f"/conferences/{conference_id}").text


# -- invitation links -----------------------------------------------------------------------


def test_a_link_opens_the_persons_own_page_with_a_privacy_notice_once(
    live_server: LiveServer, coordinator: httpx.Client
) -> None:
    conference_id = new_conference(coordinator)
    _, url = add_person(coordinator, conference_id, "Derya Yılmaz")
    device, response = open_link(live_server, url)
    assert response.status_code == 303
    assert response.headers["location"] == f"/c/{conference_id}"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = device.get(f"/c/{conference_id}")
    assert page.status_code == 200
    assert "Derya Yılmaz" in page.text
    assert "Hoe kan Sam zijn diploma halen?" in page.text
    assert "Voorbereiding" in page.text, "the current phase is shown"
    assert "Voordat je begint" in page.text and "Wissen:" in page.text
    assert device.post(f"/c/{conference_id}/privacy").status_code == 303
    assert "Voordat je begint" not in device.get(f"/c/{conference_id}").text
    listing = coordinator.get(f"/conferences/{conference_id}")
    assert "geopend" in listing.text


def test_one_link_works_on_two_devices(live_server: LiveServer, coordinator: httpx.Client) -> None:
    conference_id = new_conference(coordinator)
    _, url = add_person(coordinator, conference_id, "Jan de Boer")
    tablet, _ = open_link(live_server, url)
    phone, _ = open_link(live_server, url)
    assert "Jan de Boer" in tablet.get(f"/c/{conference_id}").text
    assert "Jan de Boer" in phone.get(f"/c/{conference_id}").text


def test_a_revoked_link_says_so_and_signs_out_its_devices(
    live_server: LiveServer, coordinator: httpx.Client
) -> None:
    conference_id = new_conference(coordinator)
    person_id, url = add_person(coordinator, conference_id, "Peter Jansen")
    tablet, _ = open_link(live_server, url)
    revoke = coordinator.post(f"/conferences/{conference_id}/participants/{person_id}/revoke")
    assert "Geen enkele link van Peter Jansen werkt nog, op geen enkel apparaat." in revoke.text

    _, again = open_link(live_server, url)
    assert again.status_code == 410
    assert "Deze link werkt niet meer" in again.text
    assert "Vraag een nieuwe link aan" in again.text, "names the coordinator to ask"
    signed_out = tablet.get(f"/c/{conference_id}")
    assert signed_out.status_code == 401
    assert "Peter Jansen" not in signed_out.text


def test_a_new_link_adds_one_and_the_old_one_keeps_working(
    live_server: LiveServer, coordinator: httpx.Client
) -> None:
    conference_id = new_conference(coordinator)
    person_id, old_url = add_person(coordinator, conference_id, "Noah Bakker")
    tablet, _ = open_link(live_server, old_url)
    response = coordinator.post(f"/conferences/{conference_id}/participants/{person_id}/link")
    match = LINK.search(response.text)
    assert match and match.group(2) != old_url
    assert "Eerdere links blijven werken" in response.text
    assert open_link(live_server, old_url)[1].status_code == 303, "the link sent earlier works"
    assert "Noah Bakker" in tablet.get(f"/c/{conference_id}").text, "its device stays in"
    device, opened = open_link(live_server, match.group(2))
    assert opened.status_code == 303
    assert "Noah Bakker" in device.get(f"/c/{conference_id}").text


def test_a_removed_person_can_no_longer_get_in(
    live_server: LiveServer, coordinator: httpx.Client
) -> None:
    conference_id = new_conference(coordinator)
    person_id, url = add_person(coordinator, conference_id, "Per Ongeluk")
    response = coordinator.post(f"/conferences/{conference_id}/participants/{person_id}/remove")
    assert "Per Ongeluk is van de lijst gehaald." in response.text
    opened = open_link(live_server, url)[1]
    assert opened.status_code == 410
    assert "Je staat niet meer op de lijst" in opened.text


def test_an_unknown_link_is_a_404_page_that_says_what_to_do(live_server: LiveServer) -> None:
    with live_server.client() as browser:
        response = browser.get("/i/not-a-real-token")
    assert response.status_code == 404
    assert "Deze link kennen we niet" in response.text
    assert "vraag dan de coördinator die je uitnodigde om een nieuwe persoonlijke link" in (
        response.text
    )


def test_an_expired_link_says_it_has_expired(
    live_server: LiveServer, coordinator: httpx.Client
) -> None:
    conference_id = new_conference(coordinator)
    person_id, url = add_person(coordinator, conference_id, "Karin Lindeman")
    in_store(
        live_server.instance.database_url,
        lambda store: store.expire_invitation(person_id, utcnow() - timedelta(minutes=1)),
    )
    response = open_link(live_server, url)[1]
    assert response.status_code == 410
    assert "Deze link is verlopen" in response.text


def test_a_forged_participant_cookie_gets_a_page_that_says_what_to_do(
    live_server: LiveServer, coordinator: httpx.Client
) -> None:
    conference_id = new_conference(coordinator)
    with live_server.client(cookies={"kring_participant": "forged"}) as browser:
        response = browser.get(f"/c/{conference_id}")
    assert response.status_code == 401
    assert "Je bent niet (meer) aangemeld op dit apparaat" in response.text
    with live_server.client() as stranger:
        assert "Open eerst je persoonlijke link" in stranger.get(f"/c/{conference_id}").text


def test_a_participant_cannot_look_into_another_conference(
    live_server: LiveServer, coordinator: httpx.Client
) -> None:
    mine, other = new_conference(coordinator), new_conference(coordinator)
    _, url = add_person(coordinator, mine, "Elif Demir")
    device, _ = open_link(live_server, url)
    response = device.get(f"/c/{other}")
    assert response.status_code == 403
    assert "andere conferentie" in response.text
    assert device.get(f"/conferences/{mine}").status_code == 303, "not a coordinator"


def test_printing_cards_adds_a_link_for_each_chosen_person(
    live_server: LiveServer, coordinator: httpx.Client
) -> None:
    conference_id = new_conference(coordinator)
    first_id, first_url = add_person(coordinator, conference_id, "Fatma Yılmaz")
    _, second_url = add_person(coordinator, conference_id, "Mehmet Yılmaz")
    choose = coordinator.get(f"/conferences/{conference_id}/cards")
    assert "Fatma Yılmaz" in choose.text and "Mehmet Yılmaz" in choose.text
    nobody = coordinator.post(f"/conferences/{conference_id}/cards", data={})
    assert nobody.status_code == 400 and "Kies minstens één persoon." in nobody.text

    sheet = coordinator.post(
        f"/conferences/{conference_id}/cards", data={"participant": [str(first_id)]}
    )
    assert sheet.status_code == 200
    assert sheet.text.count('<article class="card">') == 1
    assert "Fatma Yılmaz" in sheet.text and "<svg" in sheet.text
    assert open_link(live_server, first_url)[1].status_code == 303, "a card adds a link"
    assert open_link(live_server, second_url)[1].status_code == 303, "untouched"


def test_the_coordinator_row_has_no_link_to_reissue(coordinator: httpx.Client) -> None:
    conference_id = new_conference(coordinator)
    page = coordinator.get(f"/conferences/{conference_id}")
    rows = re.findall(r'<tr id="participant-(\d+)">(.*?)</tr>', page.text, re.DOTALL)
    [coordinator_id] = [pid for pid, cells in rows if "logt in met account" in cells]
    response = coordinator.post(f"/conferences/{conference_id}/participants/{coordinator_id}/link")
    assert response.status_code == 409
    assert "logt in met een account" in response.text


def test_a_link_preview_fetching_the_link_signs_nobody_in(
    live_server: LiveServer, coordinator: httpx.Client
) -> None:
    conference_id = new_conference(coordinator)
    _, url = add_person(coordinator, conference_id, "Bot Voorbeeld")
    with live_server.client() as preview:
        page = preview.get(url.removeprefix(live_server.url))
    assert page.status_code == 200 and "Bot Voorbeeld" in page.text
    assert "set-cookie" not in page.headers
    assert "nog niet geopend" in coordinator.get(f"/conferences/{conference_id}").text


def test_repeated_refusals_of_one_link_are_one_audit_event_with_a_count(
    live_server: LiveServer, coordinator: httpx.Client
) -> None:
    conference_id = new_conference(coordinator)
    person_id, url = add_person(coordinator, conference_id, "Herhaald Proberen")
    coordinator.post(f"/conferences/{conference_id}/participants/{person_id}/revoke")
    with live_server.client() as device:
        for _ in range(3):
            assert device.post(url.removeprefix(live_server.url)).status_code == 410
    events = in_store(
        live_server.instance.database_url, lambda store: store.audit_events(conference_id)
    )
    refused = [e for e in events if e.kind == "link_refused"]
    assert [(e.count, e.detail) for e in refused] == [(3, {"reason": "revoked"})]


def test_an_htmx_action_after_the_session_ended_reloads_to_the_login(
    live_server: LiveServer,
) -> None:
    add_account(live_server, "eva@example.org")
    client = logged_in(live_server, "eva@example.org")
    conference_id = new_conference(client)
    page_url = f"{live_server.url}/conferences/{conference_id}"
    old_cookie = client.cookies["kring_coordinator"]
    client.post("/logout")  # ended on the server; the tablet still holds the old cookie
    client.cookies.set("kring_coordinator", old_cookie)
    response = client.post(
        f"/conferences/{conference_id}/participants",
        data={"name": "Te laat", "role": "client"},
        headers={"hx-request": "true", "hx-current-url": page_url},
    )
    assert response.status_code == 204
    assert response.headers["hx-redirect"] == (
        f"/login?next=/conferences/{conference_id}&expired=1"
    )


def test_an_htmx_action_that_is_refused_shows_why_in_place_of_the_page(
    live_server: LiveServer, coordinator: httpx.Client
) -> None:
    conference_id = new_conference(coordinator)
    response = coordinator.post(
        f"/conferences/{conference_id}/participants/99999/remove",
        headers={"hx-request": "true"},
    )
    assert response.status_code == 404
    assert response.headers["hx-retarget"] == "#main"
    assert "Deze deelnemer staat niet (meer) op de lijst." in response.text
    assert "<html" not in response.text, "a fragment, not a page inside the page"
    huge = coordinator.post(f"/conferences/{conference_id}/participants/{2**40}/remove")
    assert huge.status_code == 404


def test_a_second_coordinator_is_added_by_account_and_can_then_run_it(
    live_server: LiveServer, coordinator: httpx.Client
) -> None:
    conference_id = new_conference(coordinator)
    unknown = coordinator.post(
        f"/conferences/{conference_id}/participants",
        data={"role": "coordinator", "email": "nobody@example.org"},
    )
    assert unknown.status_code == 400
    assert "Er is nog geen account met dit e-mailadres. Vul ook de naam in" in unknown.text

    add_account(live_server, "fleur@example.org", "--name", "Fleur Co")
    added = coordinator.post(
        f"/conferences/{conference_id}/participants",
        data={"role": "coordinator", "email": "Fleur@Example.org"},
    )
    assert "Fleur Co is nu ook coördinator" in added.text
    assert not LINK.search(added.text), "a coordinator gets no link"
    again = coordinator.post(
        f"/conferences/{conference_id}/participants",
        data={"role": "coordinator", "email": "fleur@example.org"},
    )
    assert again.status_code == 400 and "is al coördinator" in again.text

    fleur = logged_in(live_server, "fleur@example.org")
    assert f"/conferences/{conference_id}" in fleur.get("/conferences").text
    assert fleur.get(f"/conferences/{conference_id}").status_code == 200

    rows = re.findall(r'<tr id="participant-(\d+)">(.*?)</tr>', added.text, re.DOTALL)
    [fleur_row] = [pid for pid, cells in rows if "Fleur Co" in cells]
    [owner_row] = [pid for pid, cells in rows if "lotte" in cells]
    base = f"/conferences/{conference_id}/participants"
    assert coordinator.post(f"{base}/{owner_row}/remove").status_code == 409
    assert coordinator.post(f"{base}/{fleur_row}/remove").status_code == 200
    assert fleur.get(f"/conferences/{conference_id}").status_code == 403
