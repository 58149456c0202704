"""The network map's page, ``/c/{id}/compass/map``: the ecogram the client and the supporters
build together live in the ``compass`` document (web/src/networkmap.js draws and edits it),
and that the coordinator reads along with in the preparation.

Whether someone may open it, and whether they may change it, is the compass's cell of the
permission table (``rules/phases.py``), as for its websocket: the page only mirrors it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server.conference import auth
from server.i18n import _
from server.rooms.hub import RoomUnavailable
from server.rules import networkmap, phases
from server.views import common


def compass_access(person: auth.Person) -> phases.Access:
    return phases.access(
        person.conference.phase, person.role, "compass", supporter=person.supporter
    )


def compass_closed(request: Request, person: auth.Person) -> Response:
    """403: the compass is not this person's to see now, with the table's reason."""
    phase = person.conference.phase
    return common.live_page_refused(
        request,
        person,
        _("De netwerkkaart is niet voor jou open"),
        phases.refusal_reason(phase, "compass", role=person.role, supporter=person.supporter),
    )


async def map_page(request: Request) -> Response:
    person = await common.person_of(request)
    allowed = compass_access(person)
    if allowed < phases.Access.READ:
        return compass_closed(request, person)
    conference = person.conference
    writable = allowed >= phases.Access.WRITE
    try:  # what the page shows before its script runs (and without one)
        entries = networkmap.read_map(
            await common.hub(request).document_state(conference.id, "compass")
        )
    except RoomUnavailable:
        entries = []
    labels = networkmap.legend_labels()
    config = {
        "conference": conference.id,
        "writable": writable,
        "me": {
            "id": common.device_person(person),
            "name": person.name,
            "role": person.role,
        },
        "client_name": conference.client_name,
        "schema": networkmap.schema(),
        "labels": labels,
        # Entries the coordinator made participants: marked "uitgenodigd" on the map.
        "invited": sorted(
            row.participant.map_entry
            for row in await common.store(request).participants(conference.id)
            if row.participant.map_entry
        ),
    }
    await common.audit_viewed(request, person, "compass", "map")
    response = common.render(
        request,
        "compass/map.html",
        conference=conference,
        person=person,
        writable=writable,
        read_only_reason=""
        if writable
        else phases.compass_read_only_reason(conference.phase, person.role),
        entries=[(entry, networkmap.describe(entry, labels)) for entry in entries],
        kinds=networkmap.KINDS,
        ties=networkmap.TIES,
        flows=networkmap.FLOWS,
        rings=networkmap.RINGS,
        marks=networkmap.MARKS,
        schema=config["schema"],
        config=config,
    )
    # The page holds the family's words: a shared tablet's browser must not keep it in its
    # HTTP cache (the offline copy is the service worker's, and "forget this device" clears it).
    response.headers["cache-control"] = "no-store"
    return response
