"""Kring load generator: live rooms under load, measured from the outside.

    .venv/bin/python bench/load.py [all|rooms|fanout|coldjoin|idle] [--quick]

Each scenario makes a throwaway instance in a temporary folder (its own SQLite database,
secret key and free port), creates conferences, participants and session cookies straight
through server.storage.store / server.conference.auth, starts ``python -m server.cli serve``
as a subprocess and
drives it with asyncio websocket clients that speak y-websocket (server.rooms.protocol).
It prints figures; it asserts nothing and exits 0 even when a target is missed.

Latency: every edit inserts a unique marker ``[m000000042]`` into a pycrdt Text; a Yjs v1
update carries inserted text verbatim as UTF-8, so each receiving client decodes the message
and finds the marker in the update bytes. Writer and receivers share one process and one
clock (time.perf_counter, CLOCK_MONOTONIC): latency = arrival at a receiver - just before the
writer's send. The load generator's own CPU use is printed too: when it nears 100% of a core,
part of the latency is the generator's own queueing, not the server's.

See bench/README.md for what each scenario measures and the results on the reference box.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import gc
import importlib.metadata
import math
import os
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pycrdt import Doc, Text  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from server.conference import auth  # noqa: E402
from server.rooms import protocol  # noqa: E402
from server.rooms.room import DocChannel, Room  # noqa: E402
from server.settings import Limits, Settings  # noqa: E402
from server.storage.documents import DocumentLog  # noqa: E402
from server.storage.store import Store  # noqa: E402
from server.views.identity import PARTICIPANT_COOKIE  # noqa: E402

MARKER = re.compile(rb"\[m(\d{9})\]")
SYNC_STEP1_EMPTY = protocol.encode(protocol.SyncStep1(Doc().get_state()))
SYNC_STEP2_EMPTY = protocol.encode(protocol.SyncStep2(b"\x00\x00"))
FORBIDDEN_PORTS = {8000, 8765}
CLK_TCK = os.sysconf("SC_CLK_TCK")

# --server-gc: the server runs as ``python -c GC_WRAPPER serve ...``, which is
# ``python -m server.cli serve ...`` plus a gc.callbacks hook that logs every collection
# (monotonic clock, generation, milliseconds) so that pauses can be lined up with latencies.
GC_WRAPPER = """
import gc, os, sys, time
_log = open(os.environ["KRING_BENCH_GC_LOG"], "a", buffering=1)
_start = [0.0]
def _timed(phase, info):
    if phase == "start":
        _start[0] = time.perf_counter()
    else:
        now = time.perf_counter()
        _log.write(f"{now:.6f} {info['generation']} {(now - _start[0]) * 1000:.3f}\\n")
gc.callbacks.append(_timed)
from server.cli import main
sys.exit(main())
"""
SERVER_GC: dict[str, bool] = {}

TARGET_P99_MS = 50.0
TARGET_COLD_MS = 100.0


def progress(text: str) -> None:
    sys.stdout.flush()
    print(f"  .. {text}", file=sys.stderr, flush=True)


# -- the server under test ------------------------------------------------------------------


def die_with_parent() -> None:
    """In the child: get SIGKILL when the bench process dies, however it dies."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port() -> int:
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in FORBIDDEN_PORTS:
            return port
    raise RuntimeError("no free port")


class Instance:
    """A throwaway Kring: temp folder, database, env, and the server subprocess."""

    def __init__(self, label: str, **extra_env: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"kring-bench-{label}-"))
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("KRING_")}
        env.update(
            KRING_INSTANCE_DIR=str(self.dir),
            KRING_BASE_URL=self.base_url,
            KRING_SECRET_KEY=secrets.token_urlsafe(48),
            KRING_LOG_LEVEL="warning",
            KRING_MAX_CONNECTIONS_PER_ROOM="2000",
            KRING_MAX_MESSAGES_PER_SECOND="1000",
        )
        env.update(extra_env)
        self.env = env
        self.settings = Settings.from_env(env)
        self.db_path = self.dir / "kring.db"
        self.log_path = self.dir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.rss_start = 0

    def ws_url(self, conference_id: str, document: str = "plan") -> str:
        return f"ws://127.0.0.1:{self.port}/ws/{conference_id}/{document}"

    def upgrade(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "server.cli", "db", "upgrade"],
            env=self.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self, within: float = 30.0) -> float:
        """Start the server and wait for /healthz; return how long that took (s)."""
        assert self.proc is None
        t0 = time.perf_counter()
        log = open(self.log_path, "ab")  # noqa: SIM115 (handed to the child)
        if SERVER_GC:
            self.env["KRING_BENCH_GC_LOG"] = str(self.dir / "gc.log")
            command = [sys.executable, "-c", GC_WRAPPER]
        else:
            command = [sys.executable, "-m", "server.cli"]
        try:
            self.proc = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
                [*command, "serve", "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
            )
        finally:
            log.close()
        self.starts += 1
        deadline = t0 + within
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        took = time.perf_counter() - t0
                        self.reset_peak()
                        return took
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the server did not answer /healthz within {within:.0f} s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def cleanup(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def warnings(self) -> list[str]:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        # Kring's own format ("... WARNING kring.rooms: ...") and uvicorn's ("ERROR:    ...")
        return [
            line
            for line in text.splitlines()
            if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line) or line.startswith("Traceback")
        ]

    # /proc readings of the server process

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime

    def thread_cpu(self) -> dict[int, float]:
        """CPU seconds per thread of the server (the main thread runs the event loop)."""
        assert self.proc is not None
        out = {}
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError):
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                out[int(task.name)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
        return out

    def reset_peak(self) -> None:
        """Start VmHWM afresh: the startup peak (auth.py hashes a dummy password with argon2's
        64 MiB at import) would otherwise hide the peak of the load itself."""
        assert self.proc is not None
        with contextlib.suppress(OSError), open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
            f.write("5")
        self.rss_start = self.memory_kb()["VmRSS"]

    def memory_kb(self) -> dict[str, int]:
        assert self.proc is not None
        out = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(value.split()[0])
        return out

    def gc_pauses(self, since: float, until: float) -> list[tuple[float, int, float]]:
        """(monotonic time, generation, ms) of the server's collections in a time range."""
        out = []
        with contextlib.suppress(OSError), open(self.dir / "gc.log") as f:
            for line in f:
                at, generation, took = line.split()
                if since <= float(at) <= until:
                    out.append((float(at), int(generation), float(took)))
        return out

    def count_rows(self, query: str, *params: Any) -> int:
        with contextlib.closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)) as db:
            return int(db.execute(query, params).fetchone()[0])


# -- conferences, people and cookies --------------------------------------------------------


@dataclass
class Conference:
    id: str
    cookies: list[str]


async def make_conferences(
    settings: Settings, conferences: int, people: int, phase: str = "private_time"
) -> list[Conference]:
    """Conferences with ``people`` family members each, every one signed in on one device.

    Does what opening a personal link does (auth.start_participant_session): an invitation
    whose token hash is stored, and a session row holding the HMAC of the cookie's token.
    """
    store = Store.connect(settings.database_url)
    try:
        account = await store.create_account(
            f"bench-{secrets.token_hex(4)}@kring.example", "Bench Coördinator", "!unusable"
        )
        made = []
        for c in range(conferences):
            conference = await store.create_conference(
                account, f"Cliënt {c}", "Hoe houden we het plan bij?", location="Bench"
            )
            await store.set_phase(conference.id, phase)
            cookies = []
            for p in range(people):
                role = "client" if p == 0 else "network_member"
                person = await store.add_participant(conference.id, f"Lid {c}.{p}", role)
                invitation = await store.issue_invitation(
                    person.id, auth.hash_token(settings.secret_key, auth.new_token())
                )
                token = auth.new_token()
                await store.create_session(
                    auth.hash_token(settings.secret_key, token), invitation_id=invitation.id
                )
                cookies.append(f"{PARTICIPANT_COOKIE}={token}")
            made.append(Conference(conference.id, cookies))
        return made
    finally:
        await store.close()


def typing_updates(count: int, seed: int, authors: int = 4) -> tuple[list[bytes], str]:
    """``count`` Yjs updates of people typing a plan: one edit per update, several authors.

    Mostly typing at or near the end, sometimes elsewhere, sometimes deleting; the authors
    take turns (each catches up before typing, as a synced tablet would).
    """
    rnd = random.Random(seed)
    docs: list[Doc[Any]] = [Doc(client_id=rnd.getrandbits(32)) for _ in range(authors)]
    texts = [d.get("plan", type=Text) for d in docs]
    updates: list[bytes] = []
    catching_up = False

    def record(event: Any) -> None:
        if not catching_up:
            updates.append(event.update)

    subscriptions = [d.observe(record) for d in docs]
    words = "we spreken af dat oma op dinsdag kookt en Sam naar school brengt .".split()  # noqa: SIM905
    current = 0
    for _ in range(count):
        if rnd.random() < 0.03:  # another person takes over
            nxt = rnd.randrange(authors)
            if nxt != current:
                catching_up = True
                docs[nxt].apply_update(docs[current].get_update(docs[nxt].get_state()))
                catching_up = False
                current = nxt
        text = texts[current]
        length = len(text)
        roll = rnd.random()
        if roll < 0.85 or length < 40:
            at = max(0, length - rnd.choice((0, 0, 0, 1, 3, 12)))
            text.insert(
                at, rnd.choice(words) + " " if rnd.random() < 0.3 else rnd.choice("aeiostn ")
            )
        elif roll < 0.93:
            text.insert(rnd.randrange(length), rnd.choice(words) + " ")
        else:
            at = rnd.randrange(length - 3)
            del text[at : at + rnd.randint(1, 3)]
    final = str(texts[current])
    for d, s in zip(docs, subscriptions, strict=True):
        d.unobserve(s)
    return updates, final


async def write_log(settings: Settings, docs: dict[tuple[str, str], list[bytes]]) -> float:
    """Write updates straight into doc_update through DocumentLog (group commit); seconds."""
    store = Store.connect(settings.database_url)
    log = DocumentLog(store.engine)
    log.start()
    t0 = time.perf_counter()
    try:
        for (conference_id, document), updates in docs.items():
            for i in range(0, len(updates), 500):
                await asyncio.wait_for(
                    asyncio.gather(
                        *(
                            log.append(conference_id, document, u, lambda _id: None)
                            for u in updates[i : i + 500]
                        )
                    ),
                    60,
                )
        return time.perf_counter() - t0
    finally:
        await log.close()
        await store.close()


# -- clients --------------------------------------------------------------------------------


class Tally:
    """Every marker sent: when, how many receivers expected it, how many got it."""

    def __init__(self) -> None:
        self.sent: dict[int, list[float]] = {}  # id -> [t_send, expected, received]
        self.latencies: list[float] = []
        self.sent_at: list[float] = []  # per delivery, the send time of its edit
        self.unknown = 0
        self.next_id = 0
        self.expected_total = 0
        self.received_total = 0

    def new_marker(self) -> int:
        self.next_id += 1
        return self.next_id

    def delivered(self, marker: int, now: float) -> None:
        entry = self.sent.get(marker)
        if entry is None:
            self.unknown += 1
            return
        entry[2] += 1
        self.received_total += 1
        self.latencies.append(now - entry[0])
        self.sent_at.append(entry[0])

    def losses(self) -> tuple[int, int]:
        lost = dup = 0
        for _t, expected, received in self.sent.values():
            if received < expected:
                lost += int(expected - received)
            elif received > expected:
                dup += int(received - expected)
        return lost, dup


def connect_ws(url: str, cookie: str, origin: str, within: float) -> Any:
    return connect(
        url,
        origin=origin,  # type: ignore[arg-type]
        additional_headers={"Cookie": cookie},
        compression=None,
        open_timeout=within,
        close_timeout=5,
        ping_interval=None,
        max_size=None,
        proxy=None,
    )


class Device:
    """One tablet in one document. Receiving is lean (decode, find markers); a device that
    edits keeps a pycrdt Doc of its own edits, so what it sends is a real Yjs update."""

    def __init__(self, url: str, cookie: str, origin: str, tally: Tally, peers: list[Device]):
        self.url, self.cookie, self.origin = url, cookie, origin
        self.tally = tally
        self.peers = peers
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.synced = asyncio.Event()
        self.open = False
        self.close_code: int | None = None
        self.close_reason = ""
        self.error = ""
        self.denied = 0
        self.edits = 0
        self.doc: Doc[Any] | None = None
        self.text: Text | None = None
        self._last: bytes = b""

    async def connect(self, within: float = 30.0) -> None:
        self.ws = await connect_ws(self.url, self.cookie, self.origin, within)
        self.reader = asyncio.create_task(self._read(self.ws))
        await self.ws.send(SYNC_STEP1_EMPTY)

    async def _read(self, ws: ClientConnection) -> None:
        tally = self.tally
        try:
            async for data in ws:
                now = time.perf_counter()
                if isinstance(data, str):
                    continue
                message = protocol.decode(data)
                kind = type(message)
                if kind is protocol.Update:
                    for marker in MARKER.findall(message.update):  # type: ignore[union-attr]
                        tally.delivered(int(marker), now)
                elif kind is protocol.SyncStep1:
                    reply = (
                        SYNC_STEP2_EMPTY
                        if self.doc is None
                        else protocol.encode(
                            protocol.SyncStep2(self.doc.get_update(message.state_vector))  # type: ignore[union-attr]
                        )
                    )
                    await ws.send(reply)
                elif kind is protocol.SyncStep2:
                    self.open = True
                    self.synced.set()
                elif kind is protocol.AuthDenied:
                    self.denied += 1
        except ConnectionClosed:
            pass
        except Exception as exc:  # a protocol error: report it, never hide it
            self.error = repr(exc)
        finally:
            self.open = False
            self.close_code = ws.close_code if ws.close_code is not None else 1006
            self.close_reason = ws.close_reason or ""

    def _capture(self, event: Any) -> None:
        self._last = event.update

    async def edit(self) -> None:
        if not self.open or self.ws is None:
            return
        if self.doc is None:
            self.doc = Doc(client_id=random.getrandbits(32))  # like Yjs in a browser
            self.text = self.doc.get("plan", type=Text)
            self._subscription = self.doc.observe(self._capture)
        assert self.text is not None
        tally = self.tally
        marker = tally.new_marker()
        self.text.insert(len(self.text), f"afspraak [m{marker:09d}] ")
        data = protocol.encode(protocol.Update(self._last))
        expected = 0
        for peer in self.peers:
            if peer is not self and peer.open:
                expected += 1
        tally.expected_total += expected
        tally.sent[marker] = [time.perf_counter(), expected, 0]
        self.edits += 1
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(data)

    async def close(self) -> None:
        ws = self.ws
        if ws is None:
            return
        try:
            await asyncio.wait_for(ws.close(), 5)
        except Exception:
            ws.transport.abort()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader


async def connect_all(devices: list[Device], concurrency: int, within: float) -> float:
    """Open every device (bounded concurrency), then wait for each to be synced; seconds."""
    t0 = time.perf_counter()
    gate = asyncio.Semaphore(concurrency)

    async def one(device: Device) -> None:
        async with gate:
            try:
                await device.connect(within)
            except Exception as exc:
                device.error = repr(exc)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(one(d) for d in devices)), within)
    deadline = t0 + within
    for device in devices:
        if device.ws is None or device.error:
            continue
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(device.synced.wait(), remaining)
    return time.perf_counter() - t0


async def close_all(devices: Iterable[Device]) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(d.close() for d in devices)), 30)


async def drain(tally: Tally, within: float) -> float:
    t0 = time.perf_counter()
    deadline = t0 + within
    while tally.received_total < tally.expected_total:
        if time.perf_counter() > deadline:
            break
        await asyncio.sleep(0.02)
    return time.perf_counter() - t0


async def timed_join(
    url: str, cookie: str, origin: str, within: float = 30.0
) -> tuple[float, float, bytes]:
    """Connect, send sync step 1, wait for the server's sync step 2.

    Returns (seconds to the open websocket, seconds to synced, the synced update)."""
    t0 = time.perf_counter()
    async with asyncio.timeout(within):
        ws = await connect_ws(url, cookie, origin, within)
        t_open = time.perf_counter() - t0
        try:
            await ws.send(SYNC_STEP1_EMPTY)
            while True:
                data = await ws.recv()
                if isinstance(data, str):
                    continue
                message = protocol.decode(data)
                if isinstance(message, protocol.SyncStep2):
                    t_synced = time.perf_counter() - t0
                    return t_open, t_synced, message.update
                if isinstance(message, protocol.SyncStep1):
                    await ws.send(SYNC_STEP2_EMPTY)
        finally:
            await ws.close()


# -- measuring ------------------------------------------------------------------------------


PROFILE: dict[str, str] = {}  # py-spy: the binary and the folder for its output (optional)


def machine_busy() -> tuple[float, float]:
    """(CPU seconds all processes used, CPU seconds stolen by the hypervisor) since boot."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq) / CLK_TCK, steal / CLK_TCK


class LagMonitor:
    """How late this process's event loop wakes up (a generator stall inflates latencies)."""

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.lags: list[float] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(self.period)
            self.lags.append(time.perf_counter() - t - self.period)

    def stop(self) -> list[float]:
        self.task.cancel()
        return sorted(self.lags)


class Window:
    """Server CPU and load-generator CPU over a stretch of wall time (and, with --py-spy,
    a py-spy recording of the server over the same stretch). The generator's garbage
    collector is off meanwhile (its objects are frozen first), so that its pauses do not
    show up as server latency."""

    def __init__(self, instance: Instance, name: str = "") -> None:
        self.instance = instance
        gc.collect()
        gc.freeze()
        gc.disable()
        self.lag = LagMonitor()
        self.spy: subprocess.Popen[bytes] | None = None
        if PROFILE and name and instance.proc is not None:
            out = Path(PROFILE["dir"]) / f"{name}.collapsed.txt"
            self.spy = subprocess.Popen(  # noqa: S603 (the py-spy named on the command line)
                [
                    PROFILE["py_spy"],
                    "record",
                    "--pid",
                    str(instance.proc.pid),
                    "--rate",
                    "250",
                    "--nonblocking",
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                    "--duration",
                    "300",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)  # let it attach
            progress(f"py-spy records the server into {out}")
        self.busy0 = machine_busy()
        self.threads0 = instance.thread_cpu()
        self.wall0 = time.perf_counter()
        self.cpu0 = instance.cpu_seconds()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.gen0 = usage.ru_utime + usage.ru_stime

    def close(self) -> tuple[float, float, float]:
        self.lags = self.lag.stop()
        gc.enable()
        gc.unfreeze()
        if self.spy is not None:
            self.spy.send_signal(signal.SIGINT)
            try:
                self.spy.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.spy.kill()
                self.spy.wait(timeout=5)
        wall = time.perf_counter() - self.wall0
        cpu = self.instance.cpu_seconds() - self.cpu0
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.figures = (wall, cpu, usage.ru_utime + usage.ru_stime - self.gen0)
        threads = self.instance.thread_cpu()
        pid = self.instance.proc.pid if self.instance.proc else 0
        spent = {tid: cpu - self.threads0.get(tid, 0.0) for tid, cpu in threads.items()}
        self.loop_cpu = spent.get(pid, 0.0)
        self.other_threads_cpu = sum(v for tid, v in spent.items() if tid != pid)
        self.thread_count = len(threads)
        busy, steal = machine_busy()
        # CPU that neither the server nor this generator used: other work on the machine
        self.others = busy - self.busy0[0] - cpu - self.figures[2]
        self.steal = steal - self.busy0[1]
        return self.figures


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    if not n:
        return float("nan")
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


class Table:
    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[tuple[str, str, str]] = []

    def add(self, name: str, value: str, target: str = "") -> None:
        self.rows.append((name, value, target))

    def print(self) -> None:
        print(f"\n== {self.title}")
        width = max(len(r[0]) for r in self.rows) if self.rows else 0
        vwidth = min(64, max(len(r[1]) for r in self.rows)) if self.rows else 0
        for name, value, target in self.rows:
            line = f"  {name:<{width}}  {value:<{vwidth}}"
            if target:
                line += f"   {target}"
            print(line.rstrip())
        sys.stdout.flush()


def mb(kb: float) -> str:
    return f"{kb / 1024:.0f} MB"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def add_delivery_rows(
    table: Table,
    tally: Tally,
    devices: list[Device],
    window: Window,
    instance: Instance,
    p99_target: float | None,
) -> None:
    wall, cpu, gen = window.figures
    lost, dup = tally.losses()
    lat = sorted(tally.latencies)
    table.add("edits sent", f"{len(tally.sent):,}")
    table.add(
        "deliveries expected / received",
        f"{tally.expected_total:,} / {tally.received_total:,}",
    )
    table.add(
        "lost",
        f"{lost:,}  (duplicates {dup}, unknown markers {tally.unknown})",
        f"target 0: {verdict(lost == 0)}",
    )
    p99 = percentile(lat, 99)
    table.add(
        "latency p50 / p95 / p99 / max",
        f"{ms(percentile(lat, 50))} / {ms(percentile(lat, 95))} / {ms(p99)} / "
        f"{ms(lat[-1] if lat else math.nan)} ms",
        f"target p99 <= {p99_target:.0f} ms: {verdict(p99 * 1000 <= p99_target)}"
        if p99_target
        else "",
    )
    if lat:
        # When the slow deliveries happened: seconds into the run of the 1% slowest edits.
        slow = sorted(zip(tally.latencies, tally.sent_at, strict=True), reverse=True)[
            : max(1, len(lat) // 100)
        ]
        seconds: dict[int, int] = {}
        for _latency, sent in slow:
            key = int(sent - window.wall0)
            seconds[key] = seconds.get(key, 0) + 1
        worst = sorted(seconds.items(), key=lambda kv: -kv[1])[:6]
        table.add(
            "slowest 1% sent at (s into run)",
            ", ".join(f"{k}s: {n}" for k, n in sorted(worst)),
        )
    if SERVER_GC:
        pauses = instance.gc_pauses(window.wall0, window.wall0 + wall)
        by_gen = [[p for p in pauses if p[1] == g] for g in range(3)]
        longest = sorted(pauses, key=lambda p: -p[2])[:3]
        table.add(
            "server GC (gen0/gen1/gen2)",
            " / ".join(f"{len(g)}x {sum(p[2] for p in g):.0f} ms" for g in by_gen)
            + "; longest "
            + ", ".join(f"gen{p[1]} {p[2]:.0f} ms at {p[0] - window.wall0:.1f}s" for p in longest),
        )
    table.add(
        "server CPU",
        f"{cpu:.1f} s over {wall:.1f} s ({100 * cpu / wall:.0f}% of a core): event-loop thread "
        f"{window.loop_cpu:.1f} s, its {window.thread_count - 1} other threads (aiosqlite) "
        f"{window.other_threads_cpu:.1f} s; {1000 * cpu / max(1, len(tally.sent)):.2f} ms per edit",
    )
    memory = instance.memory_kb()
    table.add(
        "server RSS",
        f"{mb(memory['VmRSS'])} at the end, peak {mb(memory['VmHWM'])} (VmHWM since startup "
        f"finished; {mb(instance.rss_start)} idle)",
    )
    lags = window.lags
    table.add(
        "load generator",
        f"CPU {gen:.1f} s ({100 * gen / wall:.0f}% of a core); its loop lag p99 "
        f"{ms(percentile(lags, 99))} ms, max {ms(lags[-1] if lags else math.nan)} ms",
    )
    table.add(
        "other load on the machine",
        f"{window.others:.1f} CPU s by other processes "
        f"({100 * window.others / wall:.0f}% of a core), "
        f"{window.steal:.1f} s stolen by the hypervisor",
        "(should be ~0 for clean figures)",
    )
    closed = [d for d in devices if d.close_code is not None]
    errors = [d for d in devices if d.error]
    denied = sum(d.denied for d in devices)
    text = f"{len(closed)} closed by the server, {len(errors)} errors, {denied} edits denied"
    if closed:
        codes: dict[str, int] = {}
        for d in closed:
            why = f"{d.close_code} {d.close_reason}".strip()
            codes[why] = codes.get(why, 0) + 1
        text += "; " + ", ".join(f"{n}x {k}" for k, n in codes.items())
    if errors:
        text += f"; first error: {errors[0].error}"
    table.add("devices during the run", text)


# -- scenarios ------------------------------------------------------------------------------


async def scenario_rooms(quick: bool) -> Table:
    rooms, people, gap = 50, 12, 2.0
    duration = 10.0 if quick else 60.0
    table = Table(
        f"rooms: {rooms} rooms x {people} clients, each client edits the plan every "
        f"~{gap:.0f} s (uniform {gap / 2:.0f}-{gap * 1.5:.0f} s), {duration:.0f} s"
    )
    instance = Instance("rooms")
    try:
        instance.upgrade()
        t0 = time.perf_counter()
        conferences = await make_conferences(instance.settings, rooms, people)
        setup = time.perf_counter() - t0
        progress(f"rooms: {rooms * people} participants and sessions made in {setup:.1f} s")
        instance.start()
        tally = Tally()
        devices: list[Device] = []
        for conference in conferences:
            peers: list[Device] = []
            for cookie in conference.cookies:
                device = Device(
                    instance.ws_url(conference.id), cookie, instance.base_url, tally, peers
                )
                peers.append(device)
                devices.append(device)
        cpu0 = instance.cpu_seconds()
        took = await connect_all(devices, concurrency=25, within=90)
        synced = sum(d.open for d in devices)
        add_connect_row(table, instance, devices, took, cpu0)
        progress(f"rooms: {synced} devices synced in {took:.1f} s; editing for {duration:.0f} s")
        window = Window(instance, "rooms")
        until = time.perf_counter() + duration

        async def typist(device: Device) -> None:
            await asyncio.sleep(random.uniform(0, gap))
            while time.perf_counter() < until:
                await device.edit()
                await asyncio.sleep(random.uniform(gap / 2, gap * 1.5))

        await asyncio.wait_for(asyncio.gather(*(typist(d) for d in devices)), duration + 30)
        await report_deliveries(table, tally, devices, window, instance, TARGET_P99_MS)
    finally:
        instance.cleanup()
    return table


async def report_deliveries(
    table: Table,
    tally: Tally,
    devices: list[Device],
    window: Window,
    instance: Instance,
    target_p99_ms: float | None,
) -> None:
    """After the last edit: wait for deliveries, close the window, report and disconnect."""
    drained = await drain(tally, 10.0)
    window.close()
    add_delivery_rows(table, tally, devices, window, instance, target_p99_ms)
    table.add("drain after the last edit", f"{drained:.2f} s")
    await close_all(devices)
    add_stored_row(table, instance, len(tally.sent))
    add_log_row(table, instance)


async def scenario_fanout(quick: bool) -> Table:
    people, rate = 200, 20.0
    duration = 10.0 if quick else 30.0
    table = Table(
        f"fanout: 1 room x {people} clients, one writer at {rate:.0f} edits/s, {duration:.0f} s"
    )
    instance = Instance("fanout")
    try:
        instance.upgrade()
        t0 = time.perf_counter()
        (conference,) = await make_conferences(instance.settings, 1, people)
        progress(f"fanout: {people} participants made in {time.perf_counter() - t0:.1f} s")
        instance.start()
        tally = Tally()
        peers: list[Device] = []
        for cookie in conference.cookies:
            peers.append(
                Device(instance.ws_url(conference.id), cookie, instance.base_url, tally, peers)
            )
        cpu0 = instance.cpu_seconds()
        took = await connect_all(peers, concurrency=25, within=60)
        synced = sum(d.open for d in peers)
        add_connect_row(table, instance, peers, took, cpu0)
        progress(f"fanout: {synced} devices synced in {took:.1f} s; writing for {duration:.0f} s")
        writer = peers[0]
        window = Window(instance, "fanout")
        start = time.perf_counter()
        total = int(duration * rate)
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await writer.edit()
        await report_deliveries(table, tally, peers, window, instance, None)
    finally:
        instance.cleanup()
    return table


async def scenario_coldjoin(quick: bool) -> Table:
    count = 20_000
    repeats = 3 if quick else 5
    table = Table(
        f"coldjoin: a plan built from {count:,} updates; time to synced, median of {repeats}"
    )
    # Short idle time: the "room unloaded" joins wait for the room to leave memory.
    instance = Instance("coldjoin", KRING_ROOM_IDLE_SECONDS="1")
    try:
        instance.upgrade()
        # conference 0..2*repeats-1: one copy of the document each (a load compacts it, so
        # every uncompacted join needs a copy of its own); the last one holds a tiny plan.
        conferences = await make_conferences(instance.settings, 2 * repeats + 1, 2)
        tiny = conferences[-1]
        t0 = time.perf_counter()
        updates, final_text = typing_updates(count, seed=2026)
        made = time.perf_counter() - t0
        wrote = await write_log(
            instance.settings,
            {(conferences[0].id, "plan"): updates, (tiny.id, "plan"): updates[:50]},
        )
        copy_rows(instance, conferences[0].id, [c.id for c in conferences[1:-1]])
        size = sum(len(u) for u in updates)
        table.add(
            "document",
            f"{len(updates):,} typing updates, 4 authors ({size / 1024:.0f} KB; "
            f"{len(final_text):,} characters of text), made with pycrdt in {made:.1f} s",
        )
        table.add(
            "how it was stored",
            f"straight into doc_update via DocumentLog.append (group commit, {wrote:.1f} s), "
            f"then copied {2 * repeats - 1}x by INSERT ... SELECT; no snapshot",
        )
        table.add(
            "the same load in the bench process",
            await load_breakdown(instance.settings, conferences[0].id),
        )

        async def join(conference: Conference, check: bool = False) -> tuple[float, float]:
            url = instance.ws_url(conference.id)
            t_open, t_synced, update = await timed_join(
                url, conference.cookies[0], instance.base_url
            )
            if check:
                doc: Doc[Any] = Doc()
                doc.apply_update(update)
                if str(doc.get("plan", type=Text)) != final_text:
                    table.add(
                        "!! content check", "the synced document differs from what was written"
                    )
            return t_open, t_synced

        def row(name: str, results: list[tuple[float, float]], target: bool) -> None:
            opens = [r[0] for r in results]
            syncs = [r[1] for r in results]
            value = (
                f"{ms(median(syncs))} ms (websocket open {ms(median(opens))} ms); "
                f"all: {', '.join(ms(s) for s in syncs)}"
            )
            ok = median(syncs) * 1000 <= TARGET_COLD_MS
            mark = f"target <= {TARGET_COLD_MS:.0f} ms: {verdict(ok)}"
            table.add(name, value, mark if target else "")

        # 1. The whole log, first load, in a freshly started server (nothing warm at all).
        first: list[tuple[float, float]] = []
        rss = (0, 0)
        for i in range(repeats):
            instance.stop()
            instance.start()
            before = instance.memory_kb()["VmRSS"]
            first.append(await join(conferences[i], check=i == 0))
            if i == 0:
                rss = (before, instance.memory_kb()["VmRSS"])
        progress(f"coldjoin: restart joins {[round(r[1] * 1000) for r in first]} ms")
        row(f"{count:,}-update log, just after a restart", first, True)
        # 2. The whole log, first load, in a server that is already warm. Meanwhile another
        # room is busy (20 edits/s): the load runs on the event loop and delays its edits.
        canary_tally = Tally()
        canary: list[Device] = []
        for cookie in tiny.cookies:
            canary.append(
                Device(instance.ws_url(tiny.id), cookie, instance.base_url, canary_tally, canary)
            )
        await connect_all(canary, concurrency=2, within=30)
        stop_canary = asyncio.Event()

        async def canary_writer() -> None:
            next_at = time.perf_counter()
            while not stop_canary.is_set():
                await canary[0].edit()
                next_at += 0.05
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        stop_canary.wait(), max(0.0, next_at - time.perf_counter())
                    )

        await asyncio.sleep(0.5)
        writer = asyncio.create_task(canary_writer())
        await asyncio.sleep(1.0)
        quiet_lat = sorted(canary_tally.latencies)
        warm_process: list[tuple[float, float]] = []
        for conference in conferences[repeats : 2 * repeats]:
            warm_process.append(await join(conference))
            await wait_snapshot(instance, conference.id)  # its compaction is done
        stop_canary.set()
        await asyncio.wait_for(writer, 10)
        await drain(canary_tally, 5.0)
        await close_all(canary)
        row(f"{count:,}-update log, server already warm", warm_process, True)
        lat = sorted(canary_tally.latencies[len(quiet_lat) :])
        lost, _dup = canary_tally.losses()
        table.add(
            "meanwhile, edits in another room",
            f"latency p50 {ms(percentile(lat, 50))} / max {ms(lat[-1] if lat else math.nan)} ms "
            f"(before the joins: p50 {ms(percentile(quiet_lat, 50))} / max "
            f"{ms(quiet_lat[-1] if quiet_lat else math.nan)} ms); {lost} lost",
        )
        table.add(
            "server RSS, loading that document",
            f"{mb(rss[0])} -> {mb(rss[1])} (+{mb(rss[1] - rss[0])})",
        )

        # 3. The server compacts a document it loads with more than KRING_COMPACT_AFTER
        # logged updates; from then on a cold join reads the snapshot.
        await wait_snapshot(instance, conferences[0].id)
        snapshot = instance.count_rows(
            "SELECT coalesce(sum(length(data)), 0) FROM doc_snapshot WHERE conference_id = ?",
            conferences[0].id,
        )
        tail = instance.count_rows(
            "SELECT count(*) FROM doc_update WHERE conference_id = ?", conferences[0].id
        )
        if snapshot:
            table.add(
                "after that first load the server compacted",
                f"snapshot {snapshot / 1024:.0f} KB + {tail} logged updates",
            )
            instance.stop()
            table.add(
                "the same load in the bench process",
                await load_breakdown(instance.settings, conferences[0].id),
            )
            compacted: list[tuple[float, float]] = []
            for _ in range(repeats):
                instance.stop()
                instance.start()
                compacted.append(await join(conferences[0]))
            row("compacted, just after a restart", compacted, True)
            unloaded: list[tuple[float, float]] = []
            for _ in range(repeats):
                await asyncio.sleep(1.6)  # KRING_ROOM_IDLE_SECONDS=1: unloaded by now
                unloaded.append(await join(conferences[0]))
            row("compacted, room unloaded, warm server", unloaded, True)
        else:
            table.add("after that first load the server compacted", "no snapshot within 30 s")

        # 4. For comparison: the room is loaded (another device holds it open).
        holder = Device(
            instance.ws_url(conferences[0].id),
            conferences[0].cookies[1],
            instance.base_url,
            Tally(),
            [],
        )
        await holder.connect()
        await asyncio.wait_for(holder.synced.wait(), 30)
        warm = [await join(conferences[0]) for _ in range(repeats)]
        await holder.close()
        row("room loaded (warm join)", warm, False)
        add_log_row(table, instance)
    finally:
        instance.cleanup()
    return table


async def wait_snapshot(instance: Instance, conference_id: str, within: float = 30.0) -> None:
    """Wait (bounded) until the server has written a snapshot of this conference's plan."""
    deadline = time.perf_counter() + within
    query = "SELECT count(*) FROM doc_snapshot WHERE conference_id = ?"
    while time.perf_counter() < deadline:
        if instance.count_rows(query, conference_id):
            return
        await asyncio.sleep(0.05)


def copy_rows(instance: Instance, source: str, targets: list[str]) -> None:
    """Copy one document's log to other conferences, in log order, straight in SQLite."""
    with contextlib.closing(sqlite3.connect(instance.db_path)) as db:
        db.execute("PRAGMA synchronous=FULL")
        for target in targets:
            db.execute(
                "INSERT INTO doc_update (conference_id, document, data, created_at) "
                "SELECT ?, document, data, created_at FROM doc_update "
                "WHERE conference_id = ? ORDER BY id",
                (target, source),
            )
        db.commit()


async def load_breakdown(settings: Settings, conference_id: str) -> str:
    """What loading costs, timed in this process with the server's own code: DocumentLog.load,
    building the DocChannel (server.rooms.room), and the sync step 2 answer to a new device."""
    store = Store.connect(settings.database_url)
    try:
        log = DocumentLog(store.engine)
        t0 = time.perf_counter()
        stored = await log.load(conference_id, "plan")
        t1 = time.perf_counter()
        hub = SimpleNamespace(log=log, limits=Limits())
        channel = DocChannel(Room(hub, conference_id), "plan", stored)
        t2 = time.perf_counter()
        channel.doc.get_update(Doc().get_state())
        t3 = time.perf_counter()
        what = f"snapshot {len(stored.snapshot) / 1024:.0f} KB + " if stored.snapshot else ""
        return (
            f"DocumentLog.load ({what}{len(stored.updates):,} updates) {ms(t1 - t0)} ms + "
            f"DocChannel() {ms(t2 - t1)} ms + sync step 2 {ms(t3 - t2)} ms = {ms(t3 - t0)} ms"
        )
    finally:
        await store.close()


async def scenario_idle(quick: bool) -> Table:
    rooms = 50 if quick else 100
    per_doc = 200
    table = Table(f"idle: memory per loaded idle room ({rooms} rooms, plan only, nobody connected)")
    instance = Instance("idle", KRING_ROOM_IDLE_SECONDS="3600")
    try:
        instance.upgrade()
        conferences = await make_conferences(instance.settings, 2 * rooms + 1, 1)
        warmup, filled, empty = conferences[0], conferences[1 : rooms + 1], conferences[rooms + 1 :]
        docs = {}
        sizes = []
        for i, conference in enumerate(filled):
            updates, _text = typing_updates(per_doc, seed=i, authors=2)
            docs[(conference.id, "plan")] = updates
            sizes.append(sum(len(u) for u in updates))
        await write_log(instance.settings, docs)
        instance.start()
        url = instance.ws_url

        async def visit(group: list[Conference], times: int = 1) -> None:
            gate = asyncio.Semaphore(10)

            async def one(conference: Conference) -> None:
                async with gate:
                    await timed_join(url(conference.id), conference.cookies[0], instance.base_url)

            for _ in range(times):
                await asyncio.wait_for(asyncio.gather(*(one(c) for c in group)), 120)

        # Warm-up: as many connects and disconnects as the measurement makes, all to one
        # room, so code paths, caches and the allocator are in use before the first reading.
        await visit([warmup] * rooms)
        await asyncio.sleep(1.0)
        rss0 = instance.memory_kb()["VmRSS"]
        await visit(filled)
        await asyncio.sleep(1.0)
        rss1 = instance.memory_kb()["VmRSS"]
        await visit(empty)
        await asyncio.sleep(1.0)
        rss2 = instance.memory_kb()["VmRSS"]
        table.add("server RSS after warm-up", mb(rss0))
        table.add(
            f"{rooms} rooms with a {per_doc}-update plan",
            f"+{mb(rss1 - rss0)}: {(rss1 - rss0) / rooms:.0f} KB per room "
            f"(each plan: {sum(sizes) / len(sizes) / 1024:.1f} KB of updates in the log)",
        )
        table.add(
            f"{rooms} rooms with an empty plan",
            f"+{mb(rss2 - rss1)}: {(rss2 - rss1) / rooms:.0f} KB per room",
        )
        table.add(
            "server RSS",
            f"{mb(instance.rss_start)} after startup, peak {mb(instance.memory_kb()['VmHWM'])}",
        )
        add_log_row(table, instance)
    finally:
        instance.cleanup()
    return table


def add_connect_row(
    table: Table, instance: Instance, devices: list[Device], took: float, cpu0: float
) -> None:
    synced = sum(d.open for d in devices)
    cpu = instance.cpu_seconds() - cpu0
    rss = instance.memory_kb()["VmRSS"]
    table.add(
        "connect storm (25 at a time)",
        f"{synced}/{len(devices)} synced in {took:.1f} s ({synced / took:.0f}/s); server CPU "
        f"{cpu:.1f} s = {1000 * cpu / max(1, synced):.1f} ms per connection; RSS "
        f"{mb(instance.rss_start)} -> {mb(rss)} = "
        f"{(rss - instance.rss_start) / max(1, synced):.0f} KB per connection",
    )


def add_stored_row(table: Table, instance: Instance, sent: int) -> None:
    stored = instance.count_rows("SELECT count(*) FROM doc_update WHERE document = 'plan'")
    # DocumentLog stamps every row of one group commit with the same created_at
    commits = instance.count_rows("SELECT count(DISTINCT created_at) FROM doc_update")
    snapshots = instance.count_rows("SELECT count(*) FROM doc_snapshot")
    table.add(
        "edits in doc_update",
        f"{stored:,} of {sent:,}, in {commits:,} group commits "
        f"({stored / max(1, commits):.1f} per commit)"
        + (f"; {snapshots} snapshots" if snapshots else ""),
    )


def add_log_row(table: Table, instance: Instance) -> None:
    lines = instance.warnings()
    if not lines:
        table.add("server log warnings/errors", "none")
        return
    text = f"{len(lines)} lines; first: {lines[0][:200]}"
    try:
        log = instance.log_path.read_text(errors="replace").splitlines()
    except OSError:
        log = []
    if any(line.startswith("Traceback") for line in log):  # the exception that ended it
        start = next(i for i, line in enumerate(log) if line.startswith("Traceback"))
        end = next((line for line in log[start + 1 :] if line and not line[0].isspace()), "")
        text += f"; first traceback ends with: {end[:200]}"
    table.add("server log warnings/errors", text)


SCENARIOS: dict[str, Callable[[bool], Awaitable[Table]]] = {
    "rooms": scenario_rooms,
    "fanout": scenario_fanout,
    "coldjoin": scenario_coldjoin,
    "idle": scenario_idle,
}
BUDGET = {"rooms": 200, "fanout": 120, "coldjoin": 150, "idle": 120}  # hard limits (s)


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = f", {int(line.split()[1]) / 1024 / 1024:.0f} GB RAM"
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}{mem}"


async def wait_quiet(limit: float) -> None:
    """Wait (at most ``limit`` s) until other processes leave the CPUs idle for 3 s."""
    deadline = time.perf_counter() + limit
    while True:
        busy0, ours0 = machine_busy()[0], own_cpu()
        await asyncio.sleep(3.0)
        others = machine_busy()[0] - busy0 - (own_cpu() - ours0)
        if others < 0.15:
            return
        if time.perf_counter() > deadline:
            progress(f"the machine is still busy ({others / 3:.0%} of a core); going ahead")
            return
        progress(f"waiting for a quiet machine (others use {others / 3:.0%} of a core)")


async def main_async(names: list[str], quick: bool, quiet: float) -> None:
    loop = asyncio.get_running_loop()

    def quiet_cancellations(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if not isinstance(context.get("exception"), asyncio.CancelledError):  # after Ctrl-C
            loop.default_exception_handler(context)

    loop.set_exception_handler(quiet_cancellations)
    for name in names:
        if quiet:
            await wait_quiet(quiet)
        t0 = time.perf_counter()
        busy0, steal0 = machine_busy()
        ours0 = own_cpu()
        try:
            table = await asyncio.wait_for(SCENARIOS[name](quick), BUDGET[name])
        except Exception as exc:  # report and go on with the next scenario
            table = Table(f"{name}: did not complete")
            table.add("error", f"{type(exc).__name__}: {exc}")
        gc.enable()  # in case a scenario failed inside its measuring window
        gc.unfreeze()
        wall = time.perf_counter() - t0
        busy, steal = machine_busy()
        others = busy - busy0 - (own_cpu() - ours0)
        table.add(
            "scenario wall time",
            f"{wall:.0f} s; meanwhile other processes used {others:.1f} CPU s "
            f"({100 * others / wall:.0f}% of a core), {steal - steal0:.1f} s stolen",
        )
        table.print()


def own_cpu() -> float:
    """CPU seconds of this process and of its children that have ended (servers, tools)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenario", nargs="?", default="all", choices=["all", *SCENARIOS])
    parser.add_argument("--quick", action="store_true", help="a ~20 s version of each scenario")
    parser.add_argument("--no-uvloop", action="store_true", help="plain asyncio in the generator")
    parser.add_argument(
        "--py-spy",
        metavar="PATH",
        help="record the server with this py-spy binary during the rooms and fanout runs "
        "(collapsed stacks, into --profile-dir)",
    )
    parser.add_argument("--profile-dir", default=".", help="where --py-spy writes (default: .)")
    parser.add_argument(
        "--server-gc",
        action="store_true",
        help="log the server's garbage collections (gc.callbacks, via a wrapper around "
        "server.cli) and report them next to the latencies",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each scenario, wait up to this long for other processes to go idle",
    )
    args = parser.parse_args()
    # SIGTERM ends the run like Ctrl-C does: every finally runs, servers stop, folders go.
    signal.signal(signal.SIGTERM, interrupted)
    SERVER_GC.update({"on": True} if args.server_gc else {})
    if args.py_spy:
        PROFILE.update(py_spy=args.py_spy, dir=str(Path(args.profile_dir).resolve()))
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    loop = "asyncio"
    runner: Any = asyncio.run
    if not args.no_uvloop:
        try:
            import uvloop

            runner, loop = uvloop.run, "uvloop"
        except ImportError:
            pass
    print("Kring load benchmark")
    print(f"  command   {' '.join([sys.executable, *sys.argv])}")
    print(f"  date      {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"  machine   {machine()}")
    print(f"  code      {code_version()}")
    print(
        f"  software  Python {sys.version.split()[0]}, "
        + ", ".join(
            f"{p} {importlib.metadata.version(p)}"
            for p in ("uvicorn", "websockets", "pycrdt", "SQLAlchemy")
        )
        + f"; generator on {loop}"
    )
    print(
        "  database  SQLite (WAL, synchronous=FULL) in a temp folder on "
        + fs_of(tempfile.gettempdir())
    )
    print(
        f"  targets   0 edits lost; rooms p99 <= {TARGET_P99_MS:.0f} ms; "
        f"cold join <= {TARGET_COLD_MS:.0f} ms"
    )
    sys.stdout.flush()
    try:
        runner(main_async(names, args.quick, args.wait_quiet))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\ninterrupted; the servers are stopped and their folders removed", file=sys.stderr)
        return 130
    return 0


def code_version() -> str:
    """The commit under test, and whether server/ has changes on top of it."""
    try:
        head = subprocess.run(
            ["git", "log", "-1", "--format=%h %ad %s", "--date=format:%Y-%m-%d %H:%M"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "server"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    return f"{head[:90]}" + ("  (+ uncommitted changes in server/)" if dirty else "")


def interrupted(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def fs_of(path: str) -> str:
    best = ("", "?")
    with contextlib.suppress(OSError), open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and path.startswith(parts[1]) and len(parts[1]) > len(best[0]):
                best = (parts[1], parts[2])
    return f"{path} ({best[1]})"


if __name__ == "__main__":
    sys.exit(main())
