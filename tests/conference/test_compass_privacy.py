"""The compass is the client's, on a real `kring serve`: a word typed into it reaches exactly
the people the permission table names, phase by phase, on every channel (the live document,
its pages, the client's downloads, the HTTP API, the console's stream, the coordinator's
pages, the export zip, the plan's copies), and nobody else. Erasure, the retention purge and
removing a participant keep their promises for it too."""

from __future__ import annotations

import asyncio
import io
import secrets
import sqlite3
import zipfile
from collections.abc import Iterator
from contextlib import closing
from functools import cache

import httpx
import pytest
from pycrdt import Map
from pypdf import PdfReader
from starlette.routing import Route

from server.rooms.client import YClient
from server.rules.compass import add_question, read_compass, write_text
from server.rules.networkmap import add_entry, read_map
from server.views.routes import routes
from tests.support.live import EventStream, connected, wait_until
from tests.support.meeting import agree_in_store, closed_days_ago, move
from tests.support.people import DemoConference, as_, demo_conference, ids_by_role, server_store
from tests.support.server import LiveServer, make_instance, serving
from tests.support.traces import database_traces, file_traces

COMPACT_AFTER = 10
ERASED = "Deze conferentie is gewist."

PHASES = ("preparation", "information", "private_time", "presentation", "action_team", "closed")
ROLES = (
    "coordinator",
    "professional",
    "mandated_professional",
    "network_member",  # not a supporter
    "supporter",  # a network member the client chose
    "client",
)
# Who gets the compass, as the issue asks, cell by cell (w: writes, r: reads; missing: nothing).
# Written out here rather than asked of rules/phases.py, so that the table itself is tested.
AFTER = {"client": "r", "supporter": "r"}
COMPASS: dict[str, dict[str, str]] = {
    "preparation": {"client": "w", "supporter": "w", "coordinator": "r"},
    **dict.fromkeys(PHASES[1:], AFTER),
}
FIRST = ("preparation", "client")  # whose PDF is read back to the letter
# The compass's own pages (helpers compass and netmap): open to whoever reads it, else 403.
PAGES = ("compass", "compass/map")
# Every page besides those that someone of each kind reaches, and the JSON API's reads (the
# event stream is read as a stream, below).
COORDINATOR_PAGES = ("/conferences/{id}", "/conferences/{id}/console", "/conferences/{id}/audit")
PARTICIPANT_PAGES = ("/c/{id}", "/c/{id}/plan", "/c/{id}/present")
API_READS = tuple(
    route.path.replace("{conference_id}", "{id}")
    for route in routes
    if isinstance(route, Route)
    and route.path.startswith("/api/")
    and "GET" in (route.methods or ())
    and not route.path.endswith("/events")
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module: it folds the update log into snapshots after a few edits,
    and purges conferences closed longer than a month ago, checking every second."""
    instance = make_instance(
        tmp_path_factory.mktemp("compass"),
        KRING_COMPACT_AFTER=str(COMPACT_AFTER),
        KRING_RETENTION_MONTHS="1",
        KRING_HOUSEKEEPING_SECONDS="1",
        KRING_LOG_LEVEL="info",
    )
    with serving(instance) as live:
        yield live


async def _with_supporter(server: LiveServer) -> tuple[DemoConference, dict[str, str]]:
    """A conference in preparation whose client chose the second network member as their
    supporter; a signed-in device (cookie) for each role."""
    conference = await demo_conference(server, "preparation")
    cookies = {role: conference.cookie(role) for role in ROLES[1:] if role != "supporter"}
    cookies["coordinator"] = conference.coordinator_cookie()
    cookies["supporter"] = conference.cookie("network_member", 1)
    async with server_store(conference) as store:
        rows = await store.participants(conference.id)
    mehmet = [r.participant.id for r in rows if r.participant.role == "network_member"][1]
    async with as_(conference, cookies["client"]) as client:  # on the client's own page
        chosen = await client.post(f"/c/{conference.id}/supporters", data={"supporter": mehmet})
        assert chosen.status_code == 303, chosen.text
    return conference, cookies


async def _fill_in(device: YClient, word: str) -> None:
    """The client writes ``word`` into every part of the compass that stays private: an
    answer, a strength, a question kept from the conference, a person on the map."""
    write_text(device.doc, "answers", "if_nothing", f"Dan gaat het mis, zegt {word}.")
    write_text(device.doc, "strengths", "housing", f"Ik kook elke dag met {word}.")
    add_question(device.doc, f"Mag {word} erbij zijn?")
    add_entry(device.doc, "tante", f"Tante {word}", ring=1, angle=40, flow="both")
    await device.wait_for(device.all_saved)


def _holds(state: bytes, word: str) -> dict[str, bool]:
    compass = read_compass(state)
    return {
        "answers": word in compass["answers"]["if_nothing"],
        "strengths": word in compass["strengths"].get("housing", ""),
        "questions": any(word in q["text"] for q in compass["questions"]),
        "map": any(word in e.name for e in read_map(state)),
    }


@cache  # the same copy of the plan comes back, byte for byte, for everyone and in the export
def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _everything_in(archive: bytes) -> str:
    """Every file of a zip as text: JSON and README as they are, each PDF as its text."""
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return "\n".join(
            _pdf_text(opened.read(name))
            if name.endswith(".pdf")
            else opened.read(name).decode("utf-8")
            for name in opened.namelist()
        )


async def _live_document(
    conference: DemoConference, cookie: str, cell: str, word: str, role: str
) -> None:
    device = conference.device("compass", cookie, saved=True)
    if not cell:
        await device.connect()
        try:
            code, _reason = await device.wait_closed()
        finally:
            await device.close()
        assert (code, device.messages) == (4403, 0), role  # refused before a sync byte
        return
    async with connected(device):
        assert all(_holds(device.doc.get_update(), word).values()), role
        if cell == "w":  # each writer adds a strength of their own
            area = "activity" if role == "supporter" else "leisure"
            write_text(device.doc, "strengths", area, f"Geschreven door {role}.")
            await device.wait_for(device.all_saved)


async def _downloads(
    http: httpx.AsyncClient, cid: str, cell: str, word: str, role: str, *, on_paper: bool
) -> None:
    """The client's downloads: everything of the compass for a reader, a 403 page without a
    word of it for anyone else. The PDF is read back (slow) once: its words come from the
    same reading of the document as the JSON's."""
    as_json = await http.get(f"/c/{cid}/compass/compass.json")
    as_pdf = await http.get(f"/c/{cid}/compass/compass.pdf")
    if not cell:
        for refused in (as_json, as_pdf):
            assert refused.status_code == 403, (role, refused.text)
            assert word not in refused.text
        return
    assert as_json.status_code == as_pdf.status_code == 200, role
    assert "no-store" in as_pdf.headers["cache-control"]
    data = as_json.json()
    assert word in data["answers"]["if_nothing"] and word in data["strengths"]["housing"]
    assert [q["text"] for q in data["questions"]] == [f"Mag {word} erbij zijn?"]
    assert data["map"][0]["name"] == f"Tante {word}" and data["map"][0]["flow"] == "both"
    assert as_pdf.headers["content-type"] == "application/pdf"
    if on_paper:
        printed = " ".join(_pdf_text(as_pdf.content).split())
        # answer, strength, question, the map's drawing and its list: all on paper
        assert printed.count(word) == 5, (role, printed)


async def _pages(http: httpx.AsyncClient, cid: str, cell: str, word: str, role: str) -> None:
    for page in PAGES:
        response = await http.get(f"/c/{cid}/{page}")
        assert response.status_code == (200 if cell else 403), (role, page, response.text)
        if not cell:
            assert word not in response.text
    others = COORDINATOR_PAGES if role == "coordinator" else PARTICIPANT_PAGES
    for path in (*others, *API_READS):
        response = await http.get(path.format(id=cid))
        assert response.status_code < 500, (role, path)
        assert cell or word not in response.text, (role, path)


async def _copies(http: httpx.AsyncClient, cid: str, phase: str, word: str, role: str) -> None:
    """The plan's copies (version 1, frozen at the presentation) and, for the coordinator, the
    export of everything."""
    if phase == "presentation":  # frozen now, and never changed afterwards
        page = await http.get(f"/c/{cid}/plan/1")
        pdf = await http.get(f"/c/{cid}/plan/1.pdf")
        assert page.status_code == pdf.status_code == 200, role
        assert word not in page.text and word not in _pdf_text(pdf.content)
    export = await http.get(f"/conferences/{cid}/export.zip")
    if role != "coordinator":
        assert export.status_code in (303, 403), role  # to the login, or not theirs
    elif phase in ("presentation", "action_team", "closed"):
        assert export.status_code == 200
        everything = _everything_in(export.content)
        assert "kring-conference-export" in everything and word not in everything
        assert "Not in this export: the network compass" in everything
    else:
        assert export.status_code == 409


async def test_the_compass_reaches_exactly_whom_the_table_names_on_every_channel(
    server: LiveServer,
) -> None:
    conference, cookies = await _with_supporter(server)
    cid, word = conference.id, f"Zx{secrets.token_hex(4)}"
    client = conference.device("compass", cookies["client"], saved=True)
    async with connected(client):
        await _fill_in(client, word)
    ids = await ids_by_role(conference, "client")
    for phase in PHASES:
        if phase == "information":
            assert (await move(conference, "information")).status_code == 200
        elif phase == "private_time":
            assert (await move(conference, "private_time")).status_code == 200
        elif phase == "presentation":
            ending = await move(conference, "presentation", reason="Tijd is op")
            assert ending.status_code == 200
            async with as_(conference, cookies["client"]) as sam:
                agreed = await sam.post(f"/c/{cid}/answer", data={"answer": "agree"})
                assert agreed.status_code == 303
            async with as_(conference, cookies["coordinator"]) as coordinator:
                team = {"participant": [str(ids["client"])]}
                chosen = await coordinator.post(f"/conferences/{cid}/action-team", data=team)
                assert chosen.status_code == 303
                frozen = await coordinator.post(f"/conferences/{cid}/finalise")
                assert frozen.status_code == 303, frozen.text
        elif phase != "preparation":
            assert (await move(conference, phase)).status_code == 200

        async def everything(role: str, phase: str = phase) -> None:
            cell = COMPASS[phase].get(role, "")
            await _live_document(conference, cookies[role], cell, word, role)
            async with as_(conference, cookies[role]) as http:
                await _downloads(http, cid, cell, word, role, on_paper=(phase, role) == FIRST)
                await _pages(http, cid, cell, word, role)
                await _copies(http, cid, phase, word, role)

        # everyone at once, each on their own device, as in a real room
        await asyncio.gather(*(everything(role) for role in ROLES))
        async with EventStream(conference, cookies["coordinator"]) as console:
            assert console.events and word not in console.raw

    # What the supporters wrote in the preparation stayed; the audit log says who downloaded
    # the compass and how, never what it holds.
    reader = conference.device("compass", cookies["client"])
    async with connected(reader):
        strengths = read_compass(reader.doc.get_update())["strengths"]
        assert strengths["activity"] == "Geschreven door supporter."
        assert strengths["leisure"] == "Geschreven door client."
    async with as_(conference, cookies["coordinator"]) as coordinator:
        log = (await coordinator.get(f"/conferences/{cid}/audit")).text
    assert "downloadde het netwerkkompas als pdf." in log
    assert "downloadde het netwerkkompas als gegevensbestand (json)." in log
    assert word not in log


def _compass_rows(server: LiveServer, cid: str) -> int:
    with closing(sqlite3.connect(server.instance.folder / "kring.db")) as db:
        return sum(
            db.execute(
                f"SELECT count(*) FROM {table} WHERE conference_id = ? AND document = 'compass'",
                (cid,),
            ).fetchone()[0]
            for table in ("doc_update", "doc_snapshot")
        )


async def _refused_for_good(conference: DemoConference, cookie: str) -> None:
    """The conference's compass is served to nobody any more: not a byte of it."""
    late = conference.device("compass", cookie)
    await late.connect()
    try:
        code, _reason = await late.wait_closed()
    finally:
        await late.close()
    assert (code, late.messages) == (4403, 0)


async def test_removal_erasure_and_retention_cover_the_compass(server: LiveServer) -> None:
    folder = server.instance.folder
    conference, cookies = await _with_supporter(server)
    cid, word = conference.id, f"Zx{secrets.token_hex(4)}"
    async with server_store(conference) as store:
        supporter_id = next(
            r.participant.id for r in await store.participants(cid) if r.participant.supporter
        )
    client = conference.device("compass", cookies["client"], saved=True)
    supporter = conference.device("compass", cookies["supporter"], saved=True)
    async with connected(client, supporter):
        await _fill_in(client, word)
        for n in range(COMPACT_AFTER + 1):  # enough edits to fold the words into a snapshot
            client.doc.get("priorities", type=Map)["housing"] = n % 2 == 0
            await client.wait_for(client.all_saved)
        write_text(supporter.doc, "strengths", "activity", "Mehmet helpt met huiswerk.")
        await supporter.wait_for(supporter.all_saved)
        await wait_until(
            lambda: "doc_snapshot.data" in database_traces(folder / "kring.db", [word])
        )

        # Removing the supporter ends their access at once, and removes nothing of the compass.
        async with as_(conference, cookies["coordinator"]) as coordinator:
            removed = await coordinator.post(
                f"/conferences/{cid}/participants/{supporter_id}/remove"
            )
            assert removed.status_code == 200
        assert (await supporter.wait_closed())[0] == 4001
        assert client.close_code is None
        async with as_(conference, cookies["supporter"]) as gone:
            assert (await gone.get(f"/c/{cid}/compass/compass.json")).status_code == 401
        again = conference.device("compass", cookies["client"])
        async with connected(again):
            state = again.doc.get_update()
            assert all(_holds(state, word).values())
            assert read_compass(state)["strengths"]["activity"] == "Mehmet helpt met huiswerk."

        # "Conferentie wissen": the open compass closes, and nothing of it stays.
        assert _compass_rows(server, cid) > 0
        async with as_(conference, cookies["coordinator"]) as coordinator:
            erased = await coordinator.post(
                f"/conferences/{cid}/erase", data={"confirm": "Sam Yılmaz"}
            )
            assert erased.status_code == 303
        assert await client.wait_closed() == (4001, ERASED)
    assert _compass_rows(server, cid) == 0
    assert database_traces(folder / "kring.db", [word]) == set()
    assert file_traces(folder, [word]) == set()
    await _refused_for_good(conference, cookies["client"])
    assert f"conference {cid} erased by coordinator" in (folder / "server.log").read_text()

    # The retention purge: a compass written in the preparation, read in the closed phase by
    # the client, goes with its conference once that closed more than a month ago.
    old, old_cookies = await _with_supporter(server)
    old_word = f"Zx{secrets.token_hex(4)}"
    writer = old.device("compass", old_cookies["client"], saved=True)
    async with connected(writer):
        await _fill_in(writer, old_word)
    async with server_store(old) as store:
        await store.set_phase(old.id, "information")
        await store.set_phase(old.id, "private_time")
        await agree_in_store(store, old.id)
        await store.set_phase(old.id, "closed")
    reading = old.device("compass", old_cookies["client"])
    async with connected(reading):
        assert all(_holds(reading.doc.get_update(), old_word).values())
        assert _compass_rows(server, old.id) > 0
        await closed_days_ago(old, 40)
        assert await reading.wait_closed(within=15) == (4001, ERASED)
    # (its devices are closed first, then its rows go: the log says when it is done)
    purged = f"conference {old.id} erased by retention"
    await wait_until(lambda: purged in (folder / "server.log").read_text())
    assert _compass_rows(server, old.id) == 0
    assert database_traces(folder / "kring.db", [old_word]) == set()
    await _refused_for_good(old, old_cookies["client"])
    log = (folder / "server.log").read_text()
    assert "Traceback" not in log and word not in log and old_word not in log
