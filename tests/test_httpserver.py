"""The HTTP server `kring serve` runs (server/httpserver.py), on a real server: a connection
that does not finish its request's headers within KRING_HTTP_HEADER_TIMEOUT is closed while
others are served meanwhile; a websocket and an event stream, whose headers arrived, outlive
that deadline."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.live import asleep, connected, wait_until, write_heaps
from tests.support.people import as_, demo_conference
from tests.support.server import make_instance, server_side_state, start_server, stop_server


def _half_request(port: int, first: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(first + b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the empty line
    return sock


def _closed_after(sock: socket.socket, limit: float) -> float:
    """Seconds until the server closed ``sock`` (reading what it sent before), at most
    ``limit``; fails if it stays open."""
    start = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - start < limit:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - start
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - start
    raise AssertionError(f"still open after {limit}s")


def test_half_sent_requests_are_closed_and_others_are_served_meanwhile(tmp_path: Path) -> None:
    server = start_server(make_instance(tmp_path, KRING_HTTP_HEADER_TIMEOUT="1"))
    port = server.port
    sockets: list[socket.socket] = []
    try:
        opened = time.monotonic()
        sockets = [_half_request(port) for _ in range(50)]
        silent = socket.create_connection(("127.0.0.1", port), timeout=5)  # sends nothing
        sockets.append(silent)
        # A whole request is answered at once while the half ones hang.
        answered = httpx.get(f"{server.url}/healthz", timeout=5)
        assert answered.status_code == 200
        assert time.monotonic() - opened < 1.0
        waits = [_closed_after(sock, 5.0) for sock in sockets]
        all_closed = time.monotonic() - opened
        print(f"51 stalled connections all closed {all_closed:.2f}s after opening")
        assert all_closed < 4.0, waits
        # After a response on a kept-alive connection, half a next request is closed too.
        kept = socket.create_connection(("127.0.0.1", port), timeout=5)
        sockets.append(kept)
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\n")
        assert kept.recv(65536).startswith(b"HTTP/1.1 200")
        assert _closed_after(kept, 5.0) < 3.0
        # A request whose headers arrived may take longer with its body: it is answered.
        slow = socket.create_connection(("127.0.0.1", port), timeout=5)
        sockets.append(slow)
        body = b"email=x%40example.org&password=wrong"
        slow.sendall(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
            + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        time.sleep(2.0)
        slow.sendall(body)
        assert slow.recv(65536).startswith(b"HTTP/1.1 401")
    finally:
        for sock in sockets:
            sock.close()
        stop_server(server)


async def test_a_websocket_and_an_event_stream_outlive_the_header_deadline(
    tmp_path: Path,
) -> None:
    server = start_server(make_instance(tmp_path, KRING_HTTP_HEADER_TIMEOUT="1"))
    try:
        conference = await demo_conference(server, "information")
        device = conference.device("information", conference.cookie("client"), saved=True)
        async with (
            connected(device),
            as_(conference, conference.coordinator_cookie()) as coordinator,
            coordinator.stream("GET", f"/api/conferences/{conference.id}/events") as events,
        ):
            assert events.status_code == 200
            await asyncio.sleep(2.5)
            assert device.close_code is None
            device.text("text").insert(0, "nog open")
            await device.wait_for(device.all_saved)
            moved = await coordinator.post(
                f"/api/conferences/{conference.id}/phase", json={"phase": "private_time"}
            )
            assert moved.status_code == 200
            async for line in events.aiter_lines():  # the stream was kept: the change arrives
                if line.startswith("event: phase"):
                    break
    finally:
        stop_server(server)


def test_a_websocket_handshake_the_server_cannot_accept_is_answered_and_logs_no_crash(
    tmp_path: Path,
) -> None:
    """A request that asks for a websocket without a key (or with a version nobody speaks)
    gets websockets' own 400, and the server's log holds no crash of the connection: a
    scanner's bad upgrades must not fill the error log that someone on call reads."""
    server = start_server(make_instance(tmp_path))
    try:
        upgrade = b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
        for extra in (
            b"",
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 7\r\n",
        ):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            with sock:
                sock.sendall(b"GET /ws/x/plan HTTP/1.1\r\nHost: x\r\n" + upgrade + extra + b"\r\n")
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
            assert answer.startswith(b"HTTP/1.1 400 Bad Request"), answer
        # A good request after them is served by the same process.
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
    finally:
        stop_server(server)
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log and "Fatal error" not in log, log


async def test_a_device_that_stops_reading_is_let_go_when_it_misses_its_pong(
    tmp_path: Path,
) -> None:
    """A tablet whose app froze (its system still takes packets, but nothing reads them) stops
    answering pings. Once its pong is late the connection ends, also when the server still
    holds frames for it, fewer than would drop it: kept until they drain, it would hold them,
    its socket and its place in the room for as long as the tablet stays frozen."""
    server = start_server(
        make_instance(
            tmp_path,
            KRING_PING_INTERVAL_SECONDS="1",
            KRING_PING_TIMEOUT_SECONDS="1",
            KRING_SEND_QUEUE_BYTES=str(64 * 1024 * 1024),  # never dropped for falling behind
        )
    )
    try:
        conference = await demo_conference(server, "information")
        writer = conference.device("information", conference.cookie("client"), saved=True)
        async with connected(writer):
            frozen = await asleep(conference, conference.cookie("network_member", 1))
            port = frozen.transport.get_extra_info("sockname")[1]
            try:
                await write_heaps(writer)
                await wait_until(lambda: server_side_state(server, port) != "established", 15)
                assert writer.close_code is None  # the writer answers its pings: it stays
            finally:
                frozen.transport.abort()
    finally:
        stop_server(server)


async def test_a_frozen_device_does_not_hold_up_a_restart(tmp_path: Path) -> None:
    """SIGTERM while a tablet's app is frozen with frames still owed to it: the server stops
    within seconds, not after uvicorn's whole graceful timeout (30 s, logged as an error, with
    the room's own shutdown waiting behind it, under systemd's 40 s before a SIGKILL); a
    device that reads still gets its goodbye (1012, "service restart")."""
    server = start_server(
        make_instance(
            tmp_path, KRING_SEND_QUEUE_BYTES=str(64 * 1024 * 1024), KRING_LOG_LEVEL="info"
        )
    )
    try:
        conference = await demo_conference(server, "information")
        writer = conference.device("information", conference.cookie("client"), saved=True)
        async with connected(writer):
            frozen = await asleep(conference, conference.cookie("network_member", 1))
            try:
                await write_heaps(writer)
                stopping = time.monotonic()
                server.process.send_signal(signal.SIGTERM)
                assert await writer.wait_closed(10) == (1012, "")
                with contextlib.suppress(subprocess.TimeoutExpired):
                    await asyncio.to_thread(server.process.wait, 25)
                stopped_after = time.monotonic() - stopping
            finally:
                frozen.transport.abort()
    finally:
        stop_server(server)
    assert stopped_after < 10, f"stopped after {stopped_after:.1f} s"
    log = (tmp_path / "server.log").read_text()
    assert "timeout graceful shutdown exceeded" not in log
    assert "Application shutdown complete" in log
