"""What an operator watches: ``/metrics`` (Prometheus's text format) and ``/healthz``.

``/metrics`` opens with the bearer token ``KRING_METRICS_TOKEN``, or to a connection whose
own peer address is in ``KRING_METRICS_ALLOW``. The peer is the socket's other end as the app
first saw it (``app.PeerAndProxies`` keeps it), never the client address a proxy forwards:
anyone can write an ``X-Forwarded-For`` header, and a proxy on the same host is a loopback
peer for every request it passes on. With neither set, ``/metrics`` does not exist (404).

``/healthz`` runs a trivial query on the database and, with Redis, a PING: 200 when both
answer, else 503 naming what failed. Its body names no address, user or error text; the
error goes to the log.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from collections.abc import Awaitable
from functools import cache

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server import metrics
from server.views import common

log = logging.getLogger("kring.health")

CHECK_SECONDS = 3.0  # a check that takes longer has failed
NOT_STORED = {"cache-control": "no-store"}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def _networks(listed: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in listed.split(",") if item)


def peer_allowed(peer: object, listed: str) -> bool:
    """Whether the connection's own peer (an address string) is in the listed networks."""
    if not isinstance(peer, str) or not listed:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:  # a Unix socket, or no address at all
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # a dual-stack socket's way of saying an IPv4 peer
    return any(address in network for network in _networks(listed))


def _token_given(request: Request, token: str) -> bool | None:
    """True: the right bearer token; False: a wrong one; None: no Authorization header."""
    given = request.headers.get("authorization")
    if given is None:
        return None
    scheme, _, value = given.strip().partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(), token.encode())


async def metrics_page(request: Request) -> Response:
    settings = common.settings(request)
    token, allowed = settings.metrics_token, settings.metrics_allow
    if not token and not allowed:
        return Response(status_code=404, headers=NOT_STORED)
    given = _token_given(request, token)
    if not given and not peer_allowed(request.scope.get("kring.peer"), allowed):
        if given is None:
            challenge = {"www-authenticate": 'Bearer realm="kring metrics"'} if token else {}
            return Response(status_code=401, headers=NOT_STORED | challenge)
        return Response(status_code=403, headers=NOT_STORED)
    body, content_type = metrics.exposition()
    return Response(body, headers=NOT_STORED | {"content-type": content_type})


async def healthz(request: Request) -> Response:
    """200 when the database (and Redis, when configured) answer; else 503 naming which
    failed, as ``{"status": "failing", "failed": ["redis"], "checks": {...}}``."""
    hub = common.hub(request)
    checks: dict[str, Awaitable[None]] = {"database": common.store(request).ping()}
    if hub.broker.relays:
        checks["redis"] = hub.broker.check()
    results = await asyncio.gather(
        *(asyncio.wait_for(check, CHECK_SECONDS) for check in checks.values()),
        return_exceptions=True,
    )
    failed = []
    for name, result in zip(checks, results, strict=True):
        if isinstance(result, BaseException):
            failed.append(name)
            why = f"{type(result).__name__}: {result}"[:300]
            log.warning("health check: the %s failed (%s)", name, why)
    body = {
        "status": "failing" if failed else "ok",
        "failed": failed,
        "checks": {name: "failed" if name in failed else "ok" for name in checks},
    }
    return JSONResponse(body, status_code=503 if failed else 200, headers=NOT_STORED)
