"""Exports made in the background, so that no proxy's timeout cuts a long one off: the export
page starts one (:meth:`ExportJobs.start`), shows "bezig" and asks again until it is ready,
then offers the zip once.

Kept simple, in this process's memory: a restart forgets the jobs that were running (the
page says so), and at start-up every file a previous run left is deleted. A finished zip is
written to the instance folder (``exports/run-*/``, one folder per running process, 0700;
the file 0600), kept for ``keep_seconds`` and deleted when it is downloaded, when it
expires, when the process stops, and when its conference is erased
(:meth:`ExportJobs.forget`, from the erasure on this process or another): a job still
building then throws its zip away (its worker process, ``conference/exportwork.py``, most
often finds the conference being erased and makes none).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from server.storage.models import utcnow

log = logging.getLogger("kring")

KEEP_SECONDS = 30 * 60  # a finished export waits this long to be downloaded
STARTING_SECONDS = 60  # a folder without its lock this young is a process starting up

Build = Callable[[], Awaitable[bytes]]


class ExportFailed(Exception):
    """The export could not be made; ``reason`` says why in the starter's language."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ExportJob:
    """One export of one conference for one person (``actor``)."""

    id: str
    conference_id: str
    actor: str
    started_at: datetime
    state: str = "running"  # then "ready" or "failed"
    reason: str = ""  # why it failed
    path: Path | None = None  # the zip, once ready
    size: int = 0
    ready_at: datetime | None = None
    expires_at: datetime | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)


class ExportJobs:
    """The export jobs of this process: at most one per conference and person."""

    def __init__(self, root: Path, keep_seconds: float = KEEP_SECONDS) -> None:
        self.keep_seconds = keep_seconds
        self._jobs: dict[tuple[str, str], ExportJob] = {}
        self._expiry: dict[str, asyncio.TimerHandle] = {}
        self._erased: set[str] = set()  # conferences erased while a job may still build
        self.root = root
        self._own: tuple[Path, int] | None = None  # made with the first job
        _clear_stopped(root)

    @property
    def folder(self) -> Path:
        """This process's folder, made (and locked) the first time it is needed."""
        if self._own is None:
            self._own = _own_folder(self.root)
        return self._own[0]

    # -- asking ------------------------------------------------------------------------------

    def current(self, conference_id: str, actor: str) -> ExportJob | None:
        """This person's export of this conference, if there is one (running, ready or
        failed)."""
        return self._jobs.get((conference_id, actor))

    def by_id(self, conference_id: str, job_id: str) -> ExportJob | None:
        return next(
            (
                job
                for job in self._jobs.values()
                if job.conference_id == conference_id and secrets.compare_digest(job.id, job_id)
            ),
            None,
        )

    # -- doing -------------------------------------------------------------------------------

    def start(self, conference_id: str, actor: str, build: Build) -> ExportJob:
        """Start an export, or keep the one that is running or ready (a failed one is started
        again). ``build()`` makes the zip; ExportFailed says why it could not."""
        job = self.current(conference_id, actor)
        if job is not None and job.state != "failed":
            return job
        if job is not None:
            self.drop(job)
        job = ExportJob(secrets.token_urlsafe(24), conference_id, actor, utcnow())
        self._jobs[(conference_id, actor)] = job
        job.task = asyncio.create_task(self._run(job, build), name=f"kring-export-{job.id[:6]}")
        log.info("export of conference %s started (job %s)", conference_id, job.id[:6])
        return job

    async def wait(self, job: ExportJob, seconds: float) -> bool:
        """Wait up to ``seconds`` for the job to end; True when it has."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await job.done.wait()
        return job.done.is_set()

    async def take(self, job: ExportJob) -> bytes | None:
        """The finished zip, once: it is read and deleted (None when it is gone already)."""
        if job.state != "ready" or job.path is None or self._jobs.get(job_key(job)) is not job:
            return None
        path, job.path = job.path, None  # this request deletes it, not _drop
        self.drop(job)
        try:
            return await asyncio.to_thread(_read_and_delete, path)
        except FileNotFoundError:
            return None

    def forget(self, conference_id: str) -> int:
        """The conference was erased: every job of it ends and every zip of it is deleted
        (a job still building deletes its own when it is done). Returns how many ended."""
        self._erased.add(conference_id)
        ended = [job for job in self._jobs.values() if job.conference_id == conference_id]
        for job in ended:
            self.drop(job)
        if ended:
            log.info("%d export(s) of erased conference %s deleted", len(ended), conference_id)
        return len(ended)

    async def close(self) -> None:
        """The process stops: running jobs end, every file goes."""
        tasks = [job.task for job in self._jobs.values() if job.task is not None]
        for job in list(self._jobs.values()):
            self.drop(job)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._own is not None:
            shutil.rmtree(self._own[0], ignore_errors=True)
            os.close(self._own[1])
            self._own = None

    # -- inside ------------------------------------------------------------------------------

    async def _run(self, job: ExportJob, build: Build) -> None:
        try:
            archive = await build()
            if self._gone(job):
                self._thrown_away(job)
                return
            path = self.folder / f"{job.id}.zip"
            await asyncio.to_thread(_write_private, path, archive)
            if self._gone(job):  # erased (or ended) while it was written
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                self._thrown_away(job)
                return
            job.path, job.size, job.state = path, len(archive), "ready"
            job.ready_at = utcnow()
            job.expires_at = job.ready_at + timedelta(seconds=self.keep_seconds)
            loop = asyncio.get_running_loop()
            self._expiry[job.id] = loop.call_later(self.keep_seconds, self._expire, job)
            log.info("export job %s ready (%d bytes)", job.id[:6], len(archive))
        except ExportFailed as exc:
            job.state, job.reason = "failed", exc.reason
        except Exception:
            log.exception("export job %s failed", job.id[:6])
            job.state = "failed"
        finally:
            job.done.set()

    def _thrown_away(self, job: ExportJob) -> None:
        log.info(
            "export of conference %s thrown away: it ended while it was made (job %s)",
            job.conference_id,
            job.id[:6],
        )

    def _gone(self, job: ExportJob) -> bool:
        return job.conference_id in self._erased or self._jobs.get(job_key(job)) is not job

    def _expire(self, job: ExportJob) -> None:
        self._expiry.pop(job.id, None)
        if self._jobs.get(job_key(job)) is job:
            log.info("export job %s expired unread", job.id[:6])
            self.drop(job)

    def drop(self, job: ExportJob) -> None:
        """The job ends: out of the registry, its file deleted (a build still running throws
        its zip away when it is done: see ``_gone``)."""
        if self._jobs.get(job_key(job)) is job:
            del self._jobs[job_key(job)]
        handle = self._expiry.pop(job.id, None)
        if handle is not None:
            handle.cancel()
        if job.path is not None:
            with contextlib.suppress(FileNotFoundError):
                job.path.unlink()
            job.path = None

    def held(self) -> list[Path]:
        """The zips kept now."""
        return [] if self._own is None else sorted(self._own[0].glob("*.zip"))


def _clear_stopped(root: Path) -> None:
    """Delete the folders of processes that have stopped (their lock is free, or they never
    made one) with whatever they held: a restart forgets its jobs. Processes of one
    installation running beside each other keep theirs."""
    if not root.is_dir():
        return
    for folder in root.iterdir():
        try:
            if not folder.is_dir():
                folder.unlink()
            elif not _held_by_a_running_process(folder):
                shutil.rmtree(folder)
        except OSError as exc:
            log.warning("could not delete %s from an earlier run: %s", folder, exc.strerror)


def _own_folder(root: Path) -> tuple[Path, int]:
    """A folder of this process's own under ``root`` (both 0700), held with a lock on its
    ``.lock`` for as long as the process runs."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    root.chmod(0o700)
    folder = Path(tempfile.mkdtemp(prefix="run-", dir=root))  # 0700
    lock = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return folder, lock


def _held_by_a_running_process(folder: Path) -> bool:
    try:
        lock = os.open(folder / ".lock", os.O_RDWR)
    except FileNotFoundError:
        # Made this very moment by a process starting beside this one, or left without one.
        return time.time() - folder.stat().st_mtime < STARTING_SECONDS
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(lock)
    return False


def job_key(job: ExportJob) -> tuple[str, str]:
    return (job.conference_id, job.actor)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _read_and_delete(path: Path) -> bytes:
    data = path.read_bytes()
    path.unlink()
    return data
