"""A real Chromium (Debian's; Playwright's own browser download is not used) and what a
person does and sees in it: a device opening someone's plan, a field's text, axe-core's
findings."""

from __future__ import annotations

import shutil
import time
from typing import Any

from server.views.identity import PARTICIPANT_COOKIE
from tests.support.people import let_in
from tests.support.server import INSTANCES, ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags for a closed network: no background calls to Google's hosts, no sandbox as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A Dutch tablet, like most of Kring's: headless Chromium would ask for English
    # (Accept-Language en-US), which Kring honours. A test wanting English sets its locale.
]
TIMEOUT_MS = 10_000

TABLET = {"viewport": {"width": 1280, "height": 800}, "has_touch": True, "locale": "nl-NL"}
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "locale": "nl-NL"}


def let_page_in(page: Any) -> None:
    """:func:`~tests.support.people.let_in` for a browser page's device (then shows it the
    page again). The waiting page is left first: it reloads itself when it learns of its
    admission, which would race the test's own navigation."""
    url = page.url
    instance = INSTANCES[url.split("/c/")[0]]
    page.goto("about:blank")
    for cookie in page.context.cookies():
        if cookie["name"] == PARTICIPANT_COOKIE:
            let_in(instance, cookie["value"])
    page.goto(url)


def open_plan(browser: Any, server_url: str, person: dict[str, Any], **device: Any) -> Any:
    """A new device (its own cookies and storage) that opens the person's link, then the plan."""
    context = browser.new_context(**{**TABLET, **device})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(person["invitation_url"])
    page.get_by_role("button", name="Ja, dat ben ik: verder").click()
    assert page.url.startswith(f"{server_url}/c/")  # the person's own page; the plan is below it
    let_page_in(page)  # the family's own tablets signed in before private time
    page.goto(f"{page.url.split('?')[0].rstrip('/')}/plan")
    page.wait_for_selector("[data-plan-editor][data-ready]")
    return page


def plan_json(page: Any) -> Any:
    return page.evaluate("JSON.stringify(window.kringPlan.agreements.toJSON())")


def add_agreement(page: Any, area: str, what: str) -> None:
    """The plan editor's form for a new agreement, filled in and sent."""
    page.select_option("#new-area", area)
    page.fill("#new-what", what)
    page.get_by_role("button", name="Afspraak toevoegen").click()


# A field's text as its reader sees it, without the name tags on other people's cursors or the
# placeholder of an empty field.
_FIELD_TEXT = """(el) => { const copy = el.cloneNode(true);
    const extras = ".cm-ySelectionCaret, .cm-widgetBuffer, .cm-placeholder";
    copy.querySelectorAll(extras).forEach((n) => n.remove());
    return copy.textContent.replace(/\\u2060/g, ""); }"""


def shown_text(locator: Any, timeout: int = TIMEOUT_MS) -> str:
    """The text a field shows right now."""
    return str(locator.evaluate(_FIELD_TEXT, timeout=timeout))


def expect_text(locator: Any, text: str, timeout: int = TIMEOUT_MS) -> None:
    """Wait until the field shows exactly ``text`` (it arrives over the network). The locator
    is looked up again each time: an editor may be rebuilt on a new element meanwhile."""
    deadline = time.monotonic() + timeout / 1000
    shown = None
    while time.monotonic() < deadline:
        shown = shown_text(locator, timeout)
        if shown == text:
            return
        locator.page.wait_for_timeout(50)
    raise AssertionError(f"the field shows {shown!r}, not {text!r}")


def wait_until(page: Any, function: str, arg: Any = None, timeout: int = TIMEOUT_MS) -> Any:
    """Ask the page ``function`` (a JavaScript function, async or not, given ``arg``) every
    50 ms until it answers something true, and return that answer; fail after ``timeout`` ms.

    Not Playwright's ``wait_for_function``: its later polls run the expression through the
    page's own ``eval``, which Kring's Content-Security-Policy refuses (the first poll, made
    from DevTools, is allowed, so it only failed when the answer was not true at once), and
    it takes a promise as a true answer without waiting for what the promise gives. A page
    that is navigating meanwhile is asked again on its next document."""
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + timeout / 1000
    answer: Any = None
    while True:
        try:
            answer = page.evaluate(function, arg)
        except PlaywrightError as error:
            if "navigat" not in str(error) and "context was destroyed" not in str(error):
                raise
        else:
            if answer:
                return answer
        if time.monotonic() >= deadline:
            raise AssertionError(f"after {timeout} ms the page answers {answer!r} to {function}")
        page.wait_for_timeout(50)


AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"


def serious_accessibility_problems(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.evaluate(AXE.read_text())  # not a <script>: the page's CSP allows none from tests
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(", ")})`)"""
    )
    return list(found)
