"""The second factor: a coordinator's authenticator app and recovery codes, logins halfway
between password and code, and whether the instance requires a second factor.

Secrets arrive encrypted and codes as keyed hashes (``conference/twofactor.py`` makes them):
this module never sees a secret or a code in the clear. Each "use once" is one conditional
statement, so two requests with the same code cannot both succeed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.storage.base import StoreBase, rowcount
from server.storage.errors import Reason, StoreError
from server.storage.models import (
    Account,
    AuditEvent,
    InstanceSetting,
    LoginStep,
    RecoveryCode,
    SecondFactor,
    Session,
    utcnow,
)

REQUIRED = "two_factor_required"


@dataclass(frozen=True)
class AccountFactor:
    """An account and whether its second factor is on (for the admin's overview)."""

    account: Account
    on: bool


class TwoFactorMixin(StoreBase):
    """Second factors, recovery codes, half-done logins and the instance's requirement."""

    # -- the authenticator app --------------------------------------------------------------

    async def second_factor(self, account_id: int) -> SecondFactor | None:
        """The account's second factor, confirmed or still being set up (None: neither)."""
        async with self._sessions() as db:
            return await db.get(SecondFactor, account_id)

    async def begin_second_factor(self, account_id: int, secret: str) -> SecondFactor:
        """The second factor being set up: the one already begun (so a reload shows the same
        QR code), else a new one with ``secret``. Raises StoreError(CONFLICT) when it is on
        already."""
        for _round in range(2):  # the second round only if another request made it first
            async with self._sessions() as db:
                found = await db.get(SecondFactor, account_id)
                if found is not None:
                    if found.confirmed_at is not None:
                        raise StoreError(Reason.SECOND_FACTOR_ON)
                    return found
                row = SecondFactor(account_id=account_id, secret=secret)
                db.add(row)
                try:
                    await db.commit()
                    return row
                except IntegrityError:
                    await db.rollback()
        raise StoreError(Reason.CONTENDED, detail="could not begin the second factor")

    async def confirm_second_factor(
        self, account_id: int, step: int, code_hashes: Sequence[str], actor: str
    ) -> bool:
        """Turn the second factor on with the step of the code that confirmed it, and give it
        these recovery codes; audited in the same transaction. False: it was on already (or
        nothing was being set up)."""
        async with self._sessions() as db:
            done = await db.execute(
                update(SecondFactor)
                .where(SecondFactor.account_id == account_id, SecondFactor.confirmed_at.is_(None))
                .values(confirmed_at=utcnow(), last_step=step)
            )
            if rowcount(done) != 1:
                await db.rollback()
                return False
            await self._put_recovery_codes(db, account_id, code_hashes)
            db.add(AuditEvent(actor=actor, kind="two_factor_on", detail={}))
            await db.commit()
            return True

    async def use_code_step(self, account_id: int, step: int) -> bool:
        """Spend a code of 30-second ``step``: only if the factor is on and no code of this
        step or a later one was used (a replayed code is refused)."""
        async with self._sessions() as db:
            done = await db.execute(
                update(SecondFactor)
                .where(
                    SecondFactor.account_id == account_id,
                    SecondFactor.confirmed_at.is_not(None),
                    or_(SecondFactor.last_step.is_(None), SecondFactor.last_step < step),
                )
                .values(last_step=step)
            )
            await db.commit()
            return rowcount(done) == 1

    async def turn_off_second_factor(self, account_id: int) -> bool:
        """Forget the account's second factor and recovery codes. False: it had none."""
        async with self._sessions() as db:
            done = await db.execute(
                delete(SecondFactor).where(SecondFactor.account_id == account_id)
            )
            await db.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
            await db.commit()
            return rowcount(done) == 1

    async def end_account_sessions(self, account_id: int) -> list[int]:
        """End every sign-in of the account; returns their ids."""
        async with self._sessions() as db:
            ended = await db.scalars(
                delete(Session).where(Session.account_id == account_id).returning(Session.id)
            )
            ids = list(ended)
            await db.commit()
            return ids

    # -- recovery codes ---------------------------------------------------------------------

    @staticmethod
    async def _put_recovery_codes(
        db: AsyncSession, account_id: int, code_hashes: Sequence[str]
    ) -> None:
        await db.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
        if code_hashes:
            await db.execute(
                insert(RecoveryCode),
                [{"account_id": account_id, "code_hash": h} for h in code_hashes],
            )

    async def replace_recovery_codes(self, account_id: int, code_hashes: Sequence[str]) -> bool:
        """New recovery codes in place of all earlier ones (used or not). False: the second
        factor is not on."""
        async with self._sessions() as db:
            factor = await db.get(SecondFactor, account_id)
            if factor is None or factor.confirmed_at is None:
                return False
            await self._put_recovery_codes(db, account_id, code_hashes)
            await db.commit()
            return True

    async def use_recovery_code(self, account_id: int, code_hash: str) -> int | None:
        """Spend one recovery code; returns how many are left (None: no such unused code)."""
        async with self._sessions() as db:
            done = await db.execute(
                update(RecoveryCode)
                .where(
                    RecoveryCode.account_id == account_id,
                    RecoveryCode.code_hash == code_hash,
                    RecoveryCode.used_at.is_(None),
                )
                .values(used_at=utcnow())
            )
            if rowcount(done) != 1:
                await db.rollback()
                return None
            await db.commit()
        return await self.recovery_codes_left(account_id)

    async def recovery_codes_left(self, account_id: int) -> int:
        async with self._sessions() as db:
            count = await db.scalar(
                select(func.count())
                .select_from(RecoveryCode)
                .where(RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None))
            )
            return int(count or 0)

    # -- logins halfway -----------------------------------------------------------------------

    async def start_login_step(
        self, token_hash: str, account_id: int, purpose: str, next_url: str, expires_at: datetime
    ) -> None:
        """Remember a login halfway (the cookie holds the token); forgets expired ones."""
        async with self._sessions() as db:
            await db.execute(delete(LoginStep).where(LoginStep.expires_at <= utcnow()))
            db.add(
                LoginStep(
                    token_hash=token_hash,
                    account_id=account_id,
                    purpose=purpose,
                    next_url=next_url,
                    expires_at=expires_at,
                )
            )
            await db.commit()

    async def login_step(self, token_hash: str) -> tuple[LoginStep, Account] | None:
        """The login halfway with this token and its account (expiry: the caller's check)."""
        async with self._sessions() as db:
            row = (
                await db.execute(
                    select(LoginStep, Account)
                    .join(Account, Account.id == LoginStep.account_id)
                    .where(LoginStep.token_hash == token_hash)
                )
            ).first()
            return None if row is None else (row[0], row[1])

    async def end_login_step(self, token_hash: str) -> bool:
        """Forget a login halfway; True only for the one request that ended it."""
        async with self._sessions() as db:
            done = await db.execute(delete(LoginStep).where(LoginStep.token_hash == token_hash))
            await db.commit()
            return rowcount(done) == 1

    # -- the instance's requirement ---------------------------------------------------------

    async def two_factor_required(self) -> bool:
        async with self._sessions() as db:
            return (
                await db.scalar(
                    select(InstanceSetting.value).where(InstanceSetting.key == REQUIRED)
                )
                == "on"
            )

    async def require_two_factor(self, on: bool, actor: str) -> list[int]:
        """Require a second factor of every account (or not), audited in the same
        transaction. Turning it on ends the sign-ins of accounts without one (they set one up
        at their next login); returns the ended sessions' ids, whose live connections the
        caller closes."""
        value = "on" if on else "off"
        ended: list[int] = []
        async with self._sessions() as db:
            found = await db.get(InstanceSetting, REQUIRED)
            if found is None:
                db.add(InstanceSetting(key=REQUIRED, value=value, changed_by=actor))
            else:
                found.value, found.changed_at, found.changed_by = value, utcnow(), actor
            if on:
                with_factor = select(SecondFactor.account_id).where(
                    SecondFactor.confirmed_at.is_not(None)
                )
                ended = list(
                    await db.scalars(
                        delete(Session)
                        .where(Session.account_id.is_not(None))
                        .where(Session.account_id.not_in(with_factor))
                        .returning(Session.id)
                    )
                )
            kind = "two_factor_required" if on else "two_factor_not_required"
            db.add(AuditEvent(actor=actor, kind=kind, detail={"sessions_ended": len(ended)}))
            await db.commit()
        return ended

    async def accounts_and_factors(self) -> list[AccountFactor]:
        """Every account (by name) and whether its second factor is on."""
        async with self._sessions() as db:
            rows = await db.execute(
                select(Account, SecondFactor.confirmed_at)
                .outerjoin(SecondFactor, SecondFactor.account_id == Account.id)
                .order_by(Account.name, Account.id)
            )
            return [AccountFactor(account, confirmed is not None) for account, confirmed in rows]
