"""Accounts (coordinators and admins), their login limits, and sign-ins (sessions) of
accounts and of participants' links."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import case, delete, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from server.storage.base import ID_BATCH, StoreBase, not_erasing, rowcount
from server.storage.errors import DuplicateEmail, Reason, StoreError
from server.storage.models import (
    Account,
    Conference,
    Invitation,
    LoginThrottle,
    Participant,
    Session,
    UTCDateTime,
    utcnow,
)
from server.storage.participants import InvitationMatch

LOGIN_WINDOW = timedelta(minutes=15)


class SessionFacts(NamedTuple):
    """What decides whether a sign-in still holds (``sessions_by_id``); the link's columns are
    None for an account's sign-in, and all None when its link is gone."""

    expires_at: datetime | None
    invitation_id: int | None  # the link it was made through (None: an account's)
    link_found: int | None  # that link's id, when it still exists
    removed_at: datetime | None  # of the link's participant
    revoked_at: datetime | None
    link_expires_at: datetime | None
    closed_at: datetime | None  # of the link's conference


@dataclass(frozen=True)
class SessionMatch:
    session: Session
    account: Account | None
    invitation: InvitationMatch | None


class AccountsMixin(StoreBase):
    """Accounts, their language and their login limits."""

    # -- accounts -------------------------------------------------------------------------

    async def create_account(
        self, email: str, name: str, password_hash: str, role: str = "coordinator"
    ) -> Account:
        account = Account(
            email=email.strip().lower(), name=name, password_hash=password_hash, role=role
        )
        async with self._sessions() as db:
            db.add(account)
            try:
                await db.commit()
            except IntegrityError:
                raise DuplicateEmail(account.email) from None
        return account

    async def account_by_email(self, email: str) -> Account | None:
        async with self._sessions() as db:
            return await db.scalar(select(Account).where(Account.email == email.strip().lower()))

    async def account(self, account_id: int) -> Account | None:
        async with self._sessions() as db:
            return await db.get(Account, account_id)

    async def set_password(self, email: str, password_hash: str) -> bool:
        """Replace the password and end every session of that account."""
        async with self._sessions() as db:
            account = await db.scalar(select(Account).where(Account.email == email.strip().lower()))
            if account is None:
                return False
            account.password_hash = password_hash
            await db.execute(delete(Session).where(Session.account_id == account.id))
            await db.commit()
            return True

    async def set_account_language(self, account_id: int, language: str) -> None:
        """Remember the language a coordinator chose (for every login)."""
        async with self._sessions() as db:
            await db.execute(
                update(Account).where(Account.id == account_id).values(language=language)
            )
            await db.commit()

    async def set_account_contact(
        self, account_id: int, phone: str | None, email: str | None
    ) -> None:
        """How people whose link ended reach this coordinator (None: not given)."""
        async with self._sessions() as db:
            await db.execute(
                update(Account)
                .where(Account.id == account_id)
                .values(contact_phone=phone, contact_email=email)
            )
            await db.commit()

    # -- login throttling -----------------------------------------------------------------

    async def count_login_attempt(self, key: str, now: datetime) -> int:
        """Count a login attempt for an address before its password is checked.

        Returns the number of attempts in the current window (LOGIN_WINDOW). The increment is
        one atomic statement, so parallel guesses cannot all slip under the limit.
        """
        stale = LoginThrottle.window_start < literal(now - LOGIN_WINDOW, UTCDateTime)
        bump = (
            update(LoginThrottle)
            .where(LoginThrottle.key == key)
            .values(
                failures=case((stale, 1), else_=LoginThrottle.failures + 1),
                window_start=case(
                    (stale, literal(now, UTCDateTime)), else_=LoginThrottle.window_start
                ),
            )
            .returning(LoginThrottle.failures)
        )
        for _round in range(2):  # the second round runs only if another request made the row first
            async with self._sessions() as db:
                attempts = await db.scalar(bump)
                if attempts is None:
                    db.add(LoginThrottle(key=key, failures=1, window_start=now))
                    attempts = 1
                try:
                    await db.commit()
                    return int(attempts)
                except IntegrityError:
                    await db.rollback()
        raise StoreError(Reason.CONTENDED, detail="could not count the login attempt")

    async def uncount_login_attempt(self, key: str) -> None:
        """Take back one counted attempt (it succeeded), leaving the others."""
        async with self._sessions() as db:
            await db.execute(
                update(LoginThrottle)
                .where(LoginThrottle.key == key, LoginThrottle.failures > 0)
                .values(failures=LoginThrottle.failures - 1)
            )
            await db.commit()

    async def clear_login_failures(self, key: str) -> None:
        async with self._sessions() as db:
            await db.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
            await db.commit()


class SessionsMixin(StoreBase):
    """Sign-ins: of an account, or of a device through a participant's link."""

    async def create_session(
        self,
        token_hash: str,
        *,
        account_id: int | None = None,
        invitation_id: int | None = None,
        expires_at: datetime | None = None,
    ) -> Session:
        if (account_id is None) == (invitation_id is None):
            raise ValueError("a session belongs to exactly one account or one invitation")
        session = Session(
            token_hash=token_hash,
            account_id=account_id,
            invitation_id=invitation_id,
            expires_at=expires_at,
        )
        async with self._sessions() as db:
            db.add(session)
            await db.commit()
        return session

    async def create_participant_session(
        self, token_hash: str, invitation_id: int, vouched_by: str | None = None
    ) -> Session:
        """Sign a device in through a link. While the link's conference is in private time
        the new session waits for the family's admission; the phase is read in the very
        statement that inserts it, so no sign-in slips in around a phase change.
        ``vouched_by``: this device is already let in as a family member (that actor), so the
        new sign-in is in too (a shared tablet switching person)."""
        phase = (
            select(Conference.phase)
            .join(Participant, Participant.conference_id == Conference.id)
            .join(Invitation, Invitation.participant_id == Participant.id)
            .where(Invitation.id == invitation_id)
            .scalar_subquery()
        )
        admission: Any = case((phase == "private_time", "waiting"), else_="in")
        vouched: dict[str, Any] = {}
        if vouched_by is not None:
            admission = "in"
            vouched = {"admission_by": vouched_by, "admission_at": utcnow()}
        async with self._sessions() as db:
            session_id = await db.scalar(
                insert(Session)
                .values(
                    token_hash=token_hash,
                    invitation_id=invitation_id,
                    created_at=utcnow(),
                    last_seen_at=utcnow(),
                    admission=admission,
                    **vouched,
                )
                .returning(Session.id)
            )
            await db.commit()
            session = await db.get(Session, session_id)
        assert session is not None
        return session

    async def session_by_hash(self, token_hash: str) -> SessionMatch | None:
        """The session with its account or invitation; validity is the caller's decision.
        One query (every page and every live connection asks it)."""
        query = (
            select(Session, Account, Invitation, Participant, Conference)
            .outerjoin(Account, Account.id == Session.account_id)
            .outerjoin(Invitation, Invitation.id == Session.invitation_id)
            .outerjoin(Participant, Participant.id == Invitation.participant_id)
            .outerjoin(Conference, Conference.id == Participant.conference_id)
            .where(Session.token_hash == token_hash, not_erasing())
        )
        async with self._sessions() as db:
            row = (await db.execute(query)).first()
        if row is None:
            return None
        session, account, invitation, participant, conference = row
        if session.account_id is not None:
            return SessionMatch(session=session, account=account, invitation=None)
        found = invitation is not None and participant is not None and conference is not None
        match = InvitationMatch(invitation, participant, conference) if found else None
        return SessionMatch(session=session, account=None, invitation=match)

    async def extend_session(self, session_id: int, expires_at: datetime | None) -> None:
        async with self._sessions() as db:
            await db.execute(
                update(Session)
                .where(Session.id == session_id)
                .values(last_seen_at=utcnow(), expires_at=expires_at)
            )
            await db.commit()

    async def delete_expired_sessions(self, now: datetime) -> int:
        """Forget sessions past their expiry (participant sessions end with their link)."""
        async with self._sessions() as db:
            result = await db.execute(
                delete(Session).where(Session.expires_at.is_not(None), Session.expires_at <= now)
            )
            await db.commit()
            return rowcount(result)

    async def delete_session(self, token_hash: str) -> int | None:
        """End one sign-in; returns its id (None: there was none)."""
        async with self._sessions() as db:
            session_id = await db.scalar(
                delete(Session).where(Session.token_hash == token_hash).returning(Session.id)
            )
            await db.commit()
            return session_id

    async def sessions_by_id(self, ids: Collection[int]) -> dict[int, SessionFacts]:
        """The sessions of these ids that still exist, with what decides whether they still
        hold (the caller's decision). Plain columns, no rows built: the server asks this for
        every open connection every few seconds."""
        if not ids:
            return {}
        query = (
            select(
                Session.id,
                Session.expires_at,
                Session.invitation_id,
                Invitation.id,
                Participant.removed_at,
                Invitation.revoked_at,
                Invitation.expires_at,
                Conference.closed_at,
            )
            .select_from(Session)
            .outerjoin(Invitation, Invitation.id == Session.invitation_id)
            .outerjoin(Participant, Participant.id == Invitation.participant_id)
            .outerjoin(Conference, Conference.id == Participant.conference_id)
            .where(not_erasing())  # a sign-in to a conference being erased has ended
        )
        # In batches: a statement takes a bounded number of parameters (PostgreSQL 32767).
        wanted = sorted(set(ids))
        found: dict[int, SessionFacts] = {}
        async with self._sessions() as db:
            for start in range(0, len(wanted), ID_BATCH):
                batch = wanted[start : start + ID_BATCH]
                for row in await db.execute(query.where(Session.id.in_(batch))):
                    found[row[0]] = SessionFacts(*row[1:])
        return found
