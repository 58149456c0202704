"""Personal calendar feeds of the action team's meetings, for a calendar app to subscribe to.

Calendar apps fetch without cookies, so the URL itself is the key: an HMAC with the
instance secret over what the feed is for and something that changes when access should
end. For a participant that is their oldest link that still works (a person may hold
several), so "new link" leaves the feed alone while revoking their links or removing them
ends it; for a coordinator's account it is the password hash,
which a password reset replaces. Nothing extra is stored. A wrong or stale key gets the
same 404 whichever part was wrong.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from server import i18n
from server.conference import auth
from server.formats import ical
from server.i18n import _
from server.rules import schedule
from server.settings import Settings
from server.storage.models import Account, Conference, FollowUp, utcnow
from server.storage.store import Store
from server.views import common

REFRESH = timedelta(hours=1)  # a moved date reaches the calendar within the hour


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
                    day=schedule.local_date(meeting.closed_at),
                    summary=_("Actieteam gehouden: plan van %(name)s", name=conference.client_name),
                    url=url,
                    description=description,
                )
            )
    due = schedule.next_due(conference, meetings)
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


def _uid(conference: Conference, number: int) -> str:
    return f"{conference.id}-follow-up-{number}@kring"


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _unknown() -> Response:
    return PlainTextResponse(
        _(
            "Deze agenda-link werkt niet (meer). De link die nu geldt, staat op je eigen "
            "pagina in Kring, bij de bijeenkomsten van het actieteam."
        ),
        status_code=404,
    )


def _feed(events: list[ical.Event], name: str) -> Response:
    return Response(
        ical.calendar(events, name=name, refresh=REFRESH),
        media_type="text/calendar",
        headers={"cache-control": "private, no-cache"},
    )


def _same(expected: str, request: Request) -> bool:
    """Whether the URL carries this key, in constant time (as bytes: the URL may hold any
    character, which compare_digest refuses in a str)."""
    given: str = request.path_params["key"]
    return hmac.compare_digest(expected.encode(), given.encode())


async def participant_feed(request: Request) -> Response:
    """One participant's conference: its action team's meetings."""
    store, settings = _store(request), _settings(request)
    participant_id = common.integer(request.path_params["participant_id"])
    match = None if participant_id is None else await store.first_invitation(participant_id)
    if match is None or auth.invitation_problem(
        match.invitation,
        match.participant,
        match.conference,
        utcnow(),
        settings.invitation_grace_days,
    ):
        return _unknown()
    expected = participant_key(settings.secret_key, match.participant.id, match.invitation.id)
    if not _same(expected, request):
        return _unknown()
    i18n.use_person_language(match.participant.language)
    conference = match.conference
    events = follow_up_events(conference, await store.follow_ups(conference.id), settings.base_url)
    return _feed(events, _("Actieteam: plan van %(name)s", name=conference.client_name))


async def account_feed(request: Request) -> Response:
    """A coordinator's own conferences (an admin's too: never the whole organisation's)."""
    store, settings = _store(request), _settings(request)
    account_id = common.integer(request.path_params["account_id"])
    account = None if account_id is None else await store.account(account_id)
    if account is None or not _same(account_key(settings.secret_key, account), request):
        return _unknown()
    i18n.use_person_language(account.language)
    conferences = [s.conference for s in await store.conferences_for(account, own_only=True)]
    meetings = await store.follow_ups_of([c.id for c in conferences])
    events = [
        event
        for conference in conferences
        for event in follow_up_events(conference, meetings[conference.id], settings.base_url)
    ]
    return _feed(events, _("Kring: bijeenkomsten van de actieteams"))


routes = [
    Route("/feeds/p/{participant_id:int}/{key}.ics", participant_feed),
    Route("/feeds/a/{account_id:int}/{key}.ics", account_feed),
]
