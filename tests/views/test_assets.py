"""Built assets are served by WhiteNoise: hashed bundles cached for a year, nothing external."""

from __future__ import annotations

import json
import re

import httpx

from server.views.assets import MANIFEST
from tests.support.server import LiveServer


def test_pages_link_the_hashed_bundles_which_are_cached_for_a_year(
    live_server: LiveServer,
) -> None:
    manifest = json.loads(MANIFEST.read_text())
    home = httpx.get(f"{live_server.url}/", timeout=10)
    for name in ("app.js", "app.css"):
        path = manifest[name]
        assert re.fullmatch(r"build/app-[A-Z0-9]+\.(js|css)", path)
        assert f"/static/{path}" in home.text
        asset = httpx.get(
            f"{live_server.url}/static/{path}", timeout=10, headers={"accept-encoding": "gzip"}
        )
        assert asset.status_code == 200
        assert asset.headers["content-encoding"] == "gzip", "precompressed by the build"
        cache = asset.headers["cache-control"]
        assert "max-age=315360000" in cache and "immutable" in cache


def test_the_bundle_holds_htmx_and_its_sse_extension(live_server: LiveServer) -> None:
    manifest = json.loads(MANIFEST.read_text())
    script = httpx.get(f"{live_server.url}/static/{manifest['app.js']}", timeout=10).text
    assert "hx-swap-oob" in script, "htmx itself"
    assert "sse-connect" in script


def test_unhashed_files_are_revalidated_within_the_hour(live_server: LiveServer) -> None:
    icon = httpx.get(f"{live_server.url}/static/favicon.svg", timeout=10)
    assert icon.status_code == 200
    assert icon.headers["cache-control"] == "max-age=3600, public"
    missing = httpx.get(f"{live_server.url}/static/nope.js", timeout=10)
    assert missing.status_code == 404


def test_pages_forbid_loading_from_other_hosts(live_server: LiveServer) -> None:
    home = httpx.get(f"{live_server.url}/login", timeout=10)
    policy = home.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert not re.search(r"(src|href)=\"(https?:)?//", home.text)
