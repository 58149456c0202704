"""Sign-ins end everywhere: a session that ends closes its live documents and event streams.

Logout, "forget this device", a device the family sends out, a removed person or
co-coordinator: the page that ends it closes that session's connections at once, on every
process (the hub publishes it). What ends a session behind the server's back (a password
reset on the command line, an expiry, a process that missed the message) is caught by
:func:`sweep`, which the server runs every ``KRING_SESSION_CHECK_SECONDS``.
"""

from __future__ import annotations

import logging

from server.conference import auth
from server.conference.events import Events
from server.i18n import N_
from server.rooms.hub import RoomHub
from server.settings import Settings
from server.storage.store import Store

log = logging.getLogger("kring.sessions")

LOGGED_OUT = N_("Je bent afgemeld.")
FORGOTTEN = N_("Dit apparaat is vergeten; open je persoonlijke link om weer mee te doen.")
SENT_OUT = N_("De familie heeft dit apparaat gevraagd te vertrekken.")
PRIVATE_TIME_OVER = N_("De privétijd is voorbij. Open je persoonlijke link opnieuw.")
ENDED = N_("Je aanmelding is beëindigd of verlopen. Meld je opnieuw aan.")


def end(hub: RoomHub, session_id: int | None, reason: str) -> None:
    """Close every live connection and event stream of one ended sign-in, on every process.
    ``reason`` is a Dutch message id (each device is told it in its person's language)."""
    if session_id is not None:
        hub.end_sessions([session_id], reason)


async def sweep(store: Store, settings: Settings, hub: RoomHub, events: Events) -> int:
    """Close this process's connections and streams whose sign-in no longer holds."""
    ids = hub.session_ids() | events.session_ids()
    if not ids:
        return 0
    ended = await auth.ended_sessions(store, settings, ids)
    if ended:
        log.info("closing the connections of %d ended sign-ins", len(ended))
        hub.end_sessions(ended, ENDED, publish=False)
    return len(ended)
