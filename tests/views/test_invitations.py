"""Bad input to the preparation's invitation forms on a real `kring serve`: each gets its
status and a sentence beside the form it is about (400 naming the field, 403 not yours, 404
unknown or another conference's, 409 not now), what was typed stays in the form, and nothing
is stored."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.meeting import move
from tests.support.people import (
    DemoConference,
    as_,
    demo_conference,
    ids_by_role,
    other_coordinator,
    server_store,
)
from tests.support.server import LiveServer

pytestmark = pytest.mark.usefixtures("devices_closed")


def _words(page: str) -> str:
    return " ".join(html.unescape(page).split())


async def _proposals(conference: DemoConference) -> list[str]:
    async with server_store(conference) as store:
        return [p.name for p, _who in await store.proposals(conference.id)]


async def test_a_bad_proposal_names_its_field_keeps_what_was_typed_and_stores_nothing(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "preparation")
    cid = conference.id
    url = f"/c/{cid}/proposals"
    async with as_(conference, conference.cookie("client")) as client:
        empty = await client.post(url, data={"name": "  ", "relation": "oom", "why": ""})
        assert empty.status_code == 400
        page = _words(empty.text)
        assert "Vul de naam in." in page
        assert 'aria-invalid="true" aria-describedby="f-propose-name-error"' in page
        assert '<p class="error" id="f-propose-name-error">Vul de naam in.</p>' in page
        assert 'name="relation" maxlength="100" value="oom"' in page  # kept
        long = await client.post(url, data={"name": "K" * 201, "relation": "", "why": ""})
        assert long.status_code == 400
        assert "De naam mag hoogstens 200 tekens lang zijn." in _words(long.text)
        why = await client.post(url, data={"name": "Kees", "relation": "", "why": "w" * 301})
        assert why.status_code == 400
        assert "Waarom mag hoogstens 300 tekens lang zijn." in _words(why.text)
        broken = await client.post(url, data={"name": "Kees", "relation": "oom\nen tante"})
        assert broken.status_code == 400
        assert "wie het is voor jullie" in _words(broken.text)
        assert await _proposals(conference) == []

        # At most 20 open proposals per person: the 21st waits until one is decided.
        for number in range(20):
            done = await client.post(url, data={"name": f"Persoon {number}"})
            assert done.status_code == 303
        flood = await client.post(url, data={"name": "Nog een", "relation": "buurman"})
        assert flood.status_code == 409
        assert "Er wachten al 20 voorstellen van jou op de coördinator." in _words(flood.text)
        assert 'value="buurman"' in flood.text
        assert len(await _proposals(conference)) == 20

    # A professional does not propose; after the preparation nobody does.
    async with as_(conference, conference.cookie("professional")) as professional:
        assert (await professional.post(url, data={"name": "Kees"})).status_code == 403
    assert (await move(conference, "information")).status_code == 200
    async with as_(conference, conference.cookie("network_member")) as member:
        late = await member.post(url, data={"name": "Kees"})
        assert late.status_code == 409
        assert "in de voorbereiding" in _words(late.text)
    assert len(await _proposals(conference)) == 20


async def test_bad_decisions_statuses_and_answers_are_refused_with_the_right_status(
    live_server: LiveServer,
) -> None:
    other = await demo_conference(live_server, "preparation")
    conference = await demo_conference(live_server, "preparation")  # the demo login's now
    cid = conference.id
    async with as_(other, other.cookie("client")) as elsewhere:
        await elsewhere.post(f"/c/{other.id}/proposals", data={"name": "Van elders"})
    async with as_(conference, conference.cookie("client")) as client:
        await client.post(f"/c/{cid}/proposals", data={"name": "Oom Kees"})
        # An answer is "coming" or "not coming"; "maybe" is the coordinator's word.
        maybe = await client.post(f"/c/{cid}/invitation", data={"status": "maybe"})
        assert maybe.status_code == 400
        assert "Kies 'ik kom' of 'ik kom niet'." in _words(maybe.text)
    async with server_store(conference) as store:
        ((kees, _who),) = await store.proposals(cid)
        ((foreign, _who),) = await store.proposals(other.id)
    ids = await ids_by_role(conference, "client", "coordinator")
    other_ids = await ids_by_role(other, "client")

    base = f"/conferences/{cid}"
    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        for path, status in (
            (f"{base}/proposals/999999/invite", 404),
            (f"{base}/proposals/99999999999/invite", 404),
            (f"{base}/proposals/{foreign.id}/invite", 404),  # another conference's
            (f"{base}/map/{'x' * 65}/invite", 404),
            (f"{base}/map/niemand/invite", 404),
        ):
            response = await coordinator.post(path, data={"role": "network_member"})
            assert response.status_code == status, path
        unknown = await coordinator.post(f"{base}/proposals/999999/decline", data={"reason": ""})
        assert "Dit voorstel bestaat niet in deze conferentie." in _words(unknown.text)
        role = await coordinator.post(
            f"{base}/proposals/{kees.id}/invite", data={"role": "coordinator"}
        )
        assert role.status_code == 400
        assert "Kies een rol uit de lijst." in _words(role.text)
        reason = await coordinator.post(
            f"{base}/proposals/{kees.id}/decline", data={"reason": "r" * 501}
        )
        assert reason.status_code == 400
        assert "De reden mag hoogstens 500 tekens lang zijn." in _words(reason.text)
        assert f'value="{"r" * 501}"' in reason.text  # kept in its field

        status_url = f"{base}/participants/{ids['client']}/invitation"
        bad_status = await coordinator.post(status_url, data={"status": "gone", "note": "x"})
        assert bad_status.status_code == 400
        long_note = await coordinator.post(
            status_url, data={"status": "invited", "note": "n" * 501}
        )
        assert long_note.status_code == 400
        page = _words(long_note.text)
        assert "De notitie mag hoogstens 500 tekens lang zijn." in page
        assert (
            f'id="f-note-{ids["client"]}" name="note" maxlength="500" value="{"n" * 501}"' in page
        )
        for participant_id in (other_ids["client"], ids["coordinator"]):
            wrong = await coordinator.post(
                f"{base}/participants/{participant_id}/invitation", data={"status": "invited"}
            )
            assert wrong.status_code == 404
    async with server_store(conference) as store:
        proposal, _who = (await store.proposals(cid))[0]
        client_row = await store.participant(cid, ids["client"])
    assert proposal.decision is None
    assert client_row is not None and client_row.invitation_status == "to_invite"
    assert client_row.invitation_note == ""

    # Neither another coordinator's login nor a participant's is a way in.
    cookie, _account = await other_coordinator(conference)
    async with as_(conference, cookie) as stranger:
        forbidden = await stranger.post(f"{base}/proposals/{kees.id}/invite")
        assert forbidden.status_code == 403
    async with as_(conference, conference.cookie("client")) as client:
        assert (await client.post(f"{base}/proposals/{kees.id}/invite")).status_code == 403

    # Once the conference has begun (its start time passed), an answer is closed.
    async with server_store(conference) as store:
        await store.update_conference(cid, starts_at=datetime.now(UTC) - timedelta(minutes=5))
    async with as_(conference, conference.cookie("client")) as client:
        late = await client.post(f"/c/{cid}/invitation", data={"status": "coming"})
        assert late.status_code == 409
        assert "De conferentie is al begonnen" in _words(late.text)
        assert "Ik kom</button>" not in late.text
