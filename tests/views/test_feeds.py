"""Personal calendar feeds on a real `kring serve`: a calendar app, which sends no cookies,
subscribes to a participant's or a coordinator's own URL and sees the action team's next
meeting move as the plan is agreed, the date moved and a meeting held; a replaced link,
a revoked one or a removed person's feed answers 404 and says nothing of why."""

from __future__ import annotations

import html
import logging
import re
from datetime import date, timedelta

import httpx
import pytest

from server.conference import calendar as feeds  # the feeds' keys and addresses
from server.conference import followups
from server.logs import SecretPaths
from server.settings import Settings
from tests.support.databases import add_coordinator
from tests.support.feeds import feed_url_on, fetch
from tests.support.meeting import agree_in_store, run_to_action_team
from tests.support.people import as_, demo_conference, ids_by_role, server_store
from tests.support.server import LiveServer

pytestmark = pytest.mark.usefixtures("devices_closed")

UNKNOWN = "Deze agenda-link werkt niet (meer)."


# -- reading a calendar as strictly as the RFC writes it ----------------------------------------


def _unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


def parse_calendar(body: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The calendar's own properties and each VEVENT's, by name with parameters
    (``DTSTART;VALUE=DATE``). Fails on anything RFC 5545 would not accept: lines not ended by
    CRLF, a line over 75 octets, a continuation with nothing before it, unbalanced
    BEGIN/END, a content line without a colon."""
    assert body.endswith("\r\n"), "every content line ends in CRLF"
    physical = body[:-2].split("\r\n")
    assert not any("\n" in line or "\r" in line for line in physical), "bare LF or CR"
    assert all(len(line.encode()) <= 75 for line in physical), "a line over 75 octets"
    logical: list[str] = []
    for line in physical:
        if line[:1] in (" ", "\t"):
            assert logical, "a continuation line first"
            logical[-1] += line[1:]
        else:
            logical.append(line)
    assert logical[0] == "BEGIN:VCALENDAR" and logical[-1] == "END:VCALENDAR"
    stack: list[str] = []
    calendar: dict[str, str] = {}
    events: list[dict[str, str]] = []
    others: list[dict[str, str]] = []  # a VTIMEZONE and its observances
    for line in logical:
        name, colon, value = line.partition(":")
        assert colon and name, f"not a content line: {line!r}"
        if name == "BEGIN":
            stack.append(value)
            (events if value == "VEVENT" else others).append({})
        elif name == "END":
            assert stack.pop() == value, f"END:{value} closes something else"
        else:
            if stack[-1] == "VCALENDAR":
                target = calendar
            else:
                target = events[-1] if stack[-1] == "VEVENT" else others[-1]
            assert name not in target, f"{name} twice"
            target[name] = _unescape(value)
    assert not stack
    return calendar, events


def by_uid(events: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {event["UID"]: event for event in events}


def follow_ups(events: list[dict[str, str]]) -> list[dict[str, str]]:
    """The action team's meetings (the conference itself is in the feed too)."""
    return [event for event in events if "-follow-up-" in event["UID"]]


def ics_date(day: date) -> str:
    return day.strftime("%Y%m%d")


# -- a participant's feed ------------------------------------------------------------------------


async def test_a_participants_feed_follows_the_agreed_plan_a_moved_date_and_a_meeting_held(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    cid = conference.id
    ids = await run_to_action_team(conference)
    first, second = f"{cid}-follow-up-1@kring", f"{cid}-follow-up-2@kring"
    async with (
        as_(conference, conference.cookie("network_member")) as ayse,
        as_(conference, conference.coordinator_cookie()) as coordinator,
    ):
        page = await ayse.get(f"/c/{cid}/follow-ups")
        url = feed_url_on(page)
        assert url.startswith(f"{live_server.url}/feeds/p/{ids['network_member']}/")
        assert f'href="{feeds.webcal(url)}"' in page.text and feeds.webcal(url).startswith(
            "webcal://127.0.0.1:"
        )

        # After the plan is agreed: the first meeting, six weeks on.
        agreed = fetch(url)
        assert agreed.status_code == 200
        assert agreed.headers["content-type"].startswith("text/calendar")
        calendar, events = parse_calendar(agreed.text)
        assert calendar["REFRESH-INTERVAL;VALUE=DURATION"] == "PT1H"
        assert calendar["X-PUBLISHED-TTL"] == "PT1H"
        (event,) = follow_ups(events)
        assert event["UID"] == first
        assert event["DTSTART;VALUE=DATE"] == ics_date(followups.today() + timedelta(weeks=6))
        assert event["SUMMARY"] == "Actieteam: plan van Sam Yılmaz"
        assert event["URL"] == f"{live_server.url}/c/{cid}/follow-ups"
        assert "Samen koken" not in agreed.text, "never the plan's text"

        # The coordinator moves the date: the same event, on the new day.
        later = followups.today() + timedelta(days=10)
        moved = await coordinator.post(
            f"/c/{cid}/follow-ups/next", data={"date": later.isoformat()}
        )
        assert moved.status_code == 303
        (event,) = follow_ups(parse_calendar(fetch(url).text)[1])
        assert (event["UID"], event["DTSTART;VALUE=DATE"]) == (first, ics_date(later))

        # A meeting is held: it stays on the day it was held, the next is due six weeks on.
        assert (await ayse.post(f"/c/{cid}/follow-ups")).status_code == 303
        came = {"participant": [str(ids["client"]), str(ids["network_member"])]}
        assert (await ayse.post(f"/c/{cid}/follow-ups/1/attendance", data=came)).status_code == 303
        assert (await ayse.post(f"/c/{cid}/follow-ups/1/close")).status_code == 303
        by_id = by_uid(follow_ups(parse_calendar(fetch(url).text)[1]))
        assert set(by_id) == {first, second}
        assert by_id[first]["DTSTART;VALUE=DATE"] == ics_date(followups.today())
        assert by_id[first]["SUMMARY"] == "Actieteam gehouden: plan van Sam Yılmaz"
        assert by_id[second]["DTSTART;VALUE=DATE"] == ics_date(
            followups.today() + timedelta(weeks=6)
        )

        # In the language the person chose, whoever fetches it.
        chosen = await ayse.post("/language", data={"language": "en", "next": f"/c/{cid}"})
        assert chosen.status_code == 303
        by_id = by_uid(parse_calendar(fetch(url).text)[1])
        assert by_id[second]["SUMMARY"] == "Action team: plan of Sam Yılmaz"


async def test_a_new_link_keeps_the_feed_and_revoking_or_removal_ends_it_without_saying_why(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    cid = conference.id
    await run_to_action_team(conference)
    ids = await ids_by_role(conference, "network_member", "client")
    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        async with as_(conference, conference.cookie("network_member")) as ayse:
            old = feed_url_on(await ayse.get(f"/c/{cid}/follow-ups"))
        async with as_(conference, conference.cookie("client")) as sam:
            sams = feed_url_on(await sam.get(f"/c/{cid}/follow-ups"))
        assert fetch(old).status_code == 200 and fetch(sams).status_code == 200

        # A new link adds one: the feed the person subscribed to keeps working.
        base = f"/conferences/{cid}/participants/{ids['network_member']}"
        reissued = await coordinator.post(f"{base}/link")
        assert reissued.status_code == 200
        assert fetch(old).status_code == 200
        stale = fetch(f"{live_server.url}/feeds/p/{ids['network_member']}/{'0' * 64}.ics")
        assert stale.status_code == 404 and UNKNOWN in stale.text
        shown = re.search(rf'<code id="link-{ids["network_member"]}">([^<]+)</code>', reissued.text)
        assert shown, "the new link is shown once"
        new_link = html.unescape(shown[1])
        async with httpx.AsyncClient(headers={"origin": live_server.url}, timeout=10) as device:
            assert (await device.post(new_link)).status_code == 303
            new = feed_url_on(await device.get(f"{live_server.url}/c/{cid}/follow-ups"))
        assert new == old, "whichever link a device came in with, the person's one feed"

        # Guessing, or another person's id with a real key: the very same answer.
        key = new.rsplit("/", 1)[1]
        guessed = fetch(f"{live_server.url}/feeds/p/{ids['network_member']}/{'0' * 64}.ics")
        swapped = fetch(f"{live_server.url}/feeds/p/{ids['client']}/{key}")
        huge = fetch(f"{live_server.url}/feeds/p/99999999999/{key}")
        nobody = fetch(f"{live_server.url}/feeds/a/99999/{key}")
        odd = fetch(f"{live_server.url}/feeds/p/{ids['network_member']}/%C3%A9.ics")
        for answer in (guessed, swapped, huge, nobody, odd):
            assert (answer.status_code, answer.text) == (404, stale.text)
        # A control character in an address is refused as bad input, before any key is read.
        nul = fetch(f"{live_server.url}/feeds/p/{ids['network_member']}/%00.ics")
        assert nul.status_code == 400 and key not in nul.text

        revoked = await coordinator.post(f"/conferences/{cid}/participants/{ids['client']}/revoke")
        assert revoked.status_code == 200
        assert (fetch(sams).status_code, fetch(sams).text) == (404, stale.text)
        # Revoking ends all of a person's links, the one the feed is keyed over too.
        revoked = await coordinator.post(f"{base}/revoke")
        assert revoked.status_code == 200
        assert (fetch(new).status_code, fetch(new).text) == (404, stale.text)
        again = await coordinator.post(f"{base}/link")
        shown = re.search(rf'<code id="link-{ids["network_member"]}">([^<]+)</code>', again.text)
        assert shown
        async with httpx.AsyncClient(headers={"origin": live_server.url}, timeout=10) as device:
            assert (await device.post(html.unescape(shown[1]))).status_code == 303
            fresh = feed_url_on(await device.get(f"{live_server.url}/c/{cid}/follow-ups"))
        assert fresh != new and fetch(fresh).status_code == 200

        removed = await coordinator.post(f"{base}/remove")
        assert removed.status_code == 200
        assert (fetch(fresh).status_code, fetch(fresh).text) == (404, stale.text)


# -- a coordinator's feed ------------------------------------------------------------------------


async def test_a_coordinators_feed_lists_each_conference_they_run_and_an_admins_only_their_own(
    live_server: LiveServer,
) -> None:
    first = await demo_conference(live_server, "information")
    second = await demo_conference(live_server, "information")  # same coordinator, new password
    async with server_store(second) as store:
        for conference in (first, second):
            await agree_in_store(store, conference.id)
        admin = await add_coordinator(store, role="admin")
        own = await store.create_conference(admin, "Anna de Vries", "Hoe gaat Anna naar school?")
        await agree_in_store(store, own.id)
        coordinator = await store.account_by_email(second.data["coordinator"]["email"])
        assert coordinator is not None
    settings = Settings.from_env(live_server.instance.env)

    async with as_(second, second.coordinator_cookie()) as lotte:
        listing = await lotte.get("/conferences")
    url = feed_url_on(listing)
    assert url == feeds.account_url(settings, coordinator)
    assert "al je conferenties" in listing.text
    answer = fetch(url)
    assert answer.status_code == 200
    calendar, events = parse_calendar(answer.text)
    uids = set(by_uid(events))
    due = ics_date(followups.today() + timedelta(weeks=6))
    assert {f"{first.id}-follow-up-1@kring", f"{second.id}-follow-up-1@kring"} <= uids
    assert f"{own.id}-follow-up-1@kring" not in uids
    assert all(
        e["DTSTART;VALUE=DATE"] == due for e in follow_ups(events) if e["UID"].startswith(first.id)
    )
    # The conferences themselves, on the instance's clock, where they are held.
    meeting = by_uid(events)[f"{first.id}-conference@kring"]
    assert meeting["DTSTART;TZID=Europe/Amsterdam"].endswith("T140000")
    assert meeting["LOCATION"] == "Buurthuis De Kring, Kringweg 1, 3511 AA Utrecht"
    assert calendar["X-WR-CALNAME"] == "Kring: bijeenkomsten van de actieteams"

    # The admin sees the organisation on the list, but only their own in the calendar.
    (event,) = parse_calendar(fetch(feeds.account_url(settings, admin)).text)[1]
    assert event["UID"] == f"{own.id}-follow-up-1@kring"
    assert event["SUMMARY"] == "Actieteam: plan van Anna de Vries"

    # A password reset (the next demo sets a new one) ends the old feed.
    await demo_conference(live_server, "information")
    assert fetch(url).status_code == 404


async def test_a_turned_off_accounts_feed_ends_without_saying_why(live_server: LiveServer) -> None:
    async with server_store(live_server) as store:
        coordinator = await add_coordinator(store)
        conference = await store.create_conference(coordinator, "Bram Mulder", "Waar woont Bram?")
        await agree_in_store(store, conference.id)
    settings = Settings.from_env(live_server.instance.env)
    url = feeds.account_url(settings, coordinator)
    assert f"{conference.id}-follow-up-1@kring" in fetch(url).text
    async with server_store(live_server) as store:
        await store.deactivate_account(coordinator.id)
    gone = fetch(url)
    assert gone.status_code == 404, "an account turned off hears nothing more of its conferences"
    assert "Bram" not in gone.text
    assert "Deze agenda-link werkt niet (meer)." in gone.text


def test_a_feed_key_depends_on_the_secret_the_person_and_their_link() -> None:
    key = feeds.participant_key("k" * 40, 7, 1)
    assert len(key) == 64 and key == feeds.participant_key("k" * 40, 7, 1)
    others = {
        feeds.participant_key("k" * 40, 7, 2),
        feeds.participant_key("k" * 40, 8, 1),
        feeds.participant_key("j" * 40, 7, 1),
    }
    assert key not in others and len(others) == 3


def test_the_access_log_never_holds_a_feed_key() -> None:
    key = feeds.participant_key("k" * 40, 7, 1)
    for path in (f"/feeds/p/7/{key}.ics", f"/feeds/a/3/{key}.ics"):
        record = logging.LogRecord(
            "uvicorn.access",
            logging.INFO,
            __file__,
            1,
            '%s - "%s %s HTTP/%s" %d',
            ("127.0.0.1:5000", "GET", path, "1.1", 200),
            None,
        )
        assert SecretPaths().filter(record)
        assert key not in record.getMessage() and path[:10] in record.getMessage()
