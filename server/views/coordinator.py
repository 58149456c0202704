"""The coordinator's screens: logging in and out, their conferences (list, new, edit) and
erasing one for good. The conference page itself, with its participants, is
``server/views/participants.py``."""

from __future__ import annotations

from datetime import datetime

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from server.clock import time_zone
from server.conference import auth, calendar, erasure, followups, sessions
from server.i18n import N_, Labels, _
from server.rules import schedule
from server.rules.forms import FormResult, conference_form, contact_form, login_form
from server.storage.store import NotFound
from server.views import checklist, common, identity
from server.views import twofactor as second_step
from server.views.participants import participants_view


async def login(request: Request) -> Response:
    next_url = common.safe_next(request.query_params.get("next"))
    if request.method == "GET":
        notice = ""
        if request.query_params.get("expired"):
            notice = _("Je was te lang weg of je sessie is beëindigd. Log opnieuw in.")
        elif request.query_params.get("password") == "set":
            notice = _("Je wachtwoord is ingesteld. Log nu in met je e-mailadres en wachtwoord.")
        return common.render(
            request, "login.html", form=FormResult({"email": ""}), next_url=next_url, notice=notice
        )
    form = login_form(await request.form())
    if not form.ok:
        return common.render(request, "login.html", 400, form=form, next_url=next_url)
    store, settings = common.store(request), common.settings(request)
    # The peer, or what a trusted proxy forwarded (KRING_TRUSTED_PROXIES, app.PeerAndProxies).
    address = request.client.host if request.client else "unknown"
    result, account = await auth.authenticate(
        store, settings, form.cleaned["email"], form.cleaned["password"], address
    )
    if result is auth.LoginResult.LOCKED:
        form.errors["form"] = _(
            "Te veel mislukte pogingen voor dit e-mailadres. Probeer het over een kwartier opnieuw."
        )
        return common.render(request, "login.html", 429, form=form, next_url=next_url)
    if result is auth.LoginResult.OFF:
        form.errors["form"] = _(
            "Je account staat uit. Vraag een beheerder van Kring om het weer aan te zetten."
        )
        return common.render(request, "login.html", 403, form=form, next_url=next_url)
    if account is None:
        form.errors["form"] = _("Dit e-mailadres en wachtwoord horen niet bij elkaar.")
        return common.render(request, "login.html", 401, form=form, next_url=next_url)
    return await second_step.after_password(request, result, account, next_url)


async def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    await common.sign_out(request, response, identity.COORDINATOR_COOKIE, sessions.LOGGED_OUT)
    return response


async def contact_details(request: Request) -> Response:
    """ "Mijn contactgegevens": the phone number and email address the page of an ended link
    names, so whoever holds it knows whom to call. A refused form stores nothing and keeps
    what was typed."""
    who = await common.signed_in_coordinator(request)
    account = who.account
    if request.method == "GET":
        values = {
            "contact_phone": account.contact_phone or "",
            "contact_email": account.contact_email or "",
        }
        return common.render(request, "contact.html", who=who, form=FormResult(values))
    form = contact_form(await request.form())
    if not form.ok:
        return common.render(request, "contact.html", 400, who=who, form=form)
    await common.store(request).set_account_contact(
        account.id, form.cleaned["contact_phone"], form.cleaned["contact_email"]
    )
    saved = FormResult({name: value or "" for name, value in form.cleaned.items()})
    return common.render(
        request,
        "contact.html",
        who=who,
        form=saved,
        flash=_("Je contactgegevens zijn opgeslagen."),
    )


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
    who = await common.signed_in_coordinator(request)
    notice = LIST_NOTICES.get(request.query_params.get("notice", ""), "")
    summaries = await common.store(request).conferences_for(who.account)
    on = followups.today()
    due = {}
    for summary in summaries:
        day = followups.due_after(summary.conference, summary.last_follow_up_at)
        if day is not None:
            due[summary.conference.id] = (day, schedule.standing(day, on))
    return common.render(
        request,
        "conferences/list.html",
        who=who,
        summaries=summaries,
        due=due,
        feed_url=calendar.account_url(common.settings(request), who.account),
        notice=notice,
    )


async def conference_new(request: Request) -> Response:
    who = await common.signed_in_coordinator(request)
    if request.method == "GET":
        return common.render(
            request, "conferences/form.html", who=who, conference=None, form=FormResult({})
        )
    form = conference_form(await request.form(), time_zone())
    if not form.ok:
        return common.render(
            request, "conferences/form.html", 400, who=who, conference=None, form=form
        )
    store = common.store(request)
    conference = await store.create_conference(who.account, **form.cleaned)
    await store.audit(conference.id, common.actor(who), "conference_created")
    return RedirectResponse(f"/conferences/{conference.id}", status_code=303)


async def conference_edit(request: Request) -> Response:
    who, conference = await common.own_conference(request)
    values = {
        "client_name": conference.client_name,
        "question": conference.question,
        "meeting_date": conference.meeting_date.isoformat() if conference.meeting_date else "",
        "start_time": _clock(conference.starts_at),
        "end_time": _clock(conference.ends_at),
        "location": conference.location,
        "address": conference.address,
    }
    if request.method == "GET":
        return common.render(
            request,
            "conferences/form.html",
            who=who,
            conference=conference,
            form=FormResult(values),
            **await checklist.proposals_context(request, conference),
        )
    submitted = await request.form()
    if "take_question" in submitted:  # "Voorstel uit het kompas": into the field, not saved
        chosen = common.text(submitted, "take_question")
        return await checklist.take_question(request, who, conference, chosen, values)
    form = conference_form(submitted, time_zone())
    if not form.ok:
        return common.render(
            request,
            "conferences/form.html",
            400,
            who=who,
            conference=conference,
            form=form,
            **await checklist.proposals_context(request, conference),
        )
    store = common.store(request)
    changed = sorted(k for k, v in form.cleaned.items() if getattr(conference, k) != v)
    await store.update_conference(conference.id, **form.cleaned)
    await store.audit(conference.id, common.actor(who), "conference_edited", {"fields": changed})
    return RedirectResponse(f"/conferences/{conference.id}", status_code=303)


def _clock(moment: datetime | None) -> str:
    """A stored moment as the form's time field shows it: HH:MM on the local clock."""
    return "" if moment is None else f"{moment.astimezone(time_zone()):%H:%M}"


async def erase_form(request: Request) -> Response:
    """ "Conferentie wissen": erase the conference for good, once the client's name is typed."""
    who, conference = await common.own_conference(request)
    if not auth.may_erase(who.account, conference):
        raise HTTPException(
            403,
            _(
                "Alleen de coördinator die deze conferentie begeleidt, of een beheerder, "
                "kan haar wissen."
            ),
        )
    typed = (await request.form()).get("confirm")
    typed = typed if isinstance(typed, str) else ""
    problem = ""
    if not typed.strip():
        problem = _(
            "Typ de naam van de cliënt om te bevestigen dat je deze conferentie wilt wissen. "
            "Er is niets gewist."
        )
    elif not erasure.same_name(typed, conference.client_name):
        problem = _("Dat is niet de naam van de cliënt van deze conferentie. Er is niets gewist.")
    if problem:
        return await participants_view(
            request, who, conference, status_code=400, erase_error=problem
        )
    try:
        result = await erasure.erase(
            common.store(request),
            conference.id,
            common.actor(who),
            hub=common.hub(request),
            events=common.events(request),
        )
    except NotFound:  # erased by someone else a moment ago
        raise HTTPException(404, _("Deze conferentie bestaat niet (meer).")) from None
    notice = "erased" if result.scrubbed.done else "erased_files_pending"
    return RedirectResponse(f"/conferences?notice={notice}", status_code=303)
