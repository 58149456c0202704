"""The preparation's invitation forms: the coordinator invites someone from the network map
or from the family's proposals (or not now, with a reason) and notes where each invitation
stands; a person answers "coming" / "not coming" on their own page; the family proposes
someone to invite.

Every form works without JavaScript: the coordinator's answer with the conference page (its
participants section for htmx), a person's with a redirect back to their page. A refusal
shows the page again with its status (400 bad input, 403, 404 unknown, 409 not now) and the
reason beside the form it is about, keeping what was typed.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from server.conference.refusals import FlowError
from server.i18n import _
from server.rules import invitations
from server.rules.refusal import Refusal
from server.views import common, participant, participants
from server.views.preparation import invitations_of

MAX_ENTRY_ID = 64  # a map entry's id as the database keeps it


async def _conference_page(
    request: Request, about: str, message: str, status_code: int
) -> Response:
    """The conference page again, with ``message`` beside the form ``about`` names."""
    request.state.invitation_error = (about, message)
    who, conference = await common.own_conference(request)
    return await participants.participants_view(request, who, conference, status_code=status_code)


async def _done(request: Request, flash: str) -> Response:
    who, conference = await common.own_conference(request)
    return await participants.participants_view(request, who, conference, flash=flash)


def _number(request: Request, name: str, missing: str) -> int:
    return common.number_in_path(request, name, missing)


# -- the coordinator ------------------------------------------------------------------------


async def invite_from_map_form(request: Request) -> Response:
    """ "Uitnodigen" beside a person on the network map: they become a participant."""
    person = await common.coordinator_person(request)
    entry_id = request.path_params["entry_id"]
    try:
        if len(entry_id) > MAX_ENTRY_ID:
            message = _("Deze persoon staat niet (meer) op de netwerkkaart.")
            raise FlowError(Refusal.MISSING, message, "no_map_entry")
        added, created = await invitations_of(request).invite_from_map(person, entry_id)
    except FlowError as exc:
        about = f"map-{entry_id}" if len(entry_id) <= MAX_ENTRY_ID else "map"
        return await _conference_page(request, about, exc.message, common.STATUS[exc.kind])
    if created:
        flash = _(
            "%(name)s staat nu op de lijst. Maak een link of stuur een uitnodiging.",
            name=added.name,
        )
    else:
        flash = _("%(name)s stond al op de lijst; er is niemand bij gekomen.", name=added.name)
    return await _done(request, flash)


async def status_form(request: Request) -> Response:
    """Where one person's invitation stands, with the coordinator's note."""
    person = await common.coordinator_person(request)
    participant_id = _number(
        request, "participant_id", _("Deze deelnemer staat niet (meer) op de lijst.")
    )
    form = await request.form()
    status, note = common.text(form, "status"), common.text(form, "note")
    try:
        changed = await invitations_of(request).set_status(person, participant_id, status, note)
    except FlowError as exc:
        about = f"{'note' if exc.code == 'bad_note' else 'status'}-{participant_id}"
        request.state.invitation_typed = {"status": status, "note": note}
        return await _conference_page(request, about, exc.message, common.STATUS[exc.kind])
    return await _done(
        request,
        _(
            "Bij %(name)s staat nu: %(status)s.",
            name=changed.name,
            status=invitations.STATUS_LABELS[status],
        ),
    )


async def accept_form(request: Request) -> Response:
    """ "Uitnodigen" beside someone the family proposed: a participant with their name."""
    person = await common.coordinator_person(request)
    proposal_id = _number(
        request, "proposal_id", _("Dit voorstel bestaat niet in deze conferentie.")
    )
    role = common.text(await request.form(), "role") or "network_member"
    try:
        _proposal, added = await invitations_of(request).accept(person, proposal_id, role)
    except FlowError as exc:
        return await _conference_page(
            request, f"proposal-{proposal_id}", exc.message, common.STATUS[exc.kind]
        )
    return await _done(
        request,
        _(
            "%(name)s staat nu op de lijst. Maak een link of stuur een uitnodiging.",
            name=added.name,
        ),
    )


async def decline_form(request: Request) -> Response:
    """ "Niet nu" beside someone the family proposed, with a reason the proposer reads."""
    person = await common.coordinator_person(request)
    proposal_id = _number(
        request, "proposal_id", _("Dit voorstel bestaat niet in deze conferentie.")
    )
    reason = common.text(await request.form(), "reason")
    try:
        proposal = await invitations_of(request).decline(person, proposal_id, reason)
    except FlowError as exc:
        request.state.invitation_typed = {"reason": reason}
        return await _conference_page(
            request, f"proposal-{proposal_id}", exc.message, common.STATUS[exc.kind]
        )
    return await _done(request, _("%(name)s wordt nu niet uitgenodigd.", name=proposal.name))


# -- a person on their own page -------------------------------------------------------------


def _back(request: Request, anchor: str) -> str:
    return f"/c/{request.path_params['conference_id']}#{anchor}"


async def answer_form(request: Request) -> Response:
    """ "Ik kom" / "Ik kom niet" on a person's own page."""
    person = await common.person_of(request)
    status = common.text(await request.form(), "status")
    action = invitations_of(request).answer(person, status)
    return await common.run_action(
        request, action, participant.participant_page, _back(request, "invitation")
    )


async def propose_form(request: Request) -> Response:
    """The family proposes someone to invite: a name, who they are to them, why."""
    person = await common.person_of(request)
    form = invitations.proposal_form(await request.form())
    if not form.ok:
        request.state.proposal_form = form
        field = next(iter(form.errors))
        return await participant.participant_page(request, form.errors[field], 400)
    cleaned = form.cleaned
    try:
        await invitations_of(request).propose(
            person, cleaned["name"], cleaned["relation"], cleaned["why"]
        )
    except FlowError as exc:
        request.state.proposal_form = form
        return await participant.participant_page(request, exc.message, common.STATUS[exc.kind])
    return RedirectResponse(_back(request, "proposals"), status_code=303)
