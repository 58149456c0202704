"""The family's decisions in private time, from its plan page: letting a waiting device in
(or not now) and sending a signed-in device out. Who waits and who is in is
``server/conference/admission.py``'s."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from server.conference import admission, auth, sessions
from server.i18n import _
from server.rules import phases
from server.views import common

DECISIONS = ("in", "refused")


async def _watcher(request: Request) -> tuple[auth.Person, int]:
    """An admitted family member in private time, and the session id in the URL."""
    person = await common.person_of(request)
    if not admission.keeps_watch(person):
        if person.role in phases.FAMILY:
            reason = _("Wie er binnenkomt, beslist de familie tijdens de privétijd.")
        else:
            reason = _("Alleen de familie en het netwerk laten iemand binnen.")
        raise HTTPException(403, reason)
    gone = _("Dit apparaat is niet (meer) aangemeld.")
    return person, common.number_in_path(request, "session_id", gone)


def _done(request: Request, conference_id: str) -> Response:
    if request.headers.get("hx-request"):
        return Response(status_code=204)  # the lists are drawn again by the event stream
    return RedirectResponse(f"/c/{conference_id}/plan", status_code=303)


async def decide(request: Request) -> Response:
    """The family lets a waiting device in ("in") or not now ("refused")."""
    person, session_id = await _watcher(request)
    store = common.store(request)
    conference_id = person.conference.id
    decision = common.choice((await request.form()).get("decision"), DECISIONS)
    if decision is None:
        raise HTTPException(400, _("Kies 'binnenlaten' of 'nu niet'."))
    found = await store.conference_session(conference_id, session_id)
    if found is None:
        raise HTTPException(404, _("Dit apparaat is niet (meer) aangemeld."))
    session, participant = found
    if not await store.decide_admission(conference_id, session.id, decision, person.actor):
        raise HTTPException(409, _("Over dit apparaat is al beslist."))
    kind = "admission_granted" if decision == "in" else "admission_refused"
    await store.audit(conference_id, person.actor, kind, {"participant_id": participant.id})
    admission.decided(common.events(request), conference_id, session.id, decision)
    return _done(request, conference_id)


async def send_out(request: Request) -> Response:
    """The family sends a signed-in device of one of its members away."""
    person, session_id = await _watcher(request)
    store = common.store(request)
    conference_id = person.conference.id
    found = await store.conference_session(conference_id, session_id)
    if found is None or found[1].role not in phases.FAMILY:
        raise HTTPException(404, _("Dit apparaat is niet (meer) aangemeld."))
    await store.end_session(session_id)
    common.hub(request).end_sessions([session_id], sessions.SENT_OUT)
    await store.audit(
        conference_id, person.actor, "device_sent_out", {"participant_id": found[1].id}
    )
    admission.changed(common.events(request), conference_id)
    return _done(request, conference_id)
