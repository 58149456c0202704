"""The fixtures: a real Kring server on loopback, databases (SQLite and PostgreSQL), an
installation for the CLI, Chromium. What they are made of lives in ``tests/support``."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from server.storage.migrate import upgrade
from server.storage.store import Store
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.databases import (
    POSTGRES_ADMIN_URL,
    create_postgres_database,
    drop_postgres_database,
    migrated_sqlite,
)
from tests.support.server import Instance, LiveServer, make_instance, missing_service, serving


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real `kring serve` (uvicorn) on a free loopback port with its own SQLite database."""
    with serving(make_instance(tmp_path_factory.mktemp("kring"))) as server:
        yield server


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


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run, dropped afterwards."""
    made = asyncio.run(create_postgres_database())
    if made is None:
        missing_service(
            "PostgreSQL",
            f"start it on {POSTGRES_ADMIN_URL} (trust auth) or set KRING_TEST_POSTGRES_URL",
        )
    assert made is not None
    name, url = made
    upgrade(url)
    yield url
    asyncio.run(drop_postgres_database(name))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on both dialects: one code path, two databases."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return migrated_sqlite(tmp_path)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store.connect(database_url)
    yield store
    await store.close()


# -- a real Chromium ------------------------------------------------------------------------


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
