"""Interop in one room on a real server: yjs (the browser's stack, under node), pycrdt, y-py.

Three different CRDT implementations edit one Yjs text at the same time through `kring serve`
and must all end with the identical text, which the server's own copy agrees with. The node
client is tests/js/yclient.mjs (see tests/js/README.md), built on web/'s npm devDependencies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.rooms import protocol
from tests.support.people import DemoConference, demo_conference
from tests.support.server import (
    ROOT,
    LiveServer,
    make_instance,
    missing_service,
    serving,
)

TEXT = "interop"  # the Y.Text every client edits (yclient.mjs's default name)
DOCUMENT = "information"  # in the information phase every role may write it
YCLIENT = ROOT / "tests" / "js" / "yclient.mjs"
NODE_TIMEOUT_MS = 10_000
WITHIN = 10.0  # every wait in this file is bounded by this

# Distinct strings, none part of another; non-ASCII and astral characters on purpose, because
# Yjs counts UTF-16 units and the Python libraries index text in their own units.
NODE_STRINGS = ["[Sam] ik wil voetballen op zaterdag.", "[Sam] diploma 🎓 halen.", "[Sam] ik kook."]
PYCRDT_STRINGS = ["[Ayşe] oma haalt Sam op.", "[Ayşe] çay om vier uur.", "[Ayşe] huiswerk na eten."]
YPY_STRINGS = ["[Mehmet] ik breng Sam naar de club", "[Mehmet] weekend 🏠 bij ons.", "[Mehmet] ok."]
ALL_STRINGS = NODE_STRINGS + PYCRDT_STRINGS + YPY_STRINGS


@pytest.fixture(scope="module")
def interop_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serving(make_instance(tmp_path_factory.mktemp("interop"))) as server:
        yield server


@pytest.fixture
async def conference(interop_server: LiveServer) -> DemoConference:
    return await demo_conference(interop_server, "information")


@pytest.fixture
def node() -> str:
    """The node binary, with the browser's Yjs stack installed in web/node_modules."""
    path = shutil.which("node")
    modules = ROOT / "web" / "node_modules"
    if path is None or not all((modules / m).is_dir() for m in ("yjs", "y-websocket", "ws")):
        missing_service("node and web/node_modules", "run `cd web && npm ci`")
    assert path is not None
    return path


@pytest.fixture
def y_py() -> ModuleType:
    if sys.version_info >= (3, 12):
        return pytest.importorskip(
            "y_py",
            reason="y-py has wheels for Python 3.11 only (archived upstream); "
            "the y-py interop test runs on 3.11",
        )
    try:
        import y_py
    except ImportError:
        missing_service("y-py", "install the test extras: pip install -e '.[test]'")
    return y_py


# -- the node client (yjs + y-websocket, as in the browser) ---------------------------------


async def run_node(node: str, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Run tests/js/yclient.mjs to its end (bounded); return its exit code and JSON output."""
    process = await asyncio.create_subprocess_exec(
        node,
        str(YCLIENT),
        json.dumps(args),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(
            process.communicate(), NODE_TIMEOUT_MS / 1000 + WITHIN
        )
    finally:
        if process.returncode is None:  # timed out or cancelled: never leave it running
            process.kill()
            await process.communicate()
    lines = stdout.decode().strip().splitlines()
    assert lines, f"yclient.mjs printed nothing (exit {process.returncode}): {stderr.decode()}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert process.returncode is not None
    return process.returncode, result


def node_args(conference: DemoConference, cookie: str, **extra: Any) -> dict[str, Any]:
    return {
        "url": f"{conference.server.url.replace('http://', 'ws://')}/ws/{conference.id}",
        "room": DOCUMENT,
        "cookie": cookie,
        "origin": conference.server.url,
        "text": TEXT,
        "timeout_ms": NODE_TIMEOUT_MS,
        **extra,
    }


# -- a minimal y-websocket client on y-py ---------------------------------------------------


class YpyClient:
    """Sync step 1/2 and updates over the y-websocket framing, with a y_py.YDoc."""

    def __init__(self, y_py: ModuleType, url: str, *, cookie: str, origin: str) -> None:
        self.Y = y_py
        self.url, self.cookie, self.origin = url, cookie, origin
        self.doc = y_py.YDoc()
        self.text = self.doc.get_text(TEXT)
        self._applying = False
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._synced = asyncio.Event()
        self._changed = asyncio.Event()
        self._subscription = self.doc.observe_after_transaction(self._local_change)

    async def connect(self) -> None:
        self._ws = await connect(
            self.url,
            origin=self.origin,  # type: ignore[arg-type]
            additional_headers={"Cookie": self.cookie},
            compression=None,
            open_timeout=WITHIN,
            proxy=None,
        )
        self._reader = asyncio.create_task(self._read(self._ws))
        await self._ws.send(
            protocol.encode(protocol.SyncStep1(self.Y.encode_state_vector(self.doc)))
        )

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for data in ws:
                if isinstance(data, str):
                    continue
                match protocol.decode(data):
                    case protocol.SyncStep1(state_vector):
                        update = self.Y.encode_state_as_update(self.doc, state_vector)
                        await ws.send(protocol.encode(protocol.SyncStep2(update)))
                    case protocol.SyncStep2(update):
                        self._apply(update)
                        self._synced.set()
                    case protocol.Update(update):
                        self._apply(update)
                self._changed.set()
        self._changed.set()

    def _apply(self, update: bytes) -> None:
        self._applying = True
        try:
            self.Y.apply_update(self.doc, update)
        finally:
            self._applying = False

    def _local_change(self, event: Any) -> None:
        if self._applying or self._ws is None:
            return  # a remote update being applied: nothing to send back
        update = bytes(event.get_update())
        if update == b"\x00\x00":  # a transaction that changed nothing
            return
        ws = self._ws
        task = asyncio.ensure_future(ws.send(protocol.encode(protocol.Update(update))))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def insert(self, index: int, chunk: str) -> None:
        with self.doc.begin_transaction() as txn:
            self.text.insert(txn, index, chunk)

    async def synced(self) -> None:
        await asyncio.wait_for(self._synced.wait(), WITHIN)

    async def wait_for(self, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + WITHIN
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"y-py client: condition not met; text {str(self.text)!r}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader
        self._ws = None


# -- editing --------------------------------------------------------------------------------


def safe_index(text: str, units: int, known: Sequence[str]) -> int:
    """A random index in `text` that splits no known string, in the library's own units.

    Yjs indexes UTF-16 units; pycrdt and y-py index UTF-8 bytes (or may, by version): the
    unit is told apart by the library's own length of the text, which differs per unit
    whenever it matters (non-ASCII text).
    """
    inside = set()
    for k in known:
        start = text.find(k)
        while start != -1:
            inside.update(range(start + 1, start + len(k)))
            start = text.find(k, start + 1)
    position = random.choice([p for p in range(len(text) + 1) if p not in inside])
    prefix = text[:position]
    if units == len(text.encode()):
        return len(prefix.encode())
    if units == len(text.encode("utf-16-le")) // 2:
        return len(prefix.encode("utf-16-le")) // 2
    assert units == len(text), f"unknown text index unit ({units} for {text!r})"
    return position


async def edit(strings: Sequence[str], text: Callable[[], tuple[str, int]], insert: Any) -> None:
    """Insert each string at a random safe place, 0-20 ms apart (like yclient.mjs)."""
    for chunk in strings:
        await asyncio.sleep(random.uniform(0, 0.02))
        current, units = text()
        insert(safe_index(current, units, ALL_STRINGS), chunk)


def holds_all(text: str) -> bool:
    return all(s in text for s in ALL_STRINGS)


# -- tests ----------------------------------------------------------------------------------


async def test_yjs_pycrdt_and_y_py_edit_one_room_together_and_agree(
    conference: DemoConference, node: str, y_py: ModuleType
) -> None:
    # YClient draws a 32-bit client id as Yjs does: y-py 0.6.2 garbles pycrdt's default
    # 53-bit ones (other ids, another conflict order, dangling origins).
    pycrdt_device = conference.device(DOCUMENT, conference.cookie("network_member", 0))
    ypy_device = YpyClient(
        y_py,
        conference.ws(DOCUMENT),
        cookie=conference.cookie("network_member", 1),
        origin=conference.server.url,
    )
    node_cookie = conference.cookie("client")
    latecomer_cookie = conference.cookie("network_member", 2)
    pycrdt_text = pycrdt_device.text(TEXT)
    node_run: asyncio.Task[tuple[int, dict[str, Any]]] | None = None
    try:
        await pycrdt_device.connect()
        await ypy_device.connect()
        await pycrdt_device.synced()
        await ypy_device.synced()
        node_run = asyncio.create_task(
            run_node(
                node,
                node_args(
                    conference,
                    node_cookie,
                    inserts=NODE_STRINGS,
                    expect=PYCRDT_STRINGS + YPY_STRINGS,
                ),
            )
        )
        # The provider announces its (empty) presence when its socket opens: start editing
        # then, so that all three type while the others do.
        await pycrdt_device.wait_for(lambda: bool(pycrdt_device.presence) or node_run.done())
        await asyncio.gather(
            edit(
                PYCRDT_STRINGS,
                lambda: (str(pycrdt_text), len(pycrdt_text)),
                pycrdt_text.insert,
            ),
            edit(
                YPY_STRINGS,
                lambda: (str(ypy_device.text), len(ypy_device.text)),
                ypy_device.insert,
            ),
        )
        code, result = await node_run
        assert code == 0, result
        final = result["text"]
        assert holds_all(final), final
        # Every string whole and nothing else: inserts never split one another.
        assert len(final) == sum(len(s) for s in ALL_STRINGS), final
        await pycrdt_device.wait_for(lambda: str(pycrdt_text) == final)
        await ypy_device.wait_for(lambda: str(ypy_device.text) == final)
    finally:
        if node_run is not None and not node_run.done():
            node_run.cancel()
            with contextlib.suppress(BaseException):
                await node_run
        await pycrdt_device.close()
        await ypy_device.close()

    # The server's copy agrees: a device that connects afterwards gets the very same text.
    latecomer = conference.device(DOCUMENT, latecomer_cookie)
    try:
        await latecomer.connect()
        await latecomer.synced()
        assert str(latecomer.text(TEXT)) == final
    finally:
        await latecomer.close()


async def test_the_browser_stack_gets_saved_acks_and_the_refusal_reason(
    conference: DemoConference, node: str
) -> None:
    saved, refused = await asyncio.gather(
        run_node(
            node,
            node_args(
                conference,
                conference.cookie("network_member", 3),
                params={"saved": "1"},
                min_saved_acks=1,
                inserts=["Opgeslagen, echt waar."],
            ),
        ),
        run_node(node, node_args(conference, "")),
    )
    code, result = saved
    assert code == 0, result
    assert result["saved_acks"] >= 1
    assert result["saved_covers_local"] is True  # "saved" is shown only when it is true
    # The server accepts the socket, then closes it: a browser gets the code and the reason.
    code, result = refused
    assert (code, result) == (
        3,
        {
            "closed": {
                "code": 4403,
                "reason": "Je bent niet aangemeld. Open je persoonlijke link opnieuw.",
            }
        },
    )
