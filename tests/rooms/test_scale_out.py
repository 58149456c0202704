"""Two real `kring serve` processes on one PostgreSQL and one Redis (``KRING_REDIS_URL``):
devices of one conference on different processes work as if on one server, and a sign-in
ended on one process (a logout, an account turned off) is closed on the other at once."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.conference.accounts import TURNED_OFF
from server.rooms.broker import BadMessage, Notice, decode, encode
from server.rooms.client import YClient
from server.storage.documents import DocumentLog
from server.storage.store import Store
from tests.support.databases import add_coordinator
from tests.support.live import EventStream, connected
from tests.support.meeting import LOCKED_OUT, move
from tests.support.people import (
    DemoConference,
    add_person,
    as_,
    demo_conference,
    open_link,
    server_store,
    waiting_sessions,
)
from tests.support.server import (
    LiveServer,
    make_instance,
    metric_samples,
    missing_service,
    start_server,
    stop_server,
)

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("devices_closed_both")]

REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "correct horse battery"
COMPACT_AFTER = 25
RESYNCING = "De verbinding wordt vernieuwd."


def _redis() -> Any:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        missing_service("Redis", f"start it on {REDIS_URL} (apt install redis-server)")
    return client


METRICS_TOKEN = "scale-out-metrics-0123456789"


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Processes A and B: one database, one secret key, one Redis channel prefix."""
    _redis().close()
    shared = {
        "KRING_DATABASE_URL": postgres_url,
        "KRING_SECRET_KEY": secrets.token_hex(24),
        "KRING_REDIS_URL": REDIS_URL,
        "KRING_REDIS_PREFIX": f"test-{secrets.token_hex(4)}",
        "KRING_COMPACT_AFTER": str(COMPACT_AFTER),
        # Ended sign-ins must be closed by the message between processes, not the periodic check.
        "KRING_SESSION_CHECK_SECONDS": "3600",
        "KRING_METRICS_TOKEN": METRICS_TOKEN,
    }
    a = start_server(make_instance(tmp_path_factory.mktemp("a"), **shared))
    try:
        b = start_server(make_instance(tmp_path_factory.mktemp("b"), **shared))
    except BaseException:
        stop_server(a)
        raise
    yield a, b
    stop_server(b)
    stop_server(a)


@pytest.fixture
def devices_closed_both(pair: tuple[LiveServer, LiveServer]) -> Iterator[None]:
    yield
    for server in pair:
        for client in server.clients:
            client.close()
        server.clients.clear()


async def on_both(
    pair: tuple[LiveServer, LiveServer], phase: str
) -> tuple[DemoConference, DemoConference]:
    """One demo conference, as reached through A and through B."""
    a, b = pair
    conference = await demo_conference(a, phase)
    through_b = json.loads(json.dumps(conference.data).replace(a.url, b.url))
    return conference, DemoConference(b, through_b)


def _text(device: YClient) -> str:
    return str(device.text())


async def stored_text(conference: DemoConference, document: str = "plan") -> str:
    """The document as the shared database holds it (snapshot and log)."""
    from pycrdt import Doc, Text

    store = Store.connect(conference.server.instance.database_url)
    try:
        update = await DocumentLog(store.engine).state(conference.id, document)
    finally:
        await store.close()
    doc: Doc[Any] = Doc()
    doc.apply_update(update)
    return str(doc.get("text", type=Text))


async def test_with_several_processes_a_burst_is_not_read_ahead_of_its_commits(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    """A process hears of a phase change made on another only through Redis or its next
    commit, and accepts what it has read under the phase it knew. So with several processes a
    device's next update is read only once the one before is committed (on one process the
    change reaches every connection at once, and a burst shares commits): every update of a
    burst is a commit of its own, and at most one can be taken in under an outdated phase."""
    on_a, _ = await on_both(pair, "private_time")
    sam = on_a.device("plan", on_a.cookie("client"), saved=True)
    async with connected(sam):
        before = await metric_samples(on_a.server, METRICS_TOKEN)
        for i in range(40):
            sam.text().insert(len(sam.text()), f"<{i}>")
        await sam.flush()
        await sam.wait_for(sam.all_saved, 30)
        after = await metric_samples(on_a.server, METRICS_TOKEN)
    moved = {
        name: after[name] - before[name]
        for name in ("kring_updates_committed_total", "kring_commit_batch_updates_count")
    }
    assert moved == {"kring_updates_committed_total": 40, "kring_commit_batch_updates_count": 40}


async def test_devices_on_two_processes_edit_one_plan_and_see_each_others_presence(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    on_a, on_b = await on_both(pair, "presentation")
    sam = on_a.device("plan", on_a.cookie("client"), saved=True)
    ayse = on_b.device("plan", on_b.cookie("network_member"), saved=True)
    professional = on_b.device("plan", on_b.cookie("professional"))
    async with connected(sam, ayse, professional):
        # Bytes on the channel that are no Kring message are ignored; the room carries on.
        redis = _redis()
        try:
            prefix = on_a.server.instance.env["KRING_REDIS_PREFIX"]
            assert redis.publish(f"{prefix}:room:{on_a.id}", b"not a message") == 2
        finally:
            redis.close()
        sam.text().insert(0, "Oma haalt Sam op. ")
        await ayse.wait_for(lambda: "Oma haalt Sam op." in _text(ayse))
        # What reached the other process's device was on disk before it was sent.
        assert "Oma haalt Sam op." in await stored_text(on_a)
        ayse.text().insert(len(ayse.text()), "Ayşe kookt op zondag.")
        both = "Oma haalt Sam op. Ayşe kookt op zondag."
        for device in (sam, professional):
            await device.wait_for(lambda d=device: _text(d) == both)  # type: ignore[misc]
        await sam.wait_for(sam.all_saved)
        await ayse.wait_for(ayse.all_saved)

        # Presence crosses processes between writers, and reaches the reader there ...
        await sam.set_presence(json.dumps({"user": {"name": "Sam"}}), 1)
        await ayse.wait_for(lambda: ayse.presence.get(sam.doc.client_id) is not None)
        await professional.wait_for(lambda: sam.doc.client_id in professional.presence)
        # ... but a reader's own presence goes nowhere, on either process.
        await professional.set_presence(json.dumps({"user": {"name": "Wijkteam"}}), 1)
        await ayse.set_presence(json.dumps({"user": {"name": "Ayşe"}}), 1)
        await sam.wait_for(lambda: ayse.doc.client_id in sam.presence)
        assert professional.doc.client_id not in sam.presence
        assert professional.doc.client_id not in ayse.presence

        # A device joining later on B gets A's presence with the document.
        late = on_b.device("plan", on_b.cookie("network_member", 1))
        async with connected(late):
            await late.wait_for(lambda: sam.doc.client_id in late.presence)
            assert _text(late) == _text(sam)
        # Leaving on A withdraws the presence on B.
        await sam.close()
        await ayse.wait_for(lambda: ayse.presence.get(sam.doc.client_id, "") is None)
    assert await stored_text(on_a) == "Oma haalt Sam op. Ayşe kookt op zondag."


def test_a_server_whose_redis_cannot_be_reached_does_not_start(tmp_path: Path) -> None:
    instance = make_instance(tmp_path, KRING_REDIS_URL="redis://127.0.0.1:1/0")
    with pytest.raises(AssertionError, match="kring serve exited") as refused:
        start_server(instance)
    assert "KRING_REDIS_URL: Redis cannot be reached" in str(refused.value)


def test_bad_bytes_on_the_channel_are_refused_with_a_reason() -> None:
    for data, reason in (
        (b"", "not a Kring broker message"),
        (b"K1\x00\x00\x00\xff{}", "cut off"),
        (b"K1\x00\x00\x00\x02{}", "does not parse"),
    ):
        with pytest.raises(BadMessage, match=reason):
            decode(data)
    notice = Notice("update", "abc", "plan", b"\x00\x00", {"id": 7}, "p1")
    assert decode(encode(notice)) == notice


async def test_private_time_started_on_one_process_closes_the_coordinator_on_the_other(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    on_a, on_b = await on_both(pair, "presentation")
    family = on_a.device("plan", on_a.cookie("client"), saved=True)
    coordinator = on_b.device("plan", on_b.coordinator_cookie())
    professional = on_b.device("plan", on_b.cookie("professional"))
    async with (
        connected(family, coordinator, professional),
        EventStream(on_b, on_b.coordinator_cookie()) as console,
    ):
        family.text().insert(0, "Voor de privétijd. ")
        await coordinator.wait_for(lambda: "Voor de privétijd." in _text(coordinator))
        # The console on B counts the family member whose tablet is on A.
        await console.wait_for(lambda: any('"present-count">1<' in d for _, d in console.events))

        response = await move(on_a, "private_time")
        assert response.status_code == 200, response.text
        for device in (coordinator, professional):
            assert await device.wait_closed() == (4001, LOCKED_OUT)
        await console.wait_for(lambda: ("phase", "private_time") in console.events)
        family.text().insert(len(family.text()), "Geheim plan van de familie.")
        await family.wait_for(family.all_saved)
        assert "Geheim" not in _text(coordinator)

        # Coming back through B during private time: refused before a byte of the plan.
        again = on_b.device("plan", on_b.coordinator_cookie())
        await again.connect()
        assert await again.wait_closed() == (4403, LOCKED_OUT)
        assert again.received == [] and again.presence == {}

        # The family's signal, sent through A, reaches the console on B.
        async with as_(on_a, on_a.cookie("client")) as client:
            response = await client.post(
                f"/api/conferences/{on_a.id}/signals", json={"kind": "question"}
            )
            assert response.status_code == 201
            await console.wait_for(lambda: any(name == "signal" for name, _ in console.events))
            # ... and so does a "plan ready" taken back: the console on B reads its state again.
            ready = {"kind": "plan_ready", "confirmed": "yes"}
            assert (await client.post(f"/c/{on_a.id}/signal", data=ready)).status_code == 303
            assert (await client.post(f"/c/{on_a.id}/signal/undo")).status_code == 303
        await console.wait_for(lambda: ("changed", "changed") in console.events)


async def test_private_time_holds_on_every_process_even_before_its_notice_arrives(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    """The phase is changed in the database behind every process's back, so no notice of it
    ever comes over Redis: the first commit of the family's next edit still enforces it."""
    on_a, on_b = await on_both(pair, "presentation")
    family = on_a.device("plan", on_a.cookie("client"), saved=True)
    here = on_a.device("plan", on_a.coordinator_cookie())
    there = on_b.device("plan", on_b.coordinator_cookie())
    async with connected(family, here, there):
        family.text().insert(0, "Voor de privétijd. ")
        for device in (here, there):
            await device.wait_for(lambda d=device: "Voor de privétijd." in _text(d))  # type: ignore[misc]
        await on_a.set_phase("private_time")
        family.text().insert(len(family.text()), "Geheim plan van de familie.")
        # A's commit read the new phase: A closes its coordinator before showing the edit, and
        # the edit's notice tells B the phase it was committed in, so B does the same.
        for device in (here, there):
            assert await device.wait_closed() == (4001, LOCKED_OUT)
            assert "Geheim" not in _text(device)
        await family.wait_for(family.all_saved)
    assert "Geheim plan van de familie." in await stored_text(on_a)


async def test_erasing_through_one_process_closes_the_devices_on_the_other(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    on_a, on_b = await on_both(pair, "presentation")
    cookie = on_b.cookie("client")
    sam = on_b.device("plan", cookie, saved=True)
    async with connected(sam):
        sam.text().insert(0, "Iets om te wissen.")
        await sam.wait_for(sam.all_saved)
        async with as_(on_a, on_a.coordinator_cookie()) as coordinator:
            name = on_a.person("client")["name"]
            erased = await coordinator.post(f"/conferences/{on_a.id}/erase", data={"confirm": name})
            assert erased.status_code == 303, erased.text
        assert await sam.wait_closed() == (4001, "Deze conferentie is gewist.")
    # B keeps nothing of it: the same tablet coming back through B gets no byte of the plan.
    again = on_b.device("plan", cookie)
    await again.connect()
    code, _reason = await again.wait_closed()
    assert code >= 4000 and again.received == [] and again.messages == 0
    assert await stored_text(on_b) == ""


async def test_two_processes_compacting_one_busy_plan_lose_nothing(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    on_a, on_b = await on_both(pair, "presentation")
    writers = [
        on_a.device("plan", on_a.cookie("client"), saved=True),
        on_b.device("plan", on_b.cookie("network_member"), saved=True),
        on_a.device("plan", on_a.cookie("network_member", 1), saved=True),
        on_b.device("plan", on_b.cookie("network_member", 2), saved=True),
    ]
    rounds = 4 * COMPACT_AFTER  # every process folds the log several times meanwhile
    async with connected(*writers):

        async def write(index: int, device: YClient) -> None:
            for i in range(rounds):
                device.text().insert(0, f"<{index}:{i}>")
                await device.flush()
                await asyncio.sleep(0.002)

        await asyncio.gather(*(write(i, d) for i, d in enumerate(writers)))
        for device in writers:
            await device.wait_for(device.all_saved)
        everyone = {f"<{i}:{n}>" for i in range(len(writers)) for n in range(rounds)}
        for device in writers:
            await device.wait_for(lambda d=device: all(m in _text(d) for m in everyone))  # type: ignore[misc]
    stored = await stored_text(on_a)
    assert all(marker in stored for marker in everyone)
    assert stored == _text(writers[0])
    store = Store.connect(on_a.server.instance.database_url)
    try:
        from sqlalchemy import func, select

        from server.storage.models import DocSnapshot, DocUpdate

        async with store.engine.connect() as conn:
            logged = await conn.scalar(
                select(func.count()).where(DocUpdate.conference_id == on_a.id)
            )
            snapshots = await conn.scalar(
                select(func.count()).where(DocSnapshot.conference_id == on_a.id)
            )
    finally:
        await store.close()
    assert snapshots == 1 and logged is not None and logged < rounds * len(writers)


async def test_when_redis_drops_the_processes_catch_up_from_the_database(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    on_a, on_b = await on_both(pair, "presentation")
    sam = on_a.device("plan", on_a.cookie("client"), saved=True)
    ayse = on_b.device("plan", on_b.cookie("network_member"), saved=True)
    async with connected(sam, ayse):
        sam.text().insert(0, "Eerst. ")
        await ayse.wait_for(lambda: "Eerst." in _text(ayse))
        prefix = on_a.server.instance.env["KRING_REDIS_PREFIX"]
        redis = _redis()
        try:
            ours = [
                c["id"]
                for c in redis.client_list(_type="pubsub")
                if c.get("name", "").startswith(prefix)
            ]
            assert len(ours) == 2  # one subscription per process
            for client_id in ours:
                redis.client_kill_filter(_id=client_id)
        finally:
            redis.close()
        sam.text().insert(len(sam.text()), "Terwijl Redis weg was.")
        await sam.wait_for(sam.all_saved)
        # Each process catches up and lets its devices reconnect, so access is checked again.
        assert await ayse.wait_closed() == (1012, RESYNCING)
        await ayse.connect()
        await ayse.synced()
        await ayse.wait_for(lambda: _text(ayse) == "Eerst. Terwijl Redis weg was.")


async def test_logout_on_one_process_closes_that_sessions_documents_on_the_other(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    on_a, on_b = await on_both(pair, "presentation")
    a, _b = pair
    laptop = a.client()
    login = on_a.data["coordinator"]
    assert laptop.post("/login", data=login_form(login)).status_code == 303
    cookie = f"kring_coordinator={laptop.cookies['kring_coordinator']}"
    reader_on_b = on_b.device("plan", cookie)
    async with connected(reader_on_b), EventStream(on_b, cookie) as console_on_b:
        assert laptop.post("/logout").status_code == 303  # on process A

        assert await reader_on_b.wait_closed(5) == (4001, "Je bent afgemeld.")
        assert console_on_b._task is not None
        await asyncio.wait_for(asyncio.shield(console_on_b._task), 5)


def login_form(coordinator: dict[str, Any]) -> dict[str, str]:
    return {"email": coordinator["email"], "password": coordinator["password"]}


async def test_an_account_turned_off_on_one_process_is_closed_and_refused_on_the_other(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    on_a, on_b = await on_both(pair, "presentation")
    a, b = pair
    async with server_store(on_a) as store:
        admin = await add_coordinator(store, PASSWORD, "admin")
        bram = await add_coordinator(store, PASSWORD)
        await store.add_participant(on_a.id, bram.name, "coordinator", account_id=bram.id)
    bram_login = {"email": bram.email, "password": PASSWORD}
    laptop_on_b = b.client()
    assert laptop_on_b.post("/login", data=bram_login).status_code == 303
    cookie = f"kring_coordinator={laptop_on_b.cookies['kring_coordinator']}"
    assert laptop_on_b.get(f"/conferences/{on_b.id}/console").status_code == 200
    bram_on_b = on_b.device("plan", cookie)
    owner_on_b = on_b.device("plan", on_b.coordinator_cookie())
    family_on_a = on_a.device("plan", on_a.cookie("client"), saved=True)
    async with (
        connected(bram_on_b, owner_on_b, family_on_a),
        EventStream(on_b, cookie) as console_on_b,
    ):
        admin_on_a = a.client()
        assert admin_on_a.post("/login", data={"email": admin.email, "password": PASSWORD})
        turned_off = admin_on_a.post(f"/admin/accounts/{bram.id}/deactivate")
        assert turned_off.status_code == 200 and "staat uit" in turned_off.text

        # On B, at once (the periodic check is an hour away): Bram's plan and console close.
        assert await bram_on_b.wait_closed(5) == (4001, TURNED_OFF)
        assert console_on_b._task is not None
        await asyncio.wait_for(asyncio.shield(console_on_b._task), 5)
        # ... and nobody else's: the conference's own coordinator on B still follows the plan.
        family_on_a.text().insert(0, "Na het uitzetten. ")
        await owner_on_b.wait_for(lambda: "Na het uitzetten." in _text(owner_on_b))

    # B refuses Bram's next request, a new connection and a new login.
    refused = laptop_on_b.get(f"/conferences/{on_b.id}/console")
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login?")
    again = on_b.device("plan", cookie)
    await again.connect()
    code, _reason = await again.wait_closed()
    assert code >= 4000 and again.received == [] and again.messages == 0
    login = b.client().post("/login", data=bram_login)
    assert login.status_code == 403 and "Je account staat uit" in login.text


async def test_the_family_on_one_process_lets_in_and_sends_out_devices_on_the_other(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    on_a, on_b = await on_both(pair, "information")
    a, b = pair
    _, karel_link = await add_person(on_a, "Oom Karel", "network_member")
    karel = await open_link(on_b, karel_link.replace(a.url, b.url))  # before private time
    assert (await move(on_a, "private_time")).status_code == 200
    family = on_a.cookie("client")
    reader_on_b = on_b.device("plan", karel)
    async with connected(reader_on_b), EventStream(on_a, family, console=False) as family_on_a:
        # Process A sees which devices are connected on B (the "here" notice carries them).
        def karel_connected() -> bool:
            lists = [data for name, data in family_on_a.events if name == "who-is-in"]
            karel = lists[-1].split("Oom Karel", 1)[-1].split("</ul>", 1)[0] if lists else ""
            return 'data-connected="true"' in karel

        async with as_(on_a, family) as tablet:
            for _ in range(50):  # bounded: the notice crosses Redis within milliseconds
                page = (await tablet.get(f"/c/{on_a.id}/plan")).text
                karel_part = page.split('id="who-is-in"')[1].split("Oom Karel")[1]
                if 'data-connected="true"' in karel_part.split("</ul>")[0]:
                    break
                await asyncio.sleep(0.1)
            session = re.search(r'data-session="(\d+)" data-connected="true"', karel_part)
            assert session, "A lists the device connected on B"

            _, ans_link = await add_person(on_a, "Tante Ans", "network_member")
            ans = await open_link(on_b, ans_link.replace(a.url, b.url))
            async with EventStream(on_b, ans, console=False) as ans_on_b:
                await family_on_a.wait_for(
                    lambda: any("Tante Ans wil meedoen" in d for _, d in family_on_a.events)
                )
                waiting = waiting_sessions((await tablet.get(f"/c/{on_a.id}/plan")).text)
                decided = await tablet.post(
                    f"/c/{on_a.id}/admission/{waiting['Tante Ans']}", data={"decision": "in"}
                )
                assert decided.status_code == 303
                await ans_on_b.wait_for(lambda: ("admission", "in") in ans_on_b.events)
            await family_on_a.wait_for(karel_connected)  # the live list (drawn again on A)

            sent = await tablet.post(f"/c/{on_a.id}/devices/{session[1]}/send-out")
            assert sent.status_code == 303
        code, reason = await reader_on_b.wait_closed(5)
        assert (code, reason) == (4001, "De familie heeft dit apparaat gevraagd te vertrekken.")


async def test_a_supporter_mark_taken_away_on_one_process_closes_the_compass_on_the_other(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    on_a, on_b = await on_both(pair, "preparation")
    async with server_store(on_a) as store:
        rows = await store.participants(on_a.id)
    ayse = next(r.participant.id for r in rows if r.participant.role == "network_member")
    client = on_a.cookie("client")
    async with as_(on_a, client) as tablet:
        chosen = await tablet.post(f"/c/{on_a.id}/supporters", data={"supporter": str(ayse)})
        assert chosen.status_code == 303
        supporter_on_b = on_b.device("compass", on_b.cookie("network_member"))
        async with connected(supporter_on_b):
            taken = await tablet.post(f"/c/{on_a.id}/supporters", data={})  # on process A
            assert taken.status_code == 303
            assert await supporter_on_b.wait_closed(5) == (
                4001,
                "Het netwerkkompas is van de cliënt en de steunpersonen die de cliënt koos.",
            )
