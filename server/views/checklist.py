"""The preparation on the coordinator's pages: the checklist on the conference page (what
is done, what is still open, and where to do it) and the "proposal from the compass" on the
conference form (the questions the client marked, to take over as the conference question).

What the checklist counts is ``server/rules/preparation.py``'s; what it reads of the compass
is asked of the permission table (``conference/compassfeed.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.conference import auth, compassfeed
from server.i18n import _
from server.rules import practical, preparation
from server.rules.forms import FormResult
from server.storage.models import Conference
from server.storage.store import ParticipantRow
from server.views import common


def person_facts(row: ParticipantRow) -> preparation.PersonFacts:
    p = row.participant
    return preparation.PersonFacts(
        id=p.id,
        name=p.name,
        role=p.role,
        has_link=row.has_link,
        interpreter_language=p.interpreter_language,
        interpreter_arranged=p.interpreter_arranged,
        age=p.age,
        supported_by=p.supported_by_id,
        supporter=p.supporter,
        invitation_status=p.invitation_status,
    )


async def page_context(
    request: Request, conference: Conference, rows: Sequence[ParticipantRow]
) -> dict[str, Any]:
    """What the conference page shows of the preparation: the practical notes as their form
    holds them, the checklist (in preparation only; else None) and how many items are open."""
    notes = FormResult({name: getattr(conference, name) for name in practical.NOTES_FIELDS})
    return {"notes": notes, **await checklist_context(request, conference, rows)}


async def checklist_context(
    request: Request, conference: Conference, rows: Sequence[ParticipantRow]
) -> dict[str, Any]:
    if conference.phase != "preparation":
        return {"checklist": None, "checklist_open": 0}
    marked = await compassfeed.proposals(common.hub(request), conference, "coordinator")
    facts = preparation.PreparationFacts(
        meeting_date=conference.meeting_date is not None,
        times=conference.starts_at is not None and conference.ends_at is not None,
        place=bool(conference.location or conference.address),
        question=conference.question,
        people=[person_facts(r) for r in rows if r.participant.role != "coordinator"],
        marked_questions=None if marked is None else len(marked),
        food_notes=conference.food_notes,
        childcare_notes=conference.childcare_notes,
    )
    items = preparation.checklist(facts)
    return {"checklist": items, "checklist_open": len(preparation.open_items(items))}


# -- the conference question, proposed from the compass ----------------------------------------


async def proposals_context(request: Request, conference: Conference) -> dict[str, Any]:
    """The questions marked for the conference, for the conference form (in preparation,
    while the permission table lets the coordinator read the compass; else none)."""
    marked = await compassfeed.proposals(common.hub(request), conference, "coordinator")
    return {"compass_proposals": marked or []}


async def take_question(
    request: Request,
    who: auth.CoordinatorIdentity,
    conference: Conference,
    chosen: str,
    values: dict[str, str],
) -> Response:
    """The conference form again, with the chosen question from the compass in the question
    field (nothing is stored until the coordinator saves the form)."""
    context = await proposals_context(request, conference)
    found = next((q for q in context["compass_proposals"] if q["id"] == chosen), None)
    if found is None:
        return common.render(
            request,
            "conferences/form.html",
            409,
            who=who,
            conference=conference,
            form=FormResult(values),
            proposal_error=_(
                "Deze vraag staat niet (meer) in het kompas als vraag voor de conferentie. "
                "Er is niets overgenomen."
            ),
            **context,
        )
    return common.render(
        request,
        "conferences/form.html",
        who=who,
        conference=conference,
        form=FormResult({**values, "question": found["text"]}),
        taken=_(
            "De vraag uit het kompas staat in het veld 'Conferentievraag'. Pas hem zo nodig "
            "aan en sla op; tot dan is er niets veranderd."
        ),
        **context,
    )
