""" "Switch person" on a shared tablet by scanning the QR code on someone's invitation card:
Chromium is given a fake camera that shows the card's QR code (a Y4M video made here with
segno, the library that draws the cards), and the tablet switches to that person."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import segno

from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    open_plan,
    serious_accessibility_problems,
)
from tests.support.server import LiveServer, missing_service

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 640, 480


def fake_camera_video(text: str, path: Path) -> Path:
    """A still camera picture of ``text``'s QR code, as the raw YUV 4:2:0 video (Y4M) that
    Chromium's fake capture device plays: black modules on white, grey chroma."""
    matrix = [list(row) for row in segno.make(text, error="m").matrix]
    border = 4
    size = len(matrix) + 2 * border
    scale = min(WIDTH, HEIGHT) * 3 // 4 // size
    left, top = (WIDTH - size * scale) // 2, (HEIGHT - size * scale) // 2
    luma = bytearray(b"\xff" * (WIDTH * HEIGHT))
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if not dark:
                continue
            for dy in range(scale):
                start = (top + (y + border) * scale + dy) * WIDTH + left + (x + border) * scale
                luma[start : start + scale] = b"\x00" * scale
    chroma = b"\x80" * (WIDTH // 2 * HEIGHT // 2)
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    header = f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * 2)
    return path


@pytest.fixture(scope="module")
def family(live_server: LiveServer) -> dict[str, Any]:
    return live_server.instance.demo("--phase", "private_time")


@pytest.fixture(scope="module")
def camera_browser(
    family: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """Chromium whose camera shows the QR code of the second family member's card."""
    import shutil

    if not shutil.which("chromium"):
        missing_service("Chromium", "run `make test` (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    card = family["participants"][1]["invitation_url"]
    video = fake_camera_video(card, tmp_path_factory.mktemp("camera") / "card.y4m")
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        yield browser
        browser.close()


def test_a_tablet_switches_person_by_scanning_the_card_and_says_so_when_the_camera_is_refused(
    live_server: LiveServer, camera_browser: Any, family: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    first, second = family["participants"][0], family["participants"][1]
    tablet = open_plan(camera_browser, live_server.url, first, permissions=["camera"])
    token = second["invitation_url"].rsplit("/", 1)[1]
    accepted = {
        text: tablet.evaluate("(text) => window.kringScan.invitationPath(text)", text)
        for text in (
            second["invitation_url"],
            f"/i/{token}",
            f"https://elders.example/i/{token}",  # another site's /i/
            f"{live_server.url}/i/{token}?next=https://elders.example",
            f"{live_server.url}/c/1",
            "WIFI:S:buurthuis;T:WPA;P:geheim;;",
        )
    }
    assert list(accepted.values()) == [f"/i/{token}", f"/i/{token}", None, None, None, None]
    fetched: list[str] = []
    tablet.on("request", lambda request: fetched.append(request.url))
    tablet.locator("summary", has_text="Dit apparaat").click()
    tablet.get_by_role("button", name="Scan de QR-code van een kaart").click()
    expect(tablet.get_by_role("heading", name=second["name"])).to_be_visible(timeout=20_000)
    elsewhere = [url for url in fetched if not url.startswith((live_server.url, "data:", "blob:"))]
    assert not elsewhere, "the decoder comes from Kring itself, never a CDN"
    if not tablet.evaluate("'BarcodeDetector' in window"):
        assert any(url.endswith(".wasm") for url in fetched), "ZXing's decoder, from /static/"
    assert tablet.url == second["invitation_url"], "the card's own link, via /switch"
    assert tablet.get_by_text("Dit is de persoonlijke link van").is_visible()
    tablet.get_by_role("button", name="Ja, dat ben ik: verder").click()
    expect(tablet.locator("h1")).to_contain_text(second["name"])
    tablet.context.close()

    refused = open_plan(camera_browser, live_server.url, first)  # no camera permission
    refused.locator("summary", has_text="Dit apparaat").click()
    refused.get_by_role("button", name="Scan de QR-code van een kaart").click()
    expect(refused.locator("[data-scan-status]")).to_have_text(
        "Kring mag de camera niet gebruiken. Sta de camera toe in de instellingen van de "
        "browser (bij het slotje of de camera naast het adres), of plak de link hierboven.",
        timeout=TIMEOUT_MS,
    )
    assert refused.locator("#switch-link").is_visible(), "pasting still works"
    assert serious_accessibility_problems(refused) == []
    refused.context.close()
