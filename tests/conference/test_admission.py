"""Who is in during private time, on a real server.

The coordinator sees every link when it is made, so in private time no link is trusted on its
own: a device that first signs in then waits until an admitted family member lets it in, and
sees nothing of the conference meanwhile. The family sees who wants to join and every device
that is in, and can send any of them out. A new link adds a link and throws nobody out.
"""

from __future__ import annotations

import asyncio
import html
import re
from typing import Any

import httpx
import pytest

from tests.support.browser import (
    PHONE,
    add_agreement,
    open_plan,
    plan_json,
    serious_accessibility_problems,
)
from tests.support.feeds import feed_url_on, fetch
from tests.support.live import EventStream, connected
from tests.support.meeting import move
from tests.support.people import (
    LINK,
    DemoConference,
    add_person,
    as_,
    demo_conference,
    open_link,
    server_store,
    waiting_sessions,
)
from tests.support.server import LiveServer

pytestmark = pytest.mark.usefixtures("devices_closed")

WAITING = "Wachten tot de familie je binnenlaat"
REFUSED = "De familie laat je nu niet binnen"
SECRET = "Geheim: oma neemt de kinderen in huis"


async def family_writes(conference: DemoConference, text: str) -> None:
    """The client writes in the plan's notes from her own tablet (signed in before)."""
    writer = conference.device("plan", conference.cookie("client"), saved=True)
    async with connected(writer):
        writer.text("notes").insert(0, text)
        await writer.wait_for(writer.all_saved)


async def new_link(conference: DemoConference, participant_id: int) -> str:
    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        response = await coordinator.post(
            f"/conferences/{conference.id}/participants/{participant_id}/link"
        )
    assert response.status_code == 200, response.text
    found = LINK.search(response.text)
    assert found and int(found[1]) == participant_id
    return html.unescape(found[2])


async def participant_id(conference: DemoConference, role: str, index: int = 0) -> int:
    name = conference.person(role, index)["name"]
    async with server_store(conference) as store:
        rows = await store.participants(conference.id)
    return next(r.participant.id for r in rows if r.participant.name == name)


async def family_plan_page(conference: DemoConference, cookie: str) -> str:
    async with as_(conference, cookie) as family:
        page = await family.get(f"/c/{conference.id}/plan")
    assert page.status_code == 200, page.text
    return page.text


async def everything_a_device_asks(conference: DemoConference, cookie: str) -> list[httpx.Response]:
    cid = conference.id
    async with as_(conference, cookie) as device:
        return [
            await device.get(path)
            for path in (
                f"/c/{cid}",
                f"/c/{cid}/plan",
                f"/c/{cid}/plan/1",
                f"/c/{cid}/plan/1.pdf",
                f"/c/{cid}/follow-ups",
                f"/c/{cid}/plan/compare?old=1&new=2",
                f"/api/conferences/{cid}/plan",
            )
        ]


async def refused_socket(conference: DemoConference, cookie: str, document: str) -> str:
    device = conference.device(document, cookie)
    await device.connect()
    code, reason = await device.wait_closed()
    assert (code, device.messages) == (4403, 0), "refused before a single sync byte"
    return reason


async def test_someone_the_coordinator_adds_in_private_time_waits_and_never_reads_the_plan(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "private_time")
    await family_writes(conference, SECRET)
    _pid, link = await add_person(conference, "Tante Ans", "network_member")

    stranger = await open_link(conference, link)

    answers = await everything_a_device_asks(conference, stranger)
    for answer in answers:
        assert answer.status_code == 403, (answer.url, answer.status_code)
        assert SECRET not in answer.text
        assert conference.data["participants"][0]["name"] not in answer.text, "nobody else"
    for page in answers[:3]:
        assert WAITING in page.text and "Tante Ans" in page.text
        assert "/ws/" not in page.text and "plan-config" not in page.text
    assert answers[-1].json()["error"] == "waiting"
    for document in ("plan", "information", "compass"):
        reason = await refused_socket(conference, stranger, document)
        assert reason == "Je wacht tot de familie je binnenlaat."


async def test_a_new_link_for_a_family_member_throws_nobody_out_and_its_device_waits(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "private_time")
    client = await participant_id(conference, "client")
    writer = conference.device("plan", conference.cookie("client"), saved=True)
    async with connected(writer):
        link = await new_link(conference, client)
        coordinators_laptop = await open_link(conference, link)

        await asyncio.sleep(0.3)
        assert writer.close_code is None, "the real family member stays in"
        writer.text("notes").insert(0, SECRET)
        await writer.wait_for(writer.all_saved)

        answers = await everything_a_device_asks(conference, coordinators_laptop)
        assert all(a.status_code == 403 and SECRET not in a.text for a in answers)
        assert WAITING in answers[1].text
        await refused_socket(conference, coordinators_laptop, "plan")
        assert writer.close_code is None


async def test_printed_cards_in_private_time_add_links_that_wait_and_end_none(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "private_time")
    member = await participant_id(conference, "network_member")
    tablet = conference.device("plan", conference.cookie("network_member"))
    async with connected(tablet), as_(conference, conference.coordinator_cookie()) as coordinator:
        sheet = await coordinator.post(
            f"/conferences/{conference.id}/cards", data={"participant": [str(member)]}
        )
        assert sheet.status_code == 200
        card = re.search(r'href="(http://[^"]+/i/[^"]+)"', sheet.text) or re.search(
            r"(http://127\.0\.0\.1:\d+/i/[A-Za-z0-9_-]+)", sheet.text
        )
        assert card
        await asyncio.sleep(0.3)
        assert tablet.close_code is None, "the device signed in with the link sent stays in"

        sent_earlier = await open_link(
            conference, conference.person("network_member")["invitation_url"]
        )
        from_the_card = await open_link(conference, html.unescape(card[1]))
        for cookie in (sent_earlier, from_the_card):  # both links work; both devices wait
            async with as_(conference, cookie) as device:
                page = await device.get(f"/c/{conference.id}/plan")
            assert page.status_code == 403 and WAITING in page.text


async def test_the_family_lets_one_device_in_live_and_another_not_now(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "private_time")
    await family_writes(conference, SECRET)
    family = conference.cookie("client")
    _, link = await add_person(conference, "Tante Ans", "network_member")
    _, other = await add_person(conference, "Meneer X", "network_member")

    async with EventStream(conference, family, console=False) as family_tablet:
        ans = await open_link(conference, link)
        await family_tablet.wait_for(
            lambda: any("Tante Ans wil meedoen" in data for _, data in family_tablet.events)
        )
        live = next(data for name, data in family_tablet.events if name == "admission")
        assert "Binnenlaten" in live and "Nu niet" in live
        x = await open_link(conference, other)
        sessions = waiting_sessions(await family_plan_page(conference, family))
        assert set(sessions) == {"Tante Ans", "Meneer X"}

        async with (
            EventStream(conference, ans, console=False) as ans_page,
            EventStream(conference, x, console=False) as x_page,
            as_(conference, family) as tablet,
        ):
            let_in = await tablet.post(
                f"/c/{conference.id}/admission/{sessions['Tante Ans']}", data={"decision": "in"}
            )
            assert let_in.status_code == 303
            not_now = await tablet.post(
                f"/c/{conference.id}/admission/{sessions['Meneer X']}",
                data={"decision": "refused"},
            )
            assert not_now.status_code == 303
            await ans_page.wait_for(lambda: ("admission", "in") in ans_page.events)
            await x_page.wait_for(lambda: ("admission", "refused") in x_page.events)
            assert SECRET not in ans_page.raw + x_page.raw

    async with as_(conference, ans) as device:
        api = await device.get(f"/api/conferences/{conference.id}/plan")
    assert api.status_code == 200 and api.json()["notes"] == SECRET
    writer = conference.device("plan", ans, saved=True)
    async with connected(writer):
        writer.text("notes").insert(0, "Tante Ans kookt op dinsdag. ")
        await writer.wait_for(writer.all_saved)

    answers = await everything_a_device_asks(conference, x)
    assert all(a.status_code == 403 and SECRET not in a.text for a in answers)
    assert REFUSED in answers[1].text and "Meneer X" in answers[1].text
    assert await refused_socket(conference, x, "plan") == (
        "De familie heeft je nu niet binnengelaten."
    )
    async with server_store(conference) as store:
        kinds = [e.kind for e in await store.audit_events(conference.id)]
        details = [e.detail for e in await store.audit_events(conference.id)]
    assert kinds.count("admission_waiting") >= 2  # (the family's own tablets waited too)
    assert "admission_granted" in kinds and "admission_refused" in kinds
    assert "Tante Ans" not in repr(details) and SECRET not in repr(details)


async def test_the_family_sees_a_device_signed_in_under_a_made_up_name_and_sends_it_out(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    _, link = await add_person(conference, "Oom Karel", "network_member")
    laptop = await open_link(conference, link)  # the coordinator, before private time
    assert (await move(conference, "private_time")).status_code == 200
    family = conference.cookie("client")
    await family_writes(conference, SECRET)

    reader = conference.device("plan", laptop)
    async with connected(reader):
        page = await family_plan_page(conference, family)
        who = page.split('id="who-is-in"', 1)[1].split('id="', 1)[0]
        karel = who.split("Oom Karel", 1)[1].split("</ul>", 1)[0]
        session = re.search(r'data-session="(\d+)" data-connected="true"', karel)
        assert session, "the family sees Oom Karel's device, connected now"
        assert "Laat vertrekken" in karel

        async with as_(conference, family) as tablet:
            sent = await tablet.post(
                f"/c/{conference.id}/devices/{session[1]}/send-out", headers={"hx-request": "true"}
            )
        assert sent.status_code == 204
        code, reason = await reader.wait_closed(5)
        assert (code, reason) == (4001, "De familie heeft dit apparaat gevraagd te vertrekken.")

    async with as_(conference, laptop) as device:
        assert (await device.get(f"/c/{conference.id}/plan")).status_code == 401
        assert (await device.get(f"/api/conferences/{conference.id}/plan")).status_code == 401
    again = conference.device("plan", laptop)
    await again.connect()
    assert (await again.wait_closed())[0] == 4403 and again.messages == 0
    async with server_store(conference) as store:
        events = await store.audit_events(conference.id)
    assert any(e.kind == "device_sent_out" for e in events)


async def test_the_console_learns_how_many_wait_and_never_who(live_server: LiveServer) -> None:
    conference = await demo_conference(live_server, "private_time")
    _, link = await add_person(conference, "Tante Ans", "network_member")
    coordinator = conference.coordinator_cookie()
    async with EventStream(conference, coordinator) as console:
        await open_link(conference, link)
        await console.wait_for(lambda: any(name == "waiting" for name, _ in console.events))
        counts = [data for name, data in console.events if name == "waiting"]
        assert '<span id="waiting-count">1</span>' in counts[-1]
        async with as_(conference, coordinator) as laptop:
            page = await laptop.get(f"/conferences/{conference.id}/console")
    assert '<span id="waiting-count">1</span>' in page.text
    assert "Tante Ans" not in console.raw and "Tante Ans" not in page.text


async def test_when_private_time_ends_a_device_never_let_in_is_signed_out(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "private_time")
    family = conference.cookie("client")
    _, link = await add_person(conference, "Tante Ans", "network_member")
    waiting = await open_link(conference, link)
    async with EventStream(conference, waiting, console=False) as page:
        async with as_(conference, family) as tablet:
            ready = await tablet.post(
                f"/api/conferences/{conference.id}/signals", json={"kind": "plan_ready"}
            )
            assert ready.status_code == 201
        assert (await move(conference, "presentation")).status_code == 200
        await page.wait_for(lambda: ("admission", "ended") in page.events)  # it reloads
        assert page._task is not None
        await asyncio.wait_for(asyncio.shield(page._task), 5)  # its stream ended

    async with as_(conference, waiting) as device:
        assert (await device.get(f"/c/{conference.id}")).status_code == 401
        assert (await device.get(f"/api/conferences/{conference.id}/plan")).status_code == 401
    async with as_(conference, family) as tablet:  # signed in before: keeps its access
        assert (await tablet.get(f"/api/conferences/{conference.id}/plan")).status_code == 200
    again = await open_link(conference, link)  # signs in again as usual
    async with as_(conference, again) as device:
        assert (await device.get(f"/api/conferences/{conference.id}/plan")).status_code == 200


async def test_bad_decisions_are_refused_with_the_right_status_and_never_a_500(
    live_server: LiveServer,
) -> None:
    elsewhere = await demo_conference(live_server, "private_time")
    _, far_link = await add_person(elsewhere, "Iemand anders", "network_member")
    await open_link(elsewhere, far_link)
    far = waiting_sessions(await family_plan_page(elsewhere, elsewhere.cookie("client")))

    conference = await demo_conference(live_server, "private_time")
    family = conference.cookie("client")
    _, link = await add_person(conference, "Tante Ans", "network_member")
    ans = await open_link(conference, link)
    sessions = waiting_sessions(await family_plan_page(conference, family))
    base = f"/c/{conference.id}"
    decide = f"{base}/admission/{sessions['Tante Ans']}"

    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        assert (await coordinator.post(decide, data={"decision": "in"})).status_code == 403
    async with as_(conference, conference.cookie("professional")) as professional:
        assert (await professional.post(decide, data={"decision": "in"})).status_code == 403
    async with as_(conference, ans) as itself:
        refused = await itself.post(decide, data={"decision": "in"})
        assert refused.status_code == 403 and WAITING in refused.text
    async with as_(conference, family) as tablet:
        assert (await tablet.post(decide, data={"decision": "maybe"})).status_code == 400
        assert (await tablet.post(decide, data={})).status_code == 400
        other = f"{base}/admission/{far['Iemand anders']}"
        assert (await tablet.post(other, data={"decision": "in"})).status_code == 404
        for odd in ("abc", "-1", "1.5", "99999999999", "%00"):
            answer = await tablet.post(f"{base}/admission/{odd}", data={"decision": "in"})
            assert answer.status_code in (400, 404), (odd, answer.status_code)
            answer = await tablet.post(f"{base}/devices/{odd}/send-out")
            assert answer.status_code in (400, 404), (odd, answer.status_code)
        assert (await tablet.post(decide, data={"decision": "in"})).status_code == 303
        again = await tablet.post(decide, data={"decision": "refused"})
        assert again.status_code == 409, "already decided"
        another_conference = f"{base}/devices/{far['Iemand anders']}/send-out"
        assert (await tablet.post(another_conference)).status_code == 404

    assert (await move(conference, "presentation", "De tijd is om.")).status_code == 200
    async with as_(conference, family) as tablet:  # no longer private time: not the family's
        answer = await tablet.post(decide, data={"decision": "in"})
        assert answer.status_code == 403


async def test_nothing_the_coordinator_reaches_in_private_time_holds_the_familys_words(
    live_server: LiveServer,
) -> None:
    """The coordinator's own login, in private time: every page, the export, their calendar
    feed and the console's stream; none holds a word of the plan."""
    conference = await demo_conference(live_server, "private_time")
    await family_writes(conference, SECRET)
    cid = conference.id
    coordinator = conference.coordinator_cookie()
    async with (
        EventStream(conference, coordinator) as console,
        as_(conference, coordinator) as laptop,
    ):
        listing = await laptop.get("/conferences")
        answers = {
            path: await laptop.get(path)
            for path in (
                f"/conferences/{cid}",
                f"/conferences/{cid}/console",
                f"/conferences/{cid}/audit",
                f"/conferences/{cid}/export.zip",
                f"/c/{cid}/plan",
                f"/api/conferences/{cid}/plan",
                f"/c/{cid}/follow-ups",
                f"/c/{cid}/plan/1",
            )
        }
        await family_writes(conference, "Nog meer van de familie. ")
        await asyncio.sleep(0.5)
    assert answers[f"/conferences/{cid}/export.zip"].status_code == 409
    for path in (f"/c/{cid}/plan", f"/api/conferences/{cid}/plan"):
        assert answers[path].status_code == 403
    feed = fetch(feed_url_on(listing))
    for text in [listing.text, feed.text, console.raw, *(a.text for a in answers.values())]:
        assert SECRET not in text and "Nog meer van de familie" not in text


async def test_the_family_tablet_switching_person_in_private_time_stays_in(
    live_server: LiveServer,
) -> None:
    """The family shares one tablet. In private time someone taps "Wissel van persoon" and
    opens an uncle's link on it (or the client taps her own link again): the tablet was let
    in, so it stays in, as the uncle; nobody else is there to let it in again. A laptop that
    was only ever a professional's, or a device still waiting, gains nothing by it."""
    conference = await demo_conference(live_server, "private_time")
    await family_writes(conference, SECRET)
    tablet = conference.cookie("client")  # the only device the family has
    uncle = conference.person("network_member")
    client = conference.person("client")

    async def open_on(cookie: str, url: str) -> str:
        async with httpx.AsyncClient(
            headers={"origin": conference.server.url, "cookie": cookie}, timeout=10
        ) as device:
            response = await device.post(url)
            assert response.status_code == 303, response.text
            return f"kring_participant={response.cookies['kring_participant']}"

    as_uncle = await open_on(tablet, uncle["invitation_url"])
    async with as_(conference, as_uncle) as device:
        api = await device.get(f"/api/conferences/{conference.id}/plan")
    assert api.status_code == 200, "the family's own tablet is not locked out by switching"
    assert api.json()["notes"] == SECRET
    again = await open_on(as_uncle, client["invitation_url"])  # and back to the client
    async with as_(conference, again) as device:
        assert (await device.get(f"/api/conferences/{conference.id}/plan")).status_code == 200

    # The coordinator's laptop, signed in as a professional before, opens a family link.
    laptop = await open_on(conference.cookie("professional"), client["invitation_url"])
    # A waiting device opens another family link.
    _, link = await add_person(conference, "Tante Ans", "network_member")
    waiting = await open_on(await open_link(conference, link), uncle["invitation_url"])
    for cookie in (laptop, waiting):
        async with as_(conference, cookie) as device:
            api = await device.get(f"/api/conferences/{conference.id}/plan")
        assert api.status_code == 403 and api.json()["error"] == "waiting"
        assert SECRET not in api.text


async def test_removing_a_family_member_in_private_time_does_not_unmask_them_in_the_audit_log(
    live_server: LiveServer,
) -> None:
    """In private time the audit log says "someone of the family" did something. The
    coordinator removes the uncle who let a device in and opened the plan, then reads the log
    again: it still does not say that it was him, nor whom he let in."""
    conference = await demo_conference(live_server, "private_time")
    uncle = conference.cookie("network_member")
    uncle_id = await participant_id(conference, "network_member")
    _, link = await add_person(conference, "Tante Ans", "network_member")
    await open_link(conference, link)
    sessions = waiting_sessions(await family_plan_page(conference, uncle))
    async with as_(conference, uncle) as phone:
        decided = await phone.post(
            f"/c/{conference.id}/admission/{sessions['Tante Ans']}", data={"decision": "in"}
        )
        assert decided.status_code == 303
    reader = conference.device("plan", uncle)
    async with connected(reader):
        pass

    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        before = await coordinator.get(f"/conferences/{conference.id}/audit")
        removed = await coordinator.post(
            f"/conferences/{conference.id}/participants/{uncle_id}/remove"
        )
        assert removed.status_code == 200, removed.text
        after = await coordinator.get(f"/conferences/{conference.id}/audit")
    for page in (before, after):
        assert page.status_code == 200
        rows = page.text.split("<tbody>", 1)[1]
        granted = rows.split('class="audit-admission_granted"', 1)[1].split("</tr>", 1)[0]
        assert "Iemand van de familie of het netwerk" in granted
        assert f"participant:{uncle_id}" not in granted and "participant_id" not in granted
        joined = rows.split('class="audit-room_joined"', 1)[1].split("</tr>", 1)[0]
        assert "Iemand van de familie of het netwerk" in joined and "plan" not in joined


async def test_a_look_alike_the_coordinator_adds_in_private_time_is_told_apart_on_the_list(
    live_server: LiveServer,
) -> None:
    """The coordinator adds a second person with the uncle's very name during private time and
    opens that link; the uncle's own new phone asks too. The family's list must let them tell
    the two apart: the look-alike was put on the list by the coordinator just now."""
    conference = await demo_conference(live_server, "private_time")
    family = conference.cookie("client")
    uncle = conference.person("network_member")
    _, fake = await add_person(conference, uncle["name"], "network_member")
    await open_link(conference, fake)
    await open_link(conference, uncle["invitation_url"])  # the real uncle's new phone

    page = await family_plan_page(conference, family)
    listed = page.split('id="admission"', 1)[1].split("</ul>", 1)[0]
    entries = listed.split("<li")[1:]
    assert len(entries) == 2 and all(f"{uncle['name']} wil meedoen" in e for e in entries)
    look_alike, real = entries  # in the order they came: the look-alike first
    note = "De coördinator zette hem of haar in de privétijd op de lijst"
    assert note in look_alike and note not in real
    assert all("Netwerklid" in e for e in entries), "the role is shown"


# Last in this file: the browser fixture keeps Playwright's own event loop running in this
# thread, and asynchronous tests after it could not start theirs.
@pytest.mark.browser
def test_in_chromium_the_family_tablet_lets_a_waiting_phone_in_live(
    live_server: LiveServer, browser: Any
) -> None:
    """The walk-through: in private time the coordinator adds Tante Ans and Oom Kees; their
    phones wait; the family tablet lets Ans in (she then writes in the plan) and not Kees (his
    phone never gets a byte of the plan); then the family sends Ans's phone out."""
    from playwright.sync_api import expect

    demo = DemoConference(live_server, live_server.instance.demo("--phase", "private_time"))
    tablet = open_plan(browser, live_server.url, demo.person("client"))
    coordinator = live_server.client()
    login = demo.data["coordinator"]
    assert coordinator.post("/login", data=login).status_code == 303

    def added(name: str) -> str:
        response = coordinator.post(
            f"/conferences/{demo.id}/participants",
            data={"name": name, "role": "network_member", "email": ""},
        )
        found = LINK.search(response.text)
        assert found
        return html.unescape(found[2])

    def waiting_phone(link: str, sockets: list[str]) -> Any:
        phone = browser.new_context(**PHONE).new_page()
        phone.context.set_default_timeout(10_000)
        phone.on("websocket", lambda ws: sockets.append(ws.url))
        phone.goto(link)
        phone.get_by_role("button", name="Ja, dat ben ik: verder").click()
        expect(phone.get_by_role("heading", name=WAITING)).to_be_visible()
        return phone

    phone = waiting_phone(added("Tante Ans"), [])
    kees: Any = None
    kees_sockets: list[str] = []
    try:
        assert serious_accessibility_problems(phone) == []
        asking = tablet.locator("#admission li", has_text="Tante Ans wil meedoen")
        expect(asking).to_be_visible()  # live, without a reload
        assert serious_accessibility_problems(tablet) == []
        asking.get_by_role("button", name="Binnenlaten").click()

        expect(phone.get_by_role("heading", name="Tante Ans", exact=True)).to_be_visible()
        expect(tablet.locator("#admission")).to_contain_text("Niemand wacht om mee te doen.")
        expect(tablet.locator("#who-is-in")).to_contain_text("Tante Ans")

        # Let in, Ans writes in the plan from her phone; the family tablet sees it.
        phone.goto(f"{live_server.url}/c/{demo.id}/plan")
        phone.wait_for_selector("[data-plan-editor][data-ready]")
        add_agreement(phone, "children", "Tante Ans haalt de kinderen op woensdag op")
        expect(tablet.locator("[data-plan-editor]")).to_contain_text("Tante Ans haalt de kinderen")
        assert "Tante Ans haalt de kinderen" in plan_json(tablet)

        # Oom Kees waits too; the family says "not now": his phone never gets the plan.
        kees = waiting_phone(added("Oom Kees"), kees_sockets)
        asking = tablet.locator("#admission li", has_text="Oom Kees wil meedoen")
        asking.get_by_role("button", name="Nu niet").click()
        expect(kees.get_by_role("heading", name=REFUSED)).to_be_visible()
        kees.goto(f"{live_server.url}/c/{demo.id}/plan")
        expect(kees.get_by_role("heading", name=REFUSED)).to_be_visible()
        assert "Tante Ans haalt" not in kees.content()
        assert kees_sockets == [], "a device the family did not let in opened a live document"

        # The family sends Ans's phone out: her plan closes, her page signs her out.
        ans = tablet.locator("#who-is-in > li", has_text="Tante Ans")
        expect(ans.get_by_role("button", name="Laat vertrekken")).to_be_visible()
        assert serious_accessibility_problems(tablet) == []
        ans.get_by_role("button", name="Laat vertrekken").click()
        expect(ans).to_contain_text("Niet aangemeld")  # drawn again live
        phone.goto(f"{live_server.url}/c/{demo.id}")
        expect(phone.get_by_role("heading", name="Je bent niet (meer) aangemeld")).to_be_visible()
    finally:
        if kees is not None:
            kees.context.close()
        phone.context.close()
        tablet.context.close()
