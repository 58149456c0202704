"""Shared fixtures: a real Kring server on loopback, databases (SQLite and PostgreSQL), CLI."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from server.cli import create_demo
from server.conference import auth
from server.rooms.client import YClient
from server.settings import Settings
from server.storage.migrate import upgrade
from server.storage.models import Account, Session
from server.storage.store import Store
from server.views.identity import PARTICIPANT_COOKIE

ROOT = Path(__file__).resolve().parent.parent
KRING = [sys.executable, "-m", "server.cli"]
POSTGRES_ADMIN_URL = os.environ.get(
    "KRING_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SERVER_START_TIMEOUT = 20.0


def missing_service(what: str, how: str) -> None:
    """Skip (on a developer's machine) or fail (in CI, which must run everything)."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{what} is required in CI: {how}")
    pytest.skip(f"{what} is not available; {how}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Instance:
    """A Kring installation in a temporary folder: its environment and its CLI."""

    folder: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        return self.env.get("KRING_DATABASE_URL") or (
            f"sqlite+aiosqlite:///{self.folder / 'kring.db'}"
        )

    def cli(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*KRING, *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kring {' '.join(args)} failed:\n{result.stderr}")
        return result

    def demo(self, *args: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.cli("demo", "--json", *args).stdout)
        return data


def make_instance(folder: Path, **extra: str) -> Instance:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRING_")}
    env.update({"KRING_INSTANCE_DIR": str(folder), "KRING_LOG_LEVEL": "warning", **extra})
    return Instance(folder=folder, env=env)


@dataclass
class LiveServer:
    url: str
    instance: Instance
    process: subprocess.Popen[bytes]
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, **kwargs: Any) -> httpx.Client:
        """A browser-like HTTP client: keeps cookies, sends this site's Origin on posts.

        Each stands for one device; the ``devices_closed`` fixture closes those a test made.
        """
        headers = {"origin": self.url, **kwargs.pop("headers", {})}
        client = httpx.Client(
            base_url=self.url, headers=headers, follow_redirects=False, timeout=10, **kwargs
        )
        self.clients.append(client)
        return client


# The instance behind each running server's URL (for helpers that only know a page's URL).
INSTANCES: dict[str, Instance] = {}


def let_in(instance: Instance, token: str) -> None:
    """Let one device in as if it had signed in before private time (the family's own
    tablets, in most tests). A device that signs in during private time waits for the family
    (``session.admission``); the admission tests leave theirs waiting."""
    token_hash = auth.hash_token(Settings.from_env(instance.env).secret_key, token)

    async def admit() -> None:
        store = Store.connect(instance.database_url)
        try:
            async with store._sessions() as db:
                await db.execute(
                    update(Session)
                    .where(Session.token_hash == token_hash, Session.admission == "waiting")
                    .values(admission="in", admission_by="test")
                )
                await db.commit()
        finally:
            await store.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, admit()).result(timeout=30)


def let_page_in(page: Any) -> None:
    """:func:`let_in` for a browser page's device (then shows it the page again). The waiting
    page is left first: it reloads itself when it learns of its admission, which would race
    the test's own navigation."""
    url = page.url
    instance = INSTANCES[url.split("/c/")[0]]
    page.goto("about:blank")
    for cookie in page.context.cookies():
        if cookie["name"] == PARTICIPANT_COOKIE:
            let_in(instance, cookie["value"])
    page.goto(url)


def start_server(instance: Instance, port: int | None = None) -> LiveServer:
    """Run `kring serve` for this instance (again on ``port`` after a restart)."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    instance.env["KRING_BASE_URL"] = url
    instance.cli("db", "upgrade")
    with (instance.folder / "server.log").open("ab") as log:  # the child keeps its own fd
        process = subprocess.Popen(
            [*KRING, "serve", "--port", str(port)],
            env=instance.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"kring serve exited: {(instance.folder / 'server.log').read_text()}"
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                INSTANCES[url] = instance
                return LiveServer(url=url, instance=instance, process=process)
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError(f"kring serve did not answer within {SERVER_START_TIMEOUT}s")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real `kring serve` (uvicorn) on a free loopback port with its own SQLite database."""
    server = start_server(make_instance(tmp_path_factory.mktemp("kring")))
    yield server
    stop_server(server)


@pytest.fixture
def devices_closed(live_server: LiveServer) -> Iterator[None]:
    """Close every HTTP client a test opened (module-scoped ones stay open)."""
    before = len(live_server.clients)
    yield
    for client in live_server.clients[before:]:
        client.close()
    del live_server.clients[before:]


@pytest.fixture
def instance(tmp_path: Path) -> Instance:
    return make_instance(tmp_path)


# -- databases ------------------------------------------------------------------------------


async def _postgres_database() -> tuple[str, str] | None:
    import asyncpg

    name = f"kring_test_{secrets.token_hex(6)}"
    try:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    return name, f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)


async def _drop_postgres_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=3)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run, dropped afterwards."""
    made = asyncio.run(_postgres_database())
    if made is None:
        missing_service(
            "PostgreSQL",
            f"start it on {POSTGRES_ADMIN_URL} (trust auth) or set KRING_TEST_POSTGRES_URL",
        )
    assert made is not None
    name, url = made
    upgrade(url)
    yield url
    asyncio.run(_drop_postgres_database(name))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on both dialects: one code path, two databases."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return url
    url = f"sqlite+aiosqlite:///{tmp_path / 'kring.db'}"
    upgrade(url)
    return url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store.connect(database_url)
    yield store
    await store.close()


async def add_coordinator(
    store: Store, password: str = "correct horse battery", role: str = "coordinator"
) -> Account:
    """A coordinator account with a unique email (tests share a PostgreSQL database)."""
    email = f"coordinator-{secrets.token_hex(4)}@example.org"
    return await store.create_account(
        email, "Coördinator Test", await auth.hash_password(password), role
    )


# -- live rooms -----------------------------------------------------------------------------


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
        store = Store.connect(self.server.instance.database_url)
        try:
            await store.set_phase(self.id, phase)
        finally:
            await store.close()


async def demo_conference(server: LiveServer, phase: str = "information") -> DemoConference:
    """What `kring demo --phase PHASE` makes, created in-process (a subprocess costs a second)."""
    data = await create_demo(Settings.from_env(server.instance.env), phase, if_empty=False)
    assert data is not None
    return DemoConference(server, data)


# -- a real Chromium (Debian's; Playwright's own browser download is not used) ------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags for a closed network: no background calls to Google's hosts, no sandbox as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A Dutch tablet, like most of Kring's: headless Chromium would ask for English
    # (Accept-Language en-US), which Kring honours. A test wanting English sets its locale.
]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not shutil.which("chromium"):
        missing_service("Chromium", "run `make test` (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


# A field's text as its reader sees it, without the name tags on other people's cursors or the
# placeholder of an empty field.
_FIELD_TEXT = """(el) => { const copy = el.cloneNode(true);
    const extras = ".cm-ySelectionCaret, .cm-widgetBuffer, .cm-placeholder";
    copy.querySelectorAll(extras).forEach((n) => n.remove());
    return copy.textContent.replace(/\\u2060/g, ""); }"""


def shown_text(locator: Any, timeout: int = TIMEOUT_MS) -> str:
    """The text a field shows right now."""
    return str(locator.evaluate(_FIELD_TEXT, timeout=timeout))


def expect_text(locator: Any, text: str, timeout: int = TIMEOUT_MS) -> None:
    """Wait until the field shows exactly ``text`` (it arrives over the network). The locator
    is looked up again each time: an editor may be rebuilt on a new element meanwhile."""
    deadline = time.monotonic() + timeout / 1000
    shown = None
    while time.monotonic() < deadline:
        shown = shown_text(locator, timeout)
        if shown == text:
            return
        locator.page.wait_for_timeout(50)
    raise AssertionError(f"the field shows {shown!r}, not {text!r}")


AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"


def serious_accessibility_problems(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.evaluate(AXE.read_text())  # not a <script>: the page's CSP allows none from tests
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(", ")})`)"""
    )
    return list(found)
