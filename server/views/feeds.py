"""Personal calendar feeds of the action team's meetings, for a calendar app to subscribe to.

The URL itself is the key (``server/conference/calendar.py`` makes both). A wrong or stale key
gets the same 404 whichever part was wrong.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from server import i18n
from server.clock import time_zone
from server.conference import auth, calendar
from server.formats import ical
from server.i18n import _
from server.storage.models import Conference
from server.views import common

REFRESH = timedelta(hours=1)  # a moved date reaches the calendar within the hour


def _unknown() -> Response:
    return PlainTextResponse(
        _(
            "Deze agenda-link werkt niet (meer). De link die nu geldt, staat op je eigen "
            "pagina in Kring, bij de bijeenkomsten van het actieteam."
        ),
        status_code=404,
    )


def _feed(events: list[ical.Event | ical.TimedEvent], name: str) -> Response:
    return Response(
        ical.calendar(events, name=name, refresh=REFRESH, zone=time_zone()),
        media_type="text/calendar",
        headers={"cache-control": "private, no-cache"},
    )


def _conference(conference: Conference, base_url: str) -> list[ical.Event | ical.TimedEvent]:
    found = calendar.conference_event(conference, base_url)
    return [found] if found is not None else []


def _same(expected: str, request: Request) -> bool:
    """Whether the URL carries this key, in constant time (as bytes: the URL may hold any
    character, which compare_digest refuses in a str)."""
    given: str = request.path_params["key"]
    return hmac.compare_digest(expected.encode(), given.encode())


async def participant_feed(request: Request) -> Response:
    """One participant's conference: the conference itself and its action team's meetings."""
    store, settings = common.store(request), common.settings(request)
    participant_id = common.integer(request.path_params["participant_id"])
    match = None if participant_id is None else await store.first_invitation(participant_id)
    if match is None or auth.link_problem(match, settings.invitation_grace_days):
        return _unknown()
    expected = calendar.participant_key(
        settings.secret_key, match.participant.id, match.invitation.id
    )
    if not _same(expected, request):
        return _unknown()
    i18n.use_person_language(match.participant.language)
    conference = match.conference
    events = [
        *_conference(conference, settings.base_url),
        *calendar.follow_up_events(
            conference, await store.follow_ups(conference.id), settings.base_url
        ),
    ]
    return _feed(events, _("Actieteam: plan van %(name)s", name=conference.client_name))


async def account_feed(request: Request) -> Response:
    """A coordinator's own conferences (an admin's too: never the whole organisation's)."""
    store, settings = common.store(request), common.settings(request)
    account_id = common.integer(request.path_params["account_id"])
    account = None if account_id is None else await store.account(account_id)
    # A turned-off account's links stop working: its calendar hears nothing more either.
    if (
        account is None
        or account.deactivated_at is not None
        or not _same(calendar.account_key(settings.secret_key, account), request)
    ):
        return _unknown()
    i18n.use_person_language(account.language)
    conferences = [s.conference for s in await store.conferences_for(account, own_only=True)]
    meetings = await store.follow_ups_of([c.id for c in conferences])
    events = [
        event
        for conference in conferences
        for event in [
            *_conference(conference, settings.base_url),
            *calendar.follow_up_events(conference, meetings[conference.id], settings.base_url),
        ]
    ]
    return _feed(events, _("Kring: bijeenkomsten van de actieteams"))
