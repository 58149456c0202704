"""The conference flow on a real `kring serve`: the coordinator moves the phases, private time
locks the coordinator and professionals out of the plan on every channel, and the meeting ends
with version 1 of the plan in everyone's hands."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from server.rooms.client import YClient
from server.rooms.protocol import MAX_VAR_UINT
from server.rules.plan import add_agreement, read_plan
from tests.support.live import EventStream, connected
from tests.support.meeting import LOCKED_OUT, first_condition_id, move, phase_of
from tests.support.people import DemoConference, as_, demo_conference, ids_by_role, server_store
from tests.support.server import LiveServer, make_instance, start_server, stop_server

pytestmark = pytest.mark.usefixtures("devices_closed")


async def _conference(conference: DemoConference) -> Any:
    async with server_store(conference) as store:
        stored = await store.conference(conference.id)
    assert stored is not None
    return stored


def _text(device: YClient) -> str:
    return str(device.text())


@pytest.fixture
async def presenting(live_server: LiveServer) -> DemoConference:
    return await demo_conference(live_server, "presentation")


# -- private time -------------------------------------------------------------------------------


async def test_private_time_closes_the_coordinator_and_professionals_at_once(
    presenting: DemoConference,
) -> None:
    conference = presenting
    family = conference.device("plan", conference.cookie("client"), saved=True)
    coordinator = conference.device("plan", conference.coordinator_cookie())
    professional = conference.device("plan", conference.cookie("professional"))
    mandated = conference.device("plan", conference.cookie("mandated_professional"))
    async with connected(family, coordinator, professional, mandated):
        family.text().insert(0, "Oma haalt Sam op. ")
        await coordinator.wait_for(lambda: "Oma" in _text(coordinator))

        async def keep_typing() -> None:
            for i in range(40):
                family.text().insert(len(family.text()), f"zin {i}. ")
                await asyncio.sleep(0.005)

        typing = asyncio.create_task(keep_typing())
        response = await move(conference, "private_time")
        assert response.status_code == 200, response.text
        # Nobody of them sends anything: the phase change itself closes them.
        for device in (coordinator, professional, mandated):
            assert await device.wait_closed() == (4001, LOCKED_OUT)
        await typing
        await family.wait_for(family.all_saved)
        seen_by_coordinator = _text(coordinator)
        assert "zin 39." not in seen_by_coordinator

        # Coming back during private time: refused before a single byte of the plan.
        again = conference.device("plan", conference.coordinator_cookie())
        await again.connect()
        assert await again.wait_closed() == (4403, LOCKED_OUT)
        assert again.messages == 0 and again.received == [] and again.presence == {}

    # The family lost nothing it typed through the change.
    check = conference.device("plan", conference.cookie("network_member"))
    async with connected(check):
        assert _text(check) == _text(family)
        assert all(f"zin {i}." in _text(check) for i in range(40))


async def test_a_presence_at_the_last_clock_cannot_stop_private_time(
    live_server: LiveServer,
) -> None:
    """A family member announces presence at clock 2^53-1, whose withdrawal (clock + 1) no
    client can read: it is refused on arrival, and private time still closes everyone else."""
    conference = await demo_conference(live_server, "information")
    document = "information"  # everyone writes it now; in private time only the family reads
    hostile = conference.device(document, conference.cookie("client"))
    ayse = conference.device(document, conference.cookie("network_member", 0))
    watcher = conference.device(document, conference.cookie("network_member", 1))
    coordinator = conference.device(document, conference.coordinator_cookie())
    professionals = [
        conference.device(document, conference.cookie("professional", 0)),
        conference.device(document, conference.cookie("professional", 1)),
        conference.device(document, conference.cookie("mandated_professional")),
    ]
    name = json.dumps({"user": {"name": "Sam"}})
    async with connected(hostile, ayse, watcher, coordinator, *professionals):
        # The largest clock a device may use: its withdrawal needs 2^53-1, still readable.
        await ayse.set_presence(json.dumps({"user": {"name": "Ayşe"}}), MAX_VAR_UINT - 1)
        await hostile.set_presence(name, MAX_VAR_UINT)
        code, reason = await hostile.wait_closed()
        assert (code, reason) == (1007, "awareness clock out of range")
        await watcher.wait_for(lambda: ayse.doc.client_id in watcher.presence)
        assert watcher.presence.get(hostile.doc.client_id) is None

        response = await move(conference, "private_time")
        assert response.status_code == 200, response.text
        for device in (coordinator, *professionals):
            assert await device.wait_closed() == (
                4001,
                "Tijdens de privétijd is de informatie niet voor jou open.",
            )
        # Ayşe reads now: her presence is withdrawn at 2^53-1, which every device reads.
        await watcher.wait_for(lambda: watcher.presence.get(ayse.doc.client_id, "") is None)
        assert watcher.close_code is None and ayse.close_code is None
    assert await phase_of(conference) == "private_time"
    async with server_store(conference) as store:
        audited = [(e.kind, e.detail) for e in await store.audit_events(conference.id)]
    assert ("phase_changed", {"from": "information", "to": "private_time"}) in audited

    # Everyone has gone: a family member coming back sees nobody's cursor left behind.
    late = conference.device(document, conference.cookie("network_member", 2))
    async with connected(late):  # presence is sent on joining, before the sync's answer
        assert late.close_code is None and late.presence == {}


async def test_the_family_is_invisible_to_the_coordinator_during_private_time(
    presenting: DemoConference,
) -> None:
    conference = presenting
    assert (await move(conference, "private_time")).status_code == 200
    async with EventStream(conference, conference.coordinator_cookie()) as console:
        ayse = conference.device("plan", conference.cookie("network_member", 0))
        sam = conference.device("plan", conference.cookie("client"))
        async with connected(ayse, sam):
            await ayse.set_presence(json.dumps({"user": {"name": "Ayşe Yılmaz"}}), 1)
            ayse.text().insert(0, "Geheim plan van de familie. ")
            await sam.wait_for(lambda: "Geheim" in _text(sam) and len(sam.presence) == 1)
            # The console learns how many are there, and nothing else.
            await console.wait_for(
                lambda: any('"present-count">2<' in d for _, d in console.events)
            )
            professional = conference.device("information", conference.cookie("professional"))
            await professional.connect()
            assert (await professional.wait_closed())[0] == 4403
            assert professional.messages == 0

            async with as_(conference, conference.cookie("client")) as family:
                signal = {"kind": "question"}
                response = await family.post(
                    f"/api/conferences/{conference.id}/signals", json=signal
                )
                assert response.status_code == 201
            await console.wait_for(lambda: any(name == "signal" for name, _ in console.events))
        async with as_(conference, conference.coordinator_cookie()) as coordinator:
            audit = await coordinator.get(f"/conferences/{conference.id}/audit")
        assert "Iemand van de familie of het netwerk" in audit.text
        private = audit.text.split("<tbody>")[1]
        assert "Ayşe" not in private, private
    names = {name for name, _ in console.events}
    assert names <= {"status", "signal", "waiting"}  # devices waiting for the family: a count
    for private in ("Ayşe", "Geheim", "plan van de familie", "Sam Yılmaz"):
        assert private not in console.raw
    signal_html = next(data for name, data in console.events if name == "signal")
    assert "We hebben een vraag" in signal_html and 'role="alert"' in signal_html


async def test_plan_page_api_and_copy_answer_403_while_the_family_makes_its_plan(
    presenting: DemoConference,
) -> None:
    conference = presenting
    writer = conference.device("plan", conference.cookie("client"), saved=True)
    async with connected(writer):
        add_agreement(writer.doc, "housing", what="Boodschappen op zaterdag", who="Ayşe")
        await writer.wait_for(writer.all_saved)
    assert (await move(conference, "private_time")).status_code == 200

    for cookie in (conference.coordinator_cookie(), conference.cookie("professional")):
        async with as_(conference, cookie) as locked_out:
            page = await locked_out.get(f"/c/{conference.id}/plan")
            assert page.status_code == 403
            assert "De familie maakt nu het plan" in page.text
            assert "Boodschappen" not in page.text
            api = await locked_out.get(f"/api/conferences/{conference.id}/plan")
            assert api.status_code == 403 and api.json()["error"] == "plan_locked"
            for copy in ("/plan/1", "/plan/1.pdf"):
                response = await locked_out.get(f"/c/{conference.id}{copy}")
                assert response.status_code == 403, copy
                assert "De familie maakt nu het plan" in response.text

    async with as_(conference, conference.cookie("network_member")) as family:
        plan = await family.get(f"/api/conferences/{conference.id}/plan")
        assert plan.status_code == 200
        assert plan.json()["agreements"][0]["what"] == "Boodschappen op zaterdag"
        assert (await family.get(f"/c/{conference.id}/plan")).status_code == 200


async def test_updates_sent_after_the_phase_change_are_never_applied_or_forwarded(
    live_server: LiveServer,
) -> None:
    """A professional keeps typing into the information document while private time starts:
    whatever reaches the server after the change is dropped, not stored, not relayed."""
    conference = await demo_conference(live_server, "information")
    professional = conference.device("information", conference.cookie("professional"))
    family = conference.device("information", conference.cookie("client"))
    sent_after: list[str] = []
    async with connected(professional, family):
        changed = asyncio.Event()

        async def burst() -> None:
            for i in range(150):
                marker = f"<{i}>"
                professional.text().insert(len(professional.text()), marker)
                if changed.is_set():
                    sent_after.append(marker)
                    if len(sent_after) >= 10 or professional.close_code is not None:
                        return
                await professional.flush()
                await asyncio.sleep(0.002)

        bursting = asyncio.create_task(burst())
        await asyncio.sleep(0.05)
        response = await move(conference, "private_time")
        changed.set()
        assert response.status_code == 200, response.text
        await bursting
        assert await professional.wait_closed() == (
            4001,
            "Tijdens de privétijd is de informatie niet voor jou open.",
        )
        assert sent_after, "the burst ended before the phase change"

        reader = conference.device("information", conference.cookie("network_member"))
        async with connected(reader):
            stored = _text(reader)
        # What was relayed is exactly what was stored: the family receives all of it (updates
        # broadcast before the change may still be on their way) and nothing more.
        await family.wait_for(lambda: _text(family) == stored)
    assert "<0>" in stored  # the burst did reach the server before the change
    for marker in sent_after:
        assert marker not in stored


# -- leaving private time -----------------------------------------------------------------------


async def test_leaving_private_time_needs_plan_ready_or_an_override_with_a_reason(
    presenting: DemoConference,
) -> None:
    conference = presenting
    assert (await move(conference, "private_time")).status_code == 200
    refused = await move(conference, "presentation")
    assert refused.status_code == 409
    assert refused.json()["error"] == "illegal_transition"
    assert "plan klaar" in refused.json()["reason"]

    overridden = await move(conference, "presentation", reason="De zaal moet om 21 uur dicht.")
    assert overridden.status_code == 200 and overridden.json() == {"phase": "presentation"}
    async with as_(conference, conference.cookie("network_member")) as family:
        page = await family.get(f"/c/{conference.id}")
    assert "De coördinator beëindigde de privétijd" in page.text
    assert "De zaal moet om 21 uur dicht." in page.text
    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        audit = await coordinator.get(f"/conferences/{conference.id}/audit")
    assert (
        "beëindigde de privétijd zonder" in audit.text
        and "De zaal moet om 21 uur dicht." in audit.text
    )


async def test_plan_ready_lets_the_coordinator_move_on(presenting: DemoConference) -> None:
    conference = presenting
    assert (await move(conference, "private_time")).status_code == 200
    async with (
        EventStream(conference, conference.coordinator_cookie()) as console,
        EventStream(conference, conference.cookie("professional"), console=False) as outside,
    ):
        async with as_(conference, conference.cookie("network_member", 1)) as family:
            ready = await family.post(
                f"/api/conferences/{conference.id}/signals", json={"kind": "plan_ready"}
            )
        assert ready.status_code == 201
        await console.wait_for(
            lambda: any("Ons plan is klaar" in d for n, d in console.events if n == "signal")
        )
        moved = await move(conference, "presentation")
        assert moved.status_code == 200
        await console.wait_for(lambda: ("phase", "presentation") in console.events)
        # A participant's page hears of the phase (to reload), and of nothing else: the
        # signal came before the phase change on the same stream, and is not there.
        await outside.wait_for(lambda: ("phase", "presentation") in outside.events)
        assert outside.events == [("phase", "presentation")]


# -- the presentation and the copy ----------------------------------------------------------------


async def test_at_the_presentation_the_coordinator_receives_exactly_the_familys_plan(
    presenting: DemoConference,
) -> None:
    conference = presenting
    assert (await move(conference, "private_time")).status_code == 200
    family = conference.device("plan", conference.cookie("client"), saved=True)
    async with connected(family):
        add_agreement(family.doc, "children", what="Sam naar voetbal brengen", who="Mehmet")
        add_agreement(family.doc, "safety", what="Bellen als het thuis misgaat", who="Ayşe")
        family.text("notes").insert(0, "Over zes weken kijken we of het werkt.")
        await family.wait_for(family.all_saved)
        async with as_(conference, conference.cookie("client")) as client:
            await client.post(
                f"/api/conferences/{conference.id}/signals", json={"kind": "plan_ready"}
            )
        assert (await move(conference, "presentation")).status_code == 200
        coordinator = conference.device("plan", conference.coordinator_cookie())
        async with connected(coordinator):
            assert coordinator.doc.get_state() == family.doc.get_state()
            assert read_plan(coordinator.doc.get_update()) == read_plan(family.doc.get_update())
            assert read_plan(coordinator.doc.get_update())["agreements"][0]["life_area"] == "safety"


async def test_a_whole_meeting_from_information_to_the_copy_of_version_1(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    cid = conference.id
    async with (
        as_(conference, conference.coordinator_cookie()) as coordinator,
        as_(conference, conference.cookie("mandated_professional")) as sanne,
        as_(conference, conference.cookie("professional")) as iris,
        as_(conference, conference.cookie("client")) as sam,
        as_(conference, conference.cookie("network_member", 0)) as ayse,
        as_(conference, conference.cookie("network_member", 6)) as malgorzata,
    ):
        # Information: the mandated professional sets a condition (a form, not CRDT text).
        added = await sanne.post(f"/c/{cid}/conditions", data={"text": "Sam slaapt thuis."})
        assert added.status_code == 303
        page = await sam.get(f"/c/{cid}")
        assert "Sam slaapt thuis." in page.text and "Sanne Smit" in page.text
        # A professional may not set conditions.
        assert (await iris.post(f"/c/{cid}/conditions", data={"text": "x"})).status_code == 403

        # Private time, from the console form.
        moved = await coordinator.post(f"/conferences/{cid}/phase", data={"phase": "private_time"})
        assert moved.status_code == 303
        writer = conference.device("plan", conference.cookie("network_member", 0), saved=True)
        async with connected(writer):
            add_agreement(
                writer.doc,
                "housing",
                what="Samen boodschappen doen",
                who="Ayşe Yılmaz",
                when="elke zaterdag",
                where="Albert Heijn Overvecht",
                backup="Małgorzata springt in",
            )
            add_agreement(writer.doc, "safety", what="Bellen bij ruzie", who="Jan de Boer")
            await writer.wait_for(writer.all_saved)
        question_signal = await sam.post(f"/c/{cid}/signal", data={"kind": "question"})
        assert question_signal.status_code == 303
        ready = await sam.post(f"/c/{cid}/signal", data={"kind": "plan_ready", "confirmed": "yes"})
        assert ready.status_code == 303
        moved = await coordinator.post(f"/conferences/{cid}/phase", data={"phase": "presentation"})
        assert moved.status_code == 303

        # Presentation: the coordinator reads along, asks, the professional checks.
        console = await coordinator.get(f"/conferences/{cid}/console")
        assert "Samen boodschappen doen" in console.text
        asked = await coordinator.post(
            f"/conferences/{cid}/questions", data={"text": "Wie belt de school?"}
        )
        assert asked.status_code == 303
        early = await coordinator.post(f"/conferences/{cid}/finalise")
        assert early.status_code == 409 and "niet beoordeeld" in early.text
        condition_id = await first_condition_id(conference)
        not_hers = await iris.post(
            f"/c/{cid}/conditions/{condition_id}/check", data={"status": "met", "remark": ""}
        )
        assert not_hers.status_code == 403
        checked = await sanne.post(
            f"/c/{cid}/conditions/{condition_id}/check",
            data={"status": "met", "remark": "Afgesproken met oma als vangnet."},
        )
        assert checked.status_code == 303
        for device in (sam, ayse, iris, sanne):
            answered = await device.post(f"/c/{cid}/answer", data={"answer": "agree"})
            assert answered.status_code == 303
        not_yet = await malgorzata.post(
            f"/c/{cid}/answer",
            data={"answer": "not_yet", "remark": "Eerst met mijn werk overleggen."},
        )
        assert not_yet.status_code == 303
        blocked = await coordinator.post(f"/conferences/{cid}/finalise")
        assert blocked.status_code == 409 and "Małgorzata Kowalska" in blocked.text
        assert (
            await malgorzata.post(f"/c/{cid}/answer", data={"answer": "agree"})
        ).status_code == 303
        team = await ids_by_role(conference, "client", "network_member")
        chosen = await coordinator.post(
            f"/conferences/{cid}/action-team",
            data={"participant": [str(team["client"]), str(team["network_member"])]},
        )
        assert chosen.status_code == 303
        # An agreement someone left without a "what" is reported, not frozen or dropped.
        family = conference.device("plan", conference.cookie("client"), saved=True)
        async with connected(family):
            empty = add_agreement(family.doc, "leisure", what="", who="Sam")
            await family.wait_for(family.all_saved)
            unfit = await coordinator.post(f"/conferences/{cid}/finalise")
            assert unfit.status_code == 409
            assert "Afspraak 3, wat: zeg wat er gaat gebeuren" in unfit.text
            empty["removed"] = True
            await family.wait_for(family.all_saved)
        assert (await coordinator.post(f"/conferences/{cid}/finalise")).status_code == 303
        assert (await coordinator.post(f"/conferences/{cid}/finalise")).status_code == 409

        # Everyone gets the copy through their own link: a printable page and a PDF.
        for device in (sam, ayse, iris, sanne, coordinator):
            page = await device.get(f"/c/{cid}/plan/1")
            assert page.status_code == 200
            assert "Samen boodschappen doen" in page.text and "Versie 1" in page.text
        pdf = await malgorzata.get(f"/c/{cid}/plan/1.pdf")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
        flat = " ".join(text.split())
        stored = await _conference(conference)
        assert " ".join(stored.question.split()) in flat
        for expected in (
            "Samen boodschappen doen",
            "elke zaterdag",
            "Małgorzata springt in",
            "Bellen bij ruzie",
            "Veiligheid & bescherming tegen geweld",
            "Wonen & dagelijks leven",
            "Sam slaapt thuis.",
            "voldaan",
            "Afgesproken met oma als vangnet.",
            "Wie belt de school?",
            "Ayşe Yılmaz",
            "Małgorzata Kowalska",
        ):
            assert expected in flat, expected
        assert flat.index("Veiligheid") < flat.index("Wonen")  # life areas in their order

        # The action team begins: members write the plan, the others read it.
        moved = await coordinator.post(f"/conferences/{cid}/phase", data={"phase": "action_team"})
        assert moved.status_code == 303
        member = conference.device("plan", conference.cookie("client"), saved=True)
        other = conference.device("plan", conference.cookie("network_member", 1))
        async with connected(member, other):
            add_agreement(member.doc, "leisure", what="Samen naar het strand", who="Sam")
            await member.wait_for(member.all_saved)
            await other.wait_for(lambda: "strand" in str(read_plan(other.doc.get_update())))
            other.text("notes").insert(0, "mag niet")
            await other.wait_for(lambda: bool(other.denied))
        # Version 1 stays as it was agreed.
        again = await sam.get(f"/c/{cid}/plan/1")
        assert "Samen naar het strand" not in again.text
        audit = await coordinator.get(f"/conferences/{cid}/audit")
        for kind in (
            "stelde het plan vast als versie 1.",
            "downloadde versie 1 van het plan als pdf.",
            "zette de conferentie van de presentatie naar het actieteam.",
        ):
            assert kind in audit.text


async def test_stopping_the_server_ends_open_console_streams(tmp_path: Path) -> None:
    """An event stream never ends on its own; SIGTERM must not wait 30 s for it."""
    server = start_server(make_instance(tmp_path, KRING_LOG_LEVEL="info"))
    try:
        conference = await demo_conference(server, "private_time")
        async with EventStream(conference, conference.coordinator_cookie()) as console:
            assert console._task is not None
            server.process.terminate()
            await asyncio.wait_for(asyncio.shield(console._task), 10)  # the stream ended
            # uvicorn finishes its graceful shutdown, then re-raises SIGTERM (exit -15)
            await asyncio.to_thread(server.process.wait, 10)
        log = (tmp_path / "server.log").read_text()
        assert "Application shutdown complete" in log and "Finished server process" in log
    finally:
        stop_server(server)
