"""PDF copies and the outcomes page share a few slots of heavy work (``KRING_HEAVY_JOBS``), on a
real `kring serve`: with one slot, two people asking for a long plan's PDF at the same moment
are served one after the other (the server's log says so), and someone who would wait longer
than ``KRING_HEAVY_WAIT_SECONDS`` is told, in words and with Retry-After, to try again soon."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader

from tests.support.live import wait_until
from tests.support.people import (
    DemoConference,
    as_,
    demo_conference,
    other_coordinator,
    server_store,
)
from tests.support.plans import long_plan
from tests.support.processes import descendants_of, heavy_workers_of, running
from tests.support.server import LiveServer, make_instance, serving, start_server, stop_server

pytestmark = pytest.mark.usefixtures("devices_closed")

AGREEMENTS = 400  # about one and a half seconds of printing each


@pytest.fixture(scope="module")
def one_slot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One slot of heavy work, a page that waits up to a minute for it; Kring's own lines at
    debug level (each slot taken and given back)."""
    instance = make_instance(
        tmp_path_factory.mktemp("heavy"),
        KRING_HEAVY_JOBS="1",
        KRING_HEAVY_WAIT_SECONDS="60",
        KRING_LOG_LEVEL="debug",
    )
    with serving(instance) as server:
        yield server


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One slot, and a page waits for it at most one second; the log says when it is taken."""
    instance = make_instance(
        tmp_path_factory.mktemp("impatient"),
        KRING_HEAVY_JOBS="1",
        KRING_HEAVY_WAIT_SECONDS="1",
        KRING_LOG_LEVEL="debug",
    )
    with serving(instance) as server:
        yield server


async def _with_long_version(server: LiveServer, agreements: int = AGREEMENTS) -> DemoConference:
    """A conference whose action team works on version 1, a plan long enough to take a while
    to print."""
    conference = await demo_conference(server, "presentation")
    async with server_store(conference) as store:
        await store.add_plan_version(conference.id, 1, b"", long_plan(agreements), "test")
        await store.set_phase(conference.id, "action_team")
    return conference


def _log_since(server: LiveServer, mark: int) -> list[str]:
    text = (server.instance.folder / "server.log").read_bytes()[mark:].decode(errors="replace")
    return [line for line in text.splitlines() if "heavy work" in line]


async def test_with_one_slot_two_pdfs_asked_together_are_made_one_after_the_other(
    one_slot: LiveServer,
) -> None:
    conference = await _with_long_version(one_slot)
    mark = (one_slot.instance.folder / "server.log").stat().st_size
    url = f"/c/{conference.id}/plan/1.pdf"
    async with (
        as_(conference, conference.cookie("client")) as sam,
        as_(conference, conference.cookie("network_member")) as ayse,
    ):
        for client in (sam, ayse):
            client.timeout = httpx.Timeout(60)
        first, second = await asyncio.gather(sam.get(url), ayse.get(url))

    for response in (first, second):  # both get the whole copy, however long they waited
        assert response.status_code == 200
        pages = PdfReader(io.BytesIO(response.content)).pages
        assert f"Afspraak {AGREEMENTS - 1}:" in " ".join(p.extract_text() for p in pages)
    lines = _log_since(one_slot, mark)
    steps = [
        match[1]
        for line in lines
        if (match := re.search(r"heavy work (started|finished): plan copy", line))
    ]
    assert steps == ["started", "finished", "started", "finished"], lines
    assert any("plan copy" in line and "waits for a slot (1 of 1 busy" in line for line in lines)


async def test_who_would_wait_too_long_is_asked_to_try_again_in_half_a_minute(
    impatient: LiveServer,
) -> None:
    conference = await _with_long_version(impatient)
    url = f"/c/{conference.id}/plan/1.pdf"
    async with (
        as_(conference, conference.cookie("client")) as sam,
        as_(conference, conference.cookie("network_member")) as ayse,
    ):
        for client in (sam, ayse):
            client.timeout = httpx.Timeout(60)
        answers = await asyncio.gather(sam.get(url), ayse.get(url))

    served = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code == 503]
    assert len(served) == 1 and len(refused) == 1, [a.status_code for a in answers]
    busy = refused[0]
    assert busy.headers["retry-after"] == "30"
    assert "Kring is even druk" in busy.text
    assert "Probeer het over een halve minuut opnieuw." in busy.text


async def _slot_taken(server: LiveServer, mark: int, what: str, within: float = 30) -> None:
    """Until the server's log says heavy work ``what`` took a slot (after byte ``mark``)."""
    for _ in range(int(within / 0.05)):
        if any(f"heavy work started: {what}" in line for line in _log_since(server, mark)):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no slot was taken for {what}: {_log_since(server, mark)}")


async def test_with_every_slot_taken_the_outcomes_page_asks_to_try_again_in_half_a_minute(
    impatient: LiveServer,
) -> None:
    """The outcomes page is heavy work too: while a PDF holds the only slot longer than a
    page waits, the coordinator is told to try again, and served once the slot is free."""
    conference = await _with_long_version(impatient, agreements=3 * AGREEMENTS)
    mark = (impatient.instance.folder / "server.log").stat().st_size
    async with (
        as_(conference, conference.cookie("client")) as sam,
        as_(conference, conference.coordinator_cookie()) as coordinator,
    ):
        for client in (sam, coordinator):
            client.timeout = httpx.Timeout(60)
        printing = asyncio.create_task(sam.get(f"/c/{conference.id}/plan/1.pdf"))
        await _slot_taken(impatient, mark, "plan copy")
        busy = await coordinator.get("/outcomes")
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "30"
        assert "Kring is even druk" in busy.text
        assert "Probeer het over een halve minuut opnieuw." in busy.text
        assert (await printing).status_code == 200
        page = await coordinator.get("/outcomes")
    assert page.status_code == 200 and conference.id in page.text


async def test_a_killed_server_leaves_no_worker_process_behind(
    tmp_path: Path,
) -> None:
    """A server killed outright (out of memory, SIGKILL) cannot stop its worker processes:
    they notice it is gone and end, instead of holding their memory (and, on PostgreSQL, a
    database process) for ever."""
    server = start_server(make_instance(tmp_path))
    try:
        conference = await _with_long_version(server, agreements=5)
        async with as_(conference, conference.cookie("client")) as sam:
            copy = await sam.get(f"/c/{conference.id}/plan/1.pdf")
        assert copy.status_code == 200 and copy.content.startswith(b"%PDF")
        started = descendants_of(server.process.pid)  # the fork server and resource tracker too
        assert heavy_workers_of(server.process.pid), "the PDF was made in a worker process"
        server.process.kill()
        server.process.wait(timeout=10)
        await wait_until(lambda: not any(running(pid) for pid in started), within=10)
    finally:
        stop_server(server)


async def test_an_outcomes_page_made_while_its_account_was_turned_off_is_not_shown(
    one_slot: LiveServer,
) -> None:
    """The page waits for a slot and is made meanwhile: an account an admin turned off in that
    time is sent to the login page, not shown the figures and names of its conferences."""
    conference = await _with_long_version(one_slot, agreements=3 * AGREEMENTS)
    cookie, account_id = await other_coordinator(conference, "turned-off")
    mark = (one_slot.instance.folder / "server.log").stat().st_size
    async with (
        as_(conference, conference.cookie("client")) as sam,
        as_(conference, cookie) as bram,
    ):
        for client in (sam, bram):
            client.timeout = httpx.Timeout(60)
        printing = asyncio.create_task(sam.get(f"/c/{conference.id}/plan/1.pdf"))
        await _slot_taken(one_slot, mark, "plan copy")
        asked = asyncio.create_task(bram.get("/outcomes"))
        waits = f"heavy work outcomes page of account {account_id} waits for a slot"
        for _ in range(600):
            if any(waits in line for line in _log_since(one_slot, mark)):
                break
            await asyncio.sleep(0.05)
        async with server_store(conference) as store:
            await store.deactivate_account(account_id)
        answer = await asked
        assert (await printing).status_code == 200
    assert answer.status_code == 303, answer.status_code
    assert answer.headers["location"].startswith("/login")
