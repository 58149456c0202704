"""When the action team meets again (pure, no I/O: dates, moments and the time zone of the
meetings are given; ``conference/followups.py`` gives them from a conference's rows).

After the conference the action team meets at least every six weeks. The next meeting is due
six weeks after the last one was closed (the first: six weeks after the plan was agreed),
unless the coordinator set another date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta, tzinfo

from server.i18n import N_, Labels

INTERVAL = timedelta(weeks=6)
STANDING_LABELS: Labels[str] = Labels(
    {"planned": N_("Gepland"), "due": N_("Binnenkort"), "overdue": N_("Te laat")}
)
ONE_DAY = timedelta(days=1)
SOON = timedelta(days=7)  # "due" this close to the date; "overdue" after it


def local_date(moment: datetime, zone: tzinfo) -> date:
    """The calendar day of ``moment`` where the meetings are held."""
    return moment.astimezone(zone).date()


def today(zone: tzinfo) -> date:
    return datetime.now(zone).date()


def due_after(
    agreed_at: datetime | None,
    set_for: date | None,
    last_closed: datetime | None,
    zone: tzinfo,
) -> date | None:
    """The day the next meeting is due: ``set_for`` if the coordinator chose a day, else six
    weeks after the last meeting closed (``None``: none yet) or after the plan was agreed
    (``agreed_at``; ``None``: not yet, so nothing is due)."""
    if agreed_at is None:
        return None
    if set_for is not None:
        return set_for
    return local_date(last_closed or agreed_at, zone) + INTERVAL


def last_closed(closed: Iterable[datetime | None]) -> datetime | None:
    """The latest of the meetings' closing moments (open meetings have none)."""
    return max((moment for moment in closed if moment is not None), default=None)


def standing(due: date, on: date) -> str:
    """``overdue`` after the day, ``due`` in the week before it, else ``planned``."""
    if on > due:
        return "overdue"
    return "due" if due - on <= SOON else "planned"
