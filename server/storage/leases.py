"""Leases: work that one process of several does for all, such as the nightly backup.

A lease is one row per kind of work. A process takes it when nobody holds it or the holder's
time is up, in one statement, so of several processes asking at the same moment exactly one
gets it, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, or_, update
from sqlalchemy.exc import IntegrityError

from server.storage.base import StoreBase, rowcount
from server.storage.models import Lease, utcnow


class LeasesMixin(StoreBase):
    """Taking and giving back leases."""

    async def take_lease(self, name: str, holder: str, until: datetime) -> bool:
        """Hold the lease ``name`` until ``until`` if it is free (never taken, or its time is
        up) or already ours; False when another holder has it."""
        now = utcnow()
        async with self._sessions() as db:
            taken = await db.execute(
                update(Lease)
                .where(Lease.name == name, or_(Lease.until <= now, Lease.holder == holder))
                .values(holder=holder, until=until)
            )
            if rowcount(taken):
                await db.commit()
                return True
            try:
                await db.execute(insert(Lease).values(name=name, holder=holder, until=until))
                await db.commit()
            except IntegrityError:  # the row exists (held), or another process just made it
                await db.rollback()
                return False
            return True

    async def give_back_lease(self, name: str, holder: str) -> None:
        """Free a lease we hold (so another process may take it at once)."""
        async with self._sessions() as db:
            await db.execute(
                update(Lease)
                .where(Lease.name == name, Lease.holder == holder)
                .values(until=utcnow())
            )
            await db.commit()
