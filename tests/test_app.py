"""Cross-cutting protections of the application: websocket origins (quiet logs: test_logs)."""

from __future__ import annotations

import asyncio

import pytest
from starlette.endpoints import WebSocketEndpoint
from starlette.middleware import Middleware
from starlette.routing import Mount, Router, WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from server.app import InputGuard, LiveSockets
from tests.support.server import LiveServer


async def _close_code(
    url: str, origin: str, language: str | None = None
) -> tuple[int | None, str | None]:
    """How the server closes a websocket it refuses (``language``: the device's choice)."""
    cookie = {"Cookie": f"kring_lang={language}"} if language else None
    async with connect(url, origin=Origin(origin), additional_headers=cookie, open_timeout=5) as ws:
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


def test_a_refused_websocket_reads_in_the_language_chosen_on_the_device(
    live_server: LiveServer,
) -> None:
    """The websocket's short path through the middlewares still sets the device's language."""
    url = live_server.url.replace("http://", "ws://") + "/ws/any/plan"
    refused = asyncio.run(_close_code(url, "https://evil.example", "en"))
    assert refused == (4403, "This connection comes from another website.")


@pytest.mark.parametrize("path", ["/ws/only-one-part", "/ws/a/b/c", "/elsewhere"])
def test_a_websocket_to_no_live_document_is_refused_at_the_handshake(
    live_server: LiveServer, path: str
) -> None:
    """Bad input: a websocket to a path that is no live document gets HTTP 403 and no
    websocket, as Starlette's router answered it before websockets had a path of their own."""
    url = live_server.url.replace("http://", "ws://") + path

    async def attempt() -> int:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url, origin=Origin(live_server.url), open_timeout=5):
                pass
        return refused.value.response.status_code

    assert asyncio.run(attempt()) == 403


@pytest.mark.parametrize("address", ["/ws/%00/plan", "/ws/x/plan?view=%01", "/ws/x%0A/plan"])
def test_a_websocket_address_with_a_control_character_is_refused_saying_so(
    live_server: LiveServer, address: str
) -> None:
    """Bad input: a control character in a websocket's path or query never reaches the
    database (PostgreSQL refused a NUL there, and the device was told the server had failed);
    the device is told what is wrong, in its own language."""
    url = live_server.url.replace("http://", "ws://") + address
    refused = asyncio.run(_close_code(url, live_server.url, "en"))
    assert refused == (4403, "This address contains an invalid character.")


def test_the_short_websocket_path_refuses_routes_it_would_serve_wrongly() -> None:
    """Websockets skip Starlette's router (``LiveSockets``): a websocket route it cannot serve
    as Starlette would (inside a mount, or a class endpoint) stops the app from being made."""

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.close()

    class Endpoint(WebSocketEndpoint):
        pass

    LiveSockets(Router([WebSocketRoute("/ws/{a}", endpoint)]))  # a plain one is fine
    with pytest.raises(TypeError, match="inside the mount"):
        LiveSockets(Router([Mount("/sub", routes=[WebSocketRoute("/ws", endpoint)])]))
    with pytest.raises(TypeError, match="a function endpoint only"):
        LiveSockets(Router([WebSocketRoute("/ws", Endpoint)]))
    with pytest.raises(TypeError, match="a function endpoint only"):
        LiveSockets(Router([WebSocketRoute("/ws", endpoint, middleware=[Middleware(InputGuard)])]))
