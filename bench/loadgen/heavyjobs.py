"""The heavy work of scenario heavy, done to a running Kring the way people and operators do
it: an admin's outcomes page over 2,000 conferences, ten PDF copies of plan versions, two
export zips, one conference erased through its form, the retention purge (``kring purge``)
and a backup (``kring backup PATH``) while the server runs.

The instance is seeded as bench/outcomes.py seeds it (conferences of the research's size,
each with version 1 and five follow-up versions, owned by one admin), and PURGED of those are
made closed three years ago, for the purge to erase.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from bench.outcomes import PASSWORD, seed

from .servers import ROOT, KringServer

OUTCOMES_CONFERENCES = 2000
PURGED = 20  # of them closed long ago: the purge erases these
PDF_COPIES = 10
EXPORTS = 2
RETENTION_MONTHS = "12"  # for the `kring purge` run only: the server itself never purges here
KINDS = ("outcomes", "pdf", "export", "erase", "purge", "backup")
CHOSEN: set[str] = set(KINDS)  # --heavy-jobs: run only these (to see which one stalls)


def seeded_id(n: int) -> str:
    return f"bench{n:06d}"  # as bench/outcomes.py names them


# The seeded conferences each job uses (none of them used by two jobs, none of the meeting's).
PDF_CONFERENCES = [seeded_id(n) for n in range(PDF_COPIES)]  # version n % 6 + 1 of each
EXPORT_CONFERENCES = [seeded_id(100 + n) for n in range(EXPORTS)]
ERASED = seeded_id(200)
CLOSED = [seeded_id(OUTCOMES_CONFERENCES - 1 - n) for n in range(PURGED)]


async def seed_organisation(server: KringServer) -> tuple[str, float]:
    """The admin's 2,000 conferences, PURGED of them closed three years ago; (the admin's
    email, seconds it took)."""
    t0 = time.perf_counter()
    email = await seed(server.settings.database_url, OUTCOMES_CONFERENCES)
    long_ago = (datetime.now(UTC) - timedelta(days=3 * 365)).strftime("%Y-%m-%d %H:%M:%S.000000")
    with contextlib.closing(sqlite3.connect(server.db_path)) as db:
        db.executemany(
            "UPDATE conference SET phase = 'closed', closed_at = ? WHERE id = ?",
            [(long_ago, cid) for cid in CLOSED],
        )
        db.commit()
        closed = db.execute("SELECT count(*) FROM conference WHERE closed_at IS NOT NULL")
        assert closed.fetchone()[0] == PURGED, "the closed conferences were not marked"
    return email, time.perf_counter() - t0


async def admin_client(server: KringServer, email: str) -> httpx.AsyncClient:
    """A browser of the admin, logged in."""
    client = httpx.AsyncClient(
        base_url=server.base_url,
        headers={"origin": server.base_url},
        timeout=120,
        limits=httpx.Limits(max_connections=20),
    )
    login = await client.post("/login", data={"email": email, "password": PASSWORD})
    if login.status_code != 303:
        await client.aclose()
        raise RuntimeError(f"the admin's login answered {login.status_code}")
    return client


@dataclass
class Job:
    """One heavy job: what it is, when it started and ended (perf_counter), how it went."""

    name: str
    kind: str
    started: float = 0.0
    ended: float = 0.0
    outcome: str = ""  # "" while running; what it did, or what went wrong
    ok: bool = False
    parts: list[float] = field(default_factory=list)  # seconds of each request, where several

    @property
    def took(self) -> float:
        return self.ended - self.started


async def _timed(job: Job, work: Callable[[Job], Awaitable[str]]) -> None:
    job.started = time.perf_counter()
    try:
        job.outcome = await work(job)
        job.ok = True
    except Exception as exc:  # reported beside the figures, never hidden
        job.outcome = f"FAILED: {type(exc).__name__}: {exc}"[:200]
    job.ended = time.perf_counter()


async def _get(client: httpx.AsyncClient, path: str, job: Job, kind: str) -> httpx.Response:
    began = time.perf_counter()
    response = await client.get(path)
    job.parts.append(time.perf_counter() - began)
    if response.status_code != 200 or not response.headers["content-type"].startswith(kind):
        raise RuntimeError(f"GET {path} answered {response.status_code}")
    return response


def _kb(size: int) -> str:
    return f"{size / 1024:,.0f} KB"


def _spread(job: Job) -> str:
    return f"each {min(job.parts):.2f}-{max(job.parts):.2f} s"


async def _outcomes(client: httpx.AsyncClient, job: Job) -> str:
    page = await _get(client, "/outcomes", job, "text/html")
    return f"{_kb(len(page.content))} page"


async def _pdfs(client: httpx.AsyncClient, job: Job) -> str:
    copies = await asyncio.gather(
        *(
            _get(client, f"/c/{cid}/plan/{n % 6 + 1}.pdf", job, "application/pdf")
            for n, cid in enumerate(PDF_CONFERENCES)
        )
    )
    return f"{_kb(sum(len(c.content) for c in copies))} in all, {_spread(job)}"


async def _exports(client: httpx.AsyncClient, job: Job) -> str:
    zips = await asyncio.gather(
        *(
            _get(client, f"/conferences/{cid}/export.zip", job, "application/zip")
            for cid in EXPORT_CONFERENCES
        )
    )
    return f"{_kb(sum(len(z.content) for z in zips))} in all, {_spread(job)}"


async def _erase(server: KringServer, client: httpx.AsyncClient, job: Job) -> str:
    number = int(ERASED.removeprefix("bench"))
    response = await client.post(
        f"/conferences/{ERASED}/erase", data={"confirm": f"Cliënt {number}"}
    )
    if response.status_code != 303:
        raise RuntimeError(f"the erase form answered {response.status_code}")
    if server.count_rows("SELECT count(*) FROM conference WHERE id = ?", ERASED):
        raise RuntimeError("the conference is still there")
    erased = response.headers["location"].rsplit("=", 1)[-1]
    return f"{erased} (marked, then its rows in steps of 500)"


async def _command(server: KringServer, job: Job, *args: str, **env: str) -> str:
    """``kring ARGS`` as an operator runs it beside the server (its own process)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        env={**server.env, **env},
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"exited {process.returncode}: {err.decode(errors='replace')[-160:]}")
    return (out or err).decode(errors="replace").strip().splitlines()[-1][:90] if out or err else ""


async def _purge(server: KringServer, job: Job) -> str:
    await _command(server, job, "purge", KRING_RETENTION_MONTHS=RETENTION_MONTHS)
    left = server.count_rows("SELECT count(*) FROM conference WHERE closed_at IS NOT NULL")
    if left:
        raise RuntimeError(f"{left} of the {PURGED} closed conferences are still there")
    return f"{PURGED} conferences closed 3 years ago erased (`kring purge`, own process)"


async def _backup(server: KringServer, job: Job) -> str:
    path = server.dir / "backup.sqlite"
    await _command(server, job, "backup", str(path))
    size = path.stat().st_size / 1024 / 1024
    return f"{size:,.0f} MB written and checked (`kring backup`, own process)"


def jobs() -> list[Job]:
    """The jobs to run (all, unless --heavy-jobs chose some)."""
    every = [
        Job(f"outcomes page, {OUTCOMES_CONFERENCES:,} conferences", "outcomes"),
        Job(f"{PDF_COPIES} PDF copies at once", "pdf"),
        Job(f"{EXPORTS} export zips at once", "export"),
        Job("erase 1 conference (its form)", "erase"),
        Job(f"retention purge ({PURGED} conferences)", "purge"),
        Job("backup while serving", "backup"),
    ]
    return [job for job in every if job.kind in CHOSEN]


async def run_all(server: KringServer, client: httpx.AsyncClient, todo: list[Job]) -> None:
    """Every job at once; returns when all have ended (each records its own outcome)."""
    work: dict[str, Callable[[Job], Awaitable[str]]] = {
        "outcomes": lambda job: _outcomes(client, job),
        "pdf": lambda job: _pdfs(client, job),
        "export": lambda job: _exports(client, job),
        "erase": lambda job: _erase(server, client, job),
        "purge": lambda job: _purge(server, job),
        "backup": lambda job: _backup(server, job),
    }
    await asyncio.gather(*(_timed(job, work[job.kind]) for job in todo))
