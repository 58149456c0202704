"""Sign-ins end everywhere: whatever ends a session closes that session's live documents
(4001, with a reason) and event streams at once, and nothing more reaches that device."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from server.conference import sessions
from server.conference.events import CLOSE, ENDED, Event, Events, Listener
from server.rooms.broker import Notice
from server.rooms.client import YClient
from server.rooms.connection import Peer
from server.rooms.hub import RoomHub
from server.settings import Limits
from server.storage.documents import StoredDocument
from server.storage.models import Session, utcnow
from server.storage.store import Store
from tests.support.databases import add_coordinator
from tests.support.live import EventStream, connected
from tests.support.people import DemoConference, demo_conference, let_in, server_store
from tests.support.server import LiveServer, make_instance, serving

pytestmark = pytest.mark.usefixtures("devices_closed", "checking_devices_closed")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real server whose periodic check of sign-ins is too rare to matter here: what a
    page ends must be closed by that page itself, at once."""
    folder: Path = tmp_path_factory.mktemp("sessions")
    with serving(make_instance(folder, KRING_SESSION_CHECK_SECONDS="3600")) as server:
        yield server


@pytest.fixture(scope="module")
def checking_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real server that checks every second that open connections' sign-ins still hold."""
    folder: Path = tmp_path_factory.mktemp("checking")
    with serving(make_instance(folder, KRING_SESSION_CHECK_SECONDS="1")) as server:
        yield server


@pytest.fixture
def checking_devices_closed(checking_server: LiveServer) -> Iterator[None]:
    yield
    for client in checking_server.clients:
        client.close()
    checking_server.clients.clear()


def signed_in(conference: DemoConference, link_of: str) -> httpx.Client:
    """A device (an HTTP client with its cookies) signed in through someone's link."""
    device = conference.server.client()
    assert device.post(conference.person(link_of)["invitation_url"]).status_code == 303
    let_in(conference.server.instance, device.cookies["kring_participant"])  # before private time
    return device


def cookie_of(device: httpx.Client, name: str) -> str:
    return f"{name}={device.cookies[name]}"


def coordinator_device(conference: DemoConference) -> httpx.Client:
    device = conference.server.client()
    login = conference.data["coordinator"]
    response = device.post("/login", data={"email": login["email"], "password": login["password"]})
    assert response.status_code == 303
    return device


async def family_types(conference: DemoConference, text: str) -> None:
    """The client writes the plan from a tablet of her own (still signed in)."""
    writer = conference.device("plan", conference.cookie("client"), saved=True)
    async with connected(writer):
        writer.text().insert(len(writer.text()), text)
        await writer.wait_for(writer.all_saved)


async def test_logout_closes_the_coordinators_open_plan_and_console_at_once(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "presentation")
    laptop = coordinator_device(conference)
    cookie = cookie_of(laptop, "kring_coordinator")
    reader = conference.device("plan", cookie)
    async with connected(reader), EventStream(conference, cookie) as console:
        assert laptop.post("/logout").status_code == 303

        assert await reader.wait_closed(2) == (4001, "Je bent afgemeld.")
        assert console._task is not None
        await asyncio.wait_for(asyncio.shield(console._task), 5)  # the stream ended
        seen = len(reader.received)
        await family_types(conference, "Oma haalt de kinderen op.")
        assert len(reader.received) == seen


async def test_forget_this_device_closes_its_plan_so_it_can_no_longer_write(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "private_time")
    tablet = signed_in(conference, "network_member")
    cookie = cookie_of(tablet, "kring_participant")
    writer = conference.device("plan", cookie, saved=True)
    async with connected(writer), EventStream(conference, cookie, console=False) as page:
        assert tablet.post(f"/c/{conference.id}/forget").status_code == 200

        code, reason = await writer.wait_closed(2)
        assert code == 4001 and reason.startswith("Dit apparaat is vergeten")
        assert page._task is not None
        await asyncio.wait_for(asyncio.shield(page._task), 5)
        writer.text().insert(0, "geschreven na vergeten")  # the closed socket carries nothing

    reader = conference.device("plan", conference.cookie("client"))
    async with connected(reader):
        assert "geschreven na vergeten" not in str(reader.text())


async def test_removing_a_co_coordinator_closes_their_view_of_that_conference_only(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "presentation")
    owner = coordinator_device(conference)
    async with server_store(conference) as store:
        account = await add_coordinator(store)
    colleague = live_server.client()
    login = {"email": account.email, "password": "correct horse battery"}
    assert colleague.post("/login", data=login).status_code == 303
    added = owner.post(
        f"/conferences/{conference.id}/participants",
        data={"role": "coordinator", "email": account.email, "name": ""},
    )
    assert added.status_code == 200, added.text
    cookie = cookie_of(colleague, "kring_coordinator")
    theirs = conference.device("plan", cookie)
    async with connected(theirs), EventStream(conference, cookie) as console:
        async with server_store(conference) as store:
            rows = await store.participants(conference.id)
        co = next(r.participant for r in rows if r.participant.account_id == account.id)
        removed = owner.post(f"/conferences/{conference.id}/participants/{co.id}/remove")
        assert removed.status_code == 200

        assert await theirs.wait_closed(2) == (4001, "Je staat niet meer op de lijst.")
        assert console._task is not None
        await asyncio.wait_for(asyncio.shield(console._task), 5)
        # Their sign-in goes on; only this conference is no longer theirs.
        assert colleague.get("/conferences").status_code == 200
        assert colleague.get(f"/conferences/{conference.id}").status_code == 403


async def test_a_password_reset_on_the_command_line_closes_that_coordinators_connections(
    checking_server: LiveServer,
) -> None:
    live_server = checking_server
    conference = await demo_conference(live_server, "presentation")
    cookie = cookie_of(coordinator_device(conference), "kring_coordinator")
    reader = conference.device("plan", cookie)
    async with connected(reader):
        live_server.instance.cli(
            "coordinator",
            "reset-password",
            conference.data["coordinator"]["email"],
            "--password-stdin",
            stdin="een heel nieuw wachtwoord\n",
        )
        code, reason = await reader.wait_closed(5)  # another process: the next check finds it
        assert (code, reason) == (
            4001,
            "Je aanmelding is beëindigd of verlopen. Meld je opnieuw aan.",
        )


async def test_an_expired_sign_in_is_closed_by_the_next_check(
    checking_server: LiveServer,
) -> None:
    live_server = checking_server
    conference = await demo_conference(live_server, "private_time")
    started = utcnow()
    tablet = signed_in(conference, "client")
    writer = conference.device("plan", cookie_of(tablet, "kring_participant"))
    async with connected(writer):
        async with server_store(conference) as store, store._sessions() as db:
            this_one = (Session.created_at >= started) & Session.invitation_id.is_not(None)
            past = utcnow() - timedelta(seconds=1)
            await db.execute(update(Session).where(this_one).values(expires_at=past))
            await db.commit()
        code, _reason = await writer.wait_closed(5)
        assert code == 4001
        assert tablet.get(f"/c/{conference.id}").status_code == 401


async def test_the_ended_sign_in_cannot_open_a_document_again(live_server: LiveServer) -> None:
    """After logout the old cookie opens nothing (a refusal, not a reconnect loop)."""
    conference = await demo_conference(live_server, "presentation")
    laptop = coordinator_device(conference)
    cookie = cookie_of(laptop, "kring_coordinator")
    laptop.post("/logout")
    device = YClient(conference.ws("plan"), cookie=cookie, origin=live_server.url)
    await device.connect()
    try:
        code, _reason = await device.wait_closed(5)
    finally:
        await device.close()
    assert code == 4403
    assert device.messages == 0


async def test_removing_a_person_closes_their_documents_and_their_pages_live_channel(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "private_time")
    owner = coordinator_device(conference)
    tablet = signed_in(conference, "network_member")
    cookie = cookie_of(tablet, "kring_participant")
    writer = conference.device("plan", cookie)
    async with connected(writer), EventStream(conference, cookie, console=False) as page:
        member = conference.person("network_member")
        async with server_store(conference) as store:
            rows = await store.participants(conference.id)
        pid = next(r.participant.id for r in rows if r.participant.name == member["name"])
        assert (
            owner.post(f"/conferences/{conference.id}/participants/{pid}/remove").status_code == 200
        )

        assert await writer.wait_closed(2) == (4001, "Je staat niet meer op de lijst.")
        assert page._task is not None
        await asyncio.wait_for(asyncio.shield(page._task), 2)


# -- races and edges, in one process without a server ----------------------------------------


class SlowLog:
    """A document log whose loads wait until released (a device is between its check of the
    database and its join for as long as that takes)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.on_phases = None

    async def load(self, conference_id: str, document: str) -> StoredDocument:
        await self.release.wait()
        return StoredDocument(snapshot=None, snapshot_upto=0, updates=[])

    def forget(self, conference_id: str) -> None:
        pass


class FakeSocket:
    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed: tuple[int, str | None] | None = None
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def send_bytes(self, data: bytes) -> None:
        self.sent.append(data)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = (code, reason)
        self.incoming.put_nowait({"type": "websocket.disconnect"})

    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()


async def _joined_after(end: Callable[[RoomHub], object], peer: Peer) -> FakeSocket:
    """A device authorised (``peer``), then ``end`` while its document loads, then the load
    finishes: what the device got."""
    log = SlowLog()
    hub = RoomHub(log, Limits())  # type: ignore[arg-type]
    socket = FakeSocket()
    serving = asyncio.create_task(hub.serve(socket, "c1", "plan", peer, "presentation"))
    try:
        await asyncio.sleep(0.05)  # it waits for the load
        end(hub)
        log.release.set()
        await asyncio.wait_for(asyncio.shield(serving), 2)
    except TimeoutError:
        pass  # it joined and is still open
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await serving
    return socket


async def test_a_device_authorised_just_before_logout_does_not_join_just_after() -> None:
    peer = Peer(None, "coordinator", "C", session_id=7, account_id=1)
    socket = await _joined_after(lambda hub: hub.end_sessions([7], sessions.LOGGED_OUT), peer)
    assert socket.closed == (4001, "Je bent afgemeld.")
    assert socket.sent == []  # not one sync byte


async def test_a_co_coordinator_authorised_just_before_removal_does_not_join_just_after() -> None:
    """Their sign-in still holds, so no periodic check would ever close this one."""
    peer = Peer(None, "coordinator", "C", session_id=8, account_id=3)
    why = "Je staat niet meer op de lijst."
    socket = await _joined_after(lambda hub: hub.drop_account("c1", 3, why), peer)
    assert socket.closed == (4001, why)


async def test_a_device_authorised_after_the_end_joins() -> None:
    """What is remembered of an ended sign-in does not keep out a later one (a colleague
    added again, an id SQLite hands out again)."""
    log = SlowLog()
    log.release.set()
    hub = RoomHub(log, Limits())  # type: ignore[arg-type]
    hub.end_sessions([9], sessions.LOGGED_OUT)
    hub.drop_account("c1", 4, "weg")
    socket = FakeSocket()
    peer = Peer(None, "coordinator", "C", session_id=9, account_id=4)
    serving = asyncio.create_task(hub.serve(socket, "c1", "plan", peer, "presentation"))
    await asyncio.sleep(0.1)
    assert socket.closed is None and socket.sent  # joined and synced
    socket.incoming.put_nowait({"type": "websocket.disconnect"})
    await asyncio.wait_for(serving, 2)


async def told_it_ended(queue: asyncio.Queue[Event]) -> bool:
    """The stream is told its sign-in ended (a waiting page reloads on it), then closes."""
    first = await asyncio.wait_for(queue.get(), 1)
    second = await asyncio.wait_for(queue.get(), 1)
    return (first, second) == (ENDED, CLOSE)


async def test_a_stream_opened_just_before_its_sign_in_ended_is_closed_at_once() -> None:
    """The page was checked, then the session ended, then the stream began listening."""
    events = Events()
    who = Listener(session_id=11, participant_id=5)
    events.end_sessions(frozenset({11}))
    with events.listen("c1", who) as queue:
        assert await told_it_ended(queue)
    removed = Listener(session_id=12, account_id=6)
    events.end_person("c1", account_id=6)
    with events.listen("c1", removed) as queue:
        assert await told_it_ended(queue)
    with events.listen("c1", Listener(session_id=11)) as queue:  # a later sign-in
        assert queue.empty()


async def test_a_drop_notice_that_names_nobody_closes_nobody() -> None:
    """A notice from another process without a participant or account (another version, a
    mangled message) must not match every participant, whose account id is None."""
    log = SlowLog()
    log.release.set()
    hub = RoomHub(log, Limits())  # type: ignore[arg-type]
    socket = FakeSocket()
    family = Peer(5, "client", "Ayse", session_id=13)
    serving = asyncio.create_task(hub.serve(socket, "c1", "plan", family, "presentation"))
    await asyncio.sleep(0.1)
    hub.deliver(Notice("drop", "c1", meta={"reason": "weg"}, origin="other"))
    await asyncio.sleep(0.1)
    assert socket.closed is None
    socket.incoming.put_nowait({"type": "websocket.disconnect"})
    await asyncio.wait_for(serving, 2)


async def test_the_check_takes_more_sign_ins_than_one_statement_may_name(store: Store) -> None:
    """PostgreSQL takes at most 32767 parameters: a busy process must not break the check."""
    account = await add_coordinator(store)
    kept = await store.create_session(secrets.token_hex(32), account_id=account.id)
    ids = [*range(kept.id + 1, kept.id + 40_001), kept.id]
    assert list(await store.sessions_by_id(ids)) == [kept.id]


async def test_the_check_ends_sign_ins_whose_link_ran_out_and_keeps_the_rest(
    store: Store, tmp_path: Path
) -> None:
    """What the periodic check decides for each kind of sign-in: an account's and a working
    link's hold; an expired one, one through a link that expired, and one whose conference
    closed longer ago than the grace period end; a deleted one is ended too."""
    from server.conference.auth import ended_sessions
    from server.settings import Settings
    from server.storage.models import Conference

    settings = Settings.from_env(
        {"KRING_INSTANCE_DIR": str(tmp_path), "KRING_INVITATION_GRACE_DAYS": "30"}
    )
    now = utcnow()
    account = await add_coordinator(store)
    open_one = await store.create_conference(account, "Sam", "Vraag")
    closed_one = await store.create_conference(account, "Noor", "Vraag")

    async def signed_in(conference_id: str, link_expires: timedelta | None = None) -> int:
        person = await store.add_participant(conference_id, "Iemand", "network_member")
        expires = None if link_expires is None else now + link_expires
        link = await store.issue_invitation(person.id, secrets.token_hex(32), expires_at=expires)
        session = await store.create_session(secrets.token_hex(32), invitation_id=link.id)
        return session.id

    coordinator = (await store.create_session(secrets.token_hex(32), account_id=account.id)).id
    working = await signed_in(open_one.id, timedelta(days=2))
    link_ran_out = await signed_in(open_one.id, timedelta(seconds=-1))
    long_closed = await signed_in(closed_one.id)
    expired = (
        await store.create_session(
            secrets.token_hex(32), account_id=account.id, expires_at=now - timedelta(minutes=1)
        )
    ).id
    async with store._sessions() as db:
        await db.execute(
            update(Conference)
            .where(Conference.id == closed_one.id)
            .values(closed_at=now - timedelta(days=31))
        )
        await db.commit()
    deleted = expired + 1000
    ids = [coordinator, working, link_ran_out, long_closed, expired, deleted]
    assert await ended_sessions(store, settings, ids) == {
        link_ran_out,
        long_closed,
        expired,
        deleted,
    }
