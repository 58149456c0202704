"""The network map in a real Chromium against a real `kring serve`: the client on a tablet and
a supporter on a phone build the map together, by keyboard, by pointer and by tapping; it is
read as a list; someone taken off it is gone everywhere, the stored compass included."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest

from server.storage.store import Store
from tests.support.browser import (
    PHONE,
    TABLET,
    TIMEOUT_MS,
    let_page_in,
    serious_accessibility_problems,
    wait_until,
)
from tests.support.databases import in_store
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser


def open_map(browser: Any, server: LiveServer, person: dict[str, Any], **device: Any) -> Any:
    """A new device that opens the person's link, then the network map."""
    context = browser.new_context(**{**TABLET, **device})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(person["invitation_url"])
    page.get_by_role("button", name="Ja, dat ben ik: verder").click()
    let_page_in(page)
    conference = page.url.split("/c/")[1].split("/")[0].split("?")[0]
    page.goto(f"{server.url}/c/{conference}/compass/map")
    page.wait_for_selector("[data-sync-status][data-state=saved]")
    return page


def person_button(page: Any, name: str) -> Any:
    return page.locator(".netmap-person", has=page.locator(".netmap-name", has_text=name))


def stored_compass(server: LiveServer, conference_id: str) -> bytes:
    """Every stored byte of the compass: its snapshot and its logged updates."""
    with sqlite3.connect(server.instance.folder / "kring.db") as db:
        rows = db.execute(
            "SELECT data FROM doc_snapshot WHERE conference_id = ? AND document = 'compass' "
            "UNION ALL SELECT data FROM doc_update WHERE conference_id = ? "
            "AND document = 'compass'",
            (conference_id, conference_id),
        ).fetchall()
    return b"".join(bytes(row[0]) for row in rows)


# What this device keeps of the compass (IndexedDB), as text: a name in it is kept there.
LOCAL_COPY = """async () => {
  const names = (await indexedDB.databases())
    .map((d) => d.name)
    .filter((n) => n.includes(":compass:"));
  let all = "";
  for (const name of names) {
    const db = await new Promise((ok, no) => {
      const open = indexedDB.open(name);
      open.onsuccess = () => ok(open.result);
      open.onerror = () => no(open.error);
    });
    const rows = await new Promise((ok) => {
      const read = db.transaction(["updates"], "readonly").objectStore("updates").getAll();
      read.onsuccess = () => ok(read.result);
    });
    for (const row of rows) all += new TextDecoder().decode(row);
    db.close();
  }
  return all;
}"""


def test_client_and_supporter_build_the_map_by_keyboard_and_pointer_and_a_removal_forgets(
    live_server: LiveServer, browser: Any
) -> None:
    from playwright.sync_api import expect

    demo = live_server.instance.demo("--phase", "preparation")
    conference = demo["conference_id"]
    sam_person, ayse_person = demo["participants"][0], demo["participants"][1]

    async def choose_ayse(store: Store) -> None:
        rows = await store.participants(conference)
        ayse = next(r.participant.id for r in rows if r.participant.name == ayse_person["name"])
        await store.set_supporters(conference, [ayse])

    in_store(live_server.instance.database_url, choose_ayse)
    sam = open_map(browser, live_server, sam_person)
    ayse = open_map(
        browser, live_server, ayse_person, **{**PHONE, "viewport": {"width": 360, "height": 780}}
    )

    # Sam adds someone from the keyboard only: type the name, Enter.
    sam.locator("#new-name").focus()
    sam.keyboard.type("Oma Truus")
    sam.keyboard.press("Enter")
    oma = person_button(sam, "Oma Truus")
    expect(oma).to_contain_text("Familie, dichtbij, sterke band, geen steun")
    expect(sam.locator("#new-name")).to_be_focused()  # ready for the next one
    expect(person_button(ayse, "Oma Truus")).to_contain_text("Familie, dichtbij")

    # A child holds a first name and an age: a full name is refused next to the field, kept.
    sam.locator("#new-name").fill("Mo de Vries")
    sam.locator("[data-map-add]").get_by_label("Een kind").check()
    sam.locator("#new-age").fill("8")
    sam.get_by_role("button", name="Op de kaart zetten").click()
    expect(sam.locator("#new-name-error")).to_have_text(
        "Van een kind staat alleen de voornaam op de kaart."
    )
    expect(sam.locator("#new-name")).to_have_value("Mo de Vries")
    expect(sam.locator("#new-name")).to_have_attribute("aria-invalid", "true")
    sam.locator("#new-name").fill("Mo")
    # ... while Ayşe, on her phone, adds someone at the same moment: nobody is lost or doubled.
    ayse.locator("#new-name").fill("Juf Anna")
    ayse.locator("#new-kind").select_option("school")
    ayse.locator("#new-tie").select_option("tenuous")
    sam.get_by_role("button", name="Op de kaart zetten").click()
    ayse.get_by_role("button", name="Op de kaart zetten").click()
    for page in (sam, ayse):
        expect(page.locator(".netmap-name")).to_have_text(["Juf Anna", "Mo (8)", "Oma Truus"])
        expect(page.locator("svg[data-map-svg] g.person")).to_have_count(3)
    expect(person_button(ayse, "Mo")).to_contain_text("kind")

    # The arrow keys move the one chosen in the list: in towards Sam, and around the ring.
    oma.focus()
    oma_id = sam.locator(".netmap-item", has=oma).get_attribute("data-entry")
    sam.keyboard.press("ArrowUp")
    expect(oma).to_contain_text("Familie, heel dichtbij")
    sam.keyboard.press("ArrowUp")  # no ring is closer: it says so, nothing moves
    expect(sam.locator("[data-map-announce]")).to_have_text(
        "Dichterbij dan de binnenste kring kan niet."
    )
    sam.keyboard.press("ArrowRight")
    sam.keyboard.press("ArrowRight")
    expect(sam.locator("[data-map-announce]")).to_have_text(
        re.compile(r"^Oma Truus: heel dichtbij, op \d+ uur$")
    )
    expect(oma).to_be_focused()
    expect(person_button(ayse, "Oma Truus")).to_contain_text("Familie, heel dichtbij")
    # Enter opens the panel: the tie and the way support goes, drawn as practice reads them.
    sam.keyboard.press("Enter")
    panel = sam.locator("[data-map-panel]")
    expect(panel).to_be_visible()
    expect(panel.locator("#edit-name")).to_be_focused()
    # A full name for a child is refused there too, and the panel keeps it open until fixed.
    panel.get_by_label("Een kind").check()
    expect(panel.locator("#edit-name-error")).to_have_text(
        "Van een kind staat alleen de voornaam op de kaart."
    )
    sam.keyboard.press("Escape")
    expect(panel).to_be_visible()
    expect(panel.locator("#edit-name")).to_have_value("Oma Truus")
    panel.get_by_label("Een kind").uncheck()
    panel.locator("#edit-tie").select_option("stressful")
    panel.locator("#edit-flow").select_option("both")
    sam.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(oma).to_be_focused()
    tie = ayse.locator(f'[data-tie="{oma_id}"]')
    expect(tie).to_have_class("tie tie-stressful")  # a jagged path
    expect(tie).to_have_attribute("marker-start", "url(#map-arrow)")
    expect(tie).to_have_attribute("marker-end", "url(#map-arrow)")
    juf_id = ayse.locator(".netmap-item", has=person_button(ayse, "Juf Anna")).get_attribute(
        "data-entry"
    )
    expect(ayse.locator(f'[data-tie="{juf_id}"]')).to_have_attribute("stroke-dasharray", "10 8")

    # Dragged with the pointer to the outer ring, on the left of the map.
    svg = sam.locator("svg[data-map-svg]")
    box = svg.bounding_box()
    scale = box["width"] / 800
    person = sam.locator(f'g.person[data-entry="{oma_id}"] circle').first.bounding_box()
    sam.mouse.move(person["x"] + person["width"] / 2, person["y"] + person["height"] / 2)
    sam.mouse.down()
    target = (box["x"] + (400 - 298) * scale, box["y"] + 400 * scale)
    sam.mouse.move(*target, steps=8)
    sam.mouse.up()
    for page in (sam, ayse):
        expect(person_button(page, "Oma Truus")).to_contain_text("Familie, verder weg")
    expect(sam.locator("[data-map-announce]")).to_have_text("Oma Truus: verder weg, op 9 uur")

    # The phone: the map fits 360 px, the list below it; nothing to scroll sideways.
    assert ayse.evaluate("document.documentElement.scrollWidth") <= 360
    map_box, list_box = (
        ayse.locator(s).bounding_box() for s in ("svg[data-map-svg]", "[data-map-list]")
    )
    assert map_box["y"] + map_box["height"] <= list_box["y"]
    assert serious_accessibility_problems(ayse) == []

    # Taken off the map for good (Delete asks first): gone on both devices, from the server's
    # stored compass and from what each device keeps.
    oma.focus()
    sam.keyboard.press("Delete")
    confirm = sam.locator("[data-map-confirm]")
    expect(confirm).to_contain_text("Oma Truus van de kaart halen?")
    assert serious_accessibility_problems(sam) == []
    confirm.get_by_role("button", name="Ja, van de kaart halen").click()
    for page in (sam, ayse):
        expect(page.locator(".netmap-name")).to_have_text(["Juf Anna", "Mo (8)"])
        expect(page.locator(f'[data-entry="{oma_id}"]')).to_have_count(0)
        expect(page.locator("[data-sync-status]")).to_have_attribute("data-state", "saved")
    deadline = TIMEOUT_MS // 50
    for _ in range(deadline):
        stored = stored_compass(live_server, conference)
        if b"Oma Truus" not in stored:
            break
        sam.wait_for_timeout(50)
    assert b"Oma Truus" not in stored and b"Juf Anna" in stored
    for page in (sam, ayse):
        wait_until(page, f"async () => !(await ({LOCAL_COPY})()).includes('Oma Truus')")
        assert "Juf Anna" in page.evaluate(LOCAL_COPY)
    sam.context.close()
    ayse.context.close()
