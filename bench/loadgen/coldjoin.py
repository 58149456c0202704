"""coldjoin: time to the server's sync step 2 for a plan built from 20,000 typing updates.

Kring reads the document from its database (a 20,000-update log, then the snapshot it
compacted that log into); the reference has no storage, so its document is pushed into the
room by a device first and stays in memory: every join there is a join of a loaded room.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from types import SimpleNamespace
from typing import Any

from pycrdt import Doc, Text

from server.limits import Limits
from server.rooms.room import DocChannel, Room
from server.settings import Settings
from server.storage.documents import DocumentLog
from server.storage.store import Store

from .clients import Device, Tally, close_all, connect_all, drain, push_updates, timed_join
from .measure import Result, Table, mb, median, ms, percentile, progress, verdict
from .report import add_log_row
from .seed import Conference, copy_rows, make_conferences, typing_updates, write_log
from .servers import KringServer, RefServer, make_server

COUNT = 20_000
TARGET_COLD_MS = 100.0  # Kring's own target, beside the ratio to the reference


async def scenario_coldjoin(kind: str, quick: bool) -> Result:
    repeats = 3 if quick else 5
    server = make_server(kind, "coldjoin", KRING_ROOM_IDLE_SECONDS="1")
    result = Result(
        Table(
            f"coldjoin [{server.name}]: a plan built from {COUNT:,} updates; time to the "
            f"server's sync step 2, median of {repeats}"
        )
    )
    try:
        t0 = time.perf_counter()
        hits = typing_updates.cache_info().hits
        updates, final_text = typing_updates(COUNT, seed=2026)
        made = (
            "the same as in the previous run"
            if typing_updates.cache_info().hits > hits
            else f"made with pycrdt in {time.perf_counter() - t0:.1f} s"
        )
        size = sum(len(u) for u in updates)
        result.table.add(
            "document",
            f"{len(updates):,} typing updates, 4 authors ({size / 1024:.0f} KB; "
            f"{len(final_text):,} characters of text), {made}",
        )
        if isinstance(server, KringServer):
            await kring_coldjoin(server, result, repeats, list(updates), final_text)
        else:
            await ref_coldjoin(server, result, repeats, list(updates), final_text)
        add_log_row(result, server)
    finally:
        server.cleanup()
    return result


def check_text(result: Result, update: bytes, final_text: str) -> None:
    doc: Doc[Any] = Doc()
    doc.apply_update(update)
    if str(doc.get("plan", type=Text)) != final_text:
        result.table.add("!! content check", "the synced document differs from what was written")


def join_row(
    result: Result, name: str, key: str, joins: list[tuple[float, float]], target: bool
) -> None:
    opens = [r[0] for r in joins]
    syncs = [r[1] for r in joins]
    value = (
        f"{ms(median(syncs))} ms (websocket open {ms(median(opens))} ms); "
        f"all: {', '.join(ms(s) for s in syncs)}"
    )
    ok = median(syncs) * 1000 <= TARGET_COLD_MS
    mark = f"target <= {TARGET_COLD_MS:.0f} ms: {verdict(ok)}"
    result.table.add(name, value, mark if target else "")
    result.put(key, median(syncs) * 1000, f"{ms(median(syncs))} ms")


async def ref_coldjoin(
    server: RefServer, result: Result, repeats: int, updates: list[bytes], final_text: str
) -> None:
    server.start()
    room = "coldjoin-plan"
    url = server.ws_url(room)
    before = server.memory_kb()["VmRSS"]
    t0 = time.perf_counter()
    whole = await push_updates(url, "", server.base_url, updates)
    result.table.add(
        "how it got the document",
        f"one device sent the {len(updates):,} updates one by one ({time.perf_counter() - t0:.1f}"
        " s) and left; the room stays in memory (no storage)",
    )
    check_text(result, whole, final_text)
    rss = server.memory_kb()["VmRSS"]
    joins = []
    for i in range(repeats):
        t_open, t_synced, update = await timed_join(url, "", server.base_url)
        if i == 0:
            check_text(result, update, final_text)
        joins.append((t_open, t_synced))
    join_row(result, "join (document in memory)", "join", joins, False)
    result.table.add("server RSS, holding that document", f"{mb(before)} -> {mb(rss)}")


async def kring_coldjoin(
    server: KringServer, result: Result, repeats: int, updates: list[bytes], final_text: str
) -> None:
    table = result.table
    server.upgrade()
    # conference 0..2*repeats-1: one copy of the document each (a load compacts it, so
    # every uncompacted join needs a copy of its own); the last one holds a tiny plan.
    conferences = await make_conferences(server.settings, 2 * repeats + 1, 2)
    tiny = conferences[-1]
    wrote = await write_log(
        server.settings,
        {(conferences[0].id, "plan"): updates, (tiny.id, "plan"): updates[:50]},
    )
    copy_rows(server, conferences[0].id, [c.id for c in conferences[1:-1]])
    table.add(
        "how it was stored",
        f"straight into doc_update via DocumentLog.append (group commit, {wrote:.1f} s), "
        f"then copied {2 * repeats - 1}x by INSERT ... SELECT; no snapshot",
    )
    table.add(
        "the same load in the bench process",
        await load_breakdown(server.settings, conferences[0].id),
    )

    async def join(conference: Conference, check: bool = False) -> tuple[float, float]:
        t_open, t_synced, update = await timed_join(
            server.ws_url(conference.id), conference.cookies[0], server.base_url
        )
        if check:
            check_text(result, update, final_text)
        return t_open, t_synced

    # 1. The whole log, first load, in a freshly started server (nothing warm at all).
    first: list[tuple[float, float]] = []
    rss = (0, 0)
    for i in range(repeats):
        server.stop()
        server.start()
        before = server.memory_kb()["VmRSS"]
        first.append(await join(conferences[i], check=i == 0))
        if i == 0:
            rss = (before, server.memory_kb()["VmRSS"])
    progress(f"coldjoin: restart joins {[round(r[1] * 1000) for r in first]} ms")
    join_row(result, f"{COUNT:,}-update log, just after a restart", "log_restart", first, True)
    # 2. The whole log, first load, in a server that is already warm. Meanwhile another
    # room is busy (20 edits/s): the load runs on the event loop and delays its edits.
    canary_tally = Tally()
    canary: list[Device] = []
    for cookie in tiny.cookies:
        canary.append(Device(server.ws_url(tiny.id), cookie, server.base_url, canary_tally, canary))
    await connect_all(canary, concurrency=2, within=30)
    stop_canary = asyncio.Event()

    async def canary_writer() -> None:
        next_at = time.perf_counter()
        while not stop_canary.is_set():
            await canary[0].edit()
            next_at += 0.05
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_canary.wait(), max(0.0, next_at - time.perf_counter()))

    await asyncio.sleep(0.5)
    writer = asyncio.create_task(canary_writer())
    await asyncio.sleep(1.0)
    quiet_lat = sorted(canary_tally.latencies)
    warm_process: list[tuple[float, float]] = []
    for conference in conferences[repeats : 2 * repeats]:
        warm_process.append(await join(conference))
        await wait_snapshot(server, conference.id)  # its compaction is done
    stop_canary.set()
    await asyncio.wait_for(writer, 10)
    await drain(canary_tally, 5.0)
    await close_all(canary)
    join_row(result, f"{COUNT:,}-update log, server already warm", "log_warm", warm_process, True)
    lat = sorted(canary_tally.latencies[len(quiet_lat) :])
    lost, _dup = canary_tally.losses()
    table.add(
        "meanwhile, edits in another room",
        f"latency p50 {ms(percentile(lat, 50))} / max {ms(lat[-1] if lat else math.nan)} ms "
        f"(before the joins: p50 {ms(percentile(quiet_lat, 50))} / max "
        f"{ms(quiet_lat[-1] if quiet_lat else math.nan)} ms); {lost} lost",
    )
    table.add(
        "server RSS, loading that document",
        f"{mb(rss[0])} -> {mb(rss[1])} ({(rss[1] - rss[0]) / 1024:+.0f} MB)",
    )

    # 3. The server compacts a document it loads with more than KRING_COMPACT_AFTER
    # logged updates; from then on a cold join reads the snapshot.
    await wait_snapshot(server, conferences[0].id)
    snapshot = server.count_rows(
        "SELECT coalesce(sum(length(data)), 0) FROM doc_snapshot WHERE conference_id = ?",
        conferences[0].id,
    )
    tail = server.count_rows(
        "SELECT count(*) FROM doc_update WHERE conference_id = ?", conferences[0].id
    )
    if not snapshot:
        table.add("after that first load the server compacted", "no snapshot within 30 s")
        return
    table.add(
        "after that first load the server compacted",
        f"snapshot {snapshot / 1024:.0f} KB + {tail} logged updates",
    )
    server.stop()
    table.add(
        "the same load in the bench process",
        await load_breakdown(server.settings, conferences[0].id),
    )
    compacted: list[tuple[float, float]] = []
    for _ in range(repeats):
        server.stop()
        server.start()
        compacted.append(await join(conferences[0]))
    join_row(result, "compacted, just after a restart", "compacted_restart", compacted, True)
    unloaded: list[tuple[float, float]] = []
    for _ in range(repeats):
        await asyncio.sleep(1.6)  # KRING_ROOM_IDLE_SECONDS=1: unloaded by now
        unloaded.append(await join(conferences[0]))
    join_row(result, "compacted, room unloaded, warm server", "compacted_warm", unloaded, True)

    # 4. For comparison: the room is loaded (another device holds it open).
    holder = Device(
        server.ws_url(conferences[0].id), conferences[0].cookies[1], server.base_url, Tally(), []
    )
    await holder.connect()
    await asyncio.wait_for(holder.synced.wait(), 30)
    warm = [await join(conferences[0]) for _ in range(repeats)]
    await holder.close()
    join_row(result, "room loaded (warm join)", "join", warm, False)


async def wait_snapshot(server: KringServer, conference_id: str, within: float = 30.0) -> None:
    """Wait (bounded) until the server has written a snapshot of this conference's plan."""
    deadline = time.perf_counter() + within
    query = "SELECT count(*) FROM doc_snapshot WHERE conference_id = ?"
    while time.perf_counter() < deadline:
        if server.count_rows(query, conference_id):
            return
        await asyncio.sleep(0.05)


async def load_breakdown(settings: Settings, conference_id: str) -> str:
    """What loading costs, timed in this process with the server's own code: DocumentLog.load,
    building the DocChannel (server.rooms.room), and the sync step 2 answer to a new device."""
    store = Store.connect(settings.database_url)
    try:
        log = DocumentLog(store.engine)
        t0 = time.perf_counter()
        stored = await log.load(conference_id, "plan")
        t1 = time.perf_counter()
        hub = SimpleNamespace(log=log, limits=Limits())
        channel = DocChannel(Room(hub, conference_id), "plan", stored)
        channel.doc  # noqa: B018 (made when first needed: here, its whole cost)
        t2 = time.perf_counter()
        channel.doc.get_update(Doc().get_state())
        t3 = time.perf_counter()
        what = f"snapshot {len(stored.snapshot) / 1024:.0f} KB + " if stored.snapshot else ""
        return (
            f"DocumentLog.load ({what}{len(stored.updates):,} updates) {ms(t1 - t0)} ms + "
            f"DocChannel() {ms(t2 - t1)} ms + sync step 2 {ms(t3 - t2)} ms = {ms(t3 - t0)} ms"
        )
    finally:
        await store.close()
