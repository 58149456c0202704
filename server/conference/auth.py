"""Who is asking: coordinator logins, invitation links, sign-ins and who may do what.

The tokens come in as plain strings; reading them from cookies (and setting those) is the web
layer's (``server/views/identity.py``)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import ARGON2_VERSION

from server import i18n
from server.i18n import N_, _
from server.rules import accounts
from server.rules.refusal import Refusal
from server.settings import Settings
from server.storage.models import Account, Conference, Invitation, Participant, Session, utcnow
from server.storage.store import InvitationMatch, SessionMatch, Store

_hasher = PasswordHasher()


def _unmatchable_hash() -> str:
    """An argon2 hash with this hasher's parameters that no password matches: a random salt
    and random bytes for the hash. Verifying against it costs as much as against a real one,
    and making it costs nothing (hashing at import took 180 ms of every process that imports
    this module: each `kring` command, each worker process of the heavy work)."""

    def random_b64(length: int) -> str:
        return base64.b64encode(secrets.token_bytes(length)).decode().rstrip("=")

    return (
        f"$argon2{_hasher.type.name.lower()}$v={ARGON2_VERSION}"
        f"$m={_hasher.memory_cost},t={_hasher.time_cost},p={_hasher.parallelism}"
        f"${random_b64(_hasher.salt_len)}${random_b64(_hasher.hash_len)}"
    )


# Verified against when an email is unknown, so a wrong email costs as much as a wrong password.
_DUMMY_HASH = _unmatchable_hash()


def new_token() -> str:
    """An unguessable token (256 bits) for invitation links and session cookies."""
    return secrets.token_urlsafe(32)


def hash_token(secret_key: str, token: str) -> str:
    """The keyed hash stored instead of a token: a stolen table cannot be turned into links."""
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


# Why a new password is not acceptable (too short, too common), or None.
password_problem = accounts.password_problem


# -- coordinator login ----------------------------------------------------------------------


class LoginResult(Enum):
    OK = "ok"
    SECOND_FACTOR = "second_factor"  # the password is right; a code must follow
    WRONG = "wrong"
    LOCKED = "locked"
    OFF = "off"  # the right password, but an admin turned the account off


def login_pair_prefix(email: str) -> str:
    """The start of the throttle's keys for one email address from any one client address
    (an admin's "unlock" clears them all)."""
    return "pair:" + hashlib.sha256(email.encode()).hexdigest()[:16] + ":"


def login_pair_key(email: str, address: str) -> str:
    """The throttle's key for one email address from one client address (hashed: it fits the
    column whatever their length, and the table holds no addresses)."""
    return login_pair_prefix(email) + hashlib.sha256(f"{email}\n{address}".encode()).hexdigest()


async def authenticate(
    store: Store, settings: Settings, email: str, password: str, address: str
) -> tuple[LoginResult, Account | None]:
    """Check a login from client ``address``. Unknown email and wrong password look the same
    from outside.

    Attempts are counted before the password is checked, per (email, client address) and per
    email across all addresses. A locked pair is refused whatever the password (else the lock
    would tell a guesser the right one); another address is not locked until the per-email
    limit, so guesses from one address cannot lock the owner out everywhere."""
    key = email.strip().lower()
    pair = login_pair_key(key, address)
    now = utcnow()
    from_here = await store.count_login_attempt(pair, now)
    everywhere = await store.count_login_attempt(key, now)
    if (
        from_here > settings.login_max_failures
        or everywhere > settings.login_max_failures_per_email
    ):
        return LoginResult.LOCKED, None
    account = await store.account_by_email(key)
    # An invited account has no password yet: it costs as much as any wrong one.
    known = account.password_hash if account and account.password_hash else _DUMMY_HASH
    ok = await verify_password(known, password)
    if account is None or not ok or known is _DUMMY_HASH:
        return LoginResult.WRONG, None
    if account.deactivated_at is not None:  # said only to who knows the password
        return LoginResult.OFF, None
    factor = await store.second_factor(account.id)
    if factor is not None and factor.confirmed_at is not None:
        # Counted until the code is right too (conference/twofactor.py), so a known password
        # never resets the count of wrong codes.
        return LoginResult.SECOND_FACTOR, account
    await password_accepted(store, key, address)
    return LoginResult.OK, account


async def password_accepted(store: Store, email: str, address: str) -> None:
    """A right password: forget this address's failures and take back the attempt counted
    against the email (only failures count there)."""
    key = email.strip().lower()
    await store.clear_login_failures(login_pair_key(key, address))
    await store.uncount_login_attempt(key)


async def start_coordinator_session(store: Store, settings: Settings, account: Account) -> str:
    """Sign a coordinator in; returns the session's token (the cookie's value)."""
    token = new_token()
    await store.delete_expired_sessions(utcnow())  # logins are rare: a fine moment to tidy up
    expires = utcnow() + timedelta(days=settings.session_days)
    await store.create_session(
        hash_token(settings.secret_key, token), account_id=account.id, expires_at=expires
    )
    return token


# -- invitations ----------------------------------------------------------------------------


class LinkProblem(Enum):
    """Why an invitation link does not open Kring (the page says what to do)."""

    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"
    REMOVED = "removed"


def invitation_problem(
    invitation: Invitation,
    participant: Participant,
    conference: Conference,
    now: datetime,
    grace_days: int,
) -> LinkProblem | None:
    """Whether a link still works: not revoked, not past its expiry or the closing grace."""
    return problem_of_link(
        participant.removed_at,
        invitation.revoked_at,
        invitation.expires_at,
        conference.closed_at,
        now,
        grace_days,
    )


def problem_of_link(
    removed_at: datetime | None,
    revoked_at: datetime | None,
    expires_at: datetime | None,
    closed_at: datetime | None,
    now: datetime,
    grace_days: int,
) -> LinkProblem | None:
    """:func:`invitation_problem` from the four moments that decide it: when its participant
    was removed, the link revoked, when it expires, and when its conference closed."""
    if removed_at is not None:
        return LinkProblem.REMOVED
    if revoked_at is not None:
        return LinkProblem.REVOKED
    if expires_at is not None and expires_at <= now:
        return LinkProblem.EXPIRED
    if closed_at is not None and closed_at + timedelta(days=grace_days) <= now:
        return LinkProblem.EXPIRED
    return None


def link_problem(match: InvitationMatch, grace_days: int) -> LinkProblem | None:
    """Whether a link found by its token still works now (see :func:`invitation_problem`)."""
    return invitation_problem(
        match.invitation, match.participant, match.conference, utcnow(), grace_days
    )


async def issue_link(
    store: Store, settings: Settings, participant_id: int, channel: str = "message"
) -> str:
    """Make one more personal link for a participant, handed out by ``channel`` (a
    message, a card, a mail); their earlier links keep working, whatever way they were
    handed out (in private time a device that signs in through any link waits for the
    family). Ending a link is the coordinator's separate choice (:func:`end_link`)."""
    token = new_token()
    await store.issue_invitation(
        participant_id, hash_token(settings.secret_key, token), channel=channel
    )
    return f"{settings.base_url}/i/{token}"


async def end_link(
    store: Store, conference_id: str, participant_id: int, invitation_id: int
) -> tuple[Invitation, list[int]]:
    """End one of a participant's links, and the sign-ins made with it; their other links
    and the devices signed in with those keep working. Returns the link and the ended
    sign-ins (whose live connections the caller closes). The store's NotFound (not this
    person's link) and StoreError (ended already) pass through."""
    return await store.end_invitation(conference_id, participant_id, invitation_id)


async def start_participant_session(
    store: Store,
    settings: Settings,
    match: InvitationMatch,
    vouched_by: str | None = None,
) -> tuple[Session, str]:
    """Sign a device in as the participant of a (checked) invitation link; returns the
    session and its token (the cookie's value). In private time the new session waits until
    the family lets it in (``session.admission``), unless ``vouched_by`` (see
    :func:`family_device`)."""
    session_token = new_token()
    session = await store.create_participant_session(
        hash_token(settings.secret_key, session_token), match.invitation.id, vouched_by
    )
    await store.touch_invitation(match.invitation.id)
    return session, session_token


async def family_device(
    store: Store, settings: Settings, token: str | None, conference_id: str
) -> str | None:
    """The family member (an actor) this device is already let in as in this conference, if
    any: a link opened on it in private time is then in at once (a shared tablet switching
    person must not lock the family out). Only a family member's admitted sign-in counts: a
    professional's or a waiting one vouches for nothing. ``token``: the device's participant
    sign-in, if any."""
    identity = await participant_signed_in(store, settings, token)
    if (
        isinstance(identity, ParticipantIdentity)
        and identity.conference.id == conference_id
        and identity.admission == "in"
        and identity.participant.role in ("client", "network_member")
    ):
        return f"participant:{identity.participant.id}"
    return None


# -- sessions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoordinatorIdentity:
    account: Account
    session_id: int


@dataclass(frozen=True)
class ParticipantIdentity:
    participant: Participant
    conference: Conference
    invitation: Invitation
    session_id: int
    admission: str = "in"  # "waiting" or "refused": signed in during private time, not let in


def account_actor(account: Account) -> str:
    """An account as the audit log names who did something."""
    return f"coordinator:{account.id}"


class CookieState(Enum):
    ABSENT = "absent"
    INVALID = "invalid"  # forged, ended or expired: say so, do not pretend it was never sent


async def _session_of(
    store: Store, settings: Settings, token: str | None
) -> SessionMatch | CookieState:
    if not token:
        return CookieState.ABSENT
    match = await store.session_by_hash(hash_token(settings.secret_key, token))
    return CookieState.INVALID if match is None else match


async def coordinator_signed_in(
    store: Store, settings: Settings, token: str | None
) -> CoordinatorIdentity | CookieState:
    """The coordinator whose sign-in ``token`` is, if it still holds."""
    match = await _session_of(store, settings, token)
    if isinstance(match, CookieState):
        return match
    now = utcnow()
    if (
        match.account is None
        or match.account.deactivated_at is not None
        or (match.session.expires_at is not None and match.session.expires_at <= now)
    ):
        return CookieState.INVALID
    # Sliding expiry, written at most once an hour so page views stay read-only.
    if now - match.session.last_seen_at > timedelta(hours=1):
        await store.extend_session(match.session.id, now + timedelta(days=settings.session_days))
    i18n.use_person_language(match.account.language)
    return CoordinatorIdentity(account=match.account, session_id=match.session.id)


async def participant_signed_in(
    store: Store, settings: Settings, token: str | None
) -> ParticipantIdentity | CookieState:
    """The participant whose sign-in ``token`` is, if it and their link still hold."""
    match = await _session_of(store, settings, token)
    if isinstance(match, CookieState):
        return match
    expires = match.session.expires_at
    if match.invitation is None or (expires is not None and expires <= utcnow()):
        return CookieState.INVALID
    inv = match.invitation
    if invitation_problem(
        inv.invitation, inv.participant, inv.conference, utcnow(), settings.invitation_grace_days
    ):
        return CookieState.INVALID
    i18n.use_person_language(inv.participant.language)
    return ParticipantIdentity(
        participant=inv.participant,
        conference=inv.conference,
        invitation=inv.invitation,
        session_id=match.session.id,
        admission=match.session.admission,
    )


async def may_coordinate(store: Store, account: Account, conference: Conference) -> bool:
    """Whether this account runs the conference: its owner, a co-coordinator, or an admin."""
    return (
        conference.owner_id == account.id
        or account.role == "admin"
        or await store.is_coordinator_of(conference.id, account.id)
    )


def may_erase(account: Account, conference: Conference) -> bool:
    """Whether this account may erase the conference: its owner or an admin (a
    co-coordinator may not)."""
    return account.role == "admin" or conference.owner_id == account.id


@dataclass(frozen=True)
class Person:
    """Someone acting in one conference: a participant through their link, or a coordinator
    who runs it (through their login)."""

    conference: Conference
    role: str
    participant_id: int | None  # None for a coordinator (and an admin)
    name: str
    actor: str  # who, in the audit log
    action_team_member: bool = False
    account: Account | None = None  # a coordinator's login (the page header shows its name)
    invitation_id: int | None = None  # the link a participant came in with
    session_id: int | None = None  # the sign-in on this device (a cookie's session row)
    supporter: bool = False  # a network member the client chose for the compass


@dataclass(frozen=True)
class NotAllowed:
    """Why nobody (allowed) is asking: what kind of refusal and a sentence for the person."""

    kind: Refusal
    reason: str


NOT_SIGNED_IN = N_("Je bent niet aangemeld. Open je persoonlijke link opnieuw.")
WAITING = N_("Je wacht tot de familie je binnenlaat.")
REFUSED = N_("De familie heeft je nu niet binnengelaten.")


@dataclass(frozen=True)
class Waiting(NotAllowed):
    """A device that signed in during private time and was not let in (yet): it sees its own
    name and the family's answer, nothing of the conference. A NotAllowed, so whatever
    refuses a stranger refuses it too; pages show the waiting page instead."""

    conference_id: str = ""
    participant_id: int = 0
    name: str = ""
    session_id: int = 0
    refused: bool = False


def waiting(identity: ParticipantIdentity) -> Waiting | NotAllowed | None:
    """Whether this sign-in is kept out until the family lets it in (None: it is in). A
    sign-in left waiting after private time ended (it is being ended) opens nothing."""
    if identity.admission == "in":
        return None
    if identity.conference.phase != "private_time":
        return NotAllowed(Refusal.NOT_SIGNED_IN, _(NOT_SIGNED_IN))
    refused = identity.admission == "refused"
    return Waiting(
        Refusal.FORBIDDEN,
        _(REFUSED) if refused else _(WAITING),
        conference_id=identity.conference.id,
        participant_id=identity.participant.id,
        name=identity.participant.name,
        session_id=identity.session_id,
        refused=refused,
    )


@dataclass(frozen=True)
class SignIns:
    """The sign-ins a device holds (the tokens of its cookies), each None when absent."""

    participant: str | None
    coordinator: str | None


async def person_in(
    store: Store, settings: Settings, sign_ins: SignIns, conference_id: str
) -> Person | NotAllowed:
    """Who is asking about this conference: this conference's participant sign-in first,
    else a coordinator who runs it."""
    participant = await participant_signed_in(store, settings, sign_ins.participant)
    if isinstance(participant, ParticipantIdentity) and participant.conference.id == conference_id:
        kept_out = waiting(participant)
        if kept_out is not None:
            return kept_out
        person = participant.participant
        return Person(
            participant.conference,
            person.role,
            person.id,
            person.name,
            f"participant:{person.id}",
            person.action_team,
            invitation_id=participant.invitation.id,
            session_id=participant.session_id,
            supporter=person.supporter,
        )
    coordinator = await coordinator_signed_in(store, settings, sign_ins.coordinator)
    if isinstance(coordinator, CoordinatorIdentity):
        conference = await store.conference(conference_id)
        if conference is None:
            return NotAllowed(Refusal.MISSING, _("Deze conferentie bestaat niet (meer)."))
        if not await may_coordinate(store, coordinator.account, conference):
            return NotAllowed(
                Refusal.FORBIDDEN, _("Deze conferentie wordt door een andere coördinator begeleid.")
            )
        account = coordinator.account
        return Person(
            conference,
            "coordinator",
            None,
            account.name,
            account_actor(account),
            account=account,
            session_id=coordinator.session_id,
        )
    if isinstance(participant, ParticipantIdentity):
        return NotAllowed(Refusal.FORBIDDEN, _("Deze link hoort bij een andere conferentie."))
    return NotAllowed(Refusal.NOT_SIGNED_IN, _(NOT_SIGNED_IN))


async def end_session(store: Store, settings: Settings, token: str | None) -> int | None:
    """End the sign-in of ``token``; returns the ended session's id (None: there was none),
    whose live connections the caller closes."""
    return await store.delete_session(hash_token(settings.secret_key, token)) if token else None


async def ended_sessions(store: Store, settings: Settings, ids: Collection[int]) -> set[int]:
    """Which of these sign-ins no longer hold: deleted (logout, password reset, a revoked or
    replaced link, a removed person), past their expiry, or on a link that stopped working."""
    now = utcnow()
    found = await store.sessions_by_id(ids)
    ended = set(ids) - set(found)
    grace = settings.invitation_grace_days
    for session_id, facts in found.items():
        expired = facts.expires_at is not None and facts.expires_at <= now
        link_ended = facts.invitation_id is not None and (
            facts.link_found is None
            or problem_of_link(
                facts.removed_at,
                facts.revoked_at,
                facts.link_expires_at,
                facts.closed_at,
                now,
                grace,
            )
            is not None
        )
        if expired or link_ended:
            ended.add(session_id)
    return ended
