"""The instance's own tables, beside the conferences': a coordinator's second factor and
recovery codes, a login halfway, a choice an admin makes for the whole instance, and the
leases by which one process of several does shared work. Re-exported by ``models.py``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.storage.models import Base, UTCDateTime, utcnow


class SecondFactor(Base):
    """A coordinator's authenticator app (TOTP): the shared secret, encrypted with a key from
    the instance secret (``conference/twofactor.py``). Until ``confirmed_at`` it is being set
    up and asks nothing at login. ``last_step``: the newest 30-second step whose code was
    used, so a code is accepted once."""

    __tablename__ = "second_factor"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class RecoveryCode(Base):
    """One of a coordinator's one-time recovery codes (its keyed hash), used instead of the
    app's code when the phone is lost."""

    __tablename__ = "recovery_code"
    __table_args__ = (UniqueConstraint("account_id", "code_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


LOGIN_STEPS = ("code", "set_up")


class LoginStep(Base):
    """A login halfway: the password was right, and the browser holding the token (a
    cookie) still has to give a code (``code``) or set up a second factor (``set_up``)."""

    __tablename__ = "login_step"
    __table_args__ = (
        CheckConstraint("purpose IN ('code', 'set_up')", name="purpose"),
        Index("ix_login_step_account", "account_id"),  # see FOREIGN_KEY_INDEXES in models.py
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))
    next_url: Mapped[str] = mapped_column(String(2000), default="/conferences")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InstanceSetting(Base):
    """A choice an admin makes for the whole instance (``two_factor_required``: "on")."""

    __tablename__ = "instance_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by: Mapped[str] = mapped_column(String(300))  # an actor


class Lease(Base):
    """Work that one process of several does for all (the nightly backup): whoever holds the
    row's lease until ``until`` does it; the others leave it alone."""

    __tablename__ = "lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    until: Mapped[datetime] = mapped_column(UTCDateTime)
