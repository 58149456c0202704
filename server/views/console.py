"""The coordinator's console during the meeting (the phase, the family's signals, the
presentation's questions, the action team, freezing the plan) and the conference's audit log.

Every form also works without JavaScript (a post, then a redirect back). The console follows
the meeting live: on each event of its stream (``server/views/stream.py``), and each time the
stream opens again, the page reads its live parts (``data-live-part``) again from this view
(``web/src/livepage.js``), so the permission table decides what it shows, every time.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server.i18n import _
from server.rules import audit, phases
from server.storage.models import ANSWERS
from server.views import common
from server.views.plan import group_by_area, may_read_plan, read_plan_or_unavailable


async def console(request: Request, error: str = "", status_code: int = 200) -> Response:
    person = await common.coordinator_person(request)
    conference = person.conference
    context = await common.meeting_so_far(request, conference)
    plan = None
    store = common.store(request)
    if may_read_plan(person):
        plan = await read_plan_or_unavailable(request, conference.id)
        if request.method == "GET":  # (a refused form shows it again: audited then)
            await common.audit_viewed(request, person, "plan", "console")
    plan_ready = None
    if conference.phase == "private_time":
        plan_ready = await common.meeting(request).plan_ready_since(conference)
    return common.render(
        request,
        "meeting/console.html",
        status_code,
        who=person,
        conference=conference,
        next_phases=phases.TRANSITIONS[conference.phase],
        plan_ready=plan_ready,
        plan=plan,
        groups=group_by_area(plan["agreements"]) if plan else [],
        present=common.hub(request).present(conference.id, phases.FAMILY),
        # how many devices wait to be let in by the family (never who)
        waiting=len(await store.waiting_sessions(conference.id))
        if conference.phase == "private_time"
        else 0,
        # how many gave marks at the presentation (never whose, nor the marks themselves)
        marked=sum(1 for r in await store.ratings(conference.id) if r.occasion == 0)
        if conference.phase == "presentation"
        else 0,
        information_access=int(phases.access(conference.phase, "coordinator", "information"))
        if conference.phase == "information"
        else 0,
        may_present=phases.may_present(conference.phase, "coordinator"),
        may_record_attendance=phases.may("record_attendance", conference.phase, "coordinator")
        and conference.plan_frozen_at is None,
        may_record_answer=phases.may("record_answer", conference.phase, "coordinator")
        and conference.plan_frozen_at is None,
        attendance_noted=any(p.present_at_conference for p in context["people"]),
        error=error,
        **context,
    )


def _back(request: Request) -> str:
    return f"/conferences/{request.path_params['conference_id']}/console"


async def phase_form(request: Request) -> Response:
    person = await common.coordinator_person(request)
    form = await request.form()
    action = common.meeting(request).change_phase(
        person, common.text(form, "phase"), common.text(form, "reason")
    )
    return await common.run_action(request, action, console, _back(request))


async def question_form(request: Request) -> Response:
    person = await common.coordinator_person(request)
    text = common.text(await request.form(), "text")
    if not text:
        return await console(request, _("Schrijf de vraag op."), 400)
    action = common.meeting(request).ask_question(person, text)
    return await common.run_action(request, action, console, _back(request))


async def _ticked(request: Request) -> set[int]:
    """The participants ticked in the form; anything else in it is no one (as a stale page
    may send)."""
    form = await request.form()
    return {
        number
        for value in form.getlist("participant")
        if (number := common.integer(value)) is not None
    }


async def action_team_form(request: Request) -> Response:
    person = await common.coordinator_person(request)
    chosen = await _ticked(request)
    action = common.meeting(request).choose_action_team(person, chosen)
    return await common.run_action(request, action, console, _back(request))


async def attendance_form(request: Request) -> Response:
    """Who is at the conference: exactly those ticked."""
    person = await common.coordinator_person(request)
    present = await _ticked(request)
    action = common.meeting(request).record_attendance(person, present)
    return await common.run_action(request, action, console, _back(request) + "#attendance-title")


async def recorded_answer_form(request: Request) -> Response:
    """The coordinator notes "agree" / "not yet" for someone without a device."""
    person = await common.coordinator_person(request)
    form = await request.form()
    participant_id = common.number_in_path(
        request, "participant_id", _("Deze deelnemer staat niet (meer) op de lijst.")
    )
    answer = common.choice(common.text(form, "answer"), ANSWERS)
    if answer is None:
        return await console(request, _("Kies 'eens' of 'nog niet'."), 400)
    action = common.meeting(request).record_answer(
        person, participant_id, answer, common.text(form, "remark")
    )
    return await common.run_action(request, action, console, _back(request) + "#answers-title")


async def finalise_form(request: Request) -> Response:
    person = await common.coordinator_person(request)
    action = common.meeting(request).finalise(person)
    return await common.run_action(request, action, console, _back(request))


def _someone(actor: str) -> str:
    """Who did it when the log no longer knows them by name."""
    if actor.startswith("coordinator:"):
        return _("Een beheerder")
    nobody = audit.nobody_known()
    return nobody[:1].upper() + nobody[1:]


async def audit_log(request: Request) -> Response:
    person = await common.coordinator_person(request)
    conference = person.conference
    store = common.store(request)
    events = await store.audit_events(conference.id)
    names = {"cli": _("Kring (opdrachtregel)")}
    people: dict[int, str] = {}
    family: set[str] = set()
    # Removed people too: removing a family member must not unmask what they did.
    for row in await store.participants(conference.id, include_removed=True):
        p = row.participant
        names[f"participant:{p.id}"] = people[p.id] = p.name
        if p.account_id is not None:
            names[f"coordinator:{p.account_id}"] = p.name
        if p.role in phases.FAMILY:
            family.add(f"participant:{p.id}")
    rows = []
    for event in reversed(events):
        who, detail = names.get(event.actor) or _someone(event.actor), dict(event.detail)
        # During private time the coordinator learns no more of the family here than on the
        # console: that someone of them did something, not who or in which document.
        if (
            conference.phase == "private_time"
            and event.actor in family
            and event.at >= conference.phase_since
        ):
            who = _("Iemand van de familie of het netwerk")
            detail = {"kind": detail["kind"]} if event.kind == "signal" else {}
        rows.append((event, audit.sentence(event.kind, who, detail, people.get)))
    return common.render(
        request,
        "meeting/audit.html",
        who=person,
        conference=conference,
        rows=rows,
    )
