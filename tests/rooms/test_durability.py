"""Nothing anyone saw is lost: kill -9, SIGTERM, failing loads, leaving mid-commit.

Each test runs its own `kring serve` on a temporary SQLite database and restarts it on the
same port, so the devices (pycrdt clients that keep their document, like a tablet's
IndexedDB) reconnect and send what the server does not have yet.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.rooms import protocol
from server.rooms.client import YClient
from tests.support.live import connected, wait_until
from tests.support.people import DemoConference, demo_conference
from tests.support.server import (
    Instance,
    LiveServer,
    make_instance,
    metric_samples,
    serving,
    start_again,
    start_server,
    stop_server,
)

METRICS_TOKEN = "durability-metrics-0123456789"


@pytest.fixture
def instance(tmp_path: Path) -> Instance:
    return make_instance(
        tmp_path, KRING_LOG_LEVEL="info", KRING_ROOM_IDLE_SECONDS="1", KRING_COMPACT_AFTER="25"
    )


@pytest.fixture
def server(instance: Instance) -> Iterator[LiveServer]:
    running = start_server(instance)
    yield running
    if running.process.poll() is None:
        stop_server(running)


def restart(server: LiveServer) -> LiveServer:
    """Start the same installation again on the same port (the old process has exited)."""
    server.process.wait(timeout=30)
    again = start_again(server)
    server.process = again.process
    return server


async def folded_and_unloaded(server: LiveServer, conference_id: str) -> None:
    """Wait until the plan's log was folded into a snapshot and its room unloaded."""
    log = server.instance.folder / "server.log"
    await wait_until(lambda: "updates into a snapshot" in log.read_text())
    await wait_until(lambda: f"{conference_id}/plan unloaded" in log.read_text())


def own_clock(device: YClient) -> int:
    vector = protocol.decode_state_vector(device.doc.get_state())
    return vector.get(device.doc.client_id, 0)


def saved_clock(device: YClient) -> int:
    if not device.saved_vectors:
        return 0
    return protocol.decode_state_vector(device.saved_vectors[-1]).get(device.doc.client_id, 0)


async def family(conference: DemoConference, count: int, **kwargs: bool) -> list[YClient]:
    people = [("client", 0)] + [("network_member", i) for i in range(count - 1)]
    return [conference.device("plan", conference.cookie(r, i), **kwargs) for r, i in people]


async def test_a_crash_mid_typing_loses_nothing_anyone_saw(server: LiveServer) -> None:
    conference = await demo_conference(server, "private_time")
    writers = await family(conference, 3, saved=True)
    watcher = conference.device("plan", conference.cookie("network_member", 3))
    markers: list[list[tuple[str, int]]] = [[] for _ in writers]  # (marker, own clock after)

    async def type_along(index: int, device: YClient) -> None:
        for i in range(200):
            marker = f"[{index}.{i}]"
            device.text().insert(len(device.text()) if i % 2 else 0, marker)
            markers[index].append((marker, own_clock(device)))
            await asyncio.sleep(0.002)

    async with connected(*writers, watcher):
        typing = [asyncio.create_task(type_along(i, w)) for i, w in enumerate(writers)]
        await watcher.wait_for(lambda: str(watcher.text()).count("[") >= 60)
        server.process.kill()  # SIGKILL: no shutdown, no flush, mid-typing
        await asyncio.gather(*typing)  # the tablets keep typing while the server is down
        seen = str(watcher.text())
        acked = [m for i, w in enumerate(writers) for m, c in markers[i] if c <= saved_clock(w)]
        await asyncio.gather(*(w.wait_closed() for w in (*writers, watcher)))

        restart(server)
        fresh = conference.device("plan", conference.cookie("network_member", 4))
        async with connected(fresh):
            after_restart = str(fresh.text())
        # Every edit the watcher was shown, and every edit the server said it saved, survived.
        assert [m for m in _markers(seen) if m not in after_restart] == []
        assert [m for m in acked if m not in after_restart] == []
        assert len(acked) >= 30

        # The tablets come back and send what the server never got; everyone converges.
        for device in writers:
            await device.connect()
        for device in writers:
            await device.synced()
        every = {m for rows in markers for m, _ in rows}
        late = conference.device("plan", conference.cookie("network_member", 4))
        async with connected(late):
            await late.wait_for(lambda: every <= set(_markers(str(late.text()))), 20)
            for device in writers:
                await device.wait_for(lambda d=device: str(d.text()) == str(late.text()), 20)


def _markers(text: str) -> list[str]:
    return [f"[{part.split(']')[0]}]" for part in text.split("[")[1:]]


async def test_sigterm_commits_what_is_pending_and_says_goodbye(server: LiveServer) -> None:
    conference = await demo_conference(server, "private_time")
    (writer,) = await family(conference, 1, saved=True)
    async with connected(writer):
        for i in range(150):
            writer.text().insert(len(writer.text()), f"<{i}>")
        await writer.flush()
        # Stop once the first of them is on disk, with the rest still arriving or committing
        # (on a busy machine a signal sent at once may beat the very first commit).
        await writer.wait_for(lambda: saved_clock(writer) > 0)
        server.process.send_signal(signal.SIGTERM)
        code, _reason = await writer.wait_closed(30)
        assert code == 1012  # "service restart": the device reconnects when it can
        # uvicorn re-raises the signal after a clean shutdown, so the exit status is -SIGTERM.
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
        assert (
            "Application shutdown complete" in (server.instance.folder / "server.log").read_text()
        )
        saved = saved_clock(writer)
        restart(server)
        fresh = conference.device("plan", conference.cookie("network_member", 0))
        async with connected(fresh):
            stored = str(fresh.text())
        # Everything the server acknowledged before it stopped is there, in order.
        acked = stored.count("<")
        assert stored == "".join(f"<{i}>" for i in range(acked))
        assert len(stored) >= saved > 0  # a Yjs clock counts characters
        await writer.connect()
        await writer.synced()
        again = conference.device("plan", conference.cookie("network_member", 1))
        async with connected(again):
            await again.wait_for(lambda: "<149>" in str(again.text()))
            assert str(again.text()) == "".join(f"<{i}>" for i in range(150))


async def test_a_failing_load_opens_nothing_and_never_overwrites(server: LiveServer) -> None:
    conference = await demo_conference(server, "information")
    writer = conference.device("information", conference.cookie("client"), saved=True)
    async with connected(writer):
        writer.text().insert(0, "Wat we afspraken.")
        await writer.wait_for(writer.all_saved)
    log = server.instance.folder / "server.log"
    await wait_until(lambda: f"{conference.id}/information unloaded" in log.read_text())

    database = server.instance.folder / "kring.db"
    with sqlite3.connect(database) as db:
        db.execute("ALTER TABLE doc_update RENAME TO doc_update_unreachable")
    try:
        tablet = conference.device("information", conference.cookie("network_member"))
        await tablet.connect()
        code, reason = await tablet.wait_closed()
        await tablet.close()
        assert code == 1011
        assert reason == "Dit document kan nu niet geladen worden. Probeer het zo opnieuw."
        assert tablet.messages == 0  # no empty document was offered to edit
    finally:
        with sqlite3.connect(database) as db:
            db.execute("ALTER TABLE doc_update_unreachable RENAME TO doc_update")
    later = conference.device("information", conference.cookie("network_member"))
    async with connected(later):
        assert str(later.text()) == "Wat we afspraken."


async def test_leaving_while_a_commit_is_in_flight_loses_nothing(server: LiveServer) -> None:
    conference = await demo_conference(server, "private_time")
    cookies = [conference.cookie("client"), conference.cookie("network_member")]
    for i in range(8):
        leaver = conference.device("plan", cookies[0])
        async with connected(leaver):
            leaver.text().insert(0, f"({i})")
            await leaver.flush()
            leaving = asyncio.create_task(leaver.close())
            joiner = conference.device("plan", cookies[1])
            async with connected(joiner):  # joins at once, while the commit may be in flight
                await joiner.wait_for(lambda j=joiner, n=i: f"({n})" in str(j.text()))
            await leaving
    # And after the room was unloaded, the stored document has every edit.
    log = server.instance.folder / "server.log"
    await wait_until(lambda: f"{conference.id}/plan unloaded" in log.read_text())
    last = conference.device("plan", cookies[1])
    async with connected(last):
        assert sorted(_paren(str(last.text()))) == [f"({i})" for i in range(8)]


async def test_a_tablet_back_with_a_burst_of_edits_shares_commits_and_hears_saved_in_order(
    tmp_path: Path,
) -> None:
    """A tablet that kept typing offline comes back with hundreds of edits at once: they are
    stored in shared group commits (not one disk sync each), every one is shown to the
    others, and its "saved" messages come one per message sent, in order, each claiming
    only what is stored (the empty messages between the edits included)."""
    instance = make_instance(
        tmp_path, KRING_MAX_MESSAGES_PER_SECOND="1000", KRING_METRICS_TOKEN=METRICS_TOKEN
    )
    with serving(instance) as server:
        conference = await demo_conference(server, "private_time")
        tablet = conference.device("plan", conference.cookie("client"), saved=True)
        reader = conference.device("plan", conference.cookie("network_member"))
        async with connected(tablet, reader):
            before = await metric_samples(server, METRICS_TOKEN)
            for i in range(600):
                tablet.text().insert(len(tablet.text()), f"<{i}>")
                if i % 100 == 50:  # a message that stores nothing, between the edits
                    await tablet.send(protocol.Update(b"\x00\x00"))
            await tablet.flush()
            await tablet.wait_for(tablet.all_saved, 30)
            await reader.wait_for(lambda: str(reader.text()) == str(tablet.text()), 30)
            after = await metric_samples(server, METRICS_TOKEN)
        stored = [saved_clock_of(tablet, vector) for vector in tablet.saved_vectors]
        assert stored == sorted(stored) and stored[-1] == own_clock(tablet)
        # One on joining, one for its handshake's sync step 2, one per edit and empty message.
        assert len(tablet.saved_vectors) == 1 + 1 + 600 + 6
        updates = after["kring_updates_committed_total"] - before["kring_updates_committed_total"]
        commits = (
            after["kring_commit_batch_updates_count"] - before["kring_commit_batch_updates_count"]
        )
        assert updates == 600
        assert commits < 600 / 4


def saved_clock_of(device: YClient, vector: bytes) -> int:
    return protocol.decode_state_vector(vector).get(device.doc.client_id, 0)


def _paren(text: str) -> list[str]:
    return [f"({part.split(')')[0]})" for part in text.split("(")[1:]]


async def test_an_edit_waiting_for_a_missing_one_survives_compaction(server: LiveServer) -> None:
    conference = await demo_conference(server, "private_time")
    # An offline tablet typed "A" then "B"; only the update with "B" reaches the server.
    offline = YClient("ws://unused")
    updates: list[bytes] = []
    offline.doc.observe(lambda event: updates.append(event.update))
    offline.text().insert(0, "A")
    offline.text().insert(1, "B")
    sender = conference.device("plan", conference.cookie("client"), saved=True)
    async with connected(sender):
        await sender.send(protocol.Update(updates[1]))
        for _ in range(30):  # enough edits to fold the log into a snapshot (KRING_COMPACT_AFTER)
            sender.text().insert(0, ".")
        await sender.wait_for(sender.all_saved)
    await folded_and_unloaded(server, conference.id)
    # The document is loaded again from the snapshot; then the missing edit arrives.
    late = conference.device("plan", conference.cookie("network_member"), saved=True)
    async with connected(late):
        await late.send(protocol.Update(updates[0]))
        await late.wait_for(lambda: len(late.saved_vectors) >= 2)  # joined, then committed
    fresh = conference.device("plan", conference.cookie("network_member", 1))
    async with connected(fresh):
        assert str(fresh.text()).replace(".", "") == "AB"


async def test_text_deleted_in_a_burst_is_not_in_the_snapshot_it_set_off(
    server: LiveServer,
) -> None:
    """A tablet back online sends its queued edits at once: a name typed and deleted again,
    then enough edits to fold the log into a snapshot. The snapshot holds the plan as it is,
    not the deleted name (the server applies a burst's updates together, and a snapshot is
    of the document with its deleted text collected)."""
    conference = await demo_conference(server, "private_time")
    offline = YClient("ws://unused")
    queued: list[bytes] = []
    offline.doc.observe(lambda event: queued.append(event.update))
    offline.text().insert(0, "Oom Kees-Geheimnaam")
    del offline.text()[0 : len("Oom Kees-Geheimnaam")]
    for n in range(40):  # past KRING_COMPACT_AFTER (25)
        offline.text().insert(n, "x")
    sender = conference.device("plan", conference.cookie("client"), saved=True)
    async with connected(sender):
        for update in queued:
            await sender.send(protocol.Update(update))
        await sender.wait_for(lambda: len(sender.saved_vectors) >= 1 + len(queued))
    log = server.instance.folder / "server.log"
    await wait_until(lambda: "updates into a snapshot" in log.read_text())
    with sqlite3.connect(server.instance.folder / "kring.db") as db:
        snapshots = [row[0] for row in db.execute("SELECT data FROM doc_snapshot")]
    assert snapshots, "the log was folded into a snapshot"
    assert not any(b"Geheimnaam" in data for data in snapshots)
    fresh = conference.device("plan", conference.cookie("network_member"))
    async with connected(fresh):
        assert str(fresh.text()) == "x" * 40


async def test_a_plan_read_back_from_its_snapshot_opens_whole_and_goes_on(
    server: LiveServer,
) -> None:
    """A plan whose log was folded into a snapshot, its room unloaded: a new device gets the
    stored plan in its first sync, as the snapshot holds it, before the server has applied it
    to a document of its own; then the server's own half of the handshake and its "saved"
    follow, and what the device writes is kept and shown to the next."""
    conference = await demo_conference(server, "private_time")
    writer = conference.device("plan", conference.cookie("client"), saved=True)
    async with connected(writer):
        for n in range(30):  # past KRING_COMPACT_AFTER (25)
            writer.text().insert(n, "ab"[n % 2])
        await writer.wait_for(writer.all_saved)
    await folded_and_unloaded(server, conference.id)
    reader = conference.device("plan", conference.cookie("network_member"), saved=True)
    async with connected(reader):
        assert str(reader.text()) == "ab" * 15
        await reader.wait_for(lambda: len(reader.saved_vectors) >= 1)  # the server's greeting
        reader.text().insert(0, "Oma: ")
        await reader.wait_for(reader.all_saved)
    fresh = conference.device("plan", conference.cookie("network_member", 1))
    async with connected(fresh):
        assert str(fresh.text()) == "Oma: " + "ab" * 15
