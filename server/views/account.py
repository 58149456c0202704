"""A coordinator's own password: changing it (``/account/password``), choosing one through a
one-time link (``/password/{token}``: an invitation or a reset), and asking for a link when
it is forgotten (``/login/forgotten``). What each does is ``server/conference/accounts.py``."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from server.conference import accounts
from server.conference.refusals import FlowError
from server.i18n import _
from server.rules.accounts import MIN_PASSWORD_LENGTH
from server.rules.forms import FormResult
from server.views import common

PASSWORD_FIELDS = ("old_password", "password", "password_again")


def _typed(form: FormData, name: str) -> str:
    """A password field as typed (not stripped: spaces may belong to it)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _refused(error: FlowError) -> FormResult:
    """A refused password form: the reason at its field; nothing typed is shown again."""
    field = error.code if error.code in PASSWORD_FIELDS else "form"
    return FormResult({}, errors={field: error.message})


async def change_password(request: Request) -> Response:
    """ "Wachtwoord wijzigen": the current password, then the new one twice. The
    coordinator's other sign-ins end (this one goes on)."""
    who = await common.signed_in_coordinator(request)
    context: dict[str, Any] = {"who": who, "minimum": MIN_PASSWORD_LENGTH}
    if request.method == "GET":
        return common.render(request, "account/password.html", form=FormResult({}), **context)
    form = await request.form()
    address = request.client.host if request.client else "unknown"
    try:
        await accounts.change_password(
            common.store(request),
            common.settings(request),
            common.hub(request),
            who,
            address,
            *(_typed(form, name) for name in PASSWORD_FIELDS),
        )
    except FlowError as error:
        return common.render(
            request,
            "account/password.html",
            common.STATUS[error.kind],
            form=_refused(error),
            **context,
        )
    return common.render(
        request,
        "account/password.html",
        form=FormResult({}),
        flash=_("Je wachtwoord is gewijzigd. Op je andere apparaten moet je opnieuw inloggen."),
        **context,
    )


async def _link_refused(request: Request, state: accounts.LinkState) -> Response:
    action = _(
        "Vraag een beheerder van Kring om een nieuwe link, of vraag er zelf een aan met "
        "'Wachtwoord vergeten?' op de inlogpagina."
    )
    if state is accounts.LinkState.UNKNOWN:
        return common.error_page(
            request, 404, _("Deze link werkt niet"), _("Deze link kent Kring niet."), action
        )
    message = (
        _("Deze link is verlopen: hij werkt maar een beperkt aantal uren.")
        if state is accounts.LinkState.EXPIRED
        else _("Deze link is al gebruikt. Een link om een wachtwoord te kiezen werkt één keer.")
    )
    return common.error_page(request, 410, _("Deze link werkt niet meer"), message, action)


async def choose_password(request: Request) -> Response:
    """Choose a password through a one-time link: an invitation's first, or a new one after a
    reset. Then on to the login page (a second factor, when there is one, comes there)."""
    store, settings = common.store(request), common.settings(request)
    state, match = await accounts.open_link(store, settings, request.path_params["token"])
    if state is not accounts.LinkState.OK or match is None:
        return await _link_refused(request, state)
    context: dict[str, Any] = {
        "account": match.account,
        "purpose": match.link.purpose,
        "minimum": MIN_PASSWORD_LENGTH,
    }
    if request.method == "GET":
        response = common.render(request, "account/choose.html", form=FormResult({}), **context)
    else:
        form = await request.form()
        try:
            await accounts.choose_password(
                store,
                common.hub(request),
                match,
                _typed(form, "password"),
                _typed(form, "password_again"),
            )
        except FlowError as error:
            response = common.render(
                request,
                "account/choose.html",
                common.STATUS[error.kind],
                form=_refused(error),
                **context,
            )
        else:
            return RedirectResponse("/login?password=set", status_code=303)
    response.headers["cache-control"] = "no-store"
    return response


async def forgotten(request: Request) -> Response:
    """ "Wachtwoord vergeten?": with a mail server, a reset link goes to the address if it is
    an account's (the page says the same either way); without one, it says to ask an admin."""
    settings = common.settings(request)
    context: dict[str, Any] = {"mail": settings.smtp.enabled}
    if request.method == "GET":
        return common.render(request, "account/forgotten.html", form=FormResult({}), **context)
    email = common.text(await request.form(), "email")
    if "@" not in email or len(email) > 254:
        form = FormResult({"email": email}, errors={"email": _("Vul je e-mailadres in.")})
        return common.render(request, "account/forgotten.html", 400, form=form, **context)
    await accounts.forgotten(common.store(request), settings, email)
    return common.render(
        request, "account/forgotten.html", form=FormResult({}), sent=True, **context
    )
