"""The live-document websocket: ``/ws/{conference_id}/{document}``.

Who is connecting is settled at the upgrade, before a single sync byte: the participant's
session cookie (or the coordinator's) and the Origin (checked by the security middleware).
A refusal is an accepted websocket closed at once with 4403 and a reason a person can read
(a close before accept reaches a browser only as 1006, without the reason).
"""

from __future__ import annotations

import logging
import time

from starlette.websockets import WebSocket, WebSocketState

from server import i18n
from server.conference import auth
from server.i18n import _
from server.rooms.connection import Peer
from server.rooms.protocol import CloseCode
from server.rules.phases import DOCUMENTS, Access, connection_access, refusal_reason
from server.storage.store import DatabaseError
from server.views import common, identity

log = logging.getLogger("kring.rooms")


async def live_document(websocket: WebSocket) -> None:
    try:
        admitted = await _admit(websocket)
        if admitted is not None:
            peer, phase = admitted
            await common.hub(websocket).serve(
                websocket,
                websocket.path_params["conference_id"],
                websocket.path_params["document"],
                peer,
                phase,
                wants_saved=websocket.query_params.get("saved") == "1",
            )
    except DatabaseError as exc:  # before accept, this would be an HTTP 500 (1006 for a browser)
        log.error("websocket %s refused: the database failed: %s", websocket.url.path, exc)
        if websocket.client_state == WebSocketState.CONNECTING:
            await websocket.accept()
            reason = _("De server kan nu niet bij zijn gegevens.")
            await websocket.close(CloseCode.INTERNAL_ERROR, reason)


async def _admit(websocket: WebSocket) -> tuple[Peer, str] | None:
    """Who this is and in which phase they may connect, the join audited and the websocket
    accepted; or None, the websocket refused. What was looked up on the way (the person, their
    conference and account) is left behind: the connection keeps only its ``Peer``."""
    settings, store = common.settings(websocket), common.store(websocket)
    conference_id: str = websocket.path_params["conference_id"]
    document: str = websocket.path_params["document"]

    async def refuse(reason: str) -> None:
        await websocket.accept()
        await websocket.close(CloseCode.FORBIDDEN, reason)

    if document not in DOCUMENTS:
        await refuse(_("Dit document bestaat niet."))
        return None
    checked_at = time.monotonic()  # what ends from now on keeps this device out
    person = await identity.person_in(store, settings, websocket, conference_id)
    if isinstance(person, auth.NotAllowed):
        await refuse(person.reason)
        return None
    peer = Peer(
        person.participant_id,
        person.role,
        person.name,
        person.action_team_member,
        language=i18n.get_language(),  # the person's, set when they were recognised
        session_id=person.session_id,
        account_id=person.account.id if person.account is not None else None,
        checked_at=checked_at,
        # ?view=present: the presentation view, which reads by its own row of the table
        presenting=websocket.query_params.get("view") == "present",
        supporter=person.supporter,
    )
    phase, actor = person.conference.phase, person.actor
    allowed = connection_access(
        phase,
        peer.role,
        document,
        action_team_member=peer.action_team_member,
        supporter=peer.supporter,
        presenting=peer.presenting,
    )
    if allowed == Access.NONE:
        await store.audit(
            conference_id,
            actor,
            "room_refused",
            {"document": document, "phase": phase},
            coalesce=True,
        )
        await refuse(refusal_reason(phase, document, role=peer.role, supporter=peer.supporter))
        return None
    # To read or to write, as the permission table lets this device now (the access report).
    how = "write" if allowed >= Access.WRITE else "read"
    detail = {"document": document, "access": how}
    await store.audit(conference_id, actor, "room_joined", detail, coalesce=True)
    await websocket.accept()
    return peer, phase
