"""idle: memory per loaded idle room (plan only, nobody connected)."""

from __future__ import annotations

import asyncio
from typing import Any

from pycrdt import Doc

from .clients import push_updates, timed_join
from .measure import Result, Table, mb
from .report import add_log_row
from .seed import Conference, make_rooms, typing_updates, write_log
from .servers import KringServer, make_server

PER_DOC = 200


async def scenario_idle(kind: str, quick: bool) -> Result:
    rooms = 50 if quick else 100
    # Kring keeps an idle room loaded this long; the reference keeps every room for good.
    server = make_server(kind, "idle", KRING_ROOM_IDLE_SECONDS="3600")
    result = Result(
        Table(
            f"idle [{server.name}]: memory per loaded idle room ({rooms} rooms, plan only, "
            "nobody connected)"
        )
    )
    try:
        if isinstance(server, KringServer):
            server.upgrade()
        conferences = await make_rooms(server, 2 * rooms + 1, 1)
        warmup, filled, empty = conferences[0], conferences[1 : rooms + 1], conferences[rooms + 1 :]
        docs: dict[tuple[str, str], list[bytes]] = {}
        for i, conference in enumerate(filled):
            updates, _text = typing_updates(PER_DOC, seed=i, authors=2)
            docs[(conference.id, "plan")] = list(updates)
        sizes = [sum(len(u) for u in updates) for updates in docs.values()]
        if isinstance(server, KringServer):
            await write_log(server.settings, docs)  # a join loads it from the database
        server.start()

        def whole(conference: Conference) -> bytes:
            """The plan as one update, as a tablet that wrote it offline would send it."""
            doc: Doc[Any] = Doc()
            for update in docs[(conference.id, "plan")]:
                doc.apply_update(update)
            return doc.get_update()

        async def visit(
            group: list[Conference], times: int = 1, fill: bool = False, parallel: int = 10
        ) -> None:
            gate = asyncio.Semaphore(parallel)

            async def one(conference: Conference) -> None:
                url = server.ws_url(conference.id)
                async with gate:
                    if fill and not isinstance(server, KringServer):  # no storage: send it
                        await push_updates(url, "", server.base_url, [whole(conference)])
                    else:
                        await timed_join(url, conference.cookies[0], server.base_url)

            for _ in range(times):
                await asyncio.wait_for(asyncio.gather(*(one(c) for c in group)), 120)

        # Warm-up: as many connects and disconnects as the measurement makes, all to one
        # room, so code paths, caches and the allocator are in use before the first reading.
        # One at a time: they share one device's cookie, and Kring lets one device hold only
        # a few sockets to one document.
        await visit([warmup] * rooms, parallel=1)
        await asyncio.sleep(1.0)
        rss0 = server.memory_kb()["VmRSS"]
        await visit(filled, fill=True)
        await asyncio.sleep(1.0)
        rss1 = server.memory_kb()["VmRSS"]
        await visit(empty)
        await asyncio.sleep(1.0)
        rss2 = server.memory_kb()["VmRSS"]
        how = (
            "in the log"
            if isinstance(server, KringServer)
            else "sent as one update by a device, which then left"
        )
        result.table.add("server RSS after warm-up", mb(rss0))
        result.table.add(
            f"{rooms} rooms with a {PER_DOC}-update plan",
            f"{(rss1 - rss0) / 1024:+.0f} MB: {(rss1 - rss0) / rooms:.0f} KB per room "
            f"(each plan: {sum(sizes) / len(sizes) / 1024:.1f} KB of updates {how})",
        )
        result.table.add(
            f"{rooms} rooms with an empty plan",
            f"{(rss2 - rss1) / 1024:+.0f} MB: {(rss2 - rss1) / rooms:.0f} KB per room",
        )
        peak = server.memory_kb()["VmHWM"]
        result.table.add("server RSS", f"{mb(server.rss_start)} after startup, peak {mb(peak)}")
        result.put("room_plan", (rss1 - rss0) / rooms, f"{(rss1 - rss0) / rooms:.0f} KB")
        result.put("room_empty", (rss2 - rss1) / rooms, f"{(rss2 - rss1) / rooms:.0f} KB")
        result.put("rss_idle", server.rss_start / 1024, mb(server.rss_start))
        add_log_row(result, server)
    finally:
        server.cleanup()
    return result
