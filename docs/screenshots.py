"""Take the README's screenshots of the plan editor: a tablet (landscape) and a phone
(portrait), in Dutch and in English, on a real `kring serve` with the demo conference.

    .venv/bin/python docs/screenshots.py      (or: make screenshots)

Writes docs/screenshots/plan-{tablet,phone}-{nl,en}.png.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
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


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        server = start_server(make_instance(Path(folder)))
        try:
            demo = server.instance.demo("--phase", "private_time")
            family = [p for p in demo["participants"] if p["role"] in ("client", "network_member")]
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                first = True
                for language in ("nl", "en"):
                    for name, device in DEVICES.items():
                        context = browser.new_context(**device, locale="nl-NL")
                        page = context.new_page()
                        page.goto(family[0]["invitation_url"])
                        switch = page.get_by_role("button", name="English")
                        if language == "en" and switch.count():
                            switch.first.click()  # remembered for this person from now on
                        page.locator("main form button[type=submit]").first.click()
                        page.goto(f"{page.url.split('?')[0].rstrip('/')}/plan")
                        page.wait_for_selector("[data-plan-editor][data-ready]")
                        if first:
                            for area, what in AGREEMENTS:
                                page.select_option("#new-area", area)
                                page.fill("#new-what", what)
                                page.locator("[data-add-agreement] button[type=submit]").click()
                            first = False
                        page.wait_for_selector("[data-sync-status][data-state=saved]")
                        page.locator("#plan-agreements-title").scroll_into_view_if_needed()
                        page.screenshot(path=str(OUT / f"plan-{name}-{language}.png"))
                        context.close()
                browser.close()
        finally:
            stop_server(server)
    print(f"wrote {len(list(OUT.glob('*.png')))} screenshots to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
