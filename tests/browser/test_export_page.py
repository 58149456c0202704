"""The export in a real Chromium: the coordinator taps "Alles downloaden (zip)" for a
conference whose export takes a while, reads "bezig" on its page, and, without reloading, sees
the download link appear and saves the zip."""

from __future__ import annotations

import zipfile
from typing import Any

import pytest

from server.storage.store import Store
from tests.support.browser import serious_accessibility_problems
from tests.support.databases import in_store
from tests.support.people import DemoConference
from tests.support.plans import long_plan
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser

VERSIONS = 5  # long plans: their PDFs take several seconds, so the page has to wait


def test_the_export_page_says_bezig_then_offers_the_zip_without_a_reload(
    live_server: LiveServer, browser: Any
) -> None:
    from playwright.sync_api import expect

    conference = DemoConference(live_server, live_server.instance.demo("--phase", "presentation"))
    cid = conference.id

    async def long_versions(store: Store) -> None:
        for number in range(1, VERSIONS + 1):
            await store.add_plan_version(cid, number, b"", long_plan(400), "test")
        await store.set_phase(cid, "action_team")

    in_store(live_server.instance.database_url, long_versions)
    name, value = conference.coordinator_cookie().split("=", 1)
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(60_000)
    context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/conferences/{cid}")
        page.get_by_role("button", name="Alles downloaden (zip)").click()
        job = page.locator("#export-job")
        expect(job).to_have_attribute("data-export-state", "running")
        expect(job).to_contain_text("Bezig met de export")
        assert serious_accessibility_problems(page) == []
        page.evaluate("window.kringStayed = true")  # gone if the page were loaded again

        expect(job).to_have_attribute("data-export-state", "ready", timeout=60_000)
        assert page.evaluate("window.kringStayed === true")
        expect(job).to_contain_text("De export is klaar.")
        with page.expect_download() as saving:
            page.get_by_role("link", name="Downloaden (zip)").click()
        archive = zipfile.ZipFile(saving.value.path())
        assert f"plan-versie-{VERSIONS}.pdf" in archive.namelist()
    finally:
        context.close()
