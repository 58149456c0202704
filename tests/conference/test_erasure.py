"""Erasing a conference on a real `kring serve`: after "Conferentie wissen" nothing of it is
left in any table or column (the Yjs logs, snapshots and versions decoded, JSON read) nor in
the SQLite files themselves; its open documents are closed and its links stop working; another
conference in the same database carries on. Bad requests are refused and erase nothing. A
server with a retention period erases what closed longer ago by itself, the same way."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pycrdt import Text

from server.conference import auth, erasure
from server.rules.plan import add_agreement
from tests.support.live import EventStream, connected, wait_until
from tests.support.meeting import agree_in_store, closed_days_ago, run_to_action_team
from tests.support.people import (
    DemoConference,
    as_,
    demo_conference,
    ids_by_role,
    other_coordinator,
    server_store,
)
from tests.support.processes import descendants_of
from tests.support.server import LiveServer, make_instance, serving, start_server, stop_server
from tests.support.traces import database_traces, file_traces

pytestmark = pytest.mark.usefixtures("devices_closed")

COMPACT_AFTER = 20
ERASED = "Deze conferentie is gewist."


@pytest.fixture(scope="module")
def erasing_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server that folds the update log into snapshots after a few edits, so the typed
    words are in the log, in a snapshot and in the plan versions."""
    instance = make_instance(
        tmp_path_factory.mktemp("erase"), KRING_COMPACT_AFTER=str(COMPACT_AFTER)
    )
    with serving(instance) as server:
        yield server


# -- the story ---------------------------------------------------------------------------------


async def _make_unique(conference: DemoConference) -> tuple[str, str]:
    token = secrets.token_hex(6)
    client_name = f"Zoë Wispelbergh-{token}"
    question = f"Hoe vindt Zoë een eigen plek om te wonen (vraag {token[::-1]})?"
    async with server_store(conference) as store:
        await store.update_conference(conference.id, client_name=client_name, question=question)
    return client_name, question


async def _family_writes_and_keeps_versions(
    conference: DemoConference, client_name: str, question: str
) -> None:
    """The family types the name and the question into the live plan (log and snapshot),
    version 1 is agreed and a follow-up freezes version 2."""
    cid = conference.id
    ids = await run_to_action_team(conference)
    member = conference.device("plan", conference.cookie("network_member"), saved=True)
    async with as_(conference, conference.cookie("network_member")) as ayse, connected(member):
        add_agreement(member.doc, "housing", what=f"{client_name} kiest zelf een kamer")
        await member.wait_for(member.all_saved)
        for n in range(COMPACT_AFTER + 1):  # enough edits to fold the name into a snapshot
            member.doc.get("notes", type=Text).insert(0, f"{n} ")
            await member.wait_for(member.all_saved)
        folder = conference.server.instance.folder
        await wait_until(
            lambda: "doc_snapshot.data" in database_traces(folder / "kring.db", [client_name])
        )
        member.doc.get("notes", type=Text).insert(0, f"{question} ")  # in the log's tail
        await member.wait_for(member.all_saved)
        assert (await ayse.post(f"/c/{cid}/follow-ups")).status_code == 303
        came = {"participant": [str(ids["client"]), str(ids["network_member"])]}
        assert (await ayse.post(f"/c/{cid}/follow-ups/1/attendance", data=came)).status_code == 303
        assert (await ayse.post(f"/c/{cid}/follow-ups/1/close")).status_code == 303
    async with server_store(conference) as store:
        await store.set_rating(cid, ids["client"], 1, 9, 9)


async def test_an_erased_conference_leaves_no_trace_in_the_database_or_its_files(
    erasing_server: LiveServer,
) -> None:
    folder = erasing_server.instance.folder
    # (Each demo gets the demo coordinator a new password: the last one made logs in.)
    other = await demo_conference(erasing_server, "information")
    conference = await demo_conference(erasing_server, "information")
    cid = conference.id
    client_name, question = await _make_unique(conference)
    needles = [client_name, question]
    await _family_writes_and_keeps_versions(conference, client_name, question)

    # The other family writes too; afterwards it must all still be there.
    theirs = other.device("information", other.cookie("network_member"), saved=True)
    async with connected(theirs):
        theirs.text().insert(0, "Oma haalt Sam elke dag op.")
        await theirs.wait_for(theirs.all_saved)

    # The search can find what it looks for: everywhere the words were stored.
    before = database_traces(folder / "kring.db", needles)
    assert {
        "conference.client_name",
        "conference.question",
        "doc_snapshot.data",
        "doc_update.data",
        "plan_version.content",
        "plan_version.state",
    } <= before, before
    # SQLite copies the WAL into the main file now and then (every 1000 pages); do it now,
    # so the words are in kring.db itself, where deleting alone would leave them.
    with contextlib.closing(sqlite3.connect(folder / "kring.db")) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert "kring.db" in file_traces(folder, needles)

    # Open documents of the conference; one of the people reads Kring in English.
    ids = await ids_by_role(conference, "professional")
    async with server_store(conference) as store:
        await store.set_participant_language(ids["professional"], "en")
    client_cookie = conference.cookie("client")
    sam = conference.device("plan", client_cookie)
    iris = conference.device("information", conference.cookie("professional"))
    coordinator_cookie = conference.coordinator_cookie()
    async with connected(sam, iris), as_(conference, coordinator_cookie) as coordinator:
        page = await coordinator.get(f"/conferences/{cid}")
        assert "Conferentie wissen" in page.text
        assert "Typ ter bevestiging de naam van de cliënt" in page.text
        erased = await coordinator.post(
            f"/conferences/{cid}/erase", data={"confirm": f"  {client_name.upper()} "}
        )
        assert erased.status_code == 303
        assert erased.headers["location"] == "/conferences?notice=erased"
        listing = await coordinator.get(erased.headers["location"])
        assert "De conferentie is gewist, met al haar gegevens." in listing.text
        assert client_name not in listing.text and f"/conferences/{other.id}" in listing.text

        assert await sam.wait_closed() == (4001, ERASED)
        assert await iris.wait_closed() == (4001, "This conference has been erased.")

        gone = await coordinator.get(f"/conferences/{cid}")
        assert gone.status_code == 404 and "Deze conferentie bestaat niet (meer)." in gone.text

    # Nothing of it in any table or column, nor in the files.
    assert database_traces(folder / "kring.db", needles) == set()
    assert file_traces(folder, needles) == set()

    # Its links and sessions stop working, with the page that says so.
    link = conference.person("network_member")["invitation_url"]
    async with as_(conference, "") as device:
        unknown = await device.get(link)
        assert unknown.status_code == 404 and "Deze link kennen we niet" in unknown.text
    async with as_(conference, client_cookie) as device:
        signed_out = await device.get(f"/c/{cid}")
        assert signed_out.status_code == 401
        assert "Je bent niet (meer) aangemeld op dit apparaat" in signed_out.text
    again = conference.device("plan", client_cookie)
    await again.connect()
    try:
        code, _reason = await again.wait_closed()
    finally:
        await again.close()
    assert code == 4403 and again.messages == 0

    # The other conference is untouched and still loads.
    reader = other.device("information", other.cookie("client"))
    async with connected(reader):
        assert str(reader.text()) == "Oma haalt Sam elke dag op."
    async with as_(other, conference.coordinator_cookie()) as coordinator:
        assert (await coordinator.get(f"/conferences/{other.id}")).status_code == 200
    async with server_store(other) as store:
        assert len(await store.participants(other.id)) == 15
        erasures = [e for e in await store.audit_events(other.id) if e.kind == "conference_erased"]
        assert erasures == []  # the erasure's own record is not any conference's


async def test_a_missing_or_wrong_confirmation_or_another_coordinator_erases_nothing(
    erasing_server: LiveServer,
) -> None:
    conference = await demo_conference(erasing_server, "information")
    cid = conference.id
    folder = erasing_server.instance.folder
    client_name, question = await _make_unique(conference)
    family = conference.device("information", conference.cookie("network_member"), saved=True)
    stranger_cookie, _stranger = await other_coordinator(conference, "stranger")
    co_cookie, co_account = await other_coordinator(conference, "co")
    async with server_store(conference) as store:
        await store.add_participant(cid, "Bram Co", "coordinator", account_id=co_account)
    async with connected(family):
        family.text().insert(0, f"Over {client_name}: {question}")
        await family.wait_for(family.all_saved)
        before = database_traces(folder / "kring.db", [client_name, question])
        async with as_(conference, conference.coordinator_cookie()) as coordinator:
            for typed, says in (
                ("", "Typ de naam van de cliënt om te bevestigen"),
                ("   ", "Typ de naam van de cliënt om te bevestigen"),
                ("Sam Yılmaz", "Dat is niet de naam van de cliënt van deze conferentie."),
                (client_name[:-1], "Dat is niet de naam van de cliënt van deze conferentie."),
            ):
                refused = await coordinator.post(
                    f"/conferences/{cid}/erase", data={"confirm": typed}
                )
                assert refused.status_code == 400, typed
                assert says in refused.text and "Er is niets gewist." in refused.text
                assert 'aria-invalid="true"' in refused.text
            no_field = await coordinator.post(f"/conferences/{cid}/erase")
            assert no_field.status_code == 400
        async with as_(conference, stranger_cookie) as stranger:
            foreign = await stranger.post(
                f"/conferences/{cid}/erase", data={"confirm": client_name}
            )
            assert foreign.status_code == 403
            assert "Deze conferentie wordt door een andere coördinator begeleid." in foreign.text
        async with as_(conference, co_cookie) as co:
            page = await co.get(f"/conferences/{cid}")
            assert page.status_code == 200 and "Conferentie wissen" not in page.text
            refused = await co.post(f"/conferences/{cid}/erase", data={"confirm": client_name})
            assert refused.status_code == 403
            assert "Alleen de coördinator die deze conferentie begeleidt" in refused.text
        async with as_(conference, conference.cookie("client")) as sam:
            family_try = await sam.post(f"/conferences/{cid}/erase", data={"confirm": client_name})
            assert family_try.status_code == 303  # to the coordinators' login: nothing erased
            assert family_try.headers["location"].startswith("/login")
        # Nothing went: the rows, the words and the open document are all still there.
        assert database_traces(folder / "kring.db", [client_name, question]) == before
        family.text().insert(0, "Nog steeds hier. ")
        await family.wait_for(family.all_saved)
    async with server_store(conference) as store:
        assert await store.conference(cid) is not None
        assert len(await store.participants(cid)) == 16


@pytest.mark.parametrize(
    ("typed", "client", "confirms"),
    [
        ("sam yilmaz", "Sam Yılmaz", True),  # no dotless i on a Dutch keyboard
        ("SAM  YILMAZ ", "Sam Yılmaz", True),
        ("Zoe Wispelberg", "Zoë Wispelberg", True),
        ("Lukasz Zolkiewski", "Łukasz Żółkiewski", True),
        ("Zoe\u0308 Wispelberg", "Zoë Wispelberg", True),  # the accent typed as its own mark
        ("Sam Yilmaz", "Sam Yılmazer", False),
        ("Sam", "Sam Yılmaz", False),
        ("   ", "Sam Yılmaz", False),
        ("Ayse Yilmaz", "Sam Yılmaz", False),
    ],
)
def test_the_confirmation_is_the_clients_name_however_it_was_typed(
    typed: str, client: str, confirms: bool
) -> None:
    assert erasure.same_name(typed, client) is confirms


async def test_an_admin_may_erase_a_conference_they_do_not_run(
    erasing_server: LiveServer,
) -> None:
    conference = await demo_conference(erasing_server, "closed")
    async with server_store(conference) as store:
        await store.create_account(
            f"admin-{conference.id.lower()}@example.org",
            "Beheer",
            await auth.hash_password("admin long password"),
            role="admin",
        )
    async with httpx.AsyncClient(
        base_url=conference.server.url, headers={"origin": conference.server.url}
    ) as admin:
        login = await admin.post(
            "/login",
            data={
                "email": f"admin-{conference.id.lower()}@example.org",
                "password": "admin long password",
            },
        )
        assert login.status_code == 303
        page = await admin.get(f"/conferences/{conference.id}")
        assert "Conferentie wissen" in page.text
        cookie = f"kring_coordinator={admin.cookies['kring_coordinator']}"
        async with EventStream(conference, cookie) as console:
            erased = await admin.post(
                f"/conferences/{conference.id}/erase", data={"confirm": "sam yılmaz"}
            )
            assert erased.status_code == 303
            # The console's live channel of the conference ends too.
            await wait_until(lambda: console._task is not None and console._task.done())
    async with server_store(conference) as store:
        assert await store.conference(conference.id) is None


# -- the retention purge of a running server -----------------------------------------------------


def _erasure_audits(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    with contextlib.closing(sqlite3.connect(folder / "kring.db")) as db:
        rows = db.execute("SELECT actor, detail FROM audit_event WHERE kind = 'conference_erased'")
        return [(actor, json.loads(detail)) for actor, detail in rows]


async def test_the_server_purges_by_itself_and_closes_the_devices_of_what_it_erases(
    tmp_path: Path,
) -> None:
    # Retention of one month; the server's own runs every second instead of every hour.
    instance = make_instance(
        tmp_path,
        KRING_RETENTION_MONTHS="1",
        KRING_HOUSEKEEPING_SECONDS="1",
        KRING_LOG_LEVEL="info",
    )
    server = await asyncio.to_thread(start_server, instance)
    try:
        old = await demo_conference(server, "closed")
        recent = await demo_conference(server, "closed")
        # Devices join while both closed just now (their links work for 30 more days) ...
        sam = old.device("information", old.cookie("client"))
        iris = old.device("plan", old.cookie("professional"))
        noah = recent.device("information", recent.cookie("client"))
        async with connected(sam, iris, noah):
            # ... then one of them turns out to have closed longer ago than the retention.
            await closed_days_ago(old, 40)
            await closed_days_ago(recent, 20)
            assert await sam.wait_closed(within=15) == (4001, ERASED)
            assert (await iris.wait_closed(within=15))[0] == 4001
            # The run that erased the old one found the recent one not due.
            assert noah.close_code is None
            again = recent.device("plan", recent.cookie("network_member"))
            async with connected(again):
                assert again.close_code is None

        # Refused from the moment it is marked; its last step records the erasure.
        async with server_store(old) as store:
            assert await store.conference(old.id) is None
        await wait_until(lambda: _erasure_audits(instance.folder), within=15)
        async with server_store(recent) as store:
            assert await store.conference(recent.id) is not None
            assert len(await store.participants(recent.id)) == 15
            assert await store.being_erased() == []
        audits = _erasure_audits(instance.folder)
        assert [(actor, d["conference_id"]) for actor, d in audits] == [("retention", old.id)]
        # The room is gone with it: the old links and sessions open nothing any more.
        late = old.device("information", sam.cookie)
        await late.connect()
        try:
            code, _reason = await late.wait_closed()
        finally:
            await late.close()
        assert code == 4403 and late.messages == 0
    finally:
        await asyncio.to_thread(stop_server, server)
    log = (instance.folder / "server.log").read_text()
    assert f"conference {old.id} erased by retention" in log
    assert "Traceback" not in log and "ERROR" not in log, log
    assert "Sam Yılmaz" not in log  # ids in the log, never a name


@pytest.mark.parametrize(
    ("phase", "role", "copy"),
    [
        ("action_team", "coordinator", "/plan/1.pdf"),
        ("preparation", "client", "/compass/compass.pdf"),
    ],
)
async def test_a_copy_being_made_when_the_erasure_begins_is_not_handed_out(
    tmp_path_factory: pytest.TempPathFactory, phase: str, role: str, copy: str
) -> None:
    """One PDF copy is being made (its worker held up) and another waits for the only slot of
    heavy work when the coordinator erases the conference: neither is handed out, and neither
    ends in a server error; nothing is made for a conference that is gone."""
    instance = make_instance(
        tmp_path_factory.mktemp("erase-copy"), KRING_HEAVY_JOBS="1", KRING_LOG_LEVEL="info"
    )
    log = instance.folder / "server.log"
    with serving(instance) as server:
        conference = await demo_conference(server, phase)
        cid = conference.id
        async with server_store(conference) as store:
            if phase == "action_team":
                await agree_in_store(store, cid)
            found = await store.conference(cid)
            assert found is not None
            client_name = found.client_name
        cookie = (
            conference.coordinator_cookie() if role == "coordinator" else conference.cookie(role)
        )
        helpers = descendants_of(server.process.pid)  # the fork server the workers come from
        assert helpers
        async with (
            as_(conference, cookie) as reader,
            as_(conference, conference.coordinator_cookie()) as coordinator,
        ):
            try:
                for pid in helpers:
                    os.kill(pid, signal.SIGSTOP)
                # One takes the slot and is held up in its worker; the other waits for it.
                asked = [asyncio.create_task(reader.get(f"/c/{cid}{copy}")) for _ in range(2)]
                await wait_until(lambda: "waits for a slot" in log.read_text())
                erased = await coordinator.post(
                    f"/conferences/{cid}/erase", data={"confirm": client_name}
                )
                assert erased.status_code == 303
            finally:
                for pid in helpers:
                    os.kill(pid, signal.SIGCONT)
            answers = await asyncio.wait_for(asyncio.gather(*asked), 30)
    for answer in answers:
        assert answer.status_code in (401, 404), answer.status_code
        assert not answer.content.startswith(b"%PDF")
    assert "Traceback" not in log.read_text()
