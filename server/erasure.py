"""Erasing a conference for good, from the conference page or by the retention purge.

One code path for both (:func:`erase`): the live side first (every open websocket of the
conference is closed with 4001, its room is dropped from memory and never loaded again, its
console streams end, and the document log stores nothing of it any more), then every row of
it in one transaction, then the database's files (SQLite: the WAL checkpointed into the main
file, which ``secure_delete`` has zeroed; PostgreSQL: VACUUM). The erasure is audited
without anything of the conference but its id.

``kring purge`` runs in its own process: it has no rooms, so a server that still holds the
room of a long-closed conference keeps it in memory until it unloads (in the closed phase
every document is read-only, so nothing of it is written again).
"""

from __future__ import annotations

import contextlib
import logging
import unicodedata
from calendar import monthrange
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server import auth, pages
from server.events import Events
from server.i18n import _
from server.rooms.hub import RoomHub
from server.store import ErasedConference, NotFound, Scrubbed, Store

log = logging.getLogger("kring")


@dataclass(frozen=True)
class Erasure:
    """What one erasure did: the rows, the files, and how many live connections it closed."""

    erased: ErasedConference
    scrubbed: Scrubbed
    connections_closed: int


async def erase(
    store: Store,
    conference_id: str,
    actor: str,
    *,
    hub: RoomHub | None = None,
    events: Events | None = None,
) -> Erasure:
    """Erase a conference: its live connections (with ``hub``), its rows, its traces in the
    database files. Raises NotFound for a conference that does not exist. If the database
    fails halfway, nothing is deleted (one transaction) and this process still refuses the
    conference's documents until it restarts: erase it again."""
    closed = hub.erase(conference_id) if hub is not None else 0
    if events is not None:
        events.end(conference_id)
    quiet: AbstractAsyncContextManager[None] = (
        hub.log.forgetting(conference_id) if hub is not None else contextlib.nullcontext()
    )
    async with quiet:
        erased = await store.erase_conference(conference_id, actor)
    scrubbed = await store.scrub_deleted()
    log.info(
        "conference %s erased by %s: %d rows, %d connections closed; files: %s",
        conference_id,
        actor,
        sum(erased.rows.values()),
        closed,
        scrubbed.how,
    )
    return Erasure(erased, scrubbed, closed)


# -- retention ---------------------------------------------------------------------------------


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the month's last day when
    that month is shorter)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


async def due_for_purge(
    store: Store, retention_months: int, now: datetime
) -> list[tuple[str, datetime]]:
    """Conferences closed longer than ``retention_months`` ago (none when it is 0)."""
    if retention_months <= 0:
        return []
    return await store.closed_before(months_before(now, retention_months))


# -- the conference page's "Conferentie wissen" form ----------------------------------------------


def same_name(typed: str, client_name: str) -> bool:
    """Whether the typed confirmation is the client's name (spaces, case and the way an
    accent was typed do not count)."""

    def plain(text: str) -> str:
        return " ".join(unicodedata.normalize("NFC", text).split()).casefold()

    return bool(typed.strip()) and plain(typed) == plain(client_name)


async def erase_form(request: Request) -> Response:
    who, conference = await pages._own_conference(request)
    if not auth.may_erase(who.account, conference):
        raise HTTPException(
            403,
            _(
                "Alleen de coördinator die deze conferentie begeleidt, of een beheerder, "
                "kan haar wissen."
            ),
        )
    typed = (await request.form()).get("confirm")
    typed = typed if isinstance(typed, str) else ""
    problem = ""
    if not typed.strip():
        problem = _(
            "Typ de naam van de cliënt om te bevestigen dat je deze conferentie wilt wissen. "
            "Er is niets gewist."
        )
    elif not same_name(typed, conference.client_name):
        problem = _("Dat is niet de naam van de cliënt van deze conferentie. Er is niets gewist.")
    if problem:
        return await pages._participants_view(
            request, who, conference, status_code=400, erase_error=problem
        )
    state = request.app.state
    try:
        result = await erase(
            state.store, conference.id, pages._actor(who), hub=state.hub, events=state.events
        )
    except NotFound:  # erased by someone else a moment ago
        raise HTTPException(404, _("Deze conferentie bestaat niet (meer).")) from None
    notice = "erased" if result.scrubbed.done else "erased_files_pending"
    return RedirectResponse(f"/conferences?notice={notice}", status_code=303)


routes = [Route("/conferences/{conference_id}/erase", erase_form, methods=["POST"])]
