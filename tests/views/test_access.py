"""Who read what (NEN 7513) over HTTP on a real `kring serve`: the access report of a
conference (``/conferences/{id}/access`` and its CSV) for its coordinators and admins only,
newest first, filtered by person and by document, named (a removed person too), safe to open
in a spreadsheet app, and a 400 with a reason for a query it cannot answer."""

from __future__ import annotations

import asyncio
import csv
import html
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx

from server.conference import auth
from tests.support.live import connected
from tests.support.meeting import move
from tests.support.people import (
    LINK,
    DemoConference,
    as_,
    demo_conference,
    ids_by_role,
    open_link,
    other_coordinator,
    server_store,
)
from tests.support.server import LiveServer

TAGS = re.compile(r"<[^>]+>")
LOCAL_TIME = re.compile(r"^\d{2}-\d{2}-\d{4} \d{2}:\d{2}")
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
HEADER = ["Wanneer", "Wie", "Rol", "Wat", "Document of kopie", "Versie", "Aantal keer"]
FORMULAS = ['=HYPERLINK("https://evil.example","Klik")', "+31 Buurman", "-Neef Kees", "@Oom"]


def table(page: str) -> list[list[str]]:
    """The report's rows as the page shows them: when, who, role, what, document, version."""
    body = page.split('<table id="access">', 1)[1].split("</tbody>", 1)[0].split("<tbody>", 1)[1]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        rows.append([html.unescape(TAGS.sub("", c)).strip() for c in cells])
    return rows


def spreadsheet(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.content.startswith(b"\xef\xbb\xbf"), "a BOM, for spreadsheet apps"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


async def admin_cookie(conference: DemoConference) -> str:
    password = "an admin's long password"
    async with server_store(conference) as store:
        account = await store.create_account(
            f"admin-{conference.id.lower()}@example.org",
            "Petra Beheer",
            await auth.hash_password(password),
            role="admin",
        )
    async with as_(conference, "") as device:
        response = await device.post("/login", data={"email": account.email, "password": password})
        assert response.status_code == 303
        return f"kring_coordinator={device.cookies['kring_coordinator']}"


async def report_page(
    client: httpx.AsyncClient, conference: DemoConference, query: str = ""
) -> str:
    page = await client.get(f"/conferences/{conference.id}/access{query}")
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    return page.text


async def test_only_the_conferences_coordinators_and_admins_see_who_read_what(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    base = f"/conferences/{conference.id}/access"
    lotte_cookie = conference.coordinator_cookie()
    async with as_(conference, lotte_cookie) as lotte:
        assert "Wie wat inzag" in await report_page(lotte, conference)
        # ... one tap from the conference page
        assert f'href="{base}"' in (await lotte.get(f"/conferences/{conference.id}")).text
        for path in ("/conferences/NIETBESTAAND/access", "/conferences/NIETBESTAAND/access.csv"):
            assert (await lotte.get(path)).status_code == 404
    async with as_(conference, await admin_cookie(conference)) as petra:
        assert "Wie wat inzag" in await report_page(petra, conference)
        assert spreadsheet(await petra.get(base + ".csv"))[0] == HEADER
    bram, _account = await other_coordinator(conference)
    async with as_(conference, bram) as other:
        for path in (base, base + ".csv"):
            refused = await other.get(path)
            assert refused.status_code == 403 and "andere coördinator" in refused.text
    # A participant's link opens no coordinator page: it asks for a coordinator's login.
    async with as_(conference, conference.cookie("client")) as sam:
        assert (await sam.get(f"/c/{conference.id}/plan")).status_code == 200
        for path in (base, base + ".csv"):
            asked = await sam.get(path)
            assert asked.status_code == 303 and asked.headers["location"].startswith("/login")
    async with as_(conference, "") as stranger:
        assert (await stranger.get(base + ".csv")).status_code == 303

    # Erasing the conference takes its report along: nothing left to show or to read back.
    async with as_(conference, lotte_cookie) as lotte:
        assert table(await report_page(lotte, conference)) != [["Niets gevonden."]]
        erased = await lotte.post(
            f"/conferences/{conference.id}/erase",
            data={"confirm": conference.person("client")["name"]},
        )
        assert erased.status_code == 303, erased.text
        for path in (base, base + ".csv"):
            assert (await lotte.get(path)).status_code == 404
    async with server_store(conference) as store:
        assert await store.audit_events(conference.id) == []


async def test_the_report_names_who_opened_wrote_or_downloaded_what_and_filters_it(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    cid = conference.id
    ids = await ids_by_role(conference, "client", "network_member")
    sam, ayse = conference.person("client")["name"], conference.person("network_member")["name"]
    async with as_(conference, conference.cookie("client")) as device:
        assert (await device.get(f"/c/{cid}/plan")).status_code == 200
        assert (await device.get(f"/c/{cid}/compass/map")).status_code == 200
        assert (await device.get(f"/c/{cid}/compass/compass.json")).status_code == 200
    tablet = conference.device("information", conference.cookie("network_member"), saved=True)
    async with connected(tablet):
        tablet.text().insert(0, "Oma haalt Sam op. ")
        await tablet.wait_for(tablet.all_saved)

    async with as_(conference, conference.coordinator_cookie()) as lotte:
        # Ayşe is taken off the list: the report still names her.
        removed = await lotte.post(
            f"/conferences/{cid}/participants/{ids['network_member']}/remove"
        )
        assert removed.status_code in (200, 303)
        deadline = asyncio.get_running_loop().time() + 10
        while "schreef in" not in (page := await report_page(lotte, conference)):
            assert asyncio.get_running_loop().time() < deadline, "the write was not audited"
            await asyncio.sleep(0.05)
        rows = table(page)
        assert [row[1:5] for row in rows] == [
            [ayse, "Netwerklid (familie, vriend, buur)", "schreef in", "De informatie"],
            [ayse, "Netwerklid (familie, vriend, buur)", "opende om te schrijven", "De informatie"],
            [
                sam,
                "Cliënt (centrale persoon)",
                "downloadde",
                "Kopie van het netwerkkompas (gegevensbestand, json)",
            ],
            [sam, "Cliënt (centrale persoon)", "bekeek", "De netwerkkaart"],
            [sam, "Cliënt (centrale persoon)", "bekeek", "De pagina van het plan"],
        ]
        assert all(LOCAL_TIME.match(row[0]) for row in rows)
        assert f"{html.escape(ayse)} (niet meer op de lijst)" in page

        mine = table(await report_page(lotte, conference, f"?person=participant:{ids['client']}"))
        assert [row[3] for row in mine] == ["downloadde", "bekeek", "bekeek"]
        written = table(await report_page(lotte, conference, "?document=information"))
        assert {row[1] for row in written} == {ayse} and len(written) == 2
        both = f"?person=participant:{ids['client']}&document=information"
        assert table(await report_page(lotte, conference, both)) == [["Niets gevonden."]]

        # The CSV: the same rows, a header, each moment in ISO 8601 with the clock's offset.
        sheet = spreadsheet(await lotte.get(f"/conferences/{cid}/access.csv"))
        assert sheet[0] == HEADER
        assert [line[1:5] for line in sheet[1:]] == [row[1:5] for row in rows]
        shown = re.findall(r'<time datetime="([^"]+)"', page)
        for line, stored in zip(sheet[1:], shown, strict=True):
            assert ISO_WITH_OFFSET.match(line[0]), line[0]
            moment = datetime.fromisoformat(line[0])
            assert moment == datetime.fromisoformat(stored).replace(microsecond=0)
            assert moment.utcoffset() == moment.astimezone(ZoneInfo("Europe/Amsterdam")).utcoffset()
            assert line[5] == "" and line[6] == "1"
        filtered = spreadsheet(
            await lotte.get(f"/conferences/{cid}/access.csv?document=information")
        )
        assert [line[1] for line in filtered[1:]] == [ayse, ayse]


async def test_a_name_that_looks_like_a_formula_is_text_in_the_csv(live_server: LiveServer) -> None:
    conference = await demo_conference(live_server, "information")
    async with as_(conference, conference.coordinator_cookie()) as lotte:
        for name in FORMULAS:
            added = await lotte.post(
                f"/conferences/{conference.id}/participants",
                data={"name": name, "role": "network_member", "email": ""},
            )
            found = LINK.search(added.text)
            assert added.status_code == 200 and found, added.text
            async with as_(conference, await open_link(conference, html.unescape(found[2]))) as d:
                assert (await d.get(f"/c/{conference.id}/plan")).status_code == 200
        page = await report_page(lotte, conference)
        sheet = spreadsheet(await lotte.get(f"/conferences/{conference.id}/access.csv"))
    # The page shows the names as typed; the spreadsheet gets them as text, never a formula.
    assert [row[1] for row in table(page)] == FORMULAS[::-1]
    assert [line[1] for line in sheet[1:]] == ["'" + name for name in FORMULAS[::-1]]
    assert not any(cell.startswith(("=", "+", "-", "@")) for line in sheet for cell in line)


async def test_a_query_the_report_cannot_answer_is_refused_with_a_reason(
    live_server: LiveServer,
) -> None:
    other = await demo_conference(live_server, "information")
    conference = await demo_conference(live_server, "information")  # the demo's login is its
    (stranger,) = (await ids_by_role(other, "client")).values()
    base = f"/conferences/{conference.id}/access"
    wrong = {
        f"?person=participant:{stranger}": "hoort niet bij deze conferentie",
        "?person=participant:99999999999999999999": "hoort niet bij deze conferentie",
        "?person=iedereen": "hoort niet bij deze conferentie",
        "?document=dossier": "staat niet in de lijst",
        "?document=plan%00": "",  # a control character: refused before the report is read
        "?page=0": "heel getal vanaf 1",
        "?page=-1": "heel getal vanaf 1",
        "?page=twee": "heel getal vanaf 1",
        "?page=%C2%B2": "heel getal vanaf 1",  # "²", which str.isdigit would take
        "?page=2": "er is 1 pagina",
    }
    async with as_(conference, conference.coordinator_cookie()) as lotte:
        for query, reason in wrong.items():
            for path in (base, base + ".csv"):
                if path.endswith(".csv") and query == "?page=2":
                    continue  # the CSV has every row: a page past the end changes nothing
                refused = await lotte.get(path + query)
                assert refused.status_code == 400, (path, query)
                assert reason in html.unescape(refused.text), (path, query)
        # Empty choices are "everyone" and "all documents", as the form sends them.
        assert "Niets gevonden." in await report_page(lotte, conference, "?person=&document=")


async def test_in_private_time_the_report_hides_who_of_the_family_did_what(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    cid = conference.id
    client = (await ids_by_role(conference, "client"))["client"]
    sam = conference.person("client")["name"]
    cookie = conference.cookie("client")
    async with as_(conference, cookie) as device:
        assert (await device.get(f"/c/{cid}/compass/map")).status_code == 200
    assert (await move(conference, "private_time")).status_code == 200
    async with as_(conference, cookie) as device:
        assert (await device.get(f"/c/{cid}/plan")).status_code == 200
    async with as_(conference, conference.coordinator_cookie()) as lotte:
        rows = table(await report_page(lotte, conference))
        assert [row[1:5] for row in rows] == [
            ["Iemand van de familie of het netwerk", "", "", "Niet te zien tijdens de privétijd"],
            [sam, "Cliënt (centrale persoon)", "bekeek", "De netwerkkaart"],
        ]
        # No filter finds the hidden row: not by person, not by document.
        mine = table(await report_page(lotte, conference, f"?person=participant:{client}"))
        assert [row[4] for row in mine] == ["De netwerkkaart"]
        plan = table(await report_page(lotte, conference, "?document=plan"))
        assert plan == [["Niets gevonden."]]
        sheet = spreadsheet(await lotte.get(f"/conferences/{cid}/access.csv"))
        assert sam not in sheet[1] and "De pagina van het plan" not in str(sheet)
