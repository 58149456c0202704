"""Live channels, opened and awaited: devices on live documents (websockets) and the
coordinator's console stream (server-sent events)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from server.rooms.client import YClient
from tests.support.people import DemoConference


@contextlib.asynccontextmanager
async def connected(*devices: YClient) -> AsyncIterator[tuple[YClient, ...]]:
    """Connect and sync every device; close them all afterwards, whatever happens."""
    try:
        for device in devices:
            await device.connect()
        for device in devices:
            await device.synced()
        yield devices
    finally:
        for device in devices:
            await device.close()


async def wait_until(condition: object, within: float = 10.0) -> None:
    """Poll a condition on something outside the event loop (a log file), bounded."""
    assert callable(condition)
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)


class EventStream:
    """The coordinator's console channel (server-sent events), read in the background."""

    def __init__(self, conference: DemoConference, cookie: str, console: bool = True) -> None:
        self.console = console  # the coordinator's console starts with a status event
        self.url = f"{conference.server.url}/api/conferences/{conference.id}/events"
        self.headers = {"cookie": cookie}
        self.events: list[tuple[str, str]] = []
        self.raw = ""
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def __aenter__(self) -> EventStream:
        self._task = asyncio.create_task(self._read())
        if self.console:
            await self.wait_for(lambda: any(name == "status" for name, _ in self.events))
        else:
            await self.wait_for(lambda: self.raw.startswith("retry:"))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _read(self) -> None:
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) as client,
            client.stream("GET", self.url, headers=self.headers) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            name, data = "message", []
            async for line in response.aiter_lines():
                self.raw += line + "\n"
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "":
                    if data:
                        self.events.append((name, "\n".join(data)))
                        self._changed.set()
                    name, data = "message", []

    async def wait_for(self, condition: Any, within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no such event; got {self.events}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))


async def asleep(conference: DemoConference, cookie: str, document: str = "information") -> Any:
    """A device whose socket stays open but that stops reading after one message (a tablet
    asleep, an app frozen): it answers no ping, and what is sent to it piles up."""
    from websockets.asyncio.client import connect

    return await connect(
        conference.ws(document),
        origin=conference.server.url,  # type: ignore[arg-type]
        additional_headers={"Cookie": cookie},
        compression=None,
        max_queue=1,
        max_size=None,
    )


async def write_heaps(writer: YClient, count: int = 80, size: int = 100_000) -> None:
    """``count`` edits of ``size`` characters each, one after another; until all are saved."""
    chunk = "x" * size
    for i in range(count):
        writer.text().insert(len(writer.text()), f"<{i}>{chunk}")
        await asyncio.sleep(0)
    await writer.wait_for(writer.all_saved, 30)
