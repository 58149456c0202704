"""The practical side, noted by the coordinator on the conference page: per person the
interpreter and, for a child, the age and who supports the child at the meeting
(``POST /conferences/{id}/participants/{pid}/practical``); per conference food, childcare
and who brings whom (``POST /conferences/{id}/practical``). A refused form is shown again
with what was typed and a 400 naming the field; nothing is stored then."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from server.i18n import _
from server.rules import practical
from server.storage.models import Participant
from server.storage.store import NotFound
from server.views import common
from server.views.participants import participants_view


def as_person(p: Participant) -> practical.Person:
    return practical.Person(p.id, p.name, p.role, p.age, p.supported_by_id)


async def person_practical(request: Request) -> Response:
    who, conference = await common.own_conference(request)
    gone = _("Deze deelnemer staat niet (meer) op de lijst.")
    participant_id = common.number_in_path(request, "participant_id", gone)
    store = common.store(request)
    people = [as_person(row.participant) for row in await store.participants(conference.id)]
    me = next((p for p in people if p.id == participant_id), None)
    if me is None:
        raise HTTPException(404, gone)
    if me.role == "coordinator":
        raise HTTPException(
            409, _("Het praktische noteer je voor de deelnemers; een coördinator heeft dat niet.")
        )
    form = practical.person_form(await request.form(), me, people)
    if form.ok:
        try:
            await store.set_participant_practical(conference.id, me.id, **form.cleaned)
        except NotFound:
            if await store.participant(conference.id, me.id) is None:
                raise HTTPException(404, gone) from None
            # the supporter was taken off the list (or became a child) a moment ago
            form.errors["supported_by"] = _(
                "'%(field)s': die persoon staat niet meer op de lijst of is een kind; kies "
                "opnieuw.",
                field=_(practical.PRACTICAL_LABELS["supported_by"]),
            )
    if not form.ok:
        return await participants_view(
            request, who, conference, status_code=400, practical_error=(me.id, form)
        )
    await store.audit(
        conference.id, common.actor(who), "practical_changed", {"participant_id": me.id}
    )
    return await participants_view(
        request,
        who,
        conference,
        flash=_("Het praktische van %(name)s is opgeslagen.", name=me.name),
    )


async def conference_practical(request: Request) -> Response:
    who, conference = await common.own_conference(request)
    form = practical.notes_form(await request.form())
    if not form.ok:
        return await participants_view(request, who, conference, status_code=400, notes=form)
    store = common.store(request)
    try:
        await store.set_practical_notes(conference.id, **form.cleaned)
    except NotFound:
        raise HTTPException(404, _("Deze conferentie bestaat niet (meer).")) from None
    await store.audit(conference.id, common.actor(who), "practical_notes_changed")
    conference = await store.conference(conference.id) or conference
    return await participants_view(
        request,
        who,
        conference,
        notes_flash=_("Eten, opvang en vervoer zijn opgeslagen."),
    )
