"""The numbers an operator watches (``/metrics``): this process's Prometheus metrics.

What happens is counted where it happens, once per event (a group commit, a refusal, a phase
change, a message from another process), never per byte and never per device on the way of
an edit. What is held right now (open connections, loaded rooms, the database pool, messages
waiting for Redis) is read only when ``/metrics`` is asked, through the function the running
app hands to ``watch``: the live path pays nothing for it. Labels are small fixed sets (a
kind of document, a reason, a phase), never a conference, a person or an address.

Each ``kring serve`` process keeps its own numbers: scrape every process, not a proxy.

The event loop's lag is also watched for the log: a wake-up later than
``KRING_LOOP_LAG_WARN_MS`` is a warning that names what was running meanwhile, the heavy work
marked with :func:`heavy` and the HTTP routes marked with :func:`serving`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
import time
from collections import Counter as Tally
from collections import deque
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
# The loop's lag, finer around what a live room notices (20 ms at the 99th percentile, 100 ms
# at most: issue 21's targets are bucket bounds, so a histogram says whether they are met).
LAG_SECONDS = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
)  # fmt: skip

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
    buckets=LAG_SECONDS,
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


# -- what was running while the loop was late -----------------------------------------------

log = logging.getLogger("kring.loop")

_lock = threading.Lock()  # heavy() may be entered in a worker thread too
_tokens = itertools.count()
_heavy: dict[int, str] = {}  # heavy work in progress: its label
_serving: dict[int, Callable[[], str]] = {}  # HTTP requests in progress: names their route
# (when it ended, "heavy" or "route", its name) of what ended lately; bounded, so nothing
# grows where no watcher reads it (the command line, tests)
_ended: deque[tuple[float, str, str]] = deque(maxlen=512)


@contextlib.contextmanager
def heavy(label: str) -> Iterator[None]:
    """Mark heavy work (a PDF, an export, a backup, a large document) for as long as it runs,
    so that a late wake-up of the event loop meanwhile names it in its warning. ``label`` is a
    fixed phrase ("pdf copy"), never a name, an id or anything a person typed. Costs a dict
    entry; usable around code on the loop and inside a worker thread alike."""
    with _lock:
        token = next(_tokens)
        _heavy[token] = label
    try:
        yield
    finally:
        with _lock:
            del _heavy[token]
            _ended.append((time.monotonic(), "heavy", label))


@contextlib.contextmanager
def serving(route: Callable[[], str]) -> Iterator[None]:
    """Mark one HTTP request in progress; ``route()`` names it ("GET /outcomes") when a late
    wake-up asks (its route is known only once the router has matched it)."""
    with _lock:
        token = next(_tokens)
        _serving[token] = route
    try:
        yield
    finally:
        with _lock:
            del _serving[token]
            _ended.append((time.monotonic(), "route", route()))


def running_since(moment: float) -> tuple[Tally[str], Tally[str]]:
    """The heavy work and the HTTP routes in progress at any time since ``moment``
    (``time.monotonic()``): each label with how many ran."""
    with _lock:
        work = Tally(_heavy.values())
        routes = [describe for describe in _serving.values()]
        ended = [(kind, name) for at, kind, name in _ended if at >= moment]
    served = Tally(describe() for describe in routes)
    for kind, name in ended:
        (work if kind == "heavy" else served)[name] += 1
    return work, served


def _listed(found: Tally[str]) -> str:
    return ", ".join(
        name if count == 1 else f"{name} ({count}x)" for name, count in found.most_common()
    )


class LateWakeups:
    """Turns the watcher's wake-ups into warnings: one later than ``warn_after`` seconds is
    logged with what was running meanwhile, at most one line per ``quiet_for`` seconds (the
    late ones in between are summed into the next line: how many, the worst, all names)."""

    def __init__(self, warn_after: float, quiet_for: float = 1.0) -> None:
        self.warn_after = warn_after
        self.quiet_for = quiet_for
        self.last_line = -float("inf")
        self._reset()

    def _reset(self) -> None:
        self.count = 0
        self.worst = 0.0
        self.work: Tally[str] = Tally()
        self.routes: Tally[str] = Tally()

    def woke(self, lag: float, slept_since: float, now: float) -> None:
        """One wake-up ``lag`` s late of a sleep that began at ``slept_since`` (monotonic)."""
        if self.warn_after > 0 and lag > self.warn_after:
            work, routes = running_since(slept_since)
            self.count += 1
            self.worst = max(self.worst, lag)
            self.work |= work
            self.routes |= routes
        if self.count and now - self.last_line >= self.quiet_for:
            self.last_line = now
            self._log()
            self._reset()

    def _log(self) -> None:
        worst = round(self.worst * 1000)
        head = (
            f"the event loop woke {worst} ms late"
            if self.count == 1
            else f"the event loop woke late {self.count} times, at worst {worst} ms"
        )
        log.warning(
            "%s (every live room waited meanwhile); heavy work: %s; HTTP requests: %s",
            head,
            _listed(self.work) or "none marked",
            _listed(self.routes) or "none",
            extra={
                "lag_ms": worst,
                "late_wakeups": self.count,
                "heavy_work": _listed(self.work),
                "http_routes": _listed(self.routes),
            },
        )


async def watch_loop(interval: float = 0.05, warn_after: float = 0.1) -> None:
    """Forever: sleep ``interval`` and record how much later the loop woke than asked. A loop
    kept busy (a long computation, a blocking call) wakes late for every device at once. A
    wake-up later than ``warn_after`` seconds (0: never) is logged with what ran meanwhile
    (:class:`LateWakeups`). The interval is short, so a stall of ``warn_after + interval`` or
    longer is always seen."""
    late = LateWakeups(warn_after)
    while True:
        start = time.monotonic()
        await asyncio.sleep(interval)
        now = time.monotonic()
        lag = max(0.0, now - start - interval)
        LOOP_LAG.observe(lag)
        late.woke(lag, start, now)
