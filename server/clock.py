"""The instance's clock (``KRING_TIMEZONE``): every time is stored in UTC and shown on this
clock (pages, the PDF, .ics files, mails), and it decides the day a follow-up is due and
"today" for the action team. One zone for the instance: its conferences meet in one place.

``server/settings.py`` reads the variable; the entry points set the clock once at start-up.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

DEFAULT_TIME_ZONE = "Europe/Amsterdam"
_time_zone = ZoneInfo(DEFAULT_TIME_ZONE)


def time_zone() -> ZoneInfo:
    """The instance's clock, as ``KRING_TIMEZONE`` set it at start-up (``use_time_zone``)."""
    return _time_zone


def use_time_zone(zone: ZoneInfo) -> None:
    """Set the instance's clock; the entry points call it once with ``Settings.time_zone``."""
    global _time_zone
    _time_zone = zone
