"""How long an edit takes to reach a device on another Kring process (KRING_REDIS_URL).

Starts two `kring serve` processes on one fresh PostgreSQL database and the local Redis, opens
one conference's plan with a writer and a reader on process A and a reader on process B, sends
edits at a steady rate, and prints the delivery latency to each reader (same process, and
across processes through Redis) and how many edits each missed. A measuring tool: it asserts
nothing.

    .venv/bin/python bench/scale_out.py [--edits 600] [--rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from tests.support.databases import create_postgres_database, drop_postgres_database
from tests.support.people import DemoConference, demo_conference
from tests.support.server import make_instance, start_server, stop_server

MARK = re.compile(rb"<(\d+)>")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def has_all(device: Any, edits: int) -> bool:
    """Whether every edit's mark ("<i>") has arrived in this device's plan."""
    return str(device.text()).count("<") >= edits


async def measure(edits: int, rate: float) -> None:
    import json
    import secrets

    made = await create_postgres_database()
    if made is None:
        sys.exit("PostgreSQL is not reachable on 127.0.0.1:5432")
    name, url = made
    folder = Path(tempfile.mkdtemp(prefix="kring-bench-"))
    for part in ("a", "b"):
        (folder / part).mkdir()
    shared = {
        "KRING_DATABASE_URL": url,
        "KRING_SECRET_KEY": secrets.token_hex(24),
        "KRING_REDIS_URL": "redis://127.0.0.1:6379/0",
        "KRING_REDIS_PREFIX": f"bench-{secrets.token_hex(4)}",
        "KRING_MAX_MESSAGES_PER_SECOND": "1000",
    }
    servers = []
    try:
        servers.append(start_server(make_instance(folder / "a", **shared)))
        servers.append(start_server(make_instance(folder / "b", **shared)))
        a, b = servers
        on_a = await demo_conference(a, "presentation")
        on_b = DemoConference(b, json.loads(json.dumps(on_a.data).replace(a.url, b.url)))
        sent: dict[int, float] = {}
        got: dict[str, dict[int, float]] = {"same process": {}, "other process": {}}

        def receiver(label: str):  # type: ignore[no-untyped-def]
            def on_update(update: bytes) -> None:
                now = time.perf_counter()
                for match in MARK.finditer(update):
                    got[label].setdefault(int(match.group(1)), now)

            return on_update

        writer = on_a.device("plan", on_a.cookie("client"), saved=True)
        near = on_a.device(
            "plan", on_a.cookie("network_member", 0), on_update=receiver("same process")
        )
        far = on_b.device(
            "plan", on_b.cookie("network_member", 1), on_update=receiver("other process")
        )
        for device in (writer, near, far):
            await device.connect()
            await device.synced()
        started = time.perf_counter()
        for i in range(edits):
            writer.text().insert(len(writer.text()), f"<{i}>")
            sent[i] = time.perf_counter()
            await writer.flush()
            await asyncio.sleep(max(0.0, started + (i + 1) / rate - time.perf_counter()))
        for device in (near, far):  # bounded: what has not arrived by then counts as lost
            with contextlib.suppress(TimeoutError):
                await device.wait_for(functools.partial(has_all, device, edits), 10)
        print(f"{edits} edits at {rate:g}/s from a writer on process A")
        for label, times in got.items():
            latencies = [(times[i] - sent[i]) * 1000 for i in times if i in sent]
            print(
                f"  reader on the {label}: {len(times)} of {edits} delivered, "
                f"{edits - len(times)} lost; latency p50 {percentile(latencies, 50):.1f} ms, "
                f"p95 {percentile(latencies, 95):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
                f"max {max(latencies):.1f} ms"
            )
        for device in (writer, near, far):
            await device.close()
    finally:
        for server in servers:
            stop_server(server)
        await drop_postgres_database(name)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=600)
    parser.add_argument("--rate", type=float, default=20.0)
    args = parser.parse_args()
    asyncio.run(measure(min(args.edits, 10_000), min(args.rate, 500.0)))


if __name__ == "__main__":
    main()
