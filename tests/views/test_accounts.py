"""Accounts in the browser on a real server: an admin invites, turns accounts off and on,
lifts a lock, gives and takes the admin role and hands a conference over; a coordinator
chooses a password through a one-time link, changes their own, and invites a co-coordinator.
Each bad input is refused with a clear message and changes nothing."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from server.conference import auth
from server.settings import Settings
from server.storage.models import AccountLink, utcnow
from server.storage.store import Store
from tests.support.databases import in_store
from tests.support.server import LiveServer

PASSWORD = "correct horse battery"
ACCOUNT_LINK = re.compile(r'<code id="account-link-url">(http://[^<]+/password/([^<]+))</code>')
pytestmark = pytest.mark.usefixtures("devices_closed")


def add_account(server: LiveServer, name: str, role: str = "coordinator") -> str:
    """An account made straight in the database (as `kring coordinator add` does); its email."""
    email = f"{name.split()[0].lower()}-{secrets.token_hex(3)}@example.org"

    async def make(store: Store) -> None:
        await store.create_account(email, name, await auth.hash_password(PASSWORD), role)

    in_store(server.instance.database_url, make)
    return email


def log_in(server: LiveServer, email: str, password: str = PASSWORD) -> httpx.Client:
    device = server.client()
    response = device.post("/login", data={"email": email, "password": password})
    assert response.status_code == 303, response.text
    return device


def account_id(page: str, name: str) -> int:
    found = re.search(rf'<tr id="account-(\d+)">\s*<td>{re.escape(name)}</td>', page)
    assert found, f"{name} is on the admin page"
    return int(found[1])


def invite(admin: httpx.Client, name: str, email: str) -> str:
    """The admin invites a coordinator; the page shows the link once (no mail server)."""
    page = admin.post("/admin/invite", data={"name": name, "email": email})
    assert page.status_code == 200, page.text
    found = ACCOUNT_LINK.search(page.text)
    assert found, "the invitation link is shown to copy"
    return found[1]


def choose(server: LiveServer, url: str, password: str, again: str | None = None) -> httpx.Response:
    device = server.client()
    path = url.removeprefix(server.url)
    return device.post(path, data={"password": password, "password_again": again or password})


@pytest.fixture(scope="module")
def admin(live_server: LiveServer) -> Iterator[httpx.Client]:
    device = log_in(live_server, add_account(live_server, "Ada Beheer", "admin"))
    yield device
    device.close()


def test_an_invited_coordinator_chooses_a_password_once_and_logs_in(
    live_server: LiveServer, admin: httpx.Client
) -> None:
    assert "Beheer" in admin.get("/conferences").text, "the menu leads admins to /admin"
    url = invite(admin, "Kim Nieuw", "kim@example.org")
    page = live_server.client().get(url.removeprefix(live_server.url))
    assert page.status_code == 200 and "Welkom bij Kring, Kim Nieuw" in page.text
    assert page.headers["cache-control"] == "no-store"
    # An invited account cannot log in before it has a password.
    refused = live_server.client().post("/login", data={"email": "kim@example.org", "password": ""})
    assert refused.status_code == 400

    short = choose(live_server, url, "kort")
    assert short.status_code == 400 and "minstens 10 tekens" in short.text
    common = choose(live_server, url, "qwertyuiop")
    assert common.status_code == 400 and "te makkelijk te raden" in common.text
    assert "te makkelijk te raden" in choose(live_server, url, "Password123").text
    differ = choose(live_server, url, "lange wandeling langs de dijk", "iets anders dan dat")
    assert differ.status_code == 400 and "niet gelijk" in differ.text

    done = choose(live_server, url, "lange wandeling langs de dijk")
    assert done.status_code == 303 and done.headers["location"] == "/login?password=set"
    assert "Je wachtwoord is ingesteld" in live_server.client().get(done.headers["location"]).text
    again = choose(live_server, url, "nog een lange wandeling")
    assert again.status_code == 410 and "al gebruikt" in again.text
    kim = log_in(live_server, "kim@example.org", "lange wandeling langs de dijk")
    assert kim.get("/conferences").status_code == 200
    assert kim.get("/admin").status_code == 403, "a coordinator is no admin"

    unknown = live_server.client().get("/password/" + secrets.token_urlsafe(32))
    assert unknown.status_code == 404 and "Deze link kent Kring niet" in unknown.text
    duplicate = admin.post("/admin/invite", data={"name": "Kim", "email": "KIM@example.org"})
    assert duplicate.status_code == 409 and "Er is al een account" in duplicate.text
    bad = admin.post("/admin/invite", data={"name": "", "email": "geen-adres"})
    assert bad.status_code == 400
    assert "Vul de naam" in bad.text and "Vul het e-mailadres" in bad.text
    assert "Ada Beheer nodigde Kim Nieuw uit als coördinator." in admin.get("/admin").text


def test_an_expired_link_and_a_replaced_link_no_longer_work(
    live_server: LiveServer, admin: httpx.Client
) -> None:
    first = invite(admin, "Bo Later", "bo@example.org")
    page = admin.get("/admin").text
    renewed = admin.post(f"/admin/accounts/{account_id(page, 'Bo Later')}/link")
    second = ACCOUNT_LINK.search(renewed.text)
    assert second and "Nieuwe uitnodiging" in page
    assert choose(live_server, first, "een lange zin om te onthouden").status_code == 410

    async def expire(store: Store) -> None:
        secret = Settings.from_env(live_server.instance.env).secret_key
        token_hash = auth.hash_token(secret, second[2])
        async with store._sessions() as db:
            await db.execute(
                update(AccountLink)
                .where(AccountLink.token_hash == token_hash)
                .values(expires_at=utcnow() - timedelta(minutes=1))
            )
            await db.commit()

    in_store(live_server.instance.database_url, expire)
    expired = choose(live_server, second[1], "een lange zin om te onthouden")
    assert expired.status_code == 410 and "verlopen" in expired.text


def test_an_admin_is_the_only_one_who_opens_or_posts_to_the_admin_page(
    live_server: LiveServer,
) -> None:
    nobody = live_server.client().get("/admin")
    assert nobody.status_code == 303 and nobody.headers["location"].startswith("/login")
    coordinator = log_in(live_server, add_account(live_server, "Cas Gewoon"))
    assert coordinator.get("/admin").status_code == 403
    refused = coordinator.post("/admin/invite", data={"name": "X", "email": "x@example.org"})
    assert refused.status_code == 403
    assert coordinator.post("/admin/accounts/1/make-admin").status_code == 403


def test_a_turned_off_account_is_signed_out_at_once_and_cannot_log_in(
    live_server: LiveServer, admin: httpx.Client
) -> None:
    email = add_account(live_server, "Dirk Uit")
    dirk = log_in(live_server, email)
    page = admin.get("/admin").text
    dirk_id = account_id(page, "Dirk Uit")
    off = admin.post(f"/admin/accounts/{dirk_id}/deactivate")
    assert off.status_code == 200 and "staat uit" in off.text
    assert dirk.get("/conferences").status_code == 303, "the open session ended"
    refused = live_server.client().post("/login", data={"email": email, "password": PASSWORD})
    assert refused.status_code == 403 and "Je account staat uit" in refused.text
    wrong = live_server.client().post("/login", data={"email": email, "password": "fout!"})
    assert wrong.status_code == 401, "only who knows the password learns it is off"
    assert admin.post(f"/admin/accounts/{dirk_id}/deactivate").status_code == 409
    assert admin.post(f"/admin/accounts/{dirk_id}/link").status_code == 409

    ada = account_id(page, "Ada Beheer")
    myself = admin.post(f"/admin/accounts/{ada}/deactivate")
    assert myself.status_code == 409 and "eigen account" in myself.text
    assert admin.post("/admin/accounts/999999/deactivate").status_code == 404
    assert admin.post(f"/admin/accounts/{dirk_id}/explode").status_code == 404

    on = admin.post(f"/admin/accounts/{dirk_id}/reactivate")
    assert on.status_code == 200 and "staat weer aan" in on.text
    log_in(live_server, email)
    assert "Ada Beheer zette het account van Dirk Uit uit." in on.text


def test_the_last_admin_stays_an_admin(live_server: LiveServer, admin: httpx.Client) -> None:
    email = add_account(live_server, "Eva Tweede")
    page = admin.get("/admin").text
    ada, eva = account_id(page, "Ada Beheer"), account_id(page, "Eva Tweede")
    last = admin.post(f"/admin/accounts/{ada}/take-admin")
    assert last.status_code == 409 and "minstens één beheerder" in last.text

    made = admin.post(f"/admin/accounts/{eva}/make-admin")
    assert made.status_code == 200 and "Eva Tweede is nu beheerder" in made.text
    assert admin.post(f"/admin/accounts/{eva}/make-admin").status_code == 409
    assert admin.post(f"/admin/accounts/{ada}/take-admin").status_code == 200, "Eva is left"
    assert admin.get("/admin").status_code == 403, "Ada is no admin any more"
    eva_device = log_in(live_server, email)
    assert eva_device.post(f"/admin/accounts/{eva}/take-admin").status_code == 409
    assert eva_device.post(f"/admin/accounts/{ada}/make-admin").status_code == 200
    assert eva_device.post(f"/admin/accounts/{eva}/take-admin").status_code == 200
    assert "Eva Tweede maakte Ada Beheer beheerder." in admin.get("/admin").text


def test_an_admin_lifts_the_lock_on_a_login(live_server: LiveServer, admin: httpx.Client) -> None:
    email = add_account(live_server, "Fien Vergeetachtig")
    device = live_server.client()
    for _attempt in range(5):
        device.post("/login", data={"email": email, "password": "niet dit wachtwoord"})
    locked = device.post("/login", data={"email": email, "password": PASSWORD})
    assert locked.status_code == 429
    page = admin.get("/admin").text
    fien = account_id(page, "Fien Vergeetachtig")
    row = page[page.index(f'<tr id="account-{fien}">') :].split("</tr>")[0]
    assert "login geblokkeerd" in row
    unlocked = admin.post(f"/admin/accounts/{fien}/unlock")
    assert unlocked.status_code == 200 and "Fien Vergeetachtig kan weer inloggen" in unlocked.text
    assert device.post("/login", data={"email": email, "password": PASSWORD}).status_code == 303


def new_conference(client: httpx.Client) -> str:
    response = client.post(
        "/conferences/new",
        data={"client_name": "Noor Bakker", "question": "Waar kan Noor wonen?"},
    )
    assert response.status_code == 303, response.text
    return response.headers["location"].rsplit("/", 1)[1]


def test_a_conference_is_handed_over_to_another_coordinator(
    live_server: LiveServer, admin: httpx.Client
) -> None:
    gijs = log_in(live_server, add_account(live_server, "Gijs Eerst"))
    hanna = log_in(live_server, add_account(live_server, "Hanna Daarna"))
    conference_id = new_conference(gijs)
    hanna_id = account_id(admin.get("/admin").text, "Hanna Daarna")
    url = f"/admin/conferences/{conference_id}/hand-over"
    assert admin.post(url, data={"account_id": "x"}).status_code == 400
    assert (
        admin.post("/admin/conferences/nope/hand-over", data={"account_id": hanna_id}).status_code
        == 404
    )
    done = admin.post(url, data={"account_id": str(hanna_id)})
    assert done.status_code == 200 and "Hanna Daarna begeleidt de conferentie nu" in done.text
    assert admin.post(url, data={"account_id": str(hanna_id)}).status_code == 409
    assert hanna.get(f"/conferences/{conference_id}").status_code == 200
    assert gijs.get(f"/conferences/{conference_id}").status_code == 403
    log = admin.get(f"/conferences/{conference_id}/audit").text
    assert "Een beheerder droeg de conferentie over van Gijs Eerst aan Hanna Daarna." in log


def test_a_coordinator_invites_a_co_coordinator_who_has_no_account_yet(
    live_server: LiveServer,
) -> None:
    iris = log_in(live_server, add_account(live_server, "Iris Eigen"))
    conference_id = new_conference(iris)
    add = f"/conferences/{conference_id}/participants"
    nameless = iris.post(add, data={"role": "coordinator", "email": "joep@example.org"})
    assert nameless.status_code == 400 and "Vul ook de naam in" in nameless.text
    invited = iris.post(
        add, data={"role": "coordinator", "email": "joep@example.org", "name": "Joep Mee"}
    )
    assert invited.status_code == 200 and "Joep Mee is uitgenodigd" in invited.text
    found = ACCOUNT_LINK.search(invited.text)
    assert found
    assert choose(live_server, found[1], "samen de conferentie leiden").status_code == 303
    joep = log_in(live_server, "joep@example.org", "samen de conferentie leiden")
    assert joep.get(f"/conferences/{conference_id}").status_code == 200
    log = iris.get(f"/conferences/{conference_id}/audit").text
    assert "Iris Eigen nodigde Joep Mee uit als coördinator van deze conferentie." in log


def test_a_coordinator_changes_their_own_password_and_other_sign_ins_end(
    live_server: LiveServer,
) -> None:
    email = add_account(live_server, "Karel Zelf")
    here, elsewhere = log_in(live_server, email), log_in(live_server, email)
    assert here.get("/account/password").status_code == 200

    def change(old: str, new: str, again: str | None = None) -> httpx.Response:
        fields = {"old_password": old, "password": new, "password_again": again or new}
        return here.post("/account/password", data=fields)

    wrong = change("niet het huidige", "een nieuw lang wachtwoord")
    assert wrong.status_code == 400 and "Je huidige wachtwoord klopt niet" in wrong.text
    weak = change(PASSWORD, "1234567890")
    assert weak.status_code == 400 and "te makkelijk te raden" in weak.text
    same = change(PASSWORD, PASSWORD)
    assert same.status_code == 400 and "Kies een ander wachtwoord" in same.text
    differ = change(PASSWORD, "een nieuw lang wachtwoord", "een ander lang wachtwoord")
    assert differ.status_code == 400 and "niet gelijk" in differ.text
    assert elsewhere.get("/conferences").status_code == 200, "nothing changed yet"

    done = change(PASSWORD, "een nieuw lang wachtwoord")
    assert done.status_code == 200 and "Je wachtwoord is gewijzigd" in done.text
    assert here.get("/conferences").status_code == 200, "this sign-in goes on"
    assert elsewhere.get("/conferences").status_code == 303, "the other one ended"
    log_in(live_server, email, "een nieuw lang wachtwoord")


def test_without_a_mail_server_a_forgotten_password_is_an_admins_link(
    live_server: LiveServer,
) -> None:
    login = live_server.client().get("/login")
    assert 'href="/login/forgotten"' in login.text
    page = live_server.client().get("/login/forgotten")
    assert "Vraag een beheerder van Kring om een link" in page.text
