"""The plan's pages: the plan as it stands, a frozen version's copy (printable page and PDF)
and what changed between two versions.

Whether someone may see the plan is asked of ``server/rules/phases.py``, like every websocket.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from server import i18n, metrics
from server.clock import time_zone
from server.conference import admission, auth, compassfeed
from server.conference.plancopy import plan_copy, plan_people
from server.formats import printing
from server.i18n import _
from server.rooms.hub import RoomUnavailable
from server.rules import phases
from server.rules.compare import compare_versions
from server.rules.copy import agreement_count
from server.rules.plan import (
    AGREEMENT_STATUSES,
    LIFE_AREAS,
    area_label,
    read_information,
    read_plan,
)
from server.rules.plan import schema as plan_schema
from server.storage.models import Conference, PlanVersion
from server.views import common


def may_read_plan(person: auth.Person) -> bool:
    allowed = phases.access(
        person.conference.phase,
        person.role,
        "plan",
        action_team_member=person.action_team_member,
    )
    return allowed >= phases.Access.READ


def plan_locked(request: Request, conference: Conference, person: auth.Person) -> Response:
    """403: the plan is not for this person now (in private time: the family is at work)."""
    title = (
        _("De familie maakt nu het plan")
        if conference.phase == "private_time"
        else _("Het plan is nu niet voor jou open")
    )
    reason = phases.plan_locked_reason(conference.phase)
    return common.live_page_refused(request, person, title, reason)


class PlanLocked(Exception):
    def __init__(self, person: auth.Person) -> None:
        self.person = person


def locked_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PlanLocked)
    return plan_locked(request, exc.person.conference, exc.person)


async def reader(request: Request) -> auth.Person:
    """Who asks, if they may read the plan now (else the plan's 403 page, via PlanLocked)."""
    person = await common.person_of(request)
    if not may_read_plan(person):
        raise PlanLocked(person)
    return person


async def read_plan_or_unavailable(request: Request, conference_id: str) -> dict[str, Any]:
    people = plan_people(
        row.participant for row in await common.store(request).participants(conference_id)
    )
    try:
        return read_plan(await common.hub(request).document_state(conference_id, "plan"), people)
    except RoomUnavailable:
        reason = _("Het plan kan nu niet gelezen worden. Probeer het zo opnieuw.")
        raise HTTPException(503, reason) from None


async def drawer_context(request: Request, person: auth.Person) -> dict[str, Any]:
    """What the plan editor's drawer shows, read-only, beside the plan: the information
    document's text and the mandated professionals' conditions, each only when the permission
    table lets this person read it now (``phases.access``). The conditions are the plan's own
    requirements, so whoever may read the plan may read them; the information has its own row
    (in private time the family reads it, nobody else)."""
    conference = person.conference
    information: str | None = None
    if phases.access(conference.phase, person.role, "information") >= phases.Access.READ:
        try:
            state = await common.hub(request).document_state(conference.id, "information")
        except RoomUnavailable:
            state = b""
        information = read_information(state)
    conditions = []
    if may_read_plan(person):
        judged = conference.phase not in ("information", "private_time")
        for condition, professional in await common.store(request).conditions(conference.id):
            status = ""
            if judged:
                status = {"met": _("voldaan"), "not_met": _("niet voldaan")}.get(
                    condition.status or "", _("nog niet beoordeeld")
                )
            conditions.append(
                {
                    "text": condition.text,
                    "by": professional.name,
                    "status": status,
                    "remark": condition.remark if judged else "",
                }
            )
    # The client's questions from the compass, copied for the meeting: everyone's to read.
    questions = await common.store(request).conference_questions(conference.id)
    return {"information": information, "conditions": conditions, "questions": questions}


def group_by_area(agreements: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The agreements by life area, each with ``replaces_what``: the "what" of the agreement
    whose backup it is ("" if none), so a copy shows the link too."""
    what = {row.get("id"): row.get("what", "") for row in agreements if row.get("id")}
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    for row in agreements:
        label = area_label(row["life_area"])
        if not groups or groups[-1][0] != label:
            groups.append((label, []))
        groups[-1][1].append({**row, "replaces_what": what.get(row.get("replaces") or "", "")})
    return groups


async def plan_page(request: Request) -> Response:
    """The plan as it stands (read-only), for whoever may read it now."""
    person = await common.person_of(request)
    if not may_read_plan(person):
        return plan_locked(request, person.conference, person)
    conference = person.conference
    plan = await read_plan_or_unavailable(request, conference.id)
    access = phases.access(
        conference.phase, person.role, "plan", action_team_member=person.action_team_member
    )
    people = [
        row.participant
        for row in await common.store(request).participants(conference.id)
        if row.participant.role != "coordinator"
    ]
    config = {
        "conference": conference.id,
        "writable": access >= phases.Access.WRITE,
        "me": {
            "id": common.device_person(person),
            "name": person.name,
            "role": person.role,
        },
        "people": [{"id": p.id, "name": p.name, "role": p.role} for p in people],
        "schema": plan_schema(),
        # The life areas as the choices of whoever writes the plan offer them: the client's
        # priorities from the compass first (only the order leaves the compass, and only to
        # a writer: a reader has no choice to make).
        "area_order": await compassfeed.area_order(common.hub(request), conference.id)
        if access >= phases.Access.WRITE
        else list(LIFE_AREAS),
        # Status, progress notes and "use the backup" belong to the follow-ups.
        "follow_up": conference.phase in ("action_team", "closed"),
    }
    await common.audit_viewed(request, person, "plan", "plan")
    response = common.render(
        request,
        "meeting/plan.html",
        conference=conference,
        person=person,
        plan=plan,
        groups=group_by_area(plan["agreements"]),
        statuses=AGREEMENT_STATUSES,
        writable=config["writable"],
        action_team=[p.name for p in people if p.action_team],
        config=config,
        drawer=await drawer_context(request, person),
        **await admission.family_context(common.store(request), common.hub(request), person),
    )
    # The page holds the plan: a shared tablet's browser must not keep it in its HTTP cache
    # (the offline copy is the service worker's, and "forget this device" clears it).
    response.headers["cache-control"] = "no-store"
    return response


# -- frozen versions ---------------------------------------------------------------------------


async def _version(request: Request) -> tuple[auth.Person, PlanVersion]:
    person = await reader(request)
    missing = _("Deze versie van het plan bestaat (nog) niet.")
    number = common.number_in_path(request, "number", missing)
    version = await common.store(request).plan_version(person.conference.id, number)
    if version is None:
        raise HTTPException(404, missing)
    return person, version


async def copy_page(request: Request) -> Response:
    person, version = await _version(request)
    await common.store(request).audit(
        person.conference.id,
        person.actor,
        "plan_exported",
        {"version": version.number, "format": "page"},
        coalesce=True,
    )
    return common.render(
        request,
        "meeting/copy.html",
        conference=person.conference,
        copy=plan_copy(version),
        agreement_count=agreement_count,
        frozen_at=version.created_at,
        groups=group_by_area(version.content.get("agreements", [])),
        statuses=AGREEMENT_STATUSES,
        version=version,
    )


async def copy_pdf(request: Request) -> Response:
    person, version = await _version(request)
    copy = plan_copy(version)
    heavy = common.heavy(request)
    async with heavy.slot(f"plan copy of conference {person.conference.id}"):
        # Asked again once a slot is free and once the copy is made: meanwhile the conference
        # may have begun to be erased, the plan closed, or the asker been taken off.
        await reader(request)
        with metrics.heavy("pdf copy"):
            document = await heavy.run(printing.plan_pdf, copy, time_zone(), i18n.get_language())
    person = await reader(request)
    await common.store(request).audit(
        person.conference.id,
        person.actor,
        "plan_exported",
        {"version": version.number, "format": "pdf"},
        coalesce=True,
    )
    name = _("plan-versie-%(number)s.pdf", number=version.number)
    return common.download(document, "application/pdf", name)


async def compare_page(request: Request) -> Response:
    """What changed per agreement between two frozen versions (``?old=N&new=M``; by default
    the last two)."""
    person = await reader(request)
    conference = person.conference
    versions = {v.number: v for v in await common.store(request).plan_versions(conference.id)}
    if not versions:
        return common.error_page(
            request, 404, _("Niet gevonden"), _("Er is nog geen vastgesteld plan.")
        )
    latest = max(versions)

    def number(name: str, default: int) -> int | None:
        raw = request.query_params.get(name, "")
        return common.integer(raw) if raw else default

    old, new = number("old", max(1, latest - 1)), number("new", latest)
    if old not in versions or new not in versions:
        return common.error_page(
            request,
            404,
            _("Niet gevonden"),
            _("Kies twee versies die er zijn: 1 tot en met %(latest)s.", latest=latest),
        )
    old_version, new_version = versions[old], versions[new]
    await common.audit_viewed(request, person, "plan", "compare", versions=[old, new])
    return common.render(
        request,
        "meeting/compare.html",
        conference=conference,
        person=person,
        numbers=sorted(versions),
        old_number=old,
        new_number=new,
        comparison=compare_versions(old_version.content, new_version.content),
        old_version=old_version,
        new_version=new_version,
        old_frozen_at=old_version.created_at,
        new_frozen_at=new_version.created_at,
    )
