"""How long the outcomes page takes for a whole organisation, on a real `kring serve`.

Seeds throwaway instances with N conferences of the research's size (15 participants, 18
agreements over 4 life areas, a fifth of them requests to professionals, version 1 and five
follow-up versions, 15 people's marks at the presentation), then times `GET /outcomes` for an
admin, who sees all of them. Prints figures; asserts nothing.

    .venv/bin/python bench/outcomes.py                  # 100, 500 and 2000 conferences
    .venv/bin/python bench/outcomes.py --conferences 50 --requests 10
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.conference import auth  # noqa: E402
from server.rules.outcomes import summarise  # noqa: E402
from server.rules.plan import LIFE_AREAS  # noqa: E402
from server.storage.models import Conference, Participant, PlanVersion, Rating  # noqa: E402
from server.storage.store import Store  # noqa: E402
from tests.support.server import make_instance, start_server, stop_server  # noqa: E402

PASSWORD = "correct horse battery"  # noqa: S105 - a throwaway instance's admin
STATUSES = ("open", "on_track", "done", "not_working")


def _agreements(rng: random.Random, statuses: list[str]) -> list[dict[str, Any]]:
    areas = rng.sample(list(LIFE_AREAS), 4)
    return [
        {
            "id": f"a{i}",
            "life_area": areas[i % 4],
            "what": f"Afspraak {i}: samen iets regelen, elke week, met wie het kan",
            "who": "Ayşe, Mehmet",
            "when": "elke woensdag",
            "where": "thuis",
            "backup": "Dan belt oma",
            "request": "Hulp bij de formulieren" if i % 5 == 0 else "",
            "request_to": "",
            "status": statuses[i],
            "progress": [],
        }
        for i in range(18)
    ]


async def seed(url: str, conferences: int) -> str:
    """N conferences under one admin, inserted in bulk; returns the admin's email."""
    rng = random.Random(conferences)
    store = Store.connect(url)
    try:
        admin = await store.create_account(
            "admin@bench.example", "Admin", await auth.hash_password(PASSWORD), "admin"
        )
        now = datetime.now(UTC)
        rows: dict[Any, list[dict[str, Any]]] = {
            Conference: [],
            Participant: [],
            PlanVersion: [],
            Rating: [],
        }
        participant_id = 0
        for n in range(conferences):
            cid = f"bench{n:06d}"
            agreed = now - timedelta(days=rng.randint(20, 400))
            rows[Conference].append(
                {
                    "id": cid,
                    "owner_id": admin.id,
                    "client_name": f"Cliënt {n}",
                    "question": "Hoe verder?",
                    "phase": "action_team",
                    "plan_frozen_at": agreed,
                }
            )
            first = participant_id + 1
            for i in range(15):
                participant_id += 1
                rows[Participant].append(
                    {
                        "id": participant_id,
                        "conference_id": cid,
                        "name": f"Persoon {i}",
                        "role": "client" if i == 0 else "network_member",
                    }
                )
            statuses = ["open"] * 18
            for number in range(1, 7):
                content = {"agreements": _agreements(rng, statuses)}
                rows[PlanVersion].append(
                    {
                        "conference_id": cid,
                        "number": number,
                        "state": b"\x00\x00",
                        "content": content,
                        "summary": summarise(content),
                        "created_by": "bench",
                        "created_at": agreed + timedelta(weeks=6 * (number - 1)),
                    }
                )
                statuses = [rng.choice(STATUSES) for _ in range(18)]
            for i in range(15):
                rows[Rating].append(
                    {
                        "conference_id": cid,
                        "participant_id": first + i,
                        "occasion": 0,
                        "meeting_score": rng.randint(5, 10),
                        "plan_score": rng.randint(5, 10),
                        "at": agreed,
                    }
                )
        async with store.engine.begin() as db:
            for table, values in rows.items():
                await db.execute(insert(table), values)
        return admin.email
    finally:
        await store.close()


def measure(conferences: int, requests: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        instance = make_instance(Path(folder))
        instance.cli("db", "upgrade")
        started = time.perf_counter()
        email = asyncio.run(seed(instance.database_url, conferences))
        seeded = time.perf_counter() - started
        server = start_server(instance)
        try:
            with httpx.Client(
                base_url=server.url, headers={"origin": server.url}, timeout=120
            ) as browser:
                login = browser.post("/login", data={"email": email, "password": PASSWORD})
                assert login.status_code == 303, login.text
                browser.get("/outcomes")  # the first use of each statement is dearer
                times, size = [], 0
                for _ in range(requests):
                    began = time.perf_counter()
                    page = browser.get("/outcomes")
                    times.append((time.perf_counter() - began) * 1000)
                    size = len(page.content)
                    assert page.status_code == 200
        finally:
            stop_server(server)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    print(
        f"{conferences:>5} conferences ({conferences * 6} versions, seeded in {seeded:.1f} s): "
        f"GET /outcomes p50 {statistics.median(times):.0f} ms, p95 {p95:.0f} ms, "
        f"max {times[-1]:.0f} ms over {requests} requests; page {size / 1024:.0f} KB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conferences", type=int, nargs="+", default=[100, 500, 2000])
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    for count in args.conferences:
        measure(count, args.requests)


if __name__ == "__main__":
    main()
