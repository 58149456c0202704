"""The outcomes of plans and the marks people give: the rating forms at the presentation and at
follow-up meetings, and the dashboard's figures, computed on a real `kring serve` from a seeded
data set whose answers were worked out by hand beforehand. (The rules themselves, on plain
values: tests/rules/test_outcomes.py.)"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from server import i18n
from server.clock import time_zone
from server.conference.heavy import WORKER_NICENESS
from server.rules import outcomes
from server.storage.models import PlanVersion
from server.storage.store import Store
from server.views import dashboard
from tests.support.browser import TIMEOUT_MS
from tests.support.databases import (
    POSTGRES_ADMIN_URL,
    add_coordinator,
    create_postgres_database,
    drop_postgres_database,
)
from tests.support.meeting import move, run_to_action_team
from tests.support.people import as_, demo_conference, server_store
from tests.support.plans import agreement
from tests.support.processes import is_descendant, niceness_of
from tests.support.server import LiveServer, make_instance, missing_service, serving

PASSWORD = "correct horse battery"
NOW = datetime.now(UTC)

pytestmark = pytest.mark.usefixtures("devices_closed")


# -- the rating forms on a real server ------------------------------------------------------------


async def _ratings(conference: Any) -> list[tuple[int, int, int]]:
    async with server_store(conference) as store:
        return [
            (r.occasion, r.meeting_score, r.plan_score) for r in await store.ratings(conference.id)
        ]


async def test_participants_mark_the_conference_and_the_plan_and_bad_marks_change_nothing(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "private_time")
    cid = conference.id
    async with (
        as_(conference, conference.cookie("client")) as sam,
        as_(conference, conference.cookie("professional")) as iris,
        as_(conference, conference.coordinator_cookie()) as coordinator,
    ):
        early = await sam.post(f"/c/{cid}/rating", data={"meeting": "8", "plan": "9"})
        assert early.status_code == 409 and "bij de presentatie" in early.text
        await sam.post(f"/c/{cid}/signal", data={"kind": "plan_ready", "confirmed": "yes"})
        assert (await move(conference, "presentation")).status_code == 200

        page = await sam.get(f"/c/{cid}")
        assert "Wat vond je ervan?" in page.text and 'name="meeting" value="10"' in page.text
        bad_marks = [("0", "8"), ("11", "8"), ("7", "acht"), ("7", ""), ("7.5", "8"), ("٧", "8")]
        for meeting, plan in bad_marks:  # out of range, words, missing, fractions, other digits
            bad = {"meeting": meeting, "plan": plan}
            refused = await sam.post(f"/c/{cid}/rating", data=bad)
            assert refused.status_code == 400, bad
            assert "Een cijfer is een heel getal van 1 tot en met 10." in refused.text
        by_coordinator = await coordinator.post(
            f"/c/{cid}/rating", data={"meeting": "8", "plan": "8"}
        )
        assert by_coordinator.status_code == 403
        # There is no follow-up meeting 0: its form is no back door to the conference's mark.
        meeting_zero = await sam.post(
            f"/c/{cid}/follow-ups/0/rating", data={"meeting": "8", "plan": "8"}
        )
        assert meeting_zero.status_code == 404
        assert "Deze bijeenkomst bestaat niet." in meeting_zero.text
        assert await _ratings(conference) == []

        assert (
            await sam.post(f"/c/{cid}/rating", data={"meeting": "8", "plan": "9"})
        ).status_code == 303
        assert (
            await iris.post(f"/c/{cid}/rating", data={"meeting": "6", "plan": "7"})
        ).status_code == 303
        # Marking again replaces one's own marks.
        again = await sam.post(f"/c/{cid}/rating", data={"meeting": "9", "plan": "9"})
        assert again.status_code == 303
        assert sorted(await _ratings(conference)) == [(0, 6, 7), (0, 9, 9)]
        console = await coordinator.get(f"/conferences/{cid}/console")
        assert "2 mensen gaven de conferentie en het plan een cijfer" in console.text
        page = await sam.get(f"/c/{cid}")
        assert "Jouw cijfers: 9 voor de conferentie, 9 voor het plan." in page.text


async def test_someone_at_a_follow_up_marks_that_meeting(live_server: LiveServer) -> None:
    conference = await demo_conference(live_server, "information")
    cid = conference.id
    await run_to_action_team(conference)
    async with (
        as_(conference, conference.cookie("network_member")) as ayse,
        as_(conference, conference.cookie("client")) as sam,
    ):
        missing = await sam.post(
            f"/c/{cid}/follow-ups/1/rating", data={"meeting": "7", "plan": "8"}
        )
        assert missing.status_code == 404
        presentation = await sam.post(f"/c/{cid}/rating", data={"meeting": "7", "plan": "8"})
        assert presentation.status_code == 409
        assert (await ayse.post(f"/c/{cid}/follow-ups")).status_code == 303
        page = await sam.get(f"/c/{cid}/follow-ups/1")
        assert "Geef deze bijeenkomst en het plan een cijfer." in page.text
        rated = await sam.post(f"/c/{cid}/follow-ups/1/rating", data={"meeting": "7", "plan": "8"})
        assert rated.status_code == 303 and rated.headers["location"] == f"/c/{cid}/follow-ups/1"
        bad = await sam.post(f"/c/{cid}/follow-ups/1/rating", data={"meeting": "7", "plan": "-1"})
        assert bad.status_code == 400 and "1 tot en met 10" in bad.text
        assert await _ratings(conference) == [(1, 7, 8)]
        page = await sam.get(f"/c/{cid}/follow-ups/1")
        assert "Jouw cijfers: 7 voor de bijeenkomst, 8 voor het plan." in page.text


# -- the dashboard, from a seeded data set --------------------------------------------------------


async def _seed_conference(
    store: Store,
    owner: Any,
    client: str,
    people: int,
    versions: list[tuple[int, list[dict[str, Any]]]],
    marks: Sequence[tuple[int, int, int]] = (),
) -> str:
    """A conference with ``people`` participants (besides the coordinator), its versions as
    (days ago, agreements) and marks as (occasion, meeting, plan), one person each."""
    conference = await store.create_conference(owner, client, f"Hoe verder met {client}?")
    ids = [
        (await store.add_participant(conference.id, f"{client} {i}", "network_member")).id
        for i in range(people)
    ]
    if versions:
        await store.set_phase(conference.id, "presentation")
        for number, (ago, agreements) in enumerate(versions, start=1):
            await store.add_plan_version(
                conference.id, number, b"\x00\x00", {"agreements": agreements}, "test"
            )
            async with store.engine.begin() as db:
                await db.execute(
                    update(PlanVersion)
                    .where(PlanVersion.conference_id == conference.id, PlanVersion.number == number)
                    .values(created_at=NOW - timedelta(days=ago))
                )
        await store.set_phase(conference.id, "action_team")
    for index, (occasion, meeting, plan) in enumerate(marks):
        await store.set_rating(conference.id, ids[index], occasion, meeting, plan)
    return conference.id


async def test_the_store_reads_only_the_versions_the_outcomes_need(store: Store) -> None:
    """On SQLite and PostgreSQL: version 1 and the last one within three months, of every
    conference the coordinator runs, and nothing of anyone else's."""
    a = agreement
    owner, other = await add_coordinator(store), await add_coordinator(store)
    statuses = [(120, "open"), (80, "on_track"), (60, "done"), (10, "stopped")]
    versions = [(ago, [a("1", "housing", status)]) for ago, status in statuses]
    busy = await _seed_conference(store, owner, "Eva Vaak", 2, versions, [(0, 8, 8)])
    quiet = await _seed_conference(store, owner, "Fien Stil", 1, [])
    await _seed_conference(store, other, "Gijs Ander", 1, versions)
    facts = {f.conference_id: f for f in await store.outcome_facts(owner)}
    assert set(facts) == {busy, quiet}
    assert sorted(v.number for v in facts[busy].versions) == [1, 3]
    assert facts[busy].ratings == outcomes.ratings_of([outcomes.Marks(0, 8, 8)])
    assert facts[quiet].versions == [] and facts[quiet].ratings == outcomes.Ratings()
    outcome = outcomes.conference_outcome(facts[busy], NOW.date(), time_zone())
    assert (outcome.participants, outcome.done_in_three_months) == (2, 1)


async def test_the_store_reads_an_organisation_in_parts_and_gets_the_same_facts(
    store: Store,
) -> None:
    """The dashboard's reads go in parts (so the event loop serves others meanwhile): read two
    rows at a time, seven conferences give exactly what one read of everything gives."""
    a = agreement
    owner = await add_coordinator(store)
    for n in range(7):
        versions = [(100 - 40 * k, [a("1", "housing", "done" if k else "open")])
                    for k in range(n % 3 + 1)]  # fmt: skip
        await _seed_conference(store, owner, f"Cliënt {n}", n % 2 + 1, versions, [(0, 7, n + 1)])
    whole = await store.outcome_facts(owner)
    assert len(whole) == 7
    assert await store.outcome_facts(owner, part=2) == whole
    assert sorted(len(f.versions) for f in whole) == [1, 1, 1, 2, 2, 2, 2]


def _figures(page: str) -> dict[str, tuple[str, str]]:
    """The totals table: figure -> (Kring, research)."""
    rows = re.findall(
        r'<tr><th scope="row">([^<]+)</th><td>([^<]*)</td><td>([^<]*)</td></tr>', page
    )
    return {html.unescape(label): (ours, ref) for label, ours, ref in rows}


async def _outcomes_page(
    server: LiveServer, email: str, language: str | None = None
) -> httpx.Response:
    """The dashboard as this coordinator sees it after logging in (and choosing
    ``language`` with the header's button, if given)."""
    async with httpx.AsyncClient(
        base_url=server.url, headers={"origin": server.url}, timeout=30
    ) as browser:
        login = await browser.post("/login", data={"email": email, "password": PASSWORD})
        assert login.status_code == 303, login.text
        if language is not None:
            chosen = await browser.post("/language", data={"language": language, "next": "/"})
            assert chosen.status_code == 303, chosen.text
        return await browser.get("/outcomes")


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server of its own: the organisation's figures count every conference in it."""
    with serving(make_instance(tmp_path)) as server:
        yield server


async def test_the_dashboard_shows_figures_worked_out_by_hand(own_server: LiveServer) -> None:
    a = agreement
    live_server = own_server
    store = Store.connect(live_server.instance.database_url)
    try:
        anna, bert = await add_coordinator(store), await add_coordinator(store)
        admin = await add_coordinator(store, role="admin")
        # Anna's first: agreed 120 days ago; 3 of 4 agreements by the network; two done at
        # the follow-up 60 days later, the fourth only after three months.
        first = [a("1", "housing"), a("2", "housing", request_to="7"), a("3", "children"),
                 a("4", "health")]  # fmt: skip
        at_two_months = [a("1", "housing", "done"), a("2", "housing", "on_track"),
                         a("3", "children", "done"), a("4", "health")]  # fmt: skip
        later = [a("1", "housing", "done"), a("2", "housing", "done"),
                 a("3", "children", "done"), a("4", "health", "done")]  # fmt: skip
        await _seed_conference(
            store, anna, "Anna Oud", 5, [(120, first), (60, at_two_months), (20, later)],
            [(0, 8, 9), (0, 7, 8), (0, 9, 7), (1, 4, 4), (1, 5, 5)],
        )  # fmt: skip
        # Anna's second: agreed 10 days ago, two requests in one life area, one mark.
        await _seed_conference(
            store, anna, "Bram Nieuw", 6,
            [(10, [a("1", "finances", request="Schuldhulp"), a("2", "finances", request_to="3")])],
            [(0, 6, 4)],
        )  # fmt: skip
        # Anna's third: still in preparation, nothing agreed.
        await _seed_conference(store, anna, "Chris Later", 3, [])
        # Bert's: agreed 200 days ago, 3 network agreements in 2 areas, 2 done at 80 days.
        await _seed_conference(
            store, bert, "Dana Eigen", 4,
            [(200, [a("1", "safety"), a("2", "leisure"), a("3", "safety")]),
             (120, [a("1", "safety", "done"), a("2", "leisure", "done"), a("3", "safety")])],
            [(0, 7, 9), (0, 7, 9), (0, 7, 9)],
        )  # fmt: skip
    finally:
        await store.close()

    # Worked out by hand from the data above (see server/rules/outcomes.py for the definitions).
    expected = {
        anna.email: {
            "Deelnemers per conferentie": "5,5",  # (5 + 6) / 2 agreed plans
            "Afspraken per plan": "3,0",  # (4 + 2) / 2
            "Leefgebieden per plan": "2,0",  # (3 + 1) / 2
            "Plannen met eigen kracht van het netwerk": "50%",  # 1 of 2
            "Afspraken gedragen door het eigen netwerk": "50%",  # 3 of 6
            "Afspraken die een vraag aan een professional zijn": "50%",  # 3 of 6
            "Afspraken gedaan binnen drie maanden": "50%",  # 2 of 4 (only Anna Oud is old enough)
            "Cijfer voor de conferentie": "7,5",  # (8 + 7 + 9 + 6) / 4
            "Cijfer voor het plan, bij de presentatie": "7,0",  # (9 + 8 + 7 + 4) / 4
            "Cijfer voor de bijeenkomsten van het actieteam": "—",  # only 2 marks
        },
        bert.email: {
            "Deelnemers per conferentie": "4,0",
            "Afspraken per plan": "3,0",
            "Leefgebieden per plan": "2,0",
            "Plannen met eigen kracht van het netwerk": "100%",
            "Afspraken die een vraag aan een professional zijn": "0%",
            "Afspraken gedaan binnen drie maanden": "67%",  # 2 of 3
            "Cijfer voor de conferentie": "7,0",
            "Cijfer voor het plan, bij de presentatie": "9,0",
        },
        admin.email: {  # the whole organisation: 4 conferences, 3 agreed, 2 old enough
            "Deelnemers per conferentie": "5,0",  # (5 + 6 + 4) / 3
            "Afspraken per plan": "3,0",  # (4 + 2 + 3) / 3
            "Leefgebieden per plan": "2,0",  # (3 + 1 + 2) / 3
            "Plannen met eigen kracht van het netwerk": "67%",  # 2 of 3
            "Afspraken gedragen door het eigen netwerk": "67%",  # 6 of 9
            "Afspraken die een vraag aan een professional zijn": "33%",  # 3 of 9
            "Afspraken gedaan binnen drie maanden": "57%",  # (2 + 2) of (4 + 3)
            "Cijfer voor de conferentie": "7,3",  # 51 / 7
            "Cijfer voor het plan, bij de presentatie": "7,9",  # 55 / 7
            "Cijfer voor de bijeenkomsten van het actieteam": "—",
        },
    }
    for email, figures in expected.items():
        page = await _outcomes_page(live_server, email)
        assert page.status_code == 200
        shown = _figures(page.text)
        for label, value in figures.items():
            assert shown[label][0] == value, (email, label, shown[label])
        assert shown["Afspraken gedaan binnen drie maanden"][1] == "55%"  # the research
        assert shown["Cijfer voor het plan, bij de presentatie"][1] == "7,9"
        if email == anna.email:
            assert "Anna Oud" in page.text and "Dana Eigen" not in page.text
            assert "nog geen 3 maanden" in page.text  # Bram Nieuw
            assert "nog geen vastgesteld plan" in page.text  # Chris Later
            assert "2 van de 3 conferenties hebben een vastgesteld plan" in page.text
            assert '<svg class="chart"' in page.text
        if email == bert.email:
            assert "Dana Eigen" in page.text and "Anna Oud" not in page.text
        if email == admin.email:
            assert "De hele organisatie" in page.text
            assert "Anna Oud" in page.text and "Dana Eigen" in page.text


async def test_the_dashboard_needs_a_login(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as anonymous:
        page = await anonymous.get("/outcomes")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


@pytest.fixture(scope="module")
def telling_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of its own whose log says (at debug level) which process made each page."""
    folder = tmp_path_factory.mktemp("outcomes")
    with serving(make_instance(folder, KRING_LOG_LEVEL="debug")) as server:
        yield server


async def test_the_table_of_every_conference_is_made_in_a_worker_process_of_the_server(
    telling_server: LiveServer,
) -> None:
    """A whole organisation's table is counted and written away from the live rooms' process,
    in a worker process of the heavy work that the server started (and keeps for a while),
    which gives way to the server when both want the CPU."""
    store = Store.connect(telling_server.instance.database_url)
    try:
        coordinator = await add_coordinator(store)
        await _seed_conference(store, coordinator, "Wim Werk", 2, [(5, [agreement("1", "work")])])
    finally:
        await store.close()
    log = telling_server.instance.folder / "server.log"
    mark = log.stat().st_size
    page = await _outcomes_page(telling_server, coordinator.email)
    assert page.status_code == 200 and "Wim Werk" in page.text
    made = re.findall(
        rf"outcomes page of account {coordinator.id} made in process (\d+)",
        log.read_bytes()[mark:].decode(errors="replace"),
    )
    assert len(made) == 1, made
    server = telling_server.process.pid
    assert int(made[0]) != server
    assert is_descendant(int(made[0]), server)
    assert niceness_of(int(made[0])) == min(19, niceness_of(server) + WORKER_NICENESS)


async def test_the_table_shows_a_name_with_markup_as_text_in_the_readers_language(
    telling_server: LiveServer,
) -> None:
    """Client names are typed by people: the table made in the worker escapes them as every
    page does, and is written in the language the coordinator chose (English here), figures
    too."""
    name = '<script>alert("Kring")</script> & Zoë'
    store = Store.connect(telling_server.instance.database_url)
    try:
        coordinator = await add_coordinator(store)
        marks = [(0, 8, 7), (0, 7, 7), (0, 8, 8)]  # the conference 23 / 3, the plan 22 / 3
        await _seed_conference(store, coordinator, name, 3, [(5, [agreement("1", "work")])], marks)
        await _seed_conference(store, coordinator, "Lot Later", 1, [])
    finally:
        await store.close()
    page = await _outcomes_page(telling_server, coordinator.email, language="en")
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    cells = re.findall(r'<th scope="row"><a href="/conferences/[^"]+">([^<]*)</a></th>', page.text)
    assert sorted(html.unescape(cell) for cell in cells) == sorted([name, "Lot Later"])
    assert "&lt;script&gt;alert(&#34;Kring&#34;)&lt;/script&gt; &amp; Zoë" in page.text
    assert "Per conference" in page.text and "Per conferentie" not in page.text
    assert "not 3 months yet" in page.text  # the first plan, agreed five days ago
    assert "no agreed plan yet" in page.text  # Lot Later
    assert "<td>7.7</td><td>7.3</td>" in page.text  # the marks, written the English way
    assert '<span class="phase-badge phase-action_team">Action team</span>' in page.text


@pytest.mark.postgres
async def test_when_the_database_cannot_be_read_the_outcomes_page_says_to_try_again(
    tmp_path: Path,
) -> None:
    """The worker process that counts the outcomes opens a connection of its own: when
    PostgreSQL refuses it (no connections allowed, all of them in use), the coordinator is told
    in words to try again shortly, not given an internal server error."""
    import asyncpg

    made = await create_postgres_database()
    if made is None:
        missing_service("PostgreSQL", f"start it on {POSTGRES_ADMIN_URL} (trust auth)")
    assert made is not None
    name, url = made
    try:
        with serving(make_instance(tmp_path, KRING_DATABASE_URL=url)) as server:
            conference = await demo_conference(server, "action_team")
            async with as_(conference, conference.coordinator_cookie()) as coordinator:
                assert (await coordinator.get("/outcomes")).status_code == 200
                admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
                try:  # the server keeps the connections it has; no new one is let in
                    await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                    refused = await coordinator.get("/outcomes")
                finally:
                    await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
                    await admin.close()
                assert refused.status_code == 503, refused.text
                assert "De gegevens kunnen nu niet gelezen worden." in refused.text
                assert (await coordinator.get("/outcomes")).status_code == 200
    finally:
        await drop_postgres_database(name)


@pytest.mark.parametrize(
    ("language", "value", "percent", "shown"),
    [("nl", 7.25, False, "7,3"), ("en", 7.25, False, "7.3"), ("nl", 0.625, True, "63%"),
     ("nl", 2 / 3, True, "67%"), ("en", None, False, "—")],
)  # fmt: skip
def test_figures_are_written_as_people_read_them_in_their_language(
    language: str, value: float | None, percent: bool, shown: str
) -> None:
    with i18n.using(language):
        assert dashboard.figure(value, percent) == shown


@pytest.mark.browser
def test_on_a_phone_marks_are_two_taps_and_a_button(live_server: LiveServer, browser: Any) -> None:
    presenting = live_server.instance.demo("--phase", "presentation")
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    phone = context.new_page()
    phone.goto(presenting["participants"][0]["invitation_url"])
    phone.get_by_role("button", name="Ja, dat ben ik: verder").click()
    # The number is one tap target: the (transparent) radio covers it, as a finger finds it.
    phone.get_by_role("group", name="De conferentie").get_by_role("radio", name="8").tap()
    phone.get_by_role("group", name="Het plan").get_by_role("radio", name="9").tap()
    phone.get_by_role("button", name="Cijfers geven").tap()
    phone.get_by_text("Jouw cijfers: 8 voor de conferentie, 9 voor het plan.").wait_for()
    # The marks stay chosen on the page, to be changed with one more tap.
    assert phone.get_by_role("radio", name="8").first.is_checked()
    context.close()
