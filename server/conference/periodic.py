"""The server's own recurring jobs (the reminders, the retention purge): one run at start-up,
then one every ``KRING_HOUSEKEEPING_SECONDS`` (an hour), for the server's lifetime.

A run that fails is logged and the loop goes on: a database hiccup must not end it for good.
On shutdown the loop is cancelled and waited for, so nothing of it outlives the rooms and the
database it uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from server import metrics


@contextlib.asynccontextmanager
async def running(
    name: str, every: float, job: Callable[[], Awaitable[None]]
) -> AsyncIterator[None]:
    """Run ``job`` now and then every ``every`` seconds while the block runs."""
    log = logging.getLogger(f"kring.{name}")

    async def loop() -> None:
        while True:
            try:
                with metrics.heavy(f"{name} run"):  # named if the event loop is late meanwhile
                    await job()
            except Exception:
                log.exception("%s: the run failed; trying again in %g seconds", name, every)
            await asyncio.sleep(every)

    async with in_background(loop(), f"kring-{name}"):
        yield


@contextlib.asynccontextmanager
async def in_background(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """Run ``work`` as a task while the block runs; then cancel it and wait for it to end."""
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
