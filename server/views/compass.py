"""The network compass: its page (``/c/{id}/compass``, written live by the client and the
supporters in the preparation), and what the participant's page shows of it (choosing the
supporters: ``views/supporters.py``).

Who may read or write the compass is asked of ``server/rules/phases.py``, like every
websocket: the page is never more than the person's cell of the compass table.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.conference import auth
from server.i18n import _
from server.rooms.hub import RoomUnavailable
from server.rules import phases
from server.rules.compass import ANSWERS, read_compass, schema
from server.rules.plan import LIFE_AREAS
from server.storage.models import Conference, Participant
from server.views import common


def compass_access(person: auth.Person) -> phases.Access:
    return phases.access(
        person.conference.phase, person.role, "compass", supporter=person.supporter
    )


async def compass_page(request: Request) -> Response:
    """The compass, for whoever may read it now; written live where they may write it."""
    person = await common.person_of(request)
    conference = person.conference
    allowed = compass_access(person)
    if allowed == phases.Access.NONE:
        reason = phases.refusal_reason(
            conference.phase, "compass", role=person.role, supporter=person.supporter
        )
        title = _("Het netwerkkompas is niet voor jou open")
        return common.live_page_refused(request, person, title, reason)
    writable = allowed >= phases.Access.WRITE
    read_only = "" if writable else phases.compass_read_only_reason(conference.phase, person.role)
    try:
        state = await common.hub(request).document_state(conference.id, "compass")
    except RoomUnavailable:
        state = b""
    config = {
        "conference": conference.id,
        "writable": writable,
        "me": {
            "id": common.device_person(person),
            "name": person.name,
            "role": person.role,
        },
        "schema": schema(),
    }
    await common.audit_viewed(request, person, "compass", "compass")
    response = common.render(
        request,
        "compass/compass.html",
        conference=conference,
        person=person,
        writable=writable,
        read_only_reason=read_only,
        compass=read_compass(state),
        answers=ANSWERS,
        life_areas=LIFE_AREAS,
        back=(
            f"/conferences/{conference.id}"
            if person.role == "coordinator"
            else f"/c/{conference.id}"
        ),
        config=config,
    )
    # The page holds the client's words: a shared tablet's browser must not keep it in its
    # HTTP cache (the offline copy is the service worker's; "forget this device" clears it).
    response.headers["cache-control"] = "no-store"
    return response


# -- on the participant's page ------------------------------------------------------------------


def landing_context(
    conference: Conference, me: Participant, everyone: list[Participant]
) -> dict[str, Any]:
    """What the participant's page shows of the compass: a link for whoever may read it, and
    for the client the network members to choose supporters from."""
    allowed = phases.access(conference.phase, me.role, "compass", supporter=me.supporter)
    return {
        "compass_access": int(allowed),
        "network_members": [p for p in everyone if p.role == "network_member"],
    }
