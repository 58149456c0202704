"""The people of a conference on a live server: a demo conference, its people's devices
signing in (and let in, as if before private time), an HTTP client for one device, a second
coordinator, someone added by the coordinator; a coordinator account made on the command line
and a device logged in with it."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import update

from server.commands import create_demo
from server.conference import auth
from server.rooms.client import YClient
from server.settings import Settings
from server.storage.models import Session
from server.storage.store import Store
from tests.support.databases import in_store, opened_store
from tests.support.server import Instance, LiveServer

LINK = re.compile(r'<code id="link-(\d+)">([^<]+)</code>')
ACCOUNT_PASSWORD = "correct horse battery"


def add_account(server: LiveServer, email: str, *extra: str) -> None:
    """A coordinator account made with `kring coordinator add` (``extra``: ``--admin``,
    ``--name NAME``), its password :data:`ACCOUNT_PASSWORD`."""
    server.instance.cli(
        "coordinator", "add", email, "--password-stdin", *extra, stdin=ACCOUNT_PASSWORD + "\n"
    )


def logged_in(server: LiveServer, email: str) -> httpx.Client:
    """A device (a client of ``server``) on which that account logged in with its password."""
    client = server.client()
    response = client.post("/login", data={"email": email, "password": ACCOUNT_PASSWORD})
    assert response.status_code == 303, response.text
    return client


def let_in(instance: Instance, token: str) -> None:
    """Let one device in as if it had signed in before private time (the family's own
    tablets, in most tests). A device that signs in during private time waits for the family
    (``session.admission``); the admission tests leave theirs waiting."""
    token_hash = auth.hash_token(Settings.from_env(instance.env).secret_key, token)

    async def admit(store: Store) -> None:
        async with store._sessions() as db:
            await db.execute(
                update(Session)
                .where(Session.token_hash == token_hash, Session.admission == "waiting")
                .values(admission="in", admission_by="test")
            )
            await db.commit()

    in_store(instance.database_url, admit)


@dataclass
class DemoConference:
    """A demo conference on a live server, with helpers to sign devices in and open rooms."""

    server: LiveServer
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["conference_id"])

    def person(self, role: str, index: int = 0) -> dict[str, Any]:
        people = [p for p in self.data["participants"] if p["role"] == role]
        return dict(people[index])

    def cookie(self, role: str, index: int = 0, *, admitted: bool = True) -> str:
        """Open this person's link on a new device; return its session cookie header. The
        device counts as signed in before private time unless not ``admitted`` (then, in
        private time, it waits for the family)."""
        with httpx.Client(headers={"origin": self.server.url}, timeout=10) as device:
            response = device.post(self.person(role, index)["invitation_url"])
            assert response.status_code == 303, response.text
            token = device.cookies["kring_participant"]
        if admitted:
            let_in(self.server.instance, token)
        return f"kring_participant={token}"

    def coordinator_cookie(self) -> str:
        with httpx.Client(
            base_url=self.server.url, headers={"origin": self.server.url}, timeout=10
        ) as device:
            coordinator = self.data["coordinator"]
            response = device.post(
                "/login", data={"email": coordinator["email"], "password": coordinator["password"]}
            )
            assert response.status_code == 303, response.text
            return f"kring_coordinator={device.cookies['kring_coordinator']}"

    def ws(self, document: str) -> str:
        return f"{self.server.url.replace('http://', 'ws://')}/ws/{self.id}/{document}"

    def device(self, document: str, cookie: str, **kwargs: Any) -> YClient:
        return YClient(self.ws(document), cookie=cookie, origin=self.server.url, **kwargs)

    async def set_phase(self, phase: str) -> None:
        async with server_store(self) as store:
            await store.set_phase(self.id, phase)


async def demo_conference(server: LiveServer, phase: str = "information") -> DemoConference:
    """What `kring demo --phase PHASE` makes, created in-process (a subprocess costs a second)."""
    data = await create_demo(Settings.from_env(server.instance.env), phase, if_empty=False)
    assert data is not None
    return DemoConference(server, data)


def server_store(on: LiveServer | DemoConference) -> AbstractAsyncContextManager[Store]:
    """The live server's database, read directly (to check what it stored)."""
    server = on.server if isinstance(on, DemoConference) else on
    return opened_store(server.instance.database_url)


@asynccontextmanager
async def as_(conference: DemoConference, cookie: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for one device (a participant's link or the coordinator's login)."""
    async with httpx.AsyncClient(
        base_url=conference.server.url,
        headers={"origin": conference.server.url, "cookie": cookie},
        timeout=10,
    ) as client:
        yield client


async def ids_by_role(conference: DemoConference, *roles: str) -> dict[str, int]:
    """The participant id of the first person of each role asked for."""
    async with server_store(conference) as store:
        rows = await store.participants(conference.id)
    found: dict[str, int] = {}
    for row in rows:
        if row.participant.role in roles and row.participant.role not in found:
            found[row.participant.role] = row.participant.id
    return found


async def other_coordinator(conference: DemoConference, who: str = "other") -> tuple[str, int]:
    """Another coordinator of the same organisation, logged in: their cookie header and
    account id."""
    password = "another long password"
    async with server_store(conference) as store:
        account = await store.create_account(
            f"{who}-{conference.id.lower()}@example.org",
            f"Bram {who.title()}",
            await auth.hash_password(password),
        )
    async with httpx.AsyncClient(
        base_url=conference.server.url, headers={"origin": conference.server.url}
    ) as device:
        response = await device.post("/login", data={"email": account.email, "password": password})
        assert response.status_code == 303
        return f"kring_coordinator={device.cookies['kring_coordinator']}", account.id


async def add_person(conference: DemoConference, name: str, role: str) -> tuple[int, str]:
    """The coordinator adds someone and is shown their link (as on the conference page)."""
    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        response = await coordinator.post(
            f"/conferences/{conference.id}/participants",
            data={"name": name, "role": role, "email": ""},
        )
    assert response.status_code == 200, response.text
    found = LINK.search(response.text)
    assert found
    return int(found[1]), html.unescape(found[2])


async def open_link(conference: DemoConference, url: str) -> str:
    """A new device opens a link ("yes, that is me"); its cookie header."""
    async with httpx.AsyncClient(headers={"origin": conference.server.url}, timeout=10) as device:
        response = await device.post(url)
        assert response.status_code == 303, response.text
        return f"kring_participant={device.cookies['kring_participant']}"


def waiting_sessions(page: str) -> dict[str, int]:
    """Who wants to join, as the family's plan page lists them: name -> session id."""
    listed = page.split('id="admission"', 1)[1].split("</ul>", 1)[0]
    return {
        html.unescape(name): int(session)
        for session, name in re.findall(
            r'data-session="(\d+)">\s*<p><strong>(.+?) wil meedoen</strong>', listed
        )
    }
