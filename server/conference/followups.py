"""The action team's calendar for one conference: the schedule's rules (``rules/schedule.py``)
applied to its rows, in the meetings' time zone (``settings.TIME_ZONE``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from server.rules import schedule
from server.settings import TIME_ZONE
from server.storage.models import Conference, FollowUp


def today() -> date:
    """Today where the meetings are held."""
    return schedule.today(TIME_ZONE)


def local_date(moment: datetime) -> date:
    return schedule.local_date(moment, TIME_ZONE)


def due_after(conference: Conference, last_closed: datetime | None) -> date | None:
    """When the next meeting is due, from the moment the last one was closed (None: none
    yet); None before the action team phase."""
    if conference.phase != "action_team":
        return None
    return schedule.due_after(
        conference.plan_frozen_at, conference.next_follow_up_on, last_closed, TIME_ZONE
    )


def next_due(conference: Conference, follow_ups: Sequence[FollowUp]) -> date | None:
    """The day the next follow-up meeting is due; None before the plan is agreed."""
    return due_after(conference, schedule.last_closed(f.closed_at for f in follow_ups))
