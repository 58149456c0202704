"""Who is asking, as HTTP carries it: the session cookies (read, set and cleared), the
language cookie, and the cross-site check of the security middleware. What a sign-in means
is ``server/conference/auth.py``'s."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import HTTPConnection
from starlette.responses import Response

from server import i18n
from server.conference import auth
from server.settings import Settings
from server.storage.models import Account, Session
from server.storage.store import InvitationMatch, Store

COORDINATOR_COOKIE = "kring_coordinator"
PARTICIPANT_COOKIE = "kring_participant"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def sign_ins(conn: HTTPConnection) -> auth.SignIns:
    """The sign-ins this device's cookies carry."""
    return auth.SignIns(conn.cookies.get(PARTICIPANT_COOKIE), conn.cookies.get(COORDINATOR_COOKIE))


async def coordinator_of(
    store: Store, settings: Settings, conn: HTTPConnection
) -> auth.CoordinatorIdentity | auth.CookieState:
    return await auth.coordinator_signed_in(store, settings, conn.cookies.get(COORDINATOR_COOKIE))


async def participant_of(
    store: Store, settings: Settings, conn: HTTPConnection
) -> auth.ParticipantIdentity | auth.CookieState:
    return await auth.participant_signed_in(store, settings, conn.cookies.get(PARTICIPANT_COOKIE))


async def person_in(
    store: Store, settings: Settings, conn: HTTPConnection, conference_id: str
) -> auth.Person | auth.NotAllowed:
    """Who is asking about this conference (see :func:`auth.person_in`)."""
    return await auth.person_in(store, settings, sign_ins(conn), conference_id)


async def family_device(
    store: Store, settings: Settings, conn: HTTPConnection, conference_id: str
) -> str | None:
    """The family member this device is already let in as (see :func:`auth.family_device`)."""
    token = conn.cookies.get(PARTICIPANT_COOKIE)
    return await auth.family_device(store, settings, token, conference_id)


async def start_coordinator_session(
    store: Store, settings: Settings, account: Account, response: Response
) -> None:
    token = await auth.start_coordinator_session(store, settings, account)
    set_session_cookie(response, settings, COORDINATOR_COOKIE, token)


async def start_participant_session(
    store: Store,
    settings: Settings,
    match: InvitationMatch,
    response: Response,
    vouched_by: str | None = None,
) -> Session:
    """Sign this device in through a (checked) invitation link (see
    :func:`auth.start_participant_session`)."""
    session, token = await auth.start_participant_session(store, settings, match, vouched_by)
    set_session_cookie(response, settings, PARTICIPANT_COOKIE, token)
    return session


async def end_session(
    store: Store, settings: Settings, conn: HTTPConnection, cookie: str, response: Response
) -> int | None:
    """End this device's sign-in and clear its cookie; returns the ended session's id, whose
    live connections the caller closes."""
    ended = await auth.end_session(store, settings, conn.cookies.get(cookie))
    response.delete_cookie(
        cookie, path="/", secure=settings.secure_cookies, httponly=True, samesite="lax"
    )
    return ended


def set_session_cookie(response: Response, settings: Settings, name: str, token: str) -> None:
    # A session cookie for participants outlives the browser session: the link is their key,
    # and a tablet must stay signed in across a reload. Validity is checked on the server.
    response.set_cookie(
        name,
        token,
        max_age=400 * 24 * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )


def set_language_cookie(response: Response, settings: Settings, language: str) -> None:
    """Remember a chosen language on this device (for pages where nobody is known), as long
    and as closely kept as a session."""
    set_session_cookie(response, settings, i18n.LANGUAGE_COOKIE, language)


# -- cross-site protection ------------------------------------------------------------------


def origin_allowed(method: str, headers: Mapping[str, str], allowed: frozenset[str]) -> bool:
    """Refuse state-changing requests that a browser made on behalf of another site.

    Browsers send Origin on every POST and on websocket upgrades; when it is absent, the
    Fetch metadata header tells whether the request came from another site. Requests with
    neither come from non-browser clients, which carry no ambient cookies of ours.
    """
    if method.upper() in SAFE_METHODS and headers.get("upgrade", "").lower() != "websocket":
        return True
    origin = headers.get("origin")
    if origin is not None:
        return origin.lower() in allowed
    return headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
