"""The audit log: who did what to a conference, and when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from server.storage.base import StoreBase
from server.storage.models import AuditEvent, utcnow

AUDIT_COALESCE = timedelta(minutes=15)


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
        """Record an event. With ``coalesce``, a repeat of the latest event by the same actor
        (same kind and detail, within AUDIT_COALESCE) raises its count instead of adding a row,
        so a device retrying a refused link is one line in the log, not hundreds."""
        detail = detail or {}
        now = utcnow()
        async with self._sessions() as db:
            if coalesce:
                latest = await db.scalar(
                    select(AuditEvent)
                    .where(AuditEvent.conference_id == conference_id, AuditEvent.actor == actor)
                    .order_by(AuditEvent.id.desc())
                    .limit(1)
                )
                if (
                    latest is not None
                    and latest.kind == kind
                    and latest.detail == detail
                    and now - latest.at < AUDIT_COALESCE
                ):
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
