"""The client's network compass as a PDF, read back with pypdf the way a reader (or a screen
reader) would: every part in the reader's language, the map drawn with its arrows and listed
in words; and the SVG adapter that lets fpdf2 draw the map faithfully."""

from __future__ import annotations

import io
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from pycrdt import Doc, Map
from pypdf import PdfReader

from server import i18n
from server.formats.compasspdf import render_compass_pdf
from server.formats.svgprint import SVG, for_print
from server.rules.compass import add_question, write_text
from server.rules.compasscopy import compass_copy
from server.rules.networkmap import add_entry, map_svg, read_map

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MADE = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)  # 14:00 in Amsterdam
ARABIC_NAME = "فاطمة"


def compass_state() -> bytes:
    doc: Doc[Any] = Doc()
    write_text(doc, "answers", "if_nothing", "Dan woon ik nog bij mijn moeder en gaat het mis.")
    write_text(doc, "answers", "wishes_self", "Een eigen kamer 🏠, en weer naar school.")
    write_text(doc, "strengths", "housing", "Ik kan goed koken en houd mijn kamer netjes.")
    write_text(doc, "strengths", "safety", f"Ik weet wie ik bel als het misgaat: {ARABIC_NAME}.")
    doc.get("priorities", type=Map)["housing"] = True
    add_question(doc, "Waar kan ik wonen?", to_conference=True)
    add_question(doc, "Wie helpt met school?")
    add_entry(doc, "a", "Ayşe Yılmaz", kind="family", ring=1, angle=30, flow="both")
    add_entry(doc, "b", "Jan de Boer", ring=2, angle=120, tie="tenuous", flow="to_client")
    add_entry(doc, "c", "Małgorzata", kind="work", ring=3, angle=200, tie="stressful", gone=True)
    add_entry(doc, "d", "", kind="friend", ring=2, angle=290, gap=True)
    add_entry(doc, "e", "Emre", ring=1, angle=250, child=True, age=8)
    add_entry(doc, "f", ARABIC_NAME, kind="friend", ring=3, angle=60)
    return doc.get_update()


def _control(char: str) -> bool:
    return char != "\n" and unicodedata.category(char) == "Cc"


def printed(state: bytes, language: str) -> tuple[list[str], PdfReader]:
    with i18n.using(language):
        pdf = render_compass_pdf(compass_copy(state, "Sam Yılmaz", MADE), AMSTERDAM)
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    # Arabic letters folded back (NFKC), without the control codes HarfBuzz's dots come out as
    pages = [
        "".join(c for c in unicodedata.normalize("NFKC", page.extract_text()) if not _control(c))
        for page in reader.pages
    ]
    return pages, reader


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_compass_prints_in_the_readers_language_with_the_map_drawn_and_listed(
    language: str,
) -> None:
    pages, reader = printed(compass_state(), language)
    text = "\n".join(pages)
    words = {
        "nl": (
            "Netwerkkompas van Sam Yılmaz",
            "Gedownload op 01-05-2026 14:00.",
            "Als er niets gebeurt: hoe is het over een half jaar?\nDan woon ik nog bij",
            "Wat wens ik voor de anderen?\nNog niets ingevuld.",
            "Wat eerst komt\n• Wonen & dagelijks leven",
            "• Waar kan ik wonen? (naar de conferentie)\n• Wie helpt met school?",
            "Ayşe Yılmaz: Familie, heel dichtbij, sterke band, steun over en weer",
            "pagina 1 van",
        ),
        "en": (
            "Network compass of Sam Yılmaz",
            "Downloaded on 01/05/2026 14:00.",
            "If nothing is done: how will things be six months from now?\nDan woon ik nog bij",
            "What do I wish for the others?\nNothing filled in yet.",
            "What comes first\n• Housing & daily life",
            "• Waar kan ik wonen? (to the conference)\n• Wie helpt met school?",
            "Ayşe Yılmaz: Family, very close, strong tie, support both ways",
            "page 1 of",
        ),
    }[language]
    for expected in words:
        assert expected in text, expected
    assert reader.metadata is not None and reader.metadata.title == words[0]
    # the client's own words as written; an emoji the fonts lack is one "�", nothing lost
    assert "Ik kan goed koken en houd mijn kamer netjes." in text
    assert "Een eigen kamer �, en weer naar school." in text
    # the map: on a page of its own, drawn (its names, the client in the middle, the
    # legend), then everyone in words, a child with their age, the gap as "?"
    drawn = next(page for page in pages if "Małgorzata" in page and "Sam Yılmaz\n" in page)
    assert pages.index(drawn) > 0
    assert all(name in drawn for name in ("Jan de Boer", "Emre (8)", "?"))
    listed = text.split("Wie er op de kaart staat" if language == "nl" else "Who is on the map")[1]
    for entry in read_map(compass_state()):
        if entry.name != ARABIC_NAME:
            assert f"\n{entry.shown_name}: " in listed, entry
    assert re.search(r"\nEmre \(8\): \w+", listed)
    # the Arabic name prints in the list (shaped, from the fallback font); the drawing,
    # whose text has no fallback font, shows "�" in its place rather than loose letters
    assert f"\n{ARABIC_NAME}" in listed and "\n�\n" in drawn
    assert len(pages) <= 4


def test_an_empty_compass_says_so_part_by_part() -> None:
    pages, _reader = printed(Doc().get_update(), "nl")
    text = "\n".join(pages)
    assert (
        text.count("Nog niets ingevuld.") == 4 + 3
    )  # four answers, strengths, priorities, questions
    assert "Netwerkkaart\nNog niemand op de kaart." in text
    assert len(pages) == 2


def test_the_map_is_made_ready_for_fpdf2_arrows_fonts_and_all() -> None:
    with i18n.using("en"):
        svg = map_svg(read_map(compass_state()), "Sam Yılmaz")
    assert "<marker" in svg and 'font-weight="700"' in svg  # what fpdf2 would not draw
    root = ElementTree.fromstring(for_print(svg, "notosans", lambda text: text.replace("ş", "s")))
    ns = {"svg": SVG}
    for gone in ("title", "desc", "defs", "marker"):
        assert root.findall(f".//svg:{gone}", ns) == []
    assert all("marker-start" not in e.attrib and "marker-end" not in e.attrib for e in root.iter())
    assert {e.get("font-family") for e in root.iter() if "font-family" in e.attrib} == {"notosans"}
    assert not any("font-weight" in e.attrib for e in root.iter())
    texts = root.findall(".//svg:text", ns)
    assert all("stroke" not in t.attrib for t in texts)
    assert "Ayse Yılmaz" in {t.text for t in texts}  # through the caller's cleaning
    # one arrowhead per marker: Ayşe's both ways (2), Jan's to the client (1); the legend's
    # samples (three), each a closed triangle in the line's colour
    heads = [p for p in root.iter(f"{{{SVG}}}path") if p.get("class") == "arrowhead"]
    assert len(heads) == 2 + 1 + 4
    assert all(p.get("d", "").endswith(" Z") and p.get("fill") for p in heads)


def test_an_arrowhead_points_out_of_the_line_at_either_end() -> None:
    line = (
        f'<svg xmlns="{SVG}"><line x1="0" y1="0" x2="100" y2="0" stroke="#123456" '
        'stroke-width="2" marker-start="url(#a)" marker-end="url(#a)"/></svg>'
    )
    heads = ElementTree.fromstring(for_print(line, "notosans", str)).findall(f"{{{SVG}}}path")
    points = [
        [
            tuple(map(float, pair.split(",")))
            for pair in re.findall(r"-?[\d.]+,-?[\d.]+", h.get("d", ""))
        ]
        for h in heads
    ]
    # a marker 5 line widths long whose tip lies a fifth of it past the end, pointing outwards
    tips = sorted(p[0] for p in points)
    assert tips == [(-2.0, 0.0), (102.0, 0.0)]
    assert all(h.get("fill") == "#123456" for h in heads)
    with pytest.raises(ValueError, match="entities"):
        for_print('<!DOCTYPE svg [<!ENTITY a "b">]><svg/>', "notosans", str)
