"""The action team's pages after the conference: when the next meeting is due, the meetings
held (who came, the plan version each one froze), and the meeting itself (attendance, going
through the agreements, closing it). The rules are in ``server/conference/followups.py``."""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import Response

from server.conference import auth, calendar, followups
from server.formats import ical
from server.i18n import _
from server.rules import phases, schedule
from server.rules.plan import AGREEMENT_STATUSES
from server.views import common
from server.views.participant import my_rating
from server.views.plan import group_by_area, read_plan_or_unavailable, reader


def may_hold(person: auth.Person) -> bool:
    """Whether this person may start, record and close the action team's meetings now."""
    return person.conference.phase == "action_team" and (
        person.role == "coordinator" or person.action_team_member
    )


async def follow_ups_page(request: Request, error: str = "", status_code: int = 200) -> Response:
    """When the action team meets next, and the meetings so far with their plan versions."""
    person = await reader(request)
    conference = person.conference
    store = common.store(request)
    meetings = await store.follow_ups(conference.id)
    due = followups.next_due(conference, meetings)
    names = {r.participant.id: r.participant.name for r in await store.participants(conference.id)}
    held = []
    for meeting in meetings:
        came = await store.attendance(meeting.id)
        held.append((meeting, sorted(names[i] for i in came if i in names)))
    return common.render(
        request,
        "meeting/follow_ups.html",
        status_code,
        conference=conference,
        person=person,
        due=due,
        standing=schedule.standing(due, followups.today()) if due else None,
        held=held,
        open_meeting=next((m for m in meetings if m.closed_at is None), None),
        may_hold=may_hold(person),
        feed_url=await _feed_url(request, person),
        error=error,
    )


async def _feed_url(request: Request, person: auth.Person) -> str:
    """This person's own calendar feed: their conference, or every conference they run."""
    settings = common.settings(request)
    if person.participant_id is not None:
        # Keyed over their oldest working link, whichever link this device came in with.
        first = await common.store(request).first_invitation(person.participant_id)
        if first is None:
            return ""
        return calendar.participant_url(settings, person.participant_id, first.invitation.id)
    return calendar.account_url(settings, person.account) if person.account else ""


async def meeting_page(request: Request, error: str = "", status_code: int = 200) -> Response:
    """One follow-up meeting: who came, the agreements to go through, closing it."""
    person = await reader(request)
    conference = person.conference
    store = common.store(request)
    meeting = await store.follow_up(conference.id, _number(request))
    if meeting is None:
        return common.error_page(
            request, 404, _("Niet gevonden"), _("Deze bijeenkomst bestaat niet.")
        )
    plan = await read_plan_or_unavailable(request, conference.id)
    if request.method == "GET":  # (a refused form shows it again: that was audited then)
        await common.audit_viewed(request, person, "plan", "follow_up")
    came = await store.attendance(meeting.id)
    return common.render(
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


def _meeting_url(person: auth.Person, number: int) -> str:
    return f"/c/{person.conference.id}/follow-ups/{number}"


def _list_url(person: auth.Person) -> str:
    return f"/c/{person.conference.id}/follow-ups"


async def start_form(request: Request) -> Response:
    person = await common.person_of(request)
    action = common.follow_ups(request).start_follow_up(person)
    return await common.run_action(
        request, action, follow_ups_page, lambda meeting: _meeting_url(person, meeting.number)
    )


def _asked_number(request: Request) -> int:
    """The meeting's number in the URL of a form, for the use case, which answers who may
    hold the meetings before whether the meeting is there (one past what a number can be is
    not: ``followups.follow_up``)."""
    number: int = request.path_params["number"]  # ASCII digits: the route's ``:int``
    return number


async def attendance_form(request: Request) -> Response:
    person = await common.person_of(request)
    form = await request.form()
    # A value that is no number names nobody: the use case refuses it (after who asks).
    ids = {common.integer(value) for value in form.getlist("participant")}
    number = _asked_number(request)
    action = common.follow_ups(request).record_attendance(person, number, ids)
    return await common.run_action(request, action, meeting_page, _meeting_url(person, number))


async def close_form(request: Request) -> Response:
    person = await common.person_of(request)
    number = _asked_number(request)
    action = common.follow_ups(request).close_follow_up(person, number)
    return await common.run_action(request, action, meeting_page, _list_url(person))


async def rating_form(request: Request) -> Response:
    """This follow-up meeting and the plan marked 1-10 by someone who was there."""
    person = await common.person_of(request)
    form = await request.form()
    number = _asked_number(request)
    action = common.meeting(request).rate(
        person, number, common.text(form, "meeting"), common.text(form, "plan"), at_follow_up=True
    )
    return await common.run_action(request, action, meeting_page, _meeting_url(person, number))


async def next_date_form(request: Request) -> Response:
    person = await common.person_of(request)
    raw = common.text(await request.form(), "date")
    try:
        day = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        return await follow_ups_page(
            request, _("Dit is geen datum. Kies een dag in de kalender."), 400
        )
    action = common.follow_ups(request).set_next_follow_up(person, day)
    return await common.run_action(request, action, follow_ups_page, _list_url(person))


async def follow_up_ics(request: Request) -> Response:
    """The next follow-up meeting as an iCalendar file: a reminder that needs no mail server."""
    person = await reader(request)
    conference = person.conference
    meetings = await common.store(request).follow_ups(conference.id)
    base = str(common.settings(request).base_url).rstrip("/")
    events = calendar.follow_up_events(conference, meetings, base, held=False)
    if not events:
        return common.error_page(
            request, 404, _("Niet gevonden"), _("Er is nog geen bijeenkomst van het actieteam.")
        )
    return Response(
        ical.calendar(events),
        media_type="text/calendar",
        headers={"content-disposition": 'attachment; filename="actieteam.ics"'},
    )
