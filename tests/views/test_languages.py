"""A person's language, chosen by the coordinator when adding them: it is on the list, their
invitation is written in it, and their own pages open in it (right to left for Arabic). A
language Kring does not speak is refused with the reason, and nobody is added."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from server import i18n
from server.views import common
from tests.support.people import as_, demo_conference, server_store
from tests.support.server import LiveServer

pytestmark = pytest.mark.usefixtures("devices_closed")


def in_language(language: str, dutch: str, **params: object) -> str:
    with i18n.using(language):
        return i18n.gettext(dutch, **params)


async def test_a_person_added_in_arabic_is_invited_and_welcomed_in_arabic(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "preparation")
    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        page = await coordinator.get(f"/conferences/{conference.id}")
        # the form offers every language under its own name, Dutch first
        offered = re.findall(r'<option value="(\w\w)" lang="\1"[^>]*>([^<]+)</option>', page.text)
        assert offered[:5] == list(i18n.LANGUAGES.items())

        refused = await coordinator.post(
            f"/conferences/{conference.id}/participants",
            data={"name": "Fatima", "role": "network_member", "email": "", "language": "xx"},
        )
        assert refused.status_code == 400
        assert "Kies een taal uit de lijst." in html.unescape(refused.text)
        added = await coordinator.post(
            f"/conferences/{conference.id}/participants",
            data={"name": "Fatima", "role": "network_member", "email": "", "language": "ar"},
        )
        assert added.status_code == 200, added.text
        assert 'lang="ar">· العربية</span>' in added.text  # the list says which language
        async with server_store(live_server) as store:
            people = [r.participant for r in await store.participants(conference.id)]
        fatima = [p for p in people if p.name == "Fatima"]
        assert [p.language for p in fatima] == ["ar"]  # added once, in Arabic

        # her invitation is written in Arabic, on the coordinator's Dutch page
        invite = await coordinator.get(
            f"/conferences/{conference.id}/participants/{fatima[0].id}/invite"
        )
        assert '<option value="ar" lang="ar" selected>' in invite.text
        assert '<p class="prewrap" lang="ar">' in invite.text
        assert '<html lang="nl" dir="ltr">' in invite.text
        link = await coordinator.post(
            f"/conferences/{conference.id}/participants/{fatima[0].id}/invite/share",
            data={"language": "ar"},
        )
        assert link.status_code == 200, link.text
        url = re.search(r"http://[^\s<\"]+/i/[\w-]+", link.text)
        assert url, "the hand-out shows her new link"

    # her own pages open in Arabic, right to left, on any device
    async with httpx.AsyncClient(
        base_url=live_server.url, headers={"origin": live_server.url}, timeout=10
    ) as her_phone:
        opened = await her_phone.post(url.group(0).removeprefix(live_server.url))
        assert opened.status_code == 303
        landing = await her_phone.get(opened.headers["location"])
        assert '<html lang="ar" dir="rtl">' in landing.text
        assert html.escape(in_language("ar", "Je bent hier als")) in landing.text
        assert "Fatima" in landing.text


@pytest.mark.parametrize(
    ("name", "plain"),
    [
        ("plan-versie-2.pdf", "plan-versie-2.pdf"),
        ("ağ-pusulası.pdf", "a-pusulas.pdf"),
        ("خطة-2.pdf", "2.pdf"),
        ("شبكة.pdf", "kring.pdf"),
        # what follows the last dot is the name's too: no quote, slash or line may escape
        ('."; evil=1', "kring"),
        (".pdf/../../etc/passwd", "kring"),
        (".x\r\nSet-Cookie: a=b", "kring"),
    ],
)
def test_a_download_names_its_file_safely_in_any_script(name: str, plain: str) -> None:
    from urllib.parse import unquote

    response = common.download(b"%PDF-", "application/pdf", name)
    disposition = response.headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    # attachment; filename="..."; filename*=UTF-8''... and nothing else
    found = re.fullmatch(
        r'attachment; filename="([^"\\]*)"; filename\*=UTF-8\'\'(\S*)', disposition
    )
    assert found, disposition
    assert found[1] == plain
    assert re.fullmatch(r"[A-Za-z0-9!#$&+.^_`|~%-]*", found[2]), "RFC 5987 attr-chars only"
    assert unquote(found[2]) == name
