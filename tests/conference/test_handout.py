"""Invitations that reach people, on a real `kring serve` that mails through a real SMTP server
on loopback (aiosmtpd): from a person's invitation page the coordinator shares, WhatsApps,
texts, mails and prints their invitation; each way makes a working link of its own, recorded
with how it went out, and ends none of the person's earlier links. The texts are in the
person's own language; a mail that is not delivered leaves no working link behind."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from urllib.parse import unquote

import httpx
import pytest
import zxingcpp
from PIL import Image, ImageDraw

from tests.support.mail import Inbox, body
from tests.support.people import as_, demo_conference, ids_by_role, server_store
from tests.support.server import LiveServer, free_port, make_instance, serving

CONTACT = {"contact_phone": "06 12345678", "contact_email": "lotte@wijkteam.example"}
A_LINK = re.compile(r"http://127\.0\.0\.1:\d+/i/[A-Za-z0-9_-]{43}")


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    box = Inbox(port=free_port())
    box.start()
    yield box
    box.stop()


@pytest.fixture(scope="module")
def mailing_server(tmp_path_factory: pytest.TempPathFactory, inbox: Inbox) -> Iterator[LiveServer]:
    instance = make_instance(
        tmp_path_factory.mktemp("kring"),
        KRING_SMTP_HOST="127.0.0.1",
        KRING_SMTP_PORT=str(inbox.port),
        KRING_SMTP_SECURITY="none",
        KRING_SMTP_FROM="Kring <kring@example.org>",
    )
    with serving(instance) as server:
        yield server


def qr_text(svg: str) -> str:
    """What a phone's camera reads in a QR code as segno draws it inline (one path of
    horizontal strokes, one module wide): the strokes are drawn on white, then decoded."""
    found = re.search(r'<svg viewBox="0 0 (\d+) (\d+)".*?\bd="([^"]+)"', svg, re.DOTALL)
    assert found, "an inline QR code"
    scale = int(re.search(r'transform="scale\((\d+)\)"', svg)[1])  # type: ignore[index]
    size = int(found[1]) // scale
    image = Image.new("L", ((size + 8) * 8, (size + 8) * 8), 255)
    draw = ImageDraw.Draw(image)
    x = y = 0.0
    for command, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?:\s(-?[\d.]+))?", found[3]):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            left, top = (x + 4) * 8, (y - 0.5 + 4) * 8
            draw.rectangle([left, top, left + float(a) * 8 - 1, top + 7], fill=0)
            x += float(a)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    decoded = zxingcpp.read_barcodes(Image.open(buffer))
    assert len(decoded) == 1, "one readable QR code"
    return str(decoded[0].text)


def ready_text(page: str) -> str:
    """The message on the page that answers a hand-out, as the copy button copies it."""
    found = re.search(r'id="handout-text" lang="(\w+)">(.*?)</p>', page, re.DOTALL)
    assert found, page
    return html.unescape(found[2])


def href(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}" href="([^"]+)"', page)
    assert found, element_id
    return html.unescape(found[1])


def working_links(page: str, person: int) -> dict[str, int]:
    """How many working links the person has in the participant list, by how each went out."""
    row = re.search(rf'<tr id="participant-{person}">(.*?)</tr>', page, re.DOTALL)
    assert row
    found: dict[str, int] = {}
    for channel in re.findall(r'<li id="link-row-\d+">\s*<span><strong>([^<]+)</strong>', row[1]):
        found[channel] = found.get(channel, 0) + 1
    return found


async def opens(url: str) -> int:
    """A new device opens the link and says "that's me": 303 when the link works."""
    async with httpx.AsyncClient(headers={"origin": url.split("/i/")[0]}, timeout=10) as device:
        return (await device.post(url)).status_code


async def test_each_way_hands_out_a_working_link_of_its_own_in_the_persons_language(
    mailing_server: LiveServer, inbox: Inbox
) -> None:
    conference = await demo_conference(mailing_server, "preparation")
    people = await ids_by_role(conference, "client", "network_member")
    sam, ayse = people["client"], people["network_member"]
    first_link = conference.person("client")["invitation_url"]
    async with as_(conference, conference.cookie("client")) as sams_phone:
        chosen = await sams_phone.post("/language", data={"language": "en", "next": "/"})
        assert chosen.status_code == 303, "Sam reads Kring in English"
    async with server_store(conference) as store:
        day = (await store.conference(conference.id)).meeting_date  # type: ignore[union-attr]
    assert day is not None
    english_day = f"{day:%A}, {day.day} {day:%B} {day.year}"
    invite = f"/conferences/{conference.id}/participants/{sam}/invite"

    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        assert (await coordinator.post("/account/contact", data=CONTACT)).status_code == 200
        page = await coordinator.get(invite)
        assert page.status_code == 200
        assert '<option value="en" lang="en" selected>' in page.text, "Sam's own language"
        assert "Dear Sam Yılmaz," in html.unescape(page.text), "the message, before its link"

        shared = await coordinator.post(f"{invite}/share", data={"language": "en"})
        assert shared.status_code == 200 and shared.headers["cache-control"] == "no-store"
        text = ready_text(shared.text)
        assert text.startswith("Dear Sam Yılmaz,\n\nYou are invited to the conference about Sam")
        assert f"When: {english_day}, from 14:00 to 17:00" in text
        assert "Where: Buurthuis De Kring, Kringweg 1, 3511 AA Utrecht" in text
        assert text.endswith(
            "Questions? Lotte Hendriks, the coordinator: 06 12345678, lotte@wijkteam.example"
        )
        [share_link] = A_LINK.findall(text)

        whatsapp = await coordinator.post(
            f"{invite}/whatsapp", data={"language": "en", "phone": "06 1234 5678"}
        )
        wa_me = href(whatsapp.text, "open-whatsapp")
        assert wa_me.startswith("https://wa.me/31612345678?text=Dear%20Sam")
        wa_text = unquote(wa_me.split("?text=", 1)[1])
        assert wa_text == ready_text(whatsapp.text) and "You are invited" in wa_text
        [whatsapp_link] = A_LINK.findall(wa_text)

        sms = await coordinator.post(f"{invite}/sms", data={"language": "en", "phone": ""})
        sms_uri = href(sms.text, "open-sms")
        assert sms_uri.startswith("sms:?&body=Dear%20Sam"), "no number: chosen in the app"
        [sms_link] = A_LINK.findall(unquote(sms_uri))

        mailed = await coordinator.post(
            f"{invite}/mail", data={"language": "en", "email": "sam@example.org"}
        )
        assert mailed.status_code == 200
        assert "De uitnodiging is gemaild naar sam@example.org" in mailed.text, (
            "the coordinator's page stays in the coordinator's language"
        )
        assert not A_LINK.search(mailed.text), "the mailed link is in the mail only"
        inbox.wait_for(1)
        [mail] = inbox.to("sam@example.org")
        assert mail["Subject"] == "Invitation: conference about Sam Yılmaz"
        assert mail["Content-Language"] == "en"
        assert mail["Reply-To"].addresses[0].addr_spec == "lotte@wijkteam.example"
        mail_text = body(mail)
        assert "2. Private time" in mail_text and "Hoe zorgen we er samen voor" in mail_text
        [mail_link] = A_LINK.findall(mail_text)

        letter = await coordinator.post(f"{invite}/letter", data={"language": "en"})
        assert letter.status_code == 200 and letter.headers["cache-control"] == "no-store"
        printed = html.unescape(letter.text)
        assert '<article class="letter stack" lang="en"' in printed
        assert english_day in printed and "Buurthuis De Kring" in printed
        assert "Kringweg 1, 3511 AA Utrecht" in printed
        assert "Hoe zorgen we er samen voor dat Sam veilig thuis kan blijven wonen" in printed
        assert "2. Private time" in printed and "06 12345678" in printed
        letter_link = qr_text(printed.split('<div class="qr">', 1)[1])
        assert f"<code>{letter_link}</code>" in printed, "the QR code is the printed link"

        # A Dutch family member, who never chose a language, gets Dutch.
        dutch = await coordinator.post(
            f"/conferences/{conference.id}/participants/{ayse}/invite/share", data={}
        )
        assert ready_text(dutch.text).startswith("Beste Ayşe Yılmaz,\n\nJe bent uitgenodigd")

        links = [first_link, share_link, whatsapp_link, sms_link, mail_link, letter_link]
        assert len(set(links)) == 6, "a link of its own for each way"
        for link in links:
            assert await opens(link) == 303, link
        listing = (await coordinator.get(f"/conferences/{conference.id}")).text
        assert working_links(listing, sam) == {
            "Bericht": 1,
            "Gedeeld": 1,
            "WhatsApp": 1,
            "Sms": 1,
            "E-mail": 1,
            "Brief": 1,
        }
        audit = html.unescape((await coordinator.get(f"/conferences/{conference.id}/audit")).text)
        for sentence in (
            "Lotte Hendriks maakte een nieuwe persoonlijke link voor Sam Yılmaz (WhatsApp).",
            "Lotte Hendriks mailde Sam Yılmaz een uitnodiging met een nieuwe persoonlijke link.",
        ):
            assert sentence in audit

        # Ending the WhatsApp link leaves every other one working.
        ended_id = re.search(r'<li id="link-row-(\d+)">\s*<span><strong>WhatsApp</strong>', listing)
        assert ended_id
        ended = await coordinator.post(
            f"/conferences/{conference.id}/participants/{sam}/links/{ended_id[1]}/end"
        )
        assert ended.status_code == 200
        assert await opens(whatsapp_link) == 410
        for link in (share_link, sms_link, mail_link, letter_link):
            assert await opens(link) == 303, link

        # A mail the server cannot deliver leaves no working link behind.
        inbox.stop()
        try:
            failed = await coordinator.post(
                f"{invite}/mail", data={"language": "en", "email": "sam@example.org"}
            )
        finally:
            inbox.start()
        assert failed.status_code == 502
        assert "De mailserver is niet bereikbaar" in html.unescape(failed.text)
        assert 'value="sam@example.org"' in failed.text, "what was typed stays"
        bad = await coordinator.post(f"{invite}/mail", data={"email": "sam@voorbeeld"})
        assert bad.status_code == 400 and 'id="f-mail-email-error"' in bad.text
        after = (await coordinator.get(f"/conferences/{conference.id}")).text
        assert working_links(after, sam) == {
            "Bericht": 1,
            "Gedeeld": 1,
            "Sms": 1,
            "E-mail": 1,
            "Brief": 1,
        }
        assert len(inbox.received) == 1
