"""The second factor's pages: the login's second step (``/login/code``), a coordinator's own
"Tweestapsverificatie" (``/account/two-factor``: set up with a QR code, recovery codes, turn
off) and the admin's switch that requires it of everyone (``/admin/two-factor``).

A login halfway is bound to its browser by a cookie of its own, which expires with it. A
coordinator who must set up a second factor first holds only that cookie: no session, so no
other page opens until the second factor is on."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import segno
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from server.conference import auth, sessions, twofactor
from server.conference.refusals import FlowError
from server.i18n import _
from server.rules import twofactor as rules
from server.rules.forms import FormResult
from server.rules.refusal import Refusal
from server.storage.models import Account
from server.views import common, identity

HALFWAY_COOKIE = "kring_login_step"
ACCOUNT_PAGE = "/account/two-factor"


def _address(request: Request) -> str:
    # The peer, or what a trusted proxy forwarded (KRING_TRUSTED_PROXIES, uvicorn's job).
    return request.client.host if request.client else "unknown"


def _private(response: Response) -> Response:
    """A page with a secret or codes on it: never kept by a browser's or proxy's cache."""
    response.headers["cache-control"] = "no-store"
    return response


def _end_halfway(request: Request, response: Response) -> None:
    response.delete_cookie(
        HALFWAY_COOKIE,
        path="/",
        secure=common.settings(request).secure_cookies,
        httponly=True,
        samesite="lax",
    )


async def _halfway(request: Request, purpose: str) -> twofactor.Waiting | None:
    waiting = await twofactor.halfway(
        common.store(request), common.settings(request), request.cookies.get(HALFWAY_COOKIE)
    )
    return waiting if waiting is not None and waiting.purpose == purpose else None


def _login_again(next_url: str = "/conferences") -> Response:
    """Back to the password: the login halfway expired (or never was)."""
    query = urlencode({"next": next_url, "expired": "1"}, safe="/")
    return RedirectResponse(f"/login?{query}", status_code=303)


async def after_password(
    request: Request, result: auth.LoginResult, account: Account, next_url: str
) -> Response:
    """A right password: sign in, or go on to the second step (the code, or setting up a
    second factor first), bound to this browser by a cookie."""
    store, settings = common.store(request), common.settings(request)
    waiting = await twofactor.after_password(store, settings, result, account, next_url)
    if waiting is None:
        response = RedirectResponse(next_url, status_code=303)
        await identity.start_coordinator_session(store, settings, account, response)
        return response
    step = "/login/code" if waiting.purpose == "code" else ACCOUNT_PAGE
    response = RedirectResponse(step, status_code=303)
    wait = rules.CODE_WAIT if waiting.purpose == "code" else rules.SET_UP_WAIT
    response.set_cookie(
        HALFWAY_COOKIE,
        waiting.token,
        max_age=int(wait.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    return response


def _signed_in(request: Request, response: Response, signed: twofactor.SignedIn) -> Response:
    identity.set_session_cookie(
        response, common.settings(request), identity.COORDINATOR_COOKIE, signed.token
    )
    _end_halfway(request, response)
    return response


# -- the login's second step ----------------------------------------------------------------


async def login_code(request: Request) -> Response:
    """The code from the app (or a recovery code) after a right password."""
    waiting = await _halfway(request, "code")
    if waiting is None:
        return _login_again()
    if request.method == "GET":
        return _private(common.render(request, "twofactor/login.html", form=FormResult({})))
    form = FormResult({})
    raw = common.text(await request.form(), "code")
    store, settings = common.store(request), common.settings(request)
    try:
        outcome = await twofactor.give_code(store, settings, waiting, raw, _address(request))
    except FlowError as exc:
        if exc.kind is Refusal.NOT_SIGNED_IN:
            return _login_again(waiting.next_url)
        form.errors["code"] = exc.message
        return common.render(request, "twofactor/login.html", common.STATUS[exc.kind], form=form)
    if isinstance(outcome, twofactor.SignedIn):
        target = outcome.next_url if outcome.recovery_left is None else ACCOUNT_PAGE + "?used=1"
        return _signed_in(request, RedirectResponse(target, status_code=303), outcome)
    form.errors["code"] = _CHECK_WORDS[outcome]()
    status = 429 if outcome is twofactor.Check.LOCKED else 401
    return common.render(request, "twofactor/login.html", status, form=form)


_CHECK_WORDS = {
    twofactor.Check.WRONG: lambda: _("Deze code klopt niet."),
    twofactor.Check.USED: lambda: _("Deze code is al gebruikt. Wacht op de volgende code."),
    twofactor.Check.LOCKED: lambda: _(
        "Te veel mislukte pogingen voor dit e-mailadres. Probeer het over een kwartier opnieuw."
    ),
}


# -- the coordinator's own page -------------------------------------------------------------


def _qr_svg(address: str) -> str:
    code = segno.make(address, error="m")
    return str(code.svg_inline(scale=4, border=2, title=_("QR-code om te scannen"), omitsize=True))


async def _account_page(
    request: Request,
    who: auth.CoordinatorIdentity | None,
    account: Account,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """The page as it stands: set up (a QR code and the code to confirm it) or on."""
    store, settings = common.store(request), common.settings(request)
    factor = await store.second_factor(account.id)
    on = factor is not None and factor.confirmed_at is not None
    setup = None if on else await twofactor.begin(store, settings, account)
    response = common.render(
        request,
        "twofactor/account.html",
        status_code,
        who=who,
        account=account,
        on=on,
        setup=setup,
        qr=_qr_svg(setup.address) if setup else "",
        required=await store.two_factor_required(),
        left=await store.recovery_codes_left(account.id) if on else 0,
        used=request.query_params.get("used") == "1",
        **context,
    )
    return _private(response)


async def _who(request: Request) -> tuple[auth.CoordinatorIdentity | None, Account]:
    """The coordinator signed in on this device, or else a login halfway that must set up a
    second factor first (else to the login page)."""
    who = await identity.coordinator_of(common.store(request), common.settings(request), request)
    if isinstance(who, auth.CoordinatorIdentity):
        return who, who.account
    waiting = await _halfway(request, "set_up")
    if waiting is None:
        raise common.LoginRequired(expired=who is auth.CookieState.INVALID)
    return None, waiting.account


async def account_page(request: Request) -> Response:
    """``GET``: the page; ``POST``: confirm the app with a code (it turns on), then show the
    recovery codes once. A login that had to set up a second factor is signed in now."""
    who, account = await _who(request)
    if request.method == "GET":
        return await _account_page(request, who, account)
    raw = common.text(await request.form(), "code")
    store, settings = common.store(request), common.settings(request)
    waiting = None if who is not None else await _halfway(request, "set_up")
    try:
        if waiting is None:
            codes = await twofactor.confirm(store, settings, account, raw)
            signed = None
        else:
            codes, signed = await twofactor.set_up_and_sign_in(
                store, settings, waiting, raw, _address(request)
            )
    except FlowError as exc:
        form = FormResult({})
        form.errors["code"] = exc.message
        return await _account_page(request, who, account, common.STATUS[exc.kind], form=form)
    next_url = signed.next_url if signed else ACCOUNT_PAGE
    response = _codes_page(request, who, codes, next_url, first=True)
    return _signed_in(request, response, signed) if signed else response


def _codes_page(
    request: Request,
    who: auth.CoordinatorIdentity | None,
    codes: list[str],
    next_url: str,
    *,
    first: bool,
) -> Response:
    page = common.render(
        request, "twofactor/recovery.html", who=who, codes=codes, next_url=next_url, first=first
    )
    return _private(page)


async def _checked_again(request: Request, who: auth.CoordinatorIdentity) -> Response | None:
    """The password or a code again, before a change; a page saying no (or None: go on)."""
    raw = common.text(await request.form(), "check")
    store, settings = common.store(request), common.settings(request)
    try:
        check = await twofactor.check_again(store, settings, who.account, raw, _address(request))
    except FlowError as exc:
        status, message = common.STATUS[exc.kind], exc.message
    else:
        if check in (twofactor.Check.OK, twofactor.Check.RECOVERY):
            return None
        status = 429 if check is twofactor.Check.LOCKED else 401
        message = (
            _("Dit wachtwoord of deze code klopt niet.")
            if check is twofactor.Check.WRONG
            else _CHECK_WORDS[check]()
        )
    form = FormResult({})
    form.errors["check"] = message
    return await _account_page(request, who, who.account, status, form=form)


async def turn_off(request: Request) -> Response:
    who = await common.signed_in_coordinator(request)
    refused = await _checked_again(request, who)
    if refused is not None:
        return refused
    ended = await twofactor.turn_off(common.store(request), who.account)
    if ended:  # required for everyone: set up a new one at the next login
        common.hub(request).end_sessions(ended, sessions.ENDED)
        return RedirectResponse("/login?next=" + ACCOUNT_PAGE, status_code=303)
    return RedirectResponse(ACCOUNT_PAGE, status_code=303)


async def new_recovery_codes(request: Request) -> Response:
    who = await common.signed_in_coordinator(request)
    refused = await _checked_again(request, who)
    if refused is not None:
        return refused
    store, settings = common.store(request), common.settings(request)
    try:
        codes = await twofactor.new_recovery_codes(store, settings, who.account)
    except FlowError as exc:
        raise HTTPException(common.STATUS[exc.kind], exc.message) from None
    return _codes_page(request, who, codes, ACCOUNT_PAGE, first=False)


# -- the admin's switch ---------------------------------------------------------------------


async def admin_page(request: Request) -> Response:
    """Require a second factor of everyone (or no longer); only an admin reaches it."""
    who = await common.signed_in_coordinator(request)
    if who.account.role != "admin":
        raise HTTPException(403, _("Dit kan alleen een beheerder."))
    store = common.store(request)
    error, status, flash = "", 200, ""
    if request.method == "POST":
        choice = common.choice(common.text(await request.form(), "required"), ("on", "off"))
        if choice is None:
            error, status = _("Kies aan of uit."), 400
        else:
            try:
                ended = await twofactor.require(store, who.account, choice == "on")
            except FlowError as exc:
                error, status = exc.message, common.STATUS[exc.kind]
            else:
                common.hub(request).end_sessions(ended, sessions.ENDED)
                flash = _("Opgeslagen.")
    return common.render(
        request,
        "twofactor/admin.html",
        status,
        who=who,
        required=await store.two_factor_required(),
        accounts=await store.accounts_and_factors(),
        error=error,
        flash=flash,
    )
