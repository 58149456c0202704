"""The conference's event stream (server-sent events), which keeps open pages live: the
coordinator's console, a participant's page, the family's plan page in private time, and a
device waiting for the family. Each gets only what its page shows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from server.conference import admission, auth
from server.conference.events import CHANGED, CLOSE, ENDED, Event, Events, Listener
from server.rooms.hub import RoomHub
from server.rules import phases
from server.views import common, identity
from server.views.labels import SIGNAL_LABELS

SSE_KEEP_ALIVE_SECONDS = 15.0


def _sse(name: str, html: str) -> str:
    lines = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"event: {name}\n{lines}\n"


async def _queued(queue: asyncio.Queue[Event]) -> AsyncIterator[Event | None]:
    """A stream's events as they come, and None whenever it is time for a keep-alive; ends
    when the stream is closed (CLOSE)."""
    while True:
        try:
            event = await asyncio.wait_for(queue.get(), SSE_KEEP_ALIVE_SECONDS)
        except TimeoutError:
            yield None
            continue
        if event is CLOSE:
            return
        yield event


def _event_response(stream: AsyncIterator[str]) -> Response:
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


async def events_stream(request: Request) -> Response:
    """Server-sent events. The coordinator's console gets the phase, how many of the family
    are present, how many devices wait to be let in, the family's signals and that something
    it shows changed (no content: it reads its state again), nothing else;
    a participant's page the phase (it reloads to show what the new phase asks of them); the
    family's plan page in private time also who wants to join and who is in; a device the
    family did not let in only the family's answer about itself."""
    checked_at = time.monotonic()  # what ends from now on ends this stream
    found = await common.person_or_waiting(request)
    if isinstance(found, auth.Waiting):
        return _event_response(_waiting_stream(request, found, checked_at))
    person = found
    console = person.role == "coordinator"
    watch = admission.keeps_watch(person)
    conference_id = person.conference.id
    events = common.events(request)
    hub = common.hub(request)
    store = common.store(request)

    def render(event: Event) -> str:
        if event.name == "signal":
            html = common.render_fragment(
                "meeting/_signal.html",
                kind=event.data["kind"],
                who="",  # the console gets the signal and its time, nothing else
                at=event.data["at"],
                labels=SIGNAL_LABELS,
                live=True,
            )
        elif event.name == "status":
            html = common.render_fragment("meeting/_present.html", present=event.data["present"])
        else:
            html = event.data.get("phase", "")
        return _sse(event.name, html)

    async def family_lists(waiting: bool) -> str:
        context = await admission.family_context(store, hub, person)
        context["conference"] = person.conference
        out = ""
        if waiting:
            out += _sse("admission", common.render_fragment("meeting/_admission.html", **context))
        out += _sse("who-is-in", common.render_fragment("meeting/_who_is_in.html", **context))
        return out

    async def stream() -> AsyncIterator[str]:
        who = Listener(
            person.session_id,
            person.participant_id,
            person.account.id if person.account is not None else None,
            checked_at,
        )
        with events.listen(conference_id, who) as queue:
            yield "retry: 3000\n\n"
            if console:
                present = hub.present(conference_id, phases.FAMILY)
                yield render(Event("status", {"present": present}))
            async for event in _queued(queue):
                if event is None:
                    yield ": keep-alive\n\n"
                elif event.name == admission.CHANGED:
                    if console:
                        count = len(await store.waiting_sessions(conference_id))
                        html = common.render_fragment("meeting/_waiting_count.html", waiting=count)
                        yield _sse("waiting", html)
                    elif watch:
                        yield await family_lists(waiting=True)
                elif event.name == "status" and watch:
                    yield await family_lists(waiting=False)
                elif event.name in (admission.DECIDED, ENDED.name):
                    continue  # for a waiting device's own stream only
                elif event.name == CHANGED.name:
                    if console:  # no content: the console reads its state again
                        yield _sse(CHANGED.name, CHANGED.name)
                elif console or event.name == "phase":
                    yield render(event)

    return _event_response(stream())


async def _waiting_stream(
    request: Request, kept_out: auth.Waiting, checked_at: float
) -> AsyncIterator[str]:
    """A waiting device's stream: the family's answer about this device, and the phase (when
    private time ends it is signed out). ``?shown=`` is what its page shows, so an answer given
    between the page and this stream is told at once."""
    events = common.events(request)
    shown = request.query_params.get("shown", "")
    who = Listener(kept_out.session_id, kept_out.participant_id, None, checked_at)
    with events.listen(kept_out.conference_id, who) as queue:
        yield "retry: 3000\n\n"
        now = await identity.person_in(
            common.store(request),
            common.settings(request),
            request,
            request.path_params["conference_id"],
        )
        state = "refused" if isinstance(now, auth.Waiting) and now.refused else "waiting"
        if not isinstance(now, auth.Waiting):
            state = "in"
        if shown and state != shown:
            yield _sse("admission", state)
            return
        async for event in _queued(queue):
            if event is None:
                yield ": keep-alive\n\n"
            elif event is ENDED:  # signed out (private time ended, or sent away): reload
                yield _sse("admission", "ended")
                return
            elif event.name == "phase":
                yield _sse("phase", str(event.data.get("phase", "")))
            elif (
                event.name == admission.DECIDED
                and event.data.get("session_id") == kept_out.session_id
            ):
                yield _sse("admission", str(event.data.get("admission", "")))
                return


def presence_listener(app_state: Any) -> Any:
    """Tell a conference's console how many family members are present, when that changes
    (at most every quarter second, however many tablets join at once)."""
    pending: set[str] = set()

    def flush() -> None:
        hub: RoomHub = app_state.hub
        events: Events = app_state.events
        for conference_id in list(pending):
            events.publish(
                conference_id,
                Event("status", {"present": hub.present(conference_id, phases.FAMILY)}),
                relay=False,  # each process counts for its own consoles
            )
        pending.clear()

    def changed(conference_id: str) -> None:
        events: Events = app_state.events
        if not events.listening(conference_id):
            return
        if not pending:
            asyncio.get_running_loop().call_later(0.25, flush)
        pending.add(conference_id)

    return changed
