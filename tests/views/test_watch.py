"""What an operator watches, on a real `kring serve`: /metrics opens only with the token or to
an allowed peer (never to a forwarded address), its numbers move with traffic, and /healthz
names a database or Redis that stopped answering."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from starlette.requests import Request

from server.rooms import protocol
from server.settings import Settings
from server.views import watch
from tests.support.databases import create_postgres_database, drop_postgres_database
from tests.support.live import connected
from tests.support.meeting import agree_in_store, move
from tests.support.people import as_, demo_conference, server_store
from tests.support.processes import descendants_of
from tests.support.server import (
    LiveServer,
    free_port,
    make_instance,
    metric_samples,
    missing_service,
    serving,
    start_server,
    stop_server,
)

TOKEN = "metrics-token-0123456789"
BEARER = {"authorization": f"Bearer {TOKEN}"}
ALLOWED_PEER = "127.0.0.2"  # loopback too on Linux: a second address to connect from


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server whose /metrics opens with TOKEN or to 127.0.0.2; 127.0.0.1 is (by default) a
    trusted proxy, whose X-Forwarded-For the login limit believes."""
    instance = make_instance(
        tmp_path_factory.mktemp("watched"),
        KRING_METRICS_TOKEN=TOKEN,
        KRING_METRICS_ALLOW=f"{ALLOWED_PEER}/32",
    )
    with serving(instance) as server:
        yield server


def _get(
    server: LiveServer, path: str, source: str = "127.0.0.1", **kwargs: object
) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=server.url, transport=transport, timeout=10) as client:
        return client.get(path, **kwargs)  # type: ignore[arg-type]


async def scrape(server: LiveServer) -> dict[str, float]:
    return await metric_samples(server, TOKEN)


async def until(server: LiveServer, condition: object, within: float = 10.0) -> dict[str, float]:
    """Scrape until ``condition(samples)`` holds (bounded); the samples that met it."""
    assert callable(condition)
    deadline = asyncio.get_running_loop().time() + within
    while True:
        samples = await scrape(server)
        if condition(samples):
            return samples
        assert asyncio.get_running_loop().time() < deadline, "the metric did not move in time"
        await asyncio.sleep(0.1)


# -- who may read /metrics ------------------------------------------------------------------


def test_metrics_refuses_a_request_from_outside(watched: LiveServer) -> None:
    refused = {
        "no token": _get(watched, "/metrics"),
        "wrong token": _get(watched, "/metrics", headers={"authorization": "Bearer guess"}),
        "not a bearer token": _get(watched, "/metrics", headers={"authorization": TOKEN}),
        # From a trusted proxy's address, claiming the allowed one: the login limit believes
        # this header, /metrics never does.
        "spoofed forward": _get(watched, "/metrics", headers={"x-forwarded-for": ALLOWED_PEER}),
    }
    assert {why: r.status_code for why, r in refused.items()} == {
        "no token": 401,
        "wrong token": 403,
        "not a bearer token": 403,
        "spoofed forward": 401,
    }
    for response in refused.values():
        assert response.content == b""
        assert response.headers["cache-control"] == "no-store"


def test_metrics_opens_with_the_token_or_to_an_allowed_peer(watched: LiveServer) -> None:
    with_token = _get(watched, "/metrics", headers=BEARER)
    from_allowed = _get(watched, "/metrics", source=ALLOWED_PEER)
    for response in (with_token, from_allowed):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert "\nkring_rooms_loaded " in response.text
    # The allowed peer with a wrong token is still the allowed peer.
    wrong = {"authorization": "Bearer guess"}
    assert _get(watched, "/metrics", source=ALLOWED_PEER, headers=wrong).status_code == 200


def test_the_peer_is_matched_against_the_allowed_networks() -> None:
    allowed = "10.0.0.0/8,2001:db8::/32"
    assert watch.peer_allowed("10.1.2.3", allowed)
    assert watch.peer_allowed("::ffff:10.1.2.3", allowed)  # IPv4 on a dual-stack socket
    assert watch.peer_allowed("2001:db8::1", allowed)
    assert not watch.peer_allowed("11.1.2.3", allowed)
    assert not watch.peer_allowed("10.1.2.3", "")
    assert not watch.peer_allowed(None, allowed)  # a Unix socket has no peer address
    assert not watch.peer_allowed("testclient", allowed)


async def test_metrics_is_off_without_token_or_addresses(tmp_path: Path) -> None:
    settings = Settings.from_env({"KRING_INSTANCE_DIR": str(tmp_path)})
    app = SimpleNamespace(state=SimpleNamespace(settings=settings))
    request = Request({"type": "http", "app": app, "headers": [(b"authorization", b"Bearer x")]})
    assert (await watch.metrics_page(request)).status_code == 404


# -- the numbers move -----------------------------------------------------------------------


def _moved(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return after.get(name, 0.0) - before.get(name, 0.0)


async def test_the_numbers_move_with_traffic(watched: LiveServer) -> None:
    conference = await demo_conference(watched, "information")
    before = await scrape(watched)
    assert before.get("kring_connections_open{document=information}", 0.0) == 0.0
    writer = conference.device("information", conference.cookie("client"), saved=True)
    reader = conference.device("information", conference.cookie("network_member"))
    async with connected(writer, reader):
        writer.text().insert(0, "Oma haalt Sam op. ")
        await writer.wait_for(writer.all_saved)
        during = await scrape(watched)
        assert during["kring_connections_open{document=information}"] == 2
        assert during["kring_rooms_loaded"] >= 1 and during["kring_documents_loaded"] >= 1
        assert _moved(before, during, "kring_updates_committed_total") >= 1
        assert _moved(before, during, "kring_commit_batch_updates_count") >= 1
        assert _moved(before, during, "kring_commit_seconds_count") >= 1
        assert during["kring_db_pool_limit"] >= 1
        # A message that is not a Yjs update is refused and counted by its reason.
        await reader.send_raw(protocol.encode(protocol.Update(b"\x05garbage")))
        assert (await reader.wait_closed())[0] == 1007
    after = await until(watched, lambda s: s["kring_connections_open{document=information}"] == 0)
    assert _moved(before, after, "kring_updates_refused_total{reason=not_yjs}") == 1
    assert (await move(conference, "private_time")).status_code == 200
    moved = await scrape(watched)
    assert _moved(after, moved, "kring_phase_changes_total{phase=private_time}") == 1
    # The event loop's own lag is measured all along, by a timer that checks its oversleep.
    await until(watched, lambda s: s["kring_event_loop_lag_seconds_count"] > 0)


# -- the late event loop, in the log -----------------------------------------------------------


async def test_a_late_event_loop_is_logged_naming_the_heavy_work_and_its_route(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A PDF copy is made in a worker process of the heavy work while the event loop waits for
    it. When the loop wakes late meanwhile (here: the copy is held up, its fork server paused,
    and the server itself is paused for 50 ms at a time), the log says so, and names the heavy
    work and the route that ran."""
    instance = make_instance(tmp_path_factory.mktemp("late"), KRING_LOOP_LAG_WARN_MS="20")
    log = instance.folder / "server.log"
    with serving(instance) as server:
        conference = await demo_conference(server)
        async with server_store(conference) as store:
            await agree_in_store(store, conference.id)
        helpers = descendants_of(server.process.pid)  # the fork server the workers come from
        assert helpers
        async with as_(conference, conference.coordinator_cookie()) as coordinator:
            try:
                for pid in helpers:
                    os.kill(pid, signal.SIGSTOP)
                copying = asyncio.create_task(coordinator.get(f"/c/{conference.id}/plan/1.pdf"))
                deadline = time.monotonic() + 10
                while not (found := [x for x in log.read_text().splitlines() if "pdf copy" in x]):
                    assert time.monotonic() < deadline, (
                        f"no warning names the copy:\n{log.read_text()}"
                    )
                    os.kill(server.process.pid, signal.SIGSTOP)
                    try:
                        time.sleep(0.05)  # noqa: ASYNC251 (this loop waits for nothing meanwhile)
                    finally:
                        os.kill(server.process.pid, signal.SIGCONT)
                    await asyncio.sleep(0.1)  # the request goes out, the server takes it on
            finally:
                for pid in helpers:
                    os.kill(pid, signal.SIGCONT)
            copy = await asyncio.wait_for(copying, 30)
        assert copy.status_code == 200 and copy.content.startswith(b"%PDF")
    line = found[0]
    assert " WARNING kring.loop: the event loop woke " in line
    assert "heavy work: pdf copy" in line
    assert "GET /c/{conference_id}/plan/{number:int}.pdf" in line  # the route, not its ids
    assert conference.id not in line


# -- /healthz --------------------------------------------------------------------------------


def test_healthz_says_the_database_answers(watched: LiveServer) -> None:
    response = _get(watched, "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "failed": [], "checks": {"database": "ok"}}


def _own_redis(port: int) -> subprocess.Popen[bytes]:
    """A Redis of this test's own (so it can be stopped), keeping nothing on disk."""
    binary = shutil.which("redis-server")
    if binary is None:
        missing_service("redis-server", "install Debian's redis-server")
    assert binary is not None
    redis = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    import redis as client

    for _ in range(100):
        try:
            client.Redis(port=port, socket_timeout=1).ping()
            return redis
        except client.exceptions.ConnectionError:
            if redis.poll() is not None:
                break
            time.sleep(0.05)
    redis.kill()
    raise AssertionError("redis-server did not start")


@pytest.mark.postgres
def test_healthz_names_the_redis_and_database_that_stopped_answering(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    made = asyncio.run(create_postgres_database())
    if made is None:
        missing_service("PostgreSQL", "start it on 127.0.0.1:5432 (trust auth)")
    assert made is not None
    name, database_url = made
    redis_port = free_port()
    redis = _own_redis(redis_port)
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    instance = make_instance(
        tmp_path_factory.mktemp("health"),
        KRING_DATABASE_URL=database_url,
        KRING_REDIS_URL=redis_url,
    )
    server = start_server(instance)
    try:
        healthy = _get(server, "/healthz")
        assert healthy.status_code == 200
        assert healthy.json()["checks"] == {"database": "ok", "redis": "ok"}

        redis.terminate()
        redis.wait(timeout=10)
        no_redis = _get(server, "/healthz")
        assert no_redis.status_code == 503
        assert no_redis.json() == {
            "status": "failing",
            "failed": ["redis"],
            "checks": {"database": "ok", "redis": "failed"},
        }

        asyncio.run(drop_postgres_database(name))
        neither = _get(server, "/healthz")
        assert neither.status_code == 503
        assert neither.json()["failed"] == ["database", "redis"]
        # It names what failed, nothing of where or who.
        for response in (no_redis, neither):
            body = json.dumps(response.json())
            assert str(redis_port) not in body and name not in body and "postgres" not in body
    finally:
        stop_server(server)
        if redis.poll() is None:
            redis.kill()
        asyncio.run(drop_postgres_database(name))
