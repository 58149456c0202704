"""When the action team meets again (pure, no I/O).

After the conference the action team meets at least every six weeks. The next meeting is due
six weeks after the last one was closed (the first: six weeks after the plan was agreed),
unless the coordinator set another date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from server.i18n import N_, Labels
from server.storage.models import Conference, FollowUp

INTERVAL = timedelta(weeks=6)
STANDING_LABELS: Labels[str] = Labels(
    {"planned": N_("Gepland"), "due": N_("Binnenkort"), "overdue": N_("Te laat")}
)
ONE_DAY = timedelta(days=1)
SOON = timedelta(days=7)  # "due" this close to the date; "overdue" after it
NETHERLANDS = ZoneInfo("Europe/Amsterdam")


def local_date(moment: datetime) -> date:
    """The calendar day of ``moment`` where the meetings are held."""
    return moment.astimezone(NETHERLANDS).date()


def today() -> date:
    return datetime.now(NETHERLANDS).date()


def next_due(conference: Conference, follow_ups: Sequence[FollowUp]) -> date | None:
    """The day the next follow-up meeting is due; None before the plan is agreed."""
    closed = [f.closed_at for f in follow_ups if f.closed_at is not None]
    return due_after(conference, max(closed) if closed else None)


def due_after(conference: Conference, last_closed: datetime | None) -> date | None:
    """As next_due, from the moment the last meeting was closed (None: none yet)."""
    if conference.plan_frozen_at is None or conference.phase != "action_team":
        return None
    if conference.next_follow_up_on is not None:
        return conference.next_follow_up_on
    return local_date(last_closed or conference.plan_frozen_at) + INTERVAL


def standing(due: date, on: date) -> str:
    """``overdue`` after the day, ``due`` in the week before it, else ``planned``."""
    if on > due:
        return "overdue"
    return "due" if due - on <= SOON else "planned"
