"""create_app(settings) -> the Starlette application: routes, middleware and lifespan."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import (
    actionteam,
    admission,
    api,
    archive,
    dashboard,
    device,
    erasure,
    feeds,
    i18n,
    meeting,
    pages,
    periodic,
    reminders,
    sessions,
    sockets,
)
from server.assets import load_manifest, static_app, static_url_for, templates
from server.auth import origin_allowed
from server.db import head_revision
from server.events import Event, Events
from server.i18n import N_, _
from server.rooms.broker import Broker, LocalBroker, Notice, RedisBroker
from server.rooms.hub import RoomHub
from server.rooms.persistence import DocumentLog, DurabilityError, check_durability
from server.settings import Settings
from server.store import Store

log = logging.getLogger("kring")

# Pages load nothing from another host; inline scripts and styles are not needed either.
# Styles may be inline: the plan editor (CodeMirror) writes its base styles into a <style>
# element where a browser lacks adoptedStyleSheets (iPadOS 15), and other people's cursors are
# coloured with style attributes. Scripts stay 'self' only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


ERROR_TITLES = {
    403: N_("Geen toegang"),
    503: N_("Even niet beschikbaar"),
    404: N_("Niet gevonden"),
    405: N_("Dat kan hier niet"),
    409: N_("Dat kan niet"),
}


class SchemaOutOfDate(RuntimeError):
    pass


class SecurityMiddleware:
    """Refuse cross-site writes (Origin / Sec-Fetch-Site) and add protective headers."""

    def __init__(self, app: ASGIApp, allowed_origins: frozenset[str]) -> None:
        self.app = app
        self.allowed_origins = allowed_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            if origin_allowed("GET", Headers(scope=scope), self.allowed_origins):
                await self.app(scope, receive, send)
            else:
                await refuse_websocket(
                    receive, send, _("Deze verbinding komt van een andere website.")
                )
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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


class LanguageMiddleware:
    """Answer in the language chosen on this device (the ``kring_lang`` cookie), else Dutch,
    until someone known is found: the auth helpers then switch to that person's own choice."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
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


class RedactInvitationTokens(logging.Filter):
    """Keep working invitation links and calendar feed keys out of the access log: /i/<token>
    is logged as /i/…, /feeds/p/7/<key>.ics as /feeds/p/7/…"""

    _TOKEN = re.compile(r"(/i/|/feeds/[pa]/\d+/)[^/?\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self._TOKEN.sub(r"\1…", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def _relay_to(broker: Broker) -> Callable[[str, Event], None]:
    def relay(conference_id: str, event: Event) -> None:
        meta = {"name": event.name, "data": event.data}
        broker.publish(Notice("event", conference_id, meta=meta))

    return relay


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the application. Settings default to the environment (read once, here)."""
    settings = settings or Settings.from_env()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    access_log = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactInvitationTokens) for f in access_log.filters):
        access_log.addFilter(RedactInvitationTokens())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = Store.connect(settings.database_url)
        try:
            revision, head = await store.schema_revision(), head_revision()
            if revision != head:
                raise SchemaOutOfDate(
                    f"the database is at schema {revision or 'none'}, this Kring needs {head}: "
                    "run `kring db upgrade` first"
                )
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
            hub.on_presence = meeting.presence_listener(app.state)
            hub.on_event = lambda cid, name, data: events.deliver(cid, Event(name, data))
            hub.on_erased = events.end
            hub.on_sessions_ended = events.end_sessions
            hub.on_dropped = lambda cid, pid, aid: events.end_person(
                cid, participant_id=pid, account_id=aid
            )
            await hub.connect()  # fails here, before any room opens, if Redis cannot be reached
            document_log.start()
            hub.start()

            async def check_sessions() -> None:
                await sessions.sweep(store, settings, hub, events)

            app.state.store = store
            app.state.hub = hub
            app.state.events = events
            try:
                async with (
                    reminders.running(store, settings),
                    erasure.purging(store, settings, hub, events),
                    periodic.running("sessions", settings.session_check_seconds, check_sessions),
                ):
                    yield
            finally:
                events.close()
                await hub.close()
        finally:
            await store.close()

    templates.env.globals.update(pages.template_globals())
    templates.env.globals.update(meeting.template_globals())
    templates.env.globals["static"] = static_url_for(load_manifest())
    templates.env.globals["grace_days"] = settings.invitation_grace_days

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        title = ERROR_TITLES.get(exc.status_code, N_("Er ging iets mis"))
        return pages.error_page(
            request,
            exc.status_code,
            _(title),
            exc.detail
            if exc.status_code != 404 or exc.detail != "Not Found"
            else _("Deze pagina bestaat niet."),
        )

    app = Starlette(
        routes=[
            *pages.routes,
            *meeting.routes,
            *admission.routes,
            *api.routes,
            *sockets.routes,
            *device.routes,
            *actionteam.routes,
            *dashboard.routes,
            *feeds.routes,
            *archive.routes,
            *erasure.routes,
            Mount("/static", app=static_app(), name="static"),
        ],
        lifespan=lifespan,
        exception_handlers={
            HTTPException: http_error,
            pages.LoginRequired: pages.login_redirect,
            meeting.PlanLocked: meeting.locked_handler,
            pages.KeptOut: pages.kept_out_handler,
        },
    )
    app.state.settings = settings
    app.add_middleware(SecurityMiddleware, allowed_origins=settings.allowed_origins)
    app.add_middleware(LanguageMiddleware)  # outermost: even a refusal speaks the language
    return app
