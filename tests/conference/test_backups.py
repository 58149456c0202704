"""Backups as an operator uses them: `kring backup` while families type, `kring restore` into
a new database, the refusal to overwrite one that holds data, and the nightly backup, made by
one of two processes."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import sqlite3
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from unittest.mock import patch
from zoneinfo import ZoneInfo

import pytest
from pycrdt import Doc, Text

from server.cli import main
from server.commands import create_demo
from server.conference import backups
from server.rooms import protocol
from server.rooms.client import YClient
from server.settings import Settings
from server.storage.documents import DocumentLog
from server.storage.errors import BackupError
from server.storage.migrate import upgrade
from server.storage.models import Account, utcnow
from server.storage.store import Store
from tests.support.databases import (
    add_coordinator,
    create_postgres_database,
    drop_postgres_database,
    in_store,
    opened_store,
)
from tests.support.live import connected, wait_until
from tests.support.people import demo_conference
from tests.support.server import Instance, make_instance, missing_service, serving


@dataclass
class Said:
    code: int
    out: str
    err: str


def kring(instance: Instance, *args: str) -> Said:
    """The `kring` command for this installation, run in this process (a subprocess costs
    two seconds of start-up), which is not the server's."""
    out, err = io.StringIO(), io.StringIO()
    with (
        patch.dict(os.environ, instance.env, clear=True),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = main(list(args))
    return Said(code, out.getvalue(), err.getvalue())


@pytest.fixture
async def new_postgres() -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """Fresh, empty PostgreSQL databases (dropped afterwards), with pg_dump and pg_restore."""
    made: list[str] = []

    async def new() -> str:
        for tool in ("pg_dump", "pg_restore"):
            if shutil.which(tool) is None:
                missing_service(tool, "run `make test` (it installs Debian's postgresql-client)")
        database = await create_postgres_database()
        if database is None:
            missing_service("PostgreSQL", "start it on 127.0.0.1:5432 (trust auth)")
        assert database is not None
        made.append(database[0])
        return database[1]

    yield new
    for name in made:
        await drop_postgres_database(name)


async def databases(
    dialect: str, folder: Path, new_postgres: Callable[[], Awaitable[str]]
) -> tuple[Instance, Instance]:
    """The installation that serves, and a second one with a new, empty database."""
    if dialect == "sqlite":
        return make_instance(folder / "live"), make_instance(folder / "restored")
    live, restored = await new_postgres(), await new_postgres()
    return (
        make_instance(folder / "live", KRING_DATABASE_URL=live),
        make_instance(folder / "restored", KRING_DATABASE_URL=restored),
    )


def saved_clock(device: YClient) -> int:
    """How far the server has told this device its own edits are stored."""
    if not device.saved_vectors:
        return 0
    return protocol.decode_state_vector(device.saved_vectors[-1]).get(device.doc.client_id, 0)


def own_clock(device: YClient) -> int:
    return protocol.decode_state_vector(device.doc.get_state()).get(device.doc.client_id, 0)


async def stored_text(database_url: str, conference_id: str) -> str:
    async with opened_store(database_url) as store:
        stored = await DocumentLog(store.engine).load(conference_id, "plan")
    doc: Doc = Doc()  # type: ignore[type-arg]
    for update in stored.in_order():
        doc.apply_update(update)
    return str(doc.get("text", type=Text))


@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_a_backup_during_live_typing_restores_every_edit_saved_before_it(
    dialect: str, tmp_path: Path, new_postgres: Callable[[], Awaitable[str]]
) -> None:
    live, restored = await databases(dialect, tmp_path, new_postgres)
    live.env["KRING_COMPACT_AFTER"] = "40"  # the copy holds snapshots and a log tail
    copy = tmp_path / "kring.backup"
    with serving(live) as server:
        conference = await demo_conference(server, "private_time")
        people = [("client", 0), ("network_member", 0), ("network_member", 1)]
        devices = [
            conference.device("plan", conference.cookie(r, i), saved=True) for r, i in people
        ]
        typed: list[list[tuple[str, int]]] = [[] for _ in devices]  # (marker, own clock after)
        done = asyncio.Event()

        async def type_along(index: int, device: YClient) -> None:
            for i in range(3000):
                if done.is_set():
                    return
                marker = f"[{index}.{i}]"
                device.text().insert(len(device.text()) if i % 2 else 0, marker)
                typed[index].append((marker, own_clock(device)))
                await asyncio.sleep(0.02)

        def saved() -> list[str]:
            return [m for i, d in enumerate(devices) for m, c in typed[i] if c <= saved_clock(d)]

        async with connected(*devices):
            typing = [asyncio.create_task(type_along(i, d)) for i, d in enumerate(devices)]
            await devices[0].wait_for(lambda: len(saved()) >= 45, 20)
            saved_before = saved()  # every edit a tablet was told is saved, before the start
            result = await asyncio.to_thread(kring, live, "backup", str(copy))
            typed_during = sum(len(rows) for rows in typed) - len(saved_before)
            done.set()
            await asyncio.gather(*typing)
    assert result.code == 0, result.err
    assert "1 document and 0 plan versions readable" in result.out
    assert typed_during > 0, "the families kept typing while the backup ran"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600

    assert (await asyncio.to_thread(kring, restored, "restore", str(copy))).code == 0
    text = await stored_text(restored.database_url, conference.id)
    assert [marker for marker in saved_before if marker not in text] == []
    async with opened_store(restored.database_url) as store:  # the rest came along too
        assert await store.account_by_email(conference.data["coordinator"]["email"])
        assert len(await store.participants(conference.id)) == 15


def test_restore_refuses_a_database_that_holds_data_unless_forced(tmp_path: Path) -> None:
    instance = make_instance(tmp_path)
    kring(instance, "db", "upgrade")
    demo = asyncio.run(create_demo(Settings.from_env(instance.env), "information", False))
    assert demo is not None
    copy = tmp_path / "kring.backup"
    assert kring(instance, "backup", str(copy)).code == 0
    later = in_store(instance.database_url, add_coordinator)  # made after the backup

    def account(email: str) -> Callable[[Store], Awaitable[Account | None]]:
        async def find(store: Store) -> Account | None:
            return await store.account_by_email(email)

        return find

    refused = kring(instance, "restore", str(copy))
    assert refused.code == 1
    assert "the database is not empty (2 in account, " in refused.err
    assert "add --force" in refused.err
    assert in_store(instance.database_url, account(later.email)) is not None, "nothing changed"

    forced = kring(instance, "restore", "--force", str(copy))
    assert forced.code == 0
    assert forced.out.startswith("restored:")
    assert in_store(instance.database_url, account(later.email)) is None, "it is the backup"
    assert in_store(instance.database_url, account(demo["coordinator"]["email"])) is not None


def test_bad_backup_commands_say_what_is_wrong_and_change_nothing(tmp_path: Path) -> None:
    instance = make_instance(tmp_path)
    kring(instance, "db", "upgrade")
    existing = tmp_path / "there.backup"
    existing.write_bytes(b"keep me")
    refused = kring(instance, "backup", str(existing))
    assert (refused.code, refused.err) == (
        1,
        f"kring: {existing} exists already; a backup never overwrites a file\n",
    )
    assert existing.read_bytes() == b"keep me"

    key = tmp_path / "backup.key"
    assert kring(instance, "backup", "--new-key", str(key)).code == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    again = kring(instance, "backup", "--new-key", str(key))
    assert again.code == 1
    assert "never overwritten" in again.err

    not_a_key = kring(instance, "backup", str(tmp_path / "x"), "--key", str(existing))
    assert not_a_key.code == 1
    assert "is not a Kring backup key" in not_a_key.err
    assert not (tmp_path / "x").exists()

    nothing = kring(instance, "restore", str(tmp_path / "missing.backup"))
    assert nothing.code == 1
    assert "cannot read" in nothing.err

    not_a_backup = kring(instance, "backup", "--verify", str(key))
    assert not_a_backup.code == 1
    assert "is not a Kring backup" in not_a_backup.err

    # An empty database file (SQLite makes one when a command opens a missing database):
    # nothing to back up, and no backup file is left.
    empty = make_instance(tmp_path / "empty")
    empty.folder.mkdir()
    sqlite3.connect(empty.folder / "kring.db").close()
    nothing_in_it = kring(empty, "backup", str(tmp_path / "empty.backup"))
    assert (nothing_in_it.code, nothing_in_it.err) == (
        1,
        f"kring: there is no Kring database at {empty.folder / 'kring.db'}: it has no schema "
        "revision (run `kring db upgrade` to make one)\n",
    )
    assert not (tmp_path / "empty.backup").exists()

    bad_time = kring(make_instance(tmp_path, KRING_BACKUP_TIME="25:00"), "db", "upgrade")
    assert bad_time.code == 2
    assert "KRING_BACKUP_TIME must be HH:MM" in bad_time.err
    bad_keep = kring(make_instance(tmp_path, KRING_BACKUP_KEEP="0"), "db", "upgrade")
    assert "KRING_BACKUP_KEEP must be at least 1" in bad_keep.err


# -- every night ---------------------------------------------------------------------------------


def test_the_night_is_found_on_the_instance_clock_across_the_clock_changes() -> None:
    amsterdam = ZoneInfo("Europe/Amsterdam")
    at = time(2, 30)
    evening = datetime(2027, 1, 10, 22, 0, tzinfo=UTC)
    assert backups.next_night(evening, at, amsterdam) == datetime(2027, 1, 11, 1, 30, tzinfo=UTC)
    just_after = datetime(2027, 1, 11, 1, 30, 1, tzinfo=UTC)
    assert backups.next_night(just_after, at, amsterdam) == datetime(2027, 1, 12, 1, 30, tzinfo=UTC)
    # 28 March 2027: 02:00 becomes 03:00, so 02:30 does not exist; once that night all the same.
    spring = backups.next_night(datetime(2027, 3, 27, 12, 0, tzinfo=UTC), at, amsterdam)
    assert datetime(2027, 3, 28, tzinfo=UTC) < spring < datetime(2027, 3, 28, 3, tzinfo=UTC)
    # 31 October 2027: 02:30 comes twice; the first one.
    autumn = backups.next_night(datetime(2027, 10, 30, 12, 0, tzinfo=UTC), at, amsterdam)
    assert autumn == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


async def test_the_nightly_backup_runs_at_its_time_and_keeps_the_newest(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    old = [folder / f"kring-2026120{day}-013000.sqlite" for day in range(1, 5)]
    for path in old:
        path.write_bytes(b"an older night")
    other = folder / "notes.txt"
    other.write_text("not a backup")
    instance = make_instance(tmp_path, KRING_BACKUP_DIR=str(folder), KRING_BACKUP_KEEP="3")
    settings = Settings.from_env(instance.env)
    await asyncio.to_thread(upgrade, settings.database_url)
    night = backups.next_night(datetime.now(UTC), settings.backups.at, settings.time_zone)
    start = asyncio.get_running_loop().time()

    def clock() -> datetime:  # a moment before the night, then time passes as usual
        return (
            night
            - timedelta(seconds=0.2)
            + timedelta(seconds=asyncio.get_running_loop().time() - start)
        )

    made = folder / backups.nightly_name(night, settings.database_url, encrypted=False)
    async with (
        opened_store(settings.database_url) as store,
        backups.nightly(store, settings, clock=clock),
    ):
        await wait_until(lambda: made.exists() and not old[1].exists(), 20)
    assert made.exists()
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [old[2].name, old[3].name, made.name, other.name]
    ), "the three newest nightly backups and the other file are kept"
    report = await backups.check(settings, made)
    assert report.revision


async def test_a_key_file_that_is_no_key_stops_start_up(tmp_path: Path) -> None:
    key = tmp_path / "backup.key"
    key.write_text("not a key\n")
    instance = make_instance(
        tmp_path, KRING_BACKUP_DIR=str(tmp_path / "b"), KRING_BACKUP_KEY=str(key)
    )
    settings = Settings.from_env(instance.env)
    await asyncio.to_thread(upgrade, settings.database_url)
    async with opened_store(settings.database_url) as store:
        with pytest.raises(BackupError, match="is not a Kring backup key"):
            async with backups.nightly(store, settings):
                pass


async def test_the_lease_gives_the_nightly_backup_to_one_of_two_processes(
    database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("postgresql") and shutil.which("pg_dump") is None:
        missing_service("pg_dump", "run `make test` (it installs Debian's postgresql-client)")
    folder = tmp_path / "backups"
    env = {"KRING_INSTANCE_DIR": str(tmp_path), "KRING_DATABASE_URL": database_url}
    settings = Settings.from_env({**env, "KRING_BACKUP_DIR": str(folder)})
    night = utcnow().replace(microsecond=0)
    async with opened_store(database_url) as one, opened_store(database_url) as other:
        made = await asyncio.gather(
            backups.run_nightly(one, settings, "process one", night),
            backups.run_nightly(other, settings, "process two", night),
        )
        assert len([path for path in made if path is not None]) == 1
        assert [p.name for p in folder.iterdir()] == [
            backups.nightly_name(night, database_url, encrypted=False)
        ]
        # The same night again (a second wake-up of the winner's neighbour): nothing.
        assert await backups.run_nightly(other, settings, "process three", night) is None
