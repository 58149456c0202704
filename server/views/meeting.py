"""The meeting's pages: the coordinator's console, the participant's page per phase, the plan
as it stands, the frozen copy (printable page and PDF) and the audit log.

Every form also works without JavaScript (a post, then a redirect back). Whether someone may
see the plan is asked of ``rooms/phases.py``, like every websocket.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from server import i18n
from server.conference import admission, auth
from server.conference.events import CLOSE, ENDED, Event, Events, Listener
from server.conference.flow import Flow, FlowError, plan_copy, plan_people
from server.formats import pdf
from server.i18n import N_, Labels, _
from server.rooms.hub import RoomHub, RoomUnavailable
from server.rules import phases
from server.rules.plan import AGREEMENT_STATUSES, area_label, read_plan
from server.rules.plan import schema as plan_schema
from server.rules.refusal import Refusal
from server.storage.models import Conference, Rating
from server.storage.store import Store
from server.views import common, coordinator, identity
from server.views.common import STATUS

SSE_KEEP_ALIVE_SECONDS = 15.0
SIGNAL_LABELS = Labels(
    {
        "question": N_("We hebben een vraag"),
        "plan_ready": N_("Ons plan is klaar"),
        "override": N_("De coördinator beëindigde de privétijd"),
        "back": N_("Terug naar de privétijd"),
    }
)

AUDIT_LABELS = Labels(
    {
        "conference_created": N_("Conferentie aangemaakt"),
        "conference_edited": N_("Conferentie bewerkt"),
        "participant_added": N_("Deelnemer toegevoegd"),
        "participant_removed": N_("Deelnemer verwijderd"),
        "email_changed": N_("E-mailadres voor herinneringen gewijzigd"),
        "link_issued": N_("Nieuwe link gemaakt"),
        "link_revoked": N_("Link ingetrokken"),
        "link_opened": N_("Link geopend"),
        "link_refused": N_("Link geweigerd"),
        "cards_printed": N_("Uitnodigingskaarten afgedrukt"),
        "room_joined": N_("Document geopend"),
        "room_refused": N_("Document geweigerd"),
        "phase_changed": N_("Fase veranderd"),
        "private_time_overridden": N_("Privétijd beëindigd zonder 'plan klaar'"),
        "signal": N_("Signaal van de familie"),
        "condition_added": N_("Voorwaarde gesteld"),
        "condition_deleted": N_("Voorwaarde verwijderd"),
        "condition_checked": N_("Voorwaarde beoordeeld"),
        "answered": N_("Antwoord op het plan"),
        "question_recorded": N_("Verhelderende vraag genoteerd"),
        "action_team_chosen": N_("Actieteam gekozen"),
        "plan_frozen": N_("Plan vastgesteld"),
        "plan_exported": N_("Kopie van het plan geopend"),
        "conference_exported": N_("Alle gegevens gedownload (zip)"),
        "follow_up_started": N_("Bijeenkomst actieteam begonnen"),
        "follow_up_closed": N_("Bijeenkomst actieteam afgesloten"),
        "rated": N_("Cijfers gegeven"),
        "admission_waiting": N_("Apparaat wacht tot de familie het binnenlaat"),
        "admission_granted": N_("Apparaat binnengelaten door de familie"),
        "admission_refused": N_("Apparaat niet binnengelaten door de familie"),
        "device_sent_out": N_("Apparaat door de familie weggestuurd"),
    }
)


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _hub(request: Request) -> RoomHub:
    hub: RoomHub = request.app.state.hub
    return hub


def _flow(request: Request) -> Flow:
    return Flow.of(request.app.state)


async def person_or_waiting(request: Request) -> auth.Person | auth.Waiting:
    """Who is asking about the conference in the URL, or a device the family did not let
    in (yet); anyone else is refused."""
    person = await identity.person_in(
        _store(request), request.app.state.settings, request, request.path_params["conference_id"]
    )
    if isinstance(person, auth.Waiting):
        return person
    if isinstance(person, auth.NotAllowed):
        if person.kind is Refusal.NOT_SIGNED_IN and request.url.path.startswith("/conferences/"):
            raise coordinator.LoginRequired(expired=False)
        raise HTTPException(STATUS[person.kind], person.reason)
    return person


async def person_of(request: Request) -> auth.Person:
    """Who is asking about the conference in the URL (participant or coordinator). A device
    the family did not let in gets the waiting page, whatever it asked for."""
    person = await identity.person_in(
        _store(request), request.app.state.settings, request, request.path_params["conference_id"]
    )
    if isinstance(person, auth.Waiting):
        raise coordinator.KeptOut(person)
    if isinstance(person, auth.NotAllowed):
        if person.kind is Refusal.NOT_SIGNED_IN and request.url.path.startswith("/conferences/"):
            raise coordinator.LoginRequired(expired=False)
        raise HTTPException(STATUS[person.kind], person.reason)
    return person


async def coordinator_of(request: Request) -> auth.Person:
    person = await person_of(request)
    if person.role != "coordinator":
        raise HTTPException(403, _("Dit is het scherm van de coördinator."))
    return person


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _back(conference_id: str, where: str) -> Response:
    return RedirectResponse(where.format(id=conference_id), status_code=303)


def may_read_plan(person: auth.Person) -> bool:
    allowed = phases.access(
        person.conference.phase,
        person.role,
        "plan",
        action_team_member=person.action_team_member,
    )
    return allowed >= phases.Access.READ


def plan_locked(request: Request, conference: Conference) -> Response:
    """403: the plan is not for this person now (in private time: the family is at work)."""
    title = (
        _("De familie maakt nu het plan")
        if conference.phase == "private_time"
        else _("Het plan is nu niet voor jou open")
    )
    return coordinator.error_page(request, 403, title, phases.plan_locked_reason(conference.phase))


async def read_plan_or_unavailable(request: Request, conference_id: str) -> dict[str, Any]:
    people = plan_people(
        row.participant for row in await _store(request).participants(conference_id)
    )
    try:
        return read_plan(await _hub(request).document_state(conference_id, "plan"), people)
    except RoomUnavailable:
        reason = _("Het plan kan nu niet gelezen worden. Probeer het zo opnieuw.")
        raise HTTPException(503, reason) from None


def group_by_area(agreements: list[dict[str, str]]) -> list[tuple[str, list[dict[str, str]]]]:
    groups: list[tuple[str, list[dict[str, str]]]] = []
    for row in agreements:
        label = area_label(row["life_area"])
        if not groups or groups[-1][0] != label:
            groups.append((label, []))
        groups[-1][1].append(row)
    return groups


async def _flow_state(request: Request, conference: Conference) -> dict[str, Any]:
    """What the console and the participant's page show of the meeting so far."""
    store = _store(request)
    rows = await store.participants(conference.id)
    answers = await store.answers(conference.id)
    signals = await store.signals(conference.id)
    return {
        "conditions": await store.conditions(conference.id),
        "questions": await store.questions(conference.id),
        "answers": answers,
        "people": [r.participant for r in rows if r.participant.role != "coordinator"],
        "signals": [s for s in signals if s[0].at >= conference.phase_since],
        "overrides": [s for s, _n in signals if s.kind == "override"],
        # why the presentation went back to private time, while it lasts
        "sent_back": next(
            (
                s
                for s, _n in reversed(signals)
                if s.kind == "back"
                and conference.phase == "private_time"
                and s.at >= conference.phase_since
            ),
            None,
        ),
        "version": await store.plan_version(conference.id),
    }


# -- the coordinator's console ---------------------------------------------------------------


async def console(request: Request, error: str = "", status_code: int = 200) -> Response:
    person = await coordinator_of(request)
    conference = person.conference
    context = await _flow_state(request, conference)
    plan = None
    if may_read_plan(person):
        plan = await read_plan_or_unavailable(request, conference.id)
    flow = _flow(request)
    plan_ready = None
    if conference.phase == "private_time":
        plan_ready = await flow.plan_ready_since(conference)
    return coordinator.render(
        request,
        "meeting/console.html",
        status_code,
        who=person,
        conference=conference,
        next_phases=phases.TRANSITIONS[conference.phase],
        plan_ready=plan_ready,
        plan=plan,
        groups=group_by_area(plan["agreements"]) if plan else [],
        present=_hub(request).present(conference.id, phases.FAMILY),
        # how many devices wait to be let in by the family (never who)
        waiting=len(await _store(request).waiting_sessions(conference.id))
        if conference.phase == "private_time"
        else 0,
        # how many gave marks at the presentation (never whose, nor the marks themselves)
        marked=sum(1 for r in await _store(request).ratings(conference.id) if r.occasion == 0)
        if conference.phase == "presentation"
        else 0,
        information_access=int(phases.access(conference.phase, "coordinator", "information"))
        if conference.phase == "information"
        else 0,
        error=error,
        **context,
    )


async def _coordinator_action(request: Request, action: Any) -> Response:
    """Run a console form; on a refusal, show the console with the reason."""
    try:
        await action
    except FlowError as exc:
        return await console(request, exc.message, STATUS[exc.kind])
    return _back(request.path_params["conference_id"], "/conferences/{id}/console")


async def phase_form(request: Request) -> Response:
    person = await coordinator_of(request)
    form = await request.form()
    return await _coordinator_action(
        request,
        _flow(request).change_phase(person, _text(form, "phase"), _text(form, "reason")),
    )


async def question_form(request: Request) -> Response:
    person = await coordinator_of(request)
    text = _text(await request.form(), "text")
    if not text:
        return await console(request, _("Schrijf de vraag op."), 400)
    return await _coordinator_action(request, _flow(request).ask_question(person, text))


async def action_team_form(request: Request) -> Response:
    person = await coordinator_of(request)
    form = await request.form()
    # Whoever is ticked; anything else in the form is no one (as a stale page may send).
    chosen = {
        number
        for value in form.getlist("participant")
        if (number := common.integer(value)) is not None
    }
    return await _coordinator_action(request, _flow(request).choose_action_team(person, chosen))


async def finalise_form(request: Request) -> Response:
    person = await coordinator_of(request)
    return await _coordinator_action(request, _flow(request).finalise(person))


async def audit_log(request: Request) -> Response:
    person = await coordinator_of(request)
    conference = person.conference
    store = _store(request)
    events = await store.audit_events(conference.id)
    names = {"cli": _("Kring (opdrachtregel)")}
    family: set[str] = set()
    # Removed people too: removing a family member must not unmask what they did.
    for row in await store.participants(conference.id, include_removed=True):
        p = row.participant
        names[f"participant:{p.id}"] = p.name
        if p.account_id is not None:
            names[f"coordinator:{p.account_id}"] = p.name
        if p.role in phases.FAMILY:
            family.add(f"participant:{p.id}")
    rows = []
    for event in reversed(events):
        who, detail = names.get(event.actor, event.actor), dict(event.detail)
        # During private time the coordinator learns no more of the family here than on the
        # console: that someone of them did something, not who or in which document.
        if (
            conference.phase == "private_time"
            and event.actor in family
            and event.at >= conference.phase_since
        ):
            who = _("Iemand van de familie of het netwerk")
            detail = {"kind": detail["kind"]} if event.kind == "signal" else {}
        rows.append((event, who, detail))
    return coordinator.render(
        request,
        "meeting/audit.html",
        who=person,
        conference=conference,
        rows=rows,
    )


# -- the participant's page ---------------------------------------------------------------------


async def participant_page(request: Request, error: str = "", status_code: int = 200) -> Response:
    who = await coordinator.participant_here(request)
    if isinstance(who, Response):
        return who
    conference, me = who.conference, who.participant
    plan_access = phases.access(
        conference.phase, me.role, "plan", action_team_member=me.action_team
    )
    context = await _flow_state(request, conference)
    return coordinator.render(
        request,
        "participant/landing.html",
        status_code,
        me=me,
        conference=conference,
        show_privacy=me.privacy_seen_at is None,
        may=lambda action: phases.may(action, conference.phase, me.role),
        my_answer=context["answers"].get(me.id),
        my_rating=await my_rating(_store(request), conference.id, me.id, 0),
        may_read_plan=plan_access >= phases.Access.READ,
        may_write_plan=plan_access >= phases.Access.WRITE,
        information_access=int(phases.access(conference.phase, me.role, "information")),
        error=error,
        **context,
    )


async def my_rating(
    store: Store, conference_id: str, participant_id: int | None, occasion: int
) -> Rating | None:
    """The marks this person gave for ``occasion`` (0: the presentation), if any."""
    if participant_id is None:  # a coordinator gives no marks
        return None
    return await store.rating(conference_id, participant_id, occasion)


async def _participant_action(request: Request, action: Any) -> Response:
    try:
        await action
    except FlowError as exc:
        return await participant_page(request, exc.message, STATUS[exc.kind])
    return _back(request.path_params["conference_id"], "/c/{id}")


async def signal_form(request: Request) -> Response:
    person = await person_of(request)
    kind = _text(await request.form(), "kind")
    return await _participant_action(request, _flow(request).signal(person, kind))


async def condition_add_form(request: Request) -> Response:
    person = await person_of(request)
    text = _text(await request.form(), "text")
    if not text:
        return await participant_page(request, _("Schrijf de voorwaarde op."), 400)
    return await _participant_action(request, _flow(request).add_condition(person, text))


def _condition_id(request: Request) -> int:
    return common.number_in_path(request, "condition_id", _("Deze voorwaarde bestaat niet."))


async def condition_delete_form(request: Request) -> Response:
    person = await person_of(request)
    condition_id = _condition_id(request)
    return await _participant_action(request, _flow(request).delete_condition(person, condition_id))


async def condition_check_form(request: Request) -> Response:
    person = await person_of(request)
    form = await request.form()
    status, remark = _text(form, "status"), _text(form, "remark")
    if status not in ("met", "not_met"):
        return await participant_page(request, _("Kies 'voldaan' of 'niet voldaan'."), 400)
    return await _participant_action(
        request, _flow(request).check_condition(person, _condition_id(request), status, remark)
    )


async def rating_form(request: Request) -> Response:
    """The conference and the plan marked 1-10 at the presentation."""
    person = await person_of(request)
    form = await request.form()
    if person.participant_id is None:  # the participant's page is not theirs to be shown
        return coordinator.error_page(
            request, 403, _("Geen toegang"), _("De coördinator geeft zelf geen cijfer.")
        )
    return await _participant_action(
        request, _flow(request).rate(person, 0, _text(form, "meeting"), _text(form, "plan"))
    )


async def answer_form(request: Request) -> Response:
    person = await person_of(request)
    form = await request.form()
    answer, remark = _text(form, "answer"), _text(form, "remark")
    if answer not in ("agree", "not_yet"):
        return await participant_page(request, _("Kies 'eens' of 'nog niet'."), 400)
    return await _participant_action(request, _flow(request).answer(person, answer, remark))


# -- the plan and its copy -------------------------------------------------------------------------


async def plan_page(request: Request) -> Response:
    """The plan as it stands (read-only), for whoever may read it now."""
    person = await person_of(request)
    if not may_read_plan(person):
        return plan_locked(request, person.conference)
    conference = person.conference
    plan = await read_plan_or_unavailable(request, conference.id)
    access = phases.access(
        conference.phase, person.role, "plan", action_team_member=person.action_team_member
    )
    people = [
        row.participant
        for row in await _store(request).participants(conference.id)
        if row.participant.role != "coordinator"
    ]
    config = {
        "conference": conference.id,
        "writable": access >= phases.Access.WRITE,
        "me": {
            "id": person.participant_id or f"coordinator-{person.actor}",
            "name": person.name,
            "role": person.role,
        },
        "people": [{"id": p.id, "name": p.name, "role": p.role} for p in people],
        "schema": plan_schema(),
    }
    response = coordinator.render(
        request,
        "meeting/plan.html",
        conference=conference,
        person=person,
        plan=plan,
        groups=group_by_area(plan["agreements"]),
        statuses=AGREEMENT_STATUSES,
        writable=config["writable"],
        action_team=[p.name for p in people if p.action_team],
        config=config,
        **await admission.family_context(_store(request), _hub(request), person),
    )
    # The page holds the plan: a shared tablet's browser must not keep it in its HTTP cache
    # (the offline copy is the service worker's, and "forget this device" clears it).
    response.headers["cache-control"] = "no-store"
    return response


async def _version(request: Request) -> tuple[auth.Person, Any]:
    person = await person_of(request)
    if not may_read_plan(person):
        raise PlanLocked(person.conference)
    missing = _("Deze versie van het plan bestaat (nog) niet.")
    number = common.number_in_path(request, "number", missing)
    version = await _store(request).plan_version(person.conference.id, number)
    if version is None:
        raise HTTPException(404, missing)
    return person, version


class PlanLocked(Exception):
    def __init__(self, conference: Conference) -> None:
        self.conference = conference


def locked_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PlanLocked)
    return plan_locked(request, exc.conference)


async def copy_page(request: Request) -> Response:
    person, version = await _version(request)
    await _store(request).audit(
        person.conference.id,
        person.actor,
        "plan_exported",
        {"version": version.number, "format": "page"},
        coalesce=True,
    )
    return coordinator.render(
        request,
        "meeting/copy.html",
        conference=person.conference,
        copy=plan_copy(version),
        frozen_at=pdf.local_time_label(version.created_at),
        groups=group_by_area(version.content.get("agreements", [])),
        statuses=AGREEMENT_STATUSES,
        version=version,
    )


async def copy_pdf(request: Request) -> Response:
    person, version = await _version(request)
    # The PDF's own words are Dutch (pdf.py is not translated yet): its labels too.
    with i18n.using(i18n.DEFAULT_LANGUAGE):
        copy = plan_copy(version)
    document = await asyncio.to_thread(pdf.render_pdf, copy)
    await _store(request).audit(
        person.conference.id,
        person.actor,
        "plan_exported",
        {"version": version.number, "format": "pdf"},
        coalesce=True,
    )
    name = _("plan-versie-%(number)s.pdf", number=version.number)
    return Response(
        document,
        media_type="application/pdf",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "private, no-store",
        },
    )


# -- the console's live channel ------------------------------------------------------------------


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
    are present, how many devices wait to be let in and the family's signals, nothing else;
    a participant's page the phase (it reloads to show what the new phase asks of them); the
    family's plan page in private time also who wants to join and who is in; a device the
    family did not let in only the family's answer about itself."""
    checked_at = time.monotonic()  # what ends from now on ends this stream
    found = await person_or_waiting(request)
    if isinstance(found, auth.Waiting):
        return _event_response(_waiting_stream(request, found, checked_at))
    person = found
    console = person.role == "coordinator"
    watch = admission.keeps_watch(person)
    conference_id = person.conference.id
    events: Events = request.app.state.events
    hub = _hub(request)
    store = _store(request)

    def render(event: Event) -> str:
        if event.name == "signal":
            html = coordinator.render_fragment(
                "meeting/_signal.html",
                kind=event.data["kind"],
                who="",  # the console gets the signal and its time, nothing else
                at=event.data["at"],
                labels=SIGNAL_LABELS,
                live=True,
            )
        elif event.name == "status":
            html = coordinator.render_fragment(
                "meeting/_present.html", present=event.data["present"]
            )
        else:
            html = event.data.get("phase", "")
        return _sse(event.name, html)

    async def family_lists(waiting: bool) -> str:
        context = await admission.family_context(store, hub, person)
        context["conference"] = person.conference
        out = ""
        if waiting:
            out += _sse(
                "admission", coordinator.render_fragment("meeting/_admission.html", **context)
            )
        out += _sse("who-is-in", coordinator.render_fragment("meeting/_who_is_in.html", **context))
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
                        html = coordinator.render_fragment(
                            "meeting/_waiting_count.html", waiting=count
                        )
                        yield _sse("waiting", html)
                    elif watch:
                        yield await family_lists(waiting=True)
                elif event.name == "status" and watch:
                    yield await family_lists(waiting=False)
                elif event.name in (admission.DECIDED, ENDED.name):
                    continue  # for a waiting device's own stream only
                elif console or event.name == "phase":
                    yield render(event)

    return _event_response(stream())


async def _waiting_stream(
    request: Request, kept_out: auth.Waiting, checked_at: float
) -> AsyncIterator[str]:
    """A waiting device's stream: the family's answer about this device, and the phase (when
    private time ends it is signed out). ``?shown=`` is what its page shows, so an answer given
    between the page and this stream is told at once."""
    events: Events = request.app.state.events
    shown = request.query_params.get("shown", "")
    who = Listener(kept_out.session_id, kept_out.participant_id, None, checked_at)
    with events.listen(kept_out.conference_id, who) as queue:
        yield "retry: 3000\n\n"
        now = await identity.person_in(
            _store(request),
            request.app.state.settings,
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


routes = [
    Route("/conferences/{conference_id}/console", console),
    Route("/conferences/{conference_id}/phase", phase_form, methods=["POST"]),
    Route("/conferences/{conference_id}/questions", question_form, methods=["POST"]),
    Route("/conferences/{conference_id}/action-team", action_team_form, methods=["POST"]),
    Route("/conferences/{conference_id}/finalise", finalise_form, methods=["POST"]),
    Route("/conferences/{conference_id}/audit", audit_log),
    Route("/c/{conference_id}", participant_page),
    Route("/c/{conference_id}/signal", signal_form, methods=["POST"]),
    Route("/c/{conference_id}/conditions", condition_add_form, methods=["POST"]),
    Route(
        "/c/{conference_id}/conditions/{condition_id:int}/delete",
        condition_delete_form,
        methods=["POST"],
    ),
    Route(
        "/c/{conference_id}/conditions/{condition_id:int}/check",
        condition_check_form,
        methods=["POST"],
    ),
    Route("/c/{conference_id}/answer", answer_form, methods=["POST"]),
    Route("/c/{conference_id}/rating", rating_form, methods=["POST"]),
    Route("/c/{conference_id}/plan", plan_page),
    Route("/c/{conference_id}/plan/{number:int}", copy_page),
    Route("/c/{conference_id}/plan/{number:int}.pdf", copy_pdf),
    Route("/api/conferences/{conference_id}/events", events_stream),
]


def template_globals() -> dict[str, Any]:
    return {
        "SIGNAL_LABELS": SIGNAL_LABELS,
        "AGREEMENT_STATUSES": AGREEMENT_STATUSES,
        "AUDIT_LABELS": AUDIT_LABELS,
    }
