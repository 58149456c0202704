"""What the pages show of the preparation's invitations: on the coordinator's conference page
the people on the network map and the family's proposals, on a person's own page their answer,
who is invited and (for the family) their proposals.

Each builder reads what a refused form left on ``request.state`` (the refusal and what was
typed), so the page shown again with a 400 keeps it next to the field.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from server.conference.invitations import Invitations
from server.rules import invitations, phases
from server.rules.forms import FormResult
from server.storage.models import Conference, Participant, utcnow
from server.views import common


def invitations_of(request: Request) -> Invitations:
    return Invitations(common.store(request), common.hub(request), common.events(request))


def _state(request: Request, name: str, default: Any) -> Any:
    return getattr(request.state, name, default)


async def detail_context(request: Request, conference: Conference) -> dict[str, Any]:
    """For the coordinator's conference page (and its participants section)."""
    tracking = phases.may("track_invitations", conference.phase, "coordinator")
    map_people = await invitations_of(request).map_people(conference)
    store = common.store(request)
    proposals = await store.proposals(conference.id) if tracking else []
    return {
        "map_people": map_people,
        "proposals": proposals,
        "may_track_invitations": tracking,
        "shows_invitations": conference.phase in ("preparation", "information"),
        "proposal_roles": invitations.PROPOSAL_ROLES,
        "invitation_error": _placed(
            _state(request, "invitation_error", None),
            {f"map-{person.entry.id}" for person in map_people or ()}
            | {f"proposal-{p.id}" for p, _who in proposals if p.decision is None}
            | {
                f"{field}-{row.participant.id}"
                for row in await store.participants(conference.id)
                for field in ("status", "note")
            },
        ),
        "invitation_typed": _state(request, "invitation_typed", {}),
    }


def _placed(error: tuple[str, str] | None, shown: set[str]) -> tuple[str, str] | None:
    """A refused form's (what it was about, the reason): beside its own item when the page
    shows that item ("map-oma"), else at the top of its section ("map")."""
    if error is None or error[0] in shown:
        return error
    return error[0].partition("-")[0], error[1]


async def landing_context(
    request: Request, conference: Conference, me: Participant
) -> dict[str, Any]:
    """For a person's own page: in the preparation, their answer; for the family also who
    is invited (names, roles, answers: never the coordinator's notes) and their proposals."""
    if conference.phase != "preparation" or me.role == "coordinator":
        return {"invitation": None, "invited_people": None}
    now = utcnow()
    may_answer = invitations.may_answer(conference.phase, me.role, conference.starts_at, now)
    context: dict[str, Any] = {
        "invitation": {
            "status": me.invitation_status,
            "answered": me.invitation_answered_at is not None,
            "may_answer": may_answer,
            "closed": ""
            if may_answer
            else invitations.answer_closed_reason(conference.phase, conference.starts_at, now),
        },
        "invited_people": None,
    }
    if not phases.may("propose_invitee", conference.phase, me.role):
        return context
    store = common.store(request)
    rows = await store.participants(conference.id)
    context["invited_people"] = [r.participant for r in rows if r.participant.role != "coordinator"]
    context["my_proposals"] = [
        proposal for proposal, _who in await store.proposals(conference.id, proposed_by=me.id)
    ]
    context["proposal_form"] = _state(request, "proposal_form", None) or FormResult({})
    context["max_open_proposals"] = invitations.MAX_OPEN_PROPOSALS
    return context
