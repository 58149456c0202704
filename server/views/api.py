"""The JSON API: phase changes, the family's signals and the plan as it stands.

Errors are JSON too: ``{"error": code, "reason": sentence}`` with 400 (bad request body), 401
(not signed in), 403 (not yours to do or see now), 404 and 409 (not possible in this phase).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.conference import auth
from server.conference.refusals import FlowError
from server.i18n import _
from server.rules import phases
from server.rules.refusal import Refusal
from server.views import common, identity
from server.views.common import STATUS
from server.views.plan import may_read_plan, read_plan_or_unavailable

MAX_BODY_BYTES = 16 * 1024


def problem(status: int, code: str, reason: str) -> JSONResponse:
    return JSONResponse({"error": code, "reason": reason}, status_code=status)


async def _person(request: Request) -> auth.Person | JSONResponse:
    person = await identity.person_in(
        common.store(request),
        common.settings(request),
        request,
        request.path_params["conference_id"],
    )
    if isinstance(person, auth.Waiting):  # signed in during private time, not let in (yet)
        return problem(403, "waiting", person.reason)
    if isinstance(person, auth.NotAllowed):
        code = "not_found" if person.kind is Refusal.MISSING else person.kind.value
        return problem(STATUS[person.kind], code, person.reason)
    return person


async def _body(request: Request) -> dict[str, Any] | JSONResponse:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return problem(415, "not_json", _("Stuur JSON (Content-Type: application/json)."))
    too_large = problem(
        413,
        "too_large",
        _("Het verzoek is groter dan %(limit)s bytes.", limit=MAX_BODY_BYTES),
    )
    declared = request.headers.get("content-length")
    if declared is not None and common.integer(declared, high=MAX_BODY_BYTES) is None:
        return too_large  # more than the limit (or no number at all: read none of it)
    raw = b""
    async for chunk in request.stream():  # read no more than the limit, whatever is declared
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            return too_large
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return problem(400, "bad_json", _("Dit is geen geldige JSON."))
    if not isinstance(body, dict):
        return problem(400, "bad_json", _("Verwacht een JSON-object."))
    return body


async def _asked(request: Request) -> tuple[auth.Person, dict[str, Any]] | JSONResponse:
    """Who asks and what they sent, or the JSON refusal of either."""
    person = await _person(request)
    if isinstance(person, JSONResponse):
        return person
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    return person, body


async def change_phase(request: Request) -> Response:
    """``{"phase": "private_time"}``; leaving private time without the family's "plan ready"
    needs ``"reason"`` (an override, shown to the family)."""
    asked = await _asked(request)
    if isinstance(asked, JSONResponse):
        return asked
    person, body = asked
    target, reason = body.get("phase"), body.get("reason", "")
    if not isinstance(target, str) or not isinstance(reason, str):
        return problem(400, "bad_field", _('"phase" (en "reason", als je die geeft) is tekst.'))
    try:
        conference = await common.meeting(request).change_phase(person, target, reason)
    except FlowError as exc:
        return problem(STATUS[exc.kind], exc.code, exc.message)
    return JSONResponse({"phase": conference.phase})


async def signal(request: Request) -> Response:
    """``{"kind": "question" | "plan_ready"}`` from a family member during private time."""
    asked = await _asked(request)
    if isinstance(asked, JSONResponse):
        return asked
    person, body = asked
    kind = body.get("kind")
    if not isinstance(kind, str):
        return problem(400, "bad_field", _('"kind" is "question" of "plan_ready".'))
    try:
        row = await common.meeting(request).signal(person, kind)
    except FlowError as exc:
        return problem(STATUS[exc.kind], exc.code, exc.message)
    return JSONResponse({"kind": row.kind, "at": row.at.isoformat()}, status_code=201)


async def plan(request: Request) -> Response:
    """The plan as it stands, for whoever may read it in this phase."""
    person = await _person(request)
    if isinstance(person, JSONResponse):
        return person
    if not may_read_plan(person):
        reason = phases.plan_locked_reason(person.conference.phase)
        return problem(403, "plan_locked", reason)
    try:
        content = await read_plan_or_unavailable(request, person.conference.id)
    except HTTPException as exc:
        return problem(exc.status_code, "unavailable", exc.detail)
    await common.audit_viewed(request, person, "plan", "api")
    return JSONResponse({"phase": person.conference.phase, **content})
