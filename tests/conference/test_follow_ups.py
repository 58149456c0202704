"""The action team after the conference, on a real `kring serve`: follow-up meetings that
record who came and freeze plan versions 2, 3, 4..., when the next one is due, the calendar
file, and each bad request refused with a reason and nothing changed."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from typing import Any

import pytest
from pycrdt import Array

from server.conference import followups
from server.rules import schedule
from server.rules.compare import compare_versions
from server.rules.plan import add_agreement, read_plan
from tests.support.live import connected
from tests.support.meeting import run_to_action_team
from tests.support.people import DemoConference, as_, demo_conference, server_store
from tests.support.server import LiveServer


def _agreements(state: bytes) -> dict[str, dict[str, Any]]:
    return {a["what"]: a for a in read_plan(state)["agreements"]}


async def test_three_follow_ups_freeze_versions_2_to_4_with_what_changed(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    cid = conference.id
    presented = {"client": (8, 9), "network_member": (7, 8), "professional": (9, 7)}
    ids = await run_to_action_team(conference, presented)
    member = conference.device("plan", conference.cookie("network_member"), saved=True)
    async with (
        as_(conference, conference.cookie("network_member")) as ayse,
        as_(conference, conference.cookie("client")) as sam,
        as_(conference, conference.coordinator_cookie()) as coordinator,
        connected(member),
    ):
        page = await ayse.get(f"/c/{cid}/follow-ups")
        due = followups.today() + timedelta(weeks=6)
        assert due.strftime("%d-%m-%Y") in page.text and "Gepland" in page.text

        steps = [
            # meeting 1: cooking is on track, football done
            {"Samen koken op zondag": "on_track", "Sam naar voetbal": "done"},
            # meeting 2: cooking does not work; the backup is written down
            {"Samen koken op zondag": "not_working"},
            # meeting 3: the agreement is adjusted, and a new one added
            {"Samen koken op zondag": "on_track"},
        ]
        for number, statuses in enumerate(steps, start=1):
            started = await ayse.post(f"/c/{cid}/follow-ups")
            assert started.status_code == 303
            assert started.headers["location"] == f"/c/{cid}/follow-ups/{number}"
            came = [str(ids["client"]), str(ids["network_member"])]
            recorded = await ayse.post(
                f"/c/{cid}/follow-ups/{number}/attendance", data={"participant": came}
            )
            assert recorded.status_code == 303
            agreements = member.doc.get("agreements", type=Array)
            for item in agreements:
                if str(item["what"]) in statuses:
                    item["status"] = statuses[str(item["what"])]
            cooking = next(m for m in agreements if "koken" in str(m["what"]))
            if number == 2:
                cooking["backup"].insert(0, "Dan eten we bij oma")
            if number == 3:
                cooking["when"].insert(0, "om de week")
                add_agreement(member.doc, "finances", what="Samen de post openen")
            await member.wait_for(member.all_saved)
            for device, marks in ((ayse, (6 + number, 7)), (sam, (5 + number, 8))):
                marked = await device.post(
                    f"/c/{cid}/follow-ups/{number}/rating",
                    data={"meeting": str(marks[0]), "plan": str(marks[1])},
                )
                assert marked.status_code == 303, marked.text
            closer = coordinator if number == 2 else ayse
            closed = await closer.post(f"/c/{cid}/follow-ups/{number}/close")
            assert closed.status_code == 303, closed.text

        async with server_store(conference) as store:
            versions = await store.plan_versions(cid)
            meetings = await store.follow_ups(cid)
        assert [v.number for v in versions] == [1, 2, 3, 4]
        assert [m.version_number for m in meetings] == [2, 3, 4]
        by_version = {v.number: _agreements(v.state) for v in versions}
        assert by_version[1]["Samen koken op zondag"]["status"] == "open"
        assert by_version[2]["Samen koken op zondag"]["status"] == "on_track"
        assert by_version[2]["Sam naar voetbal"]["status"] == "done"
        assert by_version[3]["Samen koken op zondag"]["status"] == "not_working"
        assert by_version[3]["Samen koken op zondag"]["backup"] == "Dan eten we bij oma"
        assert by_version[4]["Samen koken op zondag"]["when"] == "om de week"
        assert (
            "Samen de post openen" in by_version[4] and "Samen de post openen" not in by_version[3]
        )
        assert versions[3].content["follow_up"]["attended"] == ["Sam Yılmaz", "Ayşe Yılmaz"]

        # The comparison of any two versions says what changed per agreement.
        whole = compare_versions(versions[0].content, versions[3].content)
        kinds = {change.what: change.kind for change in whole.agreements}
        assert kinds == {
            "Samen koken op zondag": "changed",
            "Sam naar voetbal": "changed",
            "Samen de post openen": "added",
        }
        cooking = next(c for c in whole.agreements if c.what == "Samen koken op zondag")
        assert {(f.field, f.old, f.new) for f in cooking.fields} == {
            ("status", "Open", "Loopt"),
            ("backup", "", "Dan eten we bij oma"),
            ("when", "", "om de week"),
        }
        step = compare_versions(versions[1].content, versions[2].content)
        assert [
            (c.what, [(f.field, f.old, f.new) for f in c.fields])
            for c in step.agreements
            if c.kind == "changed"
        ] == [
            (
                "Samen koken op zondag",
                [("backup", "", "Dan eten we bij oma"), ("status", "Loopt", "Lukt niet")],
            )
        ]
        page = await ayse.get(f"/c/{cid}/plan/compare", params={"old": 2, "new": 3})
        assert page.status_code == 200
        assert "Dan eten we bij oma" in page.text and "Lukt niet" in page.text
        default = await ayse.get(f"/c/{cid}/plan/compare")
        assert default.status_code == 200 and "Samen de post openen" in default.text
        missing = await ayse.get(f"/c/{cid}/plan/compare", params={"old": 1, "new": 9})
        assert missing.status_code == 404 and "1 tot en met 4" in missing.text

        listing = await ayse.get(f"/c/{cid}/follow-ups")
        for number in (2, 3, 4):
            assert f"/c/{cid}/plan/{number}" in listing.text
        copy = await ayse.get(f"/c/{cid}/plan/4")
        assert copy.status_code == 200 and "Samen de post openen" in copy.text
        audit = await coordinator.get(f"/conferences/{cid}/audit")
        assert audit.text.count("van het actieteam af; het plan van toen is versie") == 3

        # The outcomes count version 1 and the marks given along the way.
        async with server_store(conference) as store:
            marks = sorted((r.occasion, r.meeting_score) for r in await store.ratings(cid))
        assert marks == [(0, 7), (0, 8), (0, 9), (1, 6), (1, 7), (2, 7), (2, 8), (3, 8), (3, 9)]
        dashboard = await coordinator.get("/outcomes")
        assert dashboard.status_code == 200
        # Sam: 2 agreements in 2 life areas, both the network's own, too young for the
        # three-month count; the conference marked (8 + 7 + 9) / 3, the plan (9 + 8 + 7) / 3.
        assert conference_row(dashboard.text, cid)[2:] == [
            "14", "2", "2", "100%", "0%", "nog geen 3 maanden", "8,0", "8,0"
        ]  # fmt: skip


def conference_row(page: str, conference_id: str) -> list[str]:
    """The cells of one conference's row on the outcomes page, as text."""
    start = page.index(f'<a href="/conferences/{conference_id}">')
    row = page[page.rindex("<tr", 0, start) : page.index("</tr>", start)]
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells]


async def test_each_bad_follow_up_request_is_refused_and_changes_nothing(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    cid = conference.id
    await run_to_action_team(conference)
    async with (
        as_(conference, conference.cookie("network_member")) as ayse,
        as_(conference, conference.cookie("professional")) as iris,
        as_(conference, conference.coordinator_cookie()) as coordinator,
    ):
        # Not in the action team: may read, not hold a meeting.
        refused = await iris.post(f"/c/{cid}/follow-ups")
        assert refused.status_code == 403
        assert "Alleen het actieteam en de coördinator" in refused.text
        assert (await ayse.post(f"/c/{cid}/follow-ups")).status_code == 303
        # One meeting at a time.
        twice = await ayse.post(f"/c/{cid}/follow-ups")
        assert twice.status_code == 409 and "Bijeenkomst 1 is al begonnen" in twice.text
        # Closing with nobody recorded as there.
        empty = await ayse.post(f"/c/{cid}/follow-ups/1/close")
        assert empty.status_code == 409
        assert "Zet eerst wie er bij de bijeenkomst waren." in empty.text
        # Attendance of someone of another conference, or not a number.
        other = await ayse.post(f"/c/{cid}/follow-ups/1/attendance", data={"participant": "999999"})
        assert other.status_code == 400 and "Kies alleen mensen van deze conferentie." in other.text
        junk = await ayse.post(f"/c/{cid}/follow-ups/1/attendance", data={"participant": "x"})
        assert junk.status_code == 400
        # A due date in the past, a date that is not a date, and the date set by a member.
        past = (followups.today() - timedelta(days=1)).isoformat()
        yesterday = await coordinator.post(f"/c/{cid}/follow-ups/next", data={"date": past})
        assert yesterday.status_code == 400 and "Die datum is al voorbij." in yesterday.text
        nonsense = await coordinator.post(f"/c/{cid}/follow-ups/next", data={"date": "31-02"})
        assert nonsense.status_code == 400 and "Dit is geen datum." in nonsense.text
        by_member = await ayse.post(
            f"/c/{cid}/follow-ups/next", data={"date": followups.today().isoformat()}
        )
        assert by_member.status_code == 403
        # A meeting that does not exist.
        assert (await ayse.get(f"/c/{cid}/follow-ups/7")).status_code == 404
        assert (await ayse.post(f"/c/{cid}/follow-ups/99999999999/close")).status_code == 404

        async with server_store(conference) as store:
            meetings = await store.follow_ups(cid)
            stored = await store.conference(cid)
            came = await store.attendance(meetings[0].id)
        assert [m.number for m in meetings] == [1] and meetings[0].closed_at is None
        assert came == frozenset() and stored is not None and stored.next_follow_up_on is None
        assert [v.number for v in await _versions(conference)] == [1]

        # A good date moves the next meeting, and the calendar file says so.
        later = followups.today() + timedelta(days=10)
        moved = await coordinator.post(
            f"/c/{cid}/follow-ups/next", data={"date": later.isoformat()}
        )
        assert moved.status_code == 303
        ics = await ayse.get(f"/c/{cid}/follow-ups.ics")
        assert ics.headers["content-type"].startswith("text/calendar")
        assert f"DTSTART;VALUE=DATE:{later.strftime('%Y%m%d')}" in ics.text
        assert "SUMMARY:Actieteam: plan van Sam Yılmaz" in ics.text
        assert all(len(line.encode()) <= 75 for line in ics.text.split("\r\n"))


async def _versions(conference: DemoConference) -> list[Any]:
    async with server_store(conference) as store:
        return await store.plan_versions(conference.id)


@pytest.mark.parametrize(
    ("due", "on", "expected"),
    [
        (date(2026, 12, 10), date(2026, 11, 23), "planned"),
        (date(2026, 12, 10), date(2026, 12, 3), "due"),
        (date(2026, 12, 10), date(2026, 12, 10), "due"),
        (date(2026, 12, 10), date(2026, 12, 11), "overdue"),
    ],
)
def test_a_meeting_is_planned_then_due_then_overdue(due: date, on: date, expected: str) -> None:
    assert schedule.standing(due, on) == expected
