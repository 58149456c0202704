"""The numbers an operator watches (``/metrics``): this process's Prometheus metrics.

What happens is counted where it happens, once per event (a group commit, a refusal, a phase
change, a message from another process), never per byte and never per device on the way of
an edit. What is held right now (open connections, loaded rooms, the database pool, messages
waiting for Redis) is read only when ``/metrics`` is asked, through the function the running
app hands to ``watch``: the live path pays nothing for it. Labels are small fixed sets (a
kind of document, a reason, a phase), never a conference, a person or an address.

Each ``kring serve`` process keeps its own numbers: scrape every process, not a proxy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

# No "_created" series beside every counter and histogram.
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)  # CPU, memory, open files of this process
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

COMMIT_BATCH = Histogram(
    "kring_commit_batch_updates",
    "Document updates stored by one group commit.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 500),
    registry=REGISTRY,
)
COMMIT_SECONDS = Histogram(
    "kring_commit_seconds",
    "How long one group commit took (its transaction, the disk sync included).",
    buckets=SECONDS,
    registry=REGISTRY,
)
COMMITTED = Counter("kring_updates_committed", "Document updates stored.", registry=REGISTRY)
COMMITS_FAILED = Counter(
    "kring_commits_failed",
    "Group commits the database refused (none of their updates was applied or shown).",
    registry=REGISTRY,
)
REFUSED = Counter(
    "kring_updates_refused",
    "Messages from devices refused, by reason: read_only (an edit from a reader, dropped), "
    "not_yjs, not_saved (the database did not take it), flood, too_big.",
    ["reason"],
    registry=REGISTRY,
)
JOINS_REFUSED = Counter(
    "kring_connections_refused",
    "Websockets to a document refused when joining, by reason.",
    ["reason"],
    registry=REGISTRY,
)
PHASE_CHANGES = Counter(
    "kring_phase_changes",
    "Phase changes made through this process, by the new phase.",
    ["phase"],
    registry=REGISTRY,
)
RELAY_LAG = Histogram(
    "kring_redis_relay_lag_seconds",
    "From another process handing a message to Redis to this process receiving it (by the "
    "two processes' wall clocks; keep them synchronised).",
    buckets=SECONDS,
    registry=REGISTRY,
)
LOOP_LAG = Histogram(
    "kring_event_loop_lag_seconds",
    "How much later than asked a timer on the event loop fired: what every device waits "
    "extra while the loop is busy.",
    buckets=SECONDS,
    registry=REGISTRY,
)

# Reasons counted from the start, so a rate over them exists before the first refusal.
for _reason in ("read_only", "not_yjs", "not_saved", "flood", "too_big"):
    REFUSED.labels(_reason)
for _reason in ("room_full", "too_many_on_device", "too_many_for_person", "forbidden"):
    JOINS_REFUSED.labels(_reason)


@dataclass(frozen=True)
class Held:
    """What this process holds at one moment."""

    connections: Mapping[str, int] = field(default_factory=dict)  # per kind of document
    rooms: int = 0  # conferences with a document loaded
    documents: int = 0  # documents loaded
    pool: Mapping[str, int] = field(default_factory=dict)  # the database pool: in_use, idle, limit
    relay_waiting: int | None = None  # messages waiting to go to Redis (None: no Redis)


class _HeldNow(Collector):
    def __init__(self) -> None:
        self.read: Callable[[], Held] = Held

    def collect(self) -> Iterator[GaugeMetricFamily]:
        held = self.read()
        connections = GaugeMetricFamily(
            "kring_connections_open",
            "Open websockets, by kind of document.",
            labels=["document"],
        )
        for document, count in sorted(held.connections.items()):
            connections.add_metric([document], count)
        yield connections
        yield GaugeMetricFamily("kring_rooms_loaded", "Conferences loaded.", value=held.rooms)
        yield GaugeMetricFamily("kring_documents_loaded", "Documents loaded.", value=held.documents)
        for name, meaning in (
            ("in_use", "Database connections in use."),
            ("idle", "Database connections open and idle in the pool."),
            ("limit", "Database connections the pool opens at most (then requests wait)."),
        ):
            if name in held.pool:
                yield GaugeMetricFamily(f"kring_db_pool_{name}", meaning, value=held.pool[name])
        if held.relay_waiting is not None:
            yield GaugeMetricFamily(
                "kring_redis_relay_waiting",
                "Messages waiting to be published to Redis.",
                value=held.relay_waiting,
            )


_HELD = _HeldNow()
REGISTRY.register(_HELD)


def watch(read: Callable[[], Held]) -> None:
    """Read what is held from ``read`` whenever /metrics is asked (the app sets it)."""
    _HELD.read = read


def unwatch() -> None:
    _HELD.read = Held


def exposition() -> tuple[bytes, str]:
    """Every metric of this process in Prometheus's text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_PLAIN_0_0_4


async def watch_loop(interval: float = 0.5) -> None:
    """Forever: sleep ``interval`` and record how much later the loop woke than asked. A loop
    kept busy (a long computation, a blocking call) wakes late for every device at once."""
    loop = asyncio.get_running_loop()
    while True:
        start = loop.time()
        await asyncio.sleep(interval)
        LOOP_LAG.observe(max(0.0, loop.time() - start - interval))
