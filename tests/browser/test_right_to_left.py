"""Kring in Arabic on a phone (390x844), in a real Chromium: a family member chooses Arabic
with one tap, and their landing page, the plan editor and their copy of the plan are written
right to left, with nothing wider than the screen; an agreement of Arabic words around a Dutch
name, and a Dutch one with an Arabic name, keep their words and their order after a reload;
the Arabic font comes from Kring itself, and only to a page with Arabic on it."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.support.browser import PHONE, expect_text, let_page_in, wait_until
from tests.support.people import DemoConference
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser

MIXED = "سيتصل Ayşe Yılmaz بالمدرسة كل أسبوع"  # "will call the school every week"
DUTCH = "Elke maandag, met مريم"
ARABIC_PHONE = {**PHONE, "is_mobile": True}

# What sticks out of the screen on either side (an RTL page overflows to the left).
_STICKING_OUT = """() => {
    const width = document.documentElement.clientWidth;
    const found = [];
    if (document.documentElement.scrollWidth > width)
        found.push(`the page is ${document.documentElement.scrollWidth} px wide`);
    for (const el of document.body.querySelectorAll("*")) {
        const box = el.getBoundingClientRect();
        if (box.width === 0 && box.height === 0) continue;
        if (box.left < -1 || box.right > width + 1) found.push(el.outerHTML.slice(0, 90));
    }
    return found.slice(0, 5);
}"""

# Where each word of a line is drawn: a Range over its characters, through the text nodes the
# line is made of (CodeMirror may split a line into several).
_WORD_BOXES = """(line, words) => {
    const nodes = [];
    const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
    let text = "";
    while (walker.nextNode()) {
        nodes.push([walker.currentNode, text.length]);
        text += walker.currentNode.data;
    }
    const at = (index) => {
        const [node, start] = nodes.filter(([, s]) => s <= index).pop();
        return [node, index - start];
    };
    return Object.fromEntries(words.map((word) => {
        const index = text.indexOf(word);
        if (index < 0) return [word, null];
        const range = document.createRange();
        range.setStart(...at(index));
        range.setEnd(...at(index + word.length - 1));
        range.setEnd(range.endContainer, range.endOffset + 1);
        const box = range.getBoundingClientRect();
        return [word, {left: box.left, right: box.right, top: box.top}];
    }));
}"""


def boxes(line: Any, *words: str) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = line.evaluate(_WORD_BOXES, list(words))
    assert all(found.values()), f"not all of {words} are in {line.text_content()!r}"
    return found


def assert_right_to_left_order(line: Any) -> None:
    """The mixed agreement as an Arabic reader reads it: its first Arabic word right of the
    Dutch name, the next one left of it, on one line."""
    word = boxes(line, "سيتصل", "Ayşe Yılmaz", "بالمدرسة")
    first, name, then = word["سيتصل"], word["Ayşe Yılmaz"], word["بالمدرسة"]
    assert abs(first["top"] - then["top"]) < 4, word
    assert first["left"] >= name["right"] - 1 and then["right"] <= name["left"] + 1, word


def reads_right_to_left(page: Any) -> None:
    page.wait_for_load_state("load")
    html = page.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl"), page.url
    assert page.evaluate(_STICKING_OUT) == [], page.url


def fonts_fetched(page: Any) -> list[str]:
    """The web font files this page fetched (after it laid out its text)."""
    return list(
        page.evaluate(
            """async () => { await document.fonts.ready;
                return performance.getEntriesByType("resource").map((e) => e.name)
                    .filter((name) => name.endsWith(".woff2")); }"""
        )
    )


def coordinator_token(demo: DemoConference) -> str:
    return demo.coordinator_cookie().removeprefix("kring_coordinator=")


def test_a_family_member_reads_and_writes_in_arabic_on_a_phone(
    live_server: LiveServer, browser: Any
) -> None:
    from playwright.sync_api import expect

    demo = DemoConference(live_server, live_server.instance.demo("--phase", "private_time"))
    ayse = next(p for p in demo.data["participants"] if p["name"] == "Ayşe Yılmaz")
    base = f"{live_server.url}/c/{demo.id}"
    context = browser.new_context(**ARABIC_PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()

    # "Is this you?" in Dutch: its menu names Arabic in Arabic, without the Arabic font, and
    # its four buttons wrap on the narrowest phone, each a whole tap target.
    page.goto(ayse["invitation_url"])
    assert page.locator("html").get_attribute("dir") == "ltr"
    assert fonts_fetched(page) == []
    page.set_viewport_size({"width": 360, "height": 780})
    languages = page.locator(".language-choice button")
    assert languages.count() == 4
    for button in languages.all():
        box = button.bounding_box()
        assert box and box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 360
    assert page.evaluate(_STICKING_OUT) == []
    page.set_viewport_size(ARABIC_PHONE["viewport"])
    page.locator('.language-choice button[value="ar"]').tap()  # the /language form
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    reads_right_to_left(page)
    page.locator("main form button[type=submit]").first.tap()  # "yes, that's me"
    page.wait_for_url(f"{base}**")
    let_page_in(page)
    reads_right_to_left(page)  # the landing page, in her stored language from now on
    fetched = fonts_fetched(page)
    assert fetched and all(f.startswith(f"{live_server.url}/static/build/assets/") for f in fetched)

    # The plan editor: she types an agreement, and a "when" in Dutch with an Arabic name.
    page.goto(f"{base}/plan")
    page.wait_for_selector("[data-plan-editor][data-ready]")
    reads_right_to_left(page)
    page.select_option("#new-area", "children")
    page.locator("#new-what").click()
    page.keyboard.type(MIXED)
    page.locator("[data-add-agreement] button[type=submit]").tap()
    card = page.locator("[data-agreement]")
    expect_text(card.locator(".field-what .cm-content"), MIXED)
    card.locator(".field-when .cm-content").click()
    page.keyboard.type(DUTCH)
    expect(page.locator("[data-sync-status]")).to_have_attribute("data-state", "saved")
    reads_right_to_left(page)

    page.reload()
    page.wait_for_selector("[data-plan-editor][data-ready]")
    what, when = (card.locator(f".field-{f} .cm-content") for f in ("what", "when"))
    expect_text(what, MIXED)
    expect_text(when, DUTCH)
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    with httpx.Client(base_url=live_server.url, cookies=cookies, timeout=10) as device:
        stored = device.get(f"/api/conferences/{demo.id}/plan").json()["agreements"]
    assert [(a["what"], a["when"]) for a in stored] == [(MIXED, DUTCH)]
    assert what.locator(".cm-line").get_attribute("dir") == "rtl"
    assert_right_to_left_order(what.locator(".cm-line"))
    # The Dutch line reads left to right inside the Arabic page, its Arabic name at its end.
    line = when.locator(".cm-line")
    assert line.get_attribute("dir") == "ltr"
    word = boxes(line, "Elke", "met", "مريم")
    assert word["Elke"]["right"] <= word["met"]["left"] <= word["مريم"]["left"], word
    reads_right_to_left(page)

    # Her copy, opened later, once the plan is agreed at the presentation.
    page.close()
    posts = {"base_url": live_server.url, "headers": {"origin": live_server.url}, "timeout": 10}
    coordinator = httpx.Client(**posts, cookies={"kring_coordinator": coordinator_token(demo)})
    device = httpx.Client(**posts, cookies=cookies)  # her phone
    with coordinator, device:
        ready = {"kind": "plan_ready", "confirmed": "yes"}  # the family's "our plan is ready"
        assert device.post(f"/c/{demo.id}/signal", data=ready).status_code == 303
        phase = {"phase": "presentation"}
        assert coordinator.post(f"/api/conferences/{demo.id}/phase", json=phase).status_code == 200
        assert device.post(f"/c/{demo.id}/answer", data={"answer": "agree"}).status_code == 303
        assert coordinator.post(f"/conferences/{demo.id}/finalise").status_code == 303
    page = context.new_page()
    page.goto(f"{base}/plan/1")
    dd = page.locator("dl.agreement dd", has_text="Ayşe Yılmaz")
    expect(dd).to_have_text(MIXED)
    assert_right_to_left_order(dd)
    reads_right_to_left(page)
    context.close()


def test_the_presentation_shows_what_the_family_typed_in_its_own_direction(
    live_server: LiveServer, browser: Any
) -> None:
    """On the room's screen in Arabic a Dutch agreement keeps its question mark at its end;
    on a Dutch screen an Arabic agreement around a Dutch name keeps its Arabic order."""
    import asyncio
    import threading

    from playwright.sync_api import expect

    from server.rules.plan import add_agreement

    demo = DemoConference(live_server, live_server.instance.demo("--phase", "private_time"))
    family_cookie = demo.cookie("client")

    async def write_plan() -> None:
        family = demo.device("plan", family_cookie, saved=True)
        await family.connect()
        await family.synced()
        add_agreement(family.doc, "safety", what="Bellen als het thuis misgaat?", who="مريم")
        add_agreement(family.doc, "housing", what=MIXED, when="Elke maandag om 15:00?")
        await family.wait_for(family.all_saved)
        await family.close()

    written = threading.Thread(target=asyncio.run, args=(write_plan(),))  # off Playwright's loop
    written.start()
    written.join(10)
    posts = {"base_url": live_server.url, "headers": {"origin": live_server.url}, "timeout": 10}
    cookies = dict([family_cookie.split("=", 1)])
    coordinator = httpx.Client(**posts, cookies={"kring_coordinator": coordinator_token(demo)})
    with coordinator, httpx.Client(**posts, cookies=cookies) as device:
        ready = {"kind": "plan_ready", "confirmed": "yes"}
        assert device.post(f"/c/{demo.id}/signal", data=ready).status_code == 303
        phase = {"phase": "presentation"}
        assert coordinator.post(f"/api/conferences/{demo.id}/phase", json=phase).status_code == 200

    context = browser.new_context(**ARABIC_PHONE)
    context.set_default_timeout(10_000)
    context.add_cookies(
        [{"name": k, "value": v, "url": live_server.url} for k, v in cookies.items()]
    )
    page = context.new_page()
    present = f"{live_server.url}/c/{demo.id}/present"
    page.goto(present)
    page.locator('.language-choice button[value="ar"]').tap()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    agreements = page.locator(".presentation-agreement")
    expect(agreements).to_have_count(2)

    def ends_with_its_question_mark(element: Any, word: str) -> None:
        found = boxes(element, word, "?")
        assert found["?"]["left"] >= found[word]["right"] - 1, (element.text_content(), found)

    ends_with_its_question_mark(page.locator(".presentation-question"), "haalt")
    ends_with_its_question_mark(agreements.locator("h3", has_text="misgaat"), "misgaat")
    ends_with_its_question_mark(agreements.locator("dd", has_text="15:00"), "15:00")
    reads_right_to_left(page)

    page.set_viewport_size({"width": 1280, "height": 800})  # the room's screen, one line
    page.locator('.language-choice button[value="nl"]').tap()
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(agreements).to_have_count(2)
    assert_right_to_left_order(agreements.locator("h3", has_text="Ayşe Yılmaz"))
    context.close()


def test_the_line_naming_the_conference_keeps_its_date_whole_beside_a_dutch_name(
    live_server: LiveServer, browser: Any
) -> None:
    """ "Conference about Sam Yılmaz, <date>, <place>." on an Arabic page: the date reads after
    the name (left of it), not split in two around it ("2026/12/Sam Yılmaz, 20")."""
    demo = DemoConference(live_server, live_server.instance.demo("--phase", "information"))
    cookies = dict([demo.cookie("client").split("=", 1)])
    context = browser.new_context(**{**ARABIC_PHONE, "viewport": {"width": 1280, "height": 800}})
    context.set_default_timeout(10_000)
    context.add_cookies(
        [{"name": k, "value": v, "url": live_server.url} for k, v in cookies.items()]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/c/{demo.id}")
    page.locator('.language-choice button[value="ar"]').tap()
    wait_until(page, "() => document.documentElement?.dir === 'rtl'")  # null mid-navigation
    line = page.locator("main > p.muted", has_text="Sam Yılmaz")
    text = line.text_content() or ""
    date = re.search(r"\d[\d\u200f/.-]*\d", text.split("Sam Yılmaz", 1)[1])
    assert date, text  # the day of the conference, as Arabic writes it
    found = boxes(line, "Sam Yılmaz", date[0])
    name, day = found["Sam Yılmaz"], found[date[0]]
    # one line; the whole date left of the name (its box would span the name if split)
    assert day["top"] == name["top"] and day["right"] <= name["left"] + 1, (text, found)
    context.close()
