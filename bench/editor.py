"""What a family feels in the plan editor: how long after a keystroke the tablet says
"saved" (the server acknowledged it, after its commit), and how long until the other tablets
show it. Real `kring serve` on loopback (SQLite, synchronous=FULL), real Chromium tablets.

    .venv/bin/python bench/editor.py             # 3 tablets, 300 keystrokes at 20 a second
    .venv/bin/python bench/editor.py --tablets 6 --keys 600

Prints figures; asserts nothing (speed targets live here, never in tests).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.support.server import make_instance, start_server, stop_server  # noqa: E402

# In the typing tablet: the moment each update message leaves, and the moment the server's
# "saved" for it arrives (they come in order, one per update message).
MEASURE_ACKS = """() => {
  const live = window.kringPlan.live;
  const sentAt = [];
  window.benchAcks = [];
  const ws = live.provider.ws;
  const send = ws.send.bind(ws);
  ws.send = (data) => {
    const bytes = new Uint8Array(data);
    if (bytes[0] === 0 && bytes[1] === 2) sentAt.push(performance.now());
    send(data);
  };
  const saved = live.provider.messageHandlers[100];
  live.provider.messageHandlers[100] = (...args) => {
    const at = sentAt.shift();
    if (at !== undefined) window.benchAcks.push(performance.now() - at);
    return saved(...args);
  };
}"""
# In a watching tablet: when the text of the first agreement's "what" reached each length.
MEASURE_ARRIVALS = """() => {
  window.benchArrivals = {};
  const text = window.kringPlan.agreements.get(0).get("what");
  text.observe(() => { window.benchArrivals[text.length] = Date.now(); });
}"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def line(name: str, values: list[float]) -> str:
    return (
        f"{name:<34} n={len(values):<5} p50={statistics.median(values):6.1f} ms  "
        f"p95={percentile(values, 0.95):6.1f} ms  max={max(values):6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tablets", type=int, default=3, help="tablets in the room (>= 2)")
    parser.add_argument("--keys", type=int, default=300, help="keystrokes typed")
    parser.add_argument("--delay", type=int, default=50, help="ms between keystrokes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server = start_server(make_instance(Path(folder)))
        try:
            demo = server.instance.demo("--phase", "private_time")
            family = [p for p in demo["participants"] if p["role"] in ("client", "network_member")]
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                pages: list[Any] = []
                for person in family[: max(2, args.tablets)]:
                    context = browser.new_context(viewport={"width": 1280, "height": 800})
                    page = context.new_page()
                    page.goto(person["invitation_url"])
                    page.locator("main form button[type=submit]").first.click()
                    page.goto(f"{page.url.split('?')[0].rstrip('/')}/plan")
                    page.wait_for_selector("[data-sync-status][data-state=saved]")
                    pages.append(page)
                typist, watchers = pages[0], pages[1:]
                typist.fill("#new-what", "Plan")
                typist.locator("[data-add-agreement] button[type=submit]").click()
                for page in pages:
                    page.wait_for_selector("[data-agreement]")
                typist.evaluate(MEASURE_ACKS)
                for page in watchers:
                    page.evaluate(MEASURE_ARRIVALS)
                typist.locator(".field-what .cm-content").first.click()
                typist.keyboard.press("End")
                typed_at: list[float] = []
                started = time.monotonic()
                for _ in range(args.keys):
                    typed_at.append(time.time() * 1000)
                    typist.keyboard.type("a")
                    typist.wait_for_timeout(args.delay)
                typist.wait_for_selector("[data-sync-status][data-state=saved]", timeout=30_000)
                elapsed = time.monotonic() - started
                acks = typist.evaluate("window.benchAcks")
                relays: list[float] = []
                for page in watchers:
                    page.wait_for_function(
                        f"Object.keys(window.benchArrivals).length >= {args.keys}", timeout=30_000
                    )
                    arrivals = page.evaluate("window.benchArrivals")
                    base = len("Plan")
                    relays += [
                        arrivals[str(base + i + 1)] - typed_at[i]
                        for i in range(args.keys)
                        if str(base + i + 1) in arrivals
                    ]
                browser.close()
        finally:
            stop_server(server)
    print(f"{len(pages)} tablets, {args.keys} keystrokes in {elapsed:.1f} s (Chromium, loopback)")
    print(line("keystroke -> 'saved' on the tablet", acks))
    print(line("keystroke -> shown on other tablets", relays))
    print("(saved = the server committed it to SQLite with synchronous=FULL, then acknowledged;")
    print(" the other tablets see an edit only after that commit)")


if __name__ == "__main__":
    main()
