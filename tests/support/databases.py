"""Databases for the tests: a PostgreSQL database of their own, a store opened and closed
again, one store call from code that cannot await it, and accounts with unique emails."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from server.conference import auth
from server.storage.migrate import upgrade
from server.storage.models import Account
from server.storage.store import Store

POSTGRES_ADMIN_URL = os.environ.get(
    "KRING_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

T = TypeVar("T")


async def create_postgres_database() -> tuple[str, str] | None:
    """A new, empty PostgreSQL database: its name and its URL (None without a server)."""
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


async def drop_postgres_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=3)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def migrated_sqlite(folder: Path) -> str:
    """A new SQLite database in ``folder``, migrated to the newest schema: its URL."""
    url = f"sqlite+aiosqlite:///{folder / 'kring.db'}"
    upgrade(url)
    return url


@asynccontextmanager
async def opened_store(database_url: str) -> AsyncIterator[Store]:
    """A store on this database (a server's, read directly), closed afterwards."""
    store = Store.connect(database_url)
    try:
        yield store
    finally:
        await store.close()


def in_store(database_url: str, work: Callable[[Store], Awaitable[T]]) -> T:
    """Run one store function on this database and wait for it, as a second process would.

    It runs on a worker thread's own event loop, so synchronous tests (and Playwright's, whose
    loop runs in the test's thread) can call it as well as code inside a running loop."""

    async def run() -> T:
        async with opened_store(database_url) as store:
            return await work(store)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result(timeout=30)


async def add_coordinator(
    store: Store, password: str = "correct horse battery", role: str = "coordinator"
) -> Account:
    """A coordinator account with a unique email (tests share a PostgreSQL database)."""
    email = f"coordinator-{secrets.token_hex(4)}@example.org"
    return await store.create_account(
        email, "Coördinator Test", await auth.hash_password(password), role
    )
