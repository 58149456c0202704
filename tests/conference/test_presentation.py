"""The whole room at the presentation, on a real `kring serve`: the coordinator notes who is
there and "agree" / "not yet" for people without a device (never over what someone said
themselves), the copy says who agreed and how; a mandated professional writes conditions in
the information phase only and judges them all in one form; the presentation view shows the
plan only to whom may read it."""

from __future__ import annotations

import html
import io
import re

import pytest
from pypdf import PdfReader

from server.rooms.client import YClient
from server.rules.plan import add_agreement, read_plan
from tests.support.live import connected
from tests.support.meeting import move
from tests.support.people import DemoConference, as_, demo_conference, server_store
from tests.support.server import LiveServer

pytestmark = pytest.mark.usefixtures("devices_closed")


async def _to_presentation(conference: DemoConference) -> None:
    """Private time with a plan of one agreement, "plan ready", then the presentation."""
    assert (await move(conference, "private_time")).status_code == 200
    family = conference.device("plan", conference.cookie("client"), saved=True)
    async with connected(family):
        add_agreement(family.doc, "housing", what="Oma kookt op zondag", who="Ayşe")
        await family.wait_for(family.all_saved)
    async with as_(conference, conference.cookie("client")) as sam:
        await sam.post(
            f"/c/{conference.id}/signal", data={"kind": "plan_ready", "confirmed": "yes"}
        )
    assert (await move(conference, "presentation")).status_code == 200


def _flat(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def test_the_coordinator_notes_answers_for_people_without_a_device_never_over_their_own(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    cid = conference.id
    async with server_store(conference) as store:
        ids = {row.participant.name: row.participant.id for row in await store.participants(cid)}
    sam, ayse, fatma, mehmet = (
        ids["Sam Yılmaz"],
        ids["Ayşe Yılmaz"],
        ids["Fatma Yılmaz"],
        ids["Mehmet Yılmaz"],
    )
    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        # Who came, noted at the start (Mehmet answers from his phone without being ticked).
        noted = await coordinator.post(
            f"/conferences/{cid}/attendance",
            data={"participant": [str(sam), str(ayse), str(fatma)]},
        )
        assert noted.status_code == 303
        # Answers are noted at the presentation only.
        early = await coordinator.post(
            f"/conferences/{cid}/participants/{ayse}/answer", data={"answer": "agree"}
        )
        assert early.status_code == 403
        await _to_presentation(conference)

        async with (
            as_(conference, conference.cookie("client")) as sam_phone,
            as_(conference, conference.cookie("network_member", 1)) as mehmet_phone,
        ):
            # Sam answers himself; the coordinator cannot change that.
            assert (
                await sam_phone.post(f"/c/{cid}/answer", data={"answer": "agree"})
            ).status_code == 303
            over_own = await coordinator.post(
                f"/conferences/{cid}/participants/{sam}/answer", data={"answer": "not_yet"}
            )
            assert over_own.status_code == 409
            assert "Sam Yılmaz heeft zelf geantwoord (eens)" in html.unescape(over_own.text)
            # Ayşe and Fatma have no device: the coordinator notes what they say.
            for person, answer in ((ayse, "agree"), (fatma, "agree")):
                recorded = await coordinator.post(
                    f"/conferences/{cid}/participants/{person}/answer", data={"answer": answer}
                )
                assert recorded.status_code == 303
            # Mehmet's answer is first noted for him; his own later answer replaces it, and
            # then the coordinator's note can no longer change it.
            noted_for_him = await coordinator.post(
                f"/conferences/{cid}/participants/{mehmet}/answer",
                data={"answer": "not_yet", "remark": "Wil er nog over nadenken"},
            )
            assert noted_for_him.status_code == 303
            his_page = _flat((await mehmet_phone.get(f"/c/{cid}")).text)
            assert "De coördinator noteerde voor jou: nog niet" in his_page
            own = await mehmet_phone.post(f"/c/{cid}/answer", data={"answer": "agree"})
            assert own.status_code == 303
            again = await coordinator.post(
                f"/conferences/{cid}/participants/{mehmet}/answer", data={"answer": "not_yet"}
            )
            assert again.status_code == 409 and "Mehmet Yılmaz heeft zelf" in again.text
            bad = await coordinator.post(
                f"/conferences/{cid}/participants/{mehmet}/answer", data={"answer": "maybe"}
            )
            assert bad.status_code == 400 and "Kies 'eens' of 'nog niet'." in html.unescape(
                bad.text
            )
            console = _flat((await coordinator.get(f"/conferences/{cid}/console")).text)
            assert "Ayşe Yılmaz: eens (genoteerd door de coördinator)" in console
            assert "Sam Yılmaz: eens (zelf)" in console

        assert (await coordinator.post(f"/conferences/{cid}/finalise")).status_code == 303
        late = await coordinator.post(f"/conferences/{cid}/attendance", data={"participant": []})
        assert late.status_code == 409 and "al vastgesteld" in late.text
        # Answers too: version 1 holds them as they were when it was frozen.
        late_note = await coordinator.post(
            f"/conferences/{cid}/participants/{ayse}/answer", data={"answer": "not_yet"}
        )
        assert late_note.status_code == 409 and "al vastgesteld als versie 1" in late_note.text
        async with as_(conference, conference.cookie("client")) as sam_phone:
            late_own = await sam_phone.post(f"/c/{cid}/answer", data={"answer": "not_yet"})
            assert late_own.status_code == 409 and "al vastgesteld" in late_own.text
        console = _flat((await coordinator.get(f"/conferences/{cid}/console")).text)
        assert "Ayşe Yılmaz: eens (genoteerd door de coördinator)" in console
        assert "Sam Yılmaz: eens (zelf)" in console
        copy = _flat((await coordinator.get(f"/c/{cid}/plan/1")).text)
        # Present: the three ticked and Mehmet, who answered; all four agreed.
        assert "4 van de 4 aanwezigen is het eens met het plan." in copy
        assert (
            "Ayşe Yılmaz (Netwerklid (familie, vriend, buur)): eens (genoteerd door de coördinator)"
            in copy
        )
        assert "Sam Yılmaz (Cliënt (centrale persoon)): eens (zelf)" in copy
        assert "Mehmet Yılmaz (Netwerklid (familie, vriend, buur)): eens (zelf)" in copy
        assert "Niet bij de conferentie: " in copy and "Iris van Dam" in copy
        pdf = await coordinator.get(f"/c/{cid}/plan/1.pdf")
        text = " ".join(
            " ".join(
                page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages
            ).split()
        )
        assert "4 van de 4 aanwezigen is het eens met het plan." in text
        assert "eens (genoteerd door de coördinator)" in text
        audit = _flat((await coordinator.get(f"/conferences/{cid}/audit")).text)
        for line in (
            "noteerde wie er bij de conferentie is: 3 aanwezig.",
            "noteerde voor Ayşe Yılmaz: eens met het plan.",
            "noteerde voor Mehmet Yılmaz: nog niet eens met het plan.",
        ):
            assert line in audit


async def test_conditions_are_written_in_the_information_phase_and_judged_in_one_form(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    cid = conference.id
    texts = ("Sam slaapt thuis.", "Elke week contact met school.", "Oma heeft een VOG.")
    async with as_(conference, conference.cookie("mandated_professional")) as sanne:
        for text in texts:
            assert (
                await sanne.post(f"/c/{cid}/conditions", data={"text": text})
            ).status_code == 303
        async with server_store(conference) as store:
            first, second, third = [c.id for c, _p in await store.conditions(cid)]
        # Editing its text, in the information phase.
        edited = await sanne.post(
            f"/c/{cid}/conditions/{third}/edit", data={"text": "Oma heeft een VOG van dit jaar."}
        )
        assert edited.status_code == 303
        empty = await sanne.post(f"/c/{cid}/conditions/{third}/edit", data={"text": " "})
        assert empty.status_code == 400 and "Schrijf de voorwaarde op." in empty.text
        # Removing asks first: the post without confirmation removes nothing.
        asked = await sanne.post(f"/c/{cid}/conditions/{second}/delete")
        assert asked.status_code == 200 and "Voorwaarde verwijderen?" in asked.text
        assert "Elke week contact met school." in asked.text and 'value="yes"' in asked.text
        page = (await sanne.get(f"/c/{cid}")).text
        assert "Elke week contact met school." in page
        gone = await sanne.post(f"/c/{cid}/conditions/{second}/delete", data={"confirm": "yes"})
        assert gone.status_code == 303
        async with server_store(conference) as store:
            assert [c.text for c, _p in await store.conditions(cid)] == [
                "Sam slaapt thuis.",
                "Oma heeft een VOG van dit jaar.",
            ]
        assert (
            await sanne.post(f"/c/{cid}/conditions", data={"text": texts[1]})
        ).status_code == 303
        async with server_store(conference) as store:
            first, third, second = [c.id for c, _p in await store.conditions(cid)]

        await _to_presentation(conference)
        # At the presentation the text is as it was set: editing and removing are refused.
        late = await sanne.post(f"/c/{cid}/conditions/{first}/edit", data={"text": "Anders"})
        assert late.status_code == 409
        assert "Voorwaarden schrijf en wijzig je in de informatiefase" in late.text
        late_removal = await sanne.post(f"/c/{cid}/conditions/{first}/delete")
        assert late_removal.status_code == 409
        # One form holds all three, with one button.
        page = (await sanne.get(f"/c/{cid}")).text
        form = page.split('action="/c/' + cid + '/conditions/check"', 1)[1].split("</form>", 1)[0]
        assert form.count('type="submit"') == 1
        for condition in (first, second, third):
            assert f'name="status-{condition}"' in form and f'name="remark-{condition}"' in form
        judged = await sanne.post(
            f"/c/{cid}/conditions/check",
            data={
                f"status-{first}": "met",
                f"remark-{first}": "Afgesproken met oma.",
                f"status-{second}": "not_met",
                f"remark-{second}": "Nog geen afspraak met school.",
                f"status-{third}": "met",
                f"remark-{third}": "",
            },
        )
        assert judged.status_code == 303
        nothing = await sanne.post(f"/c/{cid}/conditions/check", data={f"remark-{first}": "x"})
        assert nothing.status_code == 400
        assert "Kies per voorwaarde 'voldaan' of 'niet voldaan'." in html.unescape(nothing.text)
        assert "x</textarea>" in nothing.text  # what she typed is still there
    async with server_store(conference) as store:
        judged_rows = {c.id: (c.status, c.remark) for c, _p in await store.conditions(cid)}
    assert judged_rows == {
        first: ("met", "Afgesproken met oma."),
        second: ("not_met", "Nog geen afspraak met school."),
        third: ("met", ""),
    }
    async with as_(conference, conference.cookie("professional")) as iris:
        not_hers = await iris.post(
            f"/c/{cid}/conditions/check", data={f"status-{first}": "not_met"}
        )
        assert not_hers.status_code == 403


async def test_the_presentation_view_shows_the_plan_only_to_whom_may_read_it(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    cid = conference.id
    async with (
        as_(conference, conference.coordinator_cookie()) as coordinator,
        as_(conference, conference.cookie("client")) as sam,
    ):
        # The family reads the plan in the information phase, but it is not presented yet.
        before = await sam.get(f"/c/{cid}/present")
        assert before.status_code == 403 and "presentation-config" not in before.text
        assert "/present" not in (await sam.get(f"/c/{cid}")).text
        await _to_presentation(conference)
        for device in (coordinator, sam):
            shown = await device.get(f"/c/{cid}/present")
            assert shown.status_code == 200 and "presentation-config" in shown.text
            assert shown.headers["cache-control"] == "no-store"
        assert f'href="/c/{cid}/present"' in (await sam.get(f"/c/{cid}")).text
        assert (
            f'href="/c/{cid}/present"'
            in (await coordinator.get(f"/conferences/{cid}/console")).text
        )
        # Back to private time: the coordinator's presentation view holds nothing of it.
        assert (await move(conference, "private_time")).status_code == 200
        blank = await coordinator.get(f"/c/{cid}/present")
        assert blank.status_code == 403
        assert "De familie maakt nu het plan" in blank.text
        assert "Oma kookt" not in blank.text and "presentation-config" not in blank.text


async def test_a_big_screen_on_a_family_device_closes_when_private_time_comes_back(
    live_server: LiveServer,
) -> None:
    """The family may write its plan in private time, but the presentation view (its own row)
    may not show it then: the server closes the view's connection at the phase change, so
    the big screen empties even when its page never hears of the new phase."""
    conference = await demo_conference(live_server, "information")
    await _to_presentation(conference)
    screen = YClient(
        conference.ws("plan") + "?view=present",
        cookie=conference.cookie("client"),
        origin=conference.server.url,
    )
    tablet = conference.device("plan", conference.cookie("network_member"), saved=True)
    async with connected(screen, tablet):

        def shown() -> str:
            return str(read_plan(screen.doc.get_update()))

        await screen.wait_for(lambda: "Oma kookt op zondag" in shown())
        add_agreement(tablet.doc, "safety", what="Sam belt oma als het misgaat", who="Sam")
        await screen.wait_for(lambda: "Sam belt oma" in shown())
        assert (await move(conference, "private_time")).status_code == 200
        code, reason = await screen.wait_closed()
        assert code == 4001 and "privétijd" in reason
        assert tablet.close_code is None, "the family's own tablet keeps writing its plan"
