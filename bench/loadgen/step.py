"""step: rooms of 12 with ever more devices (100, 500, 1000, 2000), the meeting's editing
rate at each step; burst: one device sends 20,000 small updates as fast as the server takes
them, another device in the room receives them."""

from __future__ import annotations

import math
import time
from typing import Any

from pycrdt import Doc, Text
from websockets.exceptions import ConnectionClosed

from server.storage.documents import DocumentLog
from server.storage.store import Store

from .clients import MARKER, Tally, close_all, connect_all, drain, room_devices
from .measure import Result, Table, Window, mb, ms, percentile, progress, verdict
from .meeting import prepare, typists
from .report import add_cpu_row, add_generator_rows, add_log_row
from .seed import make_rooms, marker_updates
from .servers import KringServer, make_server

BURST = 20_000
TARGET_BURST = 10_000.0  # updates/s Kring should ingest (and commit)


async def scenario_step(kind: str, quick: bool) -> Result:
    sizes = [100, 500] if quick else [100, 500, 1000, 2000]
    people, gap = 12, 2.0
    duration = 8.0 if quick else 20.0
    rooms = math.ceil(sizes[-1] / people)
    server = make_server(kind, "step")
    result = Result(
        Table(
            f"step [{server.name}]: rooms of {people}, {' / '.join(map(str, sizes))} devices, "
            f"each editing every ~{gap:.0f} s, {duration:.0f} s per step"
        )
    )
    try:
        prepare(server)
        t0 = time.perf_counter()
        conferences = await make_rooms(server, rooms, people)
        progress(f"step: {rooms} rooms of {people} made in {time.perf_counter() - t0:.1f} s")
        server.start()
        everyone, _ = room_devices(
            [(server.ws_url(c.id), c.cookies) for c in conferences], server.base_url, Tally()
        )
        connected = 0
        for size in sizes:
            took = await connect_all(everyone[connected:size], concurrency=50, within=180)
            connected = size
            devices = everyone[:size]
            tally = Tally()
            for device in devices:
                device.tally = tally
            synced = sum(d.open for d in devices)
            progress(f"step [{server.name}]: {synced}/{size} synced ({took:.1f} s); editing")
            window = Window(server, f"step-{size}")
            await typists(devices, gap, duration)
            drained = await drain(tally, 10.0)
            wall, cpu, gen = window.close()
            lat = sorted(tally.latencies)
            lost, _dup = tally.losses()
            p99 = percentile(lat, 99)
            rss = server.memory_kb()["VmRSS"]
            result.table.add(
                f"{size:,} devices ({math.ceil(size / people)} rooms, {synced} synced)",
                f"{len(tally.sent):,} edits; p50 / p99 / max {ms(percentile(lat, 50))} / "
                f"{ms(p99)} / {ms(lat[-1] if lat else math.nan)} ms{window.mark}; {lost:,} lost; "
                f"server CPU {cpu:.1f} s ({100 * cpu / wall:.0f}% of a core); generator "
                f"{100 * gen / wall:.0f}% of a core; drain {drained:.1f} s; RSS {mb(rss)}",
            )
            result.put(f"p99_{size}", p99 * 1000, f"{ms(p99)} ms", window)
            result.put(
                f"cpu_{size}", cpu, f"{cpu:.1f} s ({100 * cpu / wall:.0f}% of a core)", window
            )
            result.put(f"lost_{size}", lost, f"{lost:,}")
        peak = server.memory_kb()["VmHWM"]
        result.table.add("server RSS", f"{mb(server.rss_start)} idle, peak {mb(peak)}")
        closed = [d for d in everyone if d.close_code is not None or d.error]
        result.table.add("devices closed or failed", f"{len(closed)}")
        await close_all(everyone)
        add_log_row(result, server)
    finally:
        server.cleanup()
    return result


async def scenario_burst(kind: str, quick: bool) -> Result:
    # Kring's per-connection rate limit is raised far out of the way: the burst measures how
    # fast the server takes updates in, not the limit (which closes a flood with 1008).
    server = make_server(kind, "burst", KRING_MAX_MESSAGES_PER_SECOND="1000000")
    result = Result(
        Table(
            f"burst [{server.name}]: one device sends {BURST:,} small updates into one room "
            "as fast as the server takes them; another device receives them"
        )
    )
    try:
        prepare(server)
        (conference,) = await make_rooms(server, 1, 2)
        server.start()
        tally = Tally()
        (sender, receiver), _ = room_devices(
            [(server.ws_url(conference.id), conference.cookies)], server.base_url, tally
        )
        await connect_all([sender, receiver], concurrency=2, within=30)
        prepared = marker_updates(1, BURST)
        size = sum(len(u) for _m, u in prepared) / len(prepared)
        sequence0 = log_sequence(server)
        window = Window(server, "burst")
        t0 = time.perf_counter()
        sent = 0
        try:
            for marker, update in prepared:
                await sender.send_marked(marker, update)
                sent += 1
        except ConnectionClosed:
            pass
        t_sent = time.perf_counter() - t0
        await drain(tally, 120.0)
        window.close()
        arrivals = [s + lat for s, lat in zip(tally.sent_at, tally.latencies, strict=True)]
        took = (max(arrivals) - t0) if arrivals else math.nan
        received = tally.received_total
        rate = received / took if arrivals else 0.0
        lost, _dup = tally.losses()
        lat = sorted(tally.latencies)
        table = result.table
        table.add(
            "updates sent",
            f"{sent:,} of {BURST:,} (~{size:.0f} bytes each) in {t_sent:.2f} s"
            + (
                f"; the sender was closed: {sender.close_code} {sender.close_reason}"
                if sent < BURST
                else ""
            ),
        )
        table.add(
            "received by the other device",
            f"{received:,}, the last {took:.2f} s after the first was sent; {lost:,} lost",
        )
        table.add(
            "ingested",
            f"{rate:,.0f} updates/s{window.mark}",
            f"target >= {TARGET_BURST:,.0f}/s: {verdict(rate >= TARGET_BURST)}"
            if server.kind == "kring"
            else "",
        )
        table.add(
            "latency p50 / p99 / max",
            f"{ms(percentile(lat, 50))} / {ms(percentile(lat, 99))} / "
            f"{ms(lat[-1] if lat else math.nan)} ms (queueing behind the burst)",
        )
        add_cpu_row(
            result, window, server, f"; {1e6 * window.figures[1] / max(1, sent):.0f} us per update"
        )
        add_generator_rows(result, window)
        memory = server.memory_kb()
        table.add("server RSS", f"{mb(memory['VmRSS'])} at the end, peak {mb(memory['VmHWM'])}")
        result.put("rate", rate, f"{rate:,.0f}/s", window)
        result.put("lost", lost, f"{lost:,}")
        await close_all([sender, receiver])
        if isinstance(server, KringServer):
            server.stop()  # everything it took in is committed (it broadcasts after commit)
            await stored_rows(result, server, conference.id, sent, sequence0)
        add_log_row(result, server)
    finally:
        server.cleanup()
    return result


def log_sequence(server: Any) -> int:
    """How many rows doc_update ever had (SQLite AUTOINCREMENT never reuses an id)."""
    if not isinstance(server, KringServer):
        return 0
    return server.count_rows(
        "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'doc_update'"
    )


async def stored_rows(
    result: Result, server: KringServer, conference_id: str, sent: int, sequence0: int
) -> None:
    """Every update committed: rows written to doc_update (compaction folds some of them into
    the snapshot meanwhile), and the markers in the document as Kring's own DocumentLog
    loads it (snapshot + logged updates)."""
    inserted = log_sequence(server) - sequence0
    rows = server.count_rows("SELECT count(*) FROM doc_update")
    store = Store.connect(server.settings.database_url)
    try:
        stored = await DocumentLog(store.engine).load(conference_id, "plan")
    finally:
        await store.close()
    doc: Doc[Any] = Doc()
    for update in stored.in_order():
        doc.apply_update(update)
    markers = len(set(MARKER.findall(str(doc.get("plan", type=Text)).encode())))
    result.table.add(
        "committed (doc_update)",
        f"{inserted:,} rows written for {sent:,} updates sent ({rows:,} still in the log, the "
        f"rest folded into the snapshot); the stored document holds {markers:,} markers",
        f"every update committed: {verdict(inserted == sent and markers == sent)}",
    )
    result.put("committed", markers, f"{markers:,} of {sent:,}")
