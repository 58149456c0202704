"""A calendar app and a person's feed: the feed's address as a page shows it, and a plain
GET without cookies, as the app sends it."""

from __future__ import annotations

import html
import re

import httpx

FEED_URL = re.compile(r'<code id="calendar-feed">([^<]+)</code>')


def fetch(url: str) -> httpx.Response:
    """What a calendar app does: a plain GET, no cookies, no Origin."""
    return httpx.get(url, timeout=10)


def feed_url_on(page: httpx.Response) -> str:
    found = FEED_URL.search(page.text)
    assert found, "the page shows the person's calendar feed"
    return html.unescape(found[1])
