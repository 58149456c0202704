"""Cross-cutting protections of the application: websocket origins and quiet logs."""

from __future__ import annotations

import asyncio
import logging

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server.app import RedactInvitationTokens
from tests.support.server import LiveServer


def test_the_access_log_never_holds_a_working_link() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/i/S3cr3tT0k3n-abc?x=1", "1.1", 200),
        None,
    )
    assert RedactInvitationTokens().filter(record)
    assert "S3cr3tT0k3n" not in record.getMessage()
    assert "/i/…?x=1" in record.getMessage()
    password = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, "%s", ("POST /password/Pw-T0k3n",), None
    )
    assert RedactInvitationTokens().filter(password)
    assert password.getMessage() == "POST /password/…"


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
