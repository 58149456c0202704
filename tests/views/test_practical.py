"""The practical side on the coordinator's conference page, on a real `kring serve`: each bad
input gets a 400 on the page naming its field, keeps what was typed and stores nothing; good
input is stored and closes its item on the preparation checklist, which an htmx answer
brings along."""

from __future__ import annotations

import html
import re

import pytest

from server.storage.models import Participant
from tests.support.people import as_, demo_conference, server_store
from tests.support.server import LiveServer

pytestmark = pytest.mark.usefixtures("devices_closed")


def _item(page: str, key: str) -> str:
    """One item of the checklist as the page shows it ("klaar" or "nog open", and its text)."""
    found = re.search(
        rf'<li class="checklist-item (is-\w+)" data-item="{key}">(.*?)</li>', page, re.S
    )
    assert found, f"no checklist item {key}"
    return found[1] + " " + html.unescape(re.sub(r"<[^>]+>", " ", found[2]))


async def _people(conference_id: str, on: LiveServer) -> dict[str, Participant]:
    async with server_store(on) as store:
        return {r.participant.name: r.participant for r in await store.participants(conference_id)}


async def test_bad_practical_input_is_refused_naming_the_field_and_stores_nothing(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "preparation")
    people = await _people(conference.id, live_server)
    sam, ayse = people["Sam Yılmaz"], people["Ayşe Yılmaz"]
    noah, iris = people["Noah Bakker"], people["Iris van Dam"]
    coordinator_row = next(p for p in people.values() if p.role == "coordinator")
    url = f"/conferences/{conference.id}/participants/{noah.id}/practical"
    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        page = (await coordinator.get(f"/conferences/{conference.id}")).text
        assert "is-open" in _item(page, "food_childcare")
        assert "is-done" in _item(page, "interpreters")  # nobody needs one, as noted

        child = {"child": "yes", "interpreter_language": "Pools"}
        refusals = [  # (form, the field named, words the refusal says)
            ({**child, "age": ""}, "age", "hoe oud het kind is"),
            ({**child, "age": "18"}, "age", "0 tot en met 17"),
            ({**child, "age": "zeven"}, "age", "0 tot en met 17"),
            ({**child, "age": "7", "supported_by": str(noah.id)}, "supported_by", "zichzelf"),
            ({**child, "age": "7", "supported_by": "999999"}, "supported_by", "op de lijst"),
            (
                {**child, "age": "7", "supported_by": str(coordinator_row.id)},
                "supported_by",
                "onafhankelijk",
            ),
            ({"interpreter_language": "x" * 101}, "interpreter_language", "hoogstens 100"),
        ]
        for form, field, words in refusals:
            response = await coordinator.post(url, data=form)
            assert response.status_code == 400, (form, response.text[:300])
            text = html.unescape(response.text)
            error = re.search(rf'id="f-{field}-{noah.id}-error">([^<]+)<', text)
            assert error, (form, field)
            assert words in error[1], (form, error[1])
            # what was typed is shown again in the open form
            assert f'id="practical-{noah.id}" open' in text
            if form.get("interpreter_language") == "Pools":
                assert 'value="Pools"' in text

        # Sam (8) supported by Noah; then Noah cannot become a child himself, nor can a
        # professional be one, and a child cannot support another child.
        ok = await coordinator.post(
            f"/conferences/{conference.id}/participants/{sam.id}/practical",
            data={"child": "yes", "age": "8", "supported_by": str(noah.id)},
        )
        assert ok.status_code == 200, ok.text
        for who, form, field, words in (
            (noah, {"child": "yes", "age": "16"}, "child", "Sam Yılmaz"),
            (iris, {"child": "yes", "age": "16"}, "child", "professional"),
            (
                ayse,
                {"child": "yes", "age": "5", "supported_by": str(sam.id)},
                "supported_by",
                "zelf een kind",
            ),
        ):
            response = await coordinator.post(
                f"/conferences/{conference.id}/participants/{who.id}/practical", data=form
            )
            assert response.status_code == 400
            error = re.search(
                rf'id="f-{field}-{who.id}-error">([^<]+)<', html.unescape(response.text)
            )
            assert error and words in error[1], (who.name, response.text[:300])
        # Nobody else's practical side changed.
        after = await _people(conference.id, live_server)
        assert (after["Noah Bakker"].age, after["Noah Bakker"].interpreter_language) == (None, "")
        assert after["Ayşe Yılmaz"].age is None and after["Iris van Dam"].age is None
        assert (after["Sam Yılmaz"].age, after["Sam Yılmaz"].supported_by_id) == (8, noah.id)

        # Notes: several lines are fine; over the limit is a 400 naming the field, and the
        # other notes typed with it are not stored either.
        notes = f"/conferences/{conference.id}/practical"
        too_long = await coordinator.post(
            notes, data={"food_notes": "soep " * 500, "childcare_notes": "Oma past op"}
        )
        assert too_long.status_code == 400
        assert 'id="f-food_notes-error"' in too_long.text and "Oma past op" in too_long.text
        async with server_store(live_server) as store:
            assert (await store.conference(conference.id)).childcare_notes == ""  # type: ignore[union-attr]
        saved = await coordinator.post(
            notes,
            data={
                "food_notes": "Ayşe kookt.\nHalal.",
                "childcare_notes": "Niet nodig",
                "transport_notes": "",
            },
        )
        assert saved.status_code == 200
        assert "is-done" in _item(saved.text, "food_childcare")

        # An interpreter noted: open, named, linked to the person's form; arranged: done. The
        # htmx answer (the participants part) brings the checklist along, out of band.
        needs = await coordinator.post(
            f"/conferences/{conference.id}/participants/{ayse.id}/practical",
            data={"interpreter_language": "Turks"},
            headers={"hx-request": "true"},
        )
        assert needs.status_code == 200
        assert 'id="checklist" aria-labelledby="checklist-title" hx-swap-oob="true"' in needs.text
        item = _item(needs.text, "interpreters")
        assert "is-open" in item and "Ayşe Yılmaz (Turks)" in item
        assert f'href="#f-interpreter_language-{ayse.id}"' in needs.text
        arranged = await coordinator.post(
            f"/conferences/{conference.id}/participants/{ayse.id}/practical",
            data={"interpreter_language": "Turks", "interpreter_arranged": "yes"},
        )
        assert "is-done" in _item(arranged.text, "interpreters")
        assert "is-done" in _item(arranged.text, "children")  # Sam has Noah
        assert "tolk Turks: geregeld" in arranged.text
        log = (await coordinator.get(f"/conferences/{conference.id}/audit")).text
        assert "noteerde het praktische van Ayşe Yılmaz" in html.unescape(log)

        # A coordinator has no practical side; someone not on the list is a 404.
        coordinator_url = (
            f"/conferences/{conference.id}/participants/{coordinator_row.id}/practical"
        )
        assert (await coordinator.post(coordinator_url, data={})).status_code == 409
        gone = f"/conferences/{conference.id}/participants/999999/practical"
        assert (await coordinator.post(gone, data={})).status_code == 404
    # Someone else's login: not their conference.
    async with as_(conference, conference.cookie("client")) as client:
        refused = await client.post(url, data={"interpreter_language": "Pools"})
        assert refused.status_code in (401, 403, 303)
    async with server_store(live_server) as store:
        assert (await store.participant(conference.id, noah.id)).interpreter_language == ""  # type: ignore[union-attr]
