"""The rows every delivery scenario prints, for either server, and the figures it keeps for
the comparison (p99, lost, server CPU, peak RSS)."""

from __future__ import annotations

import math

from .clients import Device, Tally, close_all, drain
from .measure import Result, Window, mb, ms, percentile, verdict
from .servers import OPTIONS, KringServer, Server


def add_delivery_rows(
    result: Result,
    tally: Tally,
    devices: list[Device],
    window: Window,
    server: Server,
    p99_target: float | None,
) -> None:
    table = result.table
    wall, cpu, gen = window.figures
    mark = window.mark
    lost, dup = tally.losses()
    lat = sorted(tally.latencies)
    table.add("edits sent", f"{len(tally.sent):,}")
    table.add(
        "deliveries expected / received",
        f"{tally.expected_total:,} / {tally.received_total:,}",
    )
    echoes = f", echoed to the writer {tally.echoes:,}" if tally.echoes else ""
    table.add(
        "lost",
        f"{lost:,}  (duplicates {dup}, unknown markers {tally.unknown}{echoes})",
        f"target 0: {verdict(lost == 0)}",
    )
    p99 = percentile(lat, 99)
    table.add(
        "latency p50 / p95 / p99 / max",
        f"{ms(percentile(lat, 50))} / {ms(percentile(lat, 95))} / {ms(p99)} / "
        f"{ms(lat[-1] if lat else math.nan)} ms{mark}",
        f"target p99 <= {p99_target:.0f} ms: {verdict(p99 * 1000 <= p99_target)}"
        if p99_target and server.kind == "kring"
        else "",
    )
    if lat:
        # When the slow deliveries happened: seconds into the run of the 1% slowest edits.
        slow = sorted(zip(tally.latencies, tally.sent_at, strict=True), reverse=True)[
            : max(1, len(lat) // 100)
        ]
        seconds: dict[int, int] = {}
        for _latency, sent in slow:
            key = int(sent - window.wall0)
            seconds[key] = seconds.get(key, 0) + 1
        worst = sorted(seconds.items(), key=lambda kv: -kv[1])[:6]
        table.add(
            "slowest 1% sent at (s into run)",
            ", ".join(f"{k}s: {n}" for k, n in sorted(worst)),
        )
    if OPTIONS.get("server_gc") and isinstance(server, KringServer):
        pauses = server.gc_pauses(window.wall0, window.wall0 + wall)
        by_gen = [[p for p in pauses if p[1] == g] for g in range(3)]
        longest = sorted(pauses, key=lambda p: -p[2])[:3]
        table.add(
            "server GC (gen0/gen1/gen2)",
            " / ".join(f"{len(g)}x {sum(p[2] for p in g):.0f} ms" for g in by_gen)
            + "; longest "
            + ", ".join(f"gen{p[1]} {p[2]:.0f} ms at {p[0] - window.wall0:.1f}s" for p in longest),
        )
    add_cpu_row(result, window, server, f"; {1000 * cpu / max(1, len(tally.sent)):.2f} ms per edit")
    memory = server.memory_kb()
    table.add(
        "server RSS",
        f"{mb(memory['VmRSS'])} at the end, peak {mb(memory['VmHWM'])} (VmHWM since startup "
        f"finished; {mb(server.rss_start)} idle)",
    )
    add_generator_rows(result, window)
    closed = [d for d in devices if d.close_code is not None]
    errors = [d for d in devices if d.error]
    denied = sum(d.denied for d in devices)
    text = f"{len(closed)} closed by the server, {len(errors)} errors, {denied} edits denied"
    if closed:
        codes: dict[str, int] = {}
        for d in closed:
            why = f"{d.close_code} {d.close_reason}".strip()
            codes[why] = codes.get(why, 0) + 1
        text += "; " + ", ".join(f"{n}x {k}" for k, n in codes.items())
    if errors:
        text += f"; first error: {errors[0].error}"
    table.add("devices during the run", text)
    result.put("p99", p99 * 1000, f"{ms(p99)} ms", window)
    result.put("p50", percentile(lat, 50) * 1000, f"{ms(percentile(lat, 50))} ms", window)
    result.put("lost", lost, f"{lost:,}")
    result.put("cpu", cpu, f"{cpu:.1f} s ({100 * cpu / wall:.0f}% of a core)", window)
    result.put("peak_rss", memory["VmHWM"] / 1024, mb(memory["VmHWM"]))
    result.put("generator", gen / wall, f"{100 * gen / wall:.0f}% of a core")


def add_cpu_row(result: Result, window: Window, server: Server, extra: str = "") -> None:
    wall, cpu, _gen = window.figures
    result.table.add(
        "server CPU",
        f"{cpu:.1f} s over {wall:.1f} s ({100 * cpu / wall:.0f}% of a core){window.mark}: "
        f"main thread {window.loop_cpu:.1f} s, its {window.thread_count - 1} other threads "
        f"({server.thread_label}) {window.other_threads_cpu:.1f} s{extra}",
    )


def add_generator_rows(result: Result, window: Window) -> None:
    wall, _cpu, gen = window.figures
    lags = window.lags
    result.table.add(
        "load generator",
        f"CPU {gen:.1f} s ({100 * gen / wall:.0f}% of a core); its loop lag p99 "
        f"{ms(percentile(lags, 99))} ms, max {ms(lags[-1] if lags else math.nan)} ms",
        "over 80% of a core: figures marked (generator limit)" if window.limited else "",
    )
    result.table.add(
        "other load on the machine",
        f"{window.others:.1f} CPU s by other processes "
        f"({100 * window.others / wall:.0f}% of a core), "
        f"{window.steal:.1f} s stolen by the hypervisor",
        "(should be ~0 for clean figures)",
    )


def add_connect_row(
    result: Result,
    server: Server,
    devices: list[Device],
    took: float,
    cpu0: float,
    concurrency: int,
    window: Window | None = None,
) -> None:
    synced = sum(d.open for d in devices)
    cpu = server.cpu_seconds() - cpu0
    rss = server.memory_kb()["VmRSS"]
    mark = window.mark if window else ""
    result.table.add(
        f"connect storm ({concurrency} at a time)",
        f"{synced}/{len(devices)} synced in {took:.1f} s ({synced / took:.0f}/s){mark}; server "
        f"CPU {cpu:.1f} s = {1000 * cpu / max(1, synced):.1f} ms per connection; RSS "
        f"{mb(server.rss_start)} -> {mb(rss)} = "
        f"{(rss - server.rss_start) / max(1, synced):.0f} KB per connection",
    )
    result.put("storm_s", took, f"{took:.1f} s", window)
    result.put("storm_cpu", 1000 * cpu / max(1, synced), f"{1000 * cpu / max(1, synced):.2f} ms")
    result.put("storm_synced", synced, f"{synced}/{len(devices)}")


def add_stored_row(result: Result, server: KringServer, sent: int) -> None:
    stored = server.count_rows("SELECT count(*) FROM doc_update WHERE document = 'plan'")
    # DocumentLog stamps every row of one group commit with the same created_at
    commits = server.count_rows("SELECT count(DISTINCT created_at) FROM doc_update")
    snapshots = server.count_rows("SELECT count(*) FROM doc_snapshot")
    result.table.add(
        "edits in doc_update",
        f"{stored:,} of {sent:,}, in {commits:,} group commits "
        f"({stored / max(1, commits):.1f} per commit)"
        + (f"; {snapshots} snapshots" if snapshots else ""),
    )


def add_log_row(result: Result, server: Server) -> None:
    lines = server.warnings()
    if not lines:
        result.table.add("server log warnings/errors", "none")
        return
    text = f"{len(lines)} lines; first: {lines[0][:200]}"
    log = server.log_text().splitlines()
    if any(line.startswith("Traceback") for line in log):  # the exception that ended it
        start = next(i for i, line in enumerate(log) if line.startswith("Traceback"))
        end = next((line for line in log[start + 1 :] if line and not line[0].isspace()), "")
        text += f"; first traceback ends with: {end[:200]}"
    result.table.add("server log warnings/errors", text)


async def report_deliveries(
    result: Result,
    tally: Tally,
    devices: list[Device],
    window: Window,
    server: Server,
    target_p99_ms: float | None,
) -> None:
    """After the last edit: wait for deliveries, close the window, report and disconnect."""
    drained = await drain(tally, 10.0)
    window.close()
    add_delivery_rows(result, tally, devices, window, server, target_p99_ms)
    result.table.add("drain after the last edit", f"{drained:.2f} s")
    await close_all(devices)
    if isinstance(server, KringServer):
        add_stored_row(result, server, len(tally.sent))
    add_log_row(result, server)
