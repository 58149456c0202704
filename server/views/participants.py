"""The conference page: who takes part, their personal links (shown once, as a QR code
too, or printed as cards), their reminder addresses, and revoking or removing them; a
co-coordinator is added by their account."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import segno
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from server import i18n
from server.clock import time_zone
from server.conference import accounts, auth
from server.conference.refusals import FlowError
from server.i18n import N_, _
from server.rules import phases
from server.rules.audit import CHANNEL_LABELS
from server.rules.forms import FormResult, email_form, participant_form
from server.rules.phases import ROLES
from server.storage.models import Conference
from server.storage.store import NotFound, ParticipantRow, Reason, StoreError
from server.views import checklist, common, preparation


def _qr_svg(url: str, title: str) -> str:
    return str(segno.make(url, error="m").svg_inline(scale=5, border=2, title=title, omitsize=True))


async def participants_view(
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
    link_error: str = "",
    supporters_error: str = "",
    **extra: Any,
) -> Response:
    """The conference page, or just its participants section for an htmx swap. ``extra``:
    more for the page's parts (the practical side: ``practical_error``, ``notes``...)."""
    rows = await common.store(request).participants(conference.id)
    context: dict[str, Any] = {
        "who": who,
        "conference": conference,
        "rows": rows,
        "form": form or FormResult({"role": "network_member"}),
        "new_link": new_link,
        "flash": flash,
        "roles": ROLES,
        "email_error": email_error,  # (participant id, their refused email form)
        "may_erase": auth.may_erase(who.account, conference),
        "may_export": phases.coordinator_reads_plan(conference.phase),
        "erase_error": erase_error,
        "link_error": link_error,
        "supporters_error": supporters_error,
        **await preparation.detail_context(request, conference),
        **await checklist.page_context(request, conference, rows),
        "checklist_oob": common.is_htmx(request),  # the swap refreshes the checklist too
        **extra,
    }
    name = (
        "conferences/_participants.html" if common.is_htmx(request) else "conferences/detail.html"
    )
    return common.render(request, name, status_code, **context)


async def conference_detail(request: Request) -> Response:
    who, conference = await common.own_conference(request)
    return await participants_view(request, who, conference)


def _sign_out_live(request: Request, conference_id: str, participant_id: int, why: str) -> None:
    """Close the live documents of devices whose link stopped working (at once, not at the
    next reconnect). ``why`` is a Dutch message id, told to each device in its own language."""
    common.hub(request).drop_participant(conference_id, participant_id, why)


async def _link_payload(
    request: Request,
    conference_id: str,
    participant_id: int,
    name: str,
    role: str,
    channel: str = "message",
) -> dict[str, Any]:
    # One more link, handed out by ``channel``: the person's other links (and devices) keep
    # working. In private time whoever opens it waits until the family lets them in.
    url = await auth.issue_link(
        common.store(request), common.settings(request), participant_id, channel
    )
    return {
        "participant_id": participant_id,
        "name": name,
        "role": role,
        "url": url,
        "qr": _qr_svg(url, _("Persoonlijke link van %(name)s", name=name)),
    }


async def participant_add(request: Request) -> Response:
    who, conference = await common.own_conference(request)
    form = participant_form(await request.form())
    store = common.store(request)
    if form.ok and form.cleaned["role"] == "coordinator":
        return await _add_coordinator(request, who, conference, form)
    if not form.ok:
        return await participants_view(request, who, conference, status_code=400, form=form)
    participant = await store.add_participant(
        conference.id,
        form.cleaned["name"],
        form.cleaned["role"],
        email=form.cleaned["email"],
        language=form.cleaned["language"],
    )
    await store.audit(
        conference.id,
        common.actor(who),
        "participant_added",
        {"participant_id": participant.id, "role": participant.role},
    )
    link = await _link_payload(
        request, conference.id, participant.id, participant.name, participant.role
    )
    return await participants_view(
        request,
        who,
        conference,
        new_link=link,
        flash=_("%(name)s is toegevoegd.", name=participant.name),
    )


async def _add_coordinator(
    request: Request, who: auth.CoordinatorIdentity, conference: Conference, form: FormResult
) -> Response:
    """A co-coordinator logs in with their own account; they get no link. Someone without
    an account is invited to make one, and joins once they have."""
    store = common.store(request)
    account = await store.account_by_email(form.cleaned["email"])
    if account is None:
        return await _invite_coordinator(request, who, conference, form)
    if any(r.participant.account_id == account.id for r in await store.participants(conference.id)):
        form.errors["email"] = _(
            "%(name)s is al coördinator van deze conferentie.", name=account.name
        )
    if form.errors:
        return await participants_view(request, who, conference, status_code=400, form=form)
    participant = await store.add_participant(
        conference.id, account.name, "coordinator", account_id=account.id
    )
    await store.audit(
        conference.id,
        common.actor(who),
        "participant_added",
        {"participant_id": participant.id, "role": "coordinator"},
    )
    return await participants_view(
        request,
        who,
        conference,
        flash=_(
            "%(name)s is nu ook coördinator van deze conferentie (eigen account).",
            name=account.name,
        ),
    )


async def _invite_coordinator(
    request: Request, who: auth.CoordinatorIdentity, conference: Conference, form: FormResult
) -> Response:
    name = form.values["name"].strip()
    if not name or len(name) > 200:
        form.errors["name"] = _(
            "Er is nog geen account met dit e-mailadres. Vul ook de naam in: dan krijgt deze "
            "coördinator een uitnodiging."
        )
        return await participants_view(request, who, conference, status_code=400, form=form)
    settings = common.settings(request)
    try:
        made = await accounts.invite_co_coordinator(
            common.store(request), settings, who.account, conference.id, form.cleaned["email"], name
        )
    except FlowError as error:
        form.errors["email"] = error.message
        return await participants_view(request, who, conference, status_code=400, form=form)
    return await participants_view(
        request,
        who,
        conference,
        flash=_(
            "%(name)s is uitgenodigd. Zodra %(name)s een wachtwoord heeft gekozen, is %(name)s "
            "ook coördinator van deze conferentie.",
            name=name,
        ),
        account_link=made,
    )


async def _target_participant(
    request: Request, *, link: bool = True
) -> tuple[auth.CoordinatorIdentity, Conference, Any]:
    """The participant in the URL; ``link`` actions do not apply to coordinators."""
    who, conference = await common.own_conference(request)
    participant_id = common.number_in_path(
        request, "participant_id", _("Deze deelnemer bestaat niet.")
    )
    participant = await common.store(request).participant(conference.id, participant_id)
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
    await common.store(request).audit(
        conference.id,
        common.actor(who),
        "link_issued",
        {"participant_id": participant.id, "channel": "message"},
    )
    return await participants_view(
        request,
        who,
        conference,
        new_link=link,
        flash=_(
            "Nieuwe link voor %(name)s, om per bericht te sturen. Eerdere links blijven "
            "werken; een link beëindigen doe je per link in de lijst.",
            name=participant.name,
        ),
    )


async def participant_email(request: Request) -> Response:
    """Set or clear the address a participant's reminders go to."""
    who, conference, participant = await _target_participant(request)
    form = email_form(await request.form())
    if not form.ok:
        return await participants_view(
            request, who, conference, status_code=400, email_error=(participant.id, form)
        )
    store = common.store(request)
    try:
        await store.set_participant_email(conference.id, participant.id, form.cleaned["email"])
    except NotFound:
        raise HTTPException(404, _("Deze deelnemer staat niet (meer) op de lijst.")) from None
    await store.audit(
        conference.id, common.actor(who), "email_changed", {"participant_id": participant.id}
    )
    flash = (
        _("Het e-mailadres van %(name)s is opgeslagen.", name=participant.name)
        if form.cleaned["email"]
        else _("%(name)s krijgt geen herinneringen meer per e-mail.", name=participant.name)
    )
    return await participants_view(request, who, conference, flash=flash)


async def participant_revoke(request: Request) -> Response:
    who, conference, participant = await _target_participant(request)
    store = common.store(request)
    await store.revoke_invitation(participant.id)
    _sign_out_live(request, conference.id, participant.id, N_("Je link werkt niet meer."))
    await store.audit(
        conference.id, common.actor(who), "link_revoked", {"participant_id": participant.id}
    )
    return await participants_view(
        request,
        who,
        conference,
        flash=_(
            "Geen enkele link van %(name)s werkt nog, op geen enkel apparaat.",
            name=participant.name,
        ),
    )


def _when(moment: datetime) -> str:
    # As the participant list and its confirmation show it: on the local clock.
    return i18n.format_moment(moment, time_zone())


async def participant_end_link(request: Request) -> Response:
    """End one of a person's links (the one the coordinator chose); their other links, and
    the devices signed in with those, keep working."""
    who, conference, participant = await _target_participant(request)
    invitation_id = common.integer(request.path_params["invitation_id"])
    store = common.store(request)
    try:
        if invitation_id is None:
            raise NotFound(Reason.NO_LINK)
        link, ended = await auth.end_link(store, conference.id, participant.id, invitation_id)
    except NotFound:
        return await participants_view(
            request,
            who,
            conference,
            status_code=404,
            link_error=_(
                "Deze link bestaat niet of is niet van %(name)s. Er is geen link beëindigd.",
                name=participant.name,
            ),
        )
    except StoreError:
        return await participants_view(
            request,
            who,
            conference,
            status_code=409,
            link_error=_("Deze link van %(name)s werkte al niet meer.", name=participant.name),
        )
    common.hub(request).end_sessions(ended, N_("Je link werkt niet meer."))
    await store.audit(
        conference.id,
        common.actor(who),
        "link_ended",
        {"participant_id": participant.id, "invitation_id": link.id, "channel": link.channel},
    )
    return await participants_view(
        request,
        who,
        conference,
        flash=_(
            "De link van %(name)s (%(channel)s, gemaakt %(when)s) werkt niet meer. De andere "
            "links van %(name)s blijven werken.",
            name=participant.name,
            channel=CHANNEL_LABELS[link.channel],
            when=_when(link.created_at),
        ),
    )


async def participant_remove(request: Request) -> Response:
    who, conference, participant = await _target_participant(request, link=False)
    store = common.store(request)
    try:
        await store.remove_participant(conference.id, participant.id)
    except NotFound:
        raise HTTPException(404, _("Deze deelnemer staat niet (meer) op de lijst.")) from None
    why = N_("Je staat niet meer op de lijst.")
    if participant.account_id is not None:  # a co-coordinator: their login goes on elsewhere
        common.hub(request).drop_account(conference.id, participant.account_id, why)
    else:
        _sign_out_live(request, conference.id, participant.id, why)
    await store.audit(
        conference.id, common.actor(who), "participant_removed", {"participant_id": participant.id}
    )
    return await participants_view(
        request,
        who,
        conference,
        flash=_("%(name)s is van de lijst gehaald.", name=participant.name),
    )


async def invitation_cards(request: Request) -> Response:
    """Choose whose cards to print (GET), then give each chosen person one more link, handed
    out on a card, as a printable sheet (POST). Nobody's earlier links end."""
    who, conference = await common.own_conference(request)
    rows = [
        r
        for r in await common.store(request).participants(conference.id)
        if r.participant.role != "coordinator"
    ]
    if request.method == "GET":
        return common.render(
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
        return common.render(
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
            request, conference.id, r.participant.id, r.participant.name, r.participant.role, "card"
        )
        for r in selected
    ]
    await common.store(request).audit(
        conference.id,
        common.actor(who),
        "cards_printed",
        {"participant_ids": [c["participant_id"] for c in cards]},
    )
    return common.render(
        request,
        "conferences/cards_sheet.html",
        who=who,
        conference=conference,
        cards=cards,
        coordinator=await common.store(request).account(conference.owner_id),
    )
