"""Live rooms over a real `kring serve`: sync, permissions, presence, bad input, slow devices."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pycrdt import Doc, Map, Text, merge_updates

from server.conference import access
from server.rooms import protocol
from server.rooms.client import YClient
from server.rules.networkmap import add_entry, read_map, remove_entry
from server.storage.documents import DocumentLog
from tests.support.live import asleep, connected, wait_until, write_heaps
from tests.support.people import DemoConference, demo_conference, server_store
from tests.support.server import LiveServer, make_instance, server_side_state, serving

SEND_QUEUE_BYTES = 1_000_000


@pytest.fixture(scope="module")
def rooms_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server that unloads idle documents after a second and keeps short send queues."""
    instance = make_instance(
        tmp_path_factory.mktemp("rooms"),
        KRING_ROOM_IDLE_SECONDS="1",
        KRING_SEND_QUEUE_BYTES=str(SEND_QUEUE_BYTES),
        KRING_LOG_LEVEL="info",
    )
    with serving(instance) as server:
        yield server


@pytest.fixture
async def conference(rooms_server: LiveServer) -> DemoConference:
    return await demo_conference(rooms_server, "information")


def stored_rows(server: LiveServer, conference_id: str, document: str) -> list[bytes]:
    """Every stored byte of a document: its snapshot and its logged updates."""
    with sqlite3.connect(server.instance.folder / "kring.db") as db:
        rows = db.execute(
            "SELECT data FROM doc_snapshot WHERE conference_id = ? AND document = ?",
            (conference_id, document),
        ).fetchall()
    return [bytes(row[0]) for row in rows] + stored_updates(server, conference_id, document)


async def conference_state(conference: DemoConference, document: str) -> bytes:
    """The document as a server loading it from the database would have it."""
    async with server_store(conference) as store:
        return await DocumentLog(store.engine).state(conference.id, document)


def stored_updates(server: LiveServer, conference_id: str, document: str) -> list[bytes]:
    with sqlite3.connect(server.instance.folder / "kring.db") as db:
        rows = db.execute(
            "SELECT data FROM doc_update WHERE conference_id = ? AND document = ? ORDER BY id",
            (conference_id, document),
        ).fetchall()
    return [bytes(row[0]) for row in rows]


# -- editing together -----------------------------------------------------------------------


async def test_two_family_members_see_each_others_words(conference: DemoConference) -> None:
    ayse = conference.device("information", conference.cookie("network_member"), saved=True)
    sam = conference.device("information", conference.cookie("client"))
    async with connected(ayse, sam):
        ayse.text().insert(0, "Oma haalt Sam op. ")
        sam.text().insert(0, "Ik wil voetballen. ")
        for device in (ayse, sam):
            await device.wait_for(
                lambda d=device: "Oma" in str(d.text()) and "voetballen" in str(d.text())
            )
        assert str(ayse.text()) == str(sam.text())
        # The server says how far it has stored Ayşe's edits; only she asked for that.
        await ayse.wait_for(lambda: ayse.all_saved())
        assert sam.saved_vectors == []


async def test_nobody_sees_an_edit_before_it_is_on_disk(conference: DemoConference) -> None:
    writer = conference.device("information", conference.cookie("client"))
    watcher = conference.device("information", conference.cookie("network_member"))
    seen_on_disk: list[bool] = []

    def check_disk(update: bytes) -> None:
        # Runs the moment the watcher's device receives an edit: it must already be stored.
        seen_on_disk.append(
            update in stored_updates(conference.server, conference.id, "information")
        )

    watcher.on_update = check_disk
    async with connected(writer, watcher):
        before = len(watcher.received)
        for i in range(15):
            writer.text().insert(len(writer.text()), f"regel {i}. ")
        await watcher.wait_for(lambda: "regel 14." in str(watcher.text()))
    assert len(seen_on_disk) >= 1 and len(watcher.received) > before
    assert all(seen_on_disk)


async def test_a_reader_gets_the_plan_but_cannot_change_it(conference: DemoConference) -> None:
    # In the information phase the family may read the plan, not write it.
    reader = conference.device("plan", conference.cookie("client"))
    other = conference.device("plan", conference.cookie("network_member"))
    async with connected(reader, other):
        reader.text().insert(0, "Dit mag nog niet.")
        await reader.wait_for(lambda: reader.denied != [])
        assert "alleen lezen" in reader.denied[0]
        await asyncio.sleep(0)  # nothing to wait for: the update was dropped, never relayed
    assert stored_updates(conference.server, conference.id, "plan") == []
    assert str(other.text()) == ""


async def test_a_reader_reconnecting_with_deletions_in_its_copy_is_not_scolded(
    rooms_server: LiveServer,
) -> None:
    conference = await demo_conference(rooms_server, "presentation")
    family = conference.device("plan", conference.cookie("client"), saved=True)
    reader = conference.device("plan", conference.cookie("professional"))
    async with connected(family, reader):
        family.text().insert(0, "Oma haalt Sam op.")
        family.text().insert(0, "x")
        del family.text()[0:1]  # the document now has a deletion
        await family.wait_for(family.all_saved)
        await reader.wait_for(lambda: str(reader.text()) == "Oma haalt Sam op.")
        await reader.close()
        # Its copy's sync step 2 carries the delete set; that is no edit to refuse.
        await reader.connect()
        await reader.synced()
        await family.flush()
        family.text().insert(len(family.text()), "!")
        await reader.wait_for(lambda: str(reader.text()).endswith("!"))
        assert reader.denied == []


@contextlib.asynccontextmanager
async def _a_family_and_a_reader(
    server: LiveServer,
) -> AsyncIterator[tuple[DemoConference, YClient, YClient]]:
    """The presentation: the client has written "Oma haalt Sam op." into the plan, which a
    professional reads; both ask for "saved"."""
    conference = await demo_conference(server, "presentation")
    family = conference.device("plan", conference.cookie("client"), saved=True)
    reader = conference.device("plan", conference.cookie("professional"), saved=True)
    async with connected(family, reader):
        family.text().insert(0, "Oma haalt Sam op.")
        await family.wait_for(family.all_saved)
        await reader.wait_for(lambda: str(reader.text()) == "Oma haalt Sam op.")
        yield conference, family, reader


async def test_a_reader_who_deletes_is_told_they_may_only_read(
    rooms_server: LiveServer,
) -> None:
    # Removing text (or an agreement) adds nothing to the document, only a deletion: the
    # server drops it like any reader's edit and says so, never "saved" alone.
    async with _a_family_and_a_reader(rooms_server) as (conference, family, reader):
        stored = stored_updates(conference.server, conference.id, "plan")
        del reader.text()[0:4]
        await reader.wait_for(lambda: reader.denied != [])
        assert "alleen lezen" in reader.denied[0]
        # Anything sent to the family before the notice comes before this edit's "saved".
        family.text().insert(len(family.text()), "!")
        await family.wait_for(family.all_saved)
        assert str(family.text()) == "Oma haalt Sam op.!"
    stored_now = stored_updates(conference.server, conference.id, "plan")
    assert len(stored_now) == len(stored) + 1  # the family's "!", nothing of the reader's


async def test_a_reader_whose_copy_waits_on_a_deletion_is_not_scolded_when_it_reconnects(
    rooms_server: LiveServer,
) -> None:
    # A writer's update deleted text the server never had; a browser keeps such a deletion
    # (Yjs's pending delete set) and sends it in every handshake. Nothing of it changes the
    # document, so the reader's reconnect is no edit to refuse (the refusal reloads its page).
    elsewhere = Doc()
    elsewhere["text"] = typed = Text()
    typed.insert(0, "nooit verstuurd")
    before = elsewhere.get_state()
    del typed[0:6]
    waiting = elsewhere.get_update(before)  # a deletion of structs nobody has sent
    async with _a_family_and_a_reader(rooms_server) as (_conference, family, reader):
        await family.send(protocol.Update(waiting))
        await family.wait_for(family.all_saved)
        await reader.close()
        await reader.connect()
        await reader.synced()
        await reader.send(protocol.SyncStep2(merge_updates(reader.doc.get_update(), waiting)))
        await reader.wait_for(reader.all_saved)  # the handshake is dealt with
        assert reader.denied == []
        del reader.text()[0:4]  # while a deletion of its own is still refused
        await reader.wait_for(lambda: reader.denied != [])


async def test_a_reader_flooding_deletions_holds_up_no_one(rooms_server: LiveServer) -> None:
    # A reader's update is checked for deletions it would make. One of 100,000 deletions of
    # text already deleted, or of text it may not delete, must cost milliseconds, not the
    # seconds a range-by-range check took (every room of the process waited meanwhile).
    conference = await demo_conference(rooms_server, "presentation")
    elsewhere = await demo_conference(rooms_server, "information")
    family = conference.device("plan", conference.cookie("client"), saved=True)
    reader = conference.device("plan", conference.cookie("professional"), saved=True)
    bystander = elsewhere.device("information", elsewhere.cookie("client"), saved=True)
    async with connected(family, reader, bystander):
        text = family.text()
        with family.doc.transaction():
            text.insert(0, "ab" * 1000)
        with family.doc.transaction():
            for at in range(1999, 0, -2):
                del text[at]  # 1,000 deleted ranges: every "b"
        await family.wait_for(family.all_saved)
        await reader.wait_for(lambda: str(reader.text()) == "a" * 1000)
        author = protocol.write_var_uint(family.doc.client_id)

        def deletions(ranges: list[tuple[int, int]]) -> bytes:
            pairs = b"".join(
                protocol.write_var_uint(c) + protocol.write_var_uint(n) for c, n in ranges
            )
            return b"\x00\x01" + author + protocol.write_var_uint(len(ranges)) + pairs

        await reader.send(protocol.Update(deletions([(1999, 1)] * 100_000)))  # deleted already
        await reader.send(protocol.Update(deletions([(0, 1)] * 100_000)))  # an "a" it may not
        await reader.wait_for(reader.all_saved)  # both dealt with: dropped, stored nowhere
        bystander.text().insert(0, "hallo")
        await bystander.wait_for(bystander.all_saved)
        family.text().insert(len(family.text()), "!")
        await family.wait_for(family.all_saved)
        assert str(family.text()) == "a" * 1000 + "!"


async def test_someone_taken_off_the_network_map_is_not_kept_in_the_stored_compass(
    rooms_server: LiveServer,
) -> None:
    conference = await demo_conference(rooms_server, "preparation")
    client = conference.device("compass", conference.cookie("client"), saved=True)
    async with connected(client):
        add_entry(client.doc, "e1", "Geheime Oom", ring=1)
        add_entry(client.doc, "e2", "Tante Jo", ring=2)
        await client.wait_for(client.all_saved)
        client.doc.get("map", type=Map)["e1"]["name"] = "Geheime Oom Kees"  # typed on
        await client.wait_for(client.all_saved)
        assert remove_entry(client.doc, "e1")
        await client.wait_for(client.all_saved)

        def stored() -> bytes:
            return b"".join(stored_rows(conference.server, conference.id, "compass"))

        # The removal folds the log at once (not after KRING_COMPACT_AFTER updates): the
        # snapshot is the collected document, the updates that held the name are deleted.
        await wait_until(lambda: b"Geheime" not in stored(), within=5)
        assert b"Tante Jo" in stored()
    state = await conference_state(conference, "compass")
    assert [e.name for e in read_map(state)] == ["Tante Jo"] and b"Geheime" not in state


async def test_opening_and_writing_a_document_leaves_one_access_row_each_naming_the_person(
    conference: DemoConference,
) -> None:
    """The access report (NEN 7513) without a row per edit: a tablet that opens the
    information three times (a flaky connection) and types forty edits is one "opened to
    write" and one "wrote in", each counted three times (once per connection), by name."""
    cookie = conference.cookie("client")
    for round_ in range(3):
        device = conference.device("information", cookie, saved=True)
        async with connected(device):
            for i in range(40 if round_ == 0 else 1):
                device.text().insert(len(device.text()), f"{round_}.{i} ")
            await device.wait_for(device.all_saved)

    async def rows() -> list[access.Row]:
        async with server_store(conference) as store:
            found = await store.conference(conference.id)
            assert found is not None
            return (await access.report(store, found)).only(subject="information")

    deadline = asyncio.get_running_loop().time() + 10
    while sum(r.count for r in await rows() if r.access.how == "schreef in") < 3:
        assert asyncio.get_running_loop().time() < deadline, "the writes were not audited"
        await asyncio.sleep(0.05)
    client = conference.person("client")["name"]
    # Newest first: the last connection opened it, then wrote in it.
    assert [(r.who, r.access.how, r.access.what, r.count) for r in await rows()] == [
        (client, "schreef in", "De informatie", 3),
        (client, "opende om te schrijven", "De informatie", 3),
    ]


async def test_a_removed_person_is_disconnected_at_once(conference: DemoConference) -> None:
    ayse = conference.device("information", conference.cookie("network_member"))
    async with connected(ayse):
        with sqlite3.connect(conference.server.instance.folder / "kring.db") as db:
            (person_id,) = db.execute(
                "SELECT id FROM participant WHERE conference_id = ? AND name = ?",
                (conference.id, conference.person("network_member")["name"]),
            ).fetchone()
        headers = {"origin": conference.server.url, "cookie": conference.coordinator_cookie()}
        async with httpx.AsyncClient(base_url=conference.server.url, headers=headers) as browser:
            path = f"/conferences/{conference.id}/participants/{person_id}/remove"
            assert (await browser.post(path)).status_code in (200, 303)
        assert await ayse.wait_closed() == (4001, "Je staat niet meer op de lijst.")


# -- who may connect ------------------------------------------------------------------------


async def refused(device: YClient) -> tuple[int, str]:
    await device.connect()
    try:
        code, reason = await device.wait_closed()
    finally:
        await device.close()
    assert device.messages == 0, "a refused device must not get a single sync message"
    return code, reason


async def test_a_device_without_a_session_is_refused_with_a_reason(
    conference: DemoConference,
) -> None:
    assert await refused(conference.device("information", "")) == (
        4403,
        "Je bent niet aangemeld. Open je persoonlijke link opnieuw.",
    )


async def test_a_link_of_another_conference_opens_nothing_here(
    rooms_server: LiveServer, conference: DemoConference
) -> None:
    other = await demo_conference(rooms_server, "information")
    code, reason = await refused(conference.device("information", other.cookie("client")))
    assert (code, reason) == (4403, "Deze link hoort bij een andere conferentie.")


async def test_in_private_time_the_coordinator_and_professionals_get_no_document(
    rooms_server: LiveServer,
) -> None:
    conference = await demo_conference(rooms_server, "private_time")
    coordinator = conference.coordinator_cookie()
    professional = conference.cookie("professional")
    for document in ("plan", "information", "compass"):
        for cookie in (coordinator, professional):
            code, reason = await refused(conference.device(document, cookie))
            assert code == 4403
            assert reason.startswith("Tijdens de privétijd is")
    family = conference.device("plan", conference.cookie("client"), saved=True)
    async with connected(family):
        family.text().insert(0, "ons plan")  # the family writes the plan meanwhile
        await family.wait_for(lambda: family.all_saved())


async def test_an_unknown_document_is_refused(conference: DemoConference) -> None:
    code, reason = await refused(conference.device("diary", conference.cookie("client")))
    assert (code, reason) == (4403, "Dit document bestaat niet.")


async def test_a_page_of_another_website_cannot_open_a_room(conference: DemoConference) -> None:
    device = YClient(
        conference.ws("information"),
        cookie=conference.cookie("client"),
        origin="https://evil.example",
    )
    assert await refused(device) == (4403, "Deze verbinding komt van een andere website.")


async def test_the_coordinator_follows_the_information_phase(conference: DemoConference) -> None:
    coordinator = conference.device("information", conference.coordinator_cookie())
    family = conference.device("information", conference.cookie("client"))
    async with connected(coordinator, family):
        coordinator.text().insert(0, "Welkom allemaal. ")
        await family.wait_for(lambda: "Welkom" in str(family.text()))


# -- bad input ------------------------------------------------------------------------------

TOO_BIG = 2 * 1024 * 1024 + 1
STATE_AT_LAST_CLOCK = protocol.AwarenessState(77, protocol.MAX_VAR_UINT, '{"user":{"name":"A"}}')
DEEP_STATE = protocol.AwarenessState(77, 1, "[" * 3000 + "]" * 3000)

BAD_MESSAGES = [
    pytest.param(b"\xff\xff\xff", 1002, "truncated", id="garbage"),
    pytest.param(b"\x00\x02\x85", 1002, "truncated", id="truncated-varint"),
    pytest.param(b"\x07", 1003, "unknown message type", id="unknown-type"),
    pytest.param("hallo", 1003, "text messages", id="text-frame"),
    pytest.param(
        protocol.encode(protocol.Update(b"\x05garbage")), 1007, "not a Yjs update", id="not-yjs"
    ),
    pytest.param(
        protocol.encode(protocol.Awareness(b"\x01\x01\x01\x03{x}")),
        1007,
        "not JSON",
        id="awareness-not-json",
    ),
    pytest.param(
        protocol.encode(protocol.Awareness(protocol.encode_awareness([STATE_AT_LAST_CLOCK]))),
        1007,
        "clock out of range",
        id="awareness-last-clock",  # withdrawing it would need a clock no client can read
    ),
    pytest.param(
        protocol.encode(protocol.Awareness(protocol.encode_awareness([DEEP_STATE]))),
        1007,
        "nested too deeply",
        id="awareness-deep",
    ),
    pytest.param(b"\x00" * TOO_BIG, 1009, "larger than", id="oversized"),
]


@pytest.mark.parametrize(("message", "code", "reason"), BAD_MESSAGES)
async def test_bad_input_closes_only_that_connection(
    conference: DemoConference, message: bytes | str, code: int, reason: str
) -> None:
    good = conference.device("information", conference.cookie("client"), saved=True)
    bad = conference.device("information", conference.cookie("network_member"))
    async with connected(good, bad):
        good.text().insert(0, "Wat er al stond. ")
        await bad.wait_for(lambda: "Wat er al stond" in str(bad.text()))
        await bad.send_raw(message)
        closed = await bad.wait_closed()
        assert closed[0] == code and reason in closed[1]
        # The room and everyone else carry on, the document unchanged.
        good.text().insert(len(good.text()), "En daarna.")
        late = conference.device("information", conference.cookie("professional"))
        async with connected(late):
            await late.wait_for(lambda: str(late.text()) == str(good.text()))
            assert str(late.text()) == "Wat er al stond. En daarna."


async def test_a_flood_of_messages_closes_that_connection(conference: DemoConference) -> None:
    calm = conference.device("information", conference.cookie("client"))
    flood = conference.device("information", conference.cookie("network_member"))
    async with connected(calm, flood):
        for clock in range(1, 400):
            await flood.set_presence('{"user":"Ayşe"}', clock)
            if flood.close_code is not None:
                break
        assert await flood.wait_closed() == (1008, "too many messages: slow down")
        calm.text().insert(0, "Nog steeds hier.")
        late = conference.device("information", conference.cookie("professional"))
        async with connected(late):
            await late.wait_for(lambda: str(late.text()) == "Nog steeds hier.")


async def test_presence_for_many_clients_from_one_device_is_refused(
    conference: DemoConference,
) -> None:
    device = conference.device("information", conference.cookie("client"))
    async with connected(device):
        states = [protocol.AwarenessState(1000 + i, 1, '{"n":1}') for i in range(5)]
        await device.send(protocol.Awareness(protocol.encode_awareness(states)))
        assert await device.wait_closed() == (1008, "presence for too many clients")


# -- presence -------------------------------------------------------------------------------


async def test_presence_is_shared_between_writers_and_withdrawn_when_they_go(
    rooms_server: LiveServer,
) -> None:
    conference = await demo_conference(rooms_server, "presentation")
    sam = conference.device("plan", conference.cookie("client"))
    ayse = conference.device("plan", conference.cookie("network_member"))
    async with connected(sam, ayse):
        await sam.set_presence('{"user":{"name":"Sam"}}', 1)
        await ayse.wait_for(lambda: ayse.presence.get(sam.doc.client_id) is not None)
        await sam.close()
        await ayse.wait_for(lambda: ayse.presence.get(sam.doc.client_id, "") is None)


async def test_presence_is_relayed_cleaned_to_what_browsers_can_show(
    rooms_server: LiveServer,
) -> None:
    conference = await demo_conference(rooms_server, "presentation")
    sam = conference.device("plan", conference.cookie("client"))
    ayse = conference.device("plan", conference.cookie("network_member"))
    async with connected(sam, ayse):
        state = {
            "user": {"name": "Sam", "color": "#abc", "colorLight": "red;background:url(x)"},
            "cursor": {"anchor": {}, "head": {"tname": "text"}},  # would throw in Yjs
            "note": "onbekend",
        }
        await sam.set_presence(json.dumps(state), 1)
        await ayse.wait_for(lambda: ayse.presence.get(sam.doc.client_id) is not None)
        shown = ayse.presence[sam.doc.client_id]
        assert shown is not None
        assert json.loads(shown) == {"user": {"name": "Sam", "color": "#abc"}}
        assert sam.close_code is None  # a bad key is dropped, not punished
        late = conference.device("plan", conference.cookie("network_member"))
        async with connected(late):
            await late.wait_for(lambda: sam.doc.client_id in late.presence)
            assert late.presence[sam.doc.client_id] == shown


async def test_a_reader_shows_no_presence_but_sees_the_writers(rooms_server: LiveServer) -> None:
    # At the presentation the professional reads the plan; the family writes it.
    conference = await demo_conference(rooms_server, "presentation")
    family = conference.device("plan", conference.cookie("client"), saved=True)
    professional = conference.device("plan", conference.cookie("professional"))
    async with connected(family, professional):
        await professional.set_presence('{"user":{"name":"Wijkteam"}}', 1)
        await family.set_presence('{"user":{"name":"Sam"}}', 1)
        await professional.wait_for(lambda: family.doc.client_id in professional.presence)
        # Sent after the professional's, so had it been relayed it would have arrived first.
        family.text().insert(0, "x")
        await professional.wait_for(lambda: str(professional.text()) == "x")
        assert professional.doc.client_id not in family.presence


# -- loading and slow devices ---------------------------------------------------------------


async def test_ten_tablets_opening_an_unloaded_document_at_once_all_get_it(
    conference: DemoConference,
) -> None:
    writer = conference.device("information", conference.cookie("client"), saved=True)
    async with connected(writer):
        writer.text().insert(0, "Afspraken van vorige keer.")
        await writer.wait_for(lambda: writer.all_saved())
    log = conference.server.instance.folder / "server.log"
    unloaded = f"{conference.id}/information unloaded"
    await wait_until(lambda: unloaded in log.read_text())

    cookies = [conference.cookie("network_member", i % 3) for i in range(10)]
    tablets = [conference.device("information", c) for c in cookies]
    try:
        await asyncio.gather(*(t.connect() for t in tablets))
        await asyncio.gather(*(t.synced() for t in tablets))
        assert {str(t.text()) for t in tablets} == {"Afspraken van vorige keer."}
    finally:
        await asyncio.gather(*(t.close() for t in tablets))
    # One load after the unload, however many tablets asked at once.
    assert log.read_text().count(f"{conference.id}/information loaded") == 2


async def test_a_tablet_that_stops_reading_never_holds_up_the_others(
    conference: DemoConference,
) -> None:
    writer = conference.device("information", conference.cookie("client"), saved=True)
    reader = conference.device("information", conference.cookie("network_member", 0))
    async with connected(writer, reader):
        # A device that stops reading: its socket buffers fill and then its send queue.
        stuck = await asleep(conference, conference.cookie("network_member", 1))
        try:
            await write_heaps(writer)
            await reader.wait_for(lambda: "<79>" in str(reader.text()), 30)
            assert str(reader.text()) == str(writer.text())
            assert writer.close_code is None and reader.close_code is None
            log = conference.server.instance.folder / "server.log"
            await wait_until(lambda: "fell too far behind" in log.read_text())
        finally:
            stuck.transport.abort()


async def test_a_tablet_dropped_for_falling_behind_is_let_go_not_kept_with_its_backlog(
    conference: DemoConference,
) -> None:
    """A device that stops reading (a tablet asleep with its socket open) is dropped once it
    is SEND_QUEUE_BYTES behind, and the server lets go of its connection then and there: a
    connection kept until its backlog drains would hold that backlog, and its socket, for as
    long as the device stays asleep (for ever), however often it comes back to do it again."""
    writer = conference.device("information", conference.cookie("client"), saved=True)
    async with connected(writer):
        stuck = await asleep(conference, conference.cookie("network_member", 1))
        port = stuck.transport.get_extra_info("sockname")[1]
        try:
            assert server_side_state(conference.server, port) == "established"
            await write_heaps(writer)
            log = conference.server.instance.folder / "server.log"
            await wait_until(lambda: "fell too far behind" in log.read_text())
            await wait_until(lambda: server_side_state(conference.server, port) != "established")
        finally:
            stuck.transport.abort()
