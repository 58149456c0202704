"""The export from the conference page, on a real `kring serve`: one that takes longer than a
few seconds runs in the background while its page says "bezig" and asks again, until a link
serves the zip once. It is kept in the instance folder for its coordinator only, refused to
anyone else, gone after its download, and nothing of it outlives the conference's erasure,
not even an export still being made when the conference is erased.

Every export is made in a worker process of the server's heavy work, which reads the
conference itself when its turn comes: one that waited for a slot while the conference went
back to private time is refused with the reason, and one whose conference was erased
meanwhile is never made."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import signal
import zipfile
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.live import wait_until
from tests.support.people import (
    DemoConference,
    as_,
    demo_conference,
    other_coordinator,
    server_store,
)
from tests.support.plans import long_plan
from tests.support.processes import descendants_of, heavy_workers_of, is_descendant, running
from tests.support.server import (
    LiveServer,
    make_instance,
    serving,
    start_again,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.usefixtures("devices_closed")

# Five versions of a long plan: their PDFs take several seconds, more than the page waits
# before it sends the coordinator to the export's own page.
VERSIONS, AGREEMENTS = 5, 400


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Kring's own lines at debug level: the log says when an export's slot is given back."""
    instance = make_instance(tmp_path_factory.mktemp("exports"), KRING_LOG_LEVEL="debug")
    with serving(instance) as live:
        yield live


async def _with_versions(
    server: LiveServer, versions: int, agreements: int = AGREEMENTS
) -> DemoConference:
    """A conference in the action-team phase with ``versions`` long plan versions."""
    conference = await demo_conference(server, "presentation")
    async with server_store(conference) as store:
        for number in range(1, versions + 1):
            await store.add_plan_version(conference.id, number, b"", long_plan(agreements), "t")
        await store.set_phase(conference.id, "action_team")
    return conference


@pytest.fixture(scope="module")
def one_slot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One slot of heavy work, Kring's own lines at debug level."""
    instance = make_instance(
        tmp_path_factory.mktemp("one-slot"), KRING_HEAVY_JOBS="1", KRING_LOG_LEVEL="debug"
    )
    with serving(instance) as live:
        yield live


def _log_since(server: LiveServer, mark: int) -> str:
    return (server.instance.folder / "server.log").read_bytes()[mark:].decode(errors="replace")


def _log_mark(server: LiveServer) -> int:
    return (server.instance.folder / "server.log").stat().st_size


@asynccontextmanager
async def _only_slot_taken(server: LiveServer, holder: DemoConference) -> AsyncIterator[None]:
    """While the block runs, the only slot of heavy work prints version 1 of ``holder`` (a
    plan long enough to take seconds: see _long_holder); then that copy is served whole."""
    mark = _log_mark(server)
    async with as_(holder, holder.cookie("client")) as sam:
        sam.timeout = httpx.Timeout(60)
        printing = asyncio.create_task(sam.get(f"/c/{holder.id}/plan/1.pdf"))
        try:
            await wait_until(lambda: "heavy work started: plan copy" in _log_since(server, mark))
            yield
        finally:
            printed = await printing
        assert printed.status_code == 200


async def _waiting_for_the_slot(
    server: LiveServer, conference_id: str, mark: int, request: Coroutine[Any, Any, httpx.Response]
) -> asyncio.Task[httpx.Response]:
    """``request`` (an export of ``conference_id``) sent, once the log (since ``mark``) says
    it waits for the only slot of heavy work."""
    asked = asyncio.create_task(request)
    waits = f"heavy work export of conference {conference_id} waits for a slot"
    await wait_until(lambda: waits in _log_since(server, mark))
    return asked


async def _long_holder(server: LiveServer) -> DemoConference:
    """A conference whose version 1 takes about five seconds to print: what a test does
    while it holds the only slot is done long before."""
    return await _with_versions(server, 1, agreements=3 * AGREEMENTS)


def _kept(server: LiveServer) -> list[Path]:
    return sorted((server.instance.folder / "exports").glob("run-*/*.zip"))


async def _until_ready(coordinator: httpx.AsyncClient, cid: str) -> str:
    """Ask as the page does (htmx) until the export is ready; its download link."""
    for _ in range(600):
        part = await coordinator.get(f"/conferences/{cid}/export", headers={"hx-request": "true"})
        assert part.status_code == 200
        if 'data-export-state="ready"' in part.text:
            found = re.search(rf'href="(/conferences/{cid}/export/[^"]+)"', part.text)
            assert found is not None
            return found[1]
        assert 'data-export-state="running"' in part.text, part.text
        await asyncio.sleep(0.1)
    raise TimeoutError("the export was not ready within a minute")


async def _download_link(coordinator: httpx.AsyncClient, cid: str) -> str:
    """Start an export: its download link, at once when it was quick enough to go straight
    there (most small ones), else once its page says it is ready (a busy machine)."""
    started = await coordinator.post(f"/conferences/{cid}/export")
    assert started.status_code == 303
    link = str(started.headers["location"])
    if link == f"/conferences/{cid}/export":
        link = await _until_ready(coordinator, cid)
    assert link.startswith(f"/conferences/{cid}/export/")
    return link


async def _erase(coordinator: httpx.AsyncClient, conference: DemoConference) -> None:
    async with server_store(conference) as store:
        stored = await store.conference(conference.id)
    assert stored is not None
    erased = await coordinator.post(
        f"/conferences/{conference.id}/erase", data={"confirm": stored.client_name}
    )
    assert erased.status_code == 303, erased.text


async def test_a_long_export_runs_in_the_background_until_its_one_download(
    server: LiveServer,
) -> None:
    conference = await _with_versions(server, VERSIONS)
    cid = conference.id
    page = f"/conferences/{cid}/export"
    stranger_cookie, _account = await other_coordinator(conference)
    async with as_(conference, conference.coordinator_cookie()) as lotte:
        lotte.timeout = httpx.Timeout(60)
        started = await lotte.post(page)
        assert started.status_code == 303 and started.headers["location"] == page
        waiting = await lotte.get(page)
        assert 'data-export-state="running"' in waiting.text
        assert "Bezig met de export" in waiting.text
        assert f'hx-get="{page}" hx-trigger="every 2s"' in waiting.text
        assert "Wordt Kring intussen opnieuw gestart, dan stopt de export" in waiting.text
        again = await lotte.post(page)  # a second tap waits for the same export
        assert again.status_code == 303
        async with as_(conference, stranger_cookie) as bram:
            assert (await bram.get(page)).status_code == 403

        link = await _until_ready(lotte, cid)
        assert again.headers["location"] in (page, link)
        shown = await lotte.get(page)
        assert (
            "De export is klaar." in shown.text and "kan één keer gedownload worden" in shown.text
        )
        (kept,) = _kept(server)  # one zip for both taps, readable by Kring's own user only
        assert kept.stat().st_mode & 0o777 == 0o600
        assert kept.parent.stat().st_mode & 0o777 == 0o700
        assert kept.parent.parent.stat().st_mode & 0o777 == 0o700

        async with as_(conference, stranger_cookie) as bram:
            assert (await bram.get(link)).status_code == 403
        async with as_(conference, conference.cookie("client")) as sam:
            assert (await sam.get(link)).status_code == 403
        assert _kept(server) == [kept]  # a refusal takes nothing away

        download = await lotte.get(link)
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/zip"
        assert "no-store" in download.headers["cache-control"]
        archive = zipfile.ZipFile(io.BytesIO(download.content))
        pdfs = sorted(name for name in archive.namelist() if name.endswith(".pdf"))
        assert pdfs == [f"plan-versie-{n}.pdf" for n in range(1, VERSIONS + 1)]
        assert _kept(server) == []  # served once, then deleted
        twice = await lotte.get(link)
        assert twice.status_code == 404
        assert "al gedownload of verlopen" in twice.text
        after = await lotte.get(page)
        assert 'data-export-state="none"' in after.text
        audit = await lotte.get(f"/conferences/{cid}/audit")
        assert "downloadde alle gegevens van de conferentie (zip)." in audit.text


async def test_an_export_is_downloaded_only_while_the_plan_is_open(
    server: LiveServer,
) -> None:
    conference = await _with_versions(server, 1)
    cid = conference.id
    async with as_(conference, conference.coordinator_cookie()) as lotte:
        lotte.timeout = httpx.Timeout(60)
        link = await _download_link(lotte, cid)
        assert len(_kept(server)) == 1
        # Back in private time the plan is closed to the coordinator: so is its export.
        await conference.set_phase("private_time")
        refused = await lotte.get(link)
        assert refused.status_code == 409
        assert "Alles downloaden kan nu niet" in refused.text
        assert _kept(server) == []
        assert (await lotte.post(f"/conferences/{cid}/export")).status_code == 409


async def test_nothing_of_an_export_outlives_the_erasure_of_its_conference(
    server: LiveServer,
) -> None:
    log = server.instance.folder / "server.log"
    ready = await _with_versions(server, 1)
    async with as_(ready, ready.coordinator_cookie()) as lotte:
        lotte.timeout = httpx.Timeout(60)
        link = await _download_link(lotte, ready.id)
        assert len(_kept(server)) == 1
        await _erase(lotte, ready)
        assert _kept(server) == []
        assert (await lotte.get(link)).status_code != 200

    running = await _with_versions(server, VERSIONS)  # (a demo logs its coordinator out)
    async with as_(running, running.coordinator_cookie()) as lotte:
        lotte.timeout = httpx.Timeout(60)
        page = f"/conferences/{running.id}/export"
        assert (await lotte.post(page)).headers["location"] == page
        assert 'data-export-state="running"' in (await lotte.get(page)).text
        await _erase(lotte, running)
        # The worker making it finds the conference being erased when it has printed (or,
        # should it have looked just before the erasure began, the zip is thrown away).
        ended = (
            f"export of conference {running.id} not made: it is erased or being erased",
            f"export of conference {running.id} thrown away",
        )
        await wait_until(
            lambda: any(line in log.read_text(errors="replace") for line in ended), within=60
        )
        assert _kept(server) == []
        assert f"heavy work finished: export of conference {running.id}" in log.read_text()
        assert (await lotte.get(page)).status_code != 200


async def test_the_zip_is_made_in_a_worker_process_of_the_server(server: LiveServer) -> None:
    """Reading, printing and packing a conference happen away from the live rooms' process,
    in a worker process of the heavy work that the server started: the zip made within a
    request and the one made in the background alike."""
    conference = await _with_versions(server, 1)
    cid = conference.id
    mark = _log_mark(server)
    async with as_(conference, conference.coordinator_cookie()) as lotte:
        lotte.timeout = httpx.Timeout(60)
        inline = await lotte.get(f"/conferences/{cid}/export.zip")
        assert inline.status_code == 200
        assert "plan-versie-1.pdf" in zipfile.ZipFile(io.BytesIO(inline.content)).namelist()
        download = await lotte.get(await _download_link(lotte, cid))
        assert download.status_code == 200
        assert "plan-versie-1.pdf" in zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    made = re.findall(
        rf"export of conference {cid} made in process (\d+)", _log_since(server, mark)
    )
    assert len(made) == 2, made
    for pid in map(int, made):
        assert pid != server.process.pid
        assert is_descendant(pid, server.process.pid)


async def test_an_export_that_waited_while_the_plan_closed_is_refused_with_the_reason(
    one_slot: LiveServer,
) -> None:
    """The worker reads the phase when the export's turn comes: back in private time, the
    export is refused as it is when asked for then, and the page says why."""
    conference = await _long_holder(one_slot)
    cid = conference.id
    page = f"/conferences/{cid}/export"
    mark = _log_mark(one_slot)
    async with as_(conference, conference.coordinator_cookie()) as lotte:
        lotte.timeout = httpx.Timeout(60)
        async with _only_slot_taken(one_slot, conference):
            started = await _waiting_for_the_slot(one_slot, cid, mark, lotte.post(page))
            await conference.set_phase("private_time")
            assert (await started).headers["location"] == page  # not done in a few seconds
        for _ in range(600):
            shown = await lotte.get(page, headers={"hx-request": "true"})
            if 'data-export-state="running"' not in shown.text:
                break
            await asyncio.sleep(0.1)
        assert 'data-export-state="failed"' in shown.text, shown.text
        assert "Alles downloaden kan nu niet" in shown.text
        assert "zonder coördinator en zonder professionals" in shown.text
    assert f"export of conference {cid} made in process" not in _log_since(one_slot, mark)
    assert _kept(one_slot) == []


async def test_an_export_whose_conference_is_erased_while_it_waits_is_never_made(
    one_slot: LiveServer,
) -> None:
    """Erasure wins: the worker finds the conference being erased (or gone) when the
    export's turn comes, and makes nothing of it."""
    holder = await _long_holder(one_slot)
    erased = await _with_versions(one_slot, 1)  # (a demo logs its coordinator out)
    page = f"/conferences/{erased.id}/export"
    mark = _log_mark(one_slot)
    async with as_(erased, erased.coordinator_cookie()) as lotte:
        lotte.timeout = httpx.Timeout(60)
        async with _only_slot_taken(one_slot, holder):
            started = await _waiting_for_the_slot(one_slot, erased.id, mark, lotte.post(page))
            await _erase(lotte, erased)
            assert (await started).headers["location"] == page
        gone = f"export of conference {erased.id} not made: it is erased or being erased"
        await wait_until(lambda: gone in _log_since(one_slot, mark), within=60)
        assert (await lotte.get(page)).status_code != 200
    log = _log_since(one_slot, mark)
    assert f"heavy work finished: export of conference {erased.id}" in log
    assert f"export of conference {erased.id} made in process" not in log
    assert _kept(one_slot) == []


async def test_a_restart_forgets_the_exports_and_deletes_what_they_left(tmp_path: Path) -> None:
    first = start_server(make_instance(tmp_path))
    try:
        conference = await _with_versions(first, 1)
        async with as_(conference, conference.coordinator_cookie()) as lotte:
            lotte.timeout = httpx.Timeout(60)
            link = await _download_link(lotte, conference.id)
        assert len(_kept(first)) == 1
    finally:
        first.process.kill()  # no chance to clean up
        first.process.wait(timeout=10)
    assert len(_kept(first)) == 1
    second = start_again(first)  # the same installation on the same address
    try:
        assert _kept(second) == []
        async with as_(conference, conference.coordinator_cookie()) as lotte:
            assert (await lotte.get(link)).status_code == 404
            page = await lotte.get(f"/conferences/{conference.id}/export")
            assert 'data-export-state="none"' in page.text
    finally:
        stop_server(second)


async def test_an_export_whose_worker_process_dies_asks_to_try_again_and_the_next_is_made(
    one_slot: LiveServer,
) -> None:
    """A worker process killed while it makes the zip (the kernel's out-of-memory killer, an
    operator) costs that export only: its coordinator is told in words to try again (not an
    internal server error), and the next export is made by a new worker process."""
    conference = await _long_holder(one_slot)
    cid = conference.id
    mark = _log_mark(one_slot)
    async with as_(conference, conference.coordinator_cookie()) as lotte:
        lotte.timeout = httpx.Timeout(60)
        asked = asyncio.create_task(lotte.get(f"/conferences/{cid}/export.zip"))
        started = f"heavy work started: export of conference {cid}"
        await wait_until(lambda: started in _log_since(one_slot, mark))
        await wait_until(lambda: heavy_workers_of(one_slot.process.pid) != [])
        for pid in heavy_workers_of(one_slot.process.pid):
            os.kill(pid, signal.SIGKILL)
        lost = await asked
        assert lost.status_code == 503, lost.text
        assert "Het maken hiervan werd onderbroken. Probeer het zo opnieuw." in lost.text
        assert lost.headers["retry-after"] == "5"
        again = await lotte.get(f"/conferences/{cid}/export.zip")
    assert again.status_code == 200
    assert "plan-versie-1.pdf" in zipfile.ZipFile(io.BytesIO(again.content)).namelist()


async def test_a_zip_made_while_its_coordinator_was_removed_is_not_handed_to_them(
    one_slot: LiveServer,
) -> None:
    """A zip is handed only to whoever may export the conference when it is done, as a
    download from the export's page is: a co-coordinator removed from the conference while
    their export waited for a slot (or was made) does not get it."""
    holder = await _long_holder(one_slot)
    conference = await _with_versions(one_slot, 1)
    cid = conference.id
    cookie, account_id = await other_coordinator(conference, "removed")
    async with server_store(conference) as store:
        bram = await store.add_participant(cid, "Bram", "coordinator", account_id=account_id)
    mark = _log_mark(one_slot)
    async with as_(conference, cookie) as co_coordinator:
        co_coordinator.timeout = httpx.Timeout(60)
        async with _only_slot_taken(one_slot, holder):
            zipped = co_coordinator.get(f"/conferences/{cid}/export.zip")
            asked = await _waiting_for_the_slot(one_slot, cid, mark, zipped)
            async with server_store(conference) as store:
                await store.remove_participant(cid, bram.id)
        answer = await asked
    assert answer.status_code == 403, answer.status_code
    assert answer.headers["content-type"] != "application/zip"
    assert "Deze conferentie wordt door een andere coördinator begeleid." in answer.text


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
async def test_no_worker_process_outlives_the_server_however_it_stops(
    tmp_path: Path, how: signal.Signals
) -> None:
    """A server stopped while its worker process makes an export (SIGTERM, from an operator
    or a supervisor that signals only the server) or killed outright (SIGKILL, out of memory)
    leaves no process of the heavy work behind: one would wait for work forever, holding its
    memory, and every restart would add more."""
    live = start_server(make_instance(tmp_path, KRING_LOG_LEVEL="debug"))
    try:
        conference = await _with_versions(live, 1, agreements=3 * AGREEMENTS)
        mark = _log_mark(live)
        async with as_(conference, conference.coordinator_cookie()) as lotte:
            started = await lotte.post(f"/conferences/{conference.id}/export")
            assert started.headers["location"] == f"/conferences/{conference.id}/export"
        assert "heavy work started: export of conference" in _log_since(live, mark)
        children = descendants_of(live.process.pid)  # the fork server and resource tracker too
        assert heavy_workers_of(live.process.pid) != []
        live.process.send_signal(how)
        live.process.wait(timeout=30)
    finally:
        if live.process.poll() is None:
            live.process.kill()
            live.process.wait(timeout=10)
    with contextlib.suppress(TimeoutError):
        await wait_until(lambda: not any(running(pid) for pid in children), within=15)
    assert [pid for pid in children if running(pid)] == []
