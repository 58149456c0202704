"""Heavy work (a PDF copy, an export zip, the outcomes page) takes one of a few slots, so that
many at once never starve the live rooms: ``KRING_HEAVY_JOBS`` of them run together, the rest
wait their turn. PDFs, export zips and the outcomes page are made in worker processes
(``HeavyWork.run``, as many as there are slots, started with the first use and stopped after
IDLE_SECONDS without one): that work is pure Python, and in a thread it would hold the
interpreter's lock away from the event loop, which needs it back after every write to a
socket (``formats/printing.py``), and the garbage collector's full collections of what it
makes would stop the whole process (``views/outcomestable.py``, ``conference/exportwork.py``,
which read the database themselves: ``storage/inworker.py``). The slots keep the processes,
the CPU and the memory that many at once would take within bounds.

A request that finds every slot taken waits, at most ``wait_seconds``
(``KRING_HEAVY_WAIT_SECONDS``); then :class:`Busy` (the page answers 503 with Retry-After).
A background export waits as long as it takes. A worker process that dies while it works
(the kernel's out-of-memory killer) costs that work only: :class:`WorkLost` (the page asks to
try again), and new processes start for the next. None outlives the server: they are stopped
with it, and one whose server was killed ends itself (it watches its parent).

Each slot taken and given back is logged at debug level (``heavy work started: ... (1 of 2
slots)``, ``heavy work finished: ...``), a wait at info, so the log shows the order.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from multiprocessing.connection import wait
from typing import Any, TypeVar

from server.limits import WORKER_NICENESS

log = logging.getLogger("kring")

WAIT_SECONDS = 30.0  # a request waits this long for a slot (KRING_HEAVY_WAIT_SECONDS), then 503
RETRY_AFTER_SECONDS = 30  # what that answer tells the browser
IDLE_SECONDS = 300.0  # the worker processes stop after this long without work
STOP_SECONDS = 5.0  # at shutdown, how long a stopped worker process is waited for

T = TypeVar("T")


class Busy(Exception):
    """Every slot stayed taken for as long as a request may wait."""

    def __init__(self, what: str, waited: float) -> None:
        super().__init__(f"{what}: every slot of heavy work stayed busy for {waited:.0f} s")
        self.what = what
        self.retry_after = RETRY_AFTER_SECONDS


class WorkLost(Exception):
    """A worker process died while it did this work (killed by the kernel for lack of memory,
    or by someone): the work is lost, and the worker processes start afresh for the next."""


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
        self._workers: ProcessPoolExecutor | None = None
        self._starting = threading.Lock()  # the pool is made and let go by one thread at a time
        self._last_used = 0.0
        self._idle_check: asyncio.TimerHandle | None = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker process (a function of ``formats/printing.py``,
        ``views/outcomestable.py`` or ``conference/exportwork.py``; its arguments, its result
        and what it raises cross by pickle, so the arguments stay small). Call it while
        holding a slot. WorkLost when a worker process died meanwhile."""
        loop = asyncio.get_running_loop()
        workers: ProcessPoolExecutor | None = None
        try:
            # Starting a worker process (a new interpreter, and the first time the resource
            # tracker beside it) holds this process for about 10 ms: in a thread, the event
            # loop gets the interpreter back meanwhile.
            workers, future = await asyncio.to_thread(self._submit, fn, *args)
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:  # a worker died (killed, out of memory): start afresh
            log.error("a worker process of the heavy work died; they start again")
            if workers is not None:  # (else _submit let them go)
                self._stop_workers(workers)
            raise WorkLost(getattr(fn, "__name__", "heavy work")) from None
        finally:
            self._last_used = time.monotonic()
            if self._idle_check is None:
                self._idle_check = loop.call_later(IDLE_SECONDS, self._stop_if_idle)

    def _submit(self, fn: Callable[..., T], *args: Any) -> tuple[ProcessPoolExecutor, Future[T]]:
        """Hand ``fn(*args)`` to the worker processes (started here when there are none)."""
        with self._starting:
            workers = self._workers
            if workers is None:
                workers = self._workers = ProcessPoolExecutor(
                    self.slots, mp_context=_worker_context(), initializer=_start_worker
                )
        try:
            return workers, workers.submit(fn, *args)
        except BrokenProcessPool:  # one died before this work could be handed to them
            self._stop_workers(workers)
            raise

    def prepare(self) -> None:
        """Start, in a thread, the fork server that worker processes are made from: at the
        server's start-up, before a meeting needs the cores (it is a new interpreter that
        imports WORKER_MODULES, about a tenth of a second of CPU). Until it is up, the first
        heavy work waits for it."""
        if _worker_context().get_start_method() == "forkserver":
            threading.Thread(
                target=_start_fork_server, name="kring-fork-server", daemon=True
            ).start()

    def _stop_if_idle(self) -> None:
        self._idle_check = None
        idle_for = time.monotonic() - self._last_used
        if self.running == 0 and idle_for >= IDLE_SECONDS:
            self._stop_workers()
        elif self._workers is not None:
            wait = max(1.0, IDLE_SECONDS - idle_for)
            self._idle_check = asyncio.get_running_loop().call_later(wait, self._stop_if_idle)

    def _stop_workers(
        self, only: ProcessPoolExecutor | None = None, *, end_running: bool = False
    ) -> None:
        """Let the worker processes go (only those of pool ``only``, when given: a pool that
        broke, not the new one another job may have started since). Work still running in
        them runs to its end, unless ``end_running``: then they are stopped at once."""
        with self._starting:
            workers = self._workers
            if workers is None or (only is not None and workers is not only):
                return
            self._workers = None
        running = list(workers._processes.values()) if end_running else []
        workers.shutdown(wait=False, cancel_futures=True)
        for process in running:
            process.terminate()
        for process in running:
            process.join(timeout=STOP_SECONDS)

    def close(self) -> None:
        """Stop the worker processes (at shutdown), and the work still running in them: it
        is for nobody any more, and the pool would let its process go only once that work
        ended, which a server stopped by a signal does not wait for."""
        if self._idle_check is not None:
            self._idle_check.cancel()
            self._idle_check = None
        self._stop_workers(end_running=True)

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


# What a worker process runs, imported once by the fork server, so that a worker it forks has
# them already: server.cli (the main module) is not among them, nor anything the server alone
# needs.
WORKER_MODULES = (
    "server.conference.heavy",
    "server.formats.printing",
    "server.views.outcomestable",
    "server.conference.exportwork",
)


def _worker_context() -> multiprocessing.context.BaseContext:
    """How worker processes start. Not a fork of this process: that would copy its threads'
    locks mid-use (the database's, the logging's). Where it can (Linux, the BSDs, macOS), a
    fork of a fork server: a small process started once, with WORKER_MODULES imported, whose
    fork is a worker ready in a few milliseconds. A fresh interpreter per worker (spawn, the
    only way on Windows) would hold a core at normal priority for Python's start and its
    imports, each, just when the heavy work starts beside a meeting."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_MODULES))
    return context


def _start_fork_server() -> None:
    try:
        multiprocessing.forkserver.ensure_running()
    except OSError as exc:  # no processes left, say: the first heavy work tries again
        log.warning("the fork server of the heavy work did not start: %s", exc)


def _start_worker() -> None:
    """A worker process's first steps: it leaves with the server, and gives way to it."""
    _leave_with_the_server()
    _lower_priority()


def _leave_with_the_server() -> None:
    """End this worker process as soon as the server that started it is gone, however it
    went. A server stopped in order ends its workers itself; one killed (out of memory,
    SIGKILL, a crash) cannot, and its workers, which hold both ends of their job queue, would
    wait for a job for ever, each with its memory and, on PostgreSQL, a database's process."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:  # not started by multiprocessing
        return

    def watch(sentinel: int) -> None:
        wait([sentinel])  # readable once the server's end of it is closed: the server is gone
        os._exit(0)

    threading.Thread(
        target=watch, args=(parent.sentinel,), name="kring-server-watch", daemon=True
    ).start()


def _lower_priority() -> None:
    """Give way to the server (WORKER_NICENESS)."""
    try:
        os.nice(WORKER_NICENESS)
    except OSError as exc:  # not allowed here (a container's limits): run at normal priority
        log.warning("a worker process of the heavy work keeps its priority: %s", exc)
