"""The second factor as people use it: setting up an authenticator app, confirming it with a
code, one-time recovery codes, turning it off, the login's second step, and the admin's
requirement for everyone. Everything is audited (in the rows of no conference).

The app's secret is stored encrypted (AES-GCM with a key derived from the instance secret and
bound to the account), recovery codes and the half-done login's token only as keyed hashes.
Neither secrets nor codes are ever logged or audited. Changing ``KRING_SECRET_KEY`` makes the
stored secrets unreadable and the recovery codes unusable (their hashes are keyed with it):
an operator turns those coordinators' second factor off (``kring coordinator
two-factor-off``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from enum import Enum

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from server.conference import auth
from server.conference.refusals import FlowError
from server.i18n import _
from server.rules import twofactor
from server.rules.refusal import Refusal
from server.settings import Settings
from server.storage.models import Account, SecondFactor, utcnow
from server.storage.store import Reason, Store, StoreError

_SEALED = "v1:"


def _key(settings: Settings) -> bytes:
    return hmac.new(settings.secret_key.encode(), b"kring second factor", hashlib.sha256).digest()


def seal(settings: Settings, account_id: int, secret: str) -> str:
    """The app's secret as stored: encrypted, and readable only as this account's."""
    nonce = os.urandom(12)
    sealed = AESGCM(_key(settings)).encrypt(
        nonce, secret.encode(), f"account {account_id}".encode()
    )
    return _SEALED + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(settings: Settings, account_id: int, stored: str) -> str | None:
    """The app's secret, or None when it cannot be read (another instance secret)."""
    if not stored.startswith(_SEALED):
        return None
    try:
        raw = base64.urlsafe_b64decode(stored.removeprefix(_SEALED))
        plain = AESGCM(_key(settings)).decrypt(raw[:12], raw[12:], f"account {account_id}".encode())
    except (InvalidTag, ValueError):
        return None
    return plain.decode()


def _recovery_hash(settings: Settings, code: str) -> str:
    return auth.hash_token(settings.secret_key, "recovery code " + code)


def _new_recovery_codes(settings: Settings) -> tuple[list[str], list[str]]:
    """Ten new recovery codes as shown (once), and their hashes as stored."""
    codes = [
        "".join(
            secrets.choice(twofactor.RECOVERY_ALPHABET) for _ in range(twofactor.RECOVERY_LENGTH)
        )
        for _ in range(twofactor.RECOVERY_COUNT)
    ]
    return [twofactor.shown(c) for c in codes], [_recovery_hash(settings, c) for c in codes]


# -- setting it up --------------------------------------------------------------------------


@dataclass(frozen=True)
class SetUp:
    """What the set-up page shows: the address the QR code holds, and the secret to type."""

    address: str
    secret: str


async def begin(store: Store, settings: Settings, account: Account) -> SetUp:
    """The second factor being set up for this account (the same one after a reload)."""
    try:
        secret = pyotp.random_base32()
        factor = await store.begin_second_factor(account.id, seal(settings, account.id, secret))
        found = unseal(settings, account.id, factor.secret)
        if found is None:  # begun under another instance secret: start over
            await store.turn_off_second_factor(account.id)
            factor = await store.begin_second_factor(account.id, seal(settings, account.id, secret))
            found = unseal(settings, account.id, factor.secret)
    except StoreError as exc:
        if exc.reason is Reason.SECOND_FACTOR_ON:
            raise FlowError(Refusal.CONFLICT, _("Je tweestapsverificatie staat al aan.")) from None
        raise
    assert found is not None
    return SetUp(twofactor.setup_address(found, account.email), twofactor.spaced(found))


async def confirm(store: Store, settings: Settings, account: Account, raw: str) -> list[str]:
    """Turn the second factor on with a code from the app; returns the ten recovery codes,
    to show once."""
    typed = twofactor.typed_code(raw)
    if typed is None or typed.kind != "app":
        raise FlowError(Refusal.INVALID, _("Typ de zes cijfers die je app nu laat zien."))
    factor = await store.second_factor(account.id)
    if factor is not None and factor.confirmed_at is not None:
        raise FlowError(Refusal.CONFLICT, _("Je tweestapsverificatie staat al aan."))
    secret = None if factor is None else unseal(settings, account.id, factor.secret)
    if secret is None:
        raise FlowError(Refusal.CONFLICT, _("Begin opnieuw: scan de nieuwe QR-code."))
    step = twofactor.matching_step(secret, typed.code, utcnow(), None)
    if step is None:
        raise FlowError(
            Refusal.INVALID,
            _(
                "Deze code klopt niet. Typ de code die je app nu laat zien. Klopt hij nog "
                "steeds niet? Kijk of de tijd op je telefoon goed staat."
            ),
        )
    shown, hashes = _new_recovery_codes(settings)
    if not await store.confirm_second_factor(account.id, step, hashes, auth.account_actor(account)):
        raise FlowError(Refusal.CONFLICT, _("Je tweestapsverificatie staat al aan."))
    return shown


# -- checking a code ------------------------------------------------------------------------


class Check(Enum):
    OK = "ok"
    RECOVERY = "recovery"  # a recovery code, now used up
    WRONG = "wrong"
    USED = "used"  # the app's code of a step already used: wait for the next one
    LOCKED = "locked"  # too many wrong answers (the login limit)


async def _check_code(
    store: Store, settings: Settings, account: Account, factor: SecondFactor, typed: twofactor.Typed
) -> tuple[Check, int]:
    """Spend a code: an app's (once per step) or a recovery code (once). Returns the outcome
    and, for a recovery code, how many are left."""
    if typed.kind == "recovery":
        left = await store.use_recovery_code(account.id, _recovery_hash(settings, typed.code))
        if left is None:
            return Check.WRONG, 0
        await store.audit(None, auth.account_actor(account), "recovery_code_used", {"left": left})
        return Check.RECOVERY, left
    secret = unseal(settings, account.id, factor.secret)
    if secret is None:
        return Check.WRONG, 0
    now = utcnow()
    step = twofactor.matching_step(secret, typed.code, now, factor.last_step)
    if step is not None and await store.use_code_step(account.id, step):
        return Check.OK, 0
    if twofactor.matching_step(secret, typed.code, now, None) is not None:
        return Check.USED, 0
    return Check.WRONG, 0


async def _attempt(store: Store, settings: Settings, account: Account, address: str) -> bool:
    """Count an attempt against the login limit, as a password is counted (per email and
    address, and per email); False: the login is locked."""
    key = account.email
    from_here = await store.count_login_attempt(auth.login_pair_key(key, address), utcnow())
    everywhere = await store.count_login_attempt(key, utcnow())
    return (
        from_here <= settings.login_max_failures
        and everywhere <= settings.login_max_failures_per_email
    )


async def _succeeded(store: Store, account: Account, address: str, attempts: int) -> None:
    """The login (or the check) succeeded: forget this address's failures, and take back
    this many counted attempts against the email (only failures count there)."""
    await store.clear_login_failures(auth.login_pair_key(account.email, address))
    for _attempt_made in range(attempts):
        await store.uncount_login_attempt(account.email)


async def _refused(store: Store, account: Account, check: Check) -> None:
    await store.audit(
        None, auth.account_actor(account), "two_factor_refused", {"why": check.value}, coalesce=True
    )


async def check_again(
    store: Store, settings: Settings, account: Account, raw: str, address: str
) -> Check:
    """Before turning the second factor off or making new recovery codes: the password, or a
    code (app or recovery), counted against the login limit like a login."""
    factor = await store.second_factor(account.id)
    if factor is None or factor.confirmed_at is None:
        raise FlowError(Refusal.CONFLICT, _("Je tweestapsverificatie staat uit."))
    if not raw:
        raise FlowError(Refusal.INVALID, _("Typ je wachtwoord of een code uit je app."))
    if not await _attempt(store, settings, account, address):
        return Check.LOCKED
    typed = twofactor.typed_code(raw)
    check = Check.WRONG
    if typed is not None:
        check, _left = await _check_code(store, settings, account, factor, typed)
    # A password may look like a recovery code (ten letters and digits): try it as one too.
    if check is Check.WRONG and await auth.verify_password(account.password_hash, raw):
        check = Check.OK
    if check in (Check.OK, Check.RECOVERY):
        await _succeeded(store, account, address, 1)
    else:
        await _refused(store, account, check)
    return check


async def turn_off(store: Store, account: Account) -> list[int]:
    """Turn the second factor off (after :func:`check_again`). Where the instance requires
    one, this ends every sign-in of the account (set up a new one at the next login: how a
    new phone is set up); returns the ended sessions' ids, whose connections the caller
    closes."""
    await store.turn_off_second_factor(account.id)
    ended = (
        await store.end_account_sessions(account.id) if await store.two_factor_required() else []
    )
    await store.audit(
        None, auth.account_actor(account), "two_factor_off", {"sessions_ended": len(ended)}
    )
    return ended


async def new_recovery_codes(store: Store, settings: Settings, account: Account) -> list[str]:
    """Replace every recovery code (after :func:`check_again`); returns the new ones."""
    shown, hashes = _new_recovery_codes(settings)
    if not await store.replace_recovery_codes(account.id, hashes):
        raise FlowError(Refusal.CONFLICT, _("Je tweestapsverificatie staat uit."))
    await store.audit(None, auth.account_actor(account), "recovery_codes_renewed")
    return shown


# -- the login's second step ----------------------------------------------------------------


@dataclass(frozen=True)
class Halfway:
    """A login waiting for its second step: the browser's token (its cookie), and what the
    step is: ``code`` or ``set_up``."""

    token: str
    purpose: str


async def after_password(
    store: Store, settings: Settings, result: auth.LoginResult, account: Account, next_url: str
) -> Halfway | None:
    """What follows a right password: a code to give (the second factor is on), a second
    factor to set up first (the instance requires one), or nothing (None: sign in)."""
    if result is auth.LoginResult.SECOND_FACTOR:
        purpose, wait = "code", twofactor.CODE_WAIT
    elif await store.two_factor_required():
        purpose, wait = "set_up", twofactor.SET_UP_WAIT
    else:
        return None
    token = auth.new_token()
    await store.start_login_step(
        auth.hash_token(settings.secret_key, token),
        account.id,
        purpose,
        next_url,
        utcnow() + wait,
    )
    return Halfway(token, purpose)


@dataclass(frozen=True)
class Waiting:
    """A login halfway, as its browser's token found it."""

    account: Account
    purpose: str
    next_url: str
    token_hash: str


async def halfway(store: Store, settings: Settings, token: str | None) -> Waiting | None:
    """The login halfway of this browser's token, unless it expired or its account was
    turned off meanwhile (None)."""
    if not token:
        return None
    token_hash = auth.hash_token(settings.secret_key, token)
    found = await store.login_step(token_hash)
    if found is None or found[0].expires_at <= utcnow() or found[1].deactivated_at is not None:
        return None
    step, account = found
    return Waiting(account, step.purpose, step.next_url, token_hash)


@dataclass(frozen=True)
class SignedIn:
    """The login is done: the session's token (the cookie) and where to go."""

    token: str
    next_url: str
    recovery_left: int | None = None  # after a recovery code: how many are left


async def give_code(
    store: Store, settings: Settings, waiting: Waiting, raw: str, address: str
) -> SignedIn | Check:
    """The login's second step: a code from the app or a recovery code. A wrong one counts
    against the login limit like a wrong password; the password's attempt stays counted
    until the code is right."""
    account = waiting.account
    typed = twofactor.typed_code(raw)
    if typed is None:
        raise FlowError(
            Refusal.INVALID,
            _("Typ de zes cijfers uit je app, of een herstelcode van tien tekens."),
        )
    factor = await store.second_factor(account.id)
    if factor is None or factor.confirmed_at is None:
        raise FlowError(Refusal.CONFLICT, _("Je tweestapsverificatie staat uit. Log opnieuw in."))
    if not await _attempt(store, settings, account, address):
        return Check.LOCKED
    check, left = await _check_code(store, settings, account, factor, typed)
    if check not in (Check.OK, Check.RECOVERY):
        await _refused(store, account, check)
        return check
    return await _finish(
        store, settings, waiting, address, 2, left if typed.kind == "recovery" else None
    )


async def _finish(
    store: Store,
    settings: Settings,
    waiting: Waiting,
    address: str,
    attempts: int,
    recovery_left: int | None = None,
) -> SignedIn:
    if not await store.end_login_step(waiting.token_hash):  # used by another request just now
        raise FlowError(Refusal.NOT_SIGNED_IN, _("Deze inlogpoging is verlopen. Log opnieuw in."))
    await _succeeded(store, waiting.account, address, attempts)
    token = await auth.start_coordinator_session(store, settings, waiting.account)
    return SignedIn(token, waiting.next_url, recovery_left)


async def set_up_and_sign_in(
    store: Store, settings: Settings, waiting: Waiting, raw: str, address: str
) -> tuple[list[str], SignedIn]:
    """A login that had to set up a second factor first: confirm it with a code, then sign
    in. Returns the recovery codes (to show once) and the sign-in."""
    codes = await confirm(store, settings, waiting.account, raw)
    return codes, await _finish(store, settings, waiting, address, 0)


# -- the requirement for everyone -----------------------------------------------------------


async def require(store: Store, account: Account, on: bool) -> list[int]:
    """An admin requires a second factor of everyone, or no longer. Turning it on ends the
    sign-ins of every account without one (they set one up at their next login); returns
    those sessions' ids, whose live connections the caller closes."""
    if account.role != "admin":
        raise FlowError(Refusal.FORBIDDEN, _("Dit kan alleen een beheerder."))
    if on:
        factor = await store.second_factor(account.id)
        if factor is None or factor.confirmed_at is None:
            raise FlowError(
                Refusal.CONFLICT,
                _("Zet eerst je eigen tweestapsverificatie aan."),
            )
    return await store.require_two_factor(on, auth.account_actor(account))
