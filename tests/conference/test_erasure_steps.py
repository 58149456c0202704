"""Erasing in steps on a real `kring serve`: a conference marked as being erased (here by a
process that then died half-way) is refused by every page, link, sign-in, live connection,
API call, feed, list and export exactly as an erased one, also by a server that never heard
of the erasure; and the server's next start-up finishes it, with nothing of it left in the
database or its files and the erasure recorded as by whoever began it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.storage.store import Store
from tests.support.feeds import feed_url_on, fetch
from tests.support.live import connected, wait_until
from tests.support.people import DemoConference, as_, demo_conference, server_store
from tests.support.server import make_instance, start_again, start_server, stop_server
from tests.support.traces import database_traces, file_traces

ERASED = "Deze conferentie is gewist."


async def _joins(conference: DemoConference, cookie: str) -> str:
    """What a device opening the conference's information document gets."""
    device = conference.device("information", cookie)
    await device.connect()
    try:
        await device.wait_for(lambda: device.close_code is not None or device.messages > 0)
        return "joined" if device.close_code is None else f"closed {device.close_code}"
    finally:
        await device.close()


async def _ways_in(
    conference: DemoConference, coordinator_cookie: str, client_cookie: str, feed: str
) -> dict[str, object]:
    """What each way into the conference answers: status and where it sends one."""
    cid = conference.id
    found: dict[str, object] = {}
    async with as_(conference, coordinator_cookie) as coordinator:
        for path in ("", "/console", "/export.zip", "/export", "/audit", "/access", "/access.csv"):
            answer = await coordinator.get(f"/conferences/{cid}{path}")
            found[f"coordinator {path or 'page'}"] = (
                answer.status_code,
                answer.headers.get("location"),
            )
        wrong = await coordinator.post(f"/conferences/{cid}/erase", data={"confirm": "Niemand"})
        found["erase form"] = wrong.status_code
        listing = await coordinator.get("/conferences")
        found["on the coordinator's list"] = f"/conferences/{cid}" in listing.text
        async with coordinator.stream("GET", f"/api/conferences/{cid}/events") as stream:
            found["console stream"] = stream.status_code
    async with as_(conference, client_cookie) as client:
        for path in ("", "/plan", "/conference.ics", "/follow-ups"):
            answer = await client.get(f"/c/{cid}{path}")
            found[f"participant {path or 'page'}"] = (
                answer.status_code,
                answer.headers.get("location"),
            )
        found["API plan"] = (await client.get(f"/api/conferences/{cid}/plan")).status_code
    async with as_(conference, "") as device:
        link = conference.person("network_member")["invitation_url"]
        found["personal link"] = (await device.get(link)).status_code
    found["calendar feed"] = (await asyncio.to_thread(fetch, feed)).status_code
    found["live document"] = await _joins(conference, client_cookie)
    return found


async def _feed(conference: DemoConference, cookie: str) -> str:
    async with as_(conference, cookie) as client:
        return feed_url_on(await client.get(f"/c/{conference.id}/follow-ups"))


def _being_erased(folder: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(folder / "kring.db")) as db:
        return [
            row[0]
            for row in db.execute("SELECT id FROM conference WHERE erasing_since IS NOT NULL")
        ]


def _erasure_records(folder: Path, conference_id: str) -> list[tuple[str, dict[str, Any]]]:
    with contextlib.closing(sqlite3.connect(folder / "kring.db")) as db:
        rows = db.execute(
            "SELECT actor, detail FROM audit_event WHERE kind = 'conference_erased' "
            "AND conference_id IS NULL"
        )
        records = [(actor, json.loads(detail)) for actor, detail in rows]
    return [(actor, d) for actor, d in records if d["conference_id"] == conference_id]


class Crash(Exception):
    """The erasing process died."""


async def _dies_after(steps: int, store: Store, conference_id: str) -> None:
    """Erase a marked conference in steps of ten rows, dying after ``steps`` of them."""
    taken = 0

    @contextlib.asynccontextmanager
    async def turn() -> AsyncIterator[None]:
        nonlocal taken
        if taken == steps:
            raise Crash
        taken += 1
        yield

    with pytest.raises(Crash):
        await store.erase_marked(conference_id, batch_rows=10, turn=turn)


async def test_a_conference_being_erased_is_refused_everywhere_and_the_next_start_finishes_it(
    tmp_path: Path,
) -> None:
    # Sign-ins are checked every second, the housekeeping hourly (not during the test).
    instance = make_instance(tmp_path, KRING_SESSION_CHECK_SECONDS="1", KRING_LOG_LEVEL="info")
    folder = instance.folder
    server = await asyncio.to_thread(start_server, instance)
    try:
        erased, marked, other = [await demo_conference(server, "action_team") for _ in range(3)]
    except BaseException:
        await asyncio.to_thread(stop_server, server)
        raise
    try:
        client_name = f"Zoë Stapsgewijs-{secrets.token_hex(6)}"
        async with server_store(marked) as store:
            await store.update_conference(marked.id, client_name=client_name)
        coordinator = other.coordinator_cookie()  # the demos share one coordinator
        clients = {c.id: c.cookie("client") for c in (erased, marked)}
        feeds = {c.id: await _feed(c, clients[c.id]) for c in (erased, marked)}

        # A conference erased the usual way, for comparison.
        async with as_(erased, coordinator) as lotte:
            done = await lotte.post(
                f"/conferences/{erased.id}/erase", data={"confirm": "Sam Yılmaz"}
            )
            assert done.status_code == 303
        gone = await _ways_in(erased, coordinator, clients[erased.id], feeds[erased.id])
        before = await _ways_in(marked, coordinator, clients[marked.id], feeds[marked.id])
        assert [way for way in gone if gone[way] == before[way]] == []  # each way can tell

        # Another process marks it as being erased, behind this server's back.
        reader = marked.device("information", clients[marked.id])
        async with connected(reader):
            async with server_store(marked) as store:
                conference = await store.conference(marked.id)
                assert conference is not None
                actor = f"coordinator:{conference.owner_id}"
                await store.mark_erasing(marked.id, actor)
            # Its sign-ins no longer hold: the open document closes (as after an erasure
            # elsewhere, whose notice this process missed).
            assert (await reader.wait_closed(within=15))[0] == 4001
        assert await _ways_in(marked, coordinator, clients[marked.id], feeds[marked.id]) == gone
        assert database_traces(folder / "kring.db", [client_name])  # still there, refused
    finally:
        await asyncio.to_thread(stop_server, server)

    # That process dies half-way through the rows; then this server starts again.
    async with server_store(marked) as store:
        await _dies_after(6, store, marked.id)
    assert _being_erased(folder) == [marked.id]
    server = await asyncio.to_thread(start_again, server)
    try:
        # The start-up's run finishes it in the background, and logs it once the files are clean.
        told = f"conference {marked.id} erased by {actor} (finished after an interruption)"
        await wait_until(lambda: told in (folder / "server.log").read_text(), within=15)
        assert _being_erased(folder) == []
        async with server_store(other) as store:
            assert await store.conference(other.id) is not None
            assert len(await store.participants(other.id)) == 15
        assert database_traces(folder / "kring.db", [client_name]) == set()
        assert file_traces(folder, [client_name]) == set()
        assert (await _ways_in(marked, coordinator, clients[marked.id], feeds[marked.id])) == gone
    finally:
        await asyncio.to_thread(stop_server, server)
    [(by, detail)] = _erasure_records(folder, marked.id)
    assert by == actor and detail["resumed"] is True  # as by whoever began it
    assert client_name not in json.dumps(detail)
    log = (folder / "server.log").read_text()
    assert f"conference {marked.id}: finishing an erasure that was interrupted" in log
    assert "Traceback" not in log and "ERROR" not in log, log
    assert client_name not in log
