"""What ended lately (sign-ins, people dropped from a conference), and when.

A device is checked against the database, then joins a document or starts listening a moment
later (a load, an audit write). What ends in between finds nothing to close yet; remembering
it for a while lets the join itself be refused. Times are this process's monotonic clock, so
a later sign-in (a colleague added again, a session id SQLite hands out again) is not kept out.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable

REMEMBERED_SECONDS = 600.0  # far longer than a check of the database takes to become a join


class EndedLately:
    def __init__(self) -> None:
        self._ended: dict[Hashable, tuple[float, str]] = {}  # oldest first

    def add(self, key: Hashable, reason: str = "") -> None:
        now = time.monotonic()
        self._ended.pop(key, None)
        self._ended[key] = (now, reason)
        horizon = now - REMEMBERED_SECONDS
        while self._ended:
            oldest = next(iter(self._ended))
            if self._ended[oldest][0] >= horizon:
                break
            del self._ended[oldest]

    def since(self, keys: Iterable[Hashable], checked_at: float) -> str | None:
        """The reason one of ``keys`` ended at or after ``checked_at`` (None: none did)."""
        for key in keys:
            ended = self._ended.get(key)
            if ended is not None and ended[0] >= checked_at:
                return ended[1]
        return None


def keys(
    conference_id: str, session_id: int | None, participant_id: int | None, account_id: int | None
) -> list[Hashable]:
    """What could have ended for someone in one conference."""
    found: list[Hashable] = []
    if session_id is not None:
        found.append(("session", session_id))
    if participant_id is not None:
        found.append(("participant", conference_id, participant_id))
    if account_id is not None:
        found.append(("account", conference_id, account_id))
    return found
