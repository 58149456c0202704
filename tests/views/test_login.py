"""A coordinator's login on a real server over HTTP: a wrong password says as little as an
unknown email, repeated guesses lock the address, an empty form names what is missing, a
stranger is sent to the login, and neither an old cookie after logout nor a forged one is a
login."""

from __future__ import annotations

import pytest

from tests.support.people import ACCOUNT_PASSWORD as PASSWORD
from tests.support.people import add_account, logged_in
from tests.support.server import LiveServer

pytestmark = pytest.mark.usefixtures("devices_closed")


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(live_server: LiveServer) -> None:
    add_account(live_server, "anna@example.org")
    with live_server.client() as browser:
        wrong = browser.post("/login", data={"email": "anna@example.org", "password": "nope"})
        unknown = browser.post("/login", data={"email": "nobody@example.org", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert "Dit e-mailadres en wachtwoord horen niet bij elkaar." in wrong.text
    assert "Dit e-mailadres en wachtwoord horen niet bij elkaar." in unknown.text
    assert 'value="anna@example.org"' in wrong.text, "the email stays in the form"
    assert "nope" not in wrong.text, "the password is never echoed"
    assert "kring_coordinator" not in wrong.headers.get("set-cookie", "")


def test_repeated_wrong_passwords_lock_the_address(live_server: LiveServer) -> None:
    add_account(live_server, "ben@example.org")
    with live_server.client() as browser:
        statuses = [
            browser.post(
                "/login", data={"email": "ben@example.org", "password": f"guess {i}"}
            ).status_code
            for i in range(5)
        ]
        assert statuses == [401] * 5
        locked = browser.post("/login", data={"email": "ben@example.org", "password": PASSWORD})
    assert locked.status_code == 429
    assert "Probeer het over een kwartier opnieuw" in locked.text


def test_an_empty_login_form_says_which_field_is_missing(live_server: LiveServer) -> None:
    with live_server.client() as browser:
        response = browser.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 400
    assert "Vul je e-mailadres in." in response.text
    assert "Vul je wachtwoord in." in response.text


def test_coordinator_pages_send_a_stranger_to_the_login(live_server: LiveServer) -> None:
    with live_server.client() as browser:
        response = browser.get("/conferences")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/conferences"


def test_after_logout_the_old_cookie_no_longer_works(live_server: LiveServer) -> None:
    add_account(live_server, "carla@example.org")
    client = logged_in(live_server, "carla@example.org")
    cookie = client.cookies["kring_coordinator"]
    assert client.post("/logout").status_code == 303
    with live_server.client(cookies={"kring_coordinator": cookie}) as replay:
        response = replay.get("/conferences")
    assert response.status_code == 303
    assert "expired=1" in response.headers["location"]


def test_a_forged_coordinator_cookie_is_not_a_login(live_server: LiveServer) -> None:
    with live_server.client(cookies={"kring_coordinator": "forged"}) as browser:
        response = browser.get("/conferences", follow_redirects=True)
    assert response.status_code == 200
    assert "Log opnieuw in" in response.text
