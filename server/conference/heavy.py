"""Heavy work (a PDF copy, an export zip) takes one of a few slots, so that many at once
never starve the live rooms: ``KRING_HEAVY_JOBS`` of them run together, the rest wait their
turn. The work itself runs in a worker thread (``asyncio.to_thread``), so the event loop
stays free for the rooms while it runs; the slots keep the worker threads, the CPU and the
memory that many copies at once would take within bounds.

A request that finds every slot taken waits, at most ``wait_seconds``
(``KRING_HEAVY_WAIT_SECONDS``); then :class:`Busy` (the page answers 503 with Retry-After).
A background export waits as long as it takes.

Each slot taken and given back is logged at debug level (``heavy work started: ... (1 of 2
slots)``, ``heavy work finished: ...``), a wait at info, so the log shows the order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

log = logging.getLogger("kring")

WAIT_SECONDS = 30.0  # a request waits this long for a slot (KRING_HEAVY_WAIT_SECONDS), then 503
RETRY_AFTER_SECONDS = 30  # what that answer tells the browser


class Busy(Exception):
    """Every slot stayed taken for as long as a request may wait."""

    def __init__(self, what: str, waited: float) -> None:
        super().__init__(f"{what}: every slot of heavy work stayed busy for {waited:.0f} s")
        self.what = what
        self.retry_after = RETRY_AFTER_SECONDS


class HeavyWork:
    """A few slots for heavy work, shared by every request of this process."""

    def __init__(self, slots: int, wait_seconds: float = WAIT_SECONDS) -> None:
        if slots < 1:
            raise ValueError("heavy work needs at least one slot")
        self.slots = slots
        self.wait_seconds = wait_seconds
        self.running = 0
        self.waiting = 0
        self._free = asyncio.Semaphore(slots)

    @asynccontextmanager
    async def slot(self, what: str, *, wait: bool = False) -> AsyncIterator[None]:
        """Hold one slot while the block runs. A request (``wait`` False) waits at most
        ``wait_seconds`` for it, then Busy; a background job (``wait`` True) waits its turn
        however long it takes."""
        began = time.monotonic()
        if self._free.locked():
            log.info(
                "heavy work %s waits for a slot (%d of %d busy, %d waiting)",
                what,
                self.running,
                self.slots,
                self.waiting,
            )
        self.waiting += 1
        try:
            if wait:
                await self._free.acquire()
            else:
                async with asyncio.timeout(self.wait_seconds):
                    await self._free.acquire()
        except TimeoutError:
            log.warning("heavy work %s refused: every slot stayed busy", what)
            raise Busy(what, time.monotonic() - began) from None
        finally:
            self.waiting -= 1
        self.running += 1
        waited = time.monotonic() - began
        log.debug(
            "heavy work started: %s (%d of %d slots, waited %.1f s)",
            what,
            self.running,
            self.slots,
            waited,
        )
        try:
            yield
        finally:
            self.running -= 1
            self._free.release()
            log.debug("heavy work finished: %s", what)
