"""Backups: made on the command line (`kring backup`, `kring restore`) and every night by the
server itself when ``KRING_BACKUP_DIR`` is set.

The nightly backup runs at ``KRING_BACKUP_TIME`` on the instance's clock. When several
processes serve one database, each wakes then, and the one that takes the lease
(``storage/leases.py``) makes the backup; the others leave it. The file is named after the
night (``kring-YYYYMMDD-HHMMSS.sqlite`` or ``.pgdump``, ``.sealed`` when encrypted with
``KRING_BACKUP_KEY``), checked as ``kring backup --verify`` does, and then all but the
newest ``KRING_BACKUP_KEEP`` of these files are deleted (no other file in the folder is
touched).

Making, checking and restoring a backup is HEAVY WORK: it reads the whole database and
blocks for seconds to minutes. It runs in a worker thread (``asyncio.to_thread``), never on
the event loop that serves the live rooms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from server import metrics
from server.conference import periodic
from server.settings import Settings
from server.storage import backup, sealed
from server.storage.backup import Report
from server.storage.errors import BackupError
from server.storage.models import utcnow
from server.storage.store import Store

log = logging.getLogger("kring.backup")

LEASE = "nightly-backup"
# Held for longer than any backup takes and shorter than a day: one backup per night,
# however many processes wake for it.
LEASE_TIME = timedelta(hours=12)
NIGHTLY_NAME = re.compile(r"kring-(\d{8}-\d{6})\.(sqlite|pgdump)(\.sealed)?")


def _key(settings: Settings, key_file: Path | None) -> sealed.Key | None:
    """The key given on the command line, else KRING_BACKUP_KEY's, else none."""
    chosen = key_file or settings.backups.key_file
    return None if chosen is None else sealed.read_key(chosen)


# -- on the command line ----------------------------------------------------------------------


async def take(settings: Settings, path: Path, key_file: Path | None = None) -> Report:
    """Back the database up to ``path`` while the servers run, and check the copy."""
    key = _key(settings, key_file)
    with metrics.heavy("backup"):  # HEAVY WORK, in a worker thread
        return await asyncio.to_thread(backup.make, settings.database_url, path, key)


async def check(settings: Settings, path: Path, key_file: Path | None = None) -> Report:
    """Open the backup in ``path`` and check it; BackupError says what is wrong."""
    key = _key(settings, key_file)
    with metrics.heavy("backup check"):  # HEAVY WORK, in a worker thread
        return await asyncio.to_thread(backup.verify, path, key)


async def restore(
    settings: Settings, path: Path, key_file: Path | None = None, *, force: bool = False
) -> Report:
    """Replace the database with the backup. A database that holds anything is refused
    without ``force``; a backup that fails its check changes nothing."""
    key = _key(settings, key_file)
    held = await backup.held_rows(settings.database_url)
    if held and not force:
        rows = ", ".join(f"{count} in {table}" for table, count in sorted(held.items()))
        raise BackupError(
            f"the database is not empty ({rows}); restoring replaces all of it. Stop every "
            "`kring serve` on it and add --force to do so"
        )
    with metrics.heavy("restore"):
        return await asyncio.to_thread(backup.restore, settings.database_url, path, key)


# -- every night ------------------------------------------------------------------------------


def next_night(now: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first moment after ``now`` that the clock in ``zone`` shows ``at`` (in UTC). On
    the night the clocks go forward a time that does not exist is taken an hour later;
    when they go back, the first of the two."""
    day = now.astimezone(zone).date()
    for offset in (0, 1, 2):
        moment = datetime.combine(day + timedelta(days=offset), at, tzinfo=zone).astimezone(UTC)
        if moment > now:
            return moment
    raise AssertionError("a day has this time")  # pragma: no cover


def nightly_name(night: datetime, database_url: str, encrypted: bool) -> str:
    kind = "sqlite" if backup.dialect(database_url) == "SQLite" else "pgdump"
    return f"kring-{night.astimezone(UTC):%Y%m%d-%H%M%S}.{kind}" + (".sealed" if encrypted else "")


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` nightly backups in ``folder``; what went."""
    found = sorted(
        (match[1], path)
        for path in folder.iterdir()
        if (match := NIGHTLY_NAME.fullmatch(path.name)) and path.is_file()
    )
    gone = [path for _night, path in found[: max(len(found) - keep, 0)]]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


async def run_nightly(
    store: Store, settings: Settings, holder: str, night: datetime
) -> Path | None:
    """The backup of one night, if this process (``holder``) takes the lease for it: its
    path, or None when another process has it."""
    folder = settings.backups.folder
    assert folder is not None
    if not await store.take_lease(LEASE, holder, night + LEASE_TIME):
        log.info("nightly backup: another process makes it")
        return None
    key = _key(settings, None)
    path = folder / nightly_name(night, settings.database_url, key is not None)
    # HEAVY WORK: the whole database is read, written and read back; in a worker thread.
    with metrics.heavy("nightly backup"):
        report = await asyncio.to_thread(backup.make, settings.database_url, path, key)
        gone = await asyncio.to_thread(prune, folder, settings.backups.keep)
    log.info("nightly backup: %s; %d older removed", report.summary(path), len(gone))
    return path


def holder_name() -> str:
    """Who holds a lease: this process, on this host."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{secrets.token_hex(4)}"


@contextlib.asynccontextmanager
async def nightly(
    store: Store, settings: Settings, *, clock: Callable[[], datetime] = utcnow
) -> AsyncIterator[None]:
    """The nightly backup for the server's lifetime, when ``KRING_BACKUP_DIR`` is set; a
    failed night is logged and the next one tried. Cancelled (and waited for) on shutdown;
    a backup already in its thread finishes, and its file is whole or not there."""
    if settings.backups.folder is None:
        yield
        return
    _key(settings, None)  # a key file that is no key stops start-up, not the first night
    holder = holder_name()

    async def loop() -> None:
        while True:
            now = clock()
            night = next_night(now, settings.backups.at, settings.time_zone)
            await asyncio.sleep((night - now).total_seconds())
            try:
                await run_nightly(store, settings, holder, night)
            except Exception:
                log.exception("nightly backup failed; the next one is tomorrow night")

    async with periodic.in_background(loop(), "kring-nightly-backup"):
        yield
