"""The audit log: who did what to a conference, and when."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from server.storage.base import StoreBase
from server.storage.models import AuditEvent, utcnow

AUDIT_COALESCE = timedelta(minutes=15)
COALESCE_LOOKBACK = 10  # of an actor's recent events of one kind, how many may be the repeat


class AuditMixin(StoreBase):
    """Recording and reading audit events."""

    async def audit(
        self,
        conference_id: str | None,
        actor: str,
        kind: str,
        detail: dict[str, Any] | None = None,
        *,
        coalesce: bool = False,
    ) -> AuditEvent:
        """Record an event. With ``coalesce``, a repeat of an event by the same actor (same
        kind and detail, the latest such within AUDIT_COALESCE) raises its count and moves it
        to now instead of adding a row: a device retrying a refused link is one line in the
        log, not hundreds, and a tablet that reloads the plan's page (which opens the plan's
        live document too) adds no row per reload."""
        detail = detail or {}
        now = utcnow()
        async with self._sessions() as db:
            if coalesce:
                recent = await db.scalars(
                    select(AuditEvent)
                    .where(
                        AuditEvent.conference_id == conference_id,
                        AuditEvent.actor == actor,
                        AuditEvent.kind == kind,
                        AuditEvent.at > now - AUDIT_COALESCE,
                    )
                    .order_by(AuditEvent.id.desc())
                    .limit(COALESCE_LOOKBACK)
                )
                latest = next((e for e in recent if e.detail == detail), None)
                if latest is not None:
                    latest.count += 1
                    latest.at = now
                    await db.commit()
                    return latest
            event_row = AuditEvent(
                conference_id=conference_id, actor=actor, kind=kind, detail=detail, at=now
            )
            db.add(event_row)
            await db.commit()
        return event_row

    async def audit_events(self, conference_id: str) -> Sequence[AuditEvent]:
        async with self._sessions() as db:
            return (
                await db.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.conference_id == conference_id)
                    .order_by(AuditEvent.at, AuditEvent.id)
                )
            ).all()

    async def audit_events_of(
        self, conference_id: str, kinds: Collection[str]
    ) -> Sequence[AuditEvent]:
        """A conference's events of these kinds, newest first."""
        query = (
            select(AuditEvent)
            .where(AuditEvent.conference_id == conference_id, AuditEvent.kind.in_(sorted(kinds)))
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        )
        async with self._sessions() as db:
            return (await db.scalars(query)).all()
