"""Choosing the client's supporters (who fill in the network compass with the client): by
the client on their own page, or by the coordinator on the participant list together with the
client (the form asks them to confirm that). The use case is ``conference/supporters.py``."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from server.conference.refusals import FlowError
from server.conference.supporters import Supporters
from server.i18n import N_, _
from server.views import common, participant, participants


def supporters(request: Request) -> Supporters:
    return Supporters(common.store(request), common.hub(request), common.events(request))


class BadChoice(Exception):
    """The form named someone in a way that is no participant id at all."""


def _chosen(form: FormData) -> set[int]:
    """The participant ids ticked as supporters; anything that is not an id is refused (not
    ignored: the person is told, and nothing changes)."""
    chosen = set()
    for value in form.getlist("supporter"):
        number = common.integer(value)
        if number is None:
            raise BadChoice
        chosen.add(number)
    return chosen


BAD_CHOICE = N_("Steunpersonen: kies mensen uit de lijst van netwerkleden.")


async def client_supporters_form(request: Request) -> Response:
    """The client chooses their supporters on their own page."""
    person = await common.person_of(request)
    try:
        chosen = _chosen(await request.form())
    except BadChoice:
        return await participant.participant_page(request, _(BAD_CHOICE), 400)
    try:
        await supporters(request).choose(person, chosen)
    except FlowError as exc:
        return await participant.participant_page(request, exc.message, common.STATUS[exc.kind])
    return RedirectResponse(f"/c/{person.conference.id}#supporters-title", status_code=303)


async def coordinator_supporters_form(request: Request) -> Response:
    """The coordinator sets the supporters on the participant list, together with the client
    (the form's tick says so)."""
    who, conference = await common.own_conference(request)
    person = await common.coordinator_person(request)
    form = await request.form()
    together = form.get("with_client") == "yes"
    try:
        chosen = _chosen(form)
        change = await supporters(request).choose(person, chosen, with_client=together)
    except BadChoice:
        return await participants.participants_view(
            request, who, conference, status_code=400, supporters_error=_(BAD_CHOICE)
        )
    except FlowError as exc:
        return await participants.participants_view(
            request,
            who,
            conference,
            status_code=common.STATUS[exc.kind],
            supporters_error=exc.message,
        )
    flash = _("De steunpersonen zijn opgeslagen.")
    if not change.supporters:
        flash = _("Er zijn nu geen steunpersonen.")
    return await participants.participants_view(request, who, conference, flash=flash)
