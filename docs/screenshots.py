"""Take the README's screenshots of the plan editor: a tablet (landscape) and a phone
(portrait), in Dutch and in English, on a real `kring serve` with the demo conference in
private time: four of the family at work, one typing, the information and a mandated
professional's condition at hand.

    .venv/bin/python docs/screenshots.py      (or: make screenshots)
    .venv/bin/python docs/screenshots.py compass   (only the preparation's four)
    .venv/bin/python docs/screenshots.py ar        (only the plan editor in Arabic)

Writes docs/screenshots/plan-{tablet,phone}-{nl,en}.png and plan-phone-info-{nl,en}.png (the
phone with the information and the conditions open), console-private-time-{nl,en}.png (the
coordinator's console on a tablet once the family said its plan is ready), then, the
conference moved on to the presentation, presentation-{nl,en}.png: the plan on the room's big
screen (1920x1080); and, from a conference in its preparation, map-tablet-{nl,en}.png (the
client's network map) and compass-phone-{nl,en}.png (the strengths inventory on a phone);
and plan-phone-ar.png: the plan editor in Arabic on a phone, right to left, the family's
agreements Arabic sentences with Dutch names in them (its own conference, in private time).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from server.storage.store import Store  # noqa: E402
from server.views.identity import PARTICIPANT_COOKIE  # noqa: E402
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.support.databases import in_store  # noqa: E402
from tests.support.live import connected  # noqa: E402
from tests.support.people import DemoConference, let_in  # noqa: E402
from tests.support.server import make_instance, start_server, stop_server  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
DEVICES = {
    "tablet": {"viewport": {"width": 1280, "height": 800}, "has_touch": True},
    "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True},
}
AGREEMENTS = [
    ("safety", "Als het thuis misgaat, belt Sam oma Ayşe"),
    ("children", "Mehmet brengt Sam op woensdag naar voetbal"),
    ("housing", "Samen koken op zondag"),
]
INFORMATION = (
    "School: Sam mist sinds maart veel lessen; de mentor wil helpen met een rooster.\n"
    "Wijkteam: er is een schuldhulpverlener beschikbaar voor het gezin."
)
CONDITION = "Sam slaapt elke nacht thuis of bij oma Ayşe."


def prepare(demo: DemoConference) -> None:
    """The information phase's words and a condition, then private time."""

    async def write() -> None:
        iris = demo.device("information", demo.cookie("professional"), saved=True)
        async with connected(iris):
            iris.text().insert(0, INFORMATION)
            await iris.wait_for(iris.all_saved)

    asyncio.run(write())

    async def condition_and_private_time(store: Store) -> None:
        rows = await store.participants(demo.id)
        sanne = next(r.participant for r in rows if r.participant.role == "mandated_professional")
        await store.add_condition(demo.id, sanne.id, CONDITION)
        await store.set_phase(demo.id, "private_time")

    in_store(demo.server.instance.database_url, condition_and_private_time)


def open_plan(browser: Any, demo: DemoConference, person: dict[str, Any], language: str) -> Any:
    """A device of a family member, signed in before private time, on the plan."""
    context = browser.new_context(**DEVICES["tablet"], locale="nl-NL")
    return plan_on(context, demo, person, language)


def plan_on(context: Any, demo: DemoConference, person: dict[str, Any], language: str) -> Any:
    page = signed_in(context, demo, person, language)
    page.goto(f"{demo.server.url}/c/{demo.id}/plan")
    page.wait_for_selector("[data-plan-editor][data-ready]")
    return page


def signed_in(context: Any, demo: DemoConference, person: dict[str, Any], language: str) -> Any:
    """A page of this person's device, signed in through their link (in ``language``)."""
    page = context.new_page()
    page.goto(person["invitation_url"])
    switch = page.locator(f'.language-choice button[value="{language}"]')
    if switch.count():  # not there: the page is in that language already
        switch.click()  # remembered for this person from now on
    page.locator("main form button[type=submit]").first.click()
    for cookie in context.cookies():
        if cookie["name"] == PARTICIPANT_COOKIE:
            let_in(demo.server.instance, cookie["value"])
    return page


def console_in_private_time(browser: Any, demo: DemoConference, person: dict[str, Any]) -> None:
    """The family says its plan is ready; the coordinator's console, on a tablet, shows it."""
    context = browser.new_context(**DEVICES["phone"], locale="nl-NL")
    signal = context.new_page()
    signal.goto(person["invitation_url"])
    signal.locator("main form button[type=submit]").first.click()
    signal.wait_for_url(f"**/c/{demo.id}**")
    for cookie in context.cookies():
        if cookie["name"] == PARTICIPANT_COOKIE:
            let_in(demo.server.instance, cookie["value"])
    signal.goto(f"{demo.server.url}/c/{demo.id}")
    signal.get_by_role("button", name="Ons plan is klaar").click()
    signal.get_by_role("button", name="Ja, ons plan is klaar").click()
    context.close()
    coordinator = demo.data["coordinator"]
    for language in ("nl", "en"):
        context = browser.new_context(**DEVICES["tablet"], locale="nl-NL")
        page = context.new_page()
        page.goto(f"{demo.server.url}/login")
        if language == "en":
            page.get_by_role("button", name="English").first.click()
        page.locator("input[type=email]").fill(coordinator["email"])
        page.locator("input[type=password]").fill(coordinator["password"])
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_url("**/conferences")
        page.goto(f"{demo.server.url}/conferences/{demo.id}/console")
        page.wait_for_selector("[data-live-page][data-stream=open]")
        page.screenshot(path=str(OUT / f"console-private-time-{language}.png"), full_page=True)
        context.close()


def presentation(browser: Any, demo: DemoConference, person: dict[str, Any]) -> None:
    """The conference at the presentation: the plan on the room's big screen."""

    async def to_presentation(store: Store) -> None:
        await store.set_phase(demo.id, "presentation")

    in_store(demo.server.instance.database_url, to_presentation)
    for language in ("nl", "en"):
        screen = {"viewport": {"width": 1920, "height": 1080}}
        context = browser.new_context(**screen, locale="nl-NL")
        page = signed_in(context, demo, person, language)
        page.goto(f"{demo.server.url}/c/{demo.id}/present")
        page.wait_for_selector('[data-presentation][data-state=saved] [data-number="3"]')
        page.screenshot(path=str(OUT / f"presentation-{language}.png"))
        context.close()


# The network map the screenshots show: (name, kind, ring, tie, flow).
NETWORK = [
    ("Oma Ayşe", "family", "1", "strong", "to_client"),
    ("Mehmet", "family", "1", "stressful", "both"),
    ("Buurvrouw Fatma", "neighbour", "2", "strong", "to_client"),
    ("Juf Anna", "school", "2", "tenuous", "none"),
    ("Trainer Bas", "friend", "3", "tenuous", "to_client"),
    ("Wijkteam", "professional", "3", "strong", "to_client"),
]
STRENGTHS = [
    ("relations", "Ik heb een grote familie die me helpt als het moeilijk wordt."),
    ("children", "Ik weet wat Sam nodig heeft en ik kook elke dag voor hem."),
    ("activity", "Ik werk drie ochtenden in de bakkerij en dat gaat goed."),
]


def compass(browser: Any, server: Any) -> None:
    """The preparation: the client's network map on a tablet and the strengths inventory on a
    phone (map-tablet-*, compass-phone-*), written through the pages as the client would."""
    demo = DemoConference(server, server.instance.demo("--phase", "preparation"))
    client = demo.data["participants"][0]
    context = browser.new_context(**DEVICES["tablet"], locale="nl-NL")
    page = signed_in(context, demo, client, "nl")
    page.goto(f"{server.url}/c/{demo.id}/compass/map")
    page.wait_for_selector("[data-sync-status][data-state=saved]")
    for name, kind, ring, tie, flow in NETWORK:
        page.fill("#new-name", name)
        for field, value in (("kind", kind), ("ring", ring), ("tie", tie), ("flow", flow)):
            page.select_option(f"#new-{field}", value)
        page.locator("[data-map-add] button[type=submit]").click()
    page.goto(f"{server.url}/c/{demo.id}/compass")
    page.wait_for_selector("[data-compass][data-ready]")
    for area, text in STRENGTHS:
        page.locator(f'[data-strength="{area}"] .cm-content').click()
        page.keyboard.type(text)
        page.locator(f'[data-strength="{area}"] [data-priority]').click()
    page.wait_for_selector("[data-sync-status][data-state=saved]")
    context.close()
    for language in ("nl", "en"):
        context = browser.new_context(**DEVICES["tablet"], locale="nl-NL")
        page = signed_in(context, demo, client, language)
        page.goto(f"{server.url}/c/{demo.id}/compass/map")
        page.wait_for_selector("[data-sync-status][data-state=saved]")
        page.evaluate(  # the bar on top, then the map and the list beside it
            """() => window.scrollTo(0, window.scrollY - 8 +
                document.querySelector('[data-sync-status]').getBoundingClientRect().top)"""
        )
        page.screenshot(path=str(OUT / f"map-tablet-{language}.png"))
        context.close()
        context = browser.new_context(**DEVICES["phone"], locale="nl-NL")
        page = signed_in(context, demo, client, language)
        page.goto(f"{server.url}/c/{demo.id}/compass")
        page.wait_for_selector("[data-compass][data-ready]")
        page.wait_for_selector("[data-sync-status][data-state=saved]")
        page.evaluate(  # the bar on top, then the first strength the client wrote
            """() => window.scrollTo(0, window.scrollY - 70 +
                document.querySelector('[data-strength="children"]').getBoundingClientRect().top)"""
        )
        page.screenshot(path=str(OUT / f"compass-phone-{language}.png"))
        context.close()


# The plan in Arabic: "If things go wrong at home, Sam calls his grandmother Ayşe", "Ayşe
# Yılmaz will call the school every week", and "every day, even at night".
AGREEMENTS_AR = [
    ("safety", "إذا ساءت الأمور في البيت، يتصل Sam بجدته Ayşe"),
    ("children", "سيتصل Ayşe Yılmaz بالمدرسة كل أسبوع"),
]
WHEN_AR = "كل يوم، حتى في الليل"


def arabic(browser: Any, demo: DemoConference) -> None:
    """The plan editor in Arabic on a phone (plan-phone-ar.png), written by Ayşe on it, in a
    conference of its own (``prepare``d: in private time)."""
    ayse = next(p for p in demo.data["participants"] if p["name"] == "Ayşe Yılmaz")
    context = browser.new_context(**DEVICES["phone"], locale="nl-NL")
    page = plan_on(context, demo, ayse, "ar")
    for area, what in AGREEMENTS_AR:
        page.select_option("#new-area", area)
        page.fill("#new-what", what)
        page.locator("[data-add-agreement] button[type=submit]").click()
    page.locator("[data-agreement] .field-when .cm-content").first.click()
    page.keyboard.type(WHEN_AR)
    page.wait_for_selector("[data-sync-status][data-state=saved]")
    page.evaluate(  # the bar on top, then the agreements
        """() => window.scrollTo(0, window.scrollY - 70 +
            document.querySelector('#plan-agreements-title').getBoundingClientRect().top)"""
    )
    page.screenshot(path=str(OUT / "plan-phone-ar.png"))
    context.close()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        server = start_server(make_instance(Path(folder)))
        try:
            if sys.argv[1:] == ["compass"]:  # only the preparation's screenshots
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(
                        executable_path=CHROMIUM, args=CHROMIUM_ARGS
                    )
                    compass(browser, server)
                    browser.close()
                return
            in_arabic = DemoConference(server, server.instance.demo())
            prepare(in_arabic)
            if sys.argv[1:] == ["ar"]:  # only the plan editor in Arabic
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(
                        executable_path=CHROMIUM, args=CHROMIUM_ARGS
                    )
                    arabic(browser, in_arabic)
                    browser.close()
                return
            demo = DemoConference(server, server.instance.demo())
            prepare(demo)
            family = [
                p for p in demo.data["participants"] if p["role"] in ("client", "network_member")
            ]
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                helpers = [open_plan(browser, demo, person, "nl") for person in family[1:4]]
                for area, what in AGREEMENTS:
                    helpers[0].select_option("#new-area", area)
                    helpers[0].fill("#new-what", what)
                    helpers[0].locator("[data-add-agreement] button[type=submit]").click()
                helpers[0].wait_for_selector("[data-sync-status][data-state=saved]")
                # Ayşe is typing in the first agreement: her name is on that field.
                helpers[0].locator("[data-agreement] .field-when .cm-content").first.click()
                helpers[0].keyboard.type("Altijd, ook 's nachts")
                for language in ("nl", "en"):
                    for name, device in DEVICES.items():
                        context = browser.new_context(**device, locale="nl-NL")
                        page = plan_on(context, demo, family[0], language)
                        page.wait_for_selector("[data-sync-status][data-state=saved]")
                        page.wait_for_selector(".typing-tag:not([hidden])")
                        page.evaluate(  # the bar on top, then the agreements
                            """() => window.scrollTo(0, window.scrollY - 70 +
                                document.querySelector('#plan-agreements-title')
                                    .getBoundingClientRect().top)"""
                        )
                        page.screenshot(path=str(OUT / f"plan-{name}-{language}.png"))
                        if name == "phone":
                            page.locator("[data-drawer-toggle]").click()
                            page.wait_for_selector("[data-drawer]:not([hidden])")
                            page.screenshot(path=str(OUT / f"plan-phone-info-{language}.png"))
                        context.close()
                console_in_private_time(browser, demo, family[1])  # she kept Dutch
                presentation(browser, demo, family[0])
                compass(browser, server)
                arabic(browser, in_arabic)
                browser.close()
        finally:
            stop_server(server)
    print(f"wrote {len(list(OUT.glob('*.png')))} screenshots to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
