"""Kring's event-loop lag over a window, three ways:

- its own histogram ``kring_event_loop_lag_seconds`` (a 50 ms timer; buckets at 20 and 100
  ms, so whether issue 21's targets are met is exact), scraped from /metrics with
  KRING_METRICS_TOKEN before and after the window;
- its log: the bench runs it with KRING_LOOP_LAG_WARN_MS=20, so every wake-up later than
  20 ms is a warning naming how late and the heavy work and routes that ran meanwhile (the
  exact worst lag, where the histogram only has a bucket);
- from outside, a probe: one more device pings the server over its websocket every 20 ms;
  uvicorn answers a ping as soon as the loop reads the frame, so the round trip is the
  loop's lag (plus loopback and the generator's own lag, printed beside it).

Beside them, whether a late wake-up was the loop's own work or the kernel's: how long the
server's event-loop thread sat ready to run while every core was busy with other processes
(its ``/proc/PID/task/PID/schedstat``, sampled every 10 ms: :class:`CpuWait`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

from .clients import Device
from .measure import percentile
from .servers import KringServer

LAG = "kring_event_loop_lag_seconds"
COMMIT = "kring_commit_seconds"  # a group commit, waiting for SQLite's write lock included
WARN_MS = 20  # the server's KRING_LOOP_LAG_WARN_MS in this scenario
LATE = re.compile(
    r"kring\.loop: the event loop woke (?:(\d+) ms late|late (\d+) times, at worst (\d+) ms)"
)


async def histograms(server: KringServer, token: str) -> dict[str, dict[float, float]]:
    """The loop lag's and the group commits' histograms: cumulative counts by upper bound
    (inf for +Inf)."""
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(
            f"{server.base_url}/metrics", headers={"authorization": f"Bearer {token}"}
        )
    response.raise_for_status()
    found: dict[str, dict[float, float]] = {LAG: {}, COMMIT: {}}
    for family in text_string_to_metric_families(response.text):
        if family.name in found:
            for sample in family.samples:
                if sample.name == f"{family.name}_bucket":
                    found[family.name][float(sample.labels["le"])] = sample.value
    return found


@dataclass
class LagHistogram:
    """The wake-ups of one window: cumulative counts by upper bound."""

    cumulative: dict[float, float]

    @classmethod
    def between(cls, before: dict[float, float], after: dict[float, float]) -> LagHistogram:
        return cls({le: after[le] - before.get(le, 0.0) for le in sorted(after)})

    @property
    def count(self) -> float:
        return self.cumulative.get(math.inf, 0.0)

    def share_within(self, bound: float) -> float:
        """The share of wake-ups no later than ``bound`` s (a bucket bound)."""
        return self.cumulative[bound] / self.count if self.count else math.nan

    def quantile(self, q: float) -> tuple[float, float, float]:
        """(estimate by linear interpolation, lower bound, upper bound) in seconds."""
        rank = q * self.count
        low, below = 0.0, 0.0
        for bound, cumulative in self.cumulative.items():
            if cumulative >= rank:
                if math.isinf(bound):
                    return low, low, bound
                inside = cumulative - below
                share = (rank - below) / inside if inside else 1.0
                return low + share * (bound - low), low, bound
            low, below = bound, cumulative
        return math.nan, math.nan, math.nan

    def highest(self) -> float:
        """Upper bound of the highest bucket with a wake-up in it."""
        previous = 0.0
        top = 0.0
        for bound, cumulative in self.cumulative.items():
            if cumulative > previous:
                top = bound
            previous = cumulative
        return top


@dataclass
class LateLines:
    """The server's late-loop warnings of one window."""

    lines: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, server: KringServer, start: int, end: int) -> LateLines:
        with open(server.log_path, "rb") as f:
            f.seek(start)
            text = f.read(end - start).decode(errors="replace")
        return cls([line for line in text.splitlines() if LATE.search(line)])

    def worst_ms(self, line: str) -> int:
        match = LATE.search(line)
        assert match is not None
        return int(match[1] or match[3])

    @property
    def wakeups(self) -> int:
        return sum(int(m[2] or 1) for m in map(LATE.search, self.lines) if m)

    @property
    def worst(self) -> float:
        """Seconds; 0 when no wake-up was later than WARN_MS."""
        return max((self.worst_ms(line) for line in self.lines), default=0) / 1000

    def named(self, limit: int = 3) -> list[str]:
        """The worst lines, shortened to the lag and what ran meanwhile."""
        out = []
        for line in sorted(self.lines, key=self.worst_ms, reverse=True)[:limit]:
            what = line.split("meanwhile); heavy work: ", 1)[-1].replace(
                "HTTP requests:", "routes:"
            )
            out.append(f"{self.worst_ms(line)} ms: {what}")
        return out


def log_size(server: KringServer) -> int:
    try:
        return server.log_path.stat().st_size
    except OSError:
        return 0


class Probe:
    """Pings the server every ``period`` s over one device's websocket; the round trips."""

    def __init__(self, device: Device, period: float = 0.02) -> None:
        self.device = device
        self.period = period
        self.round_trips: list[float] = []
        self.failed = 0
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.round_trips = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        ws = self.device.ws
        assert ws is not None
        next_at = time.perf_counter()
        while True:
            try:
                began = time.perf_counter()
                waiter = await ws.ping()
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancel that
                # comes as the pong does, and the probe then pinged on until its connection
                # closed, minutes later (a run of 420 s instead of 45).
                async with asyncio.timeout(10):
                    await waiter
                self.round_trips.append(time.perf_counter() - began)
            except (TimeoutError, ConnectionError, RuntimeError):
                self.failed += 1
            except Exception:  # the connection closed: report, stop pinging
                self.failed += 1
                return
            next_at += self.period
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    async def stop(self) -> list[float]:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        return sorted(self.round_trips)


class CpuWait:
    """How long one thread sat runnable without a core (the kernel's run-queue wait, from
    ``/proc/PID/task/PID/schedstat``): in all, and the worst within any ``span`` s."""

    def __init__(self, pid: int, period: float = 0.01, span: float = 0.1) -> None:
        self.path = f"/proc/{pid}/task/{pid}/schedstat"
        self.period, self.span = period, span
        self.total = 0.0
        self.worst = 0.0
        self.task: asyncio.Task[None] | None = None

    def _waited(self) -> float | None:
        try:
            with open(self.path) as f:
                return int(f.read().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):  # gone, or no schedstat in this kernel
            return None

    def start(self) -> None:
        self.total = self.worst = 0.0
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        first = self._waited()
        if first is None:
            return
        recent: list[tuple[float, float]] = [(time.perf_counter(), first)]
        while True:
            await asyncio.sleep(self.period)
            waited = self._waited()
            if waited is None:
                return
            now = time.perf_counter()
            recent.append((now, waited))
            while len(recent) > 2 and now - recent[1][0] >= self.span:
                recent.pop(0)
            self.total = waited - first
            self.worst = max(self.worst, waited - recent[0][1])

    async def stop(self) -> tuple[float, float]:
        """(in all, worst within ``span``), in s."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        return self.total, self.worst


def spread_ms(values: list[float]) -> str:
    """p50 / p99 / max of sorted seconds, in ms."""
    if not values:
        return "-"
    return " / ".join(
        f"{v * 1000:.1f}" for v in (percentile(values, 50), percentile(values, 99), values[-1])
    )
