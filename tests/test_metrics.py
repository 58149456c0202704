"""The late-loop warning (server/metrics.py): a wake-up of the event loop later than the
threshold is logged with the heavy work and the HTTP routes that ran meanwhile. Here the
watcher runs on this test's own loop, which a task really blocks (``time.sleep`` on the loop,
as a long computation would); tests/views/test_watch.py sees it in a real server."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from server import metrics
from server.app import NamedRequests

LOGGER = "kring.loop"


@pytest.fixture
async def watched(caplog: pytest.LogCaptureFixture) -> AsyncIterator[pytest.LogCaptureFixture]:
    """The watcher on this loop: a timer every 10 ms, a warning above 50 ms."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    watcher = asyncio.create_task(metrics.watch_loop(interval=0.01, warn_after=0.05))
    await asyncio.sleep(0.05)  # it is sleeping on its timer now
    try:
        yield caplog
    finally:
        watcher.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watcher


def warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


async def first_warning(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    """The first warning, waited for (the watcher logs once it has run after the stall)."""
    deadline = time.monotonic() + 5
    while not warnings(caplog):
        assert time.monotonic() < deadline, "no warning of the late loop"
        await asyncio.sleep(0.01)
    return warnings(caplog)[0]


async def blocked(label: str, seconds: float) -> None:
    """Heavy work that keeps the loop from everything else for ``seconds``."""
    with metrics.heavy(label):
        time.sleep(seconds)  # noqa: ASYNC251 (the point: the loop is blocked)


async def test_a_blocked_loop_is_logged_with_the_heavy_work_that_ran(
    watched: pytest.LogCaptureFixture,
) -> None:
    await asyncio.create_task(blocked("test export", 0.3))
    record = await first_warning(watched)
    message = record.getMessage()
    assert "heavy work: test export;" in message
    assert 0.25 * 1000 <= record.lag_ms < 2000  # type: ignore[attr-defined]
    assert f"woke {record.lag_ms} ms late" in message  # type: ignore[attr-defined]
    assert record.heavy_work == "test export"  # type: ignore[attr-defined]  # JSON field


async def test_work_that_ended_before_the_stall_is_not_named(
    watched: pytest.LogCaptureFixture,
) -> None:
    with metrics.heavy("earlier work"):
        await asyncio.sleep(0)
    await asyncio.sleep(0.1)  # the watcher wakes on time a few times meanwhile
    assert warnings(watched) == []
    await asyncio.create_task(blocked("later work", 0.2))
    message = (await first_warning(watched)).getMessage()
    assert "heavy work: later work;" in message
    assert "earlier work" not in message


async def test_a_short_stall_below_the_threshold_is_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    watcher = asyncio.create_task(metrics.watch_loop(interval=0.01, warn_after=0.25))
    try:
        await asyncio.sleep(0.05)
        for _ in range(3):
            await asyncio.create_task(blocked("short work", 0.03))
            await asyncio.sleep(0.03)
        await asyncio.create_task(blocked("long work", 0.4))
        message = (await first_warning(caplog)).getMessage()
    finally:
        watcher.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watcher
    assert "long work" in message
    assert "short work" not in message
    assert len(warnings(caplog)) == 1


def test_late_wakeups_within_a_second_are_summed_into_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    late = metrics.LateWakeups(warn_after=0.1, quiet_for=1.0)
    start = time.monotonic()
    with metrics.heavy("pdf copy"):
        late.woke(0.3, start, start + 0.35)  # the first is logged at once
    with metrics.heavy("backup"), metrics.heavy("pdf copy"), metrics.heavy("pdf copy"):
        late.woke(0.5, start + 0.35, start + 0.9)  # within the second: kept
        late.woke(0.2, start + 0.9, start + 1.15)
    late.woke(0.0, start + 1.15, start + 1.4)  # on time, a second after the first line
    lines = [r.getMessage() for r in warnings(caplog)]
    assert lines == [
        "the event loop woke 300 ms late (every live room waited meanwhile); "
        "heavy work: pdf copy; HTTP requests: none",
        "the event loop woke late 2 times, at worst 500 ms (every live room waited "
        "meanwhile); heavy work: pdf copy (2x), backup; HTTP requests: none",
    ]


async def test_the_warning_names_the_route_being_served(
    watched: pytest.LogCaptureFixture,
) -> None:
    async def slow(request: Request) -> PlainTextResponse:
        time.sleep(0.3)  # noqa: ASYNC251 (a page computed on the loop)
        return PlainTextResponse("done")

    table = [Route("/reports/{number:int}", slow)]
    app = NamedRequests(Starlette(routes=table), table)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kring.test") as client:
        assert (await client.get("/reports/7")).text == "done"
    message = (await first_warning(watched)).getMessage()
    assert message.endswith("HTTP requests: GET /reports/{number:int}")  # the pattern, no id
    assert "/reports/7" not in message
