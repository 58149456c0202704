"""The client's own copy of their network compass, from their page:
``/c/{id}/compass/compass.json`` (the compass as plain data) and ``/c/{id}/compass/compass.pdf``
(printable, with the map drawn), in the reader's language.

Who may have it is asked of ``server/rules/phases.py`` like every websocket of the compass:
whoever may read the compass now (the client and the supporters they chose; the coordinator
only in the preparation). Everyone else gets a 403 page without a word of it. Each download
is audited (``compass_downloaded``: which format, never what it holds).
"""

from __future__ import annotations

import json
from datetime import datetime

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from server import i18n, metrics
from server.clock import time_zone
from server.conference import auth
from server.formats import printing
from server.i18n import _
from server.rooms.hub import RoomUnavailable
from server.rules import phases
from server.rules.compasscopy import compass_copy, compass_file
from server.storage.models import utcnow
from server.views import common, compass


async def _asker(request: Request) -> auth.Person | Response:
    """Who asks, if they may read the compass now (else 403)."""
    person = await common.person_of(request)
    if compass.compass_access(person) < phases.Access.READ:
        return common.error_page(
            request,
            403,
            _("Het netwerkkompas is niet voor jou open"),
            phases.refusal_reason(
                person.conference.phase, "compass", role=person.role, supporter=person.supporter
            ),
        )
    return person


async def _reader(request: Request) -> tuple[auth.Person, bytes, datetime] | Response:
    """Who asks, the compass's state and the moment, if they may read it now (else 403)."""
    person = await _asker(request)
    if isinstance(person, Response):
        return person
    conference = person.conference
    try:
        state = await common.hub(request).document_state(conference.id, "compass")
    except RoomUnavailable:
        reason = _("Het netwerkkompas kan nu niet gelezen worden. Probeer het zo opnieuw.")
        raise HTTPException(503, reason) from None
    return person, state, utcnow()


async def compass_json(request: Request) -> Response:
    found = await _reader(request)
    if isinstance(found, Response):
        return found
    person, state, now = found
    data = compass_file(state, person.conference.client_name, now)
    await common.store(request).audit(
        person.conference.id, person.actor, "compass_downloaded", {"format": "json"}, coalesce=True
    )
    content = json.dumps(data, ensure_ascii=False, indent=2).encode()
    return common.download(content, "application/json", _("netwerkkompas.json"))


async def compass_pdf(request: Request) -> Response:
    found = await _reader(request)
    if isinstance(found, Response):
        return found
    person, state, now = found
    copy = compass_copy(state, person.conference.client_name, now)
    heavy = common.heavy(request)
    async with heavy.slot(f"compass copy of conference {person.conference.id}"):
        # Asked again once a slot is free and once the copy is made: meanwhile the conference
        # may have begun to be erased, or the asker been taken off the supporters.
        if isinstance(asked := await _asker(request), Response):
            return asked
        with metrics.heavy("compass pdf"):
            document = await heavy.run(printing.compass_pdf, copy, time_zone(), i18n.get_language())
    if isinstance(asked := await _asker(request), Response):
        return asked
    person = asked
    await common.store(request).audit(
        person.conference.id, person.actor, "compass_downloaded", {"format": "pdf"}, coalesce=True
    )
    return common.download(document, "application/pdf", _("netwerkkompas.pdf"))
