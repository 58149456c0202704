"""create_app(settings) -> the Starlette application: routes, middleware and lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import json
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

from starlette.applications import Starlette
from starlette.datastructures import Headers, QueryParams, UploadFile
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Router, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketClose
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from server import i18n, logs, metrics
from server.clock import use_time_zone
from server.conference import access, backups, erasure, periodic, reminders, sessions
from server.conference.events import Event, Events
from server.conference.exportjobs import ExportJobs
from server.conference.heavy import HeavyWork
from server.i18n import _
from server.rooms.broker import Broker, LocalBroker, Notice, RedisBroker
from server.rooms.hub import RoomHub
from server.rules.forms import printable, text_refusal
from server.settings import Settings
from server.storage.documents import DocumentLog, DurabilityError, check_durability
from server.storage.migrate import schema_problem
from server.storage.store import Store
from server.views import common, routes, stream
from server.views.assets import load_manifest, static_app, static_url_for, templates
from server.views.identity import origin_allowed

log = logging.getLogger("kring")

# When the garbage collector looks at the youngest objects: once 10,000 more were made than
# freed (Python's default is 700), every 3rd of those looks at the middle generation too, and
# every 10th of these may become a full collection. Relaying an edit makes and frees objects by
# the thousand, and a few hundred are always in flight (messages waiting for their group
# commit); at 700 the collector ran hundreds of times a minute and kept promoting those into
# the old generation, so full collections, which walk every connection's objects (100-240 ms
# with 2,000 devices connected), came every 20-30 s of a busy meeting and held every room.
# Counted this way, traffic that frees what it makes hardly moves the counter: collections
# come with growth (devices connecting), a young one takes a few milliseconds. (Python 3.11 to
# 3.13; 3.14's incremental collector reads these numbers differently, and paces itself.)
GC_THRESHOLDS = (10_000, 3, 10) if sys.version_info < (3, 14) else None

# Pages load nothing from another host; inline scripts and styles are not needed either.
# Styles may be inline: the plan editor (CodeMirror) writes its base styles into a <style>
# element where a browser lacks adoptedStyleSheets (iPadOS 15), and other people's cursors are
# coloured with style attributes. Scripts stay 'self' only; 'wasm-unsafe-eval' lets the QR
# scanner ("switch person", scan.js) compile its WebAssembly decoder, served from /static/
# too (it allows WebAssembly only, not eval() of JavaScript).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'wasm-unsafe-eval'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


class SchemaOutOfDate(RuntimeError):
    pass


class SecurityMiddleware:
    """Refuse cross-site writes (Origin / Sec-Fetch-Site) and add protective headers."""

    def __init__(self, app: ASGIApp, allowed_origins: frozenset[str]) -> None:
        self.app = app
        self.allowed_origins = allowed_origins

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] == "websocket":
            if origin_allowed("GET", Headers(scope=scope), self.allowed_origins):
                return self.app(scope, receive, send)
            return refuse_websocket(
                receive, send, _("Deze verbinding komt van een andere website.")
            )
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        if not origin_allowed(scope["method"], headers, self.allowed_origins):
            response = PlainTextResponse(
                _(
                    "Dit verzoek komt van een andere website en is geweigerd. "
                    "(Cross-site request refused: the Origin is not allowed.)"
                ),
                status_code=403,
            )
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = message.setdefault("headers", [])
                raw.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                raw.append((b"x-content-type-options", b"nosniff"))
                # Links carry tokens, so no Referer leaves the site; but not "no-referrer",
                # with which browsers send "Origin: null" on our own form posts.
                raw.append((b"referrer-policy", b"same-origin"))
            await send(message)

        await self.app(scope, receive, send_with_headers)


# Forms and JSON bodies are read whole by the guard below; none of Kring's is near this.
MAX_CHECKED_BODY_BYTES = 1024 * 1024
_CHECKED_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "application/json")


def _json_strings(value: object, name: str) -> list[tuple[str, str]]:
    """Every string in a JSON value (keys too), with the name of the field it belongs to."""
    if isinstance(value, str):
        return [(name, value)]
    if isinstance(value, dict):
        found: list[tuple[str, str]] = []
        for key, item in value.items():
            found.append((str(key), str(key)))
            found.extend(_json_strings(item, str(key)))
        return found
    if isinstance(value, list):
        return [pair for item in value for pair in _json_strings(item, name)]
    return []


class InputGuard:
    """Every text people submit passes one check (``forms.text_refusal``) before any page or
    API sees it: the query string, form fields and JSON bodies. A control character, a lone
    surrogate or a line break in a one-line field is refused with 400 naming the field,
    instead of failing (500) where it is stored or put into a mail header. A websocket's path
    and query string are checked too; it is refused with 4403 (a close reason is short)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] == "websocket":
            if any(text_refusal(name, value) for name, value in _address_fields(scope)):
                return refuse_websocket(receive, send, _("Dit adres bevat een ongeldig teken."))
            return self.app(scope, receive, send)
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        fields = _address_fields(scope)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if scope["method"] not in ("GET", "HEAD") and content_type in _CHECKED_TYPES:
            body = b""
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client left
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > MAX_CHECKED_BODY_BYTES:
                    await PlainTextResponse(_("Dit verzoek is te groot."), 413)(
                        scope, receive, send
                    )
                    return
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            receive = replay
            fields.extend(await _body_fields(scope, content_type, body))
        for name, value in fields:
            refusal = text_refusal(name, value)
            if refusal is not None:
                await _refuse(request, name, refusal)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _address_fields(scope: Scope) -> list[tuple[str, str]]:
    """The path and the query string's parameters: what an address submits."""
    fields: list[tuple[str, str]] = [("path", scope["path"])]
    fields.extend(QueryParams(scope.get("query_string", b"")).multi_items())
    return fields


async def _body_fields(scope: Scope, content_type: str, body: bytes) -> list[tuple[str, str]]:
    if content_type == "application/json":
        try:
            return _json_strings(json.loads(body), "body")
        except (ValueError, RecursionError):
            return []  # the API answers a body that is no JSON itself

    async def once() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(scope, once).form()
    except Exception:  # a form that does not parse is the page's own to refuse
        return []
    return [(k, v) for k, v in form.multi_items() if not isinstance(v, UploadFile)]


def _refuse(request: Request, name: str, refusal: str) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse(
            {"error": "bad_text", "field": printable(name), "reason": refusal}, status_code=400
        )
    return common.error_page(request, 400, _("Dit kan Kring niet bewaren"), refusal)


class PeerAndProxies:
    """Keep the connection's own peer address (``scope["kring.peer"]``, for /metrics), then,
    when that peer is one of ``KRING_TRUSTED_PROXIES``, take the client address and scheme
    it forwards (``X-Forwarded-For``/``-Proto``, uvicorn's middleware) as the request's."""

    def __init__(self, app: ASGIApp, trusted_proxies: str) -> None:
        self.app = app
        # uvicorn types the ASGI interface more narrowly than Starlette; the same protocol.
        proxies: Any = ProxyHeadersMiddleware(cast(Any, app), trusted_proxies)
        self.inner: ASGIApp = proxies if trusted_proxies else app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            scope["kring.peer"] = client[0] if client else None
        return self.inner(scope, receive, send)


class LanguageMiddleware:
    """Answer in the language chosen on this device (the ``kring_lang`` cookie), else Dutch,
    until someone known is found: the auth helpers then switch to that person's own choice."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] == "websocket":
            # Not reset afterwards: the server runs each websocket in a task of its own, and
            # a task's context variables end with it (this saves the websocket a frame).
            i18n.start_request(HTTPConnection(scope).cookies.get(i18n.LANGUAGE_COOKIE))
            return self.app(scope, receive, send)
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        conn = HTTPConnection(scope)
        token = i18n.start_request(conn.cookies.get(i18n.LANGUAGE_COOKIE))
        try:
            await self.app(scope, receive, send)
        finally:
            i18n.end_request(token)


async def refuse_websocket(receive: Receive, send: Send, reason: str) -> None:
    """Accept, then close with 4403 and a reason: a close before accept reaches a browser
    only as 1006, without the reason."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": 4403, "reason": reason})


class NamedRequests:
    """Keep every HTTP request in progress known to ``metrics.serving``, so that a warning of
    a late event loop names the routes it was serving: the route's pattern
    (``GET /c/{conference_id}/plan/{number:int}.pdf``), never the path with its ids."""

    def __init__(self, app: ASGIApp, table: list[BaseRoute]) -> None:
        self.app = app
        self.patterns: dict[Any, str] = {}
        for route in table:
            endpoint, path = getattr(route, "endpoint", None), getattr(route, "path", None)
            if endpoint is not None and path is not None:
                self.patterns.setdefault(endpoint, path)

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        with metrics.serving(lambda: self.route(scope)):
            await self.app(scope, receive, send)

    def route(self, scope: Scope) -> str:
        """Known once the router has matched the request (it writes into the same scope)."""
        pattern = self.patterns.get(scope.get("endpoint"))
        if pattern is None:
            pattern = f"{scope['root_path']}/..." if scope.get("root_path") else "(no route)"
        return f"{scope.get('method', '?')} {pattern}"


class LiveSockets:
    """The websocket routes, without Starlette's router and its error and exception layers.

    A websocket stays open for hours, and every layer it passed through stays with it: a
    suspended frame, closures, the objects they hold. Through the whole stack a live
    document's websocket was 24 frames deep and kept about 175 objects, which every full
    garbage collection walks (with 2,000 tablets connected, 100-240 ms). Here it takes the
    middlewares above (which hand a websocket on without a frame of their own) and then the
    endpoint: 8 frames (9 behind a trusted proxy, whose middleware is uvicorn's). Those
    layers did nothing for a websocket: the error layer re-raises (the server then closes it
    with 1011, as here) and no exception handler is for one."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.routes = [route for route in router.routes if isinstance(route, WebSocketRoute)]
        for route in router.routes:  # what this short path would get wrong: refuse to start
            if isinstance(route, Mount) and any(
                isinstance(inner, WebSocketRoute) for inner in route.routes
            ):
                raise TypeError(f"a websocket route inside the mount {route.path}")
        for route in self.routes:
            wrapped = getattr(route.app, "__qualname__", "").startswith("websocket_session")
            if not (wrapped and inspect.iscoroutinefunction(route.endpoint)):
                raise TypeError(f"websocket route {route.path}: a function endpoint only")

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        scope["router"] = self.router
        for route in self.routes:
            match, child_scope = route.matches(scope)
            if match == Match.FULL:
                scope.update(child_scope)
                return cast(Awaitable[None], route.endpoint(WebSocket(scope, receive, send)))
        return WebSocketClose()(scope, receive, send)  # what the router answers: no such route


class KringApp(Starlette):
    """Starlette, with websockets taking the short path of ``LiveSockets`` through the same
    middlewares (built twice: once around the router, once around ``LiveSockets``)."""

    websocket_stack: ASGIApp | None = None

    def build_middleware_stack(self) -> ASGIApp:
        app: ASGIApp = LiveSockets(self.router)
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        self.websocket_stack = app
        return super().build_middleware_stack()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self
        if self.middleware_stack is None:
            self.middleware_stack = self.build_middleware_stack()
        if scope["type"] == "websocket" and self.websocket_stack is not None:
            await self.websocket_stack(scope, receive, send)
        else:
            await self.middleware_stack(scope, receive, send)


def _held(hub: RoomHub, store: Store, broker: Broker) -> metrics.Held:
    """What this process holds now, for /metrics."""
    connections, rooms, documents = hub.held()
    waiting = broker.waiting if isinstance(broker, RedisBroker) else None
    return metrics.Held(connections, rooms, documents, store.pool_use(), waiting)


def _relay_to(broker: Broker) -> Callable[[str, Event], None]:
    def relay(conference_id: str, event: Event) -> None:
        meta = {"name": event.name, "data": event.data}
        broker.publish(Notice("event", conference_id, meta=meta))

    return relay


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the application. Settings default to the environment (read once, here)."""
    settings = settings or Settings.from_env()
    use_time_zone(settings.time_zone)
    logs.configure(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = Store.connect(settings.database_url)
        try:
            problem = schema_problem(await store.schema_revision())
            if problem is not None:
                raise SchemaOutOfDate(problem)
            try:
                await check_durability(store.engine)
            except DurabilityError as exc:
                if not settings.allow_weak_durability:
                    raise
                log.warning("%s (allowed by KRING_ALLOW_WEAK_DURABILITY)", exc)
            document_log = DocumentLog(store.engine)
            # The first use of a statement costs SQLAlchemy tens of milliseconds; pay it now,
            # not on the first tablet that joins after a restart.
            await store.session_by_hash("")
            await document_log.load("", "plan")
            broker: Broker = (
                RedisBroker(settings.redis_url, settings.redis_prefix)
                if settings.redis_url
                else LocalBroker()
            )
            hub = RoomHub(document_log, settings.room_limits, broker)
            events = Events(relay=_relay_to(broker) if broker.relays else None)
            hub.on_presence = stream.presence_listener(app.state)
            hub.on_event = lambda cid, name, data: events.deliver(cid, Event(name, data))
            heavy = HeavyWork(settings.heavy_jobs, settings.heavy_wait_seconds)
            export_jobs = ExportJobs(settings.instance_dir / "exports")

            def erased(conference_id: str) -> None:  # here or on another process
                events.end(conference_id)
                export_jobs.forget(conference_id)

            hub.on_erased = erased
            hub.on_sessions_ended = events.end_sessions
            hub.on_dropped = lambda cid, pid, aid: events.end_person(
                cid, participant_id=pid, account_id=aid
            )
            hub.on_written = access.record_writes(store, hub)
            await hub.connect()  # fails here, before any room opens, if Redis cannot be reached
            document_log.start()
            hub.start()

            async def check_sessions() -> None:
                await sessions.sweep(store, settings, hub, events)

            app.state.store = store
            app.state.hub = hub
            app.state.events = events
            app.state.heavy = heavy
            app.state.export_jobs = export_jobs
            metrics.watch(lambda: _held(hub, store, broker))
            loop_lag = asyncio.create_task(
                metrics.watch_loop(warn_after=settings.loop_lag_warn_ms / 1000),
                name="kring-loop-lag",
            )
            # What start-up made (modules, mappings, compiled statements) lives as long as the
            # process: out of the garbage collector's sight, its full collections (a storm of
            # connecting tablets makes many objects) no longer walk it each time.
            i18n.read_catalogs()
            i18n.read_locale_data()
            gc.collect()
            gc.freeze()
            heavy.prepare()
            thresholds = gc.get_threshold()
            if GC_THRESHOLDS is not None:
                gc.set_threshold(*GC_THRESHOLDS)
            try:
                async with (
                    reminders.running(store, settings),
                    erasure.purging(store, settings, hub, events),
                    periodic.running("sessions", settings.session_check_seconds, check_sessions),
                    backups.nightly(store, settings),
                ):
                    yield
            finally:
                gc.set_threshold(*thresholds)  # an app in a test's process leaves it as it was
                loop_lag.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loop_lag
                metrics.unwatch()
                await export_jobs.close()
                heavy.close()
                events.close()
                await hub.close()
        finally:
            await store.close()

    templates.env.globals.update(common.template_globals())
    templates.env.globals["static"] = static_url_for(load_manifest())
    templates.env.globals["grace_days"] = settings.invitation_grace_days

    app = KringApp(
        routes=[*routes.routes, Mount("/static", app=static_app(), name="static")],
        lifespan=lifespan,
        exception_handlers=dict(routes.exception_handlers),
    )
    app.state.settings = settings
    app.add_middleware(InputGuard)  # after the origin check: a cross-site post is not read
    app.add_middleware(SecurityMiddleware, allowed_origins=settings.allowed_origins)
    app.add_middleware(LanguageMiddleware)  # even a refusal speaks the language
    app.add_middleware(NamedRequests, table=routes.routes)
    # outermost: the peer is kept before a trusted proxy's forwarded address replaces it
    app.add_middleware(PeerAndProxies, trusted_proxies=settings.trusted_proxies)
    return app
