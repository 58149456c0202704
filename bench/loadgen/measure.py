"""Measuring: CPU of the server, of the generator and of everyone else over a window of wall
time, the generator's own loop lag, percentiles, and the tables the figures are printed in."""

from __future__ import annotations

import asyncio
import gc
import math
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .servers import CLK_TCK, ServerProcess

# A figure taken while the generator itself used more than this share of a core is marked
# "(generator limit)": part of it is the generator's own queueing, not the server's.
GENERATOR_LIMIT = 0.8
LIMIT_MARK = " (generator limit)"

PROFILE: dict[str, str] = {}  # py-spy: the binary and the folder for its output (optional)


def progress(text: str) -> None:
    sys.stdout.flush()
    print(f"  .. {text}", file=sys.stderr, flush=True)


def machine_busy() -> tuple[float, float]:
    """(CPU seconds all processes used, CPU seconds stolen by the hypervisor) since boot."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq) / CLK_TCK, steal / CLK_TCK


def own_cpu() -> float:
    """CPU seconds of this process and of its children that have ended (servers, tools)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def generator_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class LagMonitor:
    """How late this process's event loop wakes up (a generator stall inflates latencies)."""

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.lags: list[float] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(self.period)
            self.lags.append(time.perf_counter() - t - self.period)

    def stop(self) -> list[float]:
        self.task.cancel()
        return sorted(self.lags)


class Window:
    """Server CPU and load-generator CPU over a stretch of wall time (and, with --py-spy,
    a py-spy recording of a Kring server over the same stretch). The generator's garbage
    collector is off meanwhile (its objects are frozen first), so that its pauses do not
    show up as server latency."""

    def __init__(self, server: ServerProcess, name: str = "") -> None:
        self.server = server
        gc.collect()
        gc.freeze()
        gc.disable()
        self.lag = LagMonitor()
        self.spy: subprocess.Popen[bytes] | None = None
        if PROFILE and name and server.kind == "kring" and server.proc is not None:
            out = Path(PROFILE["dir"]) / f"{name}.collapsed.txt"
            self.spy = subprocess.Popen(  # noqa: S603 (the py-spy named on the command line)
                [
                    PROFILE["py_spy"],
                    "record",
                    "--pid",
                    str(server.proc.pid),
                    "--rate",
                    "250",
                    "--nonblocking",
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                    "--duration",
                    "300",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)  # let it attach
            progress(f"py-spy records the server into {out}")
        self.busy0 = machine_busy()
        self.threads0 = server.thread_cpu()
        self.wall0 = time.perf_counter()
        self.cpu0 = server.cpu_seconds()
        self.gen0 = generator_cpu()
        self.lags: list[float] = []
        self.figures = (0.0, 0.0, 0.0)

    def close(self) -> tuple[float, float, float]:
        """(wall seconds, server CPU seconds, generator CPU seconds)."""
        self.lags = self.lag.stop()
        gc.enable()
        gc.unfreeze()
        if self.spy is not None:
            self.spy.send_signal(signal.SIGINT)
            try:
                self.spy.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.spy.kill()
                self.spy.wait(timeout=5)
        wall = time.perf_counter() - self.wall0
        cpu = self.server.cpu_seconds() - self.cpu0
        self.figures = (wall, cpu, generator_cpu() - self.gen0)
        threads = self.server.thread_cpu()
        pid = self.server.proc.pid if self.server.proc else 0
        spent = {tid: cpu - self.threads0.get(tid, 0.0) for tid, cpu in threads.items()}
        self.loop_cpu = spent.get(pid, 0.0)
        self.other_threads_cpu = sum(v for tid, v in spent.items() if tid != pid)
        self.thread_count = len(threads)
        busy, steal = machine_busy()
        # CPU that neither the server nor this generator used: other work on the machine
        self.others = busy - self.busy0[0] - cpu - self.figures[2]
        self.steal = steal - self.busy0[1]
        return self.figures

    @property
    def generator_share(self) -> float:
        wall, _cpu, gen = self.figures
        return gen / wall if wall > 0 else 0.0

    @property
    def limited(self) -> bool:
        """Whether the generator used more than GENERATOR_LIMIT of a core meanwhile."""
        return self.generator_share > GENERATOR_LIMIT

    @property
    def mark(self) -> str:
        return LIMIT_MARK if self.limited else ""


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    if not n:
        return float("nan")
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def mb(kb: float) -> str:
    return f"{kb / 1024:.0f} MB"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


class Table:
    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[tuple[str, str, str]] = []

    def add(self, name: str, value: str, target: str = "") -> None:
        self.rows.append((name, value, target))

    def print(self) -> None:
        print(f"\n== {self.title}")
        width = max(len(r[0]) for r in self.rows) if self.rows else 0
        vwidth = min(64, max(len(r[1]) for r in self.rows)) if self.rows else 0
        for name, value, target in self.rows:
            line = f"  {name:<{width}}  {value:<{vwidth}}"
            if target:
                line += f"   {target}"
            print(line.rstrip())
        sys.stdout.flush()


@dataclass
class Figure:
    """One number a scenario compares between the servers, as printed (``text``)."""

    value: float
    text: str
    limited: bool = False  # taken while the generator used > GENERATOR_LIMIT of a core

    @property
    def shown(self) -> str:
        return self.text + (LIMIT_MARK if self.limited else "")


@dataclass
class Result:
    """A scenario's run against one server: its table, and the figures to compare."""

    table: Table
    figures: dict[str, Figure] = field(default_factory=dict)

    def put(self, key: str, value: float, text: str, window: Window | None = None) -> None:
        self.figures[key] = Figure(value, text, bool(window and window.limited))
