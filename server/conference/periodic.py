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
from collections.abc import AsyncIterator, Awaitable, Callable

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

    task = asyncio.create_task(loop(), name=f"kring-{name}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
