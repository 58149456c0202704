"""iCalendar (RFC 5545) text for Kring's all-day events: one downloaded ``.ics`` file or a
feed a calendar app subscribes to. Pure: events in, the calendar's text out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

PRODID = "-//Kring//follow-ups//NL"
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Event:
    """An all-day event. ``uid`` stays the same when the day moves, so a calendar app
    updates the event it has instead of adding another one."""

    uid: str
    day: date
    summary: str
    url: str
    description: str = ""


def text(value: str) -> str:
    """Text for an iCalendar property (RFC 5545 3.3.11): escaped, on one logical line."""
    for char, escaped in (("\\", "\\\\"), (";", "\\;"), (",", "\\,"), ("\n", "\\n")):
        value = value.replace(char, escaped)
    return "".join(c for c in value if c >= " " or c == "\t")


def fold(line: str) -> str:
    """One content line, folded after 75 octets as RFC 5545 3.1 asks (never inside a
    character), ending in CRLF."""
    parts: list[bytes] = []
    current = b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current)
            current = b""
        current += encoded
    parts.append(current)
    return "\r\n ".join(part.decode() for part in parts) + "\r\n"


def calendar(
    events: Sequence[Event],
    *,
    name: str = "",
    refresh: timedelta | None = None,
    now: datetime | None = None,
) -> str:
    """The whole calendar. ``name`` and ``refresh`` are for a subscribed feed: what the app
    calls it, and how often it should fetch it again (RFC 7986 REFRESH-INTERVAL, and the
    older X-PUBLISHED-TTL that Outlook reads)."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    if name:
        lines += [f"NAME:{text(name)}", f"X-WR-CALNAME:{text(name)}"]
    if refresh is not None:
        duration = _duration(refresh)
        lines += [f"REFRESH-INTERVAL;VALUE=DURATION:{duration}", f"X-PUBLISHED-TTL:{duration}"]
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{text(event.uid)}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{event.day.strftime('%Y%m%d')}",
            f"DTEND;VALUE=DATE:{(event.day + ONE_DAY).strftime('%Y%m%d')}",
            f"SUMMARY:{text(event.summary)}",
            *([f"DESCRIPTION:{text(event.description)}"] if event.description else []),
            f"URL:{event.url}",
            "TRANSP:TRANSPARENT",  # a reminder of a day, not a busy block in the agenda
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) for line in lines)


def _duration(span: timedelta) -> str:
    """A positive RFC 5545 duration in whole hours or minutes (``PT6H``, ``PT30M``)."""
    minutes = max(1, int(span.total_seconds() // 60))
    return f"PT{minutes // 60}H" if minutes % 60 == 0 else f"PT{minutes}M"
