"""The action team's pages after the conference: when the next meeting is due, the meetings
held (who came, the plan version each one froze), and the meeting itself (attendance, going
through the agreements, closing it). The rules are in ``server/conference/flow.py``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.conference import auth, calendar
from server.conference.flow import FlowError
from server.formats import ical
from server.formats.pdf import local_time_label
from server.i18n import _
from server.rules import phases, schedule
from server.rules.compare import compare_versions
from server.rules.plan import AGREEMENT_STATUSES
from server.views import common, coordinator
from server.views.common import STATUS
from server.views.meeting import (
    PlanLocked,
    _flow,
    _store,
    _text,
    group_by_area,
    may_read_plan,
    my_rating,
    person_of,
    read_plan_or_unavailable,
)


def may_hold(person: auth.Person) -> bool:
    """Whether this person may start, record and close the action team's meetings now."""
    return person.conference.phase == "action_team" and (
        person.role == "coordinator" or person.action_team_member
    )


async def _reader(request: Request) -> auth.Person:
    """Who asks, if they may read the plan now (else the plan's 403 page, via PlanLocked)."""
    person = await person_of(request)
    if not may_read_plan(person):
        raise PlanLocked(person.conference)
    return person


async def follow_ups_page(request: Request, error: str = "", status_code: int = 200) -> Response:
    """When the action team meets next, and the meetings so far with their plan versions."""
    person = await _reader(request)
    conference = person.conference
    store = _store(request)
    meetings = await store.follow_ups(conference.id)
    due = schedule.next_due(conference, meetings)
    names = {r.participant.id: r.participant.name for r in await store.participants(conference.id)}
    held = []
    for meeting in meetings:
        came = await store.attendance(meeting.id)
        held.append((meeting, sorted(names[i] for i in came if i in names)))
    return coordinator.render(
        request,
        "meeting/follow_ups.html",
        status_code,
        conference=conference,
        person=person,
        due=due,
        standing=schedule.standing(due, schedule.today()) if due else None,
        held=held,
        open_meeting=next((m for m in meetings if m.closed_at is None), None),
        may_hold=may_hold(person),
        feed_url=await _feed_url(request, person),
        error=error,
    )


async def _feed_url(request: Request, person: auth.Person) -> str:
    """This person's own calendar feed: their conference, or every conference they run."""
    settings = request.app.state.settings
    if person.participant_id is not None:
        # Keyed over their oldest working link, whichever link this device came in with.
        first = await _store(request).first_invitation(person.participant_id)
        if first is None:
            return ""
        return calendar.participant_url(settings, person.participant_id, first.invitation.id)
    return calendar.account_url(settings, person.account) if person.account else ""


async def meeting_page(request: Request, error: str = "", status_code: int = 200) -> Response:
    """One follow-up meeting: who came, the agreements to go through, closing it."""
    person = await _reader(request)
    conference = person.conference
    store = _store(request)
    meeting = await store.follow_up(conference.id, _number(request))
    if meeting is None:
        return coordinator.error_page(
            request, 404, _("Niet gevonden"), _("Deze bijeenkomst bestaat niet.")
        )
    plan = await read_plan_or_unavailable(request, conference.id)
    came = await store.attendance(meeting.id)
    return coordinator.render(
        request,
        "meeting/follow_up.html",
        status_code,
        conference=conference,
        person=person,
        meeting=meeting,
        people=[r.participant for r in await store.participants(conference.id)],
        came=came,
        groups=group_by_area(plan["agreements"]),
        statuses=AGREEMENT_STATUSES,
        notes=plan["notes"],
        may_hold=may_hold(person) and meeting.closed_at is None,
        may_rate=phases.may("rate", conference.phase, person.role),
        my_rating=await my_rating(store, conference.id, person.participant_id, meeting.number),
        error=error,
    )


def _number(request: Request) -> int:
    """The meeting's number in the URL (one that cannot be is a 404, like one that is not)."""
    return common.number_in_path(request, "number", _("Deze bijeenkomst bestaat niet."))


async def _run(
    request: Request,
    action: Awaitable[Any],
    page: Callable[[Request, str, int], Awaitable[Response]],
    done: str,
) -> Response:
    try:
        await action
    except FlowError as exc:
        return await page(request, exc.message, STATUS[exc.kind])
    return RedirectResponse(done, status_code=303)


async def start_form(request: Request) -> Response:
    person = await person_of(request)
    try:
        meeting = await _flow(request).start_follow_up(person)
    except FlowError as exc:
        return await follow_ups_page(request, exc.message, STATUS[exc.kind])
    return RedirectResponse(
        f"/c/{person.conference.id}/follow-ups/{meeting.number}", status_code=303
    )


async def attendance_form(request: Request) -> Response:
    person = await person_of(request)
    form = await request.form()
    ids: set[int] = set()
    for value in form.getlist("participant"):
        participant_id = common.integer(value)
        if participant_id is None:
            return await meeting_page(request, _("Kies alleen mensen van deze conferentie."), 400)
        ids.add(participant_id)
    number = _number(request)
    where = f"/c/{person.conference.id}/follow-ups/{number}"
    return await _run(
        request, _flow(request).record_attendance(person, number, ids), meeting_page, where
    )


async def close_form(request: Request) -> Response:
    person = await person_of(request)
    number = _number(request)
    return await _run(
        request,
        _flow(request).close_follow_up(person, number),
        meeting_page,
        f"/c/{person.conference.id}/follow-ups",
    )


async def rating_form(request: Request) -> Response:
    """This follow-up meeting and the plan marked 1-10 by someone who was there."""
    person = await person_of(request)
    form = await request.form()
    number = _number(request)
    return await _run(
        request,
        _flow(request).rate(person, number, _text(form, "meeting"), _text(form, "plan")),
        meeting_page,
        f"/c/{person.conference.id}/follow-ups/{number}",
    )


async def next_date_form(request: Request) -> Response:
    person = await person_of(request)
    raw = _text(await request.form(), "date")
    try:
        day = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        return await follow_ups_page(
            request, _("Dit is geen datum. Kies een dag in de kalender."), 400
        )
    return await _run(
        request,
        _flow(request).set_next_follow_up(person, day),
        follow_ups_page,
        f"/c/{person.conference.id}/follow-ups",
    )


async def follow_up_ics(request: Request) -> Response:
    """The next follow-up meeting as an iCalendar file: a reminder that needs no mail server."""
    person = await _reader(request)
    conference = person.conference
    meetings = await _store(request).follow_ups(conference.id)
    base = str(request.app.state.settings.base_url).rstrip("/")
    events = calendar.follow_up_events(conference, meetings, base, held=False)
    if not events:
        return coordinator.error_page(
            request, 404, _("Niet gevonden"), _("Er is nog geen bijeenkomst van het actieteam.")
        )
    return Response(
        ical.calendar(events),
        media_type="text/calendar",
        headers={"content-disposition": 'attachment; filename="actieteam.ics"'},
    )


async def compare_page(request: Request) -> Response:
    """What changed per agreement between two frozen versions (``?old=N&new=M``; by default
    the last two)."""
    person = await _reader(request)
    conference = person.conference
    versions = {v.number: v for v in await _store(request).plan_versions(conference.id)}
    if not versions:
        return coordinator.error_page(
            request, 404, _("Niet gevonden"), _("Er is nog geen vastgesteld plan.")
        )
    latest = max(versions)

    def number(name: str, default: int) -> int | None:
        raw = request.query_params.get(name, "")
        return common.integer(raw) if raw else default

    old, new = number("old", max(1, latest - 1)), number("new", latest)
    if old not in versions or new not in versions:
        return coordinator.error_page(
            request,
            404,
            _("Niet gevonden"),
            _("Kies twee versies die er zijn: 1 tot en met %(latest)s.", latest=latest),
        )
    old_version, new_version = versions[old], versions[new]
    return coordinator.render(
        request,
        "meeting/compare.html",
        conference=conference,
        person=person,
        numbers=sorted(versions),
        old_number=old,
        new_number=new,
        comparison=compare_versions(old_version.content, new_version.content),
        old_version=old_version,
        new_version=new_version,
        old_frozen_at=local_time_label(old_version.created_at),
        new_frozen_at=local_time_label(new_version.created_at),
    )


routes = [
    Route("/c/{conference_id}/plan/compare", compare_page),
    Route("/c/{conference_id}/follow-ups.ics", follow_up_ics),
    Route("/c/{conference_id}/follow-ups", follow_ups_page),
    Route("/c/{conference_id}/follow-ups", start_form, methods=["POST"]),
    Route("/c/{conference_id}/follow-ups/next", next_date_form, methods=["POST"]),
    Route("/c/{conference_id}/follow-ups/{number:int}", meeting_page),
    Route(
        "/c/{conference_id}/follow-ups/{number:int}/attendance", attendance_form, methods=["POST"]
    ),
    Route("/c/{conference_id}/follow-ups/{number:int}/close", close_form, methods=["POST"]),
    Route("/c/{conference_id}/follow-ups/{number:int}/rating", rating_form, methods=["POST"]),
]
