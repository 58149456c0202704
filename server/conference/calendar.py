"""Personal calendar feeds of the action team's meetings (and the conference itself): their
keys, their addresses and their events (the feeds themselves are served by
``server/views/feeds.py``).

Calendar apps fetch without cookies, so the URL itself is the key: an HMAC with the
instance secret over what the feed is for and something that changes when access should
end. For a participant that is their oldest link that still works (a person may hold
several), so "new link" leaves the feed alone while revoking their links or removing them
ends it; for a coordinator's account it is the password hash,
which a password reset replaces. Nothing extra is stored.
"""

from __future__ import annotations

from collections.abc import Sequence

from server.conference import auth, followups
from server.formats import ical
from server.i18n import _
from server.settings import Settings
from server.storage.models import Account, Conference, FollowUp


def participant_key(secret_key: str, participant_id: int, invitation_id: int) -> str:
    return auth.hash_token(
        secret_key, f"calendar-feed:participant:{participant_id}:{invitation_id}"
    )


def account_key(secret_key: str, account: Account) -> str:
    return auth.hash_token(
        secret_key, f"calendar-feed:account:{account.id}:{account.password_hash}"
    )


def participant_url(settings: Settings, participant_id: int, invitation_id: int) -> str:
    key = participant_key(settings.secret_key, participant_id, invitation_id)
    return f"{settings.base_url}/feeds/p/{participant_id}/{key}.ics"


def account_url(settings: Settings, account: Account) -> str:
    key = account_key(settings.secret_key, account)
    return f"{settings.base_url}/feeds/a/{account.id}/{key}.ics"


def webcal(url: str) -> str:
    """The same feed as a ``webcal://`` link, which opens the calendar app's "subscribe"."""
    return "webcal://" + url.split("://", 1)[1]


def follow_ups_url(base_url: str, conference_id: str) -> str:
    return f"{base_url}/c/{conference_id}/follow-ups"


def follow_up_events(
    conference: Conference, meetings: Sequence[FollowUp], base_url: str, *, held: bool = True
) -> list[ical.Event]:
    """The next meeting when it is due (and, with ``held``, the meetings held), as all-day
    events. Meeting N has one UID whether it is due or held, so a calendar moves it."""
    url = follow_ups_url(base_url, conference.id)
    description = _(
        "Bijeenkomst van het actieteam. Het plan: %(url)s",
        url=f"{base_url}/c/{conference.id}/plan",
    )
    closed = [m for m in meetings if m.closed_at is not None]
    events = []
    if held:
        for meeting in closed:
            assert meeting.closed_at is not None
            events.append(
                ical.Event(
                    uid=_uid(conference, meeting.number),
                    day=followups.local_date(meeting.closed_at),
                    summary=_("Actieteam gehouden: plan van %(name)s", name=conference.client_name),
                    url=url,
                    description=description,
                )
            )
    due = followups.next_due(conference, meetings)
    if due is not None:
        events.append(
            ical.Event(
                uid=_uid(conference, len(closed) + 1),
                day=due,
                summary=_("Actieteam: plan van %(name)s", name=conference.client_name),
                url=url,
                description=description,
            )
        )
    return events


def conference_event(conference: Conference, base_url: str) -> ical.TimedEvent | None:
    """The conference itself, from its start to its end at its place (None while it has no
    times). Its page is the participant's own page, which the link opens."""
    if conference.starts_at is None or conference.ends_at is None:
        return None
    where = ", ".join(part for part in (conference.location, conference.address) if part)
    return ical.TimedEvent(
        uid=f"{conference.id}-conference@kring",
        start=conference.starts_at,
        end=conference.ends_at,
        summary=_("Conferentie over %(name)s", name=conference.client_name),
        url=f"{base_url}/c/{conference.id}",
        location=where,
    )


def _uid(conference: Conference, number: int) -> str:
    return f"{conference.id}-follow-up-{number}@kring"
