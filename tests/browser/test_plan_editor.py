"""The family's plan editor in a real Chromium, against a real `kring serve`: tablets co-edit
agreements, one goes offline and comes back, the coordinator is locked out and then reads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import zip_longest
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.storage.store import Store
from tests.support.browser import (
    PHONE,
    TABLET,
    TIMEOUT_MS,
    add_agreement,
    expect_text,
    open_plan,
    plan_json,
    serious_accessibility_problems,
    shown_text,
)
from tests.support.databases import in_store
from tests.support.server import LiveServer, make_instance, start_again, start_server, stop_server

pytestmark = pytest.mark.browser


def status(page: Any) -> Any:
    return page.locator("[data-sync-status]")


def field(page: Any, card: Any, name: str) -> Any:
    return card.locator(f".field-{name} .cm-content").first


def unfold(card: Any) -> Any:
    """Open the rest of an agreement (it starts as what, who and when); the card again."""
    toggle = card.locator(".more-toggle")
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    return card


@pytest.fixture
def family(live_server: LiveServer) -> Iterator[dict[str, Any]]:
    yield live_server.instance.demo("--phase", "private_time")


def test_three_tablets_co_edit_the_plan_and_end_with_the_same_plan(
    live_server: LiveServer, browser: Any, family: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    people = [p for p in family["participants"] if p["role"] in ("client", "network_member")][:3]
    sam, ayse, mehmet = (open_plan(browser, live_server.url, person) for person in people)
    for page in (sam, ayse, mehmet):
        expect(status(page)).to_have_attribute("data-state", "saved")

    # A "what" is required and a long one is refused inline, keeping what was typed.
    sam.get_by_role("button", name="Afspraak toevoegen").click()
    expect(sam.locator("#new-what-error")).to_have_text("Zeg wat er gaat gebeuren.")
    sam.fill("#new-what", "x" * 501)
    sam.get_by_role("button", name="Afspraak toevoegen").click()
    expect(sam.locator("#new-what-error")).to_contain_text("Te lang: 501 van de 500 tekens")
    expect(sam.locator("#new-what")).to_have_value("x" * 501)

    add_agreement(sam, "housing", "Samen koken op zondag")
    for page in (sam, ayse, mehmet):
        expect(page.locator("[data-agreement]")).to_have_count(1)
        expect(page.locator('[data-area="housing"] h3')).to_have_text("Wonen & dagelijks leven")

    # All three type into the same agreement at once, two of them into the same field.
    sam_what = field(sam, sam.locator("[data-agreement]"), "what")
    ayse_what = field(ayse, ayse.locator("[data-agreement]"), "what")
    sam_what.click()
    sam.keyboard.press("End")
    ayse_what.click()
    ayse.keyboard.press("Home")
    field(mehmet, unfold(mehmet.locator("[data-agreement]")), "where").click()
    for sams, ayses, mehmets in zip_longest(" met oma", "Elke ", "Bij oma thuis", fillvalue=""):
        sam.keyboard.type(sams)
        ayse.keyboard.type(ayses)
        mehmet.keyboard.type(mehmets)
    # Each sees who else is working on it, by name on the field (presence comes with the
    # content, not instead).
    expect(sam.locator("[data-agreement] .field-what .typing-tag")).to_contain_text("Ayşe Yılmaz")
    expect(sam.locator("[data-agreement] .field-where .typing-tag")).to_contain_text("Mehmet")
    # And they add agreements at the same moment.
    add_agreement(ayse, "children", "Sam naar voetbal brengen")
    add_agreement(mehmet, "safety", "Bellen als het thuis misgaat")

    for page in (sam, ayse, mehmet):
        expect(page.locator("[data-agreement]")).to_have_count(3)
        expect(status(page)).to_have_attribute("data-state", "saved")
    housing = mehmet.locator('[data-area="housing"] [data-agreement]')
    expect_text(field(mehmet, housing, "what"), "Elke Samen koken op zondag met oma")
    final = plan_json(sam)
    assert plan_json(ayse) == final and plan_json(mehmet) == final
    # The server has exactly that plan.
    cookie = sam.context.cookies()
    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        for c in cookie:
            client.cookies.set(c["name"], c["value"])
        stored = client.get(f"/api/conferences/{family['conference_id']}/plan").json()
    by_area = {a["life_area"]: a for a in stored["agreements"]}
    assert by_area["housing"]["what"] == "Elke Samen koken op zondag met oma"
    assert by_area["housing"]["where"] == "Bij oma thuis"
    assert set(by_area) == {"housing", "children", "safety"}

    # Who does it: people of the conference, chosen with a tap, seen by everyone.
    children = ayse.locator('[data-area="children"] [data-agreement]')
    children.get_by_role("button", name="Kies wie").click()
    children.get_by_role("button", name="Mehmet Yılmaz").click()
    expect(children.get_by_role("button", name="Mehmet Yılmaz")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(sam.locator('[data-area="children"] .chosen')).to_have_text("Mehmet Yılmaz")

    # Undo takes back one's own edits only; a removed agreement can be brought back.
    card = unfold(sam.locator('[data-area="safety"] [data-agreement]'))
    card.get_by_role("button", name="Verwijderen").click()
    expect(ayse.locator("[data-agreement]")).to_have_count(2)
    expect(ayse.locator("[data-removed] summary")).to_have_text("Verwijderde afspraken (1)")
    ayse.locator("[data-removed] summary").click()
    ayse.get_by_role("button", name="Terugzetten").click()
    expect(sam.locator("[data-agreement]")).to_have_count(3)
    housing_of = {p: p.locator('[data-area="housing"] [data-agreement]') for p in (sam, ayse)}
    field(sam, unfold(housing_of[sam]), "backup").click()
    sam.keyboard.type("Dan op maandag")
    expect_text(field(ayse, housing_of[ayse], "backup"), "Dan op maandag")
    sam.get_by_role("button", name="Ongedaan maken").click()
    expect_text(field(ayse, housing_of[ayse], "backup"), "")
    expect_text(field(ayse, housing_of[ayse], "what"), "Elke Samen koken op zondag met oma")
    sam.get_by_role("button", name="Opnieuw").click()
    expect_text(field(ayse, housing_of[ayse], "backup"), "Dan op maandag")

    assert serious_accessibility_problems(sam) == []
    for page in (sam, ayse, mehmet):
        page.context.close()


def test_what_others_do_never_takes_away_focus_undo_or_a_field(
    live_server: LiveServer, browser: Any, family: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    people = [p for p in family["participants"] if p["role"] == "network_member"][3:5]
    derya, elif_ = (open_plan(browser, live_server.url, person) for person in people)
    add_agreement(elif_, "safety", "Buren bellen bij lawaai")
    add_agreement(derya, "health", "Samen wandelen")
    for page in (derya, elif_):
        expect(page.locator("[data-agreement]")).to_have_count(2)

    # Derya is typing when Elif removes the only agreement of an earlier life area: her card
    # moves up the page, and her typing carries on in the same field.
    walk = field(derya, derya.locator('[data-area="health"] [data-agreement]'), "when")
    walk.click()
    derya.keyboard.type("Elke ")
    unfold(elif_.locator('[data-area="safety"] [data-agreement]'))
    elif_.locator('[data-area="safety"]').get_by_role("button", name="Verwijderen").click()
    expect(derya.locator('[data-area="safety"]')).to_have_count(0)
    derya.keyboard.type("zondag")
    health = elif_.locator('[data-area="health"] [data-agreement]')
    expect_text(field(elif_, health, "when"), "Elke zondag")

    # Undo takes back Derya's typing, but never the agreement Elif is now writing in.
    field(elif_, unfold(elif_.locator('[data-area="health"] [data-agreement]')), "where").click()
    elif_.keyboard.type("In het park")
    expect_text(field(derya, derya.locator("[data-agreement]"), "where"), "In het park")
    # One undo step per burst of typing: the pause while her card moved may have split her
    # typing into two, so she may need a second tap. No tap takes away Elif's words.
    when = field(derya, derya.locator("[data-agreement]"), "when")
    for _ in range(2):
        derya.get_by_role("button", name="Ongedaan maken").click()
        assert shown_text(when) in ("Elke ", "")
        assert shown_text(field(derya, derya.locator("[data-agreement]"), "where")) == "In het park"
        if shown_text(when) == "":
            break
    expect_text(field(elif_, elif_.locator("[data-agreement]"), "when"), "")
    # Adding the agreement was not hers to undo: nothing is left on her stack.
    expect(derya.get_by_role("button", name="Ongedaan maken")).to_be_disabled()
    expect(elif_.locator("[data-agreement]")).to_have_count(1)
    expect_text(field(elif_, elif_.locator("[data-agreement]"), "where"), "In het park")

    # A client that replaces a field's shared text: every tablet shows and edits the new one.
    elif_.evaluate(
        """() => { const Text = window.kringPlan.notes.constructor;
            window.kringPlan.agreements.get(1).set("backup", new Text("Dan thuis")); }"""
    )
    backup = field(derya, unfold(derya.locator("[data-agreement]")), "backup")
    expect_text(backup, "Dan thuis")
    backup.click()
    derya.keyboard.press("Control+End")
    derya.keyboard.type(" met koffie")
    expect_text(field(elif_, elif_.locator("[data-agreement]"), "backup"), "Dan thuis met koffie")
    for page in (derya, elif_):
        page.context.close()


def test_bad_input_is_said_next_to_the_field_in_the_persons_language_and_nothing_is_lost(
    live_server: LiveServer, browser: Any, family: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    page = open_plan(browser, live_server.url, family["participants"][3])
    add_agreement(page, "activity", "Naar de bibliotheek")
    card = page.locator("[data-agreement]")
    field(page, card, "what").click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text(" en" * 170)  # 19 + 510 characters: over the limit of 500
    error = card.locator(".field-what .field-error")
    expect(error).to_have_text("Te lang: 529 van de 500 tekens. Maak het wat korter.")
    expect(status(page)).to_have_attribute("data-state", "saved")  # kept, and on the server
    expect_text(field(page, card, "what"), "Naar de bibliotheek" + " en" * 170)
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    expect(error).to_have_text("Zeg wat er gaat gebeuren.")
    # A date that is not a date, as an older or foreign client might write it.
    page.evaluate("window.kringPlan.agreements.get(0).set('when_date', '2026-02-30')")
    expect(card.locator(".field-error").filter(has_text="Dit is geen datum")).to_have_count(1)

    page.get_by_role("button", name="English").click()  # remembered for this person
    page.wait_for_selector("[data-plan-editor][data-ready]")
    card = page.locator("[data-agreement]")
    expect(card.locator(".field-what .field-error")).to_have_text("Say what will happen.")
    expect(card.locator(".field-error").filter(has_text="This is not a date")).to_have_count(1)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.context.close()


def test_a_tablet_keeps_working_offline_reloads_and_merges_when_the_server_is_back(
    tmp_path: Path, browser: Any
) -> None:
    from playwright.sync_api import expect

    server = start_server(make_instance(tmp_path))
    try:
        demo = server.instance.demo("--phase", "private_time")
        people = [p for p in demo["participants"] if p["role"] in ("client", "network_member")]
        tablet = open_plan(browser, server.url, people[0])
        other = open_plan(browser, server.url, people[1])
        add_agreement(tablet, "leisure", "Zwemmen op woensdag")
        expect(other.locator("[data-agreement]")).to_have_count(1)
        expect(status(tablet)).to_have_attribute("data-state", "saved")
        expect(tablet.locator("html")).to_have_attribute("data-offline-ready", "true")

        stop_server(server)  # the venue's Wi-Fi is gone
        expect(status(tablet)).to_have_attribute("data-state", "offline")
        where = field(tablet, unfold(tablet.locator("[data-agreement]")), "where")
        where.click()
        tablet.keyboard.type("Zwembad De Kring")
        expect(status(tablet)).to_have_attribute("data-state", "offline-unsaved")
        tablet.evaluate("window.kringPlan.live.flushed()")

        tablet.reload()  # no server: the service worker answers, IndexedDB has the plan
        tablet.wait_for_selector("[data-plan-editor][data-ready]")
        expect_text(field(tablet, tablet.locator("[data-agreement]"), "where"), "Zwembad De Kring")
        expect(status(tablet)).to_have_attribute("data-state", "offline-unsaved")

        server = start_again(server)
        expect(status(tablet)).to_have_attribute("data-state", "saved", timeout=20_000)
        other_where = field(other, other.locator("[data-agreement]"), "where")
        expect_text(other_where, "Zwembad De Kring", timeout=20_000)
        other_cookie = {c["name"]: c["value"] for c in other.context.cookies()}
        with httpx.Client(base_url=server.url, cookies=other_cookie, timeout=10) as client:
            stored = client.get(f"/api/conferences/{demo['conference_id']}/plan").json()
        assert [a["where"] for a in stored["agreements"]] == ["Zwembad De Kring"]
        tablet.context.close()
        other.context.close()
    finally:
        stop_server(server)


def test_a_tablet_that_may_only_read_now_discards_its_offline_edits_and_shows_the_servers_plan(
    tmp_path: Path, browser: Any
) -> None:
    """Offline edits that arrive after the plan was closed are refused by the server; the
    tablet forgets them (they would otherwise come back on every reconnect) and shows what
    the server has, read-only."""
    from playwright.sync_api import expect

    server = start_server(make_instance(tmp_path))
    try:
        demo = server.instance.demo("--phase", "private_time")
        tablet = open_plan(browser, server.url, demo["participants"][0])
        add_agreement(tablet, "finances", "Samen de post openen")
        expect(status(tablet)).to_have_attribute("data-state", "saved")
        expect(tablet.locator("html")).to_have_attribute("data-offline-ready", "true")

        stop_server(server)
        field(tablet, unfold(tablet.locator("[data-agreement]")), "where").click()
        tablet.keyboard.type("Aan de keukentafel")
        expect(status(tablet)).to_have_attribute("data-state", "offline-unsaved")
        tablet.evaluate("window.kringPlan.live.flushed()")
        in_store(  # on a thread of its own: Playwright's loop runs in this one
            server.instance.database_url,
            lambda store: store.set_phase(demo["conference_id"], "closed"),
        )

        server = start_again(server)
        tablet.wait_for_url("**/plan", wait_until="load")
        expect(tablet.locator(".notice")).to_contain_text("Je kunt het plan nu lezen")
        expect(status(tablet)).to_have_text("Verbonden (alleen lezen)", timeout=20_000)
        card = tablet.locator("[data-agreement]")
        expect_text(field(tablet, card, "what"), "Samen de post openen")
        expect_text(field(tablet, card, "where"), "")
        local = tablet.evaluate("window.kringPlan.live.doc.getArray('agreements').toJSON()")
        assert [a["where"] for a in local] == [""]
        tablet.context.close()
    finally:
        stop_server(server)


def test_the_coordinator_is_locked_out_in_private_time_and_reads_along_at_the_presentation(
    live_server: LiveServer, browser: Any, family: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    conference = family["conference_id"]
    sam = open_plan(browser, live_server.url, family["participants"][0])
    add_agreement(sam, "health", "Naar de huisarts met Ayşe")
    expect(status(sam)).to_have_attribute("data-state", "saved")

    context = browser.new_context(**TABLET)
    context.set_default_timeout(TIMEOUT_MS)
    coordinator = context.new_page()
    coordinator.goto(f"{live_server.url}/login")
    coordinator.get_by_label("E-mailadres").fill(family["coordinator"]["email"])
    coordinator.get_by_label("Wachtwoord").fill(family["coordinator"]["password"])
    coordinator.get_by_role("button", name="Inloggen").click()
    response = coordinator.goto(f"{live_server.url}/c/{conference}/plan")
    assert response is not None and response.status == 403
    expect(coordinator.get_by_role("heading", level=1)).to_have_text("De familie maakt nu het plan")
    expect(coordinator.locator("body")).not_to_contain_text("huisarts")

    # The family says the plan is ready; the coordinator moves on to the presentation.
    post = """([url, body]) => fetch(url, {method: "POST", body: JSON.stringify(body),
                  headers: {"content-type": "application/json"}}).then((r) => r.status)"""
    signals = f"/api/conferences/{conference}/signals"
    signalled = sam.evaluate(post, [signals, {"kind": "plan_ready"}])
    assert signalled in (200, 201, 202)
    moved = coordinator.evaluate(
        post, [f"/api/conferences/{conference}/phase", {"phase": "presentation"}]
    )
    assert moved == 200
    coordinator.goto(f"{live_server.url}/c/{conference}/plan")
    coordinator.wait_for_selector("[data-plan-editor][data-ready]")
    what = field(coordinator, coordinator.locator("[data-agreement]"), "what")
    expect_text(what, "Naar de huisarts met Ayşe")
    expect(what).to_have_attribute("contenteditable", "false")
    expect(coordinator.get_by_role("button", name="Afspraak toevoegen")).to_have_count(0)
    expect(coordinator.locator("[data-agreement] select").first).to_be_disabled()
    expect(status(coordinator)).to_have_text("Verbonden (alleen lezen)")
    # It is live: the family's words arrive without a reload.
    sam_what = field(sam, sam.locator("[data-agreement]"), "what")
    sam_what.click()
    sam.keyboard.press("End")
    sam.keyboard.type(" op maandag")
    expect_text(what, "Naar de huisarts met Ayşe op maandag")
    assert serious_accessibility_problems(coordinator) == []
    context.close()
    sam.context.close()


SMALL_PHONE = {**PHONE, "viewport": {"width": 360, "height": 780}, "is_mobile": True}


def _set_condition(store: Store, conference: str, text: str) -> Any:
    async def work() -> None:
        rows = await store.participants(conference)
        sanne = next(r.participant for r in rows if r.participant.role == "mandated_professional")
        await store.add_condition(conference, sanne.id, text)

    return work()


def _to_the_action_team(store: Store, conference: str) -> Any:
    """Version 1 agreed with the client in the action team, straight in the store."""

    async def work() -> None:
        rows = await store.participants(conference)
        client = next(r.participant for r in rows if r.participant.role == "client")
        await store.set_phase(conference, "presentation")
        await store.set_action_team(conference, {client.id})
        await store.add_plan_version(conference, 1, b"", {}, "test")
        await store.set_phase(conference, "action_team")

    return work()


def test_on_a_phone_the_plan_fits_folds_and_has_the_conditions_one_tap_away(
    live_server: LiveServer, browser: Any, family: dict[str, Any]
) -> None:
    """360 px wide, four people in: one line of bar, no sideways scrolling, agreements folded
    to what, who and when; status and progress only at the follow-ups, where a failed
    agreement's backup becomes a new agreement linked to it."""
    from playwright.sync_api import expect

    conference = family["conference_id"]
    url = live_server.instance.database_url
    in_store(url, lambda store: _set_condition(store, conference, "Sam slaapt elke nacht thuis."))
    people = [p for p in family["participants"] if p["role"] in ("client", "network_member")]
    phone = open_plan(browser, live_server.url, people[0], **SMALL_PHONE)
    others = [open_plan(browser, live_server.url, person) for person in people[1:4]]
    for area, what in (
        ("safety", "Als het thuis misgaat, belt Sam oma Ayşe, ook midden in de nacht"),
        ("housing", "Samen koken op zondag"),
        ("children", "Mehmet brengt Sam op woensdag naar voetbal"),
        ("relations", "Een keer per maand op bezoek bij de buren"),
    ):
        add_agreement(phone, area, what)
    expect(phone.locator("[data-agreement]")).to_have_count(4)
    expect(status(phone)).to_have_attribute("data-state", "saved")
    expect(phone.locator("[data-presence-count]")).to_have_text("4")

    def fits() -> None:
        width = phone.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert width[0] <= width[1], f"the page scrolls sideways: {width}"

    fits()
    bar = phone.locator(".plan-bar").bounding_box()
    assert bar is not None and bar["height"] < 64, bar
    undo = phone.get_by_role("button", name="Ongedaan maken").bounding_box()
    assert undo is not None and undo["y"] - bar["y"] < 12, "undo sits in the bar's one line"

    # Who is here: a count that opens to the names.
    phone.get_by_role("button", name="4 mensen hier").click()
    names = phone.locator("[data-presence-list]")
    expect(names).to_be_visible()
    expect(names).to_contain_text("Sam Yılmaz (jij)")
    expect(names).to_contain_text("Ayşe Yılmaz")
    phone.keyboard.press("Escape")
    expect(names).to_be_hidden()

    # An agreement shows what, who and when; the rest unfolds. No status yet.
    card = phone.locator('[data-area="children"] [data-agreement]')
    for shown in ("what", "who-group", "when"):
        expect(card.locator(f".field-{shown}").first).to_be_visible()
    for folded in ("where", "backup", "request"):
        expect(card.locator(f".field-{folded}")).to_be_hidden()
    expect(phone.locator(".field-status, .field-progress, .use-backup")).to_have_count(0)
    more = card.get_by_role("button", name="Meer")
    expect(more).to_have_attribute("aria-expanded", "false")
    more.click()
    expect(more).to_have_attribute("aria-expanded", "true")
    expect(card.locator(".field-where")).to_be_visible()
    expect(card.locator(".field-life_area select")).to_be_visible()
    fits()

    # The conditions one tap away, read-only, while the plan stays open.
    info = phone.get_by_role("button", name="Informatie en voorwaarden")
    info.click()
    sheet = phone.get_by_role("complementary", name="Informatie en voorwaarden")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text("Sam slaapt elke nacht thuis.")
    expect(sheet).to_contain_text("gesteld door Sanne Smit")
    expect(sheet.locator("input, textarea, select, [contenteditable='true']")).to_have_count(0)
    fits()
    assert serious_accessibility_problems(phone) == []
    sheet.get_by_role("button", name="Sluiten").click()
    expect(sheet).to_be_hidden()
    expect(info).to_be_focused()
    for page in others:
        page.context.close()

    # A follow-up: status and progress appear; "not working" offers the backup.
    in_store(url, lambda store: _to_the_action_team(store, conference))
    phone.reload()
    phone.wait_for_selector("[data-plan-editor][data-ready]")
    football = phone.locator('[data-area="children"] [data-agreement]').get_attribute(
        "data-agreement"
    )
    card = phone.locator(f'[data-agreement="{football}"]')
    expect(card.locator(".field-status select")).to_be_visible()
    unfold(card)
    expect(card.locator(".field-progress")).to_be_visible()
    field(phone, card, "backup").click()
    phone.keyboard.type("Dan brengt opa Kees hem")
    use = card.get_by_role("button", name="Maak van ‘als het niet lukt’ een nieuwe afspraak")
    expect(use).to_be_hidden()  # only once it is not working
    card.locator(".field-status select").select_option("not_working")
    use.click()
    children = phone.locator('[data-area="children"] [data-agreement]')
    expect(children).to_have_count(2)
    fresh = children.nth(1)
    expect_text(field(phone, fresh, "what"), "Dan brengt opa Kees hem")
    expect(fresh.locator(".agreement-link")).to_have_text(
        "In plaats van: “Mehmet brengt Sam op woensdag naar voetbal”."
    )
    expect(card.locator(".agreement-link")).to_have_text(
        "Vervangen door: “Dan brengt opa Kees hem”."
    )
    expect(use).to_be_hidden()  # once is enough
    expect(status(phone)).to_have_attribute("data-state", "saved")
    stored = {a["what"]: a for a in json.loads(plan_json(phone))}
    old = stored["Mehmet brengt Sam op woensdag naar voetbal"]
    assert old["status"] == "not_working" and old["backup"] == "Dan brengt opa Kees hem"
    assert stored["Dan brengt opa Kees hem"]["replaces"] == old["id"]
    fits()
    assert serious_accessibility_problems(phone) == []
    phone.context.close()


def test_forget_this_device_signs_out_and_clears_the_local_copy(
    live_server: LiveServer, browser: Any, family: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    page = open_plan(browser, live_server.url, family["participants"][1], **PHONE)
    # With the keyboard alone: a life area, what, and Enter.
    page.focus("#new-area")
    page.keyboard.press("End")  # the last life area
    page.keyboard.press("Tab")
    page.keyboard.type("Samen naar de moskee")
    page.keyboard.press("Enter")
    expect(page.locator('[data-area="meaning"] [data-agreement]')).to_have_count(1)
    expect(status(page)).to_have_attribute("data-state", "saved")
    assert "kring:" in json.dumps(page.evaluate("indexedDB.databases()"))
    page.locator("details.device summary").click()
    page.get_by_role("button", name="Vergeet dit apparaat").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dit apparaat is vergeten")
    expect(page.locator("html")).to_have_attribute("data-forgotten", "true")
    assert "kring:" not in json.dumps(page.evaluate("indexedDB.databases()"))
    assert page.evaluate("caches.keys()") == []
    response = page.goto(f"{live_server.url}/c/{family['conference_id']}/plan")
    assert response is not None and response.status == 401
    page.context.close()
