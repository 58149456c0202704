"""The supporter forms on a real `kring serve`: the client's on their own page and the
coordinator's on the participant list. Every bad choice is a clear error on the form's page,
and changes nothing."""

from __future__ import annotations

import html

import pytest

from tests.support.meeting import move
from tests.support.people import DemoConference, as_, demo_conference, server_store
from tests.support.server import LiveServer

pytestmark = pytest.mark.usefixtures("devices_closed")


async def supporters(conference: DemoConference) -> frozenset[int]:
    async with server_store(conference) as store:
        return await store.supporters(conference.id)


async def ids(conference: DemoConference) -> dict[str, int]:
    async with server_store(conference) as store:
        rows = await store.participants(conference.id)
    found: dict[str, int] = {}
    for row in rows:
        found.setdefault(row.participant.role, row.participant.id)
    return found


async def test_bad_choices_of_supporters_get_a_clear_error_and_change_nothing(
    live_server: LiveServer,
) -> None:
    other = await demo_conference(live_server, "preparation")  # (its password is reset next)
    conference = await demo_conference(live_server, "preparation")
    people, elsewhere = await ids(conference), await ids(other)
    member = people["network_member"]
    client_form = f"/c/{conference.id}/supporters"
    coordinator_form = f"/conferences/{conference.id}/supporters"
    async with as_(conference, conference.cookie("client")) as client:
        assert (await client.post(client_form, data={"supporter": str(member)})).status_code == 303
        for sent, status, said in (
            ("Ayşe", 400, "Steunpersonen: kies mensen uit de lijst van netwerkleden."),
            ("²", 400, "Steunpersonen: kies mensen uit de lijst van netwerkleden."),
            ("99999999999", 400, "Steunpersonen: kies mensen uit de lijst van netwerkleden."),
            ("2147483647", 400, "Deze persoon staat niet (meer) op de lijst"),
            (str(elsewhere["network_member"]), 400, "Deze persoon staat niet (meer) op de lijst"),
            (str(people["professional"]), 400, "Iris van Dam is geen netwerklid."),
            (str(people["client"]), 400, "is geen netwerklid. Alleen netwerkleden"),
        ):
            page = await client.post(client_form, data={"supporter": [str(member), sent]})
            assert page.status_code == status, (sent, page.status_code)
            assert said in html.unescape(page.text), sent
            assert 'role="alert"' in page.text  # on the client's own page, as an error
    assert await supporters(conference) == {member}

    # Someone else of the family cannot choose for the client.
    async with as_(conference, conference.cookie("network_member", 1)) as relative:
        page = await relative.post(client_form, data={"supporter": str(member)})
        assert page.status_code == 403
        assert "Alleen de cliënt kiest steunpersonen" in html.unescape(page.text)
    assert await supporters(conference) == {member}

    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        # Without "together with the client": refused, the list shows why.
        alone = await coordinator.post(coordinator_form, data={"supporter": []})
        assert alone.status_code == 400
        assert "Kies ze samen met de cliënt" in html.unescape(alone.text)
        wrong = await coordinator.post(
            coordinator_form,
            data={"supporter": str(people["professional"]), "with_client": "yes"},
        )
        assert wrong.status_code == 400 and "geen netwerklid" in wrong.text
        assert await supporters(conference) == {member}
        # Together with the client, it is done: here, taking the mark away.
        done = await coordinator.post(coordinator_form, data={"with_client": "yes"})
        assert done.status_code == 200 and "Er zijn nu geen steunpersonen." in done.text
        assert await supporters(conference) == frozenset()
        assert (await move(conference, "information")).status_code == 200
        # After the preparation nobody new is chosen (taking away still works).
        late = await coordinator.post(
            coordinator_form, data={"supporter": str(member), "with_client": "yes"}
        )
        assert late.status_code == 409
        assert "Steunpersonen kies je in de voorbereiding" in late.text
    assert await supporters(conference) == frozenset()
