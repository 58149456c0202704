"""htmx pages: coordinator screens, invitation links and the participant's landing page.

Every form also works without JavaScript: htmx requests (``HX-Request``) get the fragment
they swap in, plain form posts get the whole page or a redirect.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

import segno
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server import i18n
from server.conference import admission, auth, calendar, sessions
from server.i18n import N_, Labels, _
from server.rules import phases, schedule
from server.rules.forms import (
    INVITED_ROLES,
    ROLE_LABELS,
    FormResult,
    conference_form,
    email_form,
    login_form,
    participant_form,
)
from server.settings import Settings
from server.storage.models import Conference, utcnow
from server.storage.store import NotFound, ParticipantRow, Store
from server.views import common, identity
from server.views.assets import templates

PHASE_LABELS = Labels(
    {
        "preparation": N_("Voorbereiding"),
        "information": N_("Informatiefase"),
        "private_time": N_("Privétijd"),
        "presentation": N_("Presentatie van het plan"),
        "action_team": N_("Actieteam"),
        "closed": N_("Afgesloten"),
    }
)

PHASE_EXPLANATIONS = Labels(
    {
        "preparation": N_(
            "De coördinator bereidt de conferentie voor met de cliënt: wie er komen "
            "en welke vraag het plan moet beantwoorden."
        ),
        "information": N_(
            "Professionals en familie delen wat ze weten. Professionals met verplicht "
            "toezicht zeggen aan welke voorwaarden het plan moet voldoen."
        ),
        "private_time": N_(
            "De familie en het netwerk maken samen het plan, zonder de coördinator "
            "en zonder professionals. Neem er de tijd voor die nodig is."
        ),
        "presentation": N_(
            "De familie presenteert het plan. De coördinator stelt alleen "
            "verhelderende vragen; iedereen zegt of hij of zij het eens is."
        ),
        "action_team": N_(
            "Het actieteam voert het plan uit en komt minstens elke zes weken samen "
            "om het te bespreken en bij te stellen."
        ),
        "closed": N_("De conferentie is afgesloten. Het plan blijft te lezen."),
    }
)

# Status, title and message (Dutch message ids, translated when shown).
LINK_PROBLEMS = {
    auth.LinkProblem.UNKNOWN: (
        404,
        N_("Deze link kennen we niet"),
        N_("Misschien is hij niet helemaal overgenomen."),
    ),
    auth.LinkProblem.REVOKED: (
        410,
        N_("Deze link werkt niet meer"),
        N_("De coördinator heeft hem ingetrokken of een nieuwe gemaakt."),
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
ASK_FOR_LINK = N_("Vraag de coördinator om een nieuwe persoonlijke link.")


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def render_fragment(name: str, **context: Any) -> str:
    """A template rendered to a string (for server-sent events)."""
    return templates.get_template(name).render(**context)


def error_page(
    request: Request, status_code: int, title: str, message: str, action: str = ""
) -> Response:
    """A page that says what went wrong and what to do; for htmx, it replaces <main>."""
    context = {"title": title, "message": message, "action": action}
    if _is_htmx(request):
        response = render(request, "_error_body.html", status_code, **context)
        response.headers["hx-retarget"] = "#main"
        response.headers["hx-reswap"] = "innerHTML show:top"
        return response
    return render(request, "error.html", status_code, **context)


class KeptOut(Exception):
    """This device signed in during private time and the family did not let it in (yet)."""

    def __init__(self, waiting: auth.Waiting) -> None:
        self.waiting = waiting


def waiting_page(request: Request, waiting: auth.Waiting) -> Response:
    """What a device that is not let in sees on every page of the conference: its own name
    and the family's answer, nothing of the conference."""
    response = render(request, "participant/waiting.html", 403, waiting=waiting)
    response.headers["cache-control"] = "no-store"
    return response


def kept_out_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KeptOut)
    return waiting_page(request, exc.waiting)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _qr_svg(url: str, title: str) -> str:
    return str(segno.make(url, error="m").svg_inline(scale=5, border=2, title=title, omitsize=True))


# -- access ---------------------------------------------------------------------------------


class LoginRequired(Exception):
    """Raised by coordinator pages when nobody (valid) is logged in."""

    def __init__(self, expired: bool) -> None:
        self.expired = expired


async def _coordinator(request: Request) -> auth.CoordinatorIdentity:
    who = await identity.coordinator_of(_store(request), _settings(request), request)
    if isinstance(who, auth.CookieState):
        raise LoginRequired(expired=who is auth.CookieState.INVALID)
    return who


async def _own_conference(request: Request) -> tuple[auth.CoordinatorIdentity, Conference]:
    """The logged-in coordinator and the conference in the URL, if it is theirs to run."""
    who = await _coordinator(request)
    conference = await _store(request).conference(request.path_params["conference_id"])
    if conference is None:
        raise HTTPException(404, _("Deze conferentie bestaat niet (meer)."))
    if not await auth.may_coordinate(_store(request), who.account, conference):
        raise HTTPException(403, _("Deze conferentie wordt door een andere coördinator begeleid."))
    return who, conference


def _actor(who: auth.CoordinatorIdentity) -> str:
    return f"coordinator:{who.account.id}"


def login_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    # After an htmx post the place to return to is the page it was made from.
    target = urlsplit(request.headers.get("hx-current-url", "")).path or request.url.path
    if request.method != "GET" and not request.headers.get("hx-current-url"):
        target = "/conferences"
    query = {"next": _safe_next(target)}
    if exc.expired:
        query["expired"] = "1"
    location = f"/login?{urlencode(query, safe='/')}"
    if _is_htmx(request):  # a redirect would be swapped into the page; ask for a full load
        return Response(status_code=204, headers={"hx-redirect": location})
    return RedirectResponse(location, status_code=303)


# -- home, login, logout --------------------------------------------------------------------


async def home(request: Request) -> Response:
    if isinstance(
        await identity.coordinator_of(_store(request), _settings(request), request),
        auth.CoordinatorIdentity,
    ):
        return RedirectResponse("/conferences", status_code=303)
    who = await identity.participant_of(_store(request), _settings(request), request)
    if isinstance(who, auth.ParticipantIdentity):
        return RedirectResponse(f"/c/{who.conference.id}", status_code=303)
    return render(request, "home.html")


def _safe_next(raw: str | None, default: str = "/conferences") -> str:
    """``raw`` if it is a path on this site, else ``default`` (never another site)."""
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return default


async def login(request: Request) -> Response:
    next_url = _safe_next(request.query_params.get("next"))
    if request.method == "GET":
        notice = (
            _("Je was te lang weg of je sessie is beëindigd. Log opnieuw in.")
            if request.query_params.get("expired")
            else ""
        )
        return render(
            request, "login.html", form=FormResult({"email": ""}), next_url=next_url, notice=notice
        )
    form = login_form(await request.form())
    if not form.ok:
        return render(request, "login.html", 400, form=form, next_url=next_url)
    store, settings = _store(request), _settings(request)
    # The peer, or what a trusted proxy forwarded (KRING_TRUSTED_PROXIES, uvicorn's job).
    address = request.client.host if request.client else "unknown"
    result, account = await auth.authenticate(
        store, settings, form.cleaned["email"], form.cleaned["password"], address
    )
    if result is auth.LoginResult.LOCKED:
        form.errors["form"] = _(
            "Te veel mislukte pogingen voor dit e-mailadres. Probeer het over een kwartier opnieuw."
        )
        return render(request, "login.html", 429, form=form, next_url=next_url)
    if account is None:
        form.errors["form"] = _("Dit e-mailadres en wachtwoord horen niet bij elkaar.")
        return render(request, "login.html", 401, form=form, next_url=next_url)
    response = RedirectResponse(next_url, status_code=303)
    await identity.start_coordinator_session(store, settings, account, response)
    return response


async def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    ended = await identity.end_session(
        _store(request), _settings(request), request, identity.COORDINATOR_COOKIE, response
    )
    sessions.end(request.app.state.hub, ended, sessions.LOGGED_OUT)
    return response


# -- conferences ----------------------------------------------------------------------------


# After an erasure: what the conference list says (the conference and its name are gone).
LIST_NOTICES = Labels(
    {
        "erased": N_("De conferentie is gewist, met al haar gegevens."),
        "erased_files_pending": N_(
            "De conferentie is gewist, met al haar gegevens. De database was druk: de "
            "gewiste gegevens worden bij de volgende opschoning ook uit de bestanden gehaald."
        ),
    }
)


async def conference_list(request: Request) -> Response:
    who = await _coordinator(request)
    notice = LIST_NOTICES.get(request.query_params.get("notice", ""), "")
    summaries = await _store(request).conferences_for(who.account)
    on = schedule.today()
    due = {}
    for summary in summaries:
        day = schedule.due_after(summary.conference, summary.last_follow_up_at)
        if day is not None:
            due[summary.conference.id] = (day, schedule.standing(day, on))
    return render(
        request,
        "conferences/list.html",
        who=who,
        summaries=summaries,
        due=due,
        feed_url=calendar.account_url(_settings(request), who.account),
        notice=notice,
    )


async def conference_new(request: Request) -> Response:
    who = await _coordinator(request)
    if request.method == "GET":
        return render(
            request, "conferences/form.html", who=who, conference=None, form=FormResult({})
        )
    form = conference_form(await request.form())
    if not form.ok:
        return render(request, "conferences/form.html", 400, who=who, conference=None, form=form)
    store = _store(request)
    conference = await store.create_conference(who.account, **form.cleaned)
    await store.audit(conference.id, _actor(who), "conference_created")
    return RedirectResponse(f"/conferences/{conference.id}", status_code=303)


async def conference_edit(request: Request) -> Response:
    who, conference = await _own_conference(request)
    if request.method == "GET":
        values = {
            "client_name": conference.client_name,
            "question": conference.question,
            "meeting_date": conference.meeting_date.isoformat() if conference.meeting_date else "",
            "location": conference.location,
        }
        return render(
            request,
            "conferences/form.html",
            who=who,
            conference=conference,
            form=FormResult(values),
        )
    form = conference_form(await request.form())
    if not form.ok:
        return render(
            request, "conferences/form.html", 400, who=who, conference=conference, form=form
        )
    store = _store(request)
    await store.update_conference(conference.id, **form.cleaned)
    await store.audit(
        conference.id, _actor(who), "conference_edited", {"fields": sorted(form.cleaned)}
    )
    return RedirectResponse(f"/conferences/{conference.id}", status_code=303)


async def _participants_view(
    request: Request,
    who: auth.CoordinatorIdentity,
    conference: Conference,
    *,
    status_code: int = 200,
    form: FormResult | None = None,
    new_link: dict[str, Any] | None = None,
    flash: str = "",
    email_error: tuple[int, FormResult] | None = None,
    erase_error: str = "",
) -> Response:
    """The conference page, or just its participants section for an htmx swap."""
    rows = await _store(request).participants(conference.id)
    context: dict[str, Any] = {
        "who": who,
        "conference": conference,
        "rows": rows,
        "form": form or FormResult({"role": "network_member"}),
        "new_link": new_link,
        "flash": flash,
        "roles": (*INVITED_ROLES, "coordinator"),
        "email_error": email_error,  # (participant id, their refused email form)
        "may_erase": auth.may_erase(who.account, conference),
        "may_export": phases.coordinator_reads_plan(conference.phase),
        "erase_error": erase_error,
    }
    name = "conferences/_participants.html" if _is_htmx(request) else "conferences/detail.html"
    return render(request, name, status_code, **context)


async def conference_detail(request: Request) -> Response:
    who, conference = await _own_conference(request)
    return await _participants_view(request, who, conference)


def _sign_out_live(request: Request, conference_id: str, participant_id: int, why: str) -> None:
    """Close the live documents of devices whose link stopped working (at once, not at the
    next reconnect). ``why`` is a Dutch message id, told to each device in its own language."""
    request.app.state.hub.drop_participant(conference_id, participant_id, why)


async def _link_payload(
    request: Request, conference_id: str, participant_id: int, name: str, role: str
) -> dict[str, Any]:
    # One more link: the person's other links (and devices) keep working. In private time
    # whoever opens it waits until the family lets them in.
    url = await auth.issue_link(_store(request), _settings(request), participant_id)
    return {
        "participant_id": participant_id,
        "name": name,
        "role": role,
        "url": url,
        "qr": _qr_svg(url, _("Persoonlijke link van %(name)s", name=name)),
    }


async def participant_add(request: Request) -> Response:
    who, conference = await _own_conference(request)
    form = participant_form(await request.form())
    store = _store(request)
    if form.ok and form.cleaned["role"] == "coordinator":
        return await _add_coordinator(request, who, conference, form)
    if not form.ok:
        return await _participants_view(request, who, conference, status_code=400, form=form)
    participant = await store.add_participant(
        conference.id, form.cleaned["name"], form.cleaned["role"], email=form.cleaned["email"]
    )
    await store.audit(
        conference.id,
        _actor(who),
        "participant_added",
        {"participant_id": participant.id, "role": participant.role},
    )
    link = await _link_payload(
        request, conference.id, participant.id, participant.name, participant.role
    )
    return await _participants_view(
        request,
        who,
        conference,
        new_link=link,
        flash=_("%(name)s is toegevoegd.", name=participant.name),
    )


async def _add_coordinator(
    request: Request, who: auth.CoordinatorIdentity, conference: Conference, form: FormResult
) -> Response:
    """A co-coordinator logs in with their own account; they get no link."""
    store = _store(request)
    account = await store.account_by_email(form.cleaned["email"])
    if account is None:
        form.errors["email"] = _("Er is geen coördinator-account met dit e-mailadres.")
    elif any(
        r.participant.account_id == account.id for r in await store.participants(conference.id)
    ):
        form.errors["email"] = _(
            "%(name)s is al coördinator van deze conferentie.", name=account.name
        )
    if account is None or form.errors:
        return await _participants_view(request, who, conference, status_code=400, form=form)
    participant = await store.add_participant(
        conference.id, account.name, "coordinator", account_id=account.id
    )
    await store.audit(
        conference.id,
        _actor(who),
        "participant_added",
        {"participant_id": participant.id, "role": "coordinator"},
    )
    return await _participants_view(
        request,
        who,
        conference,
        flash=_(
            "%(name)s is nu ook coördinator van deze conferentie (eigen account).",
            name=account.name,
        ),
    )


async def _target_participant(
    request: Request, *, link: bool = True
) -> tuple[auth.CoordinatorIdentity, Conference, Any]:
    """The participant in the URL; ``link`` actions do not apply to coordinators."""
    who, conference = await _own_conference(request)
    participant_id = common.number_in_path(
        request, "participant_id", _("Deze deelnemer bestaat niet.")
    )
    participant = await _store(request).participant(conference.id, participant_id)
    if participant is None:
        raise HTTPException(404, _("Deze deelnemer staat niet (meer) op de lijst."))
    if participant.role == "coordinator" and link:
        raise HTTPException(
            409, _("De coördinator logt in met een account en heeft geen persoonlijke link.")
        )
    if participant.role == "coordinator" and participant.account_id == conference.owner_id:
        raise HTTPException(409, _("De coördinator die de conferentie begeleidt, blijft erbij."))
    return who, conference, participant


async def participant_link(request: Request) -> Response:
    who, conference, participant = await _target_participant(request)
    link = await _link_payload(
        request, conference.id, participant.id, participant.name, participant.role
    )
    await _store(request).audit(
        conference.id, _actor(who), "link_issued", {"participant_id": participant.id}
    )
    return await _participants_view(
        request,
        who,
        conference,
        new_link=link,
        flash=_(
            "Nieuwe link voor %(name)s. Eerdere links blijven werken; trek de links in om ze "
            "allemaal te beëindigen.",
            name=participant.name,
        ),
    )


async def participant_email(request: Request) -> Response:
    """Set or clear the address a participant's reminders go to."""
    who, conference, participant = await _target_participant(request)
    form = email_form(await request.form())
    if not form.ok:
        return await _participants_view(
            request, who, conference, status_code=400, email_error=(participant.id, form)
        )
    store = _store(request)
    try:
        await store.set_participant_email(conference.id, participant.id, form.cleaned["email"])
    except NotFound:
        raise HTTPException(404, _("Deze deelnemer staat niet (meer) op de lijst.")) from None
    await store.audit(
        conference.id, _actor(who), "email_changed", {"participant_id": participant.id}
    )
    flash = (
        _("Het e-mailadres van %(name)s is opgeslagen.", name=participant.name)
        if form.cleaned["email"]
        else _("%(name)s krijgt geen herinneringen meer per e-mail.", name=participant.name)
    )
    return await _participants_view(request, who, conference, flash=flash)


async def participant_revoke(request: Request) -> Response:
    who, conference, participant = await _target_participant(request)
    store = _store(request)
    await store.revoke_invitation(participant.id)
    _sign_out_live(request, conference.id, participant.id, N_("Je link werkt niet meer."))
    await store.audit(
        conference.id, _actor(who), "link_revoked", {"participant_id": participant.id}
    )
    return await _participants_view(
        request,
        who,
        conference,
        flash=_(
            "De link van %(name)s werkt niet meer, op geen enkel apparaat.",
            name=participant.name,
        ),
    )


async def participant_remove(request: Request) -> Response:
    who, conference, participant = await _target_participant(request, link=False)
    store = _store(request)
    try:
        await store.remove_participant(conference.id, participant.id)
    except NotFound:
        raise HTTPException(404, _("Deze deelnemer staat niet (meer) op de lijst.")) from None
    why = N_("Je staat niet meer op de lijst.")
    if participant.account_id is not None:  # a co-coordinator: their login goes on elsewhere
        request.app.state.hub.drop_account(conference.id, participant.account_id, why)
    else:
        _sign_out_live(request, conference.id, participant.id, why)
    await store.audit(
        conference.id, _actor(who), "participant_removed", {"participant_id": participant.id}
    )
    return await _participants_view(
        request,
        who,
        conference,
        flash=_("%(name)s is van de lijst gehaald.", name=participant.name),
    )


async def invitation_cards(request: Request) -> Response:
    """Choose whose cards to print (GET), then reissue their links as a printable sheet (POST)."""
    who, conference = await _own_conference(request)
    rows = [
        r
        for r in await _store(request).participants(conference.id)
        if r.participant.role != "coordinator"
    ]
    if request.method == "GET":
        return render(
            request,
            "conferences/cards_choose.html",
            who=who,
            conference=conference,
            rows=rows,
            error="",
        )
    form = await request.form()
    chosen = {n for v in form.getlist("participant") if (n := common.integer(v)) is not None}
    selected: list[ParticipantRow] = [r for r in rows if r.participant.id in chosen]
    if not selected:
        return render(
            request,
            "conferences/cards_choose.html",
            400,
            who=who,
            conference=conference,
            rows=rows,
            error=_("Kies minstens één persoon."),
        )
    cards = [
        await _link_payload(
            request, conference.id, r.participant.id, r.participant.name, r.participant.role
        )
        for r in selected
    ]
    await _store(request).audit(
        conference.id,
        _actor(who),
        "cards_printed",
        {"participant_ids": [c["participant_id"] for c in cards]},
    )
    return render(
        request, "conferences/cards_sheet.html", who=who, conference=conference, cards=cards
    )


# -- participants ---------------------------------------------------------------------------


async def open_invitation(request: Request) -> Response:
    """A personal link. GET asks "is this you?"; only the POST signs this device in.

    Link previews in chat apps and mail scanners fetch GET links on their own; they must
    not create sessions, mark the link as opened or fill the audit log.
    """
    store, settings = _store(request), _settings(request)
    token = request.path_params["token"]
    match = await store.invitation_by_hash(auth.hash_token(settings.secret_key, token))
    problem = (
        auth.LinkProblem.UNKNOWN
        if match is None
        else auth.invitation_problem(
            match.invitation,
            match.participant,
            match.conference,
            utcnow(),
            settings.invitation_grace_days,
        )
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
        status, title, message = LINK_PROBLEMS[problem]
        return error_page(request, status, _(title), _(message), _(ASK_FOR_LINK))
    assert match is not None
    i18n.use_person_language(match.participant.language)  # a working link: its owner's page
    if request.method == "GET":
        return render(request, "participant/open.html", me=match.participant)
    response = RedirectResponse(f"/c/{match.conference.id}", status_code=303)
    vouched_by = None
    if match.conference.phase == "private_time":  # a family device switching person stays in
        vouched_by = await identity.family_device(store, settings, request, match.conference.id)
        i18n.use_person_language(match.participant.language)
    session = await identity.start_participant_session(store, settings, match, response, vouched_by)
    await store.audit(match.conference.id, f"participant:{match.participant.id}", "link_opened")
    if vouched_by is not None:
        detail = {"participant_id": match.participant.id, "same_device": True}
        await store.audit(match.conference.id, vouched_by, "admission_granted", detail)
        admission.changed(request.app.state.events, match.conference.id)
    if session.admission == "waiting":
        await admission.device_waits(
            store, request.app.state.events, match.conference.id, match.participant.id
        )
    return response


async def participant_here(request: Request) -> auth.ParticipantIdentity | Response:
    """The participant on this device, if they belong to the conference in the URL."""
    store, settings = _store(request), _settings(request)
    conference_id = request.path_params["conference_id"]
    who = await identity.participant_of(store, settings, request)
    if isinstance(who, auth.ParticipantIdentity) and who.conference.id == conference_id:
        kept_out = auth.waiting(who)
        if isinstance(kept_out, auth.Waiting):
            return waiting_page(request, kept_out)
        if kept_out is None:
            return who
        who = auth.CookieState.INVALID
    coordinator = await identity.coordinator_of(store, settings, request)
    if isinstance(coordinator, auth.CoordinatorIdentity):
        return RedirectResponse(f"/conferences/{conference_id}", status_code=303)
    if who is auth.CookieState.INVALID:
        return error_page(
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
        return error_page(
            request,
            401,
            _("Open eerst je persoonlijke link"),
            _("Kring herkent je aan de link die je van de coördinator kreeg."),
            _("Open die link op dit apparaat."),
        )
    return error_page(
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
    await _store(request).mark_privacy_seen(who.participant.id)
    return RedirectResponse(f"/c/{who.conference.id}", status_code=303)


async def privacy(request: Request) -> Response:
    await _known_person(request)  # in the language of whoever reads it, if we know them
    return render(request, "privacy.html")


# -- language -----------------------------------------------------------------------------


async def _known_person(
    request: Request,
) -> auth.ParticipantIdentity | auth.CoordinatorIdentity | None:
    """Whoever is signed in on this device (a participant first); answers in their language."""
    store, settings = _store(request), _settings(request)
    who = await identity.participant_of(store, settings, request)
    if isinstance(who, auth.ParticipantIdentity):
        return who
    coordinator = await identity.coordinator_of(store, settings, request)
    return coordinator if isinstance(coordinator, auth.CoordinatorIdentity) else None


async def _link_owner(request: Request, path: str) -> int | None:
    """The participant whose personal link ``path`` (``/i/<token>``) is, if it still works."""
    if not path.startswith("/i/"):
        return None
    token = path[3:].split("?", 1)[0]
    if not token or "/" in token:
        return None
    store, settings = _store(request), _settings(request)
    match = await store.invitation_by_hash(auth.hash_token(settings.secret_key, token))
    if match is None or auth.invitation_problem(
        match.invitation,
        match.participant,
        match.conference,
        utcnow(),
        settings.invitation_grace_days,
    ):
        return None
    return match.participant.id


async def choose_language(request: Request) -> Response:
    """Switch Kring's language, then go back to the page the form was on.

    The choice is remembered on this device (a cookie) and, for someone known, on their own
    row: a participant signed in here, a logged-in coordinator, or the owner of the personal
    link whose "is this you?" page the form was on. So it follows a person to their other
    devices, and the next person on a shared tablet still gets their own language.
    """
    form = await request.form()
    language = form.get("language")
    raw_next = form.get("next")
    next_url = _safe_next(raw_next if isinstance(raw_next, str) else None, default="/")
    if not isinstance(language, str) or language not in i18n.LANGUAGES:
        await _known_person(request)
        return error_page(
            request,
            400,
            _("Deze taal kent Kring niet"),
            _("Kring is er in het Nederlands en in het Engels. Kies een van beide."),
        )
    store, settings = _store(request), _settings(request)
    if next_url.startswith("/i/"):  # someone's "is this you?" page: theirs, if it works
        owner = await _link_owner(request, next_url)
        if owner is not None:
            await store.set_participant_language(owner, language)
    else:
        participant = await identity.participant_of(store, settings, request)
        if isinstance(participant, auth.ParticipantIdentity):
            await store.set_participant_language(participant.participant.id, language)
        coordinator = await identity.coordinator_of(store, settings, request)
        if isinstance(coordinator, auth.CoordinatorIdentity):
            await store.set_account_language(coordinator.account.id, language)
    response = RedirectResponse(next_url, status_code=303)
    identity.set_language_cookie(response, settings, language)
    return response


def language_next(request: Request) -> str:
    """Where the language form returns to: this page, or for a page that answers a form post,
    the page the form was on."""
    if request.method in ("GET", "HEAD"):
        query = request.url.query
        return _safe_next(request.url.path + (f"?{query}" if query else ""), default="/")
    return _safe_next(urlsplit(request.headers.get("referer", "")).path, default="/")


async def healthz(request: Request) -> Response:
    return Response("ok", media_type="text/plain")


def template_globals() -> dict[str, Any]:
    return {
        "PHASE_LABELS": PHASE_LABELS,
        "PHASE_EXPLANATIONS": PHASE_EXPLANATIONS,
        "ROLE_LABELS": ROLE_LABELS,
        "language_next": language_next,
        "STANDING_LABELS": schedule.STANDING_LABELS,
        "webcal": calendar.webcal,
    }


routes = [
    Route("/", home),
    Route("/healthz", healthz),
    Route("/privacy", privacy),
    Route("/login", login, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/language", choose_language, methods=["POST"]),
    Route("/conferences", conference_list),
    Route("/conferences/new", conference_new, methods=["GET", "POST"]),
    Route("/conferences/{conference_id}", conference_detail),
    Route("/conferences/{conference_id}/edit", conference_edit, methods=["GET", "POST"]),
    Route("/conferences/{conference_id}/participants", participant_add, methods=["POST"]),
    Route(
        "/conferences/{conference_id}/participants/{participant_id:int}/link",
        participant_link,
        methods=["POST"],
    ),
    Route(
        "/conferences/{conference_id}/participants/{participant_id:int}/email",
        participant_email,
        methods=["POST"],
    ),
    Route(
        "/conferences/{conference_id}/participants/{participant_id:int}/revoke",
        participant_revoke,
        methods=["POST"],
    ),
    Route(
        "/conferences/{conference_id}/participants/{participant_id:int}/remove",
        participant_remove,
        methods=["POST"],
    ),
    Route("/conferences/{conference_id}/cards", invitation_cards, methods=["GET", "POST"]),
    Route("/i/{token}", open_invitation, methods=["GET", "POST"]),
    Route("/c/{conference_id}/privacy", participant_privacy_seen, methods=["POST"]),
]
