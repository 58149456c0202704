"""Scenario heavy (issue 21, "heavy work never stalls the live rooms"): the meeting of
scenario rooms (50 conferences x 12 devices editing the plan every ~2 s), run twice in one
server: once plain, once while an admin's outcomes page over 2,000 conferences, ten PDF
copies, two export zips, an erasure, the retention purge and a backup run at the same time
(heavyjobs.py). Kring only: the reference server has no heavy work.

Printed side by side: delivery and "saved" latency, the server's event-loop lag (its
histogram, its log, and a ping probe from outside: loopwatch.py), edits lost, and how long
each heavy job took, against issue 21's targets.
"""

from __future__ import annotations

import asyncio
import math
import random
import resource
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .clients import Device, Tally, close_all, connect_all, drain, room_devices
from .heavyjobs import Job, admin_client, jobs, run_all, seed_organisation
from .loopwatch import (
    COMMIT,
    LAG,
    WARN_MS,
    CpuWait,
    LagHistogram,
    LateLines,
    Probe,
    histograms,
    log_size,
    spread_ms,
)
from .measure import Result, Table, Window, mb, ms, percentile, progress, verdict
from .seed import make_conferences
from .servers import KringServer, Server, make_server

TARGET_RATIO = 1.5  # meeting p99 with heavy work <= 1.5x without
TARGET_LAG_P99 = 0.020  # s; bucket bounds of kring_event_loop_lag_seconds
TARGET_LAG_MAX = 0.100
ROOMS, PEOPLE, GAP = 50, 12, 2.0


@dataclass
class Run:
    """One meeting: plain, or with the heavy work."""

    label: str
    tally: Tally = field(default_factory=Tally)
    window: Window | None = None
    lag: LagHistogram = field(default_factory=lambda: LagHistogram({}))
    commits: LagHistogram = field(default_factory=lambda: LagHistogram({}))
    late: LateLines = field(default_factory=LateLines)
    pings: list[float] = field(default_factory=list)
    cpu_wait: tuple[float, float] = (0.0, 0.0)  # the loop thread runnable without a core
    peak_kb: int = 0
    unsaved: int = 0
    jobs: list[Job] = field(default_factory=list)
    jobs_at: float = 0.0  # s into the run
    commands_cpu: float = 0.0  # CPU s of the `kring` commands the jobs ran (own processes)


async def type_until(devices: list[Device], until: list[float]) -> None:
    """Every device edits about every GAP s (uniform GAP/2 .. 1.5 GAP, random start) until
    ``until[0]`` (perf_counter), which may be set while they type."""

    async def typist(device: Device) -> None:
        await asyncio.sleep(random.uniform(0, GAP))
        while time.perf_counter() < until[0]:
            await device.edit()
            await asyncio.sleep(random.uniform(GAP / 2, GAP * 1.5))

    await asyncio.gather(*(typist(d) for d in devices))


async def meeting(
    server: KringServer,
    devices: list[Device],
    probe: Probe,
    token: str,
    run: Run,
    duration: float,
    heavy: tuple[float, float] | None = None,  # (start the jobs after, type on after them)
    admin: object = None,
) -> None:
    for device in devices:
        device.tally = run.tally
    log_start = log_size(server)
    before = await histograms(server, token)
    server.reset_peak()
    probe.start()
    cpu_wait = CpuWait(server.pid)
    cpu_wait.start()
    children = _children_cpu()
    window = run.window = Window(server, f"heavy-{run.label}")
    start = window.wall0
    until = [math.inf]
    typing = asyncio.create_task(type_until(devices, until))
    if heavy is None:
        until[0] = start + duration
    else:
        lead, tail = heavy
        await asyncio.sleep(lead)
        run.jobs, run.jobs_at = jobs(), time.perf_counter() - start
        progress(f"heavy: {len(run.jobs)} heavy jobs start, {run.jobs_at:.1f} s into the meeting")
        await run_all(server, admin, run.jobs)  # type: ignore[arg-type]
        until[0] = max(start + duration, time.perf_counter() + tail)
    await asyncio.wait_for(typing, duration + 600)
    await drain(run.tally, 10.0)
    deadline = time.perf_counter() + 10
    while any(d.unsaved for d in devices) and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)  # the last acknowledgements ("saved") to arrive
    window.close()
    run.commands_cpu = _children_cpu() - children  # ended children: the server is still up
    run.unsaved = sum(len(d.unsaved) for d in devices)
    run.pings = await probe.stop()
    run.cpu_wait = await cpu_wait.stop()
    run.peak_kb = server.memory_kb()["VmHWM"]
    after = await histograms(server, token)
    run.lag = LagHistogram.between(before[LAG], after[LAG])
    run.commits = LagHistogram.between(before[COMMIT], after[COMMIT])
    run.late = LateLines.of(server, log_start, log_size(server))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _lat(values: list[float]) -> tuple[str, float]:
    s = sorted(values)
    if not s:
        return "-", math.nan
    p99 = percentile(s, 99)
    return f"{ms(percentile(s, 50))} / {ms(p99)} / {ms(s[-1])} ms", p99


def _ratio(plain: float, heavy: float) -> tuple[str, bool]:
    if not plain or math.isnan(plain) or math.isnan(heavy):
        return "n/a", False
    ratio = heavy / plain
    return f"{ratio:.2f}x", ratio <= TARGET_RATIO


def _p99(histogram: LagHistogram) -> str:
    if not histogram.count:
        return "-"
    estimate, low, high = histogram.quantile(0.99)
    return f"~{ms(estimate)} ms (bucket {low * 1000:g}-{high * 1000:g})"


def _bound(top: float) -> str:
    """A bucket's upper bound as the slowest's bound."""
    return "over 10 s" if math.isinf(top) else f"<= {top * 1000:g} ms"


def _lag_max(run: Run) -> tuple[str, float]:
    """The worst lag: exact from the log above WARN_MS, else the histogram's bucket."""
    if run.late.lines:
        return f"{ms(run.late.worst)} ms (log)", run.late.worst
    top = run.lag.highest()
    return f"< {WARN_MS} ms (bucket <= {top * 1000:g})", top


def _slowest(run: Run) -> str:
    tally, window = run.tally, run.window
    if not tally.latencies or window is None:
        return "-"
    slow = sorted(zip(tally.latencies, tally.sent_at, strict=True), reverse=True)
    seconds: dict[int, int] = {}
    for _latency, sent in slow[: max(1, len(slow) // 100)]:
        seconds[int(sent - window.wall0)] = seconds.get(int(sent - window.wall0), 0) + 1
    worst = sorted(seconds.items(), key=lambda kv: -kv[1])[:4]
    return ", ".join(f"{k}s: {n}" for k, n in sorted(worst))


def _window_rows(plain: Run, heavy: Run) -> list[tuple[str, tuple[str, str]]]:
    """CPU of the server, of the generator and of everyone else, per run."""

    def each(show: Callable[[Window], str]) -> tuple[str, str]:
        a, b = (show(p.window) if p.window else "-" for p in (plain, heavy))
        return a, b

    def cpu(w: Window) -> str:
        wall, used, _gen = w.figures
        return f"{used:.1f} s over {wall:.0f} s ({100 * used / wall:.0f}% of a core)"

    return [
        ("server CPU", each(cpu)),
        (
            "load generator CPU; its loop lag p99",
            each(lambda w: f"{100 * w.generator_share:.0f}%; {ms(percentile(w.lags, 99))} ms"),
        ),
    ]


def report(result: Result, server: KringServer, plain: Run, heavy: Run, stored: int) -> None:
    table = result.table
    width = 34

    def row(name: str, a: str, b: str, target: str = "") -> None:
        table.add(name, f"{a:<{width}} {b}", target)

    row("", "plain meeting", "with the heavy work")
    lost = [p.tally.losses()[0] for p in (plain, heavy)]
    row(
        "edits sent / deliveries lost",
        f"{len(plain.tally.sent):,} / {lost[0]:,}",
        f"{len(heavy.tally.sent):,} / {lost[1]:,}",
        f"target 0 lost: {verdict(sum(lost) == 0)}",
    )
    row("edits never acknowledged saved", f"{plain.unsaved:,}", f"{heavy.unsaved:,}")
    (d_plain, d_p99), (d_heavy, d_heavy99) = (
        _lat(plain.tally.latencies),
        _lat(heavy.tally.latencies),
    )
    shown, ok = _ratio(d_p99, d_heavy99)
    row(
        "delivery p50 / p99 / max",
        d_plain,
        d_heavy,
        f"p99 <= {TARGET_RATIO}x plain: {shown} {verdict(ok)}",
    )
    (s_plain, s_p99), (s_heavy, s_heavy99) = (
        _lat(plain.tally.saved_latencies),
        _lat(heavy.tally.saved_latencies),
    )
    shown, ok = _ratio(s_p99, s_heavy99)
    row(
        '"saved" p50 / p99 / max',
        s_plain,
        s_heavy,
        f"p99 <= {TARGET_RATIO}x plain: {shown} {verdict(ok)}",
    )
    row("slowest 1% sent at (s into run)", _slowest(plain), _slowest(heavy))
    row(
        "loop lag p99 (its histogram)",
        _p99(plain.lag),
        _p99(heavy.lag),
        f"<= {ms(TARGET_LAG_P99)} ms: "
        + verdict(heavy.lag.share_within(TARGET_LAG_P99) >= 0.99 if heavy.lag.count else False),
    )
    (m_plain, _), (m_heavy, worst) = _lag_max(plain), _lag_max(heavy)
    row(
        "loop lag max",
        m_plain,
        m_heavy,
        f"<= {ms(TARGET_LAG_MAX)} ms: {verdict(worst <= TARGET_LAG_MAX)}",
    )
    row(
        f"wake-ups > {WARN_MS} ms (log) / timer wake-ups",
        f"{plain.late.wakeups} / {plain.lag.count:,.0f}",
        f"{heavy.late.wakeups} / {heavy.lag.count:,.0f}",
    )
    row("ping round trip p50/p99/max (probe)", spread_ms(plain.pings), spread_ms(heavy.pings))
    row(
        "loop thread waiting for a core: all; worst 0.1 s",
        *(f"{p.cpu_wait[0] * 1000:.0f} ms; {p.cpu_wait[1] * 1000:.0f} ms" for p in (plain, heavy)),
    )
    row(
        "group commit p99; slowest (histogram)",
        *(f"{_p99(p.commits)}; {_bound(p.commits.highest())}" for p in (plain, heavy)),
    )
    for name, figures in _window_rows(plain, heavy):
        row(name, *figures)

    def load(p: Run) -> str:
        if p.window is None:
            return "-"
        others = p.window.others - p.commands_cpu
        return f"{p.commands_cpu:.1f}; {others:.1f} CPU s; {p.window.steal:.1f} s"

    row("kring commands; others; stolen", load(plain), load(heavy), "others ~0: clean figures")
    row("server RSS peak", mb(plain.peak_kb), mb(heavy.peak_kb))
    table.add(
        f"heavy jobs (all at once, {heavy.jobs_at:.1f} s into the run)",
        "took; what it did",
    )
    for job in heavy.jobs:
        table.add(f"  {job.name}", f"{job.took:6.2f} s  {job.outcome}")
    for i, line in enumerate(heavy.late.named()):
        table.add("worst late wake-ups (what ran)" if i == 0 else "", line[:150])
    other = [line for line in server.warnings() if "kring.loop" not in line]
    table.add(
        "other server warnings/errors",
        f"{len(other)}; first: {other[0][:160]}" if other else "none",
    )
    sent = len(plain.tally.sent) + len(heavy.tally.sent)
    table.add("edits in doc_update (both runs)", f"{stored:,} of {sent:,}")
    result.put("p99", d_heavy99 * 1000, f"{ms(d_heavy99)} ms")
    result.put("lost", sum(lost), f"{sum(lost):,}")


async def scenario_heavy(kind: str, quick: bool) -> Result:
    duration = 10.0 if quick else 30.0
    lead, tail = (2.0, 2.0) if quick else (5.0, 5.0)
    token = secrets.token_urlsafe(24)
    server: Server = make_server(
        kind, "heavy", KRING_METRICS_TOKEN=token, KRING_LOOP_LAG_WARN_MS=str(WARN_MS)
    )
    result = Result(
        Table(
            f"heavy [{server.name}]: meeting {ROOMS} rooms x {PEOPLE} clients (edits every "
            f"~{GAP:.0f} s), {duration:.0f} s plain, then again with the heavy work of issue 21"
        )
    )
    if not isinstance(server, KringServer):
        result.table.add("not run", "the reference server has no heavy work")
        return result
    try:
        server.upgrade()
        email, took = await seed_organisation(server)
        progress(f"heavy: 2,000 conferences with 6 versions each seeded in {took:.1f} s")
        t0 = time.perf_counter()
        conferences = await make_conferences(server.settings, ROOMS + 1, PEOPLE)
        progress(f"heavy: the meeting's devices signed in, {time.perf_counter() - t0:.1f} s")
        probe_room, conferences = conferences[0], conferences[1:]
        server.start()
        devices, _ = room_devices(
            [(server.ws_url(c.id) + "?saved=1", c.cookies) for c in conferences],
            server.base_url,
            Tally(),
        )
        (probe_device,), _ = room_devices(
            [(server.ws_url(probe_room.id), probe_room.cookies[:1])], server.base_url, Tally()
        )
        took = await connect_all([*devices, probe_device], concurrency=25, within=90)
        synced = sum(d.open for d in devices)
        result.table.add("devices synced", f"{synced}/{len(devices)} in {took:.1f} s (+1 probe)")
        probe = Probe(probe_device)
        admin = await admin_client(server, email)
        try:
            plain, heavy = Run("plain"), Run("heavy")
            progress(f"heavy: plain meeting, {duration:.0f} s")
            await meeting(server, devices, probe, token, plain, duration)
            progress("heavy: the same meeting with the heavy work")
            await meeting(server, devices, probe, token, heavy, duration, (lead, tail), admin)
        finally:
            await admin.aclose()
        await close_all([*devices, probe_device])
        stored = server.count_rows("SELECT count(*) FROM doc_update WHERE document = 'plan'")
        report(result, server, plain, heavy, stored)
    finally:
        server.cleanup()
    return result
