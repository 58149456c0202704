"""iCalendar (RFC 5545) text for Kring's events: all-day ones (the action team's meetings)
and timed ones (the conference itself, on the instance's clock with its VTIMEZONE), as one
downloaded ``.ics`` file or a feed a calendar app subscribes to. Pure: events in, the
calendar's text out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

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


@dataclass(frozen=True)
class TimedEvent:
    """An event from ``start`` to ``end`` (aware datetimes), written on the calendar's clock;
    ``location`` is where (the place and its address)."""

    uid: str
    start: datetime
    end: datetime
    summary: str
    url: str
    description: str = ""
    location: str = ""


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
    events: Sequence[Event | TimedEvent],
    *,
    name: str = "",
    refresh: timedelta | None = None,
    now: datetime | None = None,
    zone: tzinfo = UTC,
) -> str:
    """The whole calendar. ``name`` and ``refresh`` are for a subscribed feed: what the app
    calls it, and how often it should fetch it again (RFC 7986 REFRESH-INTERVAL, and the
    older X-PUBLISHED-TTL that Outlook reads). Timed events are written on the clock of
    ``zone`` (an IANA zone: with its VTIMEZONE; else in UTC)."""
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
    timed = [event for event in events if isinstance(event, TimedEvent)]
    zone_id = getattr(zone, "key", None) if zone is not UTC else None
    if timed and zone_id:
        lines += _vtimezone(zone, zone_id, [m for e in timed for m in (e.start, e.end)])
    for timed_event in timed:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{text(timed_event.uid)}",
            f"DTSTAMP:{stamp}",
            _moment("DTSTART", timed_event.start, zone, zone_id),
            _moment("DTEND", timed_event.end, zone, zone_id),
            f"SUMMARY:{text(timed_event.summary)}",
            *([f"LOCATION:{text(timed_event.location)}"] if timed_event.location else []),
            *([f"DESCRIPTION:{text(timed_event.description)}"] if timed_event.description else []),
            f"URL:{timed_event.url}",
            "TRANSP:OPAQUE",  # the conference takes the afternoon: busy
            "END:VEVENT",
        ]
    for event in events:
        if isinstance(event, TimedEvent):
            continue
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


def _moment(name: str, moment: datetime, zone: tzinfo, zone_id: str | None) -> str:
    """DTSTART/DTEND: local time with its TZID, or UTC ("Z") when the zone has no id."""
    if zone_id is None:
        return f"{name}:{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return f"{name};TZID={zone_id}:{moment.astimezone(zone):%Y%m%dT%H%M%S}"


def _offset(span: timedelta) -> str:
    """A UTC offset as RFC 5545 writes it: +0100, -0500 (+053045 with seconds)."""
    seconds = int(span.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{seconds:02d}" if seconds else "")


def _utcoffset(moment: datetime, zone: tzinfo) -> timedelta:
    return moment.astimezone(zone).utcoffset() or timedelta(0)


def _transitions(zone: tzinfo, start: datetime, end: datetime) -> list[datetime]:
    """The moments (UTC, to the minute) between ``start`` and ``end`` at which ``zone``'s
    clock jumps: found day by day, then narrowed down."""
    found = []
    day = start
    while day < end:
        after = day + ONE_DAY
        if _utcoffset(day, zone) != _utcoffset(after, zone):
            low, high = day, after  # the offset changes in (low, high]
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                middle = middle.replace(second=0, microsecond=0)
                if middle <= low:
                    break
                if _utcoffset(middle, zone) == _utcoffset(low, zone):
                    low = middle
                else:
                    high = middle
            found.append(high)
        day = after
    return found


def _vtimezone(zone: tzinfo, zone_id: str, moments: Sequence[datetime]) -> list[str]:
    """The zone's VTIMEZONE (RFC 5545 3.6.5) over the years of ``moments``, one observance
    per change of clock, so any calendar app reads the local times as meant."""
    first = datetime(min(m.astimezone(UTC).year for m in moments) - 1, 1, 1, tzinfo=UTC)
    last = datetime(max(m.astimezone(UTC).year for m in moments) + 2, 1, 1, tzinfo=UTC)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{zone_id}"]
    previous = _utcoffset(first, zone)
    for moment in [first, *_transitions(zone, first, last)]:
        local = moment.astimezone(zone)
        offset = local.utcoffset() or timedelta(0)
        kind = "DAYLIGHT" if local.dst() else "STANDARD"
        lines += [
            f"BEGIN:{kind}",
            # The onset on the clock as it read before the change.
            f"DTSTART:{(moment.replace(tzinfo=None) + previous):%Y%m%dT%H%M%S}",
            f"TZOFFSETFROM:{_offset(previous)}",
            f"TZOFFSETTO:{_offset(offset)}",
            *([f"TZNAME:{text(local.tzname() or '')}"] if local.tzname() else []),
            f"END:{kind}",
        ]
        previous = offset
    lines.append("END:VTIMEZONE")
    return lines


def _duration(span: timedelta) -> str:
    """A positive RFC 5545 duration in whole hours or minutes (``PT6H``, ``PT30M``)."""
    minutes = max(1, int(span.total_seconds() // 60))
    return f"PT{minutes // 60}H" if minutes % 60 == 0 else f"PT{minutes}M"
