"""Every number a route reads from a request (a path, a query, a form), on a real `kring
serve`: a digit that is not ASCII ('²', '١', '٣'), a sign, a space or a number past what the
database holds is refused with the clear 400 or 404 the route gives any other bad number,
never a 500, and nothing changes.

'²' is a digit to ``str.isdigit`` that ``int`` refuses (a 500 where it reached ``int``);
'١' and '٣' are Arabic-Indic digits that ``int`` reads as 1 and 3, so without the check a
request would silently mean someone else, or version 1 of the plan."""

from __future__ import annotations

import html
from typing import Any

import httpx
import pytest

from server.rules.phases import ROLES
from tests.support.people import DemoConference, as_, demo_conference, ids_by_role, server_store
from tests.support.server import LiveServer

pytestmark = pytest.mark.usefixtures("devices_closed")

ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
# A sign, a space, one past the largest id the database holds (a 32-bit INTEGER), far past it.
ASCII_ODD = ("-1", "+1", " 1", str(2**31), "9" * 30)
NOT_ASCII = ("²", "١", "٣")
NO_PAGE = "Deze pagina bestaat niet."  # no route takes it (a path's number is ASCII digits)


def odd_numbers(*real: int) -> list[str]:
    """Numbers a route must refuse: the fixed ones, and ``real`` ids in Arabic-Indic digits
    (which ``int`` would read as those very ids)."""
    return [*NOT_ASCII, *(str(n).translate(ARABIC) for n in real), *ASCII_ODD]


def in_path(odd: str, sentence: str) -> str:
    """What a path with ``odd`` for its number answers: no route for anything but ASCII
    digits, else the route's own word for a number that is not there."""
    return sentence if odd.isascii() and odd.isdigit() else NO_PAGE


async def everything(conference: DemoConference) -> Any:
    """What the conference holds that a refused request could have changed (the audit log
    counts every change a person makes)."""
    async with server_store(conference) as store:
        cid = conference.id
        meetings = await store.follow_ups(cid)
        return (
            [(e.kind, e.actor, e.count) for e in await store.audit_events(cid)],
            [(r.participant.id, r.participant.removed_at) for r in await store.participants(cid)],
            await store.action_team(cid),
            [(m.number, m.closed_at, await store.attendance(m.id)) for m in meetings],
            sorted(
                (r.participant_id, r.occasion, r.meeting_score) for r in await store.ratings(cid)
            ),
            [v.number for v in await store.plan_versions(cid)],
            [(c.id, c.status) for c, _p in await store.conditions(cid)],
            [(s.id, s.admission) for s, _p in await store.waiting_sessions(cid)],
        )


async def refused(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    status: int,
    sentence: str,
    **kwargs: Any,
) -> None:
    response = await client.request(method, url, **kwargs)
    shown = html.unescape(response.text)
    assert (response.status_code, sentence in shown) == (status, True), (
        method,
        url,
        kwargs,
        response.status_code,
        shown[:300],
    )


async def test_numbers_in_the_action_teams_pages_and_the_plans_versions(
    live_server: LiveServer,
) -> None:
    """The two 500s this was about: a meeting's attendance (``participant=²``) and the
    comparison of plan versions (``?old=²``); and every other number of those pages."""
    conference = await demo_conference(live_server, "presentation")
    cid = conference.id
    people = await ids_by_role(conference, *ROLES)
    client, member = people["client"], people["network_member"]
    coordinator_cookie = conference.coordinator_cookie()
    async with as_(conference, conference.cookie("client")) as sam:
        assert (await sam.post(f"/c/{cid}/answer", data={"answer": "agree"})).status_code == 303
    async with as_(conference, coordinator_cookie) as coordinator:
        team = {"participant": [str(client), str(member)]}
        chosen = await coordinator.post(f"/conferences/{cid}/action-team", data=team)
        assert chosen.status_code == 303
        assert (await coordinator.post(f"/conferences/{cid}/finalise")).status_code == 303
        moved = await coordinator.post(
            f"/api/conferences/{cid}/phase", json={"phase": "action_team"}
        )
        assert moved.status_code == 200, moved.text
    async with as_(conference, conference.cookie("client")) as sam:
        started = await sam.post(f"/c/{cid}/follow-ups")
        assert started.headers["location"] == f"/c/{cid}/follow-ups/1"
        before = await everything(conference)

        for odd in odd_numbers(client, member, 1):
            # the form's people
            await refused(
                sam,
                "POST",
                f"/c/{cid}/follow-ups/1/attendance",
                400,
                "Kies alleen mensen van deze conferentie.",
                data={"participant": [str(client), odd]},
            )
            # the marks (the use case reads them, as typed: spaces around one do not count)
            if odd.strip() == odd:
                await refused(
                    sam,
                    "POST",
                    f"/c/{cid}/follow-ups/1/rating",
                    400,
                    "Een cijfer is een heel getal van 1 tot en met 10.",
                    data={"meeting": odd, "plan": "7"},
                )
            # the versions compared
            for query in ({"old": odd}, {"new": odd}, {"old": "1", "new": odd}):
                await refused(
                    sam,
                    "GET",
                    f"/c/{cid}/plan/compare",
                    404,
                    "Kies twee versies die er zijn: 1 tot en met 1.",
                    params=query,
                )
            # the meeting's number
            meeting = in_path(odd, "Deze bijeenkomst bestaat niet.")
            await refused(sam, "GET", f"/c/{cid}/follow-ups/{odd}", 404, meeting)
            for action in ("attendance", "close", "rating"):
                url = f"/c/{cid}/follow-ups/{odd}/{action}"
                form = {"participant": str(client), "meeting": "7", "plan": "7"}
                await refused(sam, "POST", url, 404, meeting, data=form)
            # a version's copy
            version = in_path(odd, "Deze versie van het plan bestaat (nog) niet.")
            await refused(sam, "GET", f"/c/{cid}/plan/{odd}", 404, version)
            await refused(sam, "GET", f"/c/{cid}/plan/{odd}.pdf", 404, version)

        assert await everything(conference) == before
        # What the odd ones were refused for is there: the same requests with ASCII digits.
        came = await sam.post(
            f"/c/{cid}/follow-ups/1/attendance", data={"participant": [str(client)]}
        )
        assert came.status_code == 303
        compared = await sam.get(f"/c/{cid}/plan/compare", params={"old": "1", "new": "1"})
        assert compared.status_code == 200


async def test_numbers_in_the_presentations_forms_and_the_conference_page(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "presentation")
    cid = conference.id
    people = await ids_by_role(conference, *ROLES)
    client, member = people["client"], people["network_member"]
    async with (
        as_(conference, conference.coordinator_cookie()) as coordinator,
        as_(conference, conference.cookie("client")) as sam,
        as_(conference, conference.cookie("mandated_professional")) as sanne,
    ):
        chosen = await coordinator.post(
            f"/conferences/{cid}/action-team", data={"participant": [str(client)]}
        )
        assert chosen.status_code == 303
        before = await everything(conference)

        for odd in odd_numbers(client, member):
            # The action team: whoever is ticked, and a value that is no one is no one.
            chosen = await coordinator.post(
                f"/conferences/{cid}/action-team", data={"participant": [str(client), odd]}
            )
            assert chosen.status_code == 303, (odd, chosen.text)
            await refused(
                coordinator,
                "POST",
                f"/conferences/{cid}/cards",
                400,
                "Kies minstens één persoon.",
                data={"participant": odd},
            )
            gone = in_path(odd, "Deze deelnemer bestaat niet.")
            for action in ("link", "email", "revoke", "remove"):
                url = f"/conferences/{cid}/participants/{odd}/{action}"
                await refused(coordinator, "POST", url, 404, gone, data={"email": ""})
            if odd.strip() == odd:  # a mark as typed: spaces around it do not count
                await refused(
                    sam,
                    "POST",
                    f"/c/{cid}/rating",
                    400,
                    "Een cijfer is een heel getal van 1 tot en met 10.",
                    data={"meeting": "8", "plan": odd},
                )
            condition = in_path(odd, "Deze voorwaarde bestaat niet.")
            await refused(sanne, "POST", f"/c/{cid}/conditions/{odd}/delete", 404, condition)
            await refused(
                sanne,
                "POST",
                f"/c/{cid}/conditions/{odd}/check",
                404,
                condition,
                data={"status": "met"},
            )

        after = await everything(conference)
        # Choosing the same team again is audited as a choice; the team itself is the same.
        assert after[2] == before[2] == {client}
        assert [e for e in after[0] if e[0] != "action_team_chosen"] == [
            e for e in before[0] if e[0] != "action_team_chosen"
        ]
        assert after[1:] == before[1:]


async def test_numbers_in_the_familys_admission_and_the_calendar_feeds(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "private_time")
    cid = conference.id
    conference.cookie("network_member", 1, admitted=False)  # a device waits for the family
    async with server_store(conference) as store:
        (waiting, _person), *_ = await store.waiting_sessions(cid)
    async with (
        as_(conference, conference.cookie("client")) as tablet,
        as_(conference, "") as calendar_app,
    ):
        before = await everything(conference)
        for odd in odd_numbers(waiting.id):
            gone = in_path(odd, "Dit apparaat is niet (meer) aangemeld.")
            await refused(
                tablet, "POST", f"/c/{cid}/admission/{odd}", 404, gone, data={"decision": "in"}
            )
            await refused(tablet, "POST", f"/c/{cid}/devices/{odd}/send-out", 404, gone)
            unknown = in_path(odd, "Deze agenda-link werkt niet (meer).")
            for kind in ("p", "a"):
                await refused(
                    calendar_app, "GET", f"/feeds/{kind}/{odd}/{'0' * 64}.ics", 404, unknown
                )
        assert await everything(conference) == before


async def test_who_asks_is_checked_before_the_numbers_they_send(live_server: LiveServer) -> None:
    """A number is read after the use case has asked who is asking, as before the numbers
    went through one parser: someone who may not hold the action team's meetings is told so
    (403), whatever they typed, and someone the plan is closed to sees the plan's 403 page,
    as for the same meeting's page, rather than a 400 or a 404 that tells them nothing."""
    conference = await demo_conference(live_server, "action_team")
    cid = conference.id
    people = await ids_by_role(conference, "client")
    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        started = await coordinator.post(f"/c/{cid}/follow-ups")
        assert started.headers["location"] == f"/c/{cid}/follow-ups/1"
    # A network member who is not on the action team (the demo chose none) reads the plan.
    async with as_(conference, conference.cookie("network_member", 1)) as ayse:
        before = await everything(conference)
        for odd in (*NOT_ASCII, str(2**31), "9" * 12):
            await refused(
                ayse,
                "POST",
                f"/c/{cid}/follow-ups/1/attendance",
                403,
                "Alleen het actieteam en de coördinator houden deze bijeenkomsten.",
                data={"participant": [str(people["client"]), odd]},
            )
        assert await everything(conference) == before

    # In the information phase the plan is the family's: a professional does not read it.
    conference = await demo_conference(live_server, "information")
    cid = conference.id
    async with as_(conference, conference.cookie("professional")) as iris:
        locked = "Tijdens de informatiefase is het plan niet voor jou open."
        for number in (1, 2**31):
            await refused(iris, "GET", f"/c/{cid}/follow-ups/{number}", 403, locked)
            for action in ("attendance", "close", "rating"):
                url = f"/c/{cid}/follow-ups/{number}/{action}"
                form = {"meeting": "7", "plan": "7"}
                await refused(iris, "POST", url, 403, locked, data=form)
