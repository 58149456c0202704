"""A participant's pages: their personal link ("is this you?"), then their own page in each
phase with what it asks of them (signals, conditions, their answer and marks).

Every form also works without JavaScript (a post, then a redirect back).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from server import i18n
from server.clock import time_zone
from server.conference import admission, auth, calendar
from server.conference.refusals import FlowError
from server.formats import ical
from server.i18n import N_, _
from server.rules import phases
from server.storage.models import ANSWERS, CONDITION_STATUSES, Rating
from server.storage.store import Store
from server.views import common, compass, identity, preparation

# Status, title and message (Dutch message ids, translated when shown).
LINK_PROBLEMS = {
    auth.LinkProblem.UNKNOWN: (
        404,
        N_("Deze link kennen we niet"),
        N_(
            "Misschien is hij niet helemaal overgenomen: na /i/ volgen 43 letters, cijfers, "
            "streepjes of lage streepjes."
        ),
    ),
    auth.LinkProblem.REVOKED: (
        410,
        N_("Deze link werkt niet meer"),
        N_(
            "De coördinator heeft hem beëindigd. Heb je ook een andere link gekregen (in een "
            "bericht, op een kaart of per e-mail), dan werkt die misschien nog wel."
        ),
    ),
    auth.LinkProblem.EXPIRED: (
        410,
        N_("Deze link is verlopen"),
        N_("De conferentie is al een tijd afgesloten."),
    ),
    auth.LinkProblem.REMOVED: (
        410,
        N_("Je staat niet meer op de lijst"),
        N_("De coördinator heeft je uit deze conferentie gehaald."),
    ),
}
# For a link Kring does not know, nobody can be named: the link may be anybody's, or
# nobody's (typed wrong, guessed).
UNKNOWN_LINK_ACTION = N_(
    "Open de link opnieuw vanuit het bericht of de e-mail waarin je hem kreeg, of scan de "
    "QR-code op je kaart. Lukt dat niet, vraag dan de coördinator die je uitnodigde om een "
    "nieuwe persoonlijke link."
)


async def link_problem_page(
    request: Request, store: Store, problem: auth.LinkProblem, conference_owner: int | None
) -> Response:
    """Why a link does not open Kring and whom to ask: for a link of a known conference, its
    coordinator by name with the phone number and email address they set (if any)."""
    status, title, message = LINK_PROBLEMS[problem]
    coordinator = None if conference_owner is None else await store.account(conference_owner)
    return common.render(
        request,
        "participant/link_problem.html",
        status,
        title=_(title),
        message=_(message),
        coordinator=coordinator,
        unknown_action=_(UNKNOWN_LINK_ACTION),
    )


async def open_invitation(request: Request) -> Response:
    """A personal link. GET asks "is this you?"; only the POST signs this device in.

    Link previews in chat apps and mail scanners fetch GET links on their own; they must
    not create sessions, mark the link as opened or fill the audit log.
    """
    store, settings = common.store(request), common.settings(request)
    token = request.path_params["token"]
    match = await store.invitation_by_hash(auth.hash_token(settings.secret_key, token))
    problem = (
        auth.LinkProblem.UNKNOWN
        if match is None
        else auth.link_problem(match, settings.invitation_grace_days)
    )
    if problem is not None:
        if match is not None and request.method == "POST":
            await store.audit(
                match.conference.id,
                f"participant:{match.participant.id}",
                "link_refused",
                {"reason": problem.value},
                coalesce=True,
            )
        owner = None if match is None else match.conference.owner_id
        return await link_problem_page(request, store, problem, owner)
    assert match is not None
    i18n.use_person_language(match.participant.language)  # a working link: its owner's page
    if request.method == "GET":
        return common.render(request, "participant/open.html", me=match.participant)
    response = RedirectResponse(f"/c/{match.conference.id}", status_code=303)
    vouched_by = None
    if match.conference.phase == "private_time":  # a family device switching person stays in
        vouched_by = await identity.family_device(store, settings, request, match.conference.id)
        i18n.use_person_language(match.participant.language)
    session = await identity.start_participant_session(store, settings, match, response, vouched_by)
    await store.audit(match.conference.id, f"participant:{match.participant.id}", "link_opened")
    events = common.events(request)
    if vouched_by is not None:
        detail = {"participant_id": match.participant.id, "same_device": True}
        await store.audit(match.conference.id, vouched_by, "admission_granted", detail)
        admission.changed(events, match.conference.id)
    if session.admission == "waiting":
        await admission.device_waits(store, events, match.conference.id, match.participant.id)
    return response


async def participant_here(request: Request) -> auth.ParticipantIdentity | Response:
    """The participant on this device, if they belong to the conference in the URL."""
    store, settings = common.store(request), common.settings(request)
    conference_id = request.path_params["conference_id"]
    who = await identity.participant_of(store, settings, request)
    if isinstance(who, auth.ParticipantIdentity) and who.conference.id == conference_id:
        kept_out = auth.waiting(who)
        if isinstance(kept_out, auth.Waiting):
            return common.waiting_page(request, kept_out)
        if kept_out is None:
            return who
        who = auth.CookieState.INVALID
    coordinator = await identity.coordinator_of(store, settings, request)
    if isinstance(coordinator, auth.CoordinatorIdentity):
        return RedirectResponse(f"/conferences/{conference_id}", status_code=303)
    if who is auth.CookieState.INVALID:
        return common.error_page(
            request,
            401,
            _("Je bent niet (meer) aangemeld op dit apparaat"),
            _("Je link is ingetrokken, of je aanmelding is beëindigd of niet geldig."),
            _(
                "Open je persoonlijke link opnieuw. Werkt die niet meer, vraag de "
                "coördinator dan om een nieuwe."
            ),
        )
    if who is auth.CookieState.ABSENT:
        return common.error_page(
            request,
            401,
            _("Open eerst je persoonlijke link"),
            _("Kring herkent je aan de link die je van de coördinator kreeg."),
            _("Open die link op dit apparaat."),
        )
    return common.error_page(
        request,
        403,
        _("Dit is een andere conferentie"),
        _("Je bent op dit apparaat aangemeld voor een andere conferentie."),
        _("Open de persoonlijke link die bij deze conferentie hoort."),
    )


async def participant_privacy_seen(request: Request) -> Response:
    who = await participant_here(request)
    if isinstance(who, Response):
        return who
    await common.store(request).mark_privacy_seen(who.participant.id)
    return RedirectResponse(f"/c/{who.conference.id}", status_code=303)


# -- the participant's page ---------------------------------------------------------------------


async def participant_page(
    request: Request,
    error: str = "",
    status_code: int = 200,
    typed: dict[str, str] | None = None,
    *,
    confirm_plan_ready: bool = False,
) -> Response:
    """``typed``: what the person typed in a form that was refused, shown again in it."""
    who = await participant_here(request)
    if isinstance(who, Response):
        return who
    conference, me = who.conference, who.participant
    plan_access = phases.access(
        conference.phase, me.role, "plan", action_team_member=me.action_team
    )
    context = await common.meeting_so_far(request, conference)
    checking = phases.may("check_conditions", conference.phase, me.role)
    # The family's "plan ready" that stands (it can take it back until the coordinator acts).
    plan_ready = None
    if phases.may("signal", conference.phase, me.role):
        plan_ready = await common.meeting(request).plan_ready_since(conference)
    return common.render(
        request,
        "participant/landing.html",
        status_code,
        me=me,
        conference=conference,
        show_privacy=me.privacy_seen_at is None,
        may=lambda action: phases.may(action, conference.phase, me.role),
        my_answer=context["answers"].get(me.id),
        my_rating=await my_rating(common.store(request), conference.id, me.id, 0),
        may_read_plan=plan_access >= phases.Access.READ,
        may_write_plan=plan_access >= phases.Access.WRITE,
        may_present=phases.may_present(
            conference.phase, me.role, action_team_member=me.action_team
        ),
        my_conditions=[c for c, p in context["conditions"] if p.id == me.id],
        # her own conditions are judged in one form of their own, not listed twice
        checking=checking,
        listed_conditions=[
            (c, p) for c, p in context["conditions"] if not (checking and p.id == me.id)
        ],
        typed=typed or {},
        information_access=int(phases.access(conference.phase, me.role, "information")),
        plan_ready=plan_ready,
        confirm_plan_ready=confirm_plan_ready and plan_ready is None,
        error=error,
        **compass.landing_context(conference, me, context["people"]),
        **context,
        **await preparation.landing_context(request, conference, me),
    )


async def conference_ics(request: Request) -> Response:
    """The conference itself as an iCalendar file, from the participant's page: what that
    page says of when and where (nothing of the plan), for whoever may see that page."""
    who = await participant_here(request)
    if isinstance(who, Response):
        return who
    event = calendar.conference_event(who.conference, common.settings(request).base_url)
    if event is None:
        return common.error_page(
            request, 404, _("Niet gevonden"), _("De tijden van de conferentie staan nog niet vast.")
        )
    return Response(
        ical.calendar([event], zone=time_zone()),
        media_type="text/calendar",
        headers={"content-disposition": 'attachment; filename="conferentie.ics"'},
    )


async def my_rating(
    store: Store, conference_id: str, participant_id: int | None, occasion: int
) -> Rating | None:
    """The marks this person gave for ``occasion`` (0: the presentation), if any."""
    if participant_id is None:  # a coordinator gives no marks
        return None
    return await store.rating(conference_id, participant_id, occasion)


def _back(request: Request) -> str:
    return f"/c/{request.path_params['conference_id']}"


async def signal_form(request: Request) -> Response:
    person = await common.person_of(request)
    form = await request.form()
    kind = common.text(form, "kind")
    if (
        kind == "plan_ready"
        and common.text(form, "confirmed") != "yes"
        and phases.may("signal", person.conference.phase, person.role)
    ):
        # Asked once: the coordinator comes back for the presentation on this signal.
        return await participant_page(request, confirm_plan_ready=True)
    action = common.meeting(request).signal(person, kind)
    return await common.run_action(request, action, participant_page, _back(request))


def _again(typed: dict[str, str]) -> common.Page:
    """The participant's page shown again after a refusal, with what was typed in it."""

    async def page(request: Request, error: str, status_code: int) -> Response:
        return await participant_page(request, error, status_code, typed)

    return page


async def plan_ready_undo_form(request: Request) -> Response:
    """The family takes its "plan ready" back, until the coordinator acts on it."""
    person = await common.person_of(request)
    action = common.meeting(request).withdraw_plan_ready(person)
    return await common.run_action(request, action, participant_page, _back(request))


async def condition_add_form(request: Request) -> Response:
    person = await common.person_of(request)
    text = common.text(await request.form(), "text")
    if not text:
        return await participant_page(request, _("Schrijf de voorwaarde op."), 400)
    action = common.meeting(request).add_condition(person, text)
    return await common.run_action(request, action, _again({"new-condition": text}), _back(request))


def _condition_id(request: Request) -> int:
    return common.number_in_path(request, "condition_id", _("Deze voorwaarde bestaat niet."))


async def condition_edit_form(request: Request) -> Response:
    """A mandated professional rewrites their condition (information phase only)."""
    person = await common.person_of(request)
    condition_id = _condition_id(request)
    text = common.text(await request.form(), "text")
    action = common.meeting(request).edit_condition(person, condition_id, text)
    return await common.run_action(
        request, action, _again({f"edit-{condition_id}": text}), _back(request)
    )


async def condition_delete_form(request: Request) -> Response:
    """Removing a condition asks first (a page of its own, so also without JavaScript): a
    GET, or a post without ``confirm=yes``, shows the question; only the confirmed post
    removes it."""
    person = await common.person_of(request)
    condition_id = _condition_id(request)
    meeting = common.meeting(request)
    if request.method == "POST" and common.text(await request.form(), "confirm") == "yes":
        action = meeting.delete_condition(person, condition_id)
        return await common.run_action(request, action, participant_page, _back(request))
    try:
        condition = await meeting.own_condition(person, condition_id)
    except FlowError as exc:
        return await participant_page(request, exc.message, common.STATUS[exc.kind])
    return common.render(
        request,
        "participant/condition_delete.html",
        conference=person.conference,
        condition=condition,
    )


async def condition_check_form(request: Request) -> Response:
    """One condition judged (a form per condition, as older pages post it)."""
    person = await common.person_of(request)
    form = await request.form()
    status = common.choice(common.text(form, "status"), CONDITION_STATUSES)
    if status is None:
        return await participant_page(request, _("Kies 'voldaan' of 'niet voldaan'."), 400)
    action = common.meeting(request).check_condition(
        person, _condition_id(request), status, common.text(form, "remark")
    )
    return await common.run_action(request, action, participant_page, _back(request))


async def conditions_check_form(request: Request) -> Response:
    """All of a mandated professional's conditions judged in one form, with one save:
    ``status-N`` ("met" / "not_met"; missing: left as it was) and ``remark-N`` per
    condition N. All are stored, or none (and what was typed is shown again)."""
    person = await common.person_of(request)
    form = await request.form()
    typed = {key: value for key, value in form.items() if isinstance(value, str)}
    judgements: dict[int, tuple[str | None, str]] = {}
    for key in typed:
        field, _dash, number = key.partition("-")
        condition_id = common.integer(number) if field in ("status", "remark") else None
        if condition_id is None:
            continue
        raw_status = common.text(form, f"status-{number}")
        status = common.choice(raw_status, CONDITION_STATUSES)
        if raw_status and status is None:
            return await participant_page(
                request, _("Kies 'voldaan' of 'niet voldaan'."), 400, typed
            )
        judgements[condition_id] = (status, common.text(form, f"remark-{number}"))
    if not any(status for status, _remark in judgements.values()):
        return await participant_page(
            request, _("Kies per voorwaarde 'voldaan' of 'niet voldaan'."), 400, typed
        )
    action = common.meeting(request).check_conditions(person, judgements)
    return await common.run_action(request, action, _again(typed), _back(request))


async def rating_form(request: Request) -> Response:
    """The conference and the plan marked 1-10 at the presentation."""
    person = await common.person_of(request)
    form = await request.form()
    if person.participant_id is None:  # the participant's page is not theirs to be shown
        return common.error_page(
            request, 403, _("Geen toegang"), _("De coördinator geeft zelf geen cijfer.")
        )
    action = common.meeting(request).rate(
        person, 0, common.text(form, "meeting"), common.text(form, "plan")
    )
    return await common.run_action(request, action, participant_page, _back(request))


async def answer_form(request: Request) -> Response:
    person = await common.person_of(request)
    form = await request.form()
    answer = common.choice(common.text(form, "answer"), ANSWERS)
    if answer is None:
        return await participant_page(request, _("Kies 'eens' of 'nog niet'."), 400)
    action = common.meeting(request).answer(person, answer, common.text(form, "remark"))
    return await common.run_action(request, action, participant_page, _back(request))
