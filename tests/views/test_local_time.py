"""KRING_TIMEZONE moves every time people see, in pages, the .ics and the PDF; what is
stored stays UTC. The server here runs on New York's clock, far from the default."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from tests.support.meeting import agree_in_store
from tests.support.people import as_, demo_conference, server_store
from tests.support.server import LiveServer, make_instance, serving

NEW_YORK = ZoneInfo("America/New_York")
TIME = re.compile(r'<time datetime="([^"]+)">([^<]+)</time>')


@pytest.fixture(scope="module")
def new_york(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("kring")
    with serving(make_instance(folder, KRING_TIMEZONE="America/New_York")) as server:
        yield server


async def test_times_are_shown_on_the_instances_clock_and_stored_in_utc(
    new_york: LiveServer,
) -> None:
    conference = await demo_conference(new_york, "information")
    cid = conference.id
    async with server_store(conference) as store:
        stored = await store.conference(cid)
    assert stored is not None and stored.meeting_date is not None
    assert stored.starts_at is not None and stored.starts_at.tzinfo == UTC
    # The demo meets from 14:00 to 17:00 on the instance's clock: New York's.
    day = stored.meeting_date
    assert stored.starts_at == datetime.combine(day, time(14), NEW_YORK)
    assert stored.ends_at == datetime.combine(day, time(17), NEW_YORK)

    async with (
        as_(conference, conference.cookie("client")) as sam,
        as_(conference, conference.coordinator_cookie()) as coordinator,
    ):
        landing = await sam.get(f"/c/{cid}")
        assert "van 14:00 tot 17:00 uur" in landing.text
        assert "Kringweg 1, 3511 AA Utrecht" in landing.text
        ics = await sam.get(f"/c/{cid}/conference.ics")
        assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
        lines = ics.text.replace("\r\n ", "").split("\r\n")
        assert f"DTSTART;TZID=America/New_York:{day:%Y%m%d}T140000" in lines
        assert f"DTEND;TZID=America/New_York:{day:%Y%m%d}T170000" in lines
        assert "TZID:America/New_York" in lines  # its VTIMEZONE
        assert r"LOCATION:Buurthuis De Kring\, Kringweg 1\, 3511 AA Utrecht" in lines

        # The audit log: every moment as New York reads it, never UTC.
        audit = await coordinator.get(f"/conferences/{cid}/audit")
        shown = TIME.findall(audit.text)
        assert shown, "the log's rows carry their time"
        for stamp, text in shown:
            moment = datetime.fromisoformat(stamp)
            assert text == f"{moment.astimezone(NEW_YORK):%d-%m-%Y %H:%M}"
            assert text != f"{moment.astimezone(UTC):%d-%m-%Y %H:%M}"
        assert "Sam Yılmaz opende de persoonlijke link." in audit.text

        # The PDF copy prints when the plan was frozen on the same clock.
        async with server_store(conference) as store:
            await agree_in_store(store, cid)
            version = await store.plan_version(cid, 1)
        assert version is not None
        pdf = await sam.get(f"/c/{cid}/plan/1.pdf")
        assert pdf.status_code == 200
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        assert f"vastgesteld op {version.created_at.astimezone(NEW_YORK):%d-%m-%Y %H:%M}" in text
