"""Accounts as an admin keeps them: one-time links to set a password (an invitation or a
reset), turning an account off and on, the admin role (never the last admin's), a login's
lock, handing a conference over, and the account-level audit rows (``conference_id`` NULL).

What may be done, and by whom, is the caller's (``server/conference/accounts.py``); these
statements only keep the data whole: the last admin check is in the very statement that
would take the role away."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from server.storage.accounts import LOGIN_WINDOW
from server.storage.base import StoreBase, not_erasing, rowcount
from server.storage.errors import DuplicateEmail, NotFound, Reason, StoreError
from server.storage.models import (
    Account,
    AccountLink,
    AuditEvent,
    Conference,
    LoginStep,
    LoginThrottle,
    Participant,
    Session,
    utcnow,
)


@dataclass(frozen=True)
class AccountLinkMatch:
    link: AccountLink
    account: Account


@dataclass(frozen=True)
class LinkUsed:
    """A link that set a password: its account, the sign-ins that ended, and the conference
    an invited co-coordinator joined (None: none)."""

    account: Account
    ended_sessions: list[int]
    joined: str | None


async def _lock_admins(db: AsyncSession) -> None:
    """Lock the admins' rows until this transaction ends. Without it, on PostgreSQL two
    admins taking each other's role (or turning each other off) at once each see the other
    still an admin, and both succeed: no admin left. With it the second waits, and its
    statement then sees the first one's change. (SQLite writes one at a time anyway.)"""
    await db.execute(select(Account.id).where(Account.role == "admin").with_for_update())


def _other_admins(account_id: int) -> ColumnElement[int]:
    """How many admins besides this account can log in (turned on, with a password)."""
    other = aliased(Account)
    return (
        select(func.count(other.id))
        .where(
            other.id != account_id,
            other.role == "admin",
            other.deactivated_at.is_(None),
            other.password_hash != "",
        )
        .scalar_subquery()
    )


class AdministrationMixin(StoreBase):
    """One-time password links, turning accounts off and on, roles, locks, hand-over."""

    # -- one-time links -------------------------------------------------------------------

    async def invite_account(self, email: str, name: str) -> Account:
        """A new account without a password (it cannot log in until its invitation link is
        used); an invited account that never set one is found again. DuplicateEmail: the
        address has an account with a password."""
        key = email.strip().lower()
        async with self._sessions() as db:
            account = await db.scalar(select(Account).where(Account.email == key))
            if account is not None:
                if account.password_hash:
                    raise DuplicateEmail(key)
                return account
            account = Account(email=key, name=name, password_hash="", role="coordinator")
            db.add(account)
            try:
                await db.commit()
            except IntegrityError:  # invited by someone else at the same moment
                raise DuplicateEmail(key) from None
            return account

    async def create_account_link(
        self,
        account_id: int,
        purpose: str,
        token_hash: str,
        *,
        expires_at: datetime,
        created_by: str,
        conference_id: str | None = None,
    ) -> AccountLink:
        """One more link for the account; its earlier unused links end (one works at a time).
        An invitation renewed without a conference keeps the one the earlier link named."""
        now = utcnow()
        async with self._sessions() as db:
            if purpose == "invite" and conference_id is None:
                conference_id = await db.scalar(
                    select(AccountLink.conference_id)
                    .where(AccountLink.account_id == account_id, AccountLink.used_at.is_(None))
                    .order_by(AccountLink.id.desc())
                    .limit(1)
                )
            await db.execute(
                update(AccountLink)
                .where(AccountLink.account_id == account_id, AccountLink.used_at.is_(None))
                .values(used_at=now)
            )
            link = AccountLink(
                account_id=account_id,
                purpose=purpose,
                token_hash=token_hash,
                conference_id=conference_id,
                created_by=created_by,
                created_at=now,
                expires_at=expires_at,
            )
            db.add(link)
            await db.commit()
        return link

    async def account_link_by_hash(self, token_hash: str) -> AccountLinkMatch | None:
        """The link with its account; whether it still works is the caller's decision."""
        async with self._sessions() as db:
            row = (
                await db.execute(
                    select(AccountLink, Account)
                    .join(Account, Account.id == AccountLink.account_id)
                    .outerjoin(Conference, Conference.id == AccountLink.conference_id)
                    .where(AccountLink.token_hash == token_hash, not_erasing())
                )
            ).first()
        return None if row is None else AccountLinkMatch(row[0], row[1])

    async def use_account_link(self, link_id: int, password_hash: str) -> LinkUsed:
        """Set the password through a link, once: the link is marked used in the statement
        that checks it is unused and unexpired, so two tabs cannot both use it. Every sign-in
        of the account ends; an invited co-coordinator joins their conference. StoreError
        LINK_USED: used, expired, or its account is turned off."""
        now = utcnow()
        async with self._sessions() as db:
            row = (
                await db.execute(
                    update(AccountLink)
                    .where(
                        AccountLink.id == link_id,
                        AccountLink.used_at.is_(None),
                        AccountLink.expires_at > now,
                    )
                    .values(used_at=now)
                    .returning(AccountLink.account_id, AccountLink.conference_id)
                )
            ).first()
            account = None if row is None else await db.get(Account, row[0])
            if row is None or account is None or account.deactivated_at is not None:
                await db.rollback()
                raise StoreError(Reason.LINK_USED)
            account.password_hash = password_hash
            ended = await _end_sessions(db, account.id)
            joined = row[1]
            if joined is not None and not await _runs(db, joined, account.id):
                db.add(
                    Participant(
                        conference_id=joined,
                        name=account.name,
                        role="coordinator",
                        account_id=account.id,
                    )
                )
            await db.commit()
            return LinkUsed(account, ended, joined)

    # -- passwords and sessions -----------------------------------------------------------

    async def change_password(
        self, account_id: int, password_hash: str, keep_session: int | None
    ) -> list[int]:
        """A new password; every sign-in of the account but ``keep_session`` ends (their
        ids are returned, for the caller to close their connections)."""
        async with self._sessions() as db:
            await db.execute(
                update(Account).where(Account.id == account_id).values(password_hash=password_hash)
            )
            ended = await _end_sessions(db, account_id, keep_session)
            await db.commit()
            return ended

    # -- turning accounts off and on, roles -----------------------------------------------

    async def all_accounts(self) -> Sequence[Account]:
        async with self._sessions() as db:
            return (await db.scalars(select(Account).order_by(Account.name, Account.id))).all()

    async def deactivate_account(self, account_id: int) -> list[int]:
        """Turn an account off: it cannot log in, its sign-ins end (their ids are returned)
        and its unused links end. Not the last admin who can log in (LAST_ADMIN)."""
        now = utcnow()
        async with self._sessions() as db:
            await _lock_admins(db)
            result = await db.execute(
                update(Account)
                .where(
                    Account.id == account_id,
                    Account.deactivated_at.is_(None),
                    or_(Account.role != "admin", _other_admins(account_id) > 0),
                )
                .values(deactivated_at=now)
            )
            if rowcount(result) != 1:
                await db.rollback()
                account = await db.get(Account, account_id)
                if account is None:
                    raise NotFound(Reason.NO_ACCOUNT)
                if account.deactivated_at is not None:
                    raise StoreError(Reason.ACCOUNT_OFF)
                raise StoreError(Reason.LAST_ADMIN)
            await db.execute(
                update(AccountLink)
                .where(AccountLink.account_id == account_id, AccountLink.used_at.is_(None))
                .values(used_at=now)
            )
            ended = await _end_sessions(db, account_id)
            await db.commit()
            return ended

    async def reactivate_account(self, account_id: int) -> None:
        async with self._sessions() as db:
            result = await db.execute(
                update(Account).where(Account.id == account_id).values(deactivated_at=None)
            )
            await db.commit()
        if rowcount(result) != 1:
            raise NotFound(Reason.NO_ACCOUNT)

    async def set_account_role(self, account_id: int, role: str) -> None:
        """Make an account an admin or a coordinator; the last admin who can log in stays
        one (LAST_ADMIN), checked in the statement that changes the role."""
        async with self._sessions() as db:
            query = update(Account).where(Account.id == account_id).values(role=role)
            if role != "admin":
                await _lock_admins(db)
                query = query.where(or_(Account.role != "admin", _other_admins(account_id) > 0))
            result = await db.execute(query)
            if rowcount(result) != 1:
                await db.rollback()
                if await db.get(Account, account_id) is None:
                    raise NotFound(Reason.NO_ACCOUNT)
                raise StoreError(Reason.LAST_ADMIN)
            await db.commit()

    # -- a login's lock -------------------------------------------------------------------

    async def login_failures(self, email_key: str, pair_prefix: str) -> tuple[int, int]:
        """Failed logins in the current window: for the email from everywhere, and the most
        from one client address (keys starting with ``pair_prefix``)."""
        since = utcnow() - LOGIN_WINDOW
        async with self._sessions() as db:
            rows = (
                await db.execute(
                    select(LoginThrottle.key, LoginThrottle.failures).where(
                        or_(
                            LoginThrottle.key == email_key,
                            LoginThrottle.key.startswith(pair_prefix, autoescape=True),
                        ),
                        LoginThrottle.window_start >= since,
                    )
                )
            ).all()
        everywhere = max((n for key, n in rows if key == email_key), default=0)
        one_address = max((n for key, n in rows if key != email_key), default=0)
        return everywhere, one_address

    async def clear_login_lock(self, email_key: str, pair_prefix: str) -> None:
        async with self._sessions() as db:
            await db.execute(
                delete(LoginThrottle).where(
                    or_(
                        LoginThrottle.key == email_key,
                        LoginThrottle.key.startswith(pair_prefix, autoescape=True),
                    )
                )
            )
            await db.commit()

    # -- handing a conference over --------------------------------------------------------

    async def hand_over_conference(self, conference_id: str, new_owner_id: int) -> int:
        """Another coordinator runs the conference from now on: the owner changes, the
        previous one is off its list (their id is returned), the new one is on it once.
        NotFound: no such conference or account; ACCOUNT_OFF, SAME_OWNER."""
        now = utcnow()
        async with self._sessions() as db:
            # Write the row first (changing nothing yet): that locks it, so a second hand-over
            # at the same moment waits and then hands over from whoever the first gave it to,
            # instead of both taking it from the same owner and leaving two running it.
            previous: int | None = await db.scalar(
                update(Conference)
                .where(Conference.id == conference_id, not_erasing())
                .values(owner_id=Conference.owner_id)
                .returning(Conference.owner_id)
            )
            if previous is None:
                raise NotFound(Reason.NO_CONFERENCE)
            owner = await db.get(Account, new_owner_id)
            if owner is None:
                raise NotFound(Reason.NO_ACCOUNT)
            if owner.deactivated_at is not None:
                raise StoreError(Reason.ACCOUNT_OFF)
            if previous == owner.id:
                raise StoreError(Reason.SAME_OWNER)
            await db.execute(
                update(Conference).where(Conference.id == conference_id).values(owner_id=owner.id)
            )
            await db.execute(
                update(Participant)
                .where(
                    Participant.conference_id == conference_id,
                    Participant.account_id == previous,
                    Participant.removed_at.is_(None),
                )
                .values(removed_at=now)
            )
            if not await _runs(db, conference_id, owner.id):
                db.add(
                    Participant(
                        conference_id=conference_id,
                        name=owner.name,
                        role="coordinator",
                        account_id=owner.id,
                    )
                )
            await db.commit()
            return previous

    # -- the account-level audit log ------------------------------------------------------

    async def account_events(self, limit: int = 100) -> Sequence[AuditEvent]:
        """The latest audit rows about accounts (no conference), newest first."""
        async with self._sessions() as db:
            return (
                await db.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.conference_id.is_(None))
                    .order_by(AuditEvent.id.desc())
                    .limit(limit)
                )
            ).all()


async def _end_sessions(db: AsyncSession, account_id: int, keep: int | None = None) -> list[int]:
    """End the account's sign-ins (but ``keep``), and its logins halfway between password and
    code: one begun before the account was turned off or its password changed must not end
    in a sign-in."""
    await db.execute(delete(LoginStep).where(LoginStep.account_id == account_id))
    query = delete(Session).where(Session.account_id == account_id)
    if keep is not None:
        query = query.where(Session.id != keep)
    return list((await db.scalars(query.returning(Session.id))).all())


async def _runs(db: AsyncSession, conference_id: str, account_id: int) -> bool:
    """Whether the account is on the conference's list as a coordinator already."""
    found = await db.scalar(
        select(Participant.id).where(
            Participant.conference_id == conference_id,
            Participant.account_id == account_id,
            Participant.removed_at.is_(None),
        )
    )
    return found is not None
