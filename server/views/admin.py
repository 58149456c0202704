"""The admin page (``/admin``, admins only): every account with what can be done to it
(invite, a password link, turn off and on, lift a login's lock, the admin role), handing a
conference over, and the latest changes to accounts. Each form answers with the whole page:
a link made is shown there once."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from server.conference import accounts, auth
from server.conference.refusals import FlowError
from server.i18n import _
from server.rules import audit
from server.rules.forms import FormResult
from server.storage.models import Account
from server.views import common


async def _admin(request: Request) -> auth.CoordinatorIdentity:
    who = await common.signed_in_coordinator(request)
    if not accounts.is_admin(who.account):
        raise HTTPException(403, _("Alleen een beheerder van Kring kan deze pagina openen."))
    return who


async def _page(
    request: Request,
    who: auth.CoordinatorIdentity,
    status_code: int = 200,
    *,
    form: FormResult | None = None,
    **extra: Any,
) -> Response:
    store, settings = common.store(request), common.settings(request)
    everyone = await store.all_accounts()
    names = {a.id: a.name for a in everyone}
    locked = {a.id for a in everyone if await accounts.is_locked(store, settings, a)}
    log = []
    for event in await store.account_events():
        author = event.actor.removeprefix("coordinator:")
        by = names.get(int(author)) if author.isdigit() else None
        actor = by or (_("Kring (opdrachtregel)") if event.actor == "cli" else _("Iemand"))
        log.append((event, audit.sentence(event.kind, actor, event.detail, names.get)))
    return common.render(
        request,
        "admin.html",
        status_code,
        who=who,
        accounts=everyone,
        locked=locked,
        summaries=await store.conferences_for(who.account),
        owners=names,
        log=log,
        mail=settings.smtp.enabled,
        form=form or FormResult({}),
        **extra,
    )


async def admin_page(request: Request) -> Response:
    return await _page(request, await _admin(request))


async def invite(request: Request) -> Response:
    """Invite a coordinator by email: a link to choose their password."""
    who = await _admin(request)
    submitted = await request.form()
    form = FormResult(
        {"email": common.text(submitted, "email"), "name": common.text(submitted, "name")}
    )
    email, name = form.values["email"], form.values["name"]
    if "@" not in email or len(email) > 254:
        form.errors["email"] = _("Vul het e-mailadres van de nieuwe coördinator in.")
    if not name or len(name) > 200:
        form.errors["name"] = _("Vul de naam van de nieuwe coördinator in.")
    if not form.ok:
        return await _page(request, who, 400, form=form)
    store, settings = common.store(request), common.settings(request)
    try:
        made = await accounts.invite(store, settings, who.account, email, name)
    except FlowError as error:
        form.errors[error.code if error.code == "email" else "form"] = error.message
        return await _page(request, who, common.STATUS[error.kind], form=form)
    return await _page(request, who, account_link=made)


ACTIONS = ("deactivate", "reactivate", "unlock", "make-admin", "take-admin", "link")


async def account_action(request: Request) -> Response:
    """One of ``ACTIONS`` on the account in the URL."""
    who = await _admin(request)
    action = common.choice(request.path_params["action"], ACTIONS)
    account_id = common.integer(request.path_params["account_id"])
    if action is None or account_id is None:
        raise HTTPException(404, _("Deze pagina bestaat niet."))
    store, admin = common.store(request), who.account
    work: Awaitable[Account | accounts.LinkMade]
    if action == "deactivate":
        work = accounts.deactivate(store, common.hub(request), admin, account_id)
    elif action == "reactivate":
        work = accounts.reactivate(store, admin, account_id)
    elif action == "unlock":
        work = accounts.unlock(store, admin, account_id)
    elif action == "link":
        work = accounts.password_link(store, common.settings(request), admin, account_id)
    else:
        work = accounts.set_admin(store, admin, account_id, action == "make-admin")
    try:
        done = await work
    except FlowError as error:
        return await _page(request, who, common.STATUS[error.kind], error=error.message)
    if isinstance(done, accounts.LinkMade):
        return await _page(request, who, account_link=done)
    flash = {
        "deactivate": _(
            "Het account van %(name)s staat uit. Waar %(name)s was ingelogd, is dat voorbij.",
            name=done.name,
        ),
        "reactivate": _("Het account van %(name)s staat weer aan.", name=done.name),
        "unlock": _("%(name)s kan weer inloggen.", name=done.name),
        "make-admin": _("%(name)s is nu beheerder.", name=done.name),
        "take-admin": _("%(name)s is geen beheerder meer.", name=done.name),
    }[action]
    return await _page(request, who, flash=flash)


async def hand_over(request: Request) -> Response:
    """Hand the conference in the URL over to the coordinator chosen in the form."""
    who = await _admin(request)
    account_id = common.integer(common.text(await request.form(), "account_id"))
    if account_id is None:
        return await _page(request, who, 400, error=_("Kies aan wie je de conferentie geeft."))
    try:
        account = await accounts.hand_over(
            common.store(request),
            common.hub(request),
            who.account,
            request.path_params["conference_id"],
            account_id,
        )
    except FlowError as error:
        return await _page(request, who, common.STATUS[error.kind], error=error.message)
    flash = _("%(name)s begeleidt de conferentie nu.", name=account.name)
    return await _page(request, who, flash=flash)
