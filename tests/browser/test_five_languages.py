"""One family member reads Kring in each of its five languages, in a real Chromium: their own
page, the plan editor and their copy of the plan (the printable page and the PDF). What they
wrote stays as typed; Kring's words change with one tap on the language menu."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from server import i18n
from tests.support.browser import (
    PHONE,
    TIMEOUT_MS,
    serious_accessibility_problems,
    wait_until,
)
from tests.support.people import DemoConference
from tests.support.server import ROOT, LiveServer

pytestmark = pytest.mark.browser

BROWSER_STRINGS = ROOT / "web" / "src" / "i18n"


def server_says(language: str, dutch: str, **params: Any) -> str:
    """What Kring's server writes for ``dutch`` in ``language`` (its catalogue)."""
    with i18n.using(language):
        return i18n.gettext(dutch, **params)


def browser_says(language: str, key: str) -> str:
    """What the plan editor shows for ``key`` in ``language`` (its JSON catalogue)."""
    text = json.loads((BROWSER_STRINGS / f"{language}.json").read_text(encoding="utf-8"))[key]
    assert isinstance(text, str)
    return text


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    text = "".join(c for c in text if c == "\n" or unicodedata.category(c) not in ("Cc", "Cf"))
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@dataclass
class Family:
    """A conference whose plan was agreed as version 1 and is now with the action team, and
    the client Sam's device (its session cookie)."""

    conference: str
    own_page: str
    cookie: dict[str, str]


@pytest.fixture(scope="module")
def family(live_server: LiveServer) -> Family:
    demo = DemoConference(live_server, live_server.instance.demo("--phase", "presentation"))
    token = demo.cookie("client").removeprefix("kring_participant=")
    posts = {"base_url": live_server.url, "headers": {"origin": live_server.url}, "timeout": 10}
    with (
        httpx.Client(**posts, cookies={"kring_participant": token}) as sam,
        httpx.Client(**posts, cookies=[demo.coordinator_cookie().split("=", 1)]) as coordinator,
    ):
        assert sam.post(f"/c/{demo.id}/answer", data={"answer": "agree"}).status_code == 303
        assert coordinator.post(f"/conferences/{demo.id}/finalise").status_code == 303
        moved = coordinator.post(f"/api/conferences/{demo.id}/phase", json={"phase": "action_team"})
        assert moved.status_code == 200, moved.text
    return Family(demo.id, f"{live_server.url}/c/{demo.id}", {"kring_participant": token})


def sams_phone(browser: Any, live_server: LiveServer, family: Family) -> Any:
    context = browser.new_context(**PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    name, value = next(iter(family.cookie.items()))
    context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
    return context


def choose(page: Any, language: str) -> None:
    """One tap on the language menu (the page's own language has no button)."""
    if page.evaluate("document.documentElement.lang") != language:
        page.locator(f'form.language-choice button[value="{language}"]').click()
    # (while the next page is being made the document has no root element for a moment)
    wait_until(page, "(lang) => document.documentElement?.lang === lang", language)


def test_a_family_member_reads_their_page_the_plan_and_the_copy_in_five_languages(
    live_server: LiveServer, browser: Any, family: Family
) -> None:
    from playwright.sync_api import expect

    context = sams_phone(browser, live_server, family)
    page = context.new_page()
    own_page = family.own_page
    for language in ("tr", "ar", "pl", "en", "nl"):  # from Dutch through each, and back again
        page.goto(own_page)
        page.locator(f'form.language-choice button[value="{language}"]').click()  # one tap
        expect(page.locator("html")).to_have_attribute("lang", language)
        direction = "rtl" if language == "ar" else "ltr"
        expect(page.locator("html")).to_have_attribute("dir", direction)
        # their own page, in their language, with the family's words as written
        expect(page.get_by_text(server_says(language, "Je bent hier als"))).to_be_visible()
        mine = page.get_by_role("heading", name=server_says(language, "Jullie plan"))
        expect(mine).to_be_visible()
        expect(page.get_by_role("heading", name="Sam Yılmaz", level=1)).to_be_visible()

        # the plan editor (Sam reads it: the client is not on the action team), its words
        # from the browser's catalogue of that language
        page.goto(f"{own_page}/plan")
        page.wait_for_selector("[data-plan-editor][data-ready]")
        reading = browser_says(language, "status.reading")
        expect(page.locator("[data-sync-status]")).to_have_text(reading)
        assert page.evaluate("document.documentElement.dir") == direction

        # the printable copy and its PDF, in the same language
        page.goto(f"{own_page}/plan/1")
        title = server_says(language, "Plan van %(name)s", name="Sam Yılmaz")
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        expect(page.get_by_role("heading", name=server_says(language, "Afspraken"))).to_be_visible()
        pdf = page.request.get(f"{own_page}/plan/1.pdf")
        assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
        text = pdf_text(pdf.body())
        heading = server_says(language, "Wie is het eens met het plan")
        if language == "ar":  # read off the page from left to right: its last word first
            heading = " ".join(reversed(heading.split()))
        assert re.sub(r"\s+", "", heading) in text, language
        assert "SamYılmaz" in text
    context.close()


@pytest.mark.parametrize("language", ["ar", "tr"])
def test_the_main_family_pages_have_no_serious_accessibility_problems(
    live_server: LiveServer, browser: Any, family: Family, language: str
) -> None:
    context = sams_phone(browser, live_server, family)
    page = context.new_page()
    page.goto(family.own_page)
    choose(page, language)
    found = {}
    for path in ("", "/plan", "/plan/1", "/compass", "/present"):
        page.goto(family.own_page + path)
        if path == "/plan":
            page.wait_for_selector("[data-plan-editor][data-ready]")
        assert page.evaluate("document.documentElement.lang") == language
        found[path or "/"] = serious_accessibility_problems(page)
    assert found == {path: [] for path in found}
    context.close()


def test_the_presentation_shows_kring_words_in_two_languages_side_by_side(
    live_server: LiveServer, browser: Any, family: Family
) -> None:
    from playwright.sync_api import expect

    context = sams_phone(browser, live_server, family)
    page = context.new_page()
    page.goto(family.own_page)
    choose(page, "nl")
    page.goto(f"{family.own_page}/present")
    page.select_option("#also", "ar")  # the room's second language, chosen on the page
    page.locator(".presentation-languages button[type=submit]").click()
    assert page.url.endswith("/present?also=ar")
    title = page.get_by_role("heading", level=1)
    expect(title).to_contain_text("Plan van Sam Yılmaz")
    second = title.locator(".second-language")
    expect(second).to_have_text(server_says("ar", "Plan van %(name)s", name="Sam Yılmaz"))
    assert (second.get_attribute("lang"), second.get_attribute("dir")) == ("ar", "rtl")
    # the live plan's words (drawn in the browser): in Dutch, and beside them in Arabic
    empty = page.locator("[data-presentation-plan] p")
    expect(empty).to_contain_text(browser_says("nl", "presentation.empty"))
    expect(empty.locator(".second-language[lang=ar][dir=rtl]")).to_have_text(
        browser_says("ar", "presentation.empty")
    )
    # what the family wrote (their conference question) is shown once, as written
    question = page.locator(".presentation-question")
    expect(question).to_have_text(re.compile(r"^Hoe zorgen we er samen voor dat Sam"))
    expect(question.locator(".second-language")).to_have_count(0)
    refused = page.request.get(f"{family.own_page}/present?also=xx")
    assert refused.status == 400 and "Kies een taal uit de lijst." in refused.text()
    context.close()
