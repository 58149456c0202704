"""The presentation view: the family's plan on a big screen or a projector in the room,
large and numbered, following the live plan as the family edits it (``/c/{id}/present``).

Who may open it is its own row of the permission table (``phases.may_present``): from the
presentation on, for the coordinator and every participant, and never more than the viewer
may read of the plan. Elsewhere the page shows nothing of the plan (403) and reloads itself
when the phase changes. Its live connection is a read-only connection to the plan document,
so the phase change that closes the plan (back to private time) closes it too, and the page
clears what it showed (web/src/presentation.js).

A room that shares one screen may read two languages: ``?also=tr`` writes Kring's own words
(the title, the headings, the field labels) in the viewer's language and in Turkish side by
side. What the family wrote is shown once, as written.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from server import i18n
from server.conference.auth import Person
from server.i18n import _
from server.rules import phases
from server.rules.plan import schema as plan_schema
from server.views import common


def _in(language: str | None, message: str, **params: str) -> str:
    """``message`` in ``language`` as well (nothing without a second language)."""
    if language is None:
        return ""
    with i18n.using(language):
        return i18n.gettext(message, **params)


def _shows_plan(person: Person) -> bool:
    return phases.may_present(
        person.conference.phase, person.role, action_team_member=person.action_team_member
    )


def second_language(request: Request) -> str | None:
    """The second language asked for (``?also=``), or None: none, or the page's own."""
    asked = request.query_params.get("also", "")
    if not asked:
        return None
    if asked not in i18n.LANGUAGES:
        raise HTTPException(400, _("Kies een taal uit de lijst."))
    return None if asked == i18n.get_language() else asked


async def presentation_page(request: Request) -> Response:
    person = await common.person_of(request)
    also = second_language(request)
    conference = person.conference
    back = (
        f"/conferences/{conference.id}/console"
        if person.role == "coordinator"
        else f"/c/{conference.id}"
    )
    if not _shows_plan(person):
        title = (
            _("De familie maakt nu het plan")
            if conference.phase == "private_time"
            else _("Het plan is hier nog niet te zien")
        )
        response = common.render(
            request,
            "meeting/present.html",
            403,
            conference=conference,
            back=back,
            shown=False,
            title=title,
            reason=phases.plan_locked_reason(conference.phase)
            if conference.phase == "private_time"
            else _("Het plan verschijnt hier vanaf de presentatie."),
        )
    else:
        store = common.store(request)
        people = [
            row.participant
            for row in await store.participants(conference.id)
            if row.participant.role != "coordinator"
        ]
        await store.audit(conference.id, person.actor, "presentation_opened", coalesce=True)
        response = common.render(
            request,
            "meeting/present.html",
            conference=conference,
            back=back,
            shown=True,
            also=also,
            title_also=_in(also, "Plan van %(name)s", name=conference.client_name),
            config={
                "conference": conference.id,
                "also": also,
                "alsoDir": i18n.direction(also) if also else None,
                "people": {str(p.id): p.name for p in people},
                "schema": plan_schema(),
                # status and progress matter only from the action team on
                "followUp": conference.phase in ("action_team", "closed"),
            },
        )
    # It may hold the plan: no browser keeps it in its HTTP cache.
    response.headers["cache-control"] = "no-store"
    return response
