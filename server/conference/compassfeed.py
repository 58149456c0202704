"""The compass feeds the meeting, and gives it nothing more than that:

- when the meeting begins (preparation to information), the questions the client marked for
  the conference are copied into rows of their own, which the meeting shows to everyone (the
  rest of the compass stays the client's, under the permission table);
- in preparation, while the coordinator may read the compass, those questions are offered
  on the conference form to take over as the conference question;
- the plan editor offers the life areas with the client's priorities first: only their
  order leaves the compass.
"""

from __future__ import annotations

import logging
from typing import Any

from server.rooms.hub import RoomHub, RoomUnavailable
from server.rules import phases, preparation
from server.rules.compass import read_compass
from server.rules.plan import LIFE_AREAS
from server.storage.models import Conference
from server.storage.store import Store

log = logging.getLogger("kring.compassfeed")


async def _stored_compass(hub: RoomHub, conference_id: str) -> dict[str, Any]:
    """The compass as committed (the database's, never one process's replica, which may lag
    behind an edit another process committed)."""
    return read_compass(await hub.log.state(conference_id, "compass"))


async def copy_marked_questions(store: Store, hub: RoomHub, conference_id: str, actor: str) -> int:
    """Copy the questions marked for the conference, once (a conference that has them keeps
    them). Called when the meeting leaves the preparation, after the compass closed to
    writing, so what is copied is the compass's last word. Returns how many were copied."""
    try:
        marked = preparation.marked_questions(await _stored_compass(hub, conference_id))
        texts = [question["text"] for question in marked]
        added = await store.copy_conference_questions(conference_id, texts)
    except Exception:  # the phase change stands; the log says what went wrong
        log.exception("%s: the compass's questions could not be copied", conference_id)
        return 0
    if added:
        await store.audit(conference_id, actor, "conference_questions_copied", {"count": added})
    return added


async def proposals(hub: RoomHub, conference: Conference, role: str) -> list[dict[str, str]] | None:
    """The questions marked for the conference (``{"id", "text"}``), for ``role`` to take
    over as the conference question; None when the compass is not theirs to read now (the
    permission table), or cannot be read."""
    if phases.access(conference.phase, role, "compass") < phases.Access.READ:
        return None
    try:
        compass = read_compass(await hub.document_state(conference.id, "compass"))
    except RoomUnavailable:
        return None
    return preparation.marked_questions(compass)


async def area_order(hub: RoomHub, conference_id: str) -> list[str]:
    """Every life area, the client's priorities first (else the usual order)."""
    try:
        compass = read_compass(await hub.document_state(conference_id, "compass"))
    except RoomUnavailable:
        return list(LIFE_AREAS)
    return preparation.area_order(compass)
