"""Coordinator accounts in the browser: invitations and reset links (one-time, stored hashed,
mailed when a mail server is set, else shown once to copy), choosing a password through one,
changing one's own password, and what an admin does: turn an account off or on, lift a
login's lock, give or take the admin role, hand a conference over. Every change is audited;
those about an account have no conference (``audit_event.conference_id`` NULL).

Ending sign-ins closes their live documents and event streams at once, on every process
(``hub.end_sessions``), as logging out does."""

from __future__ import annotations

import asyncio
import email.errors
import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from enum import Enum

from server import i18n
from server.conference import auth, reminders, sessions
from server.conference.refusals import FlowError
from server.i18n import N_, _
from server.rooms.hub import RoomHub
from server.rules.refusal import Refusal
from server.settings import Settings
from server.storage.models import Account, utcnow
from server.storage.store import (
    AccountLinkMatch,
    DuplicateEmail,
    LinkUsed,
    NotFound,
    Reason,
    Store,
    StoreError,
)

log = logging.getLogger("kring.accounts")

LINK_HOURS = {"invite": 48, "reset": 24}
FORGOTTEN_MAILS_PER_WINDOW = 3  # reset mails one address may be sent per login window
TURNED_OFF = N_("Een beheerder heeft je account uitgezet.")
HANDED_OVER = N_("Deze conferentie wordt nu door een andere coördinator begeleid.")
LAST_ADMIN = N_(
    "Kring houdt altijd minstens één beheerder die kan inloggen. Maak eerst iemand anders "
    "beheerder."
)


def is_admin(account: Account) -> bool:
    return account.role == "admin"


# -- one-time links ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkMade:
    """A link made for an account: mailed, or (no mail server, or it failed) to copy."""

    account: Account
    purpose: str
    url: str
    mailed: bool
    mail_problem: str = ""  # why the mail did not go (the link is shown instead)


def _mail(settings: Settings, account: Account, purpose: str, url: str, by: str) -> EmailMessage:
    hours = LINK_HOURS[purpose]
    with i18n.using(account.language or i18n.get_language()):
        if purpose == "invite":
            subject = _("Je bent uitgenodigd als coördinator in Kring")
            why = _(
                "%(by)s heeft je uitgenodigd als coördinator in Kring. Kies met deze link je "
                "wachtwoord. De link werkt één keer, en %(hours)s uur lang:",
                by=by,
                hours=hours,
            )
        else:
            subject = _("Een nieuw wachtwoord voor Kring")
            why = _(
                "Er is een nieuw wachtwoord gevraagd voor je account in Kring. Kies het met "
                "deze link. De link werkt één keer, en %(hours)s uur lang:",
                hours=hours,
            )
        body = "\n\n".join(
            [
                _("Beste %(name)s,", name=account.name),
                f"{why}\n{url}",
                _("Had je dit niet verwacht? Dan kun je deze e-mail negeren."),
            ]
        )
        language = i18n.get_language()
    return reminders.automatic_mail(settings, account.name, account.email, subject, body, language)


async def _new_link(
    store: Store,
    settings: Settings,
    account: Account,
    by: str,
    created_by: str,
    conference_id: str | None = None,
) -> LinkMade:
    """A fresh link (the account's earlier ones end): an invitation while the account has no
    password, else a reset. Mailed when a mail server is set."""
    purpose = "reset" if account.password_hash else "invite"
    token = auth.new_token()
    await store.create_account_link(
        account.id,
        purpose,
        auth.hash_token(settings.secret_key, token),
        expires_at=utcnow() + timedelta(hours=LINK_HOURS[purpose]),
        created_by=created_by,
        conference_id=conference_id,
    )
    url = f"{settings.base_url}/password/{token}"
    if not settings.smtp.enabled:
        return LinkMade(account, purpose, url, mailed=False)
    try:
        message = _mail(settings, account, purpose, url, by)
        await asyncio.to_thread(reminders.send, settings.smtp, message)
    except (OSError, ValueError, email.errors.MessageError, smtplib.SMTPException) as exc:
        log.warning("a password link for account %s was not mailed: %s", account.id, exc)
        problem = _(
            "De e-mail is niet verstuurd (%(reason)s). Kopieer de link en geef hem zelf door.",
            reason=str(exc) or type(exc).__name__,
        )
        return LinkMade(account, purpose, url, mailed=False, mail_problem=problem)
    return LinkMade(account, purpose, url, mailed=True)


async def invite(
    store: Store,
    settings: Settings,
    by: Account,
    email: str,
    name: str,
    conference_id: str | None = None,
) -> LinkMade:
    """Invite a coordinator by email: an account without a password and a link to choose
    one (with ``conference_id``: they join it as co-coordinator once they have)."""
    try:
        account = await store.invite_account(email, name)
    except DuplicateEmail:
        raise FlowError(
            Refusal.CONFLICT, _("Er is al een account met dit e-mailadres."), "email"
        ) from None
    made = await _new_link(store, settings, account, by.name, auth.account_actor(by), conference_id)
    await store.audit(None, auth.account_actor(by), "account_invited", {"account_id": account.id})
    return made


async def invite_co_coordinator(
    store: Store, settings: Settings, by: Account, conference_id: str, email: str, name: str
) -> LinkMade:
    """A coordinator invites someone without an account to run their conference with them:
    they join it once they have chosen their password."""
    made = await invite(store, settings, by, email, name, conference_id)
    await store.audit(conference_id, auth.account_actor(by), "coordinator_invited", {"name": name})
    return made


async def password_link(
    store: Store, settings: Settings, admin: Account, account_id: int
) -> LinkMade:
    """An admin makes a link for someone to choose a (new) password."""
    account = await _account(store, account_id)
    if account.deactivated_at is not None:
        raise FlowError(Refusal.CONFLICT, _("Dit account staat uit. Zet het eerst weer aan."))
    made = await _new_link(store, settings, account, admin.name, auth.account_actor(admin))
    await store.audit(
        None, auth.account_actor(admin), "password_link_made", {"account_id": account.id}
    )
    return made


async def forgotten(store: Store, settings: Settings, email: str) -> None:
    """ "Wachtwoord vergeten": mail a reset link to the address, if it is an account that is
    on and has a password, and a mail server is set. Says nothing of whether it is: the page
    answers the same whatever was typed. A few mails per address per quarter of an hour."""
    key = email.strip().lower()
    if not settings.smtp.enabled:
        return
    if await store.count_login_attempt(f"forgotten:{key}"[:254], utcnow()) > (
        FORGOTTEN_MAILS_PER_WINDOW
    ):
        return
    account = await store.account_by_email(key)
    if account is None or account.deactivated_at is not None or not account.password_hash:
        return
    made = await _new_link(store, settings, account, account.name, "forgotten")
    if made.mailed:
        await store.audit(None, "forgotten", "password_link_mailed", {"account_id": account.id})


class LinkState(Enum):
    OK = "ok"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


async def open_link(
    store: Store, settings: Settings, token: str
) -> tuple[LinkState, AccountLinkMatch | None]:
    """Whether a password link works: unknown, used (or ended by a newer one, or its account
    turned off), past its hours, or fine."""
    match = await store.account_link_by_hash(auth.hash_token(settings.secret_key, token))
    if match is None:
        return LinkState.UNKNOWN, None
    if match.link.used_at is not None or match.account.deactivated_at is not None:
        return LinkState.USED, match
    if match.link.expires_at <= utcnow():
        return LinkState.EXPIRED, match
    return LinkState.OK, match


def _new_password_problem(password: str, again: str, email: str) -> FlowError | None:
    problem = auth.password_problem(password, email)
    if problem:
        return FlowError(Refusal.INVALID, problem, "password")
    if password != again:
        return FlowError(
            Refusal.INVALID, _("De twee wachtwoorden zijn niet gelijk."), "password_again"
        )
    return None


async def choose_password(
    store: Store, hub: RoomHub, match: AccountLinkMatch, password: str, again: str
) -> LinkUsed:
    """Set the account's password through its (checked) link; the link is then used up, the
    account's other sign-ins end, and an invited co-coordinator joins their conference."""
    problem = _new_password_problem(password, again, match.account.email)
    if problem:
        raise problem
    try:
        used = await store.use_account_link(match.link.id, await auth.hash_password(password))
    except StoreError:
        raise FlowError(
            Refusal.CONFLICT, _("Deze link is net al gebruikt, of hij is verlopen.")
        ) from None
    hub.end_sessions(used.ended_sessions, sessions.ENDED)
    who = auth.account_actor(used.account)
    detail = {"account_id": used.account.id, "purpose": match.link.purpose}
    await store.audit(None, who, "password_set", detail)
    return used


async def change_password(
    store: Store,
    settings: Settings,
    hub: RoomHub,
    who: auth.CoordinatorIdentity,
    address: str,
    current: str,
    password: str,
    again: str,
) -> None:
    """A coordinator's own new password, given the current one (counted as a login attempt,
    so a stolen sign-in cannot guess it); their other sign-ins end."""
    account = who.account
    result, _found = await auth.authenticate(store, settings, account.email, current, address)
    if result is auth.LoginResult.LOCKED:
        raise FlowError(
            Refusal.FORBIDDEN,
            _("Te veel mislukte pogingen. Probeer het over een kwartier opnieuw."),
            "old_password",
        )
    if result is auth.LoginResult.SECOND_FACTOR:
        # This sign-in gave its code already: the password is all that is asked again here.
        await auth.password_accepted(store, account.email, address)
    elif result is not auth.LoginResult.OK:
        raise FlowError(Refusal.INVALID, _("Je huidige wachtwoord klopt niet."), "old_password")
    problem = _new_password_problem(password, again, account.email)
    if problem:
        raise problem
    if password == current:
        raise FlowError(Refusal.INVALID, _("Kies een ander wachtwoord dan je huidige."), "password")
    hashed = await auth.hash_password(password)
    ended = await store.change_password(account.id, hashed, keep_session=who.session_id)
    hub.end_sessions(ended, sessions.ENDED)
    await store.audit(
        None, auth.account_actor(account), "password_changed", {"account_id": account.id}
    )


# -- what an admin does -----------------------------------------------------------------------


async def _account(store: Store, account_id: int) -> Account:
    account = await store.account(account_id)
    if account is None:
        raise FlowError(Refusal.MISSING, _("Dit account bestaat niet."))
    return account


def _refused(error: StoreError) -> FlowError:
    if error.reason is Reason.LAST_ADMIN:
        return FlowError(Refusal.CONFLICT, _(LAST_ADMIN))
    if error.reason is Reason.ACCOUNT_OFF:
        return FlowError(Refusal.CONFLICT, _("Dit account staat uit."))
    if error.reason is Reason.SAME_OWNER:
        return FlowError(Refusal.CONFLICT, _("Deze coördinator begeleidt de conferentie al."))
    if error.reason is Reason.NO_CONFERENCE:
        return FlowError(Refusal.MISSING, _("Deze conferentie bestaat niet (meer)."))
    return FlowError(Refusal.MISSING, _("Dit account bestaat niet."))


async def deactivate(store: Store, hub: RoomHub, admin: Account, account_id: int) -> Account:
    """Turn an account off: its sign-ins end and their live connections close at once."""
    if account_id == admin.id:
        raise FlowError(Refusal.CONFLICT, _("Je kunt je eigen account niet uitzetten."))
    account = await _account(store, account_id)
    try:
        ended = await store.deactivate_account(account_id)
    except StoreError as error:
        raise _refused(error) from None
    hub.end_sessions(ended, TURNED_OFF)
    await store.audit(
        None, auth.account_actor(admin), "account_deactivated", {"account_id": account_id}
    )
    return account


async def reactivate(store: Store, admin: Account, account_id: int) -> Account:
    account = await _account(store, account_id)
    if account.deactivated_at is None:
        raise FlowError(Refusal.CONFLICT, _("Dit account staat al aan."))
    await store.reactivate_account(account_id)
    await store.audit(
        None, auth.account_actor(admin), "account_reactivated", {"account_id": account_id}
    )
    return account


def login_lock_keys(account: Account) -> tuple[str, str]:
    key = account.email.strip().lower()
    return key, auth.login_pair_prefix(key)


async def is_locked(store: Store, settings: Settings, account: Account) -> bool:
    """Whether a login of this account is refused now, from one address or from all."""
    everywhere, one_address = await store.login_failures(*login_lock_keys(account))
    return (
        everywhere >= settings.login_max_failures_per_email
        or one_address >= settings.login_max_failures
    )


async def unlock(store: Store, admin: Account, account_id: int) -> Account:
    """Lift the lock on a login (from every address): the right password works again."""
    account = await _account(store, account_id)
    await store.clear_login_lock(*login_lock_keys(account))
    await store.audit(None, auth.account_actor(admin), "login_unlocked", {"account_id": account_id})
    return account


async def set_admin(store: Store, admin: Account, account_id: int, make: bool) -> Account:
    """Give or take the admin role; the last admin who can log in keeps it."""
    account = await _account(store, account_id)
    if is_admin(account) == make:
        raise FlowError(
            Refusal.CONFLICT,
            _("%(name)s is al beheerder.", name=account.name)
            if make
            else _("%(name)s is geen beheerder.", name=account.name),
        )
    try:
        await store.set_account_role(account_id, "admin" if make else "coordinator")
    except StoreError as error:
        raise _refused(error) from None
    kind = "admin_granted" if make else "admin_revoked"
    await store.audit(None, auth.account_actor(admin), kind, {"account_id": account_id})
    return account


async def hand_over(
    store: Store, hub: RoomHub, admin: Account, conference_id: str, account_id: int
) -> Account:
    """Another coordinator runs the conference; the previous one's live connections to it
    close (their other conferences go on)."""
    account = await _account(store, account_id)
    try:
        previous = await store.hand_over_conference(conference_id, account_id)
    except (StoreError, NotFound) as error:
        raise _refused(error) from None
    hub.drop_account(conference_id, previous, HANDED_OVER)
    before = await store.account(previous)
    detail = {"from_name": before.name if before else "?", "to_name": account.name}
    await store.audit(conference_id, auth.account_actor(admin), "conference_handed_over", detail)
    return account
