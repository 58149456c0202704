"""A shared tablet: switching to another person's link, forgetting the device, and the
service worker that lets a tablet reload the plan offline (server/views/device.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.people import let_in
from tests.support.server import LiveServer

pytestmark = pytest.mark.usefixtures("devices_closed")


@pytest.fixture(scope="module")
def demo(live_server: LiveServer) -> dict[str, Any]:
    return live_server.instance.demo("--phase", "private_time")


def test_switch_person_opens_another_invitation_link_of_this_site(
    live_server: LiveServer, demo: dict[str, Any]
) -> None:
    tablet = live_server.client()
    link = demo["participants"][1]["invitation_url"]
    path = link.removeprefix(live_server.url)
    for given in (link, path, f"  {link}  "):
        response = tablet.get("/switch", params={"link": given})
        assert (response.status_code, response.headers["location"]) == (303, path)


@pytest.mark.parametrize(
    "given",
    [
        "https://evil.example/i/" + "a" * 43,  # another site
        "//evil.example/i/" + "a" * 43,
        "/conferences",  # not an invitation
        "/i/short",
        "/i/" + "a" * 43 + "?next=https://evil.example",
        "",
    ],
)
def test_switch_person_refuses_anything_but_an_invitation_link_and_says_what_to_do(
    live_server: LiveServer, given: str
) -> None:
    response = live_server.client().get("/switch", params={"link": given})
    assert response.status_code == 400
    assert "Dit is geen uitnodigingslink van Kring" in response.text
    assert "Kopieer de hele link" in response.text


def test_forget_this_device_ends_the_session_and_asks_the_browser_to_clear_everything(
    live_server: LiveServer, demo: dict[str, Any]
) -> None:
    tablet = live_server.client()
    link = demo["participants"][2]["invitation_url"]
    assert tablet.post(link).status_code == 303
    let_in(live_server.instance, tablet.cookies["kring_participant"])  # before private time
    plan = f"/c/{demo['conference_id']}/plan"
    assert tablet.get(plan).status_code == 200
    cookie = tablet.cookies["kring_participant"]

    forgotten = tablet.post(f"/c/{demo['conference_id']}/forget")

    assert forgotten.status_code == 200
    assert forgotten.headers["clear-site-data"] == '"cache", "cookies", "storage"'
    assert "Dit apparaat is vergeten" in forgotten.text
    assert "kring_participant" not in tablet.cookies
    # The old cookie is worthless now, also if a browser kept it.
    again = live_server.client()
    again.cookies.set("kring_participant", cookie)
    assert again.get(plan).status_code == 401


def test_the_plan_page_is_never_kept_in_the_http_cache_and_the_worker_is_served_from_the_root(
    live_server: LiveServer, demo: dict[str, Any]
) -> None:
    tablet = live_server.client()
    tablet.post(demo["participants"][0]["invitation_url"])
    let_in(live_server.instance, tablet.cookies["kring_participant"])  # before private time
    page = tablet.get(f"/c/{demo['conference_id']}/plan")
    assert page.headers["cache-control"] == "no-store"
    worker = tablet.get("/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    assert 'addEventListener("fetch"' in worker.text
