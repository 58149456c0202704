"""A conference's export: one zip with everything Kring holds of it, for the coordinator who
runs it (``GET /conferences/{id}/export.zip``) or the command line (``kring export``).

The zip holds ``conference.json`` (every part described under its ``format`` key, and in
``README.txt``) and ``plan-versie-N.pdf``, the printable copy of each frozen plan version.
The export holds the plan, so it is made only while the permission table
(``rules/phases.py``) lets the coordinator read the plan: from the presentation on, never
in private time. It holds only the live documents the same table lets the coordinator read
at that moment, so never the network compass: that is the client's (the coordinator reads it
in preparation only), and the client downloads it from their own page.

The server makes the whole zip in one call in a worker process of the heavy work
(:func:`build`, ``conference/exportwork.py``), which reads the database itself and checks
the phase again from what it reads; ``kring export`` makes it in its own process
(:func:`make`). An erasure wins: a conference being erased before or while its export is
made gives no zip (ExportGone).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import zipfile
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime
from typing import Any

from pycrdt import Array, Doc, Map, Text

from server import i18n, metrics
from server.clock import time_zone
from server.conference import exportwork
from server.conference.heavy import HeavyWork
from server.conference.plancopy import plan_copy, plan_people
from server.formats import printing
from server.i18n import _
from server.rules import phases
from server.rules.plan import read_plan
from server.storage.documents import DocumentLog
from server.storage.models import Conference, Participant, PlanVersion, utcnow
from server.storage.store import Store

log = logging.getLogger("kring.export")

FORMAT = "kring-conference-export"
FORMAT_VERSION = 1

# What each key of conference.json holds (written into the file and into README.txt).
PARTS = {
    "conference": "The conference's own fields: client, conference question, phase, dates.",
    "actors": "Who each actor string of plan_versions, follow_ups and audit_log is "
    "(participant:N is participant N; coordinator:N is the account of a coordinator).",
    "participants": "Everyone who was part of it: id, name, role, action team, whether the "
    "coordinator noted them as present at the conference, whether and when they were removed; "
    "where their invitation stood (to_invite, invited, coming, not_coming, maybe), the "
    "coordinator's note on it, when they answered themselves (null: the coordinator set it) "
    "and the network map entry they were invited from (null: added otherwise); the practical "
    "side: the language an interpreter is needed for ('' none) and whether one is arranged, "
    "a child's age (null: an adult) and the participant id of who supports the child at the "
    "meeting.",
    "proposals": "People the family proposed to invite: name, how they know them, why, who "
    "proposed (a participant id), and the coordinator's decision (invited: the participant "
    "they became; declined, with the reason the proposer read; null: not decided).",
    "documents": "The live documents information and plan: 'content' read into JSON (the "
    "plan as agreements and notes, the information document's text), and 'yjs_state_base64', "
    "the document's full Yjs state (a Yjs v1 update, base64). The network compass is not "
    "exported: it is the client's, who downloads it from their own page.",
    "plan_versions": "Every frozen version of the plan: number, frozen_at, frozen_by, the "
    "content its copy shows, its Yjs state (base64) and the name of its PDF in this zip.",
    "conditions": "The mandated professionals' conditions, their status (met / not_met) "
    "and remark.",
    "signals": "The family's signals in private time (question, plan_ready, and "
    "plan_withdrawn: a plan_ready taken back) and the coordinator's overrides of private "
    "time with their reason.",
    "clarifying_questions": "The coordinator's clarifying questions at the presentation.",
    "conference_questions": "The questions the client marked in the compass for the "
    "conference, copied when the meeting began (position, text).",
    "answers": "Each participant's answer to the plan (agree / not_yet) with their remark, "
    "and recorded_by: null when they gave it themselves, else the actor (the coordinator) who "
    "noted it for them.",
    "follow_ups": "The action team's follow-up meetings: due date, start, close, who "
    "attended (participant ids) and the plan version each one froze.",
    "ratings": "Marks from 1 to 10 for the meeting and for the plan; occasion 0 is the "
    "presentation, N is follow-up meeting N. Who gave them is not exported: people are told "
    "the coordinator sees only averages.",
    "audit_log": "Everything that happened to the conference, oldest first, with who opened, "
    "wrote or downloaded which document or copy (room_joined, document_written, "
    "document_viewed, presentation_opened, plan_exported, compass_downloaded, "
    "conference_exported: the access report); count is how many times within 15 minutes.",
}

ReadState = Callable[[str, str], Awaitable[bytes]]


class ExportRefused(Exception):
    """The export would give the coordinator the plan while it is not open to them. Raised
    in a worker process too: it crosses by pickle (its one argument, the reason)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ExportGone(Exception):
    """The conference is not there (any more): erased, or being erased."""


class ExportUnreadable(Exception):
    """The database could not be read while the export was made (in a worker process)."""


def refused_reason(phase: str) -> str:
    """Why no export is made in ``phase`` (one where the coordinator may not read the plan)."""
    return _(
        "Alles downloaden kan nu niet: het plan is in deze fase niet voor de "
        "coördinator open. %(reason)s",
        reason=phases.plan_locked_reason(phase),
    )


def pdf_name(number: int) -> str:
    return f"plan-versie-{number}.pdf"


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def yjs_roots(state: bytes) -> dict[str, Any]:
    """Every root type of a Yjs document as plain data. Yjs does not record a root's type,
    so each is read as the type its content has: a map if it has keys, text if it reads as
    text, else an array if it holds items. (Text content must never be read as an array:
    pycrdt can hang on that.)"""
    names: Doc[Any] = Doc()
    names.apply_update(state)
    return {name: _root_value(state, name) for name in sorted(names.keys())}


def _root_value(state: bytes, name: str) -> Any:
    as_map = _read_as(state, name, Map)
    if len(as_map):
        return as_map.to_py()
    as_text = _read_as(state, name, Text)
    if str(as_text):
        return str(as_text)
    if len(as_text):  # items, but no text: an array
        return _read_as(state, name, Array).to_py()
    return None


def _read_as(state: bytes, name: str, kind: type[Any]) -> Any:
    """Root ``name`` of a fresh document with ``state``, as a ``kind``."""
    doc: Doc[Any] = Doc()
    doc.apply_update(state)
    return doc.get(name, type=kind)


def exported_documents(phase: str) -> tuple[str, ...]:
    """The live documents an export made in ``phase`` holds: those the permission table lets
    the coordinator read then (never the compass: an export is made from the presentation on,
    and after the preparation the compass is the client's and their supporters' alone)."""
    return tuple(
        document
        for document in phases.DOCUMENTS
        if phases.access(phase, "coordinator", document) >= phases.Access.READ
    )


def _content(document: str, state: bytes, people: dict[str, Any]) -> Any:
    if document == "plan":
        return read_plan(state, people)
    if document == "information":
        doc: Doc[Any] = Doc()
        doc.apply_update(state)
        return {"text": str(doc.get("text", type=Text))}
    return yjs_roots(state)


def _documents(states: dict[str, bytes], people: dict[str, Any]) -> dict[str, Any]:
    return {
        document: {"content": _content(document, state, people), "yjs_state_base64": _base64(state)}
        for document, state in states.items()
    }


def _actors(participants: Iterable[Participant]) -> dict[str, str]:
    names = {"cli": "Kring (command line)"}
    for person in participants:
        names[f"participant:{person.id}"] = person.name
        if person.account_id is not None:
            names[f"coordinator:{person.account_id}"] = person.name
    return names


async def conference_data(
    store: Store, read_state: ReadState, conference: Conference, versions: list[PlanVersion]
) -> dict[str, Any]:
    """Everything of the conference as JSON-ready data (see PARTS)."""
    cid = conference.id
    people = [row.participant for row in await store.participants(cid, include_removed=True)]
    named = plan_people(people)
    states = {d: await read_state(cid, d) for d in exported_documents(conference.phase)}
    # CPU work for a big plan: on the loop of a worker process (or of `kring export`), where
    # nobody else waits on it.
    documents = _documents(states, named)
    follow_ups = []
    for row in await store.follow_ups(cid):
        follow_ups.append(
            {
                "number": row.number,
                "due_on": _iso(row.due_on),
                "started_at": _iso(row.started_at),
                "started_by": row.started_by,
                "closed_at": _iso(row.closed_at),
                "closed_by": row.closed_by,
                "version_number": row.version_number,
                "attended": sorted(await store.attendance(row.id)),
            }
        )
    return {
        "format": {"name": FORMAT, "version": FORMAT_VERSION, "parts": PARTS},
        "exported_at": _iso(utcnow()),
        "conference": {
            "id": cid,
            "client_name": conference.client_name,
            "question": conference.question,
            "phase": conference.phase,
            "phase_since": _iso(conference.phase_since),
            "meeting_date": _iso(conference.meeting_date),
            "starts_at": _iso(conference.starts_at),
            "ends_at": _iso(conference.ends_at),
            "location": conference.location,
            "address": conference.address,
            "created_at": _iso(conference.created_at),
            "updated_at": _iso(conference.updated_at),
            "plan_frozen_at": _iso(conference.plan_frozen_at),
            "closed_at": _iso(conference.closed_at),
            "next_follow_up_on": _iso(conference.next_follow_up_on),
            "food_notes": conference.food_notes,
            "childcare_notes": conference.childcare_notes,
            "transport_notes": conference.transport_notes,
        },
        "actors": _actors(people),
        "participants": [
            {
                "id": p.id,
                "name": p.name,
                "role": p.role,
                "action_team": p.action_team,
                "present_at_conference": p.present_at_conference,
                "removed": p.removed_at is not None,
                "removed_at": _iso(p.removed_at),
                "added_at": _iso(p.created_at),
                "language": p.language,
                "invitation_status": p.invitation_status,
                "invitation_note": p.invitation_note,
                "invitation_answered_at": _iso(p.invitation_answered_at),
                "map_entry": p.map_entry,
                "interpreter_language": p.interpreter_language,
                "interpreter_arranged": p.interpreter_arranged,
                "age": p.age,
                "supported_by": p.supported_by_id,
            }
            for p in people
        ],
        "proposals": [
            {
                "name": proposal.name,
                "relation": proposal.relation,
                "why": proposal.why,
                "proposed_by": proposal.proposed_by,
                "proposed_at": _iso(proposal.created_at),
                "decision": proposal.decision,
                "decided_at": _iso(proposal.decided_at),
                "decided_by": proposal.decided_by,
                "reason": proposal.reason,
                "participant_id": proposal.participant_id,
            }
            for proposal, _proposer in await store.proposals(cid)
        ],
        "documents": documents,
        "plan_versions": [
            {
                "number": v.number,
                "frozen_at": _iso(v.created_at),
                "frozen_by": v.created_by,
                "content": v.content,
                "yjs_state_base64": _base64(v.state),
                "pdf": pdf_name(v.number),
            }
            for v in versions
        ],
        "conditions": [
            {
                "id": c.id,
                "text": c.text,
                "set_by": p.id,
                "set_by_name": p.name,
                "status": c.status,
                "remark": c.remark,
                "set_at": _iso(c.created_at),
                "checked_at": _iso(c.checked_at),
            }
            for c, p in await store.conditions(cid)
        ],
        "signals": [
            {"kind": s.kind, "participant_id": s.participant_id, "text": s.text, "at": _iso(s.at)}
            for s, _name in await store.signals(cid)
        ],
        "clarifying_questions": [
            {"text": q.text, "at": _iso(q.at)} for q in await store.questions(cid)
        ],
        "conference_questions": [
            {"position": q.position, "text": q.text} for q in await store.conference_questions(cid)
        ],
        "answers": [
            {
                "participant_id": a.participant_id,
                "answer": a.answer,
                "remark": a.remark,
                "at": _iso(a.at),
                "recorded_by": a.recorded_by,
            }
            for a in sorted((await store.answers(cid)).values(), key=lambda a: a.participant_id)
        ],
        "follow_ups": follow_ups,
        # Whose marks these are is not exported: people are told that the coordinator sees
        # only everyone's average (so no id, no time, and in no order that follows the log).
        "ratings": sorted(
            (
                {
                    "occasion": r.occasion,
                    "meeting_score": r.meeting_score,
                    "plan_score": r.plan_score,
                }
                for r in await store.ratings(cid)
            ),
            key=lambda r: (r["occasion"], r["meeting_score"], r["plan_score"]),
        ),
        "audit_log": [
            {
                "at": _iso(e.at),
                "actor": e.actor,
                "kind": e.kind,
                "detail": e.detail,
                "count": e.count,
            }
            for e in await store.audit_events(cid)
        ],
    }


def _readme(conference_id: str, numbers: Iterable[int]) -> str:
    lines = [
        f"Kring export of conference {conference_id} ({FORMAT}, version {FORMAT_VERSION}).",
        "",
        "conference.json (UTF-8 JSON), by key:",
    ]
    lines += [f"  {key}: {text}" for key, text in PARTS.items()]
    lines += ["", "PDF copies of the frozen plan versions (in Dutch, as printed for everyone):"]
    lines += [f"  {pdf_name(n)}: version {n}" for n in numbers] or ["  (none yet)"]
    lines += [
        "",
        "Not in this export: the network compass of the preparation (the client's answers,",
        "strengths, questions and network map). It is the client's: the client and their",
        "supporters download it from their own page in Kring.",
    ]
    return "\n".join(lines) + "\n"


def _zip(conference_id: str, data: dict[str, Any], pdfs: dict[int, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _readme(conference_id, pdfs))
        archive.writestr("conference.json", json.dumps(data, ensure_ascii=False, indent=2))
        for number, pdf in pdfs.items():
            archive.writestr(pdf_name(number), pdf)
    return buffer.getvalue()


async def make(store: Store, conference_id: str) -> bytes:
    """The conference's zip, read from the database, printed and packed on the running event
    loop, which it holds for seconds at a time: a worker process's (``exportwork.py``) or
    that of ``kring export``, never the server's. The documents are their committed Yjs state
    (``DocumentLog.state``). ExportRefused while the coordinator may not read the plan (the
    phase as read here, in the current language); ExportGone when the conference is erased or
    being erased, before, while or after its rows are read."""
    conference = await store.conference(conference_id)  # None too while it is being erased
    if conference is None:
        raise ExportGone(conference_id)
    if not phases.coordinator_reads_plan(conference.phase):
        raise ExportRefused(refused_reason(conference.phase))
    try:
        archive = await _made(store, conference)
    except Exception:
        # An erasure deletes the rows in steps once the conference is marked: reading them
        # meanwhile may fail in any way. That is the erasure's doing, not a fault.
        if await store.conference(conference_id) is None:
            raise ExportGone(conference_id) from None
        raise
    # Marked after every row was read: a zip of it must not be handed out either.
    if await store.conference(conference_id) is None:
        raise ExportGone(conference_id)
    return archive


async def _made(store: Store, conference: Conference) -> bytes:
    cid = conference.id
    versions = await store.plan_versions(cid)
    data = await conference_data(store, DocumentLog(store.engine).state, conference, versions)
    # Not marked for erasure once every row is read: the erasure deleted none of them before.
    if await store.conference(cid) is None:
        raise ExportGone(cid)
    # The copies' own words are Dutch (pdf.py is not translated yet): their labels too.
    with i18n.using(i18n.DEFAULT_LANGUAGE):
        copies = {v.number: plan_copy(v) for v in versions}
    pdfs = printing.plan_pdfs(copies, time_zone(), i18n.DEFAULT_LANGUAGE)
    return _zip(cid, data, pdfs)


async def build(
    heavy: HeavyWork, database_url: str, conference: Conference, *, wait: bool = False
) -> bytes:
    """The conference's zip, made by the server: refused at once (ExportRefused) while its
    coordinator may not read the plan; else made in one call in a worker process of the
    heavy work (``exportwork.export_zip``), which reads the database at ``database_url``
    itself and refuses, from the phase it reads, in the current language. The export holds
    a slot of the heavy work while it is made: a request waits for one at most its
    ``wait_seconds``, then Busy; with ``wait``, a background job waits its turn. ExportGone
    when the conference is erased or being erased, ExportUnreadable when the database failed.
    """
    if not phases.coordinator_reads_plan(conference.phase):
        raise ExportRefused(refused_reason(conference.phase))
    cid = conference.id
    async with heavy.slot(f"export of conference {cid}", wait=wait):
        with metrics.heavy("export"):
            try:
                made = await heavy.run(
                    exportwork.export_zip, database_url, cid, time_zone(), i18n.get_language()
                )
            except ExportGone:
                log.info("export of conference %s not made: it is erased or being erased", cid)
                raise
    log.debug("export of conference %s made in process %d", cid, made.made_in)
    return made.archive
