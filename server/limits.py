"""What one live room, and one device or person in it, may take: ``settings.py`` fills it
from the ``KRING_*`` variables, the rooms keep to it."""

from __future__ import annotations

from dataclasses import dataclass

# The heavy work's worker processes, and the `kring` commands that read a whole database or
# conference beside a running server, run at this niceness (Linux: 0 is normal, 19 the lowest
# priority): when they and the server want the same core, the server's event loop gets it
# first, so a PDF, an export or a backup on a small machine slows down rather than the
# families' typing.
WORKER_NICENESS = 10


@dataclass(frozen=True)
class Limits:
    """What one live room (and one device or person in it) may take; the settings fill it."""

    max_message_bytes: int = 2 * 1024 * 1024
    messages_per_second: int = 50
    connections_per_room: int = 300
    connections_per_session: int = 4  # one device (sign-in) in one document
    connections_per_person: int = 12  # one person over all documents and devices
    family_reserved_connections: int = 30  # of a room's places, only the family may take
    send_queue_bytes: int = 8 * 1024 * 1024
    idle_seconds: float = 60.0
    compact_after: int = 1000
