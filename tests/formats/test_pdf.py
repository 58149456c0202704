"""The PDF copy of a plan, read back with pypdf the way a reader (or a screen reader) would."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from server import i18n
from server.formats import fonts
from server.formats.pdf import AgreementLine, AnswerLine, ConditionLine, PlanCopy, render_pdf

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

ARABIC_NAME = "فاطمة الزهراء"
# pypdf gives the text in the order it stands on the page, left to right: a right-to-left
# name printed correctly comes out with its last word first.
ARABIC_NAME_ON_PAGE = "الزهراء فاطمة"
LONG_WORD = "".join(chr(ord("a") + i % 26) for i in range(300))
AREAS = ("Wonen & dagelijks leven", "School & werk", "Gezondheid & zorg")
A4 = (595.28, 841.89)  # points


def agreement(number: int, area: str = AREAS[0], **changes: str) -> AgreementLine:
    line = AgreementLine(
        life_area=area,
        what=f"Afspraak {number}: oma haalt Emre op dinsdag en donderdag van school",
        who="Ayşe Yılmaz",
        when="Elke dinsdag en donderdag om 15:00",
        where="Basisschool De Regenboog",
        backup="Dan belt Łukasz Żółkiewski de buurvrouw",
        request="",
        status="Open",
    )
    return replace(line, **changes)


def plan(**changes: Any) -> PlanCopy:
    copy = PlanCopy(
        client_name="Ayşe Yılmaz",
        question="Hoe zorgen we ervoor dat Emre en Elif veilig thuis kunnen blijven wonen?",
        meeting_date=date(2026, 3, 12),
        location="Buurthuis De Kring",
        version=2,
        frozen_at=datetime(2026, 7, 1, 10, 5, tzinfo=UTC),
        agreements=(
            agreement(1, request="Graag een gesprek met de jeugdconsulent over vervoer"),
            agreement(2, who=ARABIC_NAME, status="Gedaan"),
            agreement(3, AREAS[1], what="Łukasz helpt Elif elke week met huiswerk"),
            agreement(4, AREAS[2], what="Małgorzata gaat mee naar de huisarts", status="Loopt"),
        ),
        conditions=(
            ConditionLine("De kinderen slapen niet bij vader", "Jan de Vries", "met", ""),
            ConditionLine("Elke week contact met de voogd", "Jan de Vries", "not_met", "Lukt niet"),
            ConditionLine("Oma heeft een VOG", "Sanne Bakker", None, ""),
        ),
        answers=(
            AnswerLine(ARABIC_NAME, "Netwerklid", "agree", ""),
            AnswerLine("Łukasz Żółkiewski", "Familie", "not_yet", "Eerst met mijn baas praten"),
            AnswerLine("İbrahim Şahin", "Professional", None, ""),
        ),
        action_team=("Ayşe Yılmaz", "İbrahim Şahin"),
        clarifying_questions=("Wie betaalt de reiskosten?",),
        notes="We zijn trots op dit plan.",
    )
    return replace(copy, **changes)


@dataclass
class Printed:
    reader: PdfReader
    pages: list[str]  # each page's text as pypdf extracts it
    pieces: list[list[tuple[float, float, float, str]]]  # per page: x, y, font size, text

    @property
    def text(self) -> str:
        """All pages' text with Arabic presentation forms folded back (NFKC), without the
        zero-width joiners that glyphs standing for no character of their own copy as (the
        small mark of a final kaf), nor control characters."""
        text = "\n".join(self.pages)
        text = "".join(
            c for c in text if c == "\n" or (unicodedata.category(c) != "Cc" and c != "\u200d")
        )
        return unicodedata.normalize("NFKC", text)

    def fonts(self) -> dict[str, TTFont]:
        """The embedded font programs, by PostScript name without the subset tag."""
        fonts: dict[str, TTFont] = {}
        for page in self.reader.pages:
            for ref in page["/Resources"]["/Font"].values():
                font = ref.get_object()
                name = str(font["/BaseFont"]).split("+")[-1]
                descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
                program = descriptor.get_object()["/FontFile2"].get_object().get_data()
                fonts[name] = TTFont(io.BytesIO(program))
        return fonts


def render(copy: PlanCopy, zone: tzinfo = AMSTERDAM, language: str = "nl") -> Printed:
    with i18n.using(language):  # the reader's language
        pdf = render_pdf(copy, zone)
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    pages: list[str] = []
    pieces: list[list[tuple[float, float, float, str]]] = []
    for page in reader.pages:
        found: list[tuple[float, float, float, str]] = []

        def visit(text: str, cm: list[float], tm: list[float], _: Any, size: float) -> None:
            if text.strip():
                found.append((tm[4] + cm[4], tm[5] + cm[5], size, text))  # noqa: B023

        pages.append(page.extract_text(visitor_text=visit))
        pieces.append(found)
    return Printed(reader, pages, pieces)


def squash(text: str) -> str:
    """`text` without white space: pypdf guesses spaces around right-to-left runs."""
    return re.sub(r"\s+", "", text)


def assert_all_on_the_page(printed: Printed) -> None:
    """Every piece of text starts inside the A4 page, and all but the footer above it."""
    for page, pieces in zip(printed.reader.pages, printed.pieces, strict=True):
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A4)
        assert pieces
        for x, y, _, text in pieces:
            assert 0 < x < A4[0] and 0 < y < A4[1], text
        footer = min(y for _, y, _, _ in pieces)
        body = [y for _, y, _, text in pieces if not re.search(r"pagina \d+ van \d+", text)]
        assert min(body) > footer + 20


@pytest.fixture(scope="module")
def sample() -> Printed:
    return render(plan())


def test_the_time_a_plan_was_frozen_is_printed_on_the_callers_clock() -> None:
    """The caller gives the zone (the instance's KRING_TIMEZONE): 10:05 UTC is 06:05 in New
    York on the first of July."""
    text = render(plan(), ZoneInfo("America/New_York")).text
    assert "\nVersie 2, vastgesteld op 01-07-2026 06:05\n" in text


def test_the_plan_reads_as_written(sample: Printed) -> None:
    text = sample.text
    assert text.startswith("Plan van Ayşe Yılmaz\n")
    # 10:05 UTC on the first of July is 12:05 in Amsterdam (summer time)
    assert "\nVersie 2, vastgesteld op 01-07-2026 12:05\n" in text
    assert "\nConferentie\n12-03-2026\nPlaats\nBuurthuis De Kring\n" in text
    for heading in (
        "De vraag van deze conferentie",
        "Afspraken",
        "Aantekeningen",
        "Voorwaarden",
        "Verhelderende vragen",
        "Wie is het eens met het plan",
        "Actieteam",
    ):
        assert f"\n{heading}\n" in text
    assert "Hoe zorgen we ervoor dat Emre en Elif veilig thuis kunnen blijven wonen?" in text
    # a heading per life area, in the order given
    positions = [text.index(f"\n{area}\n") for area in AREAS]
    assert positions == sorted(positions)
    for written in (
        "Afspraak 1: oma haalt Emre op dinsdag en donderdag van school",
        "Łukasz helpt Elif elke week met huiswerk",
        "Małgorzata gaat mee naar de huisarts",
        "Elke dinsdag en donderdag om 15:00",
        "Basisschool De Regenboog",
        "Dan belt Łukasz Żółkiewski de buurvrouw",
        "Graag een gesprek met de jeugdconsulent over vervoer",
        "\nGedaan\n",
        "\nLoopt\n",
        "Aantekeningen\nWe zijn trots op dit plan.\n",
        "Verhelderende vragen\n• Wie betaalt de reiskosten?\n",
        "\nActieteam\n• Ayşe Yılmaz\n• İbrahim Şahin\n",
    ):
        assert written in text
    for label in ("Wat", "Wie", "Wanneer", "Waar", "Als het niet lukt", "Status"):
        assert text.count(f"\n{label}\n") == 4
    # only the agreement with a request to a professional shows one
    assert text.count("\nVraag aan een professional\n") == 1
    assert "\ufffd" not in text


def test_conditions_and_answers_say_where_they_stand(sample: Printed) -> None:
    text = sample.text
    assert "De kinderen slapen niet bij vader\ngesteld door Jan de Vries · voldaan\n" in text
    assert "gesteld door Jan de Vries · niet voldaan\nOpmerking: Lukt niet\n" in text
    assert "Oma heeft een VOG\ngesteld door Sanne Bakker · niet beoordeeld\n" in text
    assert "\n1 van de 3 is het eens met het plan.\n" in text
    assert squash(f"{ARABIC_NAME_ON_PAGE} (Netwerklid): eens (zelf)") in squash(text)
    assert "\nŁukasz Żółkiewski (Familie): nog niet (zelf)\nEerst met mijn baas praten\n" in text
    assert "\nİbrahim Şahin (Professional): geen antwoord\n" in text


def test_answers_say_how_they_were_given_and_count_among_those_present() -> None:
    answers = (
        AnswerLine(
            "Oma Fatma", "Netwerklid", "agree", "", recorded_by_coordinator=True, present=True
        ),
        AnswerLine("Sam", "Cliënt", "agree", "", present=True),
        AnswerLine("Noah", "Netwerklid", None, "", present=True),
        AnswerLine("Iris", "Professional", None, "", present=False),
    )
    text = render(plan(answers=answers)).text
    assert "\n2 van de 3 aanwezigen is het eens met het plan.\n" in text
    assert "\nOma Fatma (Netwerklid): eens (genoteerd door de coördinator)\n" in text
    assert "\nSam (Cliënt): eens (zelf)\n" in text
    assert "\nNiet bij de conferentie: Iris\n" in text and "Iris (Professional)" not in text


def test_title_and_fonts_travel_with_the_file(sample: Printed) -> None:
    assert sample.reader.metadata is not None
    assert sample.reader.metadata.title == "Plan van Ayşe Yılmaz"
    # only the fonts that come with Kring, embedded: nothing depends on the reader's fonts
    assert set(sample.fonts()) == {"NotoSans", "NotoSansArabic"}


def test_an_arabic_name_is_joined_and_right_to_left(sample: Printed) -> None:
    lines = [squash(line) for line in sample.text.split("\n")]
    # every glyph maps back to its letter, and the name runs right to left: on the page the
    # last word stands leftmost (here as the "Wie" of agreement 2 and in the answers)
    assert squash(ARABIC_NAME_ON_PAGE) in lines
    assert squash(ARABIC_NAME) not in squash(sample.text)
    # Shaped, the letters take their joined forms. The embedded subset's cmap names each
    # glyph by its presentation form; unshaped, it would hold only the isolated forms.
    forms = set(sample.fonts()["NotoSansArabic"].getBestCmap())
    assert {0xFEDF, 0xFE8E, 0xFEE4, 0xFEAE} <= forms  # initial lam, final alef, medial meem…
    assert not {0xFEDD, 0xFEE1, 0xFEAD} & forms  # isolated lam, meem, reh


def test_text_after_an_arabic_name_keeps_its_size(sample: Printed) -> None:
    # fpdf2 2.8.9 prints the line after one that starts in the Arabic fallback font in the
    # size set before that one (py-pdf/fpdf2#1772); server.formats.pdf works around it
    sizes = {text.strip(): size for pieces in sample.pieces for _, _, size, text in pieces}
    # after the Arabic name's line
    assert sizes["Łukasz Żółkiewski (Familie): nog niet (zelf)"] == 11
    assert sizes["Eerst met mijn baas praten"] == 10.5
    assert sizes["1 van de 3 is het eens met het plan."] == 10.5


def test_sixty_agreements_flow_over_pages_with_a_footer_on_each() -> None:
    agreements = tuple(agreement(n, AREAS[(n - 1) * len(AREAS) // 60]) for n in range(1, 61))
    printed = render(plan(agreements=agreements))
    pages = len(printed.pages)
    assert pages > 5
    for number, page in enumerate(printed.pages, start=1):
        assert page.endswith(f"\nPlan van Ayşe Yılmaz · versie 2 · pagina {number} van {pages}")
        # an agreement that fits on a page is not split over two
        assert len(re.findall("^Wat$", page, re.M)) == len(re.findall("^Status$", page, re.M))
    text = printed.text
    for n in range(1, 61):
        assert f"\nAfspraak {n}: oma haalt Emre op dinsdag en donderdag van school\n" in text
    for area in AREAS:
        assert text.count(f"\n{area}\n") == 1
    assert_all_on_the_page(printed)


def test_an_empty_plan_says_so() -> None:
    text = render(
        plan(
            meeting_date=None,
            location="",
            agreements=(),
            conditions=(),
            answers=(),
            action_team=(),
            clarifying_questions=(),
            notes="",
        )
    ).text
    assert "\nAfspraken\nNog geen afspraken.\n" in text
    assert "\nActieteam\nNog geen actieteam gekozen.\n" in text
    for absent in ("Voorwaarden", "Aantekeningen", "Verhelderende vragen", "Conferentie", "Plaats"):
        assert absent not in text
    assert text.endswith("pagina 1 van 1")


def test_awkward_input_prints_without_losing_text() -> None:
    emoji = "Goed gedaan 👍🏽 en 👨\u200d👩\u200d👧 en 🇳🇱!"
    long_text = " ".join(f"woord{n}" for n in range(700))  # more than a page
    awkward = agreement(
        1,
        area="",
        what=f"Begin {LONG_WORD} eind",
        who="",
        when="\n\n",
        where="\tbij oma\tthuis",
        backup="Eerste regel\nTweede regel\r\nDerde regel",
        request="   ",
        status="",
    )
    printed = render(
        plan(
            client_name=f"Naam{LONG_WORD}",
            question="",
            location="\x00\x07\u202eomgekeerd",
            agreements=(awkward, agreement(2, what=long_text)),
            conditions=(ConditionLine("", "", "unknown", ""),),
            answers=(AnswerLine("", "", "maybe", ""),),
            action_team=("", emoji),
            clarifying_questions=("\ud800 los", "{nb} blijft staan"),
            notes=emoji,
        )
    )
    text = printed.text
    # the 300-letter word wraps over lines instead of running off the page or being cut
    assert max(len(line) for line in text.split("\n")) < 100
    assert squash(f"Begin {LONG_WORD} eind") in squash(text)
    assert squash(f"Plan van Naam{LONG_WORD}") in squash(text)  # the title
    words = re.findall(r"woord\d+", text)
    assert words == long_text.split()  # all of it, in order, over a page break
    assert "\nEerste regel\nTweede regel\nDerde regel\n" in text
    assert "\nbij oma    thuis\n" in text
    assert "\nomgekeerd\n" in text
    # what no font has prints as one replacement character per run, never as nothing
    assert "Goed gedaan \ufffd en \ufffd en \ufffd!" in text
    assert "\ufffd los" in text
    assert "{nb} blijft staan" in text.replace("\u200c", "")
    assert "niet beoordeeld" in text and "geen antwoord" in text
    assert "\nOverig\n" in text  # the heading of an agreement without a life area
    assert "\nActieteam\n• Goed gedaan" in text  # the empty name is left out
    # the footer shortens a very long name to stay on one line
    assert re.search(r"\nPlan van Naamabc[a-z]+… · versie 2 · pagina 1 van \d+$", printed.pages[0])
    assert_all_on_the_page(printed)


# -- in the reader's language ---------------------------------------------------------------


def on_page(sentence: str) -> str:
    """A right-to-left sentence as pypdf reads it off the page: its words from left to right,
    so the last word first."""
    return " ".join(reversed(sentence.split()))


def in_language(language: str, dutch: str, **params: object) -> str:
    with i18n.using(language):
        return i18n.gettext(dutch, **params)


def test_an_arabic_copy_reads_right_to_left_with_the_familys_words_as_written() -> None:
    mixed = "سيتصل Ayşe Yılmaz بالمدرسة"
    printed = render(
        plan(agreements=(agreement(1, what=mixed), *plan().agreements[1:])), language="ar"
    )
    text = printed.text
    lines = [squash(line) for line in text.split("\n")]
    for dutch in (
        "Afspraken",
        "De vraag van deze conferentie",
        "Als het niet lukt",  # its final kaf is drawn with two glyphs: no stray symbol
        "Voorwaarden",
        "Wie is het eens met het plan",
        "Actieteam",
    ):
        assert squash(on_page(in_language("ar", dutch))) in lines, dutch
    # Dutch the family typed keeps its own direction: the question mark stays at the end
    assert "\nHoe zorgen we ervoor dat Emre en Elif veilig thuis kunnen blijven wonen?\n" in text
    # an Arabic sentence with a Dutch name in it: Arabic order around the name, name intact
    assert "\nبالمدرسة Ayşe Yılmaz سيتصل\n" in text
    assert "Ayşe Yılmaz" in text and "\ufffd" not in text
    # the page is set from the right: every field label stands right of the middle, its text
    # ends at the label, and the title ends at the right margin
    what = squash(in_language("ar", "Wat"))
    labels = [x for x, _, _, piece in printed.pieces[0] if squash(piece) == what]
    assert labels and min(labels) > A4[0] / 2
    assert max(x for x, _, size, _ in printed.pieces[0] if size == 22) > A4[0] / 2
    assert printed.reader.metadata is not None
    assert printed.reader.metadata.title == in_language(
        "ar", "Plan van %(name)s", name="Ayşe Yılmaz"
    )


def test_a_turkish_copy_has_turkish_labels_dates_and_page_numbers() -> None:
    text = render(plan(), language="tr").text
    for dutch in ("Afspraken", "Wat", "Wie", "Wanneer", "Voorwaarden", "Actieteam"):
        assert f"\n{in_language('tr', dutch)}\n" in text, dutch
    # a Turkish date, 12:05 in Amsterdam
    frozen = in_language("tr", "Versie %(number)s, vastgesteld op %(when)s", number=2, when="")
    assert f"\n{frozen}1.07.2026 12:05\n" in text
    assert in_language("tr", "pagina %(page)s van %(pages)s", page=1, pages=2) in text
    assert "\nAyşe Yılmaz\n" in text and "İbrahim Şahin" in text
    assert "Afspraken" not in text and "vastgesteld" not in text  # no Dutch label left


@pytest.mark.parametrize("count", [0, 50])
def test_an_arabic_footer_prints_the_page_count_without_a_gap_before_it(count: int) -> None:
    """fpdf2 fills in "{nb}" after a line is shaped: in a right-to-left footer the count then
    stood apart from its words, the rest of the placeholder's width left blank."""
    agreements = tuple(agreement(n) for n in range(1, 1 + count))
    printed = render(plan(agreements=agreements, answers=()), language="ar")
    pages = len(printed.pages)
    assert (pages == 1) == (count == 0)
    for number, pieces in enumerate(printed.pieces, start=1):
        footer = min(y for _x, y, _size, _text in pieces)
        low = [text for _x, y, _size, text in pieces if y == footer]
        assert str(pages) in " ".join(low), low
        assert not any(re.search(r"\d\s{2,}|\{", text) for text in low), (number, low)


def test_copies_are_set_in_the_regular_made_at_set_up_else_in_the_variable_font(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """With the Regular made at set-up a copy is much smaller and reads the same; without
    it (set-up skipped, or a font package upgraded since), copies are still made, in the
    variable fonts, and the log says how to make it."""

    def printed_with(build: Path) -> tuple[Printed, int]:
        monkeypatch.setattr(fonts, "BUILD", build)
        monkeypatch.setattr(fonts, "STAMP", build / "fonts.json")
        fonts.font_file.cache_clear()
        with i18n.using("nl"):
            size = len(render_pdf(plan(), AMSTERDAM))
        return render(plan()), size

    try:
        monkeypatch.setattr(fonts, "BUILD", tmp_path / "made")
        monkeypatch.setattr(fonts, "STAMP", tmp_path / "made" / "fonts.json")
        assert len(fonts.make()) == 2
        regular, small = printed_with(tmp_path / "made")
        assert "server.formats.fonts" not in caplog.text
        assert all("fvar" not in font for font in regular.fonts().values())  # one instance

        (tmp_path / "stale").mkdir()
        stamp = json.loads((tmp_path / "made" / "fonts.json").read_text())
        stamp["notosans"]["source_sha256"] = "0" * 64  # made from another version of the font
        (tmp_path / "stale" / "fonts.json").write_text(json.dumps(stamp))
        for made in (tmp_path / "made").glob("*.ttf"):
            (tmp_path / "stale" / made.name).write_bytes(made.read_bytes())
        variable, large = printed_with(tmp_path / "stale")

        # A damaged file (a disk, a copy cut short) is not used either, and the set-up's
        # `--if-needed` makes again only what is missing or damaged.
        monkeypatch.setattr(fonts, "BUILD", tmp_path / "made")
        monkeypatch.setattr(fonts, "STAMP", tmp_path / "made" / "fonts.json")
        made = tmp_path / "made" / "notosans.ttf"
        made.write_bytes(made.read_bytes()[:100_000])
        fonts.font_file.cache_clear()
        assert fonts.font_file(*fonts.MAIN_FONT) == fonts.variable_file(*fonts.MAIN_FONT[1:])
        assert fonts.font_file(*fonts.FALLBACK_FONT) == tmp_path / "made" / "notosansarabic.ttf"
        [remade] = fonts.make(if_needed=True)
        assert remade.startswith(f"{made}: ")
        assert fonts.make(if_needed=True) == []
        assert fonts.font_file(*fonts.MAIN_FONT) == made
        (tmp_path / "made" / "fonts.json").write_text("null")  # a stamp damaged in its turn
        assert len(fonts.make(if_needed=True)) == 2
    finally:
        fonts.font_file.cache_clear()
    assert "run `python -m server.formats.fonts`" in caplog.text
    assert "NotoSans[wdth,wght].ttf" in caplog.text
    assert "fvar" in variable.fonts()["NotoSans"]
    assert set(variable.fonts()) == set(regular.fonts()) == {"NotoSans", "NotoSansArabic"}
    assert variable.text == regular.text
    assert small < large / 2, (small, large)
