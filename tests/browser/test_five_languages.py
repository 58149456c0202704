"""One family member reads Kring in each of its five languages, in a real Chromium: their own
page, the plan editor and their copy of the plan (the printable page and the PDF). What they
wrote stays as typed; Kring's words change with one tap on the language menu."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from typing import Any

import pytest
from pypdf import PdfReader

from server import i18n
from tests.support.browser import PHONE, TIMEOUT_MS, serious_accessibility_problems
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


def test_a_family_member_reads_their_page_the_plan_and_the_copy_in_five_languages(
    live_server: LiveServer, browser: Any
) -> None:
    from playwright.sync_api import expect

    family = live_server.instance.demo("--phase", "action_team")
    sam = next(p for p in family["participants"] if p["role"] == "client")
    context = browser.new_context(**PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(sam["invitation_url"])
    page.get_by_role("button", name="Ja, dat ben ik: verder").click()
    own_page = page.url.split("?")[0].rstrip("/")
    conference = family["conference_id"]
    assert own_page == f"{live_server.url}/c/{conference}"

    languages = ["tr", "ar", "pl", "en", "nl"]  # from Dutch through each, and back again
    for language in languages:
        page.goto(own_page)
        menu = page.locator("form.language-choice")
        menu.locator(f'button[value="{language}"]').click()  # one tap
        expect(page.locator("html")).to_have_attribute("lang", language)
        direction = "rtl" if language == "ar" else "ltr"
        expect(page.locator("html")).to_have_attribute("dir", direction)
        # their own page, in their language, with the family's words as written
        expect(page.get_by_text(server_says(language, "Je bent hier als"))).to_be_visible()
        expect(
            page.get_by_role("heading", name=server_says(language, "Jullie plan"))
        ).to_be_visible()
        expect(page.get_by_text("Sam Yılmaz").first).to_be_visible()

        # the plan editor: its labels from the browser's catalogue of that language
        page.goto(f"{own_page}/plan")
        page.wait_for_selector("[data-plan-editor][data-ready]")
        add = browser_says(language, "action.add")
        expect(page.get_by_role("button", name=add, exact=True)).to_be_visible()
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
    live_server: LiveServer, browser: Any, language: str
) -> None:
    family = live_server.instance.demo("--phase", "action_team")
    sam = next(p for p in family["participants"] if p["role"] == "client")
    context = browser.new_context(**PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(sam["invitation_url"])
    page.get_by_role("button", name="Ja, dat ben ik: verder").click()
    own_page = page.url.split("?")[0].rstrip("/")
    page.locator(f'form.language-choice button[value="{language}"]').click()
    found = {}
    for path in ("", "/plan", "/plan/1", "/compass"):
        page.goto(own_page + path)
        if path == "/plan":
            page.wait_for_selector("[data-plan-editor][data-ready]")
        assert page.evaluate("document.documentElement.lang") == language
        found[path or "/"] = serious_accessibility_problems(page)
    assert found == {path: [] for path in found}
    context.close()
