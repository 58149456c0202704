"""Pages for everyone: the home page, the privacy statement and the language choice."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from server import i18n
from server.conference import auth
from server.i18n import _
from server.views import common, identity


async def home(request: Request) -> Response:
    if isinstance(
        await identity.coordinator_of(common.store(request), common.settings(request), request),
        auth.CoordinatorIdentity,
    ):
        return RedirectResponse("/conferences", status_code=303)
    who = await identity.participant_of(common.store(request), common.settings(request), request)
    if isinstance(who, auth.ParticipantIdentity):
        return RedirectResponse(f"/c/{who.conference.id}", status_code=303)
    return common.render(request, "home.html")


async def privacy(request: Request) -> Response:
    await _known_person(request)  # in the language of whoever reads it, if we know them
    return common.render(request, "privacy.html")


# -- language -----------------------------------------------------------------------------


async def _known_person(
    request: Request,
) -> auth.ParticipantIdentity | auth.CoordinatorIdentity | None:
    """Whoever is signed in on this device (a participant first); answers in their language."""
    store, settings = common.store(request), common.settings(request)
    who = await identity.participant_of(store, settings, request)
    if isinstance(who, auth.ParticipantIdentity):
        return who
    coordinator = await identity.coordinator_of(store, settings, request)
    return coordinator if isinstance(coordinator, auth.CoordinatorIdentity) else None


async def _link_owner(request: Request, path: str) -> int | None:
    """The participant whose personal link ``path`` (``/i/<token>``) is, if it still works."""
    if not path.startswith("/i/"):
        return None
    token = path[3:].split("?", 1)[0]
    if not token or "/" in token:
        return None
    store, settings = common.store(request), common.settings(request)
    match = await store.invitation_by_hash(auth.hash_token(settings.secret_key, token))
    if match is None or auth.link_problem(match, settings.invitation_grace_days):
        return None
    return match.participant.id


async def choose_language(request: Request) -> Response:
    """Switch Kring's language, then go back to the page the form was on.

    The choice is remembered on this device (a cookie) and, for someone known, on their own
    row: a participant signed in here, a logged-in coordinator, or the owner of the personal
    link whose "is this you?" page the form was on. So it follows a person to their other
    devices, and the next person on a shared tablet still gets their own language.
    """
    form = await request.form()
    raw_next = form.get("next")
    next_url = common.safe_next(raw_next if isinstance(raw_next, str) else None, default="/")
    language = common.choice(form.get("language"), i18n.LANGUAGES)
    if language is None:
        await _known_person(request)
        return common.error_page(
            request,
            400,
            _("Deze taal kent Kring niet"),
            _(
                "Kies een van deze talen: %(languages)s.",
                languages=", ".join(i18n.LANGUAGES.values()),
            ),
        )
    store, settings = common.store(request), common.settings(request)
    if next_url.startswith("/i/"):  # someone's "is this you?" page: theirs, if it works
        owner = await _link_owner(request, next_url)
        if owner is not None:
            await store.set_participant_language(owner, language)
    else:
        participant = await identity.participant_of(store, settings, request)
        if isinstance(participant, auth.ParticipantIdentity):
            await store.set_participant_language(participant.participant.id, language)
        coordinator = await identity.coordinator_of(store, settings, request)
        if isinstance(coordinator, auth.CoordinatorIdentity):
            await store.set_account_language(coordinator.account.id, language)
    response = RedirectResponse(next_url, status_code=303)
    identity.set_language_cookie(response, settings, language)
    return response
