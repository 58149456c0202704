"""A conference's access report (NEN 7513): who opened or wrote which document of it, or took
which copy, and when; for its coordinators and admins (``/conferences/{id}/access`` and its
CSV), built from the audit rows that ``rules/access.py`` reads. And the rooms' writes, audited
as they happen (``record_writes``).

Everyone is named, a removed participant too. While private time lasts, what the family does
is hidden as on the console and in the audit log: a row says someone of the family did
something, not who nor in what, and no filter finds it, until private time ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from server.clock import time_zone
from server.formats.spreadsheet import spreadsheet_csv
from server.i18n import _, on_clock
from server.rooms.connection import Peer
from server.rooms.hub import RoomHub
from server.rules import phases
from server.rules.access import ACCESS_KINDS, Access, access_of, hidden
from server.rules.audit import nobody_known
from server.storage.models import Conference
from server.storage.store import Store

log = logging.getLogger("kring.audit")


@dataclass(frozen=True)
class Actor:
    """Someone the report names: their key in the audit log (``participant:7``,
    ``coordinator:2``), name and role in words."""

    key: str
    name: str
    role: str
    removed: bool = False
    family: bool = False


@dataclass(frozen=True)
class Row:
    at: datetime
    actor: str
    who: str
    role: str
    access: Access
    count: int  # a coalesced row: this many accesses, the last one at ``at``
    hidden: bool = False


@dataclass(frozen=True)
class Report:
    rows: list[Row]  # newest first
    people: list[Actor]  # whom the person filter offers, by name

    def only(self, person: str = "", subject: str = "") -> list[Row]:
        """The rows of one person (their key) and of one subject (a key of
        ``rules.access.SUBJECTS``), when given. Neither finds a row hidden in private time."""
        return [
            r
            for r in self.rows
            if (not person or r.actor == person) and (not subject or r.access.subject == subject)
        ]


async def actors(store: Store, conference: Conference, acting: Iterable[str]) -> dict[str, Actor]:
    """Everyone of the conference (removed people too) and whoever else ``acting`` names (an
    admin, the command line), by their key in the audit log."""
    found: dict[str, Actor] = {}
    for row in await store.participants(conference.id, include_removed=True):
        p = row.participant
        removed = p.removed_at is not None
        # A coordinator acts through their account.
        key = f"participant:{p.id}" if p.account_id is None else f"coordinator:{p.account_id}"
        role = phases.ROLE_LABELS.get(p.role, "")
        found[key] = Actor(key, p.name, role, removed, p.role in phases.FAMILY)
    for key in set(acting) - set(found):
        kind, _colon, number = key.partition(":")
        if key == "cli":
            found[key] = Actor(key, _("Kring (opdrachtregel)"), "")
        elif kind == "coordinator" and number.isdigit():
            account = await store.account(int(number))
            if account is None:
                found[key] = Actor(key, _("Een beheerder"), "")
            else:
                admin = account.role == "admin"
                role = _("Beheerder") if admin else phases.ROLE_LABELS["coordinator"]
                found[key] = Actor(key, account.name, role)
        else:
            name = nobody_known()
            found[key] = Actor(key, name[:1].upper() + name[1:], "")
    return found


async def report(store: Store, conference: Conference) -> Report:
    """Every access to the conference, newest first."""
    events = await store.audit_events_of(conference.id, ACCESS_KINDS)
    named = await actors(store, conference, {e.actor for e in events})
    private = conference.phase == "private_time"
    rows = []
    for event in events:
        access = access_of(event.kind, event.detail)
        if access is None:
            continue
        actor = named[event.actor]
        if private and actor.family and event.at >= conference.phase_since:
            who = _("Iemand van de familie of het netwerk")
            rows.append(Row(event.at, "", who, "", hidden(), event.count, hidden=True))
        else:
            rows.append(Row(event.at, event.actor, actor.name, actor.role, access, event.count))
    people = sorted(named.values(), key=lambda a: (a.name.casefold(), a.key))
    return Report(rows, people)


def iso_time(moment: datetime) -> str:
    """A stored moment in ISO 8601 on the instance's clock, with its offset."""
    return on_clock(moment, time_zone()).isoformat(timespec="seconds")


def csv_file(rows: Iterable[Row]) -> bytes:
    """The report as CSV, one line per row (a coalesced row says how many times)."""
    header = (
        _("Wanneer"),
        _("Wie"),
        _("Rol"),
        _("Wat"),
        _("Document of kopie"),
        _("Versie"),
        _("Aantal keer"),
    )
    return spreadsheet_csv(
        header,
        (
            (
                iso_time(r.at),
                r.who,
                r.role,
                r.access.how,
                r.access.what,
                r.access.version,
                str(r.count),
            )
            for r in rows
        ),
    )


# -- the rooms' writes ----------------------------------------------------------------------


def actor_of(peer: Peer) -> str:
    """Who a live document's device is, as the audit log names them."""
    if peer.participant_id is not None:
        return f"participant:{peer.participant_id}"
    return f"coordinator:{peer.account_id}"


def record_writes(store: Store, hub: RoomHub) -> Callable[[str, str, Peer], None]:
    """What the hub tells of a device's writing (``hub.on_written``: at its first edit, then
    at most once per WRITTEN_TOLD_SECONDS), audited as ``document_written``; coalesced, so a
    device that writes all evening is one row, counted."""

    async def record(conference_id: str, document: str, peer: Peer) -> None:
        try:
            await store.audit(
                conference_id,
                actor_of(peer),
                "document_written",
                {"document": document},
                coalesce=True,
                urgent=False,  # nobody waits: written with the next group
            )
        except Exception as exc:  # the conference was erased meanwhile, or the database failed
            log.warning("%s/%s: a write was not audited: %s", conference_id, document, exc)

    def written(conference_id: str, document: str, peer: Peer) -> None:
        hub.track(asyncio.create_task(record(conference_id, document, peer)))

    return written
