"""Scenarios of live meetings: many rooms editing (rooms), one big room (fanout), and many
devices arriving at once (storm). Each runs against one server, Kring or the reference."""

from __future__ import annotations

import asyncio
import random
import time

from .clients import Device, Tally, close_all, connect_all, room_devices
from .measure import Result, Table, Window, mb, progress
from .report import add_connect_row, add_generator_rows, add_log_row, report_deliveries
from .seed import make_rooms
from .servers import KringServer, Server, make_server

TARGET_P99_MS = 50.0  # Kring's own target in the meeting (rooms), beside the ratio


def prepare(server: Server) -> None:
    if isinstance(server, KringServer):
        server.upgrade()


async def typists(devices: list[Device], gap: float, duration: float) -> None:
    """Every device edits about every ``gap`` s (uniform gap/2 .. 1.5 gap, random start)."""
    until = time.perf_counter() + duration

    async def typist(device: Device) -> None:
        await asyncio.sleep(random.uniform(0, gap))
        while time.perf_counter() < until:
            await device.edit()
            await asyncio.sleep(random.uniform(gap / 2, gap * 1.5))

    await asyncio.wait_for(asyncio.gather(*(typist(d) for d in devices)), duration + 30)


async def scenario_rooms(kind: str, quick: bool) -> Result:
    rooms, people, gap = 50, 12, 2.0
    duration = 10.0 if quick else 60.0
    server = make_server(kind, "rooms")
    result = Result(
        Table(
            f"rooms [{server.name}]: {rooms} rooms x {people} clients, each client edits the "
            f"plan every ~{gap:.0f} s (uniform {gap / 2:.0f}-{gap * 1.5:.0f} s), {duration:.0f} s"
        )
    )
    try:
        prepare(server)
        t0 = time.perf_counter()
        conferences = await make_rooms(server, rooms, people)
        progress(f"rooms: {rooms * people} devices' rooms made in {time.perf_counter() - t0:.1f} s")
        server.start()
        tally = Tally()
        devices, _ = room_devices(
            [(server.ws_url(c.id), c.cookies) for c in conferences], server.base_url, tally
        )
        cpu0 = server.cpu_seconds()
        took = await connect_all(devices, concurrency=25, within=90)
        add_connect_row(result, server, devices, took, cpu0, 25)
        progress(
            f"rooms [{server.name}]: {sum(d.open for d in devices)} devices synced in "
            f"{took:.1f} s; editing for {duration:.0f} s"
        )
        window = Window(server, "rooms")
        await typists(devices, gap, duration)
        await report_deliveries(result, tally, devices, window, server, TARGET_P99_MS)
    finally:
        server.cleanup()
    return result


async def scenario_fanout(kind: str, quick: bool) -> Result:
    people, rate = 200, 20.0
    duration = 10.0 if quick else 30.0
    server = make_server(kind, "fanout")
    result = Result(
        Table(
            f"fanout [{server.name}]: 1 room x {people} clients, one writer at {rate:.0f} "
            f"edits/s, {duration:.0f} s"
        )
    )
    try:
        prepare(server)
        (conference,) = await make_rooms(server, 1, people)
        server.start()
        tally = Tally()
        peers, _ = room_devices(
            [(server.ws_url(conference.id), conference.cookies)], server.base_url, tally
        )
        cpu0 = server.cpu_seconds()
        took = await connect_all(peers, concurrency=25, within=60)
        add_connect_row(result, server, peers, took, cpu0, 25)
        progress(
            f"fanout [{server.name}]: {sum(d.open for d in peers)} devices synced in "
            f"{took:.1f} s; writing for {duration:.0f} s"
        )
        writer = peers[0]
        window = Window(server, "fanout")
        start = time.perf_counter()
        for i in range(int(duration * rate)):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await writer.edit()
        await report_deliveries(result, tally, peers, window, server, None)
    finally:
        server.cleanup()
    return result


async def scenario_storm(kind: str, quick: bool) -> Result:
    """600 devices (50 rooms of 12) connecting 50 at a time: until all are synced."""
    rooms, people, concurrency = 50, 12, 50
    server = make_server(kind, "storm")
    result = Result(
        Table(
            f"storm [{server.name}]: {rooms * people} devices ({rooms} rooms x {people}) "
            f"connect, {concurrency} at a time; time until all are synced"
        )
    )
    try:
        prepare(server)
        conferences = await make_rooms(server, rooms, people)
        server.start()
        await asyncio.sleep(0.5)
        devices, _ = room_devices(
            [(server.ws_url(c.id), c.cookies) for c in conferences], server.base_url, Tally()
        )
        window = Window(server, "storm")
        cpu0 = window.cpu0
        took = await connect_all(devices, concurrency=concurrency, within=120)
        window.close()
        add_connect_row(result, server, devices, took, cpu0, concurrency, window)
        wall, cpu, _gen = window.figures
        result.table.add(
            "server CPU",
            f"{cpu:.1f} s over {wall:.1f} s ({100 * cpu / wall:.0f}% of a core){window.mark}: "
            f"main thread {window.loop_cpu:.1f} s, other threads {window.other_threads_cpu:.1f} s",
        )
        add_generator_rows(result, window)
        memory = server.memory_kb()
        result.table.add(
            "server RSS", f"{mb(memory['VmRSS'])} with all connected, peak {mb(memory['VmHWM'])}"
        )
        failed = [d for d in devices if not d.open]
        if failed:
            first = next((d.error or f"closed {d.close_code}" for d in failed), "")
            result.table.add("devices not synced", f"{len(failed)}; first: {first[:200]}")
        result.put("peak_rss", memory["VmHWM"] / 1024, mb(memory["VmHWM"]))
        await close_all(devices)
        add_log_row(result, server)
    finally:
        server.cleanup()
    return result
