"""The second factor over HTTP on a real server: a coordinator turns on an authenticator app,
logs in with its code (or a recovery code, once), a used code and wrong codes are refused
and count toward the login's lock, a login halfway belongs to one browser and expires, and
an admin can require a second factor of everyone."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from server.rules import twofactor
from server.storage.models import AuditEvent, LoginStep, SecondFactor, utcnow
from server.storage.store import Store
from tests.support.browser import TABLET, TIMEOUT_MS
from tests.support.databases import in_store
from tests.support.server import LiveServer, make_instance, serving

PASSWORD = "correct horse battery"
pytestmark = pytest.mark.usefixtures("devices_closed")
SECRET = re.compile(r'<code id="secret">([A-Z2-7 ]+)</code>')
CODE = re.compile(r"<li><code>([0-9a-z]{5}-[0-9a-z]{5})</code></li>")


PASSWORD_HASH = PasswordHasher().hash(PASSWORD)  # made once: accounts go straight in


def add_account(server: LiveServer, email: str, role: str = "coordinator") -> None:
    async def add(store: Store) -> None:
        await store.create_account(email, email.split("@")[0].title(), PASSWORD_HASH, role)

    in_store(server.instance.database_url, add)


def password_step(
    server: LiveServer, email: str, client: httpx.Client | None = None
) -> httpx.Client:
    client = client or server.client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 303, response.text
    return client


class Phone:
    """An authenticator app: the secret read from the page's text, codes for any step."""

    def __init__(self, page: str) -> None:
        found = SECRET.search(page)
        assert found, "the page shows the secret as text, for an app that cannot scan"
        self.secret = found.group(1).replace(" ", "")

    def code(self, steps_ahead: int = 0) -> str:
        return twofactor.code_for(self.secret, twofactor.step_at(utcnow()) + steps_ahead)

    def wrong(self) -> str:
        """A code that is none of those around now."""
        near = {self.code(offset) for offset in range(-2, 3)}
        return next(c for c in (f"{n:06d}" for n in range(0, 1000000, 7919)) if c not in near)


def turned_on(server: LiveServer, email: str) -> tuple[Phone, list[str]]:
    """A coordinator with an app set up: the phone and the ten recovery codes."""
    add_account(server, email)
    client = password_step(server, email)
    phone = Phone(client.get("/account/two-factor").text)
    response = client.post("/account/two-factor", data={"code": phone.code()})
    assert response.status_code == 200, response.text
    return phone, CODE.findall(response.text)


def audit_kinds(server: LiveServer) -> list[str]:
    async def kinds(store: Store) -> list[str]:
        async with store._sessions() as db:
            return list(await db.scalars(select(AuditEvent.kind).order_by(AuditEvent.id)))

    return in_store(server.instance.database_url, kinds)


# -- turning it on ----------------------------------------------------------------------------


def test_turning_on_takes_a_right_code_and_shows_ten_recovery_codes_once(
    live_server: LiveServer,
) -> None:
    add_account(live_server, "anna@example.org")
    client = password_step(live_server, "anna@example.org")
    page = client.get("/account/two-factor")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "<svg" in page.text and "QR-code om te scannen" in page.text
    phone = Phone(page.text)
    assert Phone(client.get("/account/two-factor").text).secret == phone.secret, (
        "a reload shows the same QR code"
    )

    not_digits = client.post("/account/two-factor", data={"code": "abc"})
    assert not_digits.status_code == 400
    assert "Typ de zes cijfers die je app nu laat zien." in not_digits.text
    wrong = client.post("/account/two-factor", data={"code": phone.wrong()})
    assert wrong.status_code == 400
    assert "Deze code klopt niet." in wrong.text
    assert Phone(wrong.text).secret == phone.secret, "still being set up, with the same QR code"

    done = client.post("/account/two-factor", data={"code": phone.code()})
    assert done.status_code == 200
    assert done.headers["cache-control"] == "no-store"
    assert "Je tweestapsverificatie staat aan." in done.text
    codes = CODE.findall(done.text)
    assert len(set(codes)) == 10
    again = client.get("/account/two-factor")
    assert "Je hebt nog 10 herstelcodes die je niet hebt gebruikt." in again.text
    assert not set(codes) & set(CODE.findall(again.text)), "the codes are shown once"
    assert "two_factor_on" in audit_kinds(live_server)

    async def stored(store: Store) -> str:
        async with store._sessions() as db:
            return str(await db.scalar(select(SecondFactor.secret)))

    kept = in_store(live_server.instance.database_url, stored)
    assert phone.secret not in kept, "the secret is stored encrypted"
    log = (live_server.instance.folder / "server.log").read_text()
    assert phone.secret not in log and codes[0] not in log


# -- logging in -----------------------------------------------------------------------------


def test_login_asks_the_code_after_the_password_and_refuses_it_twice(
    live_server: LiveServer,
) -> None:
    phone, _codes = turned_on(live_server, "ben@example.org")
    client = live_server.client()
    response = client.post(
        "/login?next=/conferences/new",
        data={"email": "ben@example.org", "password": PASSWORD},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login/code"
    assert "kring_coordinator" not in client.cookies
    assert client.get("/conferences").status_code == 303, "nothing opens before the code"
    assert "de code uit je app" in client.get("/login/code").text

    code = phone.code(1)  # the next step's code: the one that turned it on is used already
    signed_in = client.post("/login/code", data={"code": code})
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/conferences/new"
    assert client.get("/conferences/new").status_code == 200
    assert "kring_login_step" not in client.cookies

    replay = password_step(live_server, "ben@example.org")
    refused = replay.post("/login/code", data={"code": code})
    assert refused.status_code == 401
    assert "Deze code is al gebruikt. Wacht op de volgende code." in refused.text
    assert "kring_coordinator" not in replay.cookies


def test_a_recovery_code_works_once(live_server: LiveServer) -> None:
    _phone, codes = turned_on(live_server, "carla@example.org")
    client = password_step(live_server, "carla@example.org")
    typed = codes[3].upper().replace("-", " ")  # as someone might type it from paper
    response = client.post("/login/code", data={"code": typed})
    assert response.status_code == 303
    assert response.headers["location"] == "/account/two-factor?used=1"
    page = client.get(response.headers["location"]).text
    assert "Je bent ingelogd met een herstelcode." in page
    assert "Je hebt nog 9 herstelcodes die je niet hebt gebruikt." in page

    again = password_step(live_server, "carla@example.org")
    refused = again.post("/login/code", data={"code": codes[3]})
    assert refused.status_code == 401
    assert "Deze code klopt niet." in refused.text
    assert {"recovery_code_used", "two_factor_refused"} <= set(audit_kinds(live_server))


def test_wrong_codes_lock_the_login_like_wrong_passwords(live_server: LiveServer) -> None:
    phone, _codes = turned_on(live_server, "daan@example.org")
    client = password_step(live_server, "daan@example.org")  # the password counts until the code
    statuses = [
        client.post("/login/code", data={"code": phone.wrong()}).status_code for _ in range(4)
    ]
    assert statuses == [401] * 4
    locked = client.post("/login/code", data={"code": phone.wrong()})
    assert locked.status_code == 429
    assert "Probeer het over een kwartier opnieuw" in locked.text
    right = client.post("/login/code", data={"code": phone.code(1)})
    assert right.status_code == 429, "a locked login refuses even the right code"
    with live_server.client() as other:
        password = other.post("/login", data={"email": "daan@example.org", "password": PASSWORD})
    assert password.status_code == 429, "and the password from this address too"


def test_a_login_halfway_belongs_to_its_browser_and_expires(live_server: LiveServer) -> None:
    phone, _codes = turned_on(live_server, "eva@example.org")
    password_step(live_server, "eva@example.org")
    with live_server.client() as stranger:
        response = stranger.post("/login/code", data={"code": phone.code(1)})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?")

    client = password_step(live_server, "eva@example.org")

    async def expire(store: Store) -> None:
        async with store._sessions() as db:
            await db.execute(update(LoginStep).values(expires_at=utcnow() - timedelta(seconds=1)))
            await db.commit()

    in_store(live_server.instance.database_url, expire)
    late = client.post("/login/code", data={"code": phone.code(1)})
    assert late.status_code == 303
    assert "expired=1" in late.headers["location"]
    assert "kring_coordinator" not in client.cookies


def test_a_login_halfway_ends_when_the_account_is_turned_off(live_server: LiveServer) -> None:
    phone, _codes = turned_on(live_server, "evert@example.org")
    client = password_step(live_server, "evert@example.org")

    async def account_of(store: Store) -> int:
        found = await store.account_by_email("evert@example.org")
        assert found is not None
        return found.id

    account_id = in_store(live_server.instance.database_url, account_of)

    async def turn_off(store: Store) -> None:
        await store.deactivate_account(account_id)

    in_store(live_server.instance.database_url, turn_off)
    late = client.post("/login/code", data={"code": phone.code(1)})
    assert late.status_code == 303
    assert late.headers["location"].startswith("/login?"), "back to the password"
    assert "kring_coordinator" not in client.cookies

    async def turn_on(store: Store) -> None:
        await store.reactivate_account(account_id)

    in_store(live_server.instance.database_url, turn_on)
    page = client.get("/conferences")
    assert page.status_code == 303, "turning it on again signs nobody in"
    assert page.headers["location"].startswith("/login?")


def test_bad_input_gets_a_clear_answer_and_changes_nothing(live_server: LiveServer) -> None:
    phone, _codes = turned_on(live_server, "fleur@example.org")
    client = password_step(live_server, "fleur@example.org")
    for typed in ("", "12345", "1234567", "x" * 300, "abcde-fghjk-m"):
        response = client.post("/login/code", data={"code": typed})
        assert response.status_code == 400, typed
        assert "Typ de zes cijfers uit je app, of een herstelcode van tien tekens." in response.text
    assert client.post("/login/code", data={"code": phone.code(1)}).status_code == 303, (
        "bad input did not count toward the lock"
    )
    for path in ("/account/two-factor/off", "/account/two-factor/recovery-codes"):
        wrong = client.post(path, data={"check": "not my password"})
        assert wrong.status_code == 401
        assert "Dit wachtwoord of deze code klopt niet." in wrong.text
        empty = client.post(path, data={"check": ""})
        assert empty.status_code == 400
    page = client.get("/account/two-factor").text
    assert "Je hebt nog 10 herstelcodes" in page, "still on, the same codes"
    with live_server.client() as stranger:
        assert stranger.get("/login/code").status_code == 303
        assert stranger.post("/account/two-factor/off", data={"check": PASSWORD}).status_code == 303


def test_new_recovery_codes_replace_the_old_and_turning_off_asks_the_password(
    live_server: LiveServer,
) -> None:
    phone, old = turned_on(live_server, "gijs@example.org")
    client = password_step(live_server, "gijs@example.org")
    client.post("/login/code", data={"code": phone.code(1)})
    renewed = client.post("/account/two-factor/recovery-codes", data={"check": PASSWORD})
    assert renewed.status_code == 200
    new = CODE.findall(renewed.text)
    assert len(new) == 10 and not set(new) & set(old)
    off = client.post("/account/two-factor/off", data={"check": PASSWORD})
    assert off.status_code == 303
    assert "QR-code om te scannen" in client.get("/account/two-factor").text
    with live_server.client() as browser:
        plain = browser.post("/login", data={"email": "gijs@example.org", "password": PASSWORD})
    assert plain.headers["location"] == "/conferences", "only the password again"
    assert {"recovery_codes_renewed", "two_factor_off"} <= set(audit_kinds(live_server))


def test_a_coordinator_with_the_app_on_changes_their_own_password(
    live_server: LiveServer,
) -> None:
    phone, _codes = turned_on(live_server, "iris@example.org")
    client = password_step(live_server, "iris@example.org")
    assert client.post("/login/code", data={"code": phone.code(1)}).status_code == 303
    new = "a new kettle on the stove"
    changed = client.post(
        "/account/password",
        data={"old_password": PASSWORD, "password": new, "password_again": new},
    )
    assert changed.status_code == 200, changed.text
    assert "Je wachtwoord is gewijzigd." in changed.text
    assert "Je huidige wachtwoord klopt niet." not in changed.text
    with live_server.client() as browser:
        old = browser.post("/login", data={"email": "iris@example.org", "password": PASSWORD})
        assert old.status_code == 401, "the old password no longer works"
        step = browser.post("/login", data={"email": "iris@example.org", "password": new})
        assert step.headers["location"] == "/login/code", "the new one, then the code"


def test_an_operator_turns_off_a_lost_second_factor_on_the_command_line(
    live_server: LiveServer,
) -> None:
    turned_on(live_server, "hugo@example.org")
    done = live_server.instance.cli("coordinator", "two-factor-off", "Hugo@example.org")
    assert "second factor of hugo@example.org turned off" in done.stderr
    with live_server.client() as browser:
        plain = browser.post("/login", data={"email": "hugo@example.org", "password": PASSWORD})
    assert plain.headers["location"] == "/conferences"
    again = live_server.instance.cli(
        "coordinator", "two-factor-off", "hugo@example.org", check=False
    )
    assert again.returncode == 2 and "no second factor for hugo@example.org" in again.stderr


@pytest.mark.postgres
def test_a_long_place_to_return_to_does_not_break_the_login_on_postgresql(
    postgres_url: str, tmp_path: Path
) -> None:
    with serving(make_instance(tmp_path, KRING_DATABASE_URL=postgres_url)) as server:
        phone, _codes = turned_on(server, "kees@example.org")
        client = server.client()
        response = client.post(
            "/login",
            params={"next": "/conferences/" + "a" * 3000},
            data={"email": "kees@example.org", "password": PASSWORD},
        )
        assert response.status_code == 303, "not a 500: the place is too long to keep"
        assert response.headers["location"] == "/login/code"
        signed_in = client.post("/login/code", data={"code": phone.code(1)})
        assert signed_in.headers["location"] == "/conferences"
        for device in server.clients:  # this server's own devices (devices_closed: the module's)
            device.close()


# -- required for everyone (last: it changes every login on this server) ---------------------


@pytest.fixture
def required_reset(live_server: LiveServer) -> Iterator[None]:
    yield

    async def reset(store: Store) -> None:
        await store.require_two_factor(False, "test")

    in_store(live_server.instance.database_url, reset)


@pytest.mark.usefixtures("required_reset")
def test_an_admin_can_require_a_second_factor_of_everyone(live_server: LiveServer) -> None:
    add_account(live_server, "hanna@example.org")
    without = live_server.client()
    password_step(live_server, "hanna@example.org", without)
    assert without.get("/admin/two-factor").status_code == 403, "only an admin reaches it"

    add_account(live_server, "ilse@example.org", "admin")
    admin = password_step(live_server, "ilse@example.org")
    page = admin.get("/admin/two-factor")
    assert "Niet verplicht: iedereen kiest zelf." in page.text
    first = admin.post("/admin/two-factor", data={"required": "on"})
    assert first.status_code == 409
    assert "Zet eerst je eigen tweestapsverificatie aan." in first.text
    phone = Phone(admin.get("/account/two-factor").text)
    admin.post("/account/two-factor", data={"code": phone.code()})
    bad = admin.post("/admin/two-factor", data={"required": "yes"})
    assert bad.status_code == 400 and "Kies aan of uit." in bad.text
    assert "Niet verplicht" in bad.text, "bad input changes nothing"
    on = admin.post("/admin/two-factor", data={"required": "on"})
    assert on.status_code == 200
    assert "Verplicht: wie nog geen tweede stap heeft" in on.text
    assert admin.get("/conferences").status_code == 200, "the admin has one: still signed in"
    ended = without.get("/conferences")
    assert ended.status_code == 303 and "expired=1" in ended.headers["location"]

    login = live_server.client()
    response = login.post("/login", data={"email": "hanna@example.org", "password": PASSWORD})
    assert response.headers["location"] == "/account/two-factor", "sent to set it up first"
    assert login.get("/conferences").status_code == 303, "nothing else opens"
    assert login.get("/conferences/new").status_code == 303
    setup = login.get("/account/two-factor")
    assert "Je organisatie vraagt een tweede stap van iedereen." in setup.text
    done = login.post("/account/two-factor", data={"code": Phone(setup.text).code()})
    assert done.status_code == 200
    assert len(CODE.findall(done.text)) == 10
    assert 'href="/conferences"' in done.text
    assert login.get("/conferences").status_code == 200, "signed in once it is on"

    assert "two_factor_required" in audit_kinds(live_server)


@pytest.mark.usefixtures("required_reset")
def test_the_way_on_after_setting_up_never_leads_to_another_site(live_server: LiveServer) -> None:
    async def require(store: Store) -> None:
        await store.require_two_factor(True, "test")

    in_store(live_server.instance.database_url, require)
    add_account(live_server, "jorien@example.org")
    for sent in ("/%09/evil.example/login", "/\t/evil.example"):
        login = live_server.client()
        response = login.post(
            "/login",
            params={"next": sent},
            data={"email": "jorien@example.org", "password": PASSWORD},
        )
        assert response.headers["location"] == "/account/two-factor"
        setup = login.get("/account/two-factor")
        done = login.post("/account/two-factor", data={"code": Phone(setup.text).code()})
        assert done.status_code == 200
        found = re.search(r'<a class="button" href="([^"]*)">Ik heb ze bewaard', done.text)
        assert found, "the page leads on"
        # A browser drops tabs and line breaks from an address: "/\t/x" is "//x".
        onward = urljoin(live_server.url, html.unescape(found[1]))
        assert urlsplit(onward).netloc == urlsplit(live_server.url).netloc, onward

        async def turn_off(store: Store) -> None:
            found = await store.account_by_email("jorien@example.org")
            assert found is not None
            await store.turn_off_second_factor(found.id)

        in_store(live_server.instance.database_url, turn_off)


# -- in a real Chromium (last: the browser starts once, for this test only) ------------------


@pytest.mark.browser
def test_a_coordinator_turns_on_the_app_and_logs_in_with_its_code(
    live_server: LiveServer, browser: object
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    add_account(live_server, "sophie@example.org")
    context = browser.new_context(**TABLET)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()

    def log_in() -> None:
        page.goto(f"{live_server.url}/login")
        page.get_by_label("E-mailadres").fill("sophie@example.org")
        page.get_by_label("Wachtwoord").fill(PASSWORD)
        page.get_by_role("button", name="Inloggen").click()

    log_in()
    page.get_by_role("link", name="Tweestapsverificatie").click()
    expect(page.locator(".qr svg")).to_be_visible()
    phone = Phone(f'<code id="secret">{page.locator("#secret").inner_text()}</code>')
    page.get_by_label("Typ de code van zes cijfers").fill(phone.code())
    page.get_by_role("button", name="Aanzetten").click()
    expect(page.get_by_text("Je tweestapsverificatie staat aan.")).to_be_visible()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="Ik heb ze bewaard, verder").click()
    page.get_by_role("button", name="Uitloggen").click()

    log_in()
    expect(page.get_by_role("heading", name="Inloggen: de code uit je app")).to_be_visible()
    page.get_by_label("Code", exact=True).fill(phone.code(1))
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("heading", name="Conferenties")).to_be_visible()
    page.get_by_role("link", name="Nieuwe conferentie", exact=True).click()
    page.get_by_label("Naam van de cliënt").fill("Noor Aydın")
    page.get_by_label("Conferentievraag").fill("Hoe kan Noor weer naar school?")
    page.get_by_role("button", name="Conferentie maken").click()
    expect(page.get_by_role("heading", name="Noor Aydın")).to_be_visible()
    context.close()
