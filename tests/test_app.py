"""Cross-cutting protections of the application: websocket origins (quiet logs: test_logs)."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.server import LiveServer


async def _close_code(url: str, origin: str) -> tuple[int | None, str | None]:
    async with connect(url, origin=origin, open_timeout=5) as ws:  # type: ignore[arg-type]
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), timeout=5)
    assert ws.close_code is not None or ws.close_reason is not None
    return ws.close_code, ws.close_reason


def test_a_websocket_from_another_site_is_closed_with_4403_and_a_reason(
    live_server: LiveServer,
) -> None:
    url = live_server.url.replace("http://", "ws://") + "/ws/any/plan"
    code, reason = asyncio.run(_close_code(url, "https://evil.example"))
    assert code == 4403
    assert reason == "Deze verbinding komt van een andere website."
