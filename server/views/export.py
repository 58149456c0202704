"""A conference's export for the coordinator who runs it: ``GET /conferences/{id}/export.zip``
(what the zip holds is ``server/conference/export.py``'s)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from server.conference import export
from server.i18n import _
from server.rooms.hub import RoomUnavailable
from server.views import common


async def export_zip(request: Request) -> Response:
    person = await common.coordinator_person(request)
    conference = person.conference
    try:
        archive = await export.build(
            common.store(request), common.hub(request).document_state, conference
        )
    except export.ExportRefused as exc:
        raise HTTPException(409, exc.reason) from None
    except RoomUnavailable:
        raise HTTPException(
            503, _("De gegevens kunnen nu niet gelezen worden. Probeer het zo opnieuw.")
        ) from None
    await common.store(request).audit(
        conference.id, person.actor, "conference_exported", {"bytes": len(archive)}
    )
    return Response(
        archive,
        media_type="application/zip",
        headers={
            "content-disposition": f'attachment; filename="kring-{conference.id}.zip"',
            "cache-control": "private, no-store",
        },
    )
