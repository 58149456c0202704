"""The channel between processes: what one process tells the others about a conference.

One process needs none (``LocalBroker``: nothing to relay). With ``KRING_REDIS_URL`` set,
``RedisBroker`` gives each conference one Redis pub/sub channel that carries its committed
updates, its presence, its phase changes, people dropped from it, its erasure and its console
events, so that every process holding a replica of the room sees the same things in the order
each process said them. Each process publishes through one connection, in order, from one
task (so a phase change is published before any update that this process commits after it),
and listens to every conference's channel through one subscription.

Pub/sub delivers at most once. Whenever the subscription is (re)established, the hub is told
to catch up (``resync``): it rereads every loaded document and phase from the database, which
holds everything any process ever published (a process publishes only what it committed).

Wire format: ``b"K1"``, a 4-byte big-endian header length, a JSON header (kind, conference,
document, origin process, metadata, when it was published), then the raw payload (a Yjs
update or presence).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import secrets
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from server import metrics

log = logging.getLogger("kring.broker")

MAGIC = b"K1"
_HEADER = struct.Struct(">I")
MAX_QUEUED = 50_000  # messages waiting to be published; past it the oldest presence goes
RECONNECT_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0)


@dataclass(frozen=True)
class Notice:
    kind: str  # update, presence, phase, drop, erase, event, here
    conference_id: str
    document: str = ""
    payload: bytes = b""
    meta: dict[str, Any] = field(default_factory=dict)
    origin: str = ""
    sent: float = 0.0  # when the origin published it (a timestamp; 0: not said)


class BrokerUnavailable(RuntimeError):
    """The channel between processes cannot be set up (Redis is down or misnamed)."""


class BadMessage(ValueError):
    """Bytes on a channel that are not a Kring broker message."""


def encode(message: Notice) -> bytes:
    header = json.dumps(
        {
            "k": message.kind,
            "c": message.conference_id,
            "d": message.document,
            "o": message.origin,
            "m": message.meta,
            "t": message.sent,
        },
        separators=(",", ":"),
    ).encode()
    return MAGIC + _HEADER.pack(len(header)) + header + message.payload


def decode(data: bytes) -> Notice:
    if data[:2] != MAGIC or len(data) < 6:
        raise BadMessage("not a Kring broker message")
    (length,) = _HEADER.unpack_from(data, 2)
    if 6 + length > len(data):
        raise BadMessage("the header is cut off")
    try:
        header = json.loads(data[6 : 6 + length])
        return Notice(
            kind=str(header["k"]),
            conference_id=str(header["c"]),
            document=str(header["d"]),
            payload=bytes(data[6 + length :]),
            meta=dict(header["m"]),
            origin=str(header["o"]),
            sent=float(header.get("t") or 0.0),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise BadMessage(f"the header does not parse: {exc}") from None


Deliver = Callable[[Notice], None]
Resync = Callable[[], Awaitable[None]]


class Broker(Protocol):
    process_id: str
    relays: bool  # whether other processes exist to tell

    def publish(self, message: Notice) -> None: ...

    async def start(self, deliver: Deliver, resync: Resync) -> None: ...

    async def close(self) -> None: ...

    async def check(self) -> None:
        """Raise unless the other processes can be reached now (for /healthz)."""


class LocalBroker:
    """One process: nothing to relay."""

    relays = False

    def __init__(self) -> None:
        self.process_id = secrets.token_hex(8)

    def publish(self, message: Notice) -> None:
        return None

    async def start(self, deliver: Deliver, resync: Resync) -> None:
        return None

    async def close(self) -> None:
        return None

    async def check(self) -> None:
        return None


class RedisBroker:
    """Redis pub/sub, one channel per conference (``{prefix}:room:{conference id}``)."""

    relays = True

    def __init__(self, url: str, prefix: str = "kring") -> None:
        self.url = url
        self.prefix = prefix
        self.process_id = secrets.token_hex(8)
        self.published = 0
        self.received = 0
        self.connected = asyncio.Event()  # set while the subscription is up
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._client: Any = None
        self._closing = False

    def channel(self, conference_id: str) -> str:
        return f"{self.prefix}:room:{conference_id}"

    def publish(self, message: Notice) -> None:
        """Queue a message; never waits. One task sends them, in this order."""
        if self._closing:
            return
        if self._outbox.qsize() >= MAX_QUEUED:
            log.error("Redis is not taking messages; dropping the oldest waiting one")
            self._outbox.get_nowait()
        stamped = dataclasses.replace(message, origin=self.process_id, sent=time.time())
        self._outbox.put_nowait((self.channel(message.conference_id), encode(stamped)))

    async def start(self, deliver: Deliver, resync: Resync) -> None:
        """Connect (raise if Redis cannot be reached), then listen and publish in the
        background, reconnecting with a backoff when the connection drops."""
        from redis import asyncio as aioredis

        # Named, so an operator (or a test) can tell which process a connection serves.
        self._client = aioredis.Redis.from_url(
            self.url, client_name=f"{self.prefix}-{self.process_id}"
        )
        try:
            await self._client.ping()
        except Exception as exc:
            await self._client.aclose()
            raise BrokerUnavailable(f"KRING_REDIS_URL: Redis cannot be reached: {exc}") from None
        subscribed = asyncio.get_running_loop().create_future()
        self._tasks = [
            asyncio.create_task(self._listen(deliver, resync, subscribed), name="kring-broker-in"),
            asyncio.create_task(self._send(), name="kring-broker-out"),
        ]
        await asyncio.wait_for(asyncio.shield(subscribed), timeout=10)

    async def _listen(
        self, deliver: Deliver, resync: Resync, subscribed: asyncio.Future[None]
    ) -> None:
        attempt = 0
        while not self._closing:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(f"{self.prefix}:room:*")
                self.connected.set()
                attempt = 0
                if not subscribed.done():
                    subscribed.set_result(None)
                else:  # what was published while we were away is in the database
                    log.warning("Redis subscription is back; catching up from the database")
                    await resync()
                while True:
                    item = await pubsub.get_message(timeout=None)
                    if item is None or item.get("type") != "pmessage":
                        continue
                    self._receive(item["data"], deliver)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.connected.clear()
                delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
                attempt += 1
                log.error("Redis subscription lost (%s); retrying in %.2f s", exc, delay)
                await asyncio.sleep(delay)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _receive(self, data: bytes, deliver: Deliver) -> None:
        try:
            message = decode(data)
        except BadMessage as exc:
            log.warning("ignored a message on the Redis channel: %s", exc)
            return
        if message.origin == self.process_id:
            return
        self.received += 1
        if message.sent:
            metrics.RELAY_LAG.observe(max(0.0, time.time() - message.sent))
        try:
            deliver(message)
        except Exception:  # one room's trouble must not end the subscription
            log.exception(
                "delivering a %s message of %s failed", message.kind, message.conference_id
            )

    async def _send(self) -> None:
        attempt = 0
        while True:
            batch = [await self._outbox.get()]
            while not self._outbox.empty() and len(batch) < 500:
                batch.append(self._outbox.get_nowait())
            while True:
                try:
                    pipe = self._client.pipeline(transaction=False)
                    for channel, data in batch:
                        pipe.publish(channel, data)
                    await pipe.execute()
                    self.published += len(batch)
                    attempt = 0
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # keep the order: retry this batch first
                    delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
                    attempt += 1
                    log.error("publishing to Redis failed (%s); retrying in %.2f s", exc, delay)
                    await asyncio.sleep(delay)
            for _ in batch:
                self._outbox.task_done()

    @property
    def waiting(self) -> int:
        """Messages queued to be published."""
        return self._outbox.qsize()

    async def check(self) -> None:
        """Raise unless Redis answers a PING and this process's subscription is up."""
        if self._client is None:
            raise BrokerUnavailable("not started")
        await self._client.ping()
        if not self.connected.is_set():
            raise BrokerUnavailable("the subscription to the other processes is down")

    async def close(self) -> None:
        """Send what is queued (bounded), then disconnect."""
        self._closing = True
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), timeout=2)
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
